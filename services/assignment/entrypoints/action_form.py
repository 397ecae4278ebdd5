"""An action on a step sent as a form (the desk's page, or an API client's multipart/form-data
with files): its fields read into what ``ActionSchema`` loads, and the documents' files checked
by their bytes and kept (``shared.files``) as ``Upload``s for the engine.

The form's fields: ``step``, ``outcome``, ``note`` (internal), ``message`` (what the requester
reads), ``assignee``, ``target``, ``team`` (names, comma-separated or repeated), ``values.<name>``
for the step's inputs, and per document the step expects ``documents.<key>`` (the file) with
``documents.<key>.ref`` (the paper's reference, optional). A reference sent without a file is kept
as a paper reference only (it does not satisfy a required document)."""
from __future__ import annotations

from services.assignment.handlers.commands import Upload
from services.assignment.handlers.documents import files_dir
from shared import files, i18n
from shared.config import get_settings
from shared.packs import FILE_KINDS

DOC_PREFIX = "documents."
REF_SUFFIX = ".ref"

# the multipart body as the OpenAPI document gives it
FORM_SCHEMA = {
    "type": "object", "required": ["step", "outcome"],
    "properties": {
        "step": {"type": "string", "maxLength": 100},
        "outcome": {"type": "string", "maxLength": 50},
        "note": {"type": "string", "maxLength": 5000, "description": "internal: staff only"},
        "message": {"type": "string", "maxLength": 5000,
                    "description": "what the requester reads (tracking page and email)"},
        "assignee": {"type": "string", "maxLength": 100},
        "target": {"type": "string", "maxLength": 100},
        "team": {"type": "string", "description": "names, comma-separated"},
    },
    "additionalProperties": True,
    "description": "values.<name>: a step input; documents.<key>: the file of one of the step's documents "
                   "(checked by its bytes: PDF, images, Word, Excel, text; at most max_upload_mb); "
                   "documents.<key>.ref: its paper reference (optional)",
}


def action_data(form) -> dict:
    """What ``ActionSchema`` loads, from a form's fields."""
    team = [name.strip() for raw in form.getlist("team") for name in raw.split(",") if name.strip()]
    data = {"step": form.get("step", ""), "outcome": form.get("outcome", ""), "note": form.get("note") or None,
            "message": form.get("message") or None, "assignee": form.get("assignee") or None,
            "target": form.get("target") or None,
            "values": {k[len("values."):]: v for k, v in form.items() if k.startswith("values.") and v != ""},
            "team": team}
    return data


def paper_refs(form, files_sent) -> list[dict]:
    """References sent without a file: kept as paper references (``DocumentRefSchema``)."""
    out = []
    for name, value in form.items():
        if name.startswith(DOC_PREFIX) and name.endswith(REF_SUFFIX) and value.strip():
            key = name[len(DOC_PREFIX):-len(REF_SUFFIX)]
            if key not in files_sent:
                out.append({"key": key, "name": value.strip()[:300], "ref": value.strip()})
    return out


def store_uploads(form, uploads, lang: str | None = None) -> tuple[list[Upload], dict[str, list[str]]]:
    """Each file part named ``documents.<key>`` checked by its bytes and kept under assignment's
    files; (uploads, errors by field). When any file is refused nothing is kept."""
    lang = lang or i18n.current_language()
    settings = get_settings()
    max_bytes = settings.max_upload_mb * 1024 * 1024
    kept: list[Upload] = []
    errors: dict[str, list[str]] = {}
    for field in sorted(uploads.keys()) if uploads else []:
        if not field.startswith(DOC_PREFIX) or field.endswith(REF_SUFFIX):
            continue
        parts = [p for p in uploads.getlist(field) if p and p.filename]
        if not parts:
            continue
        key = field[len(DOC_PREFIX):]
        if len(parts) > files.MAX_FILES_PER_FIELD:
            errors[field] = [i18n.translate("desk.document_too_many", lang, n=files.MAX_FILES_PER_FIELD)]
            continue
        stored, refused = files.store_parts(parts, field, FILE_KINDS, files_dir(), max_bytes, lang)
        if refused:
            errors[field] = refused
            continue
        ref = (form.get(field + REF_SUFFIX) or "").strip()
        kept.extend(Upload(key=key, file=item, ref=ref) for item in stored)
    if errors:
        discard(kept)
        return [], errors
    return kept, {}


def discard(kept: list[Upload]) -> None:
    files.discard_all([u.file for u in kept])
