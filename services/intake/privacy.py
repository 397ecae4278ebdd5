"""The privacy notice beside each form's consent box (PDPA): why the data is collected, exactly
what is kept (this SOP's fields, by label), for how long, who sees it and whom to ask.

Its version is a digest of its words in both languages, so any change (a pack's form, the
retention period, the contact) is a new version; each version is stored word for word the first
time someone consents to it, and the request keeps the version it consented to."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from services.intake import messages  # noqa: F401  (registers the texts)
from services.intake.models import PrivacyNotice
from shared.config import Settings
from shared.i18n import LANGUAGES, pick, translate
from shared.packs import Sop

PARTS = ("purpose", "kept", "who", "retention", "contact")


@dataclass(frozen=True)
class Notice:
    version: str
    sop: str
    texts: dict  # lang -> part -> text

    def parts(self, lang: str) -> list[str]:
        return [self.texts[lang][part] for part in PARTS]


def _kept(sop: Sop, lang: str) -> str:
    labels = [translate(f"intake.kept.{key}", lang) for key in ("name", "email", "phone", "unit", "request")]
    labels += [pick(field.label, lang) for field in sop.form]
    return ", ".join(labels)


def notice_for(sop: Sop, settings: Settings) -> Notice:
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
    digest = hashlib.sha256(json.dumps(texts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return Notice(version=f"n1-{digest[:12]}", sop=sop.full_key, texts=texts)


def record(session: Session, notice: Notice) -> None:
    """Keep the notice's words under its version, once (in the caller's transaction): one
    INSERT that does nothing when the version is stored already (by an earlier request, or by
    another at the same moment), not a read, a savepoint and a write on every request."""
    session.execute(
        pg_insert(PrivacyNotice.__table__)
        .values(version=notice.version, sop=notice.sop, texts=notice.texts)
        .on_conflict_do_nothing(index_elements=["version"])
    )
