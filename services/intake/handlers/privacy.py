"""The privacy notice beside each form's consent box (PDPA): why the data is collected, exactly
what is kept (this SOP's fields, by label), for how long, who sees it and whom to ask.

Its version is a digest of its words in both languages, so any change (a pack's form, the
retention period, the contact) is a new version; each version is stored word for word the first
time someone consents to it (in the same statement as the request: ``handlers._file``), and
the request keeps the version it consented to."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from services.intake import messages  # noqa: F401  (registers the texts)
from services.intake.handlers.notice_words import Words, words_of
from shared.config import Settings
from shared.i18n import LANGUAGES, pick, translate
from shared.packs import Sop

PARTS = ("purpose", "kept", "who", "retention", "contact", "extra")  # "extra": the organisation's own paragraph


@dataclass(frozen=True)
class Notice:
    version: str
    sop: str
    texts: dict  # lang -> part -> text
    texts_json: str  # the texts as stored (written with every request, dumped once)

    def parts(self, lang: str) -> list[str]:
        return [self.texts[lang][part] for part in PARTS if part in self.texts[lang]]


def _kept(sop: Sop, lang: str) -> str:
    labels = [translate(f"intake.kept.{key}", lang) for key in ("name", "email", "phone", "unit", "request")]
    labels += [pick(field.label, lang) for field in sop.form]
    return ", ".join(labels)


_NOTICES: dict[tuple, tuple[Sop, Notice]] = {}


def notice_for(sop: Sop, settings: Settings, words: Words | None = None) -> Notice:
    """The notice for this SOP under these settings and its organisation's own words (``words``;
    read when not given): worked out once per SOP object (a loaded pack's SOPs do not change; a
    new version is a new object), setting and words, not on every request."""
    if words is None:
        words = words_of(sop.pack)
    key = (id(sop), settings.privacy_contact, settings.retention_years, words)
    known = _NOTICES.get(key)
    if known is not None and known[0] is sop:
        return known[1]
    notice = _work_out(sop, settings, words)
    if len(_NOTICES) > 1000:  # packs reloaded many times (tests): start again
        _NOTICES.clear()
    _NOTICES[key] = (sop, notice)
    return notice


def _work_out(sop: Sop, settings: Settings, words: Words) -> Notice:
    texts = {}
    for lang in LANGUAGES:
        contact = (words.contact or settings.privacy_contact.strip()
                   or translate("intake.privacy.default_contact", lang))
        texts[lang] = {
            "purpose": translate("intake.privacy.purpose", lang, sop=pick(sop.title, lang)),
            "kept": translate("intake.privacy.kept", lang, fields=_kept(sop, lang)),
            "who": translate("intake.privacy.who", lang),
            "retention": translate("intake.privacy.retention", lang, years=settings.retention_years),
            "contact": translate("intake.privacy.contact", lang, contact=contact),
        }
        # the organisation's own paragraph, in the page's language (else the other one it wrote)
        extra = (words.extra_th or words.extra_en) if lang == "th" else (words.extra_en or words.extra_th)
        if extra:
            texts[lang]["extra"] = extra
    words = json.dumps(texts, sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(words.encode()).hexdigest()
    return Notice(version=f"n1-{digest[:12]}", sop=sop.full_key, texts=texts, texts_json=words)
