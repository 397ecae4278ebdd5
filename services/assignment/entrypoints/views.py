"""Assignment's API: staff log in, list and read cases, act on them. (The desk's pages are in desk.py.)"""
from __future__ import annotations

from flask import abort, request
from flask_smorest import Blueprint
from marshmallow import ValidationError

from services.assignment.domain import search
from services.assignment.entrypoints import signin as signin_answers
from services.assignment.handlers import cases as handlers, commands, signin
from services.assignment.schemas import (ActionSchema, CaseQuerySchema, CaseSchema, CaseSummarySchema,
                                         SatisfactionQuerySchema, SatisfactionSchema, TokenRequestSchema, TokenSchema)
from shared import i18n
from shared.auth import current_staff, issue_token, public, staff_required
from shared.config import get_settings
from shared.web import FieldErrorsSchema, error_response, flatten_errors, read_body

blp = Blueprint("assignment", __name__, url_prefix="/assignment", description="Cases, steps and staff")


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
         description="The total is in `X-Total-Count`; the first, previous, next and last pages in `Link`.")
@blp.arguments(CaseQuerySchema, location="query", as_kwargs=True)
@blp.response(200, CaseSummarySchema(many=True), headers={
    "X-Total-Count": {"description": "how many cases the whole list holds", "schema": {"type": "integer"}},
    "Link": {"description": "RFC 8288 links to the first, prev, next and last pages", "schema": {"type": "string"}}})
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(422, schema=FieldErrorsSchema)
def cases(**query):
    found = handlers.list_cases(current_staff(), **handlers.list_arguments(query))
    return found.cases, 200, {"X-Total-Count": str(found.total),
                              "Link": search.links(request.base_url, request.args.to_dict(), found.page)}


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
         requestBody={"required": True, "content": {"application/json": {"schema": ActionSchema}}})
@blp.response(200, CaseSchema)
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(403, schema=FieldErrorsSchema, description="your roles may not act on this step")
@blp.alt_response(404, schema=FieldErrorsSchema)
@blp.alt_response(409, schema=FieldErrorsSchema, description="not the current step, or the case is closed")
@blp.alt_response(422, schema=FieldErrorsSchema, description="not an outcome of the step, or missing values")
def act(code: str):
    data = read_body(keep_blank=True, not_object="the body must be a JSON object")
    try:
        command = commands.from_action(ActionSchema().load(data))
    except ValidationError as exc:
        return error_response(422, flatten_errors(exc.messages))
    staff = current_staff()
    try:
        handlers.act(code, staff, command)
    except LookupError:
        abort(404)
    found = handlers.read_case(code, staff, purpose="staff action on a case")
    if found is None:  # done, and the trail names them: only a move to another organisation meanwhile
        abort(404)
    found.actions = handlers.allowed_actions(found, staff)
    return found


@blp.route("/reports/satisfaction")
@staff_required("head", "director", "deputy-director", "subhead")
@blp.doc(security=[{"bearer": []}], summary="Requesters' satisfaction scores per SOP and per unit")
@blp.arguments(SatisfactionQuerySchema, location="query", as_kwargs=True)
@blp.response(200, SatisfactionSchema)
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(403, schema=FieldErrorsSchema, description="heads, directors and admins only")
def satisfaction(fiscal_year: int | None = None):
    return handlers.satisfaction(current_staff(), fiscal_year)
