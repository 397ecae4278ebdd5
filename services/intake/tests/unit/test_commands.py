"""A request's loaded form becomes the command to file it, without a database
(services/intake/handlers/commands.py, from what ``schemas.request_schema`` loads)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from services.intake.handlers.commands import FileRequest, from_form
from services.intake.schemas import request_schema

REPAIR = {
    "sop": "sesao-sc/repair", "requester_name": "ครูสมชาย รักเรียน", "requester_email": "somchai@school.example",
    "requester_unit": "โรงเรียนบ้านนา", "subject": "เครื่องพิมพ์กระดาษติด", "details": "พิมพ์ไม่ออก",
    "consent": True, "asset_tag": "7440-005-0007", "location": "ห้องธุรการ", "since": "2026-11-19",
}


def loaded(body: dict, staff: bool = False) -> dict:
    return request_schema(body["sop"], "th", staff).load(body)


def test_a_request_is_filed_with_who_asks_what_about_and_the_sops_own_fields():
    command = from_form(loaded(REPAIR), channel="web", language="th")
    assert command == FileRequest(
        sop="sesao-sc/repair", requester_name="ครูสมชาย รักเรียน", requester_email="somchai@school.example",
        requester_unit="โรงเรียนบ้านนา", subject="เครื่องพิมพ์กระดาษติด", details="พิมพ์ไม่ออก", language="th",
        channel="web", fields={"asset_tag": "7440-005-0007", "location": "ห้องธุรการ", "since": date(2026, 11, 19)})


def test_what_the_form_does_not_ask_is_left_out_and_an_optional_field_left_empty_is_absent():
    body = {**REPAIR, "since": "", "photos": "not a file", "csrf_token": "x", "priority": "urgent"}
    command = from_form(loaded(body), channel="web", language="th")
    assert command.fields == {"asset_tag": "7440-005-0007", "location": "ห้องธุรการ"}
    assert command.requester_phone is None and command.received_at is None and command.filed_by is None


def test_the_emails_are_in_the_language_asked_for_else_the_pages():
    assert from_form(loaded({**REPAIR, "language": "en"}), channel="web", language="th").language == "en"
    assert from_form(loaded(REPAIR), channel="api", language="en").language == "en"
    assert from_form(loaded(REPAIR), channel="api", language="th").language == "th"


def test_the_channel_is_the_one_the_view_decided_not_the_one_the_body_says():
    """``channel`` in the body is what staff said; the policy (domain/channels.py) decides what is
    stored and the view hands it over."""
    body = {**REPAIR, "channel": "paper", "received_at": "2026-11-19T09:30:00+07:00"}
    command = from_form(loaded(body, staff=True), channel="telephone", language="th", filed_by="u-officer")
    assert command.channel == "telephone" and command.filed_by == "u-officer"
    assert command.received_at == datetime(2026, 11, 19, 9, 30, tzinfo=timezone(timedelta(hours=7)))


def test_the_command_cannot_be_changed_once_made():
    command = from_form(loaded(REPAIR), channel="web", language="th")
    with pytest.raises(AttributeError):
        command.subject = "อื่น"  # type: ignore[misc]
