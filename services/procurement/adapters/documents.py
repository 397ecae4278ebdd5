"""The documents of procurement's trail (TOR, quotes, approvals, appointment orders, contracts,
delivery letters, invoices, sign-in sheets ...): files kept under ``files_dir/procurement`` with
random names, checked by their bytes (PDF, images, Word, Excel, text), or references to papers
kept elsewhere (a name and a number, no file).

No Flask here: callers hand in werkzeug ``FileStorage`` objects (or anything with ``stream`` and
``filename``). The caller owns the transaction: ``store_uploads`` writes the files and adds the
rows to the caller's session; when the caller's transaction fails it calls ``discard(docs)`` so
that no file is left without its row."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from services.procurement import messages  # noqa: F401  (the service's words)
from services.procurement.adapters.bus import bus
from services.procurement.adapters.models import DOCUMENT_KINDS, Document
from shared import files as sfiles, i18n
from shared.config import get_settings
from shared.errors import Invalid

ACCEPT = ("pdf", "image", "word", "excel", "text")
MAX_FILES = sfiles.MAX_FILES_PER_FIELD


def _t(key: str, lang: str, **values) -> str:
    return i18n.translate(key, lang, **values)


def files_dir() -> Path:
    return Path(get_settings().files_dir) / "procurement"


def _check_kind(kind: str) -> None:
    if kind not in DOCUMENT_KINDS:
        raise Invalid(errors={"kind": [f"{_t('procurement.doc.kind', i18n.current_language())} "
                                       f"({', '.join(DOCUMENT_KINDS)})"]})


def store_uploads(session: Session, files: list, kind: str, uploaded_by: str, project_id: int | None = None,
                  contract_id: int | None = None, milestone_id: int | None = None,
                  field: str = "documents") -> list[Document]:
    """Keep each upload (checked by its bytes, at most ``max_upload_mb`` each) and add a Document
    row for it to ``session`` (flushed, so they have ids). Parts without a file name are skipped.
    Raises ``Invalid`` on ``field`` naming every file refused, and then leaves no file behind."""
    _check_kind(kind)
    lang = i18n.current_language()
    parts = [p for p in (files or []) if p is not None and getattr(p, "filename", None)]
    if len(parts) > MAX_FILES:
        raise Invalid(errors={field: [_t("procurement.doc.too_many", lang, n=MAX_FILES)]})
    settings = get_settings()
    max_bytes = settings.max_upload_mb * 1024 * 1024
    target = files_dir()
    stored: list[sfiles.StoredFile] = []
    errors: list[str] = []
    try:
        for part in parts:
            try:
                stored.append(sfiles.store(part.stream, part.filename, field, ACCEPT, target, max_bytes))
            except sfiles.UploadError as exc:
                values = {k: v for k, v in exc.values.items() if k != "kinds"}
                errors.append(f"{sfiles.clean_filename(part.filename)}: "
                              f"{_t('procurement.doc.' + exc.code, lang, **values)}")
        if errors:
            raise Invalid(errors={field: errors})
        docs = [Document(kind=kind, project_id=project_id, contract_id=contract_id, milestone_id=milestone_id,
                         name=item.name, content_type=item.content_type, size=item.size, sha256=item.sha256,
                         storage_key=item.storage_key, uploaded_by=uploaded_by)
                for item in stored]
        session.add_all(docs)
        session.flush()
        return docs
    except BaseException:
        sfiles.discard_all(stored)
        raise


def add_reference(session: Session, kind: str, name: str, ref: str, uploaded_by: str, project_id: int | None = None,
                  contract_id: int | None = None, milestone_id: int | None = None) -> Document:
    """A paper document kept elsewhere (e.g. a memo's number in the paperless system): its name
    and reference, no file."""
    _check_kind(kind)
    name = " ".join((name or "").split())
    ref = " ".join((ref or "").split())
    if not name:
        raise Invalid(errors={"name": ["name the document"]})
    if not ref:
        raise Invalid(errors={"ref": ["say where the paper is kept (its number or location)"]})
    doc = Document(kind=kind, project_id=project_id, contract_id=contract_id, milestone_id=milestone_id,
                   name=name[:200], ref=ref[:500],
                   uploaded_by=uploaded_by)
    session.add(doc)
    session.flush()
    return doc


def discard(docs) -> None:
    """Remove the files of documents whose rows did not commit (the caller's transaction failed)."""
    root = files_dir()
    for doc in docs or ():
        if doc is None or not doc.storage_key:
            continue
        try:
            sfiles.open_stored(root, doc.storage_key).unlink()
        except FileNotFoundError:
            pass


def path_of(doc: Document) -> Path | None:
    """Where a document's file is, or None (a paper reference, or the file is gone)."""
    if not doc.storage_key:
        return None
    try:
        path = sfiles.open_stored(files_dir(), doc.storage_key)
    except FileNotFoundError:
        return None
    return path if path.is_file() else None


def as_json(doc: Document) -> dict:
    return {"id": doc.id, "kind": doc.kind, "name": doc.name, "content_type": doc.content_type,
            "size": doc.size, "sha256": doc.sha256, "ref": doc.ref or "", "has_file": bool(doc.storage_key),
            "project_id": doc.project_id, "contract_id": doc.contract_id, "milestone_id": doc.milestone_id,
            "uploaded_by": doc.uploaded_by, "uploaded_at": doc.uploaded_at.isoformat() if doc.uploaded_at else None,
            "download_path": f"/procurement/documents/{doc.id}" if doc.storage_key else None}


class Uploads:
    """A unit of work (``.uow``) whose stored files are removed again when it does not commit:
    pass what ``store_uploads`` returns through ``keep``. Leaving with an exception, or with
    events emitted and not committed, discards the kept files (their rows rolled back)."""

    def __init__(self) -> None:
        self.docs: list[Document] = []
        self.uow = None

    def keep(self, docs: list[Document]) -> list[Document]:
        self.docs.extend(docs)
        return docs

    def __enter__(self) -> "Uploads":
        self.uow = bus.unit_of_work().__enter__()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        failed = exc_type is not None or bool(self.uow._pending)
        try:
            self.uow.__exit__(exc_type, exc, tb)
        finally:
            if failed and self.docs:
                discard(self.docs)
        return False
