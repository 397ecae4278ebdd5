"""Intake's channel policy, without a database, a broker or Flask (services/intake/domain)."""
from __future__ import annotations

import pytest

from services.intake.domain.channels import Filing, channel_of, field_refusals, filing


@pytest.mark.parametrize("post, expected", [
    # a bearer token files as staff, whatever else the post carries
    (dict(bearer=True, as_json=True, form_token=True, origin_allowed=True, staff=True), Filing("staff", True, False)),
    # JSON: the API; a desk login with its token makes it staff, but never the desk's form
    (dict(bearer=False, as_json=True, form_token=False, origin_allowed=False, staff=False), Filing("api", False, False)),
    (dict(bearer=False, as_json=True, form_token=False, origin_allowed=False, staff=True), Filing("api", True, False)),
    # sopdesk's own form: the web; logged in at the desk, the desk's form
    (dict(bearer=False, as_json=False, form_token=True, origin_allowed=False, staff=False), Filing("web", False, False)),
    (dict(bearer=False, as_json=False, form_token=True, origin_allowed=False, staff=True), Filing("web", True, True)),
    # another site allowed to post: external, and never staff
    (dict(bearer=False, as_json=False, form_token=False, origin_allowed=True, staff=True),
     Filing("external", False, False)),
])
def test_each_kind_of_post_files_through_its_channel(post, expected):
    assert filing(**post) == expected


def test_a_form_post_from_nowhere_known_is_refused():
    assert filing(bearer=False, as_json=False, form_token=False, origin_allowed=False, staff=False) is None


def test_only_staff_say_when_and_how_a_request_came_and_the_desk_form_must_say_how():
    requester = Filing("web", by_staff=False, desk_form=False)
    assert field_refusals(requester, {"received_at": "2026-12-01T09:00", "channel": "paper"}) == {
        "received_at": "staff_only", "channel": "staff_only"}
    assert field_refusals(requester, {"received_at": "", "channel": None}) == {}
    desk = Filing("web", by_staff=True, desk_form=True)
    assert field_refusals(desk, {"channel": "  "}) == {"channel": "required"}
    assert field_refusals(desk, {"channel": "telephone", "received_at": "2026-12-01T09:00"}) == {}
    assert field_refusals(Filing("staff", by_staff=True, desk_form=False), {}) == {}  # the API may leave it out


def test_the_channel_stored_is_what_staff_said_else_the_posts_own():
    assert channel_of(Filing("staff", True, False), "paper") == "paper"
    assert channel_of(Filing("web", True, True), None) == "web"
    assert channel_of(Filing("api", False, False), "paper") == "api"  # a requester cannot choose
