"""Signing in, as the desk and the API answer it: the login page (with a button for the
organisation's OpenID provider when one is configured), the provider's round trip
(``/assignment/login/oidc`` starts it, ``/assignment/login/oidc/callback`` finishes it), and the
words and HTTP status of each refusal of ``handlers/signin.py``, the same for the page and the API."""
from __future__ import annotations

import logging
import math
import time
from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, render_template, request, session, url_for

from services.assignment.adapters.oidc import Pending, state_matches
from services.assignment.handlers import signin
from shared import i18n
from shared.auth import log_in, public
from shared.config import get_settings

signin_pages = Blueprint("signin", __name__, url_prefix="/assignment")
log = logging.getLogger(__name__)

PENDING_SECONDS = 600  # a sign-in at the provider must come back within this

STATUS = {"wrong": 401, "throttled": 429, "unavailable": 503, "provider": 401}  # the others: 403


def status_of(refusal: signin.SignInRefused) -> int:
    return STATUS.get(refusal.reason, 403)


def message_of(refusal: signin.SignInRefused, lang: str) -> str:
    reason = refusal.reason
    if reason == "wrong":
        return i18n.translate("errors.login", lang)
    if reason == "throttled":
        return i18n.translate("signin.throttled", lang, minutes=max(1, math.ceil(refusal.retry_after / 60)))
    if reason == "disabled":
        return i18n.translate("signin.disabled", lang)
    if reason == "no-role":
        return i18n.translate("signin.no_role", lang)
    if reason == "no-unit":
        return i18n.translate("signin.no_unit", lang)
    if reason == "inactive":
        return i18n.translate("signin.inactive", lang)
    if reason == "account":
        return i18n.translate("signin.account", lang)
    if reason == "unavailable":
        return i18n.translate("signin.unavailable", lang)
    return i18n.translate("signin.provider", lang)


def headers_of(refusal: signin.SignInRefused) -> dict:
    return {"Retry-After": str(refusal.retry_after)} if refusal.reason == "throttled" else {}


def client_address() -> str:
    """The caller's address (the proxy's X-Forwarded-For already applied by the app's ProxyFix)."""
    return request.remote_addr or "unknown"


def login_page(errors: dict, username: str = "", status: int = 200, headers: dict | None = None):
    settings = get_settings()
    body = render_template("assignment/login.html", errors=errors, username=username,
                           oidc_name=settings.oidc_name if signin.oidc_enabled(settings) else None)
    return body, status, headers or {}


def refused_page(refusal: signin.SignInRefused, username: str = ""):
    message = message_of(refusal, i18n.current_language())
    errors = {"password": [message]} if refusal.reason == "wrong" else {"_schema": [message]}
    return login_page(errors, username, status_of(refusal), headers_of(refusal))


def _redirect_uri() -> str:
    return get_settings().public_url + url_for("signin.oidc_callback")


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a path on this site (no open redirect), else my work."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc \
            and "\\" not in target:
        return target
    return url_for("desk.work")


@signin_pages.route("/login/oidc")
@public("starts signing in with the organisation's OpenID provider (a redirect to it)")
def oidc_login():
    if not signin.oidc_enabled():
        abort(404)
    try:
        url, pending = signin.oidc_begin(_redirect_uri())
    except signin.SignInRefused as refusal:
        return refused_page(refusal)
    session["oidc"] = {**pending.as_dict(), "next": safe_next(request.args.get("next")), "at": int(time.time())}
    return redirect(url, 303)


@signin_pages.route("/login/oidc/callback")
@public("the OpenID provider sends the person back here; nothing happens without the state this browser's session began")
def oidc_callback():
    if not signin.oidc_enabled():
        abort(404)
    kept = session.pop("oidc", None) or {}
    pending = Pending.from_dict(kept)
    fresh = isinstance(kept.get("at"), int) and time.time() - kept["at"] < PENDING_SECONDS
    if not fresh or not state_matches(pending, request.args.get("state")):
        return login_page({"_schema": [i18n.translate("signin.expired", i18n.current_language())]}, status=400)
    if request.args.get("error") or not request.args.get("code"):
        # the provider's own refusal (the person cancelled, or is disabled there)
        error = request.args.get("error", "no code")
        refusal = signin.SignInRefused("provider", f"{error}: {request.args.get('error_description', '')}"[:300])
        log.warning("sign-in through %s refused by the provider: %s", get_settings().oidc_issuer, refusal.detail)
        return refused_page(refusal)
    try:
        staff = signin.oidc_finish(request.args["code"], pending, _redirect_uri())
    except signin.SignInRefused as refusal:
        return refused_page(refusal)
    log_in(staff)
    return redirect(kept.get("next") or url_for("desk.work"))
