"""Assignment's API: staff log in, list and read cases, act on them. (The desk's pages are in desk.py.)"""
from __future__ import annotations

import logging

from flask import abort, request
from flask import send_file
from flask_smorest import Blueprint
from marshmallow import ValidationError

from services.assignment.domain import search
from services.assignment.entrypoints import action_form
from services.assignment.entrypoints import signin as signin_answers
from services.assignment.handlers import cases as handlers, commands, documents, signin
from services.assignment.schemas import (ActionSchema, CaseQuerySchema, CaseSchema, CaseSummarySchema,
                                         SatisfactionQuerySchema, SatisfactionSchema, TokenRequestSchema, TokenSchema)
from shared import i18n
from shared.auth import current_staff, issue_token, public, staff_required
from shared.auth import requester
from shared.config import get_settings
from shared.openapi import download
from shared.tracking import check_tracking_token
from shared.web import FieldErrorsSchema, error_response, flatten_errors, read_body

blp = Blueprint("assignment", __name__, url_prefix="/assignment", description="Cases, steps and staff")
log = logging.getLogger(__name__)


@blp.route("/auth/token", methods=["POST"])
@blp.doc(summary="Exchange a username and password for a bearer token",
         requestBody={"required": True, "content": {"application/json": {"schema": TokenRequestSchema},
                                                     "application/x-www-form-urlencoded": {"schema": TokenRequestSchema}}})
@blp.response(200, TokenSchema)
@blp.alt_response(401, schema=FieldErrorsSchema, description="wrong username or password")
@blp.alt_response(403, schema=FieldErrorsSchema, description="the directory disables the account, gives it no "
                  "role or unit, or sopdesk has switched it off")
@blp.alt_response(422, schema=FieldErrorsSchema, description="field-level messages")
@blp.alt_response(429, schema=FieldErrorsSchema, description="too many failed logins of the account or from the "
                  "address; Retry-After says when to try again")
@blp.alt_response(503, schema=FieldErrorsSchema, description="the LDAP directory did not answer")
@public("exchanges a username and password for a staff token")
def token():
    data = read_body(keep_blank=True, not_object="the body must be a JSON object")
    try:
        creds = TokenRequestSchema().load(data)
    except ValidationError as exc:
        return error_response(422, flatten_errors(exc.messages))
    try:
        staff = signin.with_password(creds["username"], creds["password"], signin_answers.client_address())
    except signin.SignInRefused as refusal:
        message = signin_answers.message_of(refusal, i18n.current_language())
        response = error_response(signin_answers.status_of(refusal),
                                  {"password" if refusal.reason == "wrong" else "_schema": [message]},
                                  "Wrong username or password." if refusal.reason == "wrong" else message)
        response.headers.update(signin_answers.headers_of(refusal))
        return response
    return {"access_token": issue_token(staff), "token_type": "bearer",
            "expires_in": get_settings().token_hours * 3600, "roles": list(staff.roles)}


@blp.route("/cases")
@staff_required()
@blp.doc(security=[{"bearer": []}], summary="Cases the caller may see: searched, filtered, sorted, a page at a time",
         description="The total is in `X-Total-Count`; the first, previous, next and last pages in `Link`. A search "
                     "(`q`) counts up to 200 cases (and up to the page asked for): when it finds more, "
                     "`X-Total-Count-At-Least` says so in place of `X-Total-Count`, and `Link` has no last page.")
@blp.arguments(CaseQuerySchema, location="query", as_kwargs=True)
@blp.response(200, CaseSummarySchema(many=True), headers={
    "X-Total-Count": {"description": "how many cases the whole list holds", "schema": {"type": "integer"}},
    "X-Total-Count-At-Least": {"description": "a search that found more cases than it counts: at least this many",
                               "schema": {"type": "integer"}},
    "Link": {"description": "RFC 8288 links to the first, prev, next and last pages", "schema": {"type": "string"}}})
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(422, schema=FieldErrorsSchema)
def cases(**query):
    found = handlers.list_cases(current_staff(), **handlers.list_arguments(query))
    headers = {"Link": search.links(request.base_url, request.args.to_dict(), found.page)}
    if found.page.exact:
        headers["X-Total-Count"] = str(found.total)
    else:  # a search that found more than it counts (search.COUNT_CAP): how many, at least
        headers["X-Total-Count-At-Least"] = str(found.total + 1)
    return found.cases, 200, headers


@blp.route("/cases/<code>")
@staff_required()
@blp.doc(security=[{"bearer": []}], summary="One case by tracking code, with its steps and the caller's actions")
@blp.response(200, CaseSchema)
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(404, schema=FieldErrorsSchema)
def case(code: str):
    staff = current_staff()
    found = handlers.read_case(code, staff)
    if found is None:
        abort(404)
    found.actions = handlers.allowed_actions(found, staff)
    return found


@blp.route("/cases/<code>/actions", methods=["POST"])
@staff_required()
@blp.doc(security=[{"bearer": []}],
         summary="Act on the case's current step: one of its outcomes, or assign / set-target / note",
         description="JSON as before, or multipart/form-data to hand in the step's documents as files: "
                     "documents.<key> (the file, checked by its bytes) and documents.<key>.ref (its paper "
                     "reference, optional), values.<name>, and the other fields as form fields. `message` is "
                     "what the requester reads (tracking page, email); `note` stays internal.",
         requestBody={"required": True, "content": {"application/json": {"schema": ActionSchema},
                                                     "multipart/form-data": {"schema": action_form.FORM_SCHEMA}}})
@blp.response(200, CaseSchema)
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(403, schema=FieldErrorsSchema, description="your roles may not act on this step")
@blp.alt_response(404, schema=FieldErrorsSchema)
@blp.alt_response(409, schema=FieldErrorsSchema, description="not the current step, or the case is closed")
@blp.alt_response(422, schema=FieldErrorsSchema, description="not an outcome of the step, or missing values")
def act(code: str):
    if request.mimetype == "multipart/form-data":  # with the documents' files
        data = action_form.action_data(request.form)
        uploads, upload_errors = action_form.store_uploads(request.form, request.files)
        data["documents"] = action_form.paper_refs(request.form, {u.key for u in uploads})
    else:
        data = read_body(keep_blank=True, not_object="the body must be a JSON object")
        uploads, upload_errors = [], {}
    try:
        command = commands.from_action(ActionSchema().load(data), tuple(uploads))
    except ValidationError as exc:
        action_form.discard(uploads)
        return error_response(422, {**flatten_errors(exc.messages), **upload_errors})
    if upload_errors:  # a file refused by its bytes: nothing kept
        return error_response(422, upload_errors)
    staff = current_staff()
    try:
        handlers.act(code, staff, command)
    except LookupError:
        action_form.discard(uploads)
        abort(404)
    except BaseException:
        action_form.discard(uploads)
        raise
    found = handlers.read_case(code, staff, purpose="staff action on a case")
    if found is None:  # done, and the trail names them: only a move to another organisation meanwhile
        abort(404)
    found.actions = handlers.allowed_actions(found, staff)
    return found


def _send_document(doc, inline: bool):
    """A kept document's bytes: inline for a PDF or an image (the desk previews it), else a
    download; never sniffed by the browser, never cached, its own strict policy."""
    try:
        path = documents.path_of(doc)
        if not path.is_file():
            raise FileNotFoundError(doc.storage_key)
    except FileNotFoundError:
        log.error("case document %s has no file at %s", doc.id, doc.storage_key)
        abort(404)
    inline = inline and doc.content_type in documents.INLINE_TYPES
    response = send_file(path, mimetype=doc.content_type, as_attachment=not inline, download_name=doc.name,
                         max_age=0, etag=False, last_modified=None)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # an image or a download: nothing may run; a PDF shown inline needs the browser's own viewer
    response.headers["Content-Security-Policy"] = ("default-src 'none'; object-src 'self'; frame-ancestors 'self'"
                                                   if inline and doc.content_type == "application/pdf"
                                                   else "default-src 'none'; img-src 'self'; sandbox")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@blp.route("/cases/<code>/documents/<doc_id>")
@staff_required()
@blp.doc(security=[{"bearer": []}],
         summary="A document handed in at a step, for staff who may see the case (bearer token or desk session); "
                 "the read is logged. A PDF or an image is shown inline (the desk previews it) unless "
                 "download=1; anything else is a download",
         parameters=[{"in": "query", "name": "download", "schema": {"type": "string", "enum": ["1"]},
                      "required": False}])
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(404, schema=FieldErrorsSchema, description="unknown code or document, or a case the caller may "
                  "not see")
@download(blp, "the document (its own content type), inline or as a download")
def case_document(code: str, doc_id: str):
    found = documents.staff_document(code, doc_id, current_staff())
    if found is None:
        abort(404)
    return _send_document(found, inline=request.args.get("download") != "1")


@blp.route("/track/<code>/files/<doc_id>")
@blp.doc(summary="A file a step gave the requester (the pack marks it for them), once the step is done: for "
                 "the holder of the tracking link (its token); always a download",
         parameters=[{"in": "query", "name": "token", "schema": {"type": "string"}, "required": True}])
@blp.alt_response(404, schema=FieldErrorsSchema, description="unknown code or file, a file not given to the "
                  "requester (yet), or a wrong token: the same answer for each")
@download(blp)
@requester("the requester downloads a file a step gave them, with the tracking token; without it nothing is found")
def requester_file(code: str, doc_id: str):
    found = documents.requester_document(code, doc_id) if check_tracking_token(code, request.args.get("token")) \
        else None
    if found is None:
        abort(404)
    response = _send_document(found, inline=False)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@blp.route("/reports/satisfaction")
@staff_required("head", "director", "deputy-director", "subhead")
@blp.doc(security=[{"bearer": []}], summary="Requesters' satisfaction scores per SOP and per unit")
@blp.arguments(SatisfactionQuerySchema, location="query", as_kwargs=True)
@blp.response(200, SatisfactionSchema)
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(403, schema=FieldErrorsSchema, description="heads, directors and admins only")
def satisfaction(fiscal_year: int | None = None):
    return handlers.satisfaction(current_staff(), fiscal_year)
