"""The event catalogue's checks where events cross the bus, on real PostgreSQL and Redis: a payload
that does not match raises in its producer's unit of work (nothing commits), one that arrives not
matching is a dead letter, and every event that real flows publish matches its schema."""
from __future__ import annotations

import importlib
import json

import pytest
from sqlalchemy import func, select

from services.assignment.adapters.bus import bus as assignment_bus
from services.assignment.adapters.models import Case
from services.intake.adapters.bus import bus as intake_bus
from shared import event_catalogue
from shared.celery_app import celery
from shared.config import SERVICES
from shared.event_catalogue import EventPayloadError, marshmallow_errors, payload_errors
from shared.events import Event
from shared.messaging import flush_relays
from shared.tracking import tracking_token
from sopdesk import testing_events as payloads
from sopdesk.testing import drain
from tests.test_email_flow import _act, _file, _tokens


def _request(code: str, **changes) -> dict:
    """A ``request.submitted`` payload as intake writes it, with ``changes`` made over it."""
    return {**payloads.request_submitted(code), **changes}


def _outbox_count(bus) -> int:
    with bus.session() as session:
        return session.scalar(select(func.count()).select_from(bus.Outbox))


def test_a_payload_that_does_not_match_raises_in_the_producer_and_nothing_commits(clean):
    with pytest.raises(EventPayloadError) as raised:
        with intake_bus.unit_of_work() as uow:
            uow.emit("request.submitted", _request("SD-C1"), correlation_id="SD-C1")  # fine
            uow.emit("request.submitted", _request("SD-C2", priority="high"), correlation_id="SD-C2")
            uow.commit()
    assert raised.value.messages["payload"] == {"priority": ["Unknown field."]}
    assert _outbox_count(intake_bus) == 0  # not even the good one: the unit of work rolled back


def test_an_event_type_or_version_not_in_the_catalogue_is_refused_at_publish(clean):
    for event_type, version in (("request.withdrawn", 1), ("request.submitted", 2)):
        with pytest.raises(EventPayloadError):
            with intake_bus.unit_of_work() as uow:
                uow.emit(event_type, _request("SD-C3"), correlation_id="SD-C3", version=version)
                uow.commit()
    assert _outbox_count(intake_bus) == 0


def test_with_checks_off_the_bus_carries_what_it_is_given(clean, monkeypatch):
    monkeypatch.setattr(event_catalogue, "ENFORCED", False)
    with intake_bus.unit_of_work() as uow:
        uow.emit("request.submitted", _request("SD-C4", priority="high"), correlation_id="SD-C4")
        uow.commit()
    flush_relays()
    assert _outbox_count(intake_bus) == 1


def test_a_consumed_payload_that_does_not_match_is_a_dead_letter_and_its_handler_never_runs(clean):
    """As a malformed envelope: dead-lettered at once (no retry mends it), confirmed to its
    producer, while the good event of the same batch opens its case."""
    celery.loader.import_default_modules()
    good = Event(type="request.submitted", source="intake", correlation_id="SD-C5",
                 payload=_request("SD-C5")).to_envelope()
    bad = Event(type="request.submitted", source="intake", correlation_id="SD-C6",
                payload=_request("SD-C6", pack_version="3")).to_envelope()
    celery.tasks["assignment.handle_events"].apply(args=[[good, bad]])
    with assignment_bus.session() as session:
        assert set(session.scalars(select(Case.tracking_code))) == {"SD-C5"}
        assert session.scalar(select(func.count()).select_from(assignment_bus.Inbox)) == 1
    [letter] = assignment_bus.dead_letters()
    assert letter.event_id == bad["id"] and letter.attempts == 1
    assert "event catalogue" in letter.error and "pack_version" in letter.error


def test_every_event_real_flows_publish_matches_its_schema(client):
    """A repair filed, worked through its steps (a wait on the vendor included) and closed, then
    rated; an account request returned for correction and answered: every outbox row of every
    service is checked again here, by the compiled check and by marshmallow."""
    tokens = _tokens("th")
    repair = _file(client, tokens, "sesao-sc/repair", "th")
    for step, outcome in (("receive-form", "done"), ("check-report", "done"), ("diagnose", "warranty"),
                          ("vendor-claim", "done"), ("verify", "pass"), ("handover", "done")):
        _act(client, tokens, repair, "wipa", step, outcome)
    survey = client.post(f"/intake/track/{repair}/survey?token={tracking_token(repair)}",
                         data=json.dumps({"score": 5, "comment": "รวดเร็ว"}), headers={"Content-Type": "application/json"})
    assert survey.status_code in (200, 201), survey.get_json()
    account = _file(client, tokens, "sesao-sc/esaraban-account", "th")
    _act(client, tokens, account, "wipa", "receive-form", "done")
    _act(client, tokens, account, "wipa", "check-details", "incomplete", note="โปรดแนบคำสั่งแต่งตั้ง")
    answer = client.post(f"/intake/track/{account}/answer?token={tracking_token(account)}",
                         data=json.dumps({"note": "แนบคำสั่งแล้ว"}), headers={"Content-Type": "application/json"})
    assert answer.status_code in (200, 201), answer.get_json()
    drain()

    seen: dict[str, int] = {}
    for service in SERVICES:
        bus = importlib.import_module(f"services.{service}.adapters.bus").bus
        with bus.session() as session:
            envelopes = list(session.scalars(select(bus.Outbox.envelope)))
        for envelope in envelopes:
            event_type, version, payload = envelope["type"], envelope["version"], envelope["payload"]
            assert payload_errors(event_type, version, payload) == {}, (service, event_type, payload)
            assert marshmallow_errors(event_type, version, payload) == {}, (service, event_type, payload)
            assert event_catalogue.CATALOGUE[(event_type, version)].producer == envelope["source"] == service
            seen[event_type] = seen.get(event_type, 0) + 1
    assert {"request.submitted", "request.answered", "survey.answered", "case.opened", "case.step_started",
            "case.step_completed", "case.step_waiting", "case.step_resumed", "case.step_returned", "case.closed",
            "procurement.asset_checked"} <= set(seen), seen
    assert assignment_bus.dead_letters() == []
