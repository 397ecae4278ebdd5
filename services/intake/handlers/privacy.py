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
from shared.config import Settings
from shared.i18n import LANGUAGES, pick, translate
from shared.packs import Sop

PARTS = ("purpose", "kept", "who", "retention", "contact")


@dataclass(frozen=True)
class Notice:
    version: str
    sop: str
    texts: dict  # lang -> part -> text
    texts_json: str  # the texts as stored (written with every request, dumped once)

    def parts(self, lang: str) -> list[str]:
        return [self.texts[lang][part] for part in PARTS]


def _kept(sop: Sop, lang: str) -> str:
    labels = [translate(f"intake.kept.{key}", lang) for key in ("name", "email", "phone", "unit", "request")]
    labels += [pick(field.label, lang) for field in sop.form]
    return ", ".join(labels)


_NOTICES: dict[tuple, tuple[Sop, Notice]] = {}


def notice_for(sop: Sop, settings: Settings) -> Notice:
    """The notice for this SOP under these settings: worked out once per SOP object (a loaded
    pack's SOPs do not change; a new version is a new object) and setting, not on every request."""
    key = (id(sop), settings.privacy_contact, settings.retention_years)
    known = _NOTICES.get(key)
    if known is not None and known[0] is sop:
        return known[1]
    notice = _work_out(sop, settings)
    if len(_NOTICES) > 1000:  # packs reloaded many times (tests): start again
        _NOTICES.clear()
    _NOTICES[key] = (sop, notice)
    return notice


def _work_out(sop: Sop, settings: Settings) -> Notice:
    texts = {}
    for lang in LANGUAGES:
        contact = settings.privacy_contact.strip() or translate("intake.privacy.default_contact", lang)
        texts[lang] = {
            "purpose": translate("intake.privacy.purpose", lang, sop=pick(sop.title, lang)),
            "kept": translate("intake.privacy.kept", lang, fields=_kept(sop, lang)),
            "who": translate("intake.privacy.who", lang),
            "retention": translate("intake.privacy.retention", lang, years=settings.retention_years),
            "contact": translate("intake.privacy.contact", lang, contact=contact),
        }
    words = json.dumps(texts, sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(words.encode()).hexdigest()
    return Notice(version=f"n1-{digest[:12]}", sop=sop.full_key, texts=texts, texts_json=words)
