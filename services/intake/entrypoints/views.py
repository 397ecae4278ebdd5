"""Intake's web edge: parse, call a use case, answer. HTML for people, JSON for programs.

Who may post what:
* sopdesk's own forms carry the session's CSRF token; a form post without a valid token is taken
  only when its Origin (or, failing that, its Referer) is one of ``settings.allowed_origins``
  (a unit's own web site posting to sopdesk: channel ``external``), else refused with 403.
* JSON posts and staff bearer posts are not driven by cookies and need no token. The desk's
  session cookie counts as a staff login only together with the desk's CSRF token.
* Anonymous posts (requests, answers, surveys) share ``settings.rate_limit`` per address;
  tracking pages and file reads ``settings.track_rate_limit``.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import abort, g, jsonify, make_response, redirect, render_template, request, send_file, url_for
from flask_smorest import Blueprint
from marshmallow import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from services.intake.domain import channels
from services.intake.handlers import commands, privacy, requests as handlers
from services.intake.messages import kinds_text, t
from services.intake.schemas import (STAFF_CHANNELS, AnsweredSchema, AnswerRequestSchema, SubmitRequestSchema,
                                     SubmittedSchema, SurveyAnsweredSchema, SurveyRequestSchema, TrackSchema,
                                     answer_schema, msg, request_schema, survey_schema)
from shared import dates, files, i18n, ratelimit
from shared.auth import csrf_ok, current_staff, public, requester, staff_required
from shared.config import get_settings
from shared.openapi import download, html
from shared.files import MAX_FILES_PER_FIELD, UploadError, clean_filename, discard_all
from shared.packs import FILE_KINDS, Sop, builtin_packs, find_sop
from shared.tracking import check_tracking_token, step_file_path, tracking_token, tracking_url
from shared.web import STATUS_OF, FieldErrorsSchema, error_response, read_body, wants_json

log = logging.getLogger(__name__)

blp = Blueprint("intake", __name__, url_prefix="/intake", description="Requests in, and the requester's tracking page")

POSTS, READS = "posts", "track-reads"
VISIBLE_FIELDS = ("requester_name", "requester_email", "requester_phone", "requester_unit", "subject", "details",
                  "consent")
ANSWER_FILES = "files"


@blp.after_request
def _headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if "/track/" in request.path:
        # the tracking token is in the address: never hand it to another site, never cache the page
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cache-Control", "private, no-store")
    return response


# ---------------------------------------------------------------------------------------------
# refusals shared by every post


def _message_page(status: int, title_key: str, message: str, back: str | None = None):
    response = make_response(render_template("intake/message.html", title=i18n.translate(title_key,
                                                                                          i18n.current_language()),
                                             message=message, back=back), status)
    return response


def _refusal(status: int, message: str, title_key: str = "intake.page.refused", back: str | None = None):
    if wants_json():
        return error_response(status, {"_schema": [message]}, message)
    return _message_page(status, title_key, message, back)


def _rate_limited(bucket: str, rate: str):
    """A 429 when this address went over its limit, else None (never when Redis is down)."""
    decision = ratelimit.hit(bucket, request.remote_addr or "unknown", rate)
    if decision.allowed:
        return None
    lang = i18n.current_language()
    text = t("intake.refused.rate", lang, seconds=decision.retry_after)
    if wants_json():
        response = jsonify({"code": 429, "status": "Too Many Requests", "message": text})
        response.status_code = 429
    else:
        response = _message_page(429, "intake.page.too_many", text)
    response.headers["Retry-After"] = str(decision.retry_after)
    return response


def _too_large_text(lang: str) -> str:
    limit = request.max_content_length or 0
    return t("intake.refused.too_large", lang, mb=max(1, limit // (1024 * 1024)))


def _requester_post(lang: str, back: str):
    """The body of a requester's post on their tracking page (an answer, the survey):
    ((data, uploads, as_json), None), or (None, the refusal to send back)."""
    try:
        data, uploads, as_json = _read_body()
    except RequestEntityTooLarge:
        return None, _refusal(413, _too_large_text(lang), "intake.page.too_large", back=back)
    if not as_json and not csrf_ok():
        return None, _refusal(403, t("intake.refused.csrf", lang), back=back)
    return (data, uploads, as_json), None


def _origin_allowed() -> bool:
    """The post came from a page of one of the allowed other sites (Origin, else Referer)."""
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        referer = request.headers.get("Referer") or ""
        parts = urlsplit(referer)
        if not parts.scheme or not parts.netloc:
            return False
        origin = f"{parts.scheme}://{parts.netloc}"
    return origin.lower().rstrip("/") in get_settings().allowed_origins


def _desk_staff():
    """The staff member logged in to the desk whose post carries the desk's CSRF token."""
    staff = current_staff()
    if staff is not None and g.get("staff_via_cookie") and csrf_ok():
        return staff
    return None


def _read_body():
    """(data, uploads, as_json) through the one body reader (``shared.web.read_body``): a JSON
    body that is not an object is refused there with a 400; a body over the cap raises
    RequestEntityTooLarge."""
    data = read_body(keep_blank=True, not_object=i18n.translate("errors.invalid_input", i18n.current_language()),
                     not_object_message="The body must be a JSON object.")
    return (data, None, True) if request.is_json else (data, request.files, False)


def _store_uploads(specs, uploads, lang: str, enforce_required: bool) -> tuple[list, dict]:
    """Write each part of each file field, checked; return what was stored and the messages.
    Parts under names the form does not ask for are not read at all."""
    settings = get_settings()
    max_bytes = settings.max_upload_mb * 1024 * 1024
    stored, errors = [], {}
    for spec in specs:
        parts = [p for p in (uploads.getlist(spec.name) if uploads else []) if p and p.filename]
        if not parts:
            if spec.required and enforce_required:
                errors.setdefault(spec.name, []).append(t("intake.file.required", lang))
            continue
        if not spec.multiple and len(parts) > 1:
            errors.setdefault(spec.name, []).append(t("intake.file.one_only", lang))
            continue
        if len(parts) > MAX_FILES_PER_FIELD:
            errors.setdefault(spec.name, []).append(t("intake.file.too_many", lang, n=MAX_FILES_PER_FIELD))
            continue
        for part in parts:
            try:
                stored.append(files.store(part.stream, part.filename, spec.name, spec.accept, settings.files_dir,
                                          max_bytes))
            except UploadError as exc:
                values = dict(exc.values)
                if "kinds" in values:
                    values["kinds"] = kinds_text(values["kinds"], lang)
                errors.setdefault(spec.name, []).append(
                    f"{clean_filename(part.filename)}: {t('intake.file.' + exc.code, lang, **values)}")
    return stored, errors


# ---------------------------------------------------------------------------------------------
# forms


def _form_context(sop: Sop, values: dict, errors: dict, lang: str) -> dict:
    settings = get_settings()
    staff = current_staff()
    desk_staff = staff if staff is not None and g.get("staff_via_cookie") else None
    shown = set(VISIBLE_FIELDS) | {f.name for f in sop.form} | ({"channel", "received_at"} if desk_staff else set())
    # messages about fields this page has no box for (e.g. staff-only fields sent by the public)
    other_errors = [(i18n.translate(f"intake.field.{name}", lang) if f"intake.field.{name}" in i18n.MESSAGES
                     else name, messages) for name, messages in errors.items() if name not in shown]
    return {
        "other_errors": other_errors,
        "sop": sop, "values": values, "errors": errors, "desk_staff": desk_staff,
        "notice": privacy.notice_for(sop, settings), "max_mb": settings.max_upload_mb,
        "kinds_text": lambda kinds: kinds_text(kinds, lang), "staff_channels": STAFF_CHANNELS,
        "date_value": lambda raw: _input_value(raw, "date", lang),
        "datetime_value": lambda raw: _input_value(raw, "datetime", lang),
        "accept_attr": _accept_attr,
        "lang_base": url_for("intake.form", pack=sop.pack, sop=sop.key),
        "action": url_for("intake.submit", lang=lang, form=sop.full_key),
    }


def _input_value(raw, kind: str, lang: str) -> str:
    """What a date field shows again: as typed in Thai; as the English browser input's ISO when it
    can be read (else as typed)."""
    if not isinstance(raw, str) or not raw or lang == "th":
        return raw or ""
    try:
        if kind == "date":
            return dates.parse_date(raw).isoformat()
        return dates.datetime_for_input(dates.parse_datetime(raw), "en")
    except ValueError:
        return raw


def _accept_attr(kinds) -> str:
    out = []
    for kind in kinds:
        for content_type, endings in files.KINDS[kind].items():
            out.append(content_type)
            out.extend(endings)
    return ",".join(out)


def _render_form(sop: Sop, values: dict, errors: dict, status: int = 200):
    lang = i18n.current_language()
    return make_response(render_template("intake/form.html", **_form_context(sop, values, errors, lang)), status)


@blp.route("/")
@blp.doc(summary="The index of request forms, by pack (HTML)")
@html(blp, 200, description="the index page")
@public("the list of forms anyone may file")
def index():
    packs = [(pack, [s for s in pack.sops.values() if s.requester]) for pack in builtin_packs().values()]
    return render_template("intake/index.html", packs=[(p, sops) for p, sops in packs if sops])


@blp.route("/forms/<pack>/<sop>")
@blp.doc(summary="One request form (HTML, Thai or English)")
@html(blp, 200, description="the form")
@blp.alt_response(404, schema=FieldErrorsSchema, description="no such SOP, or one that takes no requests")
@public("a request form: anyone may file a request")
def form(pack: str, sop: str):
    found = find_sop(f"{pack}/{sop}")
    staff = current_staff()
    # planned work is filed by its own organisation's staff: to anyone else there is no such form
    if found is None or not (found.requester or (staff is not None and staff.in_org(pack))):
        abort(404)
    return _render_form(found, {}, {})


@blp.route("/requests", methods=["POST"])
@blp.doc(
    summary="File a request (JSON, or a form post from sopdesk's form or an allowed web site's)",
    description="File fields are multipart parts of a form post (required ones only for requesters' form "
                "posts; JSON cannot carry files, so a JSON body's value for a file field is dropped). "
                "A form post needs sopdesk's CSRF token, or an Origin/Referer in SOPDESK_ALLOWED_ORIGINS.",
    requestBody={"required": True, "x-checked": "the SOP's own form fields, as its pack says (its form shows them)",
                 "content": {
        "application/json": {"schema": SubmitRequestSchema},
        "application/x-www-form-urlencoded": {"schema": SubmitRequestSchema},
        "multipart/form-data": {"schema": SubmitRequestSchema},
    }},
    security=[{}, {"bearer": []}],
)
@blp.response(201, SubmittedSchema)
@blp.alt_response(303, description="a browser form post is sent to its confirmation page")
@blp.alt_response(401, schema=FieldErrorsSchema, description="an Authorization header that is not a valid staff token")
@blp.alt_response(403, schema=FieldErrorsSchema, description="a form post without sopdesk's token, from elsewhere")
@blp.alt_response(413, schema=FieldErrorsSchema, description="the body is larger than the cap; nothing stored")
@blp.alt_response(422, schema=FieldErrorsSchema, description="field-level messages; nothing stored")
@blp.alt_response(429, schema=FieldErrorsSchema, description="too many posts from this address (Retry-After)")
@html(blp, 403, 413, 422, 429, json=FieldErrorsSchema)  # a browser's form post is answered with the form again, or a page
@public("anyone files a request (a form post must come from an allowed site; rate-limited)")
def submit():
    lang = i18n.current_language()
    bearer = bool(request.headers.get("Authorization"))
    if bearer and current_staff() is None:
        return error_response(401, {"Authorization": ["not a valid staff token"]}, "Invalid staff token.")
    if current_staff() is None:  # staff (bearer or desk) file for others all day: not limited
        limited = _rate_limited(POSTS, get_settings().rate_limit)
        if limited is not None:
            return limited
    form_sop = find_sop(request.args.get("form") or "")
    try:
        data, uploads, as_json = _read_body()
    except RequestEntityTooLarge:
        text = _too_large_text(lang)
        if wants_json() or form_sop is None:
            return _refusal(413, text, "intake.page.too_large", back=url_for("intake.index"))
        return _render_form(form_sop, {}, {"_schema": [text]}, 413)
    sop_key = data.get("sop").strip() if isinstance(data.get("sop"), str) else None
    sop = find_sop(sop_key or "")
    if sop is not None and not sop.requester and not (current_staff() and current_staff().in_org(sop.pack)):
        sop = None  # planned work has no public form to show again, nor one for another organisation's staff

    # who is filing, and through which channel (the policy: domain/channels.py)
    form_token = not bearer and not as_json and csrf_ok()
    staff = current_staff() if bearer else (_desk_staff() if as_json or form_token else None)
    how = channels.filing(bearer=bearer, as_json=as_json, form_token=form_token,
                          origin_allowed=not (bearer or as_json or form_token) and _origin_allowed(),
                          staff=staff is not None)
    if how is None:
        text = t("intake.refused.csrf", lang)
        if wants_json() or sop is None:
            return _refusal(403, text)
        return _render_form(sop, data, {"_schema": [text]}, 403)

    errors: dict = {}
    cleaned = None
    try:
        cleaned = request_schema(sop_key, lang, how.by_staff).load(data)
    except ValidationError as exc:
        errors = dict(exc.messages)
    for name, reason in channels.field_refusals(how, data).items():
        errors.setdefault(name, []).append(msg(reason, lang))
    if staff is not None and cleaned is not None and not staff.in_org(cleaned["sop"].partition("/")[0]):
        # staff file with a staff's powers (the channel, the day received, planned work) only for
        # their own organisation
        errors.setdefault("sop", []).append(t("intake.refused.other_organisation", lang))
    file_specs = [f for f in sop.form if f.type == "file"] if sop is not None else []
    stored, file_errors = [], {}
    if not as_json:
        stored, file_errors = _store_uploads(file_specs, uploads, lang, enforce_required=staff is None)
    for name, messages in file_errors.items():
        errors.setdefault(name, []).extend(messages)
    if errors:
        discard_all(stored)
        if wants_json() or sop is None:
            return error_response(422, errors)
        return _render_form(sop, data, errors, 422)
    channel = channels.channel_of(how, cleaned.get("channel"))
    try:
        command = commands.from_form(cleaned, channel=channel, language=lang,
                                     filed_by=staff.username if staff else None)
        filed = handlers.submit_request(command, files=stored, uploaded_by="staff" if staff else "requester")
    except BaseException:
        discard_all(stored)
        raise
    if wants_json():
        return {"tracking_code": filed.tracking_code, "status_url": tracking_url(filed.tracking_code)}, 201
    return redirect(url_for("intake.submitted", code=filed.tracking_code, token=tracking_token(filed.tracking_code),
                            lang=lang), code=303)


@blp.route("/submitted/<code>")
@blp.doc(summary="Confirmation page after a browser form post (the code; with the right token, its tracking link)")
@html(blp, 200, description="the confirmation page")
@public("the confirmation: the tracking code only, its link only with the right token")
def submitted(code: str):
    token = request.args.get("token")
    link = url_for("intake.track", code=code, token=token) if check_tracking_token(code, token) else None
    return render_template("intake/submitted.html", code=code, track_link=link)


# ---------------------------------------------------------------------------------------------
# tracking


def _not_found():
    lang = i18n.current_language()
    if wants_json():
        return make_response({"code": 404, "status": "Not Found", "message": i18n.translate("track.not_found", lang)},
                             404)
    return make_response(render_template("intake/not_found.html"), 404)


def _step_view(row, lang: str, code: str | None = None) -> dict:
    return {"step": row.step, "title": i18n.pick(row.title, lang), "role": row.role,
            "role_text": i18n.translate(f"role.{row.role}", lang), "round": row.round, "status": row.status,
            "started_at": row.started_at, "completed_at": row.completed_at, "due_at": row.due_at,
            "waiting_on": row.waiting_on, "message": row.message,
            # the files the step gave them: assignment keeps them and hands them out with the same token
            "files": [{**f, "url": step_file_path(code, f["id"])} for f in row.files or []] if code else []}


def _track_view(view: handlers.Tracking, lang: str, token: str) -> dict:
    found = view.request
    steps = [_step_view(s, lang, found.tracking_code) for s in view.steps]
    current = view.current
    asked = view.asked
    closed = found.status == "closed"
    return {
        "tracking_code": found.tracking_code,
        "sop": found.sop,
        "sop_title": i18n.pick(found.sop_title, lang),
        "subject": found.subject,
        "status": found.status,
        "status_text": i18n.translate(f"status.{found.status}", lang),
        "result": found.result,
        "result_text": i18n.translate(f"result.{found.result}", lang) if found.result else None,
        "received_at": found.received_at,
        "current_step": found.current_step,
        "next": _step_view(current, lang) if current is not None else None,
        "due_at": found.due_at,
        "closed_at": found.closed_at,
        "steps": steps,
        "steps_done": [s for s in steps if s["status"] == "done"],
        "attachments": [{**a.metadata_dict(), "purpose": a.purpose, "created_at": a.created_at,
                         "url": url_for("intake.track_file", code=found.tracking_code, file_id=a.id, token=token)}
                        for a in view.attachments],
        "asked": {**asked, "answer_url": url_for("intake.answer", code=found.tracking_code, token=token),
                  "choices": [{"key": c["key"], "label": i18n.pick(c.get("label") or {}, lang) or c["key"]}
                              for c in asked.get("choices") or []]}
        if asked else None,
        "rejection": view.rejection,
        "answers": view.answers,
        "survey": {"available": closed and view.survey is None,
                   "score": view.survey.score if view.survey else None,
                   "url": url_for("intake.survey", code=found.tracking_code, token=token)
                   if closed and view.survey is None else None},
    }


def _render_track(view: handlers.Tracking, token: str, status: int = 200, answer_errors: dict | None = None,
                  answer_values: dict | None = None):
    lang = i18n.current_language()
    case = _track_view(view, lang, token)
    return make_response(render_template(
        "intake/track.html", case=case, token=token, answer_errors=answer_errors or {},
        answer_values=answer_values or {}, answered=request.args.get("answered") == "1",
        max_mb=get_settings().max_upload_mb, kinds=kinds_text(FILE_KINDS, lang),
        accept=_accept_attr(FILE_KINDS)), status)


@blp.route("/track/<code>")
@blp.doc(summary="The requester's view of the case (HTML, or JSON with Accept: application/json)",
         parameters=[{"in": "query", "name": "token", "schema": {"type": "string"}, "required": True}])
@blp.response(200, TrackSchema)
@blp.alt_response(404, schema=FieldErrorsSchema, description="unknown code or wrong token: the same answer for both")
@blp.alt_response(429, schema=FieldErrorsSchema, description="too many reads from this address (Retry-After)")
@html(blp, 200, description="the tracking page, or its JSON", json=TrackSchema)
@html(blp, 404, 429, json=FieldErrorsSchema)
@requester("the tracking page: its token is checked; without it the request is not found")
def track(code: str):
    limited = _rate_limited(READS, get_settings().track_rate_limit)
    if limited is not None:
        return limited
    token = request.args.get("token")
    view = handlers.tracking(code) if check_tracking_token(code, token) else None
    if view is None:
        return _not_found()
    if wants_json():
        data = _track_view(view, i18n.current_language(), token)
        data.pop("answers")
        return data
    return _render_track(view, token)


@blp.route("/track/<code>/answer", methods=["POST"])
@blp.doc(summary="The requester answers a return for correction (note and files)",
         parameters=[{"in": "query", "name": "token", "schema": {"type": "string"}, "required": True}],
         requestBody={"required": True, "content": {"multipart/form-data": {"schema": AnswerRequestSchema},
                                                    "application/json": {"schema": AnswerRequestSchema}}})
@blp.response(201, AnsweredSchema)
@blp.alt_response(303, description="a browser form post goes back to the tracking page")
@blp.alt_response(404, schema=FieldErrorsSchema, description="unknown code or wrong token")
@blp.alt_response(409, schema=FieldErrorsSchema, description="nothing waits on an answer, or this round is answered")
@blp.alt_response(422, schema=FieldErrorsSchema, description="field-level messages; nothing stored")
@blp.alt_response(403, schema=FieldErrorsSchema, description="a form post without the page's CSRF token")
@blp.alt_response(413, schema=FieldErrorsSchema, description="the body is larger than the cap; nothing stored")
@blp.alt_response(429, schema=FieldErrorsSchema, description="too many posts from this address (Retry-After)")
@html(blp, 403, 404, 409, 413, 422, 429, json=FieldErrorsSchema)
@requester("the requester answers a return for correction, with the tracking token")
def answer(code: str):
    lang = i18n.current_language()
    limited = _rate_limited(POSTS, get_settings().rate_limit)
    if limited is not None:
        return limited
    token = request.args.get("token")
    if not check_tracking_token(code, token):
        return _not_found()
    back = url_for("intake.track", code=code, token=token)
    body, refused = _requester_post(lang, back)
    if refused is not None:
        return refused
    data, uploads, as_json = body
    try:
        handlers.check_answerable(code)
    except LookupError:
        return _not_found()
    except handlers.Refused as refused:
        return _refusal(STATUS_OF[refused.kind], t(f"intake.refused.{refused.reason}", lang), back=back)
    errors: dict = {}
    cleaned = None
    try:
        cleaned = answer_schema(lang).load(data)
    except ValidationError as exc:
        errors = dict(exc.messages)
    stored, file_errors = [], {}
    if not as_json:
        spec = _AnswerFiles()
        stored, file_errors = _store_uploads([spec], uploads, lang, enforce_required=False)
    for name, messages in file_errors.items():
        errors.setdefault(name, []).extend(messages)
    # a step of theirs with several outcomes (a re-check): which one they choose
    asked = handlers.tracking(code).asked or {}
    choices = [c["key"] for c in asked.get("choices") or []]
    outcome = data.get("outcome") if isinstance(data.get("outcome"), str) else None
    if choices and outcome not in choices:
        errors.setdefault("outcome", []).append(t("intake.v.choose", lang))
    if errors:
        discard_all(stored)
        if wants_json():
            return error_response(422, errors)
        return _render_track(handlers.tracking(code), token, 422, errors, data)
    try:
        result = handlers.answer(code, cleaned["note"], stored, uploaded_by="requester",
                                 outcome=outcome if choices else None)
    except handlers.Refused as refused:
        discard_all(stored)
        return _refusal(STATUS_OF[refused.kind], t(f"intake.refused.{refused.reason}", lang), back=back)
    except BaseException:
        discard_all(stored)
        raise
    if wants_json():
        return {"tracking_code": code, "step": result.step, "round": result.round, "answered_at": result.answered_at,
                "attachments": result.attachments}, 201
    return redirect(url_for("intake.track", code=code, token=token, answered=1) + "#asked", code=303)


class _AnswerFiles:
    """The answer form's one file field: any kind sopdesk keeps, several files."""

    name = ANSWER_FILES
    type = "file"
    required = False
    multiple = True
    accept = FILE_KINDS


# ---------------------------------------------------------------------------------------------
# the satisfaction survey


def _score_arg() -> int | None:
    raw = request.args.get("score", "")
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= 5 else None


def _render_survey(view: handlers.Tracking, token: str, values: dict, errors: dict, status: int = 200):
    lang = i18n.current_language()
    return make_response(render_template(
        "intake/survey.html", case=_track_view(view, lang, token), token=token, values=values, errors=errors,
        action=url_for("intake.survey", code=view.request.tracking_code, token=token, lang=lang)), status)


@blp.route("/track/<code>/survey", methods=["GET", "POST"])
@blp.doc(summary="The satisfaction survey of a closed case: GET shows it (score=N preselects), POST answers "
                 "(score 1-5, comment; JSON or a form with the page's CSRF token). One answer per case.",
         parameters=[{"in": "query", "name": "token", "schema": {"type": "string"}, "required": True},
                     {"in": "query", "name": "score", "schema": {"type": "integer", "minimum": 1, "maximum": 5}}],
         requestBody={"content": {"application/json": {"schema": SurveyRequestSchema},
                                  "application/x-www-form-urlencoded": {"schema": SurveyRequestSchema}}})
@blp.response(201, SurveyAnsweredSchema)
@blp.alt_response(404, schema=FieldErrorsSchema, description="unknown code or wrong token")
@blp.alt_response(409, schema=FieldErrorsSchema, description="the case is not closed, or is rated already")
@blp.alt_response(422, schema=FieldErrorsSchema, description="field-level messages; nothing stored")
@blp.alt_response(403, schema=FieldErrorsSchema, description="a form post without the page's CSRF token")
@blp.alt_response(413, schema=FieldErrorsSchema, description="the body is larger than the cap; nothing stored")
@blp.alt_response(429, schema=FieldErrorsSchema, description="too many posts or reads from this address")
@html(blp, 200, description="GET: the survey, or thanks when it is answered")
@html(blp, 403, 404, 409, 413, 422, 429, json=FieldErrorsSchema)
@requester("the requester rates a closed case, with the tracking token")
def survey(code: str):
    lang = i18n.current_language()
    settings = get_settings()
    limited = _rate_limited(POSTS if request.method == "POST" else READS,
                            settings.rate_limit if request.method == "POST" else settings.track_rate_limit)
    if limited is not None:
        return limited
    token = request.args.get("token")
    view = handlers.tracking(code) if check_tracking_token(code, token) else None
    if view is None:
        return _not_found()
    back = url_for("intake.track", code=code, token=token)
    if request.method == "GET":
        if view.survey is not None:
            return make_response(render_template("intake/survey_thanks.html", score=view.survey.score, back=back))
        if view.request.status != "closed":
            return _refusal(409, t("intake.refused.survey_not_closed", lang), back=back)
        return _render_survey(view, token, {"score": _score_arg()}, {})
    body, refused = _requester_post(lang, back)
    if refused is not None:
        return refused
    data, _, as_json = body
    try:
        cleaned = survey_schema(lang).load(data)
    except ValidationError as exc:
        if wants_json():
            return error_response(422, dict(exc.messages))
        return _render_survey(view, token, data, dict(exc.messages), 422)
    try:
        row = handlers.answer_survey(code, cleaned["score"], cleaned.get("comment"))
    except handlers.Refused as refused:
        return _refusal(STATUS_OF[refused.kind], t(f"intake.refused.{refused.reason}", lang), back=back)
    if wants_json():
        return {"tracking_code": code, "score": row.score, "answered_at": row.answered_at}, 201
    return redirect(url_for("intake.survey", code=code, token=token, lang=lang), code=303)


# ---------------------------------------------------------------------------------------------
# files back out: only to the requester (token) or to staff (logged)


def _send(attachment):
    try:
        path = files.open_stored(get_settings().files_dir, attachment.storage_key)
        if not path.is_file():
            raise FileNotFoundError(attachment.storage_key)
    except FileNotFoundError:
        log.error("attachment %s has no file at %s", attachment.id, attachment.storage_key)
        return _not_found()
    response = send_file(path, mimetype=attachment.content_type, as_attachment=True,
                         download_name=attachment.original_name, max_age=0, etag=False, last_modified=None)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@blp.route("/track/<code>/files/<file_id>")
@blp.doc(summary="A file of the case, for the requester (the tracking token); always a download",
         parameters=[{"in": "query", "name": "token", "schema": {"type": "string"}, "required": True}])
@blp.alt_response(404, schema=FieldErrorsSchema, description="unknown code, file or wrong token")
@blp.alt_response(429, schema=FieldErrorsSchema, description="too many reads from this address (Retry-After)")
@download(blp)
@html(blp, 404, 429, json=FieldErrorsSchema)
@requester("the requester downloads their own files, with the tracking token")
def track_file(code: str, file_id: str):
    limited = _rate_limited(READS, get_settings().track_rate_limit)
    if limited is not None:
        return limited
    if not check_tracking_token(code, request.args.get("token")):
        return _not_found()
    found = handlers.requester_file(code, file_id)
    return _send(found) if found is not None else _not_found()


@blp.route("/requests/<code>/files/<file_id>")
@blp.doc(summary="A file of the case, for staff who may see the case (bearer token or desk session); the read "
                 "is logged. Those who see all of the case's organisation need nothing more; anyone else brings "
                 "the grant in the link the case gives them (GET /assignment/cases/<code>: attachments[].url)",
         security=[{"bearer": []}],
         parameters=[{"in": "query", "name": "grant", "schema": {"type": "string"}, "required": False}])
@blp.alt_response(401, schema=FieldErrorsSchema, description="no valid staff login")
@blp.alt_response(404, schema=FieldErrorsSchema, description="unknown code or file, or a case the caller may not see")
@download(blp)
@staff_required()
def staff_file(code: str, file_id: str):
    found = handlers.staff_file(code, file_id, current_staff(), request.args.get("grant"))
    if found is None:
        return make_response({"code": 404, "status": "Not Found", "message": "No such file."}, 404)
    return _send(found)
