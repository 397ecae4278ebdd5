"""Who is filing a request, and through which channel: the policy the form post, the JSON API
and a staff member's bearer token share.

* a staff bearer token files as ``staff``;
* a JSON body files as ``api`` (a desk login with its CSRF token counts as staff);
* sopdesk's own form, with its CSRF token, files as ``web`` (a desk login: staff at the desk);
* a form post from one of the allowed other sites (Origin, else Referer) files as ``external``;
* any other form post is refused: nothing says where it came from.

Staff (and only staff) may say when a paper or telephone request was received and through which
of those channels; at the desk's own form the channel must be said.
"""
from __future__ import annotations

from dataclasses import dataclass

STAFF_ONLY_FIELDS = ("received_at", "channel")


@dataclass(frozen=True)
class Filing:
    channel: str  # staff, api, web, external (until staff name paper or telephone)
    by_staff: bool  # a staff member files it, for someone else
    desk_form: bool  # through the desk's own form (a browser, logged in)


def filing(*, bearer: bool, as_json: bool, form_token: bool, origin_allowed: bool, staff: bool) -> Filing | None:
    """The filing a post makes, or None when it must be refused (403). ``staff``: the post
    carries a valid staff login (a bearer token, or the desk's cookie with its CSRF token)."""
    if bearer:
        return Filing("staff", by_staff=staff, desk_form=False)
    if as_json:
        return Filing("api", by_staff=staff, desk_form=False)
    if form_token:
        return Filing("web", by_staff=staff, desk_form=staff)
    if origin_allowed:
        return Filing("external", by_staff=False, desk_form=False)
    return None


def field_refusals(filing: Filing, data: dict) -> dict[str, str]:
    """The fields this filing may not carry, or must: field -> ``staff_only`` or ``required``."""
    given = {name for name in STAFF_ONLY_FIELDS if data.get(name) not in (None, "")}
    if not filing.by_staff:
        return {name: "staff_only" for name in STAFF_ONLY_FIELDS if name in given}
    if filing.desk_form and not str(data.get("channel") or "").strip():
        return {"channel": "required"}
    return {}


def channel_of(filing: Filing, said: str | None) -> str:
    """The channel stored: what staff said (paper, telephone), else the filing's own."""
    return (said or filing.channel) if filing.by_staff else filing.channel
