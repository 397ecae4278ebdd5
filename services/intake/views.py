"""Intake's web edge: parse, call a use case, answer. HTML for people, JSON for programs."""
from __future__ import annotations

from flask import abort, make_response, redirect, render_template, request, url_for
from flask_smorest import Blueprint
from marshmallow import ValidationError

from services.intake import handlers
from services.intake.schemas import (SubmitRequestSchema, SubmittedSchema, TrackSchema, msg,
                                     request_schema)
from shared import i18n
from shared.auth import current_staff
from shared.packs import builtin_packs, find_sop
from shared.tracking import check_tracking_token, tracking_url
from shared.web import FieldErrorsSchema, error_response, wants_json

blp = Blueprint("intake", __name__, url_prefix="/intake", description="Requests in, and the requester's tracking page")


@blp.route("/")
@blp.doc(summary="The index of request forms, by pack (HTML)")
def index():
    packs = [(pack, [s for s in pack.sops.values() if s.requester]) for pack in builtin_packs().values()]
    return render_template("intake/index.html", packs=[(p, sops) for p, sops in packs if sops])


@blp.route("/forms/<pack>/<sop>")
@blp.doc(summary="One request form (HTML, Thai or English)")
def form(pack: str, sop: str):
    found = find_sop(f"{pack}/{sop}")
    if found is None or not found.requester:
        abort(404)
    return render_template("intake/form.html", sop=found, values={}, errors={})


@blp.route("/requests", methods=["POST"])
@blp.doc(
    summary="File a request (JSON, or a form post from any web page)",
    requestBody={"required": True, "content": {
        "application/json": {"schema": SubmitRequestSchema},
        "application/x-www-form-urlencoded": {"schema": SubmitRequestSchema},
    }},
    security=[{}, {"bearer": []}],
)
@blp.response(201, SubmittedSchema)
@blp.alt_response(303, description="a browser form post is sent to its confirmation page")
@blp.alt_response(401, schema=FieldErrorsSchema, description="an Authorization header that is not a valid staff token")
@blp.alt_response(422, schema=FieldErrorsSchema, description="field-level messages; nothing stored")
def submit():
    lang = i18n.current_language()
    as_json = request.is_json
    if as_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return error_response(400, {"_schema": [i18n.translate("errors.invalid_input", lang)]},
                                  "The body must be a JSON object.")
    else:
        data = request.form.to_dict()
    staff = None
    if request.headers.get("Authorization"):
        staff = current_staff()
        if staff is None:
            return error_response(401, {"Authorization": ["not a valid staff token"]}, "Invalid staff token.")
    sop_key = data.get("sop") if isinstance(data.get("sop"), str) else None
    errors: dict = {}
    try:
        cleaned = request_schema(sop_key.strip() if sop_key else None, lang, staff is not None).load(data)
    except ValidationError as exc:
        errors = exc.messages
        cleaned = None
    if staff is None and data.get("received_at"):
        errors.setdefault("received_at", []).append(msg("staff_only", lang))
    if errors:
        if as_json or wants_json():
            return error_response(422, errors)
        sop = find_sop(sop_key or "")
        if sop is None:
            return error_response(422, errors)
        return make_response(render_template("intake/form.html", sop=sop, values=data, errors=errors,
                                             lang_base=url_for("intake.form", pack=sop.pack, sop=sop.key)), 422)
    channel = "staff" if staff else ("api" if as_json else "web")
    filed = handlers.submit_request(cleaned, channel=channel, language=lang,
                                    filed_by=staff.username if staff else None)
    if as_json or wants_json():
        return {"tracking_code": filed.tracking_code, "status_url": tracking_url(filed.tracking_code)}, 201
    return redirect(url_for("intake.submitted", code=filed.tracking_code), code=303)


@blp.route("/submitted/<code>")
@blp.doc(summary="Confirmation page after a browser form post (shows only the tracking code)")
def submitted(code: str):
    return render_template("intake/submitted.html", code=code)


@blp.route("/track/<code>")
@blp.doc(summary="The requester's view of the case (HTML, or JSON with Accept: application/json)",
         parameters=[{"in": "query", "name": "token", "schema": {"type": "string"}, "required": True}])
@blp.response(200, TrackSchema)
@blp.alt_response(404, schema=FieldErrorsSchema, description="unknown code or wrong token: the same answer for both")
def track(code: str):
    lang = i18n.current_language()
    token = request.args.get("token")
    found = handlers.find_request(code) if check_tracking_token(code, token) else None
    if found is None:
        if wants_json():
            return make_response({"code": 404, "status": "Not Found",
                                  "message": i18n.translate("track.not_found", lang)}, 404)
        return make_response(render_template("intake/not_found.html"), 404)
    view = {
        "tracking_code": found.tracking_code,
        "sop": found.sop,
        "sop_title": i18n.pick(found.sop_title, lang),
        "subject": found.subject,
        "status": found.status,
        "status_text": i18n.translate(f"status.{found.status}", lang),
        "received_at": found.received_at,
        "current_step": found.current_step,
        "due_at": found.due_at,
        "closed_at": found.closed_at,
        "steps": [
            {"step": s.step, "title": i18n.pick(s.title, lang), "role": s.role, "round": s.round,
             "status": s.status, "started_at": s.started_at, "completed_at": s.completed_at, "due_at": s.due_at}
            for s in found.steps
        ],
    }
    if wants_json():
        return view
    return make_response(render_template("intake/track.html", case=view))
