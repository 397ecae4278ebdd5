"""The security headers every answer of every service carries, set in one place.

* A Content-Security-Policy: scripts only from the service itself, or inline with this answer's
  nonce (a page that has a script asks ``csp_nonce()`` for its ``<script nonce=...>``; no
  ``onclick=`` and the like, which no nonce allows); styles from the page itself as well
  (``'unsafe-inline'`` for ``style-src`` only: the pages use ``style`` attributes and the base
  page a ``<style>`` block, neither of which can run a script); nothing may frame a page
  (``frame-ancestors 'none'``, against clickjacking); no plugins; no ``<base>`` that moves
  relative links elsewhere. The inline SVG flowcharts and timelines hold no script or style.
* ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin`` (a tracking link's
  token is in its address: it never goes to another site).
* ``Strict-Transport-Security`` in production only (the embedded default is plain HTTP on a
  desk's own machine).

A view that sets its own policy keeps it (a served file's ``default-src 'none'; sandbox`` is
stricter); it still gets ``frame-ancestors`` when it says nothing about framing.
"""
from __future__ import annotations

import secrets

from flask import Flask, g

HSTS = "max-age=31536000; includeSubDomains"
POLICY = ("default-src 'self'; script-src 'self'{nonce}; style-src 'self' 'unsafe-inline'; "
          "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


def csp_nonce() -> str:
    """This answer's nonce for an inline ``<script>``, made when a page first asks for it."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def content_security_policy(nonce: str | None) -> str:
    return POLICY.format(nonce=f" 'nonce-{nonce}'" if nonce else "")


def secure(response, *, production: bool, nonce: str | None):
    headers = response.headers
    policy = headers.get("Content-Security-Policy")
    if policy is None:
        headers["Content-Security-Policy"] = content_security_policy(nonce)
    elif "frame-ancestors" not in policy:
        headers["Content-Security-Policy"] = policy.rstrip("; ") + "; frame-ancestors 'none'"
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if production:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def install(app: Flask, *, production: bool) -> None:
    """Every answer of ``app`` gets the headers; its templates get ``csp_nonce()``."""

    @app.context_processor
    def nonce_helper():
        return {"csp_nonce": csp_nonce}

    @app.after_request
    def security_headers(response):
        return secure(response, production=production, nonce=g.get("csp_nonce"))
