"""The outbox, the relay, the sweep and the inbox on real PostgreSQL and Redis."""
import json
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from services.assignment.adapters.bus import bus as assignment_bus
from services.assignment.adapters.models import Case
from services.intake.adapters.bus import bus
from services.intake.adapters.models import Outbox
from shared import db
from shared.celery_app import celery, celery_config, reconfigure
from shared.config import get_settings, set_settings
from shared.events import Event
from shared.messaging import MAX_REDELIVER_SECONDS, NotReady, ServiceBus, broker_client, confirmations_key, flush_relays
from shared.routing import subscribers
from sopdesk.testing import queued, queued_events
from sopdesk import testing_events as payloads


def _outbox_rows():
    with bus.session() as session:
        return list(session.scalars(select(Outbox)))


def test_emitted_event_commits_with_the_change_and_reaches_every_subscriber_queue(clean):
    with bus.unit_of_work() as uow:
        uow.emit("request.submitted", payloads.request_submitted("SD-A"), correlation_id="SD-A")
        uow.commit()
    assert flush_relays(), "the relay thread sends what was committed"
    [row] = _outbox_rows()
    # owed to each subscriber until it confirms: delivered (published_at) only then
    assert row.published_at is None and row.attempts == 0
    assert _owed() == {(row.id, target) for target in subscribers("request.submitted")}
    assert row.due_at - row.created_at == timedelta(seconds=get_settings().redeliver_seconds)
    for queue in ("assignment", "notify"):
        [message] = queued(queue)
        assert message["task"] == f"{queue}.handle_events"
        assert [envelope["id"] for envelope in message["args"][0]] == [row.id]
    assert queued("intake") == []  # intake does not subscribe to its own event


def test_nothing_is_stored_or_published_when_the_transaction_fails(clean):
    with pytest.raises(RuntimeError):
        with bus.unit_of_work() as uow:
            uow.emit("request.submitted", payloads.request_submitted("SD-B"), correlation_id="SD-B")
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
        uow.emit("request.submitted", payloads.request_submitted("SD-C"), correlation_id="SD-C")
        uow.commit()  # must not raise: the change is stored whatever the broker does
    flush_relays()
    [row] = _outbox_rows()
    assert row.published_at is None and row.attempts == 1 and row.last_error
    assert row.due_at <= db.utcnow()  # due at once, for the next sweep (not after the redelivery time)


def test_sweep_publishes_what_the_relay_left_once_the_broker_is_back(clean):
    settings = get_settings()
    reconfigure(settings.with_changes(broker_url="redis://127.0.0.1:1/0"))
    try:
        with bus.unit_of_work() as uow:
            for n in range(3):
                uow.emit("request.submitted", payloads.request_submitted(f"SD-{n}"), correlation_id=f"SD-{n}")
            uow.commit()
        flush_relays()
        assert bus.sweep() == 0  # still down: nothing sent, nothing lost
    finally:
        reconfigure(settings)
    assert bus.sweep() == 3
    assert {row.sends for row in _outbox_rows()} == {1}
    [message] = queued("assignment")  # the three in one message
    assert [e["payload"]["tracking_code"] for e in message["args"][0]] == ["SD-0", "SD-1", "SD-2"]
    assert bus.sweep() == 0  # sent: not again before the redelivery time


def test_the_sweep_leaves_what_the_relay_sent_until_the_redelivery_time(clean):
    with bus.unit_of_work() as uow:
        uow.emit("request.submitted", payloads.request_submitted("SD-D"), correlation_id="SD-D")
        uow.commit()
    assert flush_relays()
    assert bus.sweep() == 0
    assert len(queued("assignment")) == 1, "sent once, by the relay"


def _request_event(code="SD-E1"):
    return payloads.envelope("request.submitted", payloads.request_submitted(code, channel="api"))


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
        uow.emit("case.opened", payloads.case_opened("SD-X"), correlation_id="SD-X")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        probe.consume(_request_event("SD-X"))
    assert _count_cases() == 0
    with probe.session() as session:
        assert session.get(probe.Inbox, _request_event("SD-X")["id"]) is None
        assert session.scalar(select(func.count()).select_from(probe.Outbox)) == 0


def test_one_event_is_claimed_in_one_statement_and_a_failure_is_not_handled_twice(clean):
    """A batch of one event takes the batch's path: its inbox row is claimed by the one
    ``INSERT ... ON CONFLICT DO NOTHING`` (no SELECT of the inbox first, no row flushed by the
    ORM), and when its handler fails, that failure is the event's own: the handler is not run a
    second time to learn it."""
    from sopdesk.testing import statements_sent

    probe = ServiceBus("assignment", assignment_bus.Outbox, assignment_bus.Inbox, assignment_bus.DeadLetter)
    calls: list[str] = []

    @probe.handles("request.submitted")
    def open_or_fail(uow, event):
        code = event.payload["tracking_code"]
        calls.append(code)
        if code == "SD-1F":
            raise NotReady("not yet")
        uow.session.add(Case(tracking_code=code, request_event_id=event.id, sop="x", pack_version=1,
                             subject="s", details="d", requester_name="n", requester_unit="u", channel="api",
                             received_at=event.occurred_at))

    good, failing = _request_event("SD-1G"), _request_event("SD-1F")
    outcome, sent = statements_sent(probe.engine, lambda: probe.consume_batch([good]))
    assert [(r.event.id, r.duplicate) for r in outcome.results] == [(good["id"], False)] and outcome.failed == []
    inbox = probe.Inbox.__table__.fullname
    [claim] = [statement for statement in sent if inbox in statement]
    assert claim.startswith(f"INSERT INTO {inbox} ") and "ON CONFLICT DO NOTHING" in claim

    outcome = probe.consume_batch([failing])
    [(envelope, error)] = outcome.failed
    assert envelope is failing and isinstance(error, NotReady) and outcome.results == []
    assert calls == ["SD-1G", "SD-1F"]  # once each
    assert probe.consume_batch([good]).results[0].duplicate  # the claim sees the committed row
    with probe.session() as session:
        assert set(session.scalars(select(probe.Inbox.event_id))) == {good["id"]}
        assert set(session.scalars(select(Case.tracking_code))) == {"SD-1G"}


def test_a_unit_of_work_takes_each_lock_once_and_holds_it_until_its_transaction_ends(clean):
    """``UnitOfWork.lock``: the locks it does not hold yet, in one statement; a lock it holds
    costs nothing again; another transaction cannot take one until this one ends."""
    from sqlalchemy import text

    from sopdesk.testing import statements_sent

    space = 7399

    def taken_elsewhere(key: str) -> bool:
        with assignment_bus.engine.connect() as other:
            got = other.execute(text("SELECT pg_try_advisory_xact_lock(:space, hashtext(:key))"),
                                {"space": space, "key": key}).scalar()
            other.rollback()
            return got

    with assignment_bus.unit_of_work() as uow:
        took, sent = statements_sent(assignment_bus.engine, lambda: [
            uow.lock(space, ["SD-L1", "SD-L2"]), uow.lock(space, ["SD-L2"]), uow.lock(space, ["SD-L1", "SD-L3"])])
        assert took == [True, False, True]
        assert len([s for s in sent if "pg_advisory_xact_lock" in s]) == 2
        assert not any(taken_elsewhere(key) for key in ("SD-L1", "SD-L2", "SD-L3"))
        assert taken_elsewhere("SD-L4")
        uow.commit()
    assert all(taken_elsewhere(key) for key in ("SD-L1", "SD-L2", "SD-L3"))


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
    transport = config["broker_transport_options"]
    assert transport["visibility_timeout"] == get_settings().visibility_timeout
    # abandoned messages are looked for on every scan, and a scan comes at least every sweep
    assert transport["unacked_restore_throttle"] == 1
    assert transport["unacked_restore_interval"] <= get_settings().sweep_seconds
    assert {q.name for q in config["task_queues"]} == {"intake", "assignment", "notify", "procurement"}
    assert all(q.durable for q in config["task_queues"])
    assert celery.conf.task_acks_late


# --- confirmed delivery: owed until the subscriber's inbox has it --------------------------------

def _owed() -> set[tuple[str, str]]:
    """(event id, subscriber) of what intake's events are still owed to; an event owed to nobody
    is no longer due."""
    rows = _outbox_rows()
    assert all((row.due_at is None) == (row.owed_to == []) for row in rows)
    return {(row.id, subscriber) for row in rows for subscriber in row.owed_to}


def _emit_request(code: str) -> str:
    with bus.unit_of_work() as uow:
        event = uow.emit("request.submitted", _request_event(code)["payload"], correlation_id=code)
        uow.commit()
    flush_relays()
    return event.id


@pytest.fixture
def redeliver_after_one_second():
    settings = get_settings()
    set_settings(settings.with_changes(redeliver_seconds=1))
    yield 1
    set_settings(settings)


def test_an_event_is_owed_to_each_subscriber_until_its_inbox_has_it(clean):
    event_id = _emit_request("SD-O1")
    targets = subscribers("request.submitted")
    assert _owed() == {(event_id, target) for target in targets}
    [envelope] = queued_events("assignment")
    assignment_bus.consume(envelope)
    # the subscriber confirmed to the producer; the producer's sweep takes the confirmation
    assert broker_client().lrange(confirmations_key("intake"), 0, -1) == [f"assignment|{event_id}".encode()]
    bus.sweep()
    assert _owed() == {(event_id, target) for target in targets if target != "assignment"}
    assert broker_client().llen(confirmations_key("intake")) == 0


def test_a_sent_event_falls_due_again_after_the_redelivery_time_doubling_each_send(clean):
    event_id = _emit_request("SD-O2")
    redeliver = get_settings().redeliver_seconds
    [row] = _outbox_rows()
    # the relay's send is not written down: the event was written due R after it happened
    assert (row.id, row.sends, row.sent_at) == (event_id, 0, None)
    assert row.due_at - row.created_at == timedelta(seconds=redeliver)
    # sent a second and a third time by the sweep: the wait doubles each time, and never passes an hour
    for sends, wait in ((1, 2 * redeliver), (2, 4 * redeliver)):
        with bus.session() as session:
            session.execute(update(Outbox).values(due_at=db.utcnow() - timedelta(seconds=5)))
            session.commit()
        assert bus.sweep() == 1
        [row] = _outbox_rows()
        assert (row.sends, row.due_at - row.sent_at) == (sends, timedelta(seconds=min(MAX_REDELIVER_SECONDS, wait)))


def test_an_event_the_broker_lost_is_sent_again_and_handled_once(clean, redeliver_after_one_second):
    """kombu's Redis transport takes a message with BRPOP and only then records it as unacked:
    a worker killed between the two loses it (tests/test_delivery.py shows the window). Here the
    message vanishes from the queue just so, and the producer's sweep sends it again."""
    import time

    event_id = _emit_request("SD-O3")
    lost = broker_client().rpop("assignment")  # taken, and the taker died before recording it
    assert json.loads(lost)["headers"]["task"] == "assignment.handle_events"
    assert queued("assignment") == []
    assert bus.sweep() == 0, "not due yet: the subscriber may still be working on it"
    time.sleep(1.1)
    assert bus.sweep() == 1
    [again] = queued_events("assignment")
    assert again["id"] == event_id
    assert assignment_bus.consume(again).duplicate is False
    assert _count_cases() == 1
    # a late copy of the first send (a restored message) changes nothing, and confirms again
    assert assignment_bus.consume(again).duplicate is True
    assert _count_cases() == 1
    bus.sweep()
    assert ("assignment" not in {sub for _, sub in _owed()})


def test_a_dead_lettered_event_is_confirmed_and_no_longer_sent(clean):
    # a payload the event catalogue refuses: a dead letter at its first attempt, as at its last
    event = Event(type="request.submitted", source="intake", correlation_id="SD-O4", payload={"broken": True})
    envelope = event.to_envelope()
    with bus.session() as session:  # owed to assignment, as emit would have written it
        session.add(Outbox(id=event.id, type=event.type, correlation_id="SD-O4", envelope=envelope,
                           created_at=event.occurred_at, owed_to=["assignment"], due_at=event.occurred_at))
        session.commit()
    celery.loader.import_default_modules()
    handle_event = celery.tasks["assignment.handle_event"]
    handle_event.apply(args=[envelope], retries=get_settings().max_retries - 1)  # the last attempt fails
    [letter] = assignment_bus.dead_letters()
    assert letter.event_id == event.id and "event catalogue" in letter.error
    bus.sweep()
    assert _owed() == set()


def test_a_confirmation_the_broker_lost_only_costs_a_repeat(clean, redeliver_after_one_second):
    import time

    event_id = _emit_request("SD-O5")
    [envelope] = queued_events("assignment")
    broker_client().rpop("assignment")  # a worker took it
    assignment_bus.consume(envelope)
    broker_client().delete(confirmations_key("intake"))  # Redis restarted without its file
    time.sleep(1.1)
    bus.sweep()
    [again] = queued_events("assignment")  # sent again, since nobody said it arrived
    assert assignment_bus.consume(again).duplicate is True
    bus.sweep()
    assert (event_id, "assignment") not in _owed()
    assert _count_cases() == 1


def _age_owed_rows(seconds: float) -> None:
    with bus.session() as session:
        session.execute(update(Outbox).values(created_at=db.utcnow() - timedelta(seconds=seconds)))
        session.commit()


def _doctor(*args):
    from pathlib import Path

    sopdesk = Path(sys.executable).parent / "sopdesk"
    return subprocess.run([str(sopdesk), "doctor", *args], capture_output=True, text=True, timeout=60)


def test_doctor_lists_what_is_owed_and_fails_past_the_promise(clean):
    event_id = _emit_request("SD-O6")
    [envelope] = queued_events("assignment")
    assignment_bus.consume(envelope)
    promise = get_settings().delivery_promise_seconds
    _age_owed_rows(promise + 30)  # notify and procurement never took it, for longer than promised

    result = _doctor("--json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    [intake] = [s for s in report["services"] if s["service"] == "intake"]
    late_to = {e["subscriber"] for e in intake["events"]}
    assert late_to == set(subscribers("request.submitted")) - {"assignment"}
    assert {e["tracking_code"] for e in intake["events"]} == {"SD-O6"}
    assert all(e["event_id"] == event_id and e["age_seconds"] >= promise + 30 for e in intake["events"])
    assert report["late"] == len(late_to)
    text = _doctor("--service", "intake")
    assert text.returncode == 1 and "SD-O6" in text.stdout and "late: 2 events" in text.stdout

    for queue in ("notify", "procurement"):
        [envelope] = [e for e in queued_events(queue) if e["id"] == event_id]
        __import__(f"services.{queue}.adapters.bus", fromlist=["bus"]).bus.consume(envelope)
    # (assignment's own events of the case it opened are owed too, and may be late on a slow
    # machine: this test is about intake's)
    ok = _doctor("--service", "intake")
    assert ok.returncode == 0, ok.stdout
    assert "late: none" in ok.stdout


def test_health_shows_what_each_subscriber_is_owed(client):
    _emit_request("SD-O7")
    _age_owed_rows(get_settings().delivery_promise_seconds + 1)
    response = client.get("/intake/health")
    body = json.loads(response.get_data())
    assert response.status_code == 200
    owed = body["delivery"]["owed"]
    assert set(owed) == set(subscribers("request.submitted"))
    assert all(o["count"] == 1 and o["oldest_seconds"] > get_settings().delivery_promise_seconds for o in owed.values())
    assert body["delivery"]["late"] == len(owed)
    quiet = json.loads(client.get("/notify/health").get_data())
    assert quiet["delivery"] == {"owed": {}, "late": 0, "promise_seconds": get_settings().delivery_promise_seconds}


# --- batches: one message per subscriber, one transaction per batch, each event on its own -------

def test_a_batch_commits_its_good_events_and_hands_back_the_one_that_failed(clean):
    good, early, good_too = _request_event("SD-B1"), _request_event("SD-B2"), _request_event("SD-B3")
    probe = ServiceBus("assignment", assignment_bus.Outbox, assignment_bus.Inbox, assignment_bus.DeadLetter)

    @probe.handles("request.submitted")
    def open_or_wait(uow, event):
        code = event.payload["tracking_code"]
        uow.session.add(Case(tracking_code=code, request_event_id=event.id, sop="x", pack_version=1,
                             subject="s", details="d", requester_name="n", requester_unit="u", channel="api",
                             received_at=event.occurred_at))
        uow.emit("case.opened", payloads.case_opened(code), correlation_id=code)
        if code == "SD-B2":
            raise NotReady("not yet")

    outcome = probe.consume_batch([good, early, good, good_too])  # good twice: a resend met the first
    assert sorted((r.event.id, r.duplicate) for r in outcome.results) == sorted(
        [(good["id"], False), (good["id"], True), (good_too["id"], False)])
    [(envelope, error)] = outcome.failed
    assert envelope is early and isinstance(error, NotReady)
    with probe.session() as session:
        assert set(session.scalars(select(Case.tracking_code))) == {"SD-B1", "SD-B3"}
        assert set(session.scalars(select(probe.Inbox.event_id))) == {good["id"], good_too["id"]}
        # the failed event's case.opened was rolled back with it; the others' are owed to intake
        opened = session.scalars(select(probe.Outbox.correlation_id)).all()
        assert sorted(opened) == ["SD-B1", "SD-B3"]
    confirmed = broker_client().lrange(confirmations_key("intake"), 0, -1)
    assert sorted(confirmed) == sorted(f"assignment|{e['id']}".encode() for e in (good, good_too))


def test_an_event_that_fails_in_a_batch_goes_on_alone_with_its_retries(clean, monkeypatch, own_event_type):
    """Through the Celery task: the case opens for the good event; the broken one is dead-lettered
    at once; the one not ready yet is queued again as a single ``handle_event`` whose first
    attempt was the batch's."""
    celery.loader.import_default_modules()

    def not_yet(uow, event):
        raise NotReady("what it depends on has not arrived")

    own_event_type("test.not_ready", "procurement")
    monkeypatch.setitem(assignment_bus._handlers, "test.not_ready", not_yet)
    good = _request_event("SD-B4")
    broken = dict(_request_event("SD-B5"))
    broken["payload"] = {**broken["payload"], "sop": "no-such/sop"}  # PermanentError: dead letter
    not_ready = Event(type="test.not_ready", source="procurement", correlation_id="SD-B6", payload={}).to_envelope()
    celery.tasks["assignment.handle_events"].apply(args=[[good, broken, not_ready]])
    assert _count_cases() == 1
    [letter] = assignment_bus.dead_letters()
    assert letter.event_id == broken["id"] and letter.task == "assignment.handle_event"
    [message] = [json.loads(raw) for raw in broker_client().lrange("assignment", 0, -1)]
    assert message["headers"]["task"] == "assignment.handle_event" and message["headers"]["retries"] == 1
    assert [e["id"] for e in queued_events("assignment")] == [not_ready["id"]]


def test_a_worker_behind_takes_the_batches_waiting_behind_its_own_and_nothing_else(clean):
    """Three batches wait in assignment's queue behind a retry of a single event: the worker
    handling one batch takes the next two (one transaction for all), and leaves the retry."""
    codes = ["SD-W1", "SD-W2", "SD-W3", "SD-W4"]
    for code in codes[:3]:
        _emit_request(code)  # each its own commit: its own message
    celery.send_task("assignment.handle_event", args=[_request_event("SD-W4")], queue="assignment",
                     routing_key="assignment")
    first = broker_client().rpop("assignment")  # the worker's own message
    celery.loader.import_default_modules()
    from sopdesk.testing import _decode

    _, args, _ = _decode(first)
    celery.tasks["assignment.handle_events"].apply(args=args)
    assert _count_cases() == 3  # its own and the two waiting behind it
    [left] = queued("assignment")
    assert left["task"] == "assignment.handle_event" and left["args"][0]["correlation_id"] == "SD-W4"


def test_a_handler_that_keeps_failing_is_tried_max_retries_times_then_dead_lettered(clean, monkeypatch,
                                                                                   own_event_type):
    """Celery's own default is 3 retries: the consumer must ask for SOPDESK_MAX_RETRIES, or the
    event ends as an exception after 4 attempts, neither dead-lettered nor confirmed."""
    celery.loader.import_default_modules()
    attempts = []

    def flaky(uow, event):
        attempts.append(event.id)
        raise RuntimeError("the database of a neighbour is away")

    own_event_type("test.flaky", "intake")
    monkeypatch.setitem(assignment_bus._handlers, "test.flaky", flaky)
    settings = get_settings()
    set_settings(settings.with_changes(max_retries=6))  # more than Celery's default of 3
    try:
        envelope = Event(type="test.flaky", source="intake", correlation_id="SD-R1", payload={}).to_envelope()
        celery.tasks["assignment.handle_event"].apply(args=[envelope])  # eager: each retry runs at once
    finally:
        set_settings(settings)
    assert len(attempts) == 6
    [letter] = assignment_bus.dead_letters()
    assert (letter.event_id, letter.attempts) == (envelope["id"], 6)
    assert f"assignment|{envelope['id']}".encode() in broker_client().lrange(confirmations_key("intake"), 0, -1)


def test_an_event_every_subscriber_confirmed_is_marked_delivered(clean):
    """``published_at`` says when the sweep took the last subscriber's confirmation; the event is
    then owed to nobody and no longer due. A confirmation that comes again changes nothing."""
    event = payloads.event("request.submitted", payloads.request_submitted("SD-P1"))
    with bus.session() as session:
        session.add(Outbox(id=event.id, type=event.type, correlation_id="SD-P1", envelope=event.to_envelope(),
                           created_at=event.occurred_at - timedelta(seconds=30), owed_to=["notify", "procurement"],
                           due_at=event.occurred_at - timedelta(seconds=30)))
        session.commit()
    confirmations = confirmations_key("intake")
    broker_client().rpush(confirmations, f"notify|{event.id}")
    bus.sweep()  # still owed to procurement (sent again here, to procurement only): not delivered
    [row] = _outbox_rows()
    assert (row.owed_to, row.published_at, row.sends) == (["procurement"], None, 1)
    assert queued("notify") == [] and [e["id"] for e in queued_events("procurement")] == [event.id]
    broker_client().rpush(confirmations, f"procurement|{event.id}", f"notify|{event.id}")
    bus.sweep()
    [row] = _outbox_rows()
    assert (row.owed_to, row.due_at) == ([], None) and row.published_at is not None
    delivered = row.published_at
    broker_client().rpush(confirmations, f"procurement|{event.id}")  # a repeat's confirmation
    bus.sweep()
    [row] = _outbox_rows()
    assert (row.owed_to, row.due_at, row.published_at) == ([], None, delivered)



def test_an_event_not_ready_is_tried_again_soon_then_with_the_usual_backoff():
    from shared.tasks import NOT_READY_FIRST_RETRIES, retry_countdown

    cap = 300
    assert [retry_countdown(NotReady("x"), n, cap) for n in (1, 2)] == list(NOT_READY_FIRST_RETRIES)
    for attempt in (3, 4, 9):
        ceiling = min(cap, 2 ** attempt)  # backoff_seconds: full jitter in [ceiling/2, ceiling], at least 1
        assert max(1.0, ceiling / 2) <= retry_countdown(NotReady("x"), attempt, cap) <= ceiling
    for attempt in (1, 2):  # anything else backs off as before from the first retry
        ceiling = min(cap, 2 ** attempt)
        assert max(1.0, ceiling / 2) <= retry_countdown(RuntimeError("x"), attempt, cap) <= ceiling


def test_a_service_nobody_waits_on_lets_a_small_batch_gather_what_queues_up_meanwhile(clean, monkeypatch):
    """A consumer with ``batch_wait`` holding a small batch waits that long, then takes what
    queued up behind it meanwhile into the same transaction; without it, it takes only what was
    already waiting."""
    celery.loader.import_default_modules()
    from sopdesk.testing import _decode

    def run(wait: float) -> int:
        monkeypatch.setattr(assignment_bus, "batch_wait", wait)
        code = f"SD-G{int(wait * 10)}"
        _emit_request(f"{code}-1")
        first = broker_client().rpop("assignment")  # the worker's own message
        later = threading.Timer(0.2, _emit_request, args=(f"{code}-2",))  # committed while it waits
        later.start()
        try:
            _, args, _ = _decode(first)
            celery.tasks["assignment.handle_events"].apply(args=args)
        finally:
            later.join()
        with assignment_bus.session() as session:
            return session.scalar(select(func.count()).select_from(Case).where(Case.tracking_code.like(f"{code}-%")))

    assert run(2.0) == 2  # the request committed 0.2 s into the wait went in the same batch
    assert run(0.0) == 1  # no wait: the second came too late for this batch (it waits in the queue)


def test_the_relays_message_is_the_one_celery_would_have_queued(clean):
    """The relay writes its task messages itself (``task_message``): each must be what
    ``celery.send_task`` puts on the queue, but for what is drawn anew for every message."""
    from shared.messaging import task_body, task_message

    envelopes = [Event(type="request.submitted", source="intake", payload=payloads.request_submitted("SD-M"),
                       correlation_id="SD-M").to_envelope()]
    with celery.producer_or_acquire() as producer:
        celery.send_task("assignment.handle_events", args=[envelopes], queue="assignment", routing_key="assignment",
                         retry=False, producer=producer, argsrepr="[1 events]", kwargsrepr="{}")
    broker_client().lpush("assignment", task_message("assignment.handle_events", "assignment",
                                                     task_body([envelopes]), "[1 events]"))
    ours, celerys = [json.loads(raw) for raw in broker_client().lrange("assignment", 0, -1)]
    drawn = {"id", "root_id", "origin", "correlation_id", "reply_to", "delivery_tag"}
    assert set(ours) == set(celerys)
    for part in ("headers", "properties"):
        theirs = {k: v for k, v in celerys[part].items() if k not in drawn | {"argsrepr", "kwargsrepr"}}
        mine = {k: v for k, v in ours[part].items() if k not in drawn | {"argsrepr", "kwargsrepr"}}
        assert mine == theirs, part
    assert ours["headers"]["id"] == ours["headers"]["root_id"] == ours["properties"]["correlation_id"]
    assert ours["properties"]["delivery_tag"] != celerys["properties"]["delivery_tag"]
    assert {k: ours[k] for k in ("content-type", "content-encoding")} == \
        {k: celerys[k] for k in ("content-type", "content-encoding")}
    # the same task, args and kwargs once decoded, as a worker reads them
    assert queued("assignment") == [{"task": "assignment.handle_events", "args": [envelopes]}] * 2
