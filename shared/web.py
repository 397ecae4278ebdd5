"""What every service's Flask app has in common, built once: the app factory's skeleton,
``GET <prefix>/health`` and ``GET <prefix>/openapi.json`` (flask-smorest, from the marshmallow
schemas), JSON errors with field-level messages, and the language of the page."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from pathlib import Path
from urllib.parse import urlencode

import flask_swagger_ui
from flask import Flask, abort, jsonify, request, send_from_directory
from flask.sessions import SecureCookieSessionInterface
from jinja2 import ChoiceLoader, FileSystemLoader
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.middleware.proxy_fix import ProxyFix

from shared import db, headers, i18n, inputs, nav, openapi, traffic_log
from shared.auth import csrf_token, current_staff, public
from shared.config import Settings, get_settings
from shared.errors import BadRequest, Conflict, Forbidden, Invalid, NotFound, Refusal

log = logging.getLogger(__name__)
SHARED_TEMPLATES = Path(__file__).parent / "templates"
SWAGGER_UI_DIR = Path(flask_swagger_ui.__file__).parent / "dist"  # Swagger UI's files, from PyPI
SWAGGER_UI_ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js")


class OwedSchema(Schema):
    count = fields.Integer(required=True)
    oldest_seconds = fields.Float(required=True)


class EventDeliverySchema(Schema):
    owed = fields.Dict(keys=fields.String(), values=fields.Nested(OwedSchema), required=True, metadata={
        "description": "this service's events not yet confirmed by each subscriber: how many, and the oldest's age"})
    late = fields.Integer(required=True, metadata={
        "description": "of those, how many are older than the delivery promise (sopdesk doctor lists them)"})
    promise_seconds = fields.Float(required=True)


class HealthSchema(Schema):
    service = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "ok, or down when a dependency fails"})
    database = fields.String(required=True)
    broker = fields.String(required=True)
    delivery = fields.Nested(EventDeliverySchema, metadata={"description": "absent when the database is down"})


class FieldErrorsSchema(Schema):
    code = fields.Integer()
    status = fields.String()
    message = fields.String()
    errors = fields.Dict(metadata={"description": "field name -> list of messages"})


# seconds a caller is told to wait (Retry-After) when the database is out of reach (a restart)
DATABASE_AWAY_RETRY_SECONDS = 5


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer made once per secret key rather
    than on every request, cookie or none (it was 1.4 % of a busy intake's samples). The serializer
    holds nothing but its keys and settings; a changed key (or fallbacks) makes a new one."""

    _made: tuple | None = None  # ((secret key, fallbacks), serializer)

    def get_signing_serializer(self, app: Flask):
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        made = self._made
        if made is None or made[0] != keys:
            made = self._made = (keys, super().get_signing_serializer(app))
        return made[1]


def check_broker(timeout: float = 2.0) -> None:
    from shared.celery_app import celery

    with celery.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
        channel = conn.default_channel
        client = getattr(channel, "client", None)
        if client is not None and hasattr(client, "ping"):
            client.ping()


def flatten_errors(messages) -> dict[str, list[str]]:
    """webargs nests messages by location ({"json": {...}}); answer with field -> messages."""
    if isinstance(messages, dict) and set(messages) <= {"json", "form", "query", "json_or_form", "files", "headers"}:
        merged: dict = {}
        for part in messages.values():
            if isinstance(part, dict):
                merged.update(part)
        messages = merged
    if isinstance(messages, list):
        return {"_schema": [str(m) for m in messages]}
    return messages


def create_service_app(
    service: str,
    title: str,
    blueprints: Iterable[Blueprint],
    settings: Settings | None = None,
    extra_setup: Callable[[Flask], None] | None = None,
    bus=None,
) -> Flask:
    settings = settings or get_settings()
    app = Flask(f"services.{service}", template_folder="templates", static_folder=None)
    app.request_class = inputs.TextRequest  # forms read as UTF-8 or refused (shared/inputs.py)
    app.url_map.converters["int"] = inputs.BoundedIntegerConverter  # before any route: ids fit `integer`
    if not settings.embedded:  # behind nginx: trust its X-Forwarded-For/Proto/Host, one hop
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="sopdesk_session",
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
        API_TITLE=f"sopdesk {title}",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=f"/{service}",
        OPENAPI_JSON_PATH="openapi.json",
        # the browsable page, <prefix>/docs: Swagger UI from this service itself (the CSP allows no
        # other site's script), its assets from the flask-swagger-ui package (shared/templates/swagger_ui.html)
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=f"/{service}/docs/assets/",
        API_SPEC_OPTIONS={
            "servers": [{"url": "/"}],
            "components": {
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            },
        },
        MAX_CONTENT_LENGTH=25 * 1024 * 1024,
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False
    app.session_interface = SessionInterface()
    app.before_request(inputs.refuse_what_is_not_text)  # no NUL, no non-Unicode, before any view
    app.jinja_loader = ChoiceLoader([app.jinja_loader, FileSystemLoader(str(SHARED_TEMPLATES))])
    api = Api(app)
    openapi.install(api)  # decimals given out as strings, rules a schema cannot say, no NUL: shared.openapi
    app.extensions["sopdesk_api"] = api
    app.extensions["sopdesk_service"] = service
    headers.install(app, production=settings.env == "production")  # CSP, nosniff, HSTS: shared.headers
    traffic_log.install(app, service)  # every request in the traffic log: shared.traffic_log

    health_blp = Blueprint(f"{service}_health", __name__, url_prefix=f"/{service}",
                           description="Liveness of the service and what it depends on")

    @health_blp.route("/health")
    @health_blp.response(200, HealthSchema)
    @health_blp.alt_response(503, schema=HealthSchema, description="the database or the broker is down")
    @public("for load balancers and monitoring: whether the database and broker answer, no personal data")
    def health():
        result = {"service": service, "database": "ok", "broker": "ok"}
        try:
            db.ping(db.get_engine(service, get_settings().database_url(service)))
        except Exception as exc:
            result["database"] = f"down: {type(exc).__name__}"
        try:
            check_broker()
        except Exception as exc:
            result["broker"] = f"down: {type(exc).__name__}"
        if bus is not None and result["database"] == "ok":
            promise = get_settings().delivery_promise_seconds
            try:
                report = bus.owed(older_than_seconds=promise, limit=1000)
            except Exception as exc:
                result["database"] = f"down: {type(exc).__name__}"
        if result["database"] == "ok" and bus is not None:
            result["delivery"] = {
                "owed": {name: {"count": s.count, "oldest_seconds": round(s.oldest_seconds, 1)}
                         for name, s in sorted(report.by_subscriber.items())},
                "late": len(report.events),
                "promise_seconds": promise,
            }
        healthy = result["database"] == "ok" and result["broker"] == "ok"
        result["status"] = "ok" if healthy else "down"
        return result, (200 if healthy else 503)

    api.register_blueprint(health_blp)

    @app.route(f"/{service}/docs/assets/<name>")
    @public("the API page's script and style sheet (Swagger UI, as published): no data")
    def swagger_ui_asset(name: str):
        if name not in SWAGGER_UI_ASSETS:
            abort(404)
        return send_from_directory(SWAGGER_UI_DIR, name, max_age=24 * 3600)

    for blp in blueprints:
        api.register_blueprint(blp)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code == 422 or exc.code == 400:
            messages = getattr(exc, "data", {}).get("messages") if hasattr(exc, "data") else None
            if messages is not None:
                return error_response(exc.code, flatten_errors(messages))
        response = jsonify({"code": exc.code, "status": exc.name, "message": exc.description})
        response.status_code = exc.code or 500
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Refusal)
    def refused(exc: Refusal):
        """Every use case's refusal, whichever service: its kind's status, its field messages."""
        return refusal_response(exc)

    @app.errorhandler(DataError)
    def value_refused_by_the_database(exc: DataError):
        """The safety net behind shared/inputs.py: a value the column cannot hold (out of range,
        not text) that no check caught. Nothing was stored (the unit of work rolled back); a 400,
        and a log line so that the missing check gets written."""
        app.logger.warning("value refused by the database on %s %s: %s", request.method, request.path,
                           str(exc.orig).splitlines()[0][:300])
        message = i18n.translate("errors.value_refused", i18n.current_language())
        return error_response(400, {"_schema": [message]}, message)

    @app.errorhandler(OperationalError)
    def database_away(exc: OperationalError):
        """The database is restarting or out of reach: nothing was stored (the transaction did
        not commit), so the caller may simply try again. A 503 with Retry-After, not a 500."""
        app.logger.warning("database unavailable on %s %s: %s", request.method, request.path,
                           str(exc).splitlines()[0][:300])
        lang = i18n.current_language()
        response = error_response(503, {"_schema": [i18n.translate("errors.unavailable", lang)]},
                                  i18n.translate("errors.unavailable", lang))
        response.headers["Retry-After"] = str(DATABASE_AWAY_RETRY_SECONDS)
        return response

    @app.context_processor
    def template_helpers():
        lang = i18n.current_language()
        return {
            "t": lambda key, **kw: i18n.translate(key, lang, **kw),
            "pick": lambda texts: i18n.pick(texts, lang),
            "lang": lang,
            "fmt_date": lambda value, with_time=True: i18n.format_datetime(value, lang, with_time),
            "day_text": lambda day: i18n.format_day(day, lang),  # a calendar day (a date)
            "lang_url": _lang_url,
            "csrf_token": csrf_token,
            "fmt_size": lambda size: i18n.format_size(size, lang),  # a file's size, the same on every page
            "nav_areas": lambda: nav.areas_for(current_staff()),  # the menu: shared/nav.py
            "nav_staff": current_staff,
            "logout_path": nav.LOGOUT_PATH,
        }

    @app.after_request
    def remember_language(response):
        chosen = request.args.get("lang")
        if chosen in i18n.LANGUAGES and request.cookies.get("lang") != chosen:
            response.set_cookie("lang", chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
        return response

    if extra_setup is not None:
        extra_setup(app)
    return app


def _lang_url(code: str, base: str | None = None) -> str:
    """This page in another language, keeping its other query arguments (e.g. a tracking token)."""
    args = request.args.to_dict()
    args["lang"] = code
    return (base or request.path) + "?" + urlencode(args)


STATUS_OF: dict[str, int] = {
    BadRequest.kind: 400,
    Forbidden.kind: 403,
    NotFound.kind: 404,
    Conflict.kind: 409,
    Invalid.kind: 422,
}
"""The one place a refusal's kind becomes an HTTP status."""


def refusal_response(exc: Refusal):
    """The JSON answer to a use case's refusal (the app answers any a view lets through with it;
    a view that answers a page catches the refusal itself and shows its messages)."""
    return error_response(STATUS_OF[exc.kind], exc.errors, exc.message)


def error_response(status: int, errors: dict[str, list[str]], message: str | None = None):
    lang = i18n.current_language()
    body = {
        "code": status,
        "status": HTTP_STATUS_CODES.get(status, "Error"),
        "message": message or i18n.translate("errors.invalid_input", lang),
        "errors": errors,
    }
    response = jsonify(body)
    response.status_code = status
    return response


FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
NOT_OBJECT = "the body must be a JSON object or a form"


def read_body(*, files: bool = True, keep_blank: bool = False, strict: bool = False,
              not_object: str = NOT_OBJECT, not_object_message: str | None = None) -> dict:
    """The request's fields, the one way every service reads a body: a JSON object, or a form's
    fields (a desk or an outside form posts a form). A form's blank fields are left out, as if not
    sent (an empty date box is no date), unless ``keep_blank``. Refuses (``BadRequest``, a 400)
    a body that is not an object (with ``strict``, also a body neither JSON nor a form; without it
    such a body reads as an empty form), with ``not_object`` as the field message and
    ``not_object_message`` as the answer's message (None: ``error_response``'s translated default);
    and (``Invalid`` on ``documents``) a form carrying files when ``files`` is False. The files
    themselves: ``uploads()``. A body over the size cap raises werkzeug's RequestEntityTooLarge."""
    if request.is_json:
        data = request.get_json(silent=True)
        if isinstance(data, dict):
            return data
    elif request.mimetype in FORM_TYPES or not strict:
        if not files and request.files:
            raise Invalid(errors={"documents": ["This action takes no files."]})
        return {key: value for key, value in request.form.items() if keep_blank or value.strip() != ""}
    refused = BadRequest(errors={"_schema": [not_object]})
    refused.message = not_object_message  # None keeps error_response's own message
    raise refused


def uploads(*names: str) -> list:
    """The uploaded files (empty file inputs left out) of the named multipart fields, or of every field."""
    return [f for name in (names or request.files.keys()) for f in request.files.getlist(name) if f and f.filename]


def wants_json() -> bool:
    """JSON for API clients, HTML for browsers (by Accept, or by a JSON body)."""
    if request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"
