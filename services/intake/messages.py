"""Intake's own words, Thai first and English too: field messages, the privacy notice, the
tracking page, answers, surveys, files and refusals. They are the gettext catalogues in
``translations/<lang>/LC_MESSAGES/messages.po``, read into shared.i18n's words when this module is
imported; ``t`` and ``kinds_text`` look them up."""
from __future__ import annotations

from pathlib import Path

from shared.i18n import load_catalogues, translate

load_catalogues(Path(__file__).with_name("translations"))


def t(key: str, lang: str, **values) -> str:
    return translate(key, lang, **values)


def kinds_text(kinds, lang: str) -> str:
    joiner = ", " if lang == "en" else " "
    return joiner.join(translate(f"intake.kind.{k}", lang) for k in kinds)
