"""A few lines of urllib so the tests speak HTTP without another dependency."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass


@dataclass
class Answer:
    status: int
    headers: dict
    text: str

    def json(self):
        return json.loads(self.text)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def request(method: str, url: str, data: bytes | None = None, headers: dict | None = None,
            timeout: float = 15) -> Answer:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with _opener.open(req, timeout=timeout) as response:
            return Answer(response.status, dict(response.headers), response.read().decode())
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers), error.read().decode())


def get(url: str, headers: dict | None = None) -> Answer:
    return request("GET", url, headers=headers)


def post_json(url: str, body, headers: dict | None = None) -> Answer:
    return request("POST", url, json.dumps(body).encode(),
                   {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})})


def post_form(url: str, fields: dict, headers: dict | None = None) -> Answer:
    from urllib.parse import urlencode

    return request("POST", url, urlencode(fields).encode(),
                   {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html", **(headers or {})})
