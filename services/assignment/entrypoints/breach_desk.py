"""The breach register on the desk and in the API (PDPA s.37(4)), for an organisation's privacy
officers (and its administrators; a system administrator for every organisation): the register
with each open breach's 72-hour clock, a form to record a breach (Thai dates in the Buddhist era),
and a breach's page where the PDPC notification (or why none is needed), the notice to the people
affected and the close are recorded. Thin: the schemas parse, ``handlers.breaches`` decides."""
from __future__ import annotations

import functools

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_smorest import Blueprint as ApiBlueprint
from marshmallow import ValidationError

from services.assignment.entrypoints.desk import login_required
from services.assignment.handlers import breaches as handlers
from services.assignment.schemas import (BreachPdpcSchema, BreachQuerySchema, BreachRecordSchema, BreachSchema,
                                         BreachSummarySchema)
from shared import dates, db, i18n
from shared.auth import SYSADMIN, Access, current_staff, staff_required
from shared.errors import Refusal
from shared.web import STATUS_OF, FieldErrorsSchema, error_response, flatten_errors, read_body

KEEPERS = handlers.KEEPERS

breach_pages = Blueprint("breaches", __name__, url_prefix="/assignment/desk/breaches")
breach_api = ApiBlueprint("breach_register", __name__, url_prefix="/assignment/breaches",
                          description="The breach register (PDPA s.37(4)): privacy officers")


def keeper_page(view):
    """A desk page of the register: signed in (``login_required``) and a privacy officer (or an
    administrator); anyone else 403."""

    @functools.wraps(view)
    def checked(staff, *args, **kwargs):
        if not staff.has_any((*KEEPERS, "admin", SYSADMIN)):
            abort(403)
        return view(staff, *args, **kwargs)

    guarded = login_required(checked)
    guarded.__access__ = Access("staff", KEEPERS, page=True)
    return guarded


def _lang() -> str:
    return i18n.current_language()


def _form() -> dict:
    return {key: value for key, value in request.form.items() if key != "csrf_token"}


# ---------------------------------------------------------------------------------------------
# desk pages


@breach_pages.route("")
@keeper_page
def register(staff):
    status = request.args.get("status") if request.args.get("status") in ("open", "closed") else None
    return render_template("assignment/breaches.html", breaches=handlers.list_breaches(staff, status=status),
                           status=status, staff=staff)


@breach_pages.route("/new", methods=["GET", "POST"])
@keeper_page
def record(staff):
    lang, errors, values = _lang(), {}, {}
    if request.method == "POST":
        values = _form()
        data = dict(values)
        data["tracking_codes"] = [c for c in values.get("tracking_codes", "").replace(",", " ").split() if c]
        if data.get("people_affected", "").strip() == "":
            data["people_affected"] = None
        try:
            loaded = BreachRecordSchema().load(data)
            breach_id = handlers.record(staff, loaded, lang)
        except ValidationError as exc:
            errors = flatten_errors(exc.messages)
        except Refusal as exc:
            errors = exc.errors
        else:
            flash(i18n.translate("breach.recorded", lang))
            return redirect(url_for("breaches.page", breach_id=breach_id))
    return render_template("assignment/breach_new.html", errors=errors, values=values, staff=staff,
                           now_input=dates.datetime_for_input(db.utcnow(), lang)), 422 if errors else 200


@breach_pages.route("/<int:breach_id>")
@keeper_page
def page(staff, breach_id: int, errors: dict | None = None, values: dict | None = None, status: int = 200):
    breach = handlers.read_breach(breach_id, staff)
    if breach is None:
        abort(404)
    return render_template("assignment/breach.html", breach=breach, errors=errors or {}, values=values or {},
                           staff=staff), status


def _act(staff, breach_id: int, do):
    lang = _lang()
    try:
        do(lang)
    except LookupError:
        abort(404)
    except ValidationError as exc:
        return page.__wrapped__(staff, breach_id, errors=flatten_errors(exc.messages), values=_form(), status=422)
    except Refusal as exc:
        return page.__wrapped__(staff, breach_id, errors=exc.errors, values=_form(), status=STATUS_OF[exc.kind])
    flash(i18n.translate("desk.done_ok", lang))
    return redirect(url_for("breaches.page", breach_id=breach_id))


@breach_pages.route("/<int:breach_id>/pdpc", methods=["POST"])
@keeper_page
def pdpc(staff, breach_id: int):
    def do(lang):
        data = {key: value for key, value in _form().items() if value.strip()}
        handlers.record_pdpc(breach_id, staff, BreachPdpcSchema().load(data), lang)

    return _act(staff, breach_id, do)


@breach_pages.route("/<int:breach_id>/notify", methods=["POST"])
@keeper_page
def notify(staff, breach_id: int):
    return _act(staff, breach_id, lambda lang: handlers.notify_people(breach_id, staff, lang))


@breach_pages.route("/<int:breach_id>/close", methods=["POST"])
@keeper_page
def close(staff, breach_id: int):
    return _act(staff, breach_id, lambda lang: handlers.close(breach_id, staff, lang))


# ---------------------------------------------------------------------------------------------
# the API


def _found(breach_id: int):
    breach = handlers.read_breach(breach_id, current_staff())
    if breach is None:
        abort(404)
    return breach


@breach_api.route("")
@staff_required(*KEEPERS)
@breach_api.doc(security=[{"bearer": []}], summary="The organisation's breach register, open ones first")
@breach_api.arguments(BreachQuerySchema, location="query", as_kwargs=True)
@breach_api.response(200, BreachSummarySchema(many=True))
@breach_api.alt_response(401, schema=FieldErrorsSchema)
@breach_api.alt_response(403, schema=FieldErrorsSchema, description="privacy officers and administrators only")
def list_breaches(**query):
    return handlers.list_breaches(current_staff(), **query)


@breach_api.route("", methods=["POST"])
@staff_required(*KEEPERS)
@breach_api.doc(security=[{"bearer": []}], summary="Record a breach (its PDPC deadline is aware_at + 72 hours)",
                requestBody={"required": True, "content": {"application/json": {"schema": BreachRecordSchema}}})
@breach_api.response(201, BreachSchema)
@breach_api.alt_response(401, schema=FieldErrorsSchema)
@breach_api.alt_response(403, schema=FieldErrorsSchema, description="privacy officers and administrators only")
@breach_api.alt_response(422, schema=FieldErrorsSchema, description="field-level messages")
def record_breach():
    data = read_body(keep_blank=True, not_object="the body must be a JSON object")
    try:
        breach_id = handlers.record(current_staff(), BreachRecordSchema().load(data), _lang())
    except ValidationError as exc:
        return error_response(422, flatten_errors(exc.messages))
    except Refusal as exc:
        return error_response(STATUS_OF[exc.kind], exc.errors)
    return _found(breach_id), 201


@breach_api.route("/<int:breach_id>")
@staff_required(*KEEPERS)
@breach_api.doc(security=[{"bearer": []}], summary="One breach with its clock and trail")
@breach_api.response(200, BreachSchema)
@breach_api.alt_response(401, schema=FieldErrorsSchema)
@breach_api.alt_response(403, schema=FieldErrorsSchema)
@breach_api.alt_response(404, schema=FieldErrorsSchema)
def read_breach(breach_id: int):
    return _found(breach_id)


def _api_act(breach_id: int, do):
    try:
        do()
    except LookupError:
        abort(404)
    except ValidationError as exc:
        return error_response(422, flatten_errors(exc.messages))
    except Refusal as exc:
        return error_response(STATUS_OF[exc.kind], exc.errors)
    return _found(breach_id)


@breach_api.route("/<int:breach_id>/pdpc", methods=["POST"])
@staff_required(*KEEPERS)
@breach_api.doc(security=[{"bearer": []}], summary="The PDPC Office was notified (when, its reference), or why not",
                requestBody={"required": True, "content": {"application/json": {"schema": BreachPdpcSchema}}})
@breach_api.response(200, BreachSchema)
@breach_api.alt_response(401, schema=FieldErrorsSchema)
@breach_api.alt_response(403, schema=FieldErrorsSchema)
@breach_api.alt_response(404, schema=FieldErrorsSchema)
@breach_api.alt_response(409, schema=FieldErrorsSchema, description="the breach is closed")
@breach_api.alt_response(422, schema=FieldErrorsSchema, description="neither a time nor a reason")
def record_pdpc(breach_id: int):
    data = read_body(keep_blank=True, not_object="the body must be a JSON object")
    return _api_act(breach_id, lambda: handlers.record_pdpc(breach_id, current_staff(),
                                                            BreachPdpcSchema().load(data), _lang()))


@breach_api.route("/<int:breach_id>/notify-people", methods=["POST"])
@staff_required(*KEEPERS)
@breach_api.doc(security=[{"bearer": []}], summary="Email the requesters of the breach's cases a notice (once each)")
@breach_api.response(200, BreachSchema)
@breach_api.alt_response(401, schema=FieldErrorsSchema)
@breach_api.alt_response(403, schema=FieldErrorsSchema)
@breach_api.alt_response(404, schema=FieldErrorsSchema)
@breach_api.alt_response(409, schema=FieldErrorsSchema, description="closed, or every case's requester was told")
def notify_people(breach_id: int):
    return _api_act(breach_id, lambda: handlers.notify_people(breach_id, current_staff(), _lang()))


@breach_api.route("/<int:breach_id>/close", methods=["POST"])
@staff_required(*KEEPERS)
@breach_api.doc(security=[{"bearer": []}], summary="Close a breach (the PDPC settled; a high risk's people told)")
@breach_api.response(200, BreachSchema)
@breach_api.alt_response(401, schema=FieldErrorsSchema)
@breach_api.alt_response(403, schema=FieldErrorsSchema)
@breach_api.alt_response(404, schema=FieldErrorsSchema)
@breach_api.alt_response(409, schema=FieldErrorsSchema, description="closed, or not yet closable")
def close_breach(breach_id: int):
    return _api_act(breach_id, lambda: handlers.close(breach_id, current_staff(), _lang()))
