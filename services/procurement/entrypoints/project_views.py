"""Procurement projects' API: projects and their documents, quotes, stages, approvals,
committees, a purchase's delivery, cancelling; and the staff download of any procurement document.
Thin: parse with the schemas in project_schemas, call projects.py, answer."""
from __future__ import annotations

import json
import logging

from flask import make_response, request, send_file
from flask_smorest import Blueprint

from services.procurement.adapters import documents
from services.procurement.adapters.bus import bus
from services.procurement.adapters.models import AccessLog, Document, DOCUMENT_KINDS
from services.procurement.entrypoints.web import SECURITY, alt_responses, answers, request_body
from shared.web import read_body, uploads
from services.procurement.handlers import projects
from services.procurement.handlers.commands import (AddQuote, AppointCommittee, OpenProject, UpdateProject,
                                                    from_loaded)
from services.procurement.schemas.projects import (ApprovalCreateSchema, CommitteeInSchema, ProjectCancelSchema,
                                                   ProjectCreateSchema, ProjectDocumentUploadSchema, ProjectQuerySchema,
                                                   ProjectSchema, ProjectStageSchema, ProjectSummarySchema,
                                                   ProjectUpdateSchema, PurchaseDeliverySchema, QuoteCreateSchema)
from shared.audit import log_access
from shared.auth import current_staff, staff_required
from shared.web import error_response, flatten_errors

log = logging.getLogger(__name__)

blp = Blueprint("procurement_projects", __name__, url_prefix="/procurement",
                description="Procurement projects: TOR and documents, quotes and the reference (median) price, "
                            "approvals, committees, a purchase's delivery")

READ = projects.READ_ROLES
WRITE = projects.WRITE_ROLES

# this API's field errors stay nested ({"members": {"0": {"email": [...]}}}), as it always answered
_answers = answers(flatten=flatten_errors)
# the answers every write shares
_common = alt_responses(blp, (401, "no valid staff login"), (403, "your roles may not do this"),
                        (404, "no such project"))


# ---------------------------------------------------------------------------------------------
# projects


@blp.route("/projects")
@staff_required(*READ)
@blp.doc(security=SECURITY, summary="Procurement projects, newest first (filters: stage, tracking_code, "
                                    "fiscal_year (BE), kind, officer, q)")
@blp.arguments(ProjectQuerySchema, location="query", as_kwargs=True)
@blp.response(200, ProjectSummarySchema(many=True))
@alt_responses(blp, 401, 422)
def list_projects(**filters):
    return projects.list_projects(current_staff(), **filters)


@blp.route("/projects", methods=["POST"])
@staff_required(*WRITE)
@blp.doc(security=SECURITY, summary="Open a project at the draft stage (supplies, head, subhead)",
         requestBody=request_body(ProjectCreateSchema))
@blp.response(201, ProjectSchema)
@alt_responses(blp, (422, "field-level messages; nothing stored"))
@_common
@_answers
def create_project():
    data = read_body()
    if not request.is_json and isinstance(data.get("officer_contact"), str):
        data["officer_contact"] = _json_field(data["officer_contact"])
    cleaned = ProjectCreateSchema().load(data)
    return projects.create_project(current_staff(), from_loaded(OpenProject, cleaned)), 201


@blp.route("/projects/<int:project_id>")
@staff_required(*READ)
@blp.doc(security=SECURITY, summary="One project with its quotes, reference price, approvals, committees (members' "
                                    "contacts: the read is logged), documents, contracts and the case it serves")
@blp.response(200, ProjectSchema)
@alt_responses(blp, 401, 404)
@_answers
def read_project(project_id: int):
    return projects.read_project(current_staff(), project_id)


@blp.route("/projects/<int:project_id>", methods=["PATCH"])
@staff_required(*WRITE)
@blp.doc(security=SECURITY, summary="Change a project's fields (title, purpose, kind, budget, fiscal_year, officer, "
                                    "officer_contact, tracking_code, method, outcome) until it is completed or "
                                    "cancelled. Head and subhead only while at draft or quotes.",
         requestBody=request_body(ProjectUpdateSchema, rule="at least one field to change"))
@blp.response(200, ProjectSchema)
@alt_responses(blp, (409, "completed or cancelled, or a field is locked"),
               (422, "field-level messages; nothing stored"))
@_common
@_answers
def update_project(project_id: int):
    data = read_body()
    if not request.is_json and isinstance(data.get("officer_contact"), str):
        data["officer_contact"] = _json_field(data["officer_contact"])
    cleaned = ProjectUpdateSchema().load(data)
    return projects.update_project(current_staff(), project_id, from_loaded(UpdateProject, cleaned))


def _json_field(raw: str):
    """A nested value sent in a form field, as JSON text."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw  # the schema says what is wrong with it


@blp.route("/projects/<int:project_id>/documents", methods=["POST"])
@staff_required(*WRITE)
@blp.doc(security=SECURITY,
         summary="Add documents to the project (multipart: kind, files (several); or a paper's name and ref). "
                 "Files are checked by their bytes: PDF, images, Word, Excel, text. The first TOR moves a draft "
                 "on to quotes.",
         requestBody={"required": True, "content": {"multipart/form-data": {"schema": {
             "type": "object", "required": ["kind"],
             "properties": {"kind": {"type": "string", "enum": list(DOCUMENT_KINDS)},
                            "name": {"type": "string", "x-checked": "given with ref, or neither"},
                            "ref": {"type": "string", "x-checked": "given with name, or neither"},
                            "files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}})
@blp.response(201, ProjectSchema)
@alt_responses(blp, (409, "the project is cancelled"), (413, "the body is larger than the service takes"),
               (422, "field-level messages (each refused file); nothing stored"))
@_common
@_answers
def add_documents(project_id: int):
    cleaned = ProjectDocumentUploadSchema().load(read_body())
    return projects.add_documents(current_staff(), project_id, cleaned["kind"], uploads("files", "file"),
                                  name=cleaned["name"], ref=cleaned["ref"]), 201


# ---------------------------------------------------------------------------------------------
# quotes


@blp.route("/projects/<int:project_id>/quotes", methods=["POST"])
@staff_required(*WRITE)
@blp.doc(security=SECURITY,
         summary="Add a vendor's quote (1 to 3 per project, one per vendor, at draft or quotes); the reference "
                 "price becomes the median of the amounts. A multipart form may carry the quote as `document`.",
         requestBody=request_body(QuoteCreateSchema, multipart=True))
@blp.response(201, ProjectSchema)
@alt_responses(blp, (409, "three quotes already, or not at draft/quotes"),
               (422, "field-level messages; nothing stored"))
@_common
@_answers
def add_quote(project_id: int):
    cleaned = QuoteCreateSchema().load(read_body())
    files = uploads("document")
    if len(files) > 1:
        return error_response(422, {"document": ["one file per quote"]})
    return projects.add_quote(current_staff(), project_id, from_loaded(AddQuote, cleaned),
                              file=files[0] if files else None), 201


@blp.route("/projects/<int:project_id>/quotes/<int:quote_id>", methods=["DELETE"])
@staff_required(*WRITE)
@blp.doc(security=SECURITY, summary="Remove a quote (at draft or quotes); the reference price is computed again")
@blp.response(200, ProjectSchema)
@alt_responses(blp, (409, "not at draft or quotes"))
@_common
@_answers
def remove_quote(project_id: int, quote_id: int):
    return projects.remove_quote(current_staff(), project_id, quote_id)


# ---------------------------------------------------------------------------------------------
# stages, approvals, committees


@blp.route("/projects/<int:project_id>/stage", methods=["POST"])
@staff_required(*WRITE)
@blp.doc(security=SECURITY,
         summary="Move the project: draft -> quotes -> approval (at least one quote) -> procurement (principle and "
                 "budget approved, no standing rejection); back one stage while no contract; delivered or "
                 "contract -> completed. `contract`, `delivered` and `cancelled` have their own actions.",
         requestBody=request_body(ProjectStageSchema))
@blp.response(200, ProjectSchema)
@alt_responses(blp, (409, "the move is not allowed from this stage"), (422, "field-level messages (what is missing)"))
@_common
@_answers
def change_stage(project_id: int):
    cleaned = ProjectStageSchema().load(read_body())
    return projects.change_stage(current_staff(), project_id, cleaned["stage"], cleaned["note"])


@blp.route("/projects/<int:project_id>/approvals", methods=["POST"])
@staff_required(*projects.APPROVER_ROLES)
@blp.doc(security=SECURITY,
         summary="Decide an approval (principle-budget, tor, reference-price, vendor-selection): approved or "
                 "rejected (with a note). Director, deputy director or head. Every decision is kept; a multipart "
                 "form may carry the signed memo as `document`.",
         requestBody=request_body(ApprovalCreateSchema, multipart=True))
@blp.response(201, ProjectSchema)
@alt_responses(blp, (409, "the project is delivered, completed or cancelled"),
               (422, "field-level messages; nothing stored"))
@_common
@_answers
def decide_approval(project_id: int):
    cleaned = ApprovalCreateSchema().load(read_body())
    files = uploads("document")
    if len(files) > 1:
        return error_response(422, {"document": ["one file per decision"]})
    return projects.decide_approval(current_staff(), project_id, cleaned["kind"], cleaned["decision"],
                                    cleaned["note"], file=files[0] if files else None,
                                    document_id=cleaned["document_id"]), 201


@blp.route("/projects/<int:project_id>/committees/<kind>", methods=["PUT"])
@staff_required(*WRITE)
@blp.doc(security=SECURITY,
         summary="Appoint a committee (tor, procurement, inspection) by its order, with its members; appointing "
                 "again replaces the members, unless they have recorded acceptances (409). In a form, send "
                 "`members` as JSON text.",
         requestBody=request_body(CommitteeInSchema))
@blp.response(200, ProjectSchema)
@alt_responses(blp, (409, "acceptances recorded, or the project is closed"),
               (422, "field-level messages; nothing stored"))
@_common
@_answers
def appoint_committee(project_id: int, kind: str):
    data = read_body()
    if not request.is_json and isinstance(data.get("members"), str):
        data["members"] = _json_field(data["members"])
    cleaned = CommitteeInSchema().load(data)
    return projects.appoint_committee(current_staff(), project_id, kind, from_loaded(AppointCommittee, cleaned))


# ---------------------------------------------------------------------------------------------
# delivery, cancel


@blp.route("/projects/<int:project_id>/delivery", methods=["POST"])
@staff_required(*projects.DELIVERY_ROLES)
@blp.doc(security=SECURITY,
         summary="Record a purchase's delivery (supplies): delivered_on (not in the future), note, and the delivery "
                 "documents (multipart `files`) or a paper's `ref`. A case waiting on the purchase goes on.",
         requestBody=request_body(PurchaseDeliverySchema, multipart=True))
@blp.response(200, ProjectSchema)
@alt_responses(blp, (409, "delivered already, cancelled, or under a contract"),
               (422, "field-level messages; nothing stored"))
@_common
@_answers
def record_delivery(project_id: int):
    cleaned = PurchaseDeliverySchema().load(read_body())
    return projects.record_delivery(current_staff(), project_id, cleaned["delivered_on"], cleaned["note"],
                                    files=uploads("files", "file"), ref=cleaned["ref"],
                                    ref_name=cleaned["ref_name"])


@blp.route("/projects/<int:project_id>/cancel", methods=["POST"])
@staff_required(*WRITE)
@blp.doc(security=SECURITY, summary="Cancel the project, with a reason (not once delivered, completed, or while a "
                                    "contract is active)",
         requestBody=request_body(ProjectCancelSchema))
@blp.response(200, ProjectSchema)
@alt_responses(blp, (409, "closed already, or an active contract"), (422, "field-level messages"))
@_common
@_answers
def cancel_project(project_id: int):
    cleaned = ProjectCancelSchema().load(read_body())
    return projects.cancel_project(current_staff(), project_id, cleaned["reason"])


# ---------------------------------------------------------------------------------------------
# documents back out: staff only, always a download, the read logged


def _not_found():
    return make_response({"code": 404, "status": "Not Found", "message": "No such document."}, 404)


@blp.route("/documents/<int:document_id>")
@staff_required(*READ)
@blp.doc(security=SECURITY, summary="A procurement document's file, for staff; always a download (the read is logged)")
@alt_responses(blp, (401, "no valid staff login"), (403, "your roles may not read procurement documents"),
               (404, "no such document, or it is a paper reference"))
def download_document(document_id: int):
    staff = current_staff()
    with bus.session() as session:
        doc = session.get(Document, document_id)
        if doc is None or not doc.storage_key or not projects.document_seen(session, staff, doc):
            return _not_found()
        path = documents.path_of(doc)
        if path is None:
            log.error("procurement document %s has no file at %s", doc.id, doc.storage_key)
            return _not_found()
        log_access(session, AccessLog, staff, "document", str(doc.id), "download a procurement document")
        session.commit()
        name, content_type = doc.name, doc.content_type
    response = send_file(path, mimetype=content_type or "application/octet-stream", as_attachment=True,
                         download_name=name, max_age=0, etag=False, last_modified=None)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
