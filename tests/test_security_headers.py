"""Every answer of every service carries the security headers (issue 13, item 6): a
Content-Security-Policy without inline script, frame-ancestors, nosniff, same-origin referrers,
and HSTS in production only; the session cookie's flags as they were."""
from __future__ import annotations

import re

import pytest
from werkzeug.test import Client

from shared.config import get_settings
from sopdesk.gateway import create_gateway

ONE_ROUTE = {
    "intake": "/intake/forms/sesao-sc/repair",
    "assignment": "/assignment/login",
    "notify": "/notify/openapi.json",
    "procurement": "/procurement/openapi.json",
}


def policy(response) -> dict[str, str]:
    return {part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2]
            for part in response.headers["Content-Security-Policy"].split(";") if part.strip()}


@pytest.mark.parametrize("service", sorted(ONE_ROUTE))
def test_every_service_answers_with_the_security_headers(client, service):
    response = client.get(ONE_ROUTE[service])
    assert response.status_code == 200
    csp = policy(response)
    assert csp["default-src"] == "'self'" and csp["object-src"] == "'none'" and csp["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"  # tests run as production


@pytest.mark.parametrize("path", ["/intake/no-such-page", "/procurement/vendors/99999999999999999999", "/notify/health"])
def test_errors_and_health_carry_them_too(client, path):
    response = client.get(path)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_forms_one_inline_script_runs_by_this_answers_nonce_only(client):
    first, second = (client.get(ONE_ROUTE["intake"]) for _ in range(2))
    nonces = []
    for response in (first, second):
        html = response.get_data(as_text=True)
        scripts = re.findall(r"<script( [^>]*)?>", html)
        assert len(scripts) == 1
        nonce = re.fullmatch(r' nonce="([^"]+)"', scripts[0]).group(1)
        assert policy(response)["script-src"] == f"'self' 'nonce-{nonce}'"
        assert not re.search(r"\son[a-z]+=", html)  # no inline handlers, which no nonce allows
        nonces.append(nonce)
    assert nonces[0] != nonces[1] and len(nonces[0]) >= 22


def test_a_page_without_script_allows_no_inline_script_at_all(client):
    assert policy(client.get(ONE_ROUTE["assignment"]))["script-src"] == "'self'"


def test_no_hsts_on_the_embedded_default(clean):
    embedded = Client(create_gateway(get_settings().with_changes(env="embedded")))
    for path in ONE_ROUTE.values():
        response = embedded.get(path)
        assert "Strict-Transport-Security" not in response.headers
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_the_session_cookie_keeps_its_flags(client, staff_token):
    from services.assignment.handlers.directory import add_user

    add_user("cookie-check", "correct horse battery", ["officer"], unit="ict")  # staff_token made sesao-sc's ict
    page = client.get("/assignment/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    form = {"username": "cookie-check", "password": "correct horse battery"}
    if token:
        form["csrf_token"] = token.group(1)
    response = client.post("/assignment/login", data=form)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("sopdesk_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert ("Secure" in cookie) == get_settings().public_url.startswith("https://")
