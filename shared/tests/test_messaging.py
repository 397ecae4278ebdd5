"""The outbox, the relay, the sweep and the inbox on real PostgreSQL and Redis."""
import threading

import pytest
from sqlalchemy import func, select

from services.assignment.bus import bus as assignment_bus
from services.assignment.models import Case
from services.intake.bus import bus
from services.intake.models import Outbox
from shared.celery_app import celery, celery_config, reconfigure
from shared.config import get_settings
from shared.events import Event
from shared.messaging import ServiceBus
from shared.testing import queued


def _outbox_rows():
    with bus.session() as session:
        return list(session.scalars(select(Outbox)))


def test_emitted_event_commits_with_the_change_and_reaches_every_subscriber_queue(clean):
    with bus.unit_of_work() as uow:
        uow.emit("request.submitted", {"tracking_code": "SD-A"}, correlation_id="SD-A")
        uow.commit()
    [row] = _outbox_rows()
    assert row.published_at is not None, "the relay publishes right after the commit"
    for queue in ("assignment", "notify"):
        [message] = queued(queue)
        assert message["task"] == f"{queue}.handle_event"
        assert message["args"][0]["id"] == row.id
    assert queued("intake") == []  # intake does not subscribe to its own event


def test_nothing_is_stored_or_published_when_the_transaction_fails(clean):
    with pytest.raises(RuntimeError):
        with bus.unit_of_work() as uow:
            uow.emit("request.submitted", {"tracking_code": "SD-B"}, correlation_id="SD-B")
            raise RuntimeError("the use case failed before commit")
    assert _outbox_rows() == []
    assert queued("assignment") == []


@pytest.fixture
def dead_broker():
    """Point this process's Celery at a port where nothing listens, then back."""
    settings = get_settings()
    reconfigure(settings.with_changes(broker_url="redis://127.0.0.1:1/0"))
    yield
    reconfigure(settings)


def test_broker_down_leaves_the_row_for_the_sweep(clean, dead_broker):
    with bus.unit_of_work() as uow:
        uow.emit("request.submitted", {"tracking_code": "SD-C"}, correlation_id="SD-C")
        uow.commit()  # must not raise: the change is stored whatever the broker does
    [row] = _outbox_rows()
    assert row.published_at is None and row.attempts == 1 and row.last_error


def test_sweep_publishes_what_the_relay_left_once_the_broker_is_back(clean):
    settings = get_settings()
    reconfigure(settings.with_changes(broker_url="redis://127.0.0.1:1/0"))
    try:
        with bus.unit_of_work() as uow:
            for n in range(3):
                uow.emit("request.submitted", {"n": n}, correlation_id=f"SD-{n}")
            uow.commit()
        assert bus.sweep(older_than_seconds=0) == 0  # still down: nothing published, nothing lost
    finally:
        reconfigure(settings)
    assert bus.sweep(older_than_seconds=0) == 3
    assert all(r.published_at is not None for r in _outbox_rows())
    assert [m["args"][0]["payload"]["n"] for m in queued("assignment")] == [0, 1, 2]
    assert bus.sweep(older_than_seconds=0) == 0  # published rows are not sent again


def test_sweep_leaves_young_rows_to_the_relay(clean, dead_broker):
    with bus.unit_of_work() as uow:
        uow.emit("request.submitted", {}, correlation_id="SD-D")
        uow.commit()
    assert bus.sweep(older_than_seconds=60) == 0


def _request_event(code="SD-E1"):
    return Event(type="request.submitted", source="intake", correlation_id=code, payload={
        "tracking_code": code, "sop": "sesao-sc/repair", "pack_version": 1, "subject": "จอดับ",
        "details": "เปิดไม่ติด", "fields": {}, "language": "th", "channel": "api", "filed_by": None,
        "requester": {"name": "ครูสมศรี", "email": "somsri@example.org", "phone": None, "unit": "โรงเรียน"},
        "received_at": "2026-11-20T03:00:00+00:00"}).to_envelope()


def _count_cases():
    with assignment_bus.session() as session:
        return session.scalar(select(func.count()).select_from(Case))


def test_a_redelivered_event_changes_nothing(clean):
    envelope = _request_event()
    first = assignment_bus.consume(envelope)
    second = assignment_bus.consume(envelope)
    assert (first.duplicate, second.duplicate) == (False, True)
    assert _count_cases() == 1


def test_two_deliveries_at_once_make_one_case(clean):
    envelope = _request_event("SD-E2")
    barrier = threading.Barrier(4)
    results, errors = [], []

    def consume():
        barrier.wait()
        try:
            results.append(assignment_bus.consume(envelope).duplicate)
        except Exception as exc:  # a unique-key race must not surface as an error
            errors.append(exc)

    threads = [threading.Thread(target=consume) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []  # the losers of the race see a duplicate, not an error
    assert _count_cases() == 1
    assert results.count(False) == 1


def test_a_failing_handler_commits_nothing_and_leaves_no_inbox_row(clean):
    probe = ServiceBus("assignment", assignment_bus.Outbox, assignment_bus.Inbox, assignment_bus.DeadLetter)

    @probe.handles("request.submitted")
    def explode(uow, event):
        uow.session.add(Case(tracking_code="SD-X", request_event_id=event.id, sop="x", pack_version=1,
                             subject="s", details="d", requester_name="n", requester_unit="u", channel="api",
                             received_at=event.occurred_at))
        uow.emit("case.opened", {}, correlation_id="SD-X")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        probe.consume(_request_event("SD-X"))
    assert _count_cases() == 0
    with probe.session() as session:
        assert session.get(probe.Inbox, _request_event("SD-X")["id"]) is None
        assert session.scalar(select(func.count()).select_from(probe.Outbox)) == 0


def test_dead_letters_are_listed_and_replayed_once(clean):
    envelope = _request_event("SD-F")
    letter_id = assignment_bus.record_dead_letter("assignment.handle_event", envelope, "boom", 8)
    [letter] = assignment_bus.dead_letters()
    assert letter.id == letter_id and letter.event_id == envelope["id"]
    assignment_bus.replay_dead_letter(letter_id)
    assert [m["args"][0]["id"] for m in queued("assignment")] == [envelope["id"]]
    assert assignment_bus.dead_letters() == []
    with pytest.raises(ValueError):
        assignment_bus.replay_dead_letter(letter_id)


def test_celery_settings_keep_the_delivery_promises():
    config = celery_config(get_settings())
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["worker_prefetch_multiplier"] == 1
    assert config["broker_transport_options"]["visibility_timeout"] == get_settings().visibility_timeout
    assert {q.name for q in config["task_queues"]} == {"intake", "assignment", "notify", "procurement"}
    assert all(q.durable for q in config["task_queues"])
    assert celery.conf.task_acks_late
