"""The documents handed in at a case's steps, as files (``CaseDocument``): where their bytes are
kept, and reading them back out: to staff who may see the case (every read logged, PDPA), and to
the requester, with their tracking token, the ones the pack gives them once their step is done.
Storing them is the engine's part of an action (``Engine._record_uploads``). No Flask here."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import AccessLog, Case, CaseDocument, CaseStep
from services.assignment.handlers.cases import visible_to
from shared.audit import log_access
from shared.auth import Staff
from shared.config import get_settings
from shared.files import open_stored

INLINE_TYPES = ("application/pdf", "image/jpeg", "image/png", "image/gif", "image/webp")


def files_dir() -> Path:
    """Where assignment keeps the files handed in at steps (under the settings' files_dir)."""
    return Path(get_settings().files_dir) / "assignment"


def path_of(doc: CaseDocument) -> Path:
    return open_stored(files_dir(), doc.storage_key)


def case_documents(case_id: str) -> list[CaseDocument]:
    """A case's documents, oldest first (the case page and the API list them)."""
    with bus.session() as session:
        return list(session.scalars(select(CaseDocument).where(CaseDocument.case_id == case_id)
                                    .order_by(CaseDocument.created_at, CaseDocument.name)))


def staff_document(tracking_code: str, doc_id: str, staff: Staff) -> CaseDocument | None:
    """A document of a case ``staff`` may see (``cases.visible_to``); None for anyone else (the
    case's existence is not revealed). The read is logged before it is handed out."""
    with bus.session() as session:
        row = session.execute(select(CaseDocument, Case.org).join(Case, Case.id == CaseDocument.case_id)
                              .where(Case.tracking_code == tracking_code, CaseDocument.id == doc_id,
                                     visible_to(session, staff))).first()
        if row is None:
            return None
        doc, org = row
        log_access(session, AccessLog, staff, "document", doc.id,
                   f"download {doc.key} of {tracking_code}", org=org)
        session.commit()
        session.expunge(doc)
        return doc


def requester_document(tracking_code: str, doc_id: str) -> CaseDocument | None:
    """A document the pack gives the requester (``to_requester``), once its step's round is done
    (the caller has checked the tracking token); None otherwise."""
    with bus.session() as session:
        doc = session.scalar(
            select(CaseDocument).join(Case, Case.id == CaseDocument.case_id)
            .where(Case.tracking_code == tracking_code, CaseDocument.id == doc_id,
                   CaseDocument.to_requester.is_(True),
                   select(CaseStep.id).where(CaseStep.case_id == Case.id, CaseStep.step == CaseDocument.step,
                                             CaseStep.round == CaseDocument.round,
                                             CaseStep.status == "done").exists()))
        if doc is not None:
            session.expunge(doc)
        return doc
