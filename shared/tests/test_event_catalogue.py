"""The event catalogue without a database: the rules a payload is held to, the compiled check
against marshmallow's own answer, the catalogue against the subscriptions and the code that
publishes, and the committed Markdown against its generator."""
from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from shared.event_catalogue import (CATALOGUE, UNKNOWN_TYPE, EventPayloadError, check_payload, marshmallow_errors,
                                    payload_errors, render_markdown)
from shared.routing import SUBSCRIPTIONS

ROOT = Path(__file__).resolve().parents[2]
MISSING, NULL, UNKNOWN = "Missing data for required field.", "Field may not be null.", "Unknown field."

# as intake's submit_request writes it
REQUEST = {
    "tracking_code": "SD-7K2PQ-M4X9A", "sop": "sesao-sc/repair", "pack_version": 3, "subject": "จอดับ",
    "details": "เปิดไม่ติด", "fields": {"asset_tag": "7440-001-0001", "since": "2026-11-18"},
    "requester": {"name": "ครูสมศรี", "email": "somsri@example.org", "phone": None, "unit": "โรงเรียนบ้านนา"},
    "language": "th", "channel": "web", "filed_by": None, "received_at": "2026-11-20T03:00:00+00:00",
    "privacy_notice_version": "n1-0123456789ab",
    "attachments": [{"id": "5f0c", "field": "photos", "name": "จอ.png", "content_type": "image/png", "size": 2048}],
}

CONTACT = {"username": "wipa", "name": "Wipa", "email": None, "language": "th"}
STEP = {"key": "diagnose", "title": {"th": "ตรวจอาการ", "en": "Diagnose"}, "role": "officer", "roles": ["officer"],
        "round": 1, "assignee": "wipa", "started_at": "2026-11-20T03:00:01+00:00",
        "due_at": "2026-11-21T09:30:00+00:00", "expected_at": None, "completed_at": None, "outcome": None,
        "waiting_on": None, "notify_requester": False, "late": None, "needs_approval": False,
        "assignee_contact": CONTACT}
CASE = {"tracking_code": "SD-7K2PQ-M4X9A", "sop": "sesao-sc/repair", "pack_version": 3, "seq": 4,
        "case_status": "open", "current_step": "diagnose", "due_at": None}
# as assignment's engine writes them
STEP_STARTED = {**CASE, "step": STEP, "subject": "จอดับ"}
SLA_BREACHED = {**CASE, "deadline": "case", "missed_due_at": "2026-11-27T09:30:00+00:00", "subject": "จอดับ",
                "step": None, "heads": ["boss"], "head_contacts": [dict(CONTACT, username="boss")]}
SURVEY = {"tracking_code": "SD-7K2PQ-M4X9A", "sop": "sesao-sc/repair", "score": 5, "comment": None,
          "answered_at": "2026-12-01T02:00:00+00:00", "requester_unit": "โรงเรียนบ้านนา"}
MILESTONE = {"id": 7, "seq": 1, "title": "งวดที่ 1", "deliverables": "แผนงาน", "due_on": "2027-01-15",
             "amount": "50000.00", "state": "pending", "round": 1, "delivered_on": None, "days_late": 0,
             "fine_amount": "0.00", "accepted_on": None, "paid_on": None, "paid_amount": None}
# as procurement's contracts.add_milestone writes it
MILESTONE_ADDED = {
    "contract": {"id": 3, "number": "12/2570", "amount": "150000.00", "vendor_id": 2, "vendor_name": "บริษัท ก",
                 "status": "active"},
    "project": {"id": 5, "title": "ระบบสารบรรณ", "tracking_code": None, "stage": "contract"},
    "milestone": dict(MILESTONE), "milestones": [dict(MILESTONE), dict(MILESTONE, id=8, seq=2)], "added_by": "officer1"}


def _without(payload: dict, *path):
    changed = copy.deepcopy(payload)
    *parents, last = path
    target = changed
    for key in parents:
        target = target[key]
    del target[last]
    return changed


def _with(payload: dict, *path_and_value):
    *path, value = path_and_value
    changed = copy.deepcopy(payload)
    *parents, last = path
    target = changed
    for key in parents:
        target = target[key]
    target[last] = value
    return changed


# --- the rules ----------------------------------------------------------------------------------

def test_a_payload_as_its_producer_writes_it_passes():
    for event_type, payload in (("request.submitted", REQUEST), ("case.step_started", STEP_STARTED),
                                ("sla.breached", SLA_BREACHED), ("survey.answered", SURVEY),
                                ("procurement.milestone_added", MILESTONE_ADDED)):
        assert payload_errors(event_type, 1, payload) == {}, event_type
        check_payload(event_type, 1, payload)  # does not raise


def test_a_missing_required_field_fails_at_any_depth():
    assert payload_errors("request.submitted", 1, _without(REQUEST, "subject")) == {"subject": [MISSING]}
    assert payload_errors("request.submitted", 1, _without(REQUEST, "requester", "unit")) == {
        "requester": {"unit": [MISSING]}}
    assert payload_errors("case.step_started", 1, _without(STEP_STARTED, "step", "assignee_contact", "email")) == {
        "step": {"assignee_contact": {"email": [MISSING]}}}


def test_a_field_that_may_be_null_must_still_be_there():
    assert payload_errors("request.submitted", 1, _with(REQUEST, "filed_by", "staff1")) == {}
    assert payload_errors("request.submitted", 1, _without(REQUEST, "filed_by")) == {"filed_by": [MISSING]}


def test_a_null_where_the_producer_never_writes_one_fails():
    assert payload_errors("request.submitted", 1, _with(REQUEST, "subject", None)) == {"subject": [NULL]}
    assert payload_errors("request.submitted", 1, _with(REQUEST, "attachments", [None])) == {
        "attachments": {0: [NULL]}}


def test_a_wrong_type_fails():
    assert payload_errors("request.submitted", 1, _with(REQUEST, "pack_version", "3")) == {
        "pack_version": ["Not a valid integer."]}
    assert payload_errors("request.submitted", 1, _with(REQUEST, "pack_version", True)) == {
        "pack_version": ["Not a valid integer."]}  # a boolean is not a number here
    assert "received_at" in payload_errors("request.submitted", 1, _with(REQUEST, "received_at", "2026-11-20T03:00:00"))
    assert "received_at" in payload_errors("request.submitted", 1, _with(REQUEST, "received_at", "yesterday"))
    assert "requester" in payload_errors("request.submitted", 1, _with(REQUEST, "requester", "ครูสมศรี"))
    assert "attachments" in payload_errors("request.submitted", 1, _with(REQUEST, "attachments", {}))
    assert "fields" in payload_errors("request.submitted", 1, _with(REQUEST, "fields", ["asset_tag"]))
    assert "step" in payload_errors("case.step_started", 1, _with(STEP_STARTED, "step", "title", {"de": "x"}))
    assert payload_errors("procurement.milestone_added", 1, _with(MILESTONE_ADDED, "milestone", "amount", 50000)) == {
        "milestone": {"amount": ["Not a valid amount (text with two decimals)."]}}
    assert "milestone" in payload_errors("procurement.milestone_added", 1,
                                         _with(MILESTONE_ADDED, "milestone", "due_on", "15/01/2570"))


def test_a_value_outside_what_its_field_allows_fails():
    assert "score" in payload_errors("survey.answered", 1, _with(SURVEY, "score", 6))
    assert "deadline" in payload_errors("sla.breached", 1, _with(SLA_BREACHED, "deadline", "week"))


def test_an_undeclared_field_fails_at_any_depth():
    assert payload_errors("request.submitted", 1, _with(REQUEST, "priority", "high")) == {"priority": [UNKNOWN]}
    assert payload_errors("request.submitted", 1, _with(REQUEST, "requester", "line_id", "somsri")) == {
        "requester": {"line_id": [UNKNOWN]}}
    assert payload_errors("procurement.milestone_added", 1,
                          _with(MILESTONE_ADDED, "milestones", 1, "note", "x")) == {"milestones": {1: {"note": [UNKNOWN]}}}


def test_an_unknown_type_or_version_is_refused():
    assert payload_errors("request.withdrawn", 1, {}) == {"_schema": [UNKNOWN_TYPE]}
    assert payload_errors("request.submitted", 2, REQUEST) == {"_schema": [UNKNOWN_TYPE]}
    with pytest.raises(EventPayloadError) as raised:
        check_payload("request.submitted", 2, REQUEST)
    assert raised.value.messages == {"type": "request.submitted", "version": 2, "payload": {"_schema": [UNKNOWN_TYPE]}}


def test_a_payload_that_is_not_an_object_fails():
    assert payload_errors("request.submitted", 1, [REQUEST]) == {"_schema": ["Invalid input type."]}
    assert payload_errors("request.submitted", 1, None) == {"_schema": ["Invalid input type."]}


# --- the compiled check is marshmallow's answer, faster ------------------------------------------

BAD = [
    ("request.submitted", REQUEST),
    ("request.submitted", _without(REQUEST, "subject")),
    ("request.submitted", _with(REQUEST, "subject", None)),
    ("request.submitted", _with(REQUEST, "pack_version", "3")),
    ("request.submitted", _with(REQUEST, "pack_version", True)),
    ("request.submitted", _with(REQUEST, "pack_version", 3.0)),
    ("request.submitted", _with(REQUEST, "received_at", "2026-11-20T03:00:00")),
    ("request.submitted", _with(REQUEST, "requester", "ครูสมศรี")),
    ("request.submitted", _with(REQUEST, "requester", {"name": 1, "extra": None})),
    ("request.submitted", _with(REQUEST, "attachments", "none")),
    ("request.submitted", _with(REQUEST, "attachments", [None, 3, {"id": "x"}])),
    ("request.submitted", _with(REQUEST, "fields", {"a": object()})),
    ("request.submitted", _with(REQUEST, "fields", ["asset_tag"])),
    ("request.submitted", {**REQUEST, "priority": "high", "source": None}),
    ("request.submitted", {}),
    ("request.submitted", []),
    ("request.submitted", "text"),
    ("case.step_started", STEP_STARTED),
    ("case.step_started", _with(STEP_STARTED, "step", "roles", ["officer", None, 7])),
    ("case.step_started", _with(STEP_STARTED, "step", "late", "no")),
    ("case.step_started", _with(STEP_STARTED, "step", "assignee_contact", None)),
    ("case.step_started", _with(STEP_STARTED, "step", "assignee_contact", [])),
    ("case.step_started", _with(STEP_STARTED, "step", "title", {"th": 1})),
    ("sla.breached", SLA_BREACHED),
    ("sla.breached", _with(SLA_BREACHED, "deadline", "week")),
    ("sla.breached", _with(SLA_BREACHED, "deadline", 1)),
    ("sla.breached", _with(SLA_BREACHED, "head_contacts", [{}])),
    ("survey.answered", _with(SURVEY, "score", 0)),
    ("survey.answered", _with(SURVEY, "score", "5")),
    ("calendar.changed", {"day": "2026-12-31", "kind": "holiday", "name": "วันสิ้นปี"}),
    ("calendar.changed", {"day": "2026-02-30", "kind": "off", "name": ""}),
    ("procurement.milestone_added", MILESTONE_ADDED),
    ("procurement.milestone_added", _with(MILESTONE_ADDED, "milestones", [MILESTONE, {"id": "8"}])),
    ("procurement.milestone_added", _with(MILESTONE_ADDED, "project", "tracking_code", 5)),
]


@pytest.mark.parametrize("event_type,payload", BAD)
def test_the_compiled_check_gives_marshmallows_own_errors(event_type, payload):
    assert payload_errors(event_type, 1, payload) == marshmallow_errors(event_type, 1, payload)


def test_every_catalogued_schema_compiles_to_a_check_that_agrees_on_an_empty_and_a_foreign_payload():
    for (event_type, version) in CATALOGUE:
        for payload in ({}, {"unexpected": 1}, 7):
            assert payload_errors(event_type, version, payload) == marshmallow_errors(event_type, version, payload)


# --- the catalogue against the code -------------------------------------------------------------

def test_every_subscribed_event_type_is_in_the_catalogue():
    subscribed = set().union(*SUBSCRIPTIONS.values())
    catalogued = {event_type for event_type, _ in CATALOGUE}
    assert subscribed - catalogued == set()


def _product_sources(folder: Path) -> dict[Path, str]:
    return {path: path.read_text(encoding="utf-8") for path in folder.rglob("*.py")
            if "tests" not in path.relative_to(ROOT).parts and "migrations" not in path.relative_to(ROOT).parts}


def test_every_catalogued_event_type_is_written_in_the_code_of_the_service_named_as_its_producer():
    sources = _product_sources(ROOT / "services")
    assert sources, "services/ has no Python files"
    for spec in CATALOGUE.values():
        literal = re.compile(rf"""["']{re.escape(spec.type)}["']""")
        where = {path.relative_to(ROOT / "services").parts[0] for path, text in sources.items() if literal.search(text)}
        assert spec.producer in where, f"{spec.type}: not written in services/{spec.producer} (found in {sorted(where)})"


def test_every_entry_names_a_service_and_says_what_happened():
    for (event_type, version), spec in CATALOGUE.items():
        assert (spec.type, spec.version) == (event_type, version)
        assert spec.producer in SUBSCRIPTIONS, spec
        assert spec.description and "\n" not in spec.description, spec


# --- the rendered catalogue ---------------------------------------------------------------------

def test_docs_events_md_is_what_the_generator_prints_now():
    committed = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    assert committed == render_markdown(), "docs/events.md is stale: run `sopdesk events catalogue --out docs/events.md`"


def test_the_cli_prints_the_catalogue(capsys):
    from sopdesk.cli import main

    assert main(["events", "catalogue"]) == 0
    assert capsys.readouterr().out == render_markdown()


def test_the_rendered_catalogue_lists_every_event_its_producer_consumers_and_fields():
    text = render_markdown()
    for spec in CATALOGUE.values():
        section = text.split(f"\n## {spec.type} v{spec.version}\n", 1)[1].split("\n## ", 1)[0]
        assert f"- Producer: {spec.producer}" in section
        assert f"- Consumers: {', '.join(spec.consumers) or '(none)'}" in section
        for name, field in spec.schema().fields.items():
            assert f"| `{field.data_key or name}` |" in section, (spec.type, name)
    assert "| `requester.phone` | text | yes | yes |" in text
    assert "| `attachments[].size` | integer | yes | no |" in text


def test_checks_are_on_unless_the_setting_says_off():
    """The switch is read once, at import (in a fresh interpreter here, so that this process's
    module and its classes stay as they are): on without the setting, off only when it says so
    (a misspelt value leaves them on)."""
    import os
    import subprocess
    import sys

    def enforced(value):
        env = {k: v for k, v in os.environ.items() if k != "SOPDESK_EVENT_CHECKS"}
        if value is not None:
            env["SOPDESK_EVENT_CHECKS"] = value
        done = subprocess.run([sys.executable, "-c", "import shared.event_catalogue as c; print(c.ENFORCED)"],
                              env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert [enforced(v) for v in (None, "enforce", "ENFORCE", "off", " Off ", "of")] == [
        "True", "True", "True", "False", "False", "True"]


def test_this_test_run_checks_every_event():
    """No fixture or plugin turns the checks off for the suite: what the tests publish and consume
    is held to the catalogue, as in production."""
    from shared import event_catalogue

    assert event_catalogue.ENFORCED is True


# --- a test's own event types, and the payloads tests build -------------------------------------

def test_an_event_type_registered_for_a_test_is_checked_until_it_is_removed():
    from shared import event_catalogue
    from shared.event_catalogue import Payload, register, unregister

    class Probe(Payload):
        n = event_catalogue._f(event_catalogue.Whole)

    register("test.probe", 1, "intake", Probe, "A probe.")
    try:
        assert payload_errors("test.probe", 1, {"n": 1}) == {}
        assert payload_errors("test.probe", 1, {"n": "1", "m": 2}) == {"n": ["Not a valid integer."],
                                                                       "m": [UNKNOWN]}
        with pytest.raises(ValueError):
            register("test.probe", 1, "intake", Probe, "Again.")
    finally:
        unregister("test.probe", 1)
    assert payload_errors("test.probe", 1, {"n": 1}) == {"_schema": [UNKNOWN_TYPE]}
    with pytest.raises(ValueError):
        register("request.submitted", 1, "intake", Probe, "Not over a product's event.")
    with pytest.raises(LookupError):
        unregister("request.submitted", 1)
    assert ("request.submitted", 1) in CATALOGUE


def test_the_tests_payload_builders_write_what_the_catalogue_declares():
    """``sopdesk.testing_events`` stands in for the producers in tests: each builder, with its
    defaults and with the nullable parts filled, passes the check of the type it builds."""
    from sopdesk import testing_events as t

    contact = t.staff_contact("wipa")
    built = {
        "request.submitted": [t.request_submitted(), t.request_submitted(
            "SD-1", filed_by="staff1", requester_phone="081", attachments=[t.attachment()])],
        "request.answered": [t.request_answered("SD-1", attachments=[t.attachment(field="files")])],
        "survey.answered": [t.survey_answered("SD-1"), t.survey_answered("SD-1", comment="ดี")],
        "case.opened": [t.case_opened("SD-1")],
        "case.step_started": [t.step_started("SD-1"), t.step_started(
            "SD-1", step=t.case_step(assignee="wipa", assignee_contact=contact, late=True))],
        "case.step_waiting": [t.step_waiting("SD-1", fields={"asset_tag": "A-1"})],
        "case.step_resumed": [t.step_resumed("SD-1")],
        "case.step_completed": [t.step_completed("SD-1"), t.step_completed("SD-1", next_step=None, note="x")],
        "case.step_returned": [t.step_returned("SD-1")],
        "case.step_rejected": [t.step_rejected("SD-1")],
        "case.assigned": [t.case_assigned("SD-1", previous_assignee="somchai")],
        "case.closed": [t.case_closed("SD-1")],
        "sla.breached": [t.sla_breached("SD-1", heads=["boss"]), t.sla_breached(
            "SD-1", deadline="step", step=t.breached_step(assignee="wipa", assignee_contact=contact))],
        "staff.daily_summary": [t.daily_summary("wipa", items=[t.summary_item("SD-1")])],
        "calendar.changed": [t.calendar_changed("2026-12-31", "holiday", "วันสิ้นปี")],
        "procurement.asset_checked": [t.asset_checked("SD-1"), t.asset_checked("SD-1", asset=t.asset_info(
            acquired_on="2023-01-05", vendor={"id": 1, "name": "ร้าน", "tax_id": "0105", "contacts": []}))],
        "procurement.delivered": [t.delivered("SD-1")],
        "procurement.contract_completed": [t.contract_completed("SD-1")],
    }
    assert set(built) <= set(t.PAYLOADS)
    for event_type, payloads in built.items():
        for payload in payloads:
            assert payload_errors(event_type, 1, payload) == {}, (event_type, payload)
            assert t.envelope(event_type, payload)["source"] == CATALOGUE[(event_type, 1)].producer
