"""Tracking codes and the tokens in requesters' links.

A tracking code names a case in public (it is printed on pages and in email subjects). The token
that opens the requester's view is an HMAC of the code under the secret key: it is never stored,
any service can put it in a link, and intake checks it without a lookup, in constant time.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from shared.config import get_settings

# Crockford's base32 without I, L, O, U: easy to read out on the telephone
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_tracking_code() -> str:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    return f"SD-{body[:5]}-{body[5:]}"


def tracking_token(code: str) -> str:
    digest = hmac.new(get_settings().secret_key.encode(), f"track:{code}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")


def check_tracking_token(code: str, token: str | None) -> bool:
    """Whether ``token`` opens ``code``'s view. Compared as bytes: ``compare_digest`` refuses a str
    that is not ASCII with a TypeError, and any string a client sends is only a wrong token."""
    if not token:
        return False
    return hmac.compare_digest(tracking_token(code).encode(), token.encode("utf-8", "surrogatepass"))


def tracking_url(code: str) -> str:
    return f"{get_settings().public_url}/intake/track/{code}?token={tracking_token(code)}"


def survey_url(code: str, score: int | None = None) -> str:
    """The satisfaction survey of a closed case; with ``score``, the one-click link for that score."""
    url = f"{get_settings().public_url}/intake/track/{code}/survey?token={tracking_token(code)}"
    return f"{url}&score={score}" if score is not None else url


def step_file_path(code: str, file_id: str) -> str:
    """Where the requester downloads a file a step gave them (assignment keeps it), with their token."""
    return f"/assignment/track/{code}/files/{file_id}?token={tracking_token(code)}"


def step_file_url(code: str, file_id: str) -> str:
    """``step_file_path`` as a whole link, for an email."""
    return f"{get_settings().public_url}{step_file_path(code, file_id)}"
