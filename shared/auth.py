"""Staff authentication shared by every service: password hashing, signed bearer tokens, and the
``staff_required`` guard that every staff endpoint uses. One piece of code, so every service
verifies tokens the same way."""
from __future__ import annotations

import functools
import hmac
import secrets
from dataclasses import dataclass

from flask import g, jsonify, redirect, request, session
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.security import check_password_hash, generate_password_hash

from shared.config import get_settings

_TOKEN_SALT = "sopdesk.staff-token.v1"

# a hash of a random password, so that a login with an unknown username costs the same time
_DUMMY_HASH = generate_password_hash("sopdesk-timing-equaliser")


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(password_hash, password)


# the system administrator: every organisation of the installation
SYSADMIN = "sysadmin"
# who sees every case of their own organisation (besides those who hold its steps and the heads
# of the unit serving it): its administrators, director and deputies, and its privacy officer
ORG_WIDE_ROLES = ("admin", "director", "deputy-director", "privacy-officer")


@dataclass(frozen=True)
class Staff:
    """A signed-in member of staff. ``org``: the organisation (the key of the pack it runs, e.g.
    ``up``) of their ``unit``; None only for a system administrator, who belongs to none."""

    user_id: str
    username: str
    roles: tuple[str, ...]
    org: str | None = None
    unit: str | None = None

    def has_any(self, roles) -> bool:
        return bool(set(roles) & set(self.roles))

    @property
    def sees_all(self) -> bool:
        """A system administrator: every organisation's data."""
        return SYSADMIN in self.roles

    def in_org(self, org: str | None) -> bool:
        """Of ``org`` (or a system administrator)."""
        return self.sees_all or (self.org is not None and self.org == org)

    def sees_org(self, org: str | None) -> bool:
        """Sees everything of ``org``: a system administrator, or one of its ``ORG_WIDE_ROLES``."""
        return self.sees_all or (self.in_org(org) and self.has_any(ORG_WIDE_ROLES))


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret_key, salt=_TOKEN_SALT)


def issue_token(staff: Staff) -> str:
    return _serializer().dumps({"sub": staff.user_id, "username": staff.username, "roles": list(staff.roles),
                                "org": staff.org, "unit": staff.unit})


def verify_token(token: str) -> Staff | None:
    settings = get_settings()
    try:
        data = _serializer().loads(token, max_age=settings.token_hours * 3600)
    except (SignatureExpired, BadSignature):
        return None
    try:
        org, unit = data.get("org"), data.get("unit")
        return Staff(user_id=str(data["sub"]), username=str(data["username"]), roles=tuple(data["roles"]),
                     org=str(org) if org else None, unit=str(unit) if unit else None)
    except (KeyError, TypeError, AttributeError):
        return None


# ---------------------------------------------------------------------------------------------
# grants: one service, having checked that a person may see something another service keeps (a
# case's file, which intake keeps and assignment's walls decide), hands them a signed, short-lived
# grant for it: named thing, named person; useless to anyone else, or after GRANT_SECONDS

_GRANT_SALT = "sopdesk.grant.v1"
GRANT_SECONDS = 3600


def grant(staff: Staff, what: str) -> str:
    return URLSafeTimedSerializer(get_settings().secret_key, salt=_GRANT_SALT).dumps([staff.user_id, what])


def granted(token: str | None, staff: Staff, what: str) -> bool:
    """``token`` grants ``what`` to ``staff`` (and has not expired)."""
    if not token:
        return False
    try:
        data = URLSafeTimedSerializer(get_settings().secret_key, salt=_GRANT_SALT).loads(token, max_age=GRANT_SECONDS)
    except (SignatureExpired, BadSignature, UnicodeError):
        return False
    return isinstance(data, list) and data == [staff.user_id, what]


def file_grant_subject(tracking_code: str, file_id: str) -> str:
    """What a grant to download a case's file names."""
    return f"file:{tracking_code}:{file_id}"


def current_staff() -> Staff | None:
    """The staff member behind this request: from its bearer token (the API), else from the
    desk's session cookie (the same signed token, kept in Flask's signed session), or None."""
    if "staff" in g:
        return g.staff
    header = request.headers.get("Authorization", "")
    staff = None
    g.staff_via_cookie = False
    if header[:7].lower() == "bearer ":
        staff = verify_token(header[7:].strip())
    elif session.get("staff_token"):
        staff = verify_token(session["staff_token"])
        g.staff_via_cookie = staff is not None
    g.staff = staff
    return staff


def log_in(staff: Staff) -> None:
    """Start a desk session (a fresh session, so a fixed session id can't be planted)."""
    session.clear()
    session["staff_token"] = issue_token(staff)
    session["csrf"] = secrets.token_urlsafe(32)
    g.staff = staff


def log_out() -> None:
    session.clear()
    g.staff = None


def csrf_token() -> str:
    """The session's CSRF token, for the desk's forms (and X-CSRF-Token from scripts)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def csrf_ok() -> bool:
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf") or ""
    # as bytes: compare_digest raises TypeError on a str that is not ASCII; that is only a wrong token
    return bool(expected) and hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), expected.encode())


def _deny(status: int, message: str):
    response = jsonify({"code": status, "status": "Unauthorized" if status == 401 else "Forbidden",
                        "message": message})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="sopdesk"'
    return response


# ---------------------------------------------------------------------------------------------
# who may reach a route: every route of every service says so (tests/test_access.py reads the
# URL maps and fails on a route that does not, then tries each one as each kind of caller)


@dataclass(frozen=True)
class Access:
    """Who may reach a route. ``kind``: ``public`` (anyone: forms, health, the API's description),
    ``requester`` (the holder of a case's tracking link, which the view checks: without it the case
    is not found), ``staff`` (signed in, holding one of ``roles``, any role when empty; ``admin``
    always). ``page``: a desk page, which sends a caller who is not signed in to the login page
    instead of answering 401. ``why``: for public and requester routes, what makes that right."""

    kind: str
    roles: tuple[str, ...] = ()
    page: bool = False
    why: str = ""


def declare(access: Access):
    """Record on a view who may reach it (the guard itself is the view's own or ``staff_required``)."""

    def decorate(view):
        view.__access__ = access
        return view

    return decorate


def public(why: str):
    return declare(Access("public", why=why))


def requester(why: str):
    return declare(Access("requester", why=why))


def access_of(view) -> Access | None:
    return getattr(view, "__access__", None)


LOGIN_PATH = "/assignment/login"  # the desk's login page (assignment keeps the staff directory)


def page_required(*roles: str, refused=None):
    """Guard a desk page of any service: someone not signed in is sent to the desk's login page
    (and back here after); without one of ``roles`` (any role when empty; ``admin`` and
    ``sysadmin`` always pass), ``refused(403)`` answers (a 403 by default); a post from a cookie
    session needs the desk's CSRF token. The view gets the staff member first."""

    def deny(status: int):
        if refused is not None:
            return refused(status)
        return _deny(status, "Your roles may not do this." if status == 403 else "Sign in first.")

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            staff = current_staff()
            if staff is None:
                from urllib.parse import quote

                return redirect(f"{LOGIN_PATH}?next={quote(request.full_path.rstrip('?'), safe='/')}")
            if roles and not staff.has_any(roles) and not staff.has_any(("admin", SYSADMIN)):
                return deny(403)
            if request.method == "POST" and g.get("staff_via_cookie") and not csrf_ok():
                return deny(403)
            return view(staff, *args, **kwargs)

        wrapper.__access__ = Access("staff", tuple(roles), page=True)
        return wrapper

    return decorate


def staff_required(*roles: str):
    """Guard a view: 401 without a valid token, 403 when ``roles`` are given and none is held."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            staff = current_staff()
            if staff is None:
                return _deny(401, "A valid staff bearer token is required.")
            # a cookie rides along with any request the browser makes: a change needs the token
            # only the desk's own pages hold
            if g.get("staff_via_cookie") and request.method not in ("GET", "HEAD", "OPTIONS") and not csrf_ok():
                return _deny(403, "The form has expired or did not come from sopdesk; reload it and try again.")
            if roles and not staff.has_any(roles) and not staff.has_any(("admin", SYSADMIN)):
                return _deny(403, "Your roles may not do this.")
            return view(*args, **kwargs)

        wrapper.__access__ = Access("staff", tuple(roles))
        return wrapper

    return decorate
