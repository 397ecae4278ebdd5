"""Email out, against the real SMTP listener the test run started: one delivery row per
(event, recipient, template), retries with backoff when the server is away, dead letters, and
headers that form input can never extend."""
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from services.notify.adapters.bus import bus
from services.notify.adapters.models import Delivery, EarlyEvent
from services.notify.handlers import emails as handlers
from services.notify.tests.factory import deliveries, exhaust_retries, opened, submitted
from shared import db
from shared.config import get_settings, set_settings
from shared.events import Event
from sopdesk.testing import consumed_meanwhile


@pytest.mark.parametrize("language, greeting, subject", [
    ("th", "เรียน ครูมานี มีนา", "ได้รับคำขอของท่านแล้ว รหัสติดตาม SD-LANG1-00001"),
    ("en", "Dear ครูมานี มีนา", "Your request was received: tracking code SD-LANG1-00001"),
])
def test_the_received_email_in_both_languages(clean, mailbox, language, greeting, subject):
    code = "SD-LANG1-00001"
    bus.consume(submitted(code, language=language))
    bus.consume(opened(code))
    [mail] = mailbox.all()
    message = mail.message
    assert str(message["Subject"]) == subject
    assert mail.envelope_to == ("manee@example.org",)
    assert greeting in mail.text() and code in mail.text() and f"/intake/track/{code}?token=" in mail.text()
    assert greeting in mail.html()
    [delivery] = deliveries()
    assert message["Message-ID"] == f"<delivery-{delivery.id}@sopdesk>"
    assert delivery.status == "sent" and delivery.attempts == 1 and delivery.language == language


def test_a_second_delivery_of_the_event_sends_nothing_more(clean, mailbox):
    bus.consume(submitted("SD-DUPLI-00001"))
    event = opened("SD-DUPLI-00001")
    bus.consume(event)
    again = bus.consume(event)
    assert again.duplicate
    assert len(mailbox.all()) == 1 and len(deliveries()) == 1


def early_events(code):
    with bus.session() as session:
        return session.scalars(select(EarlyEvent.event_id).where(EarlyEvent.correlation_id == code)).all()


def test_the_case_opened_before_the_request_is_known_is_kept_until_it_comes(clean, mailbox):
    early = opened("SD-EARLY-00001")
    assert not bus.consume(early).duplicate  # consumed (no retry), and kept
    assert deliveries() == [] and mailbox.all() == [] and early_events("SD-EARLY-00001") == [early["id"]]
    bus.consume(submitted("SD-EARLY-00001"))
    [delivery] = deliveries()
    assert (delivery.event_id, delivery.template, delivery.status) == (early["id"], "received", "sent")
    assert len(mailbox.all()) == 1 and early_events("SD-EARLY-00001") == []
    assert bus.consume(early).duplicate  # a second delivery of it changes nothing
    assert len(mailbox.all()) == 1 and len(deliveries()) == 1


def test_an_early_event_and_its_request_in_flight_at_once_never_lose_the_email(clean, mailbox):
    """The request and the case's first event are handled at the same moment by two workers:
    whichever locks the tracking code first, the other waits for its commit and then sees what
    it wrote, so the email is written exactly once either way."""
    for code, first, second in (("SD-RACE1-00001", submitted, opened), ("SD-RACE2-00001", opened, submitted)):
        one, other = first(code), second(code)
        with bus.unit_of_work() as uow:
            bus.handler(one["type"])(uow, Event.from_envelope(one))
            waiting = consumed_meanwhile(bus, other)
            uow.commit()
        waiting.join(30)
        assert not waiting.is_alive()
        [delivery] = deliveries()
        assert delivery.template == "received" and delivery.correlation_id == code, code
        assert early_events(code) == [], code
        with bus.session() as session:
            session.execute(delete(Delivery))
            session.commit()


def test_smtp_away_retries_with_backoff_then_sends_once(clean, mailbox, smtp_away):
    bus.consume(submitted("SD-RETRY-00001"))
    bus.consume(opened("SD-RETRY-00001"))
    [delivery] = deliveries()
    assert delivery.status == "pending" and delivery.attempts == 1 and "Connection" in delivery.last_error
    assert delivery.next_attempt_at > db.utcnow()
    assert handlers.sweep_deliveries() == 0  # not due yet: the backoff holds
    set_settings(smtp_away)  # the server is back
    with bus.session() as session:
        session.execute(update(Delivery).values(next_attempt_at=db.utcnow() - timedelta(seconds=1)))
        session.commit()
    assert handlers.sweep_deliveries() == 1
    [delivery] = deliveries()
    assert delivery.status == "sent" and delivery.attempts == 2
    assert len(mailbox.all()) == 1
    assert handlers.sweep_deliveries() == 0


def test_after_the_last_attempt_the_email_is_a_dead_letter(clean, mailbox, smtp_away):
    bus.consume(submitted("SD-DEADL-00001"))
    bus.consume(opened("SD-DEADL-00001"))
    exhaust_retries()
    [delivery] = deliveries()
    assert delivery.status == "dead" and delivery.attempts == get_settings().max_retries
    [letter] = bus.dead_letters()
    assert letter.task == "notify.deliver" and letter.envelope["delivery_id"] == delivery.id


def test_the_mail_log_for_staff(client, staff_token, mailbox):
    from sopdesk.testing import make_staff

    bus.consume(submitted("SD-LOGGE-00001"))  # a sesao-sc case
    bus.consume(opened("SD-LOGGE-00001"))
    assert client.get("/notify/messages").status_code == 401
    # the mail log is for those who see all of their organisation's, and shows only its mail
    assert client.get("/notify/messages", headers={"Authorization": f"Bearer {staff_token}"}).status_code == 403
    _, other = make_staff("up-admin", ["admin"], "up")
    assert client.get("/notify/messages", headers={"Authorization": f"Bearer {other}"}).get_json() == []
    for who, roles, org in (("sc-admin", ["admin"], "sesao-sc"), ("sc-privacy", ["privacy-officer"], "sesao-sc"),
                            ("root", ["sysadmin"], None)):
        headers = {"Authorization": f"Bearer {make_staff(who, roles, org)[1]}"}
        [row] = client.get("/notify/messages?to=manee@example.org", headers=headers).get_json()
        assert row["correlation_id"] == "SD-LOGGE-00001" and row["status"] == "sent" and row["template"] == "received"
        assert row["event_type"] == "case.opened"
        assert client.get("/notify/messages?correlation_id=SD-OTHER", headers=headers).get_json() == []
        assert client.get("/notify/messages?to=not-an-email", headers=headers).status_code == 422


def test_every_event_routed_to_notify_has_its_handler():
    from shared.routing import SUBSCRIPTIONS

    assert bus.handled_types == SUBSCRIPTIONS["notify"]


def test_a_batch_of_several_cases_reads_their_requesters_in_one_statement(clean, mailbox):
    """A worker behind takes many cases' events at once: their requesters are read once for the
    batch (``before_batch``), not once per event, and each email still goes to its own."""
    from sopdesk.testing import statements_sent

    codes = [f"SD-BATCH-0000{n}" for n in range(3)]
    bus.consume_batch([submitted(code, email=f"r{n}@example.org") for n, code in enumerate(codes)])
    outcome, sent = statements_sent(bus.engine, lambda: bus.consume_batch([opened(code) for code in codes]))
    reads = [s for s in sent if s.startswith("SELECT") and "FROM contacts" in s]
    assert outcome.failed == []
    assert len(reads) == 1, reads
    assert sorted((d.correlation_id, d.recipient) for d in deliveries("received")) == \
        [(code, f"r{n}@example.org") for n, code in enumerate(codes)]
    assert sorted(m.envelope_to for m in mailbox.all()) == [(f"r{n}@example.org",) for n in range(3)]


def test_a_batch_remembers_its_requesters_at_once_and_its_cases_before_or_after_find_them(clean, mailbox, caplog):
    """A batch holding requests, a case event that comes before its own request in it, and the
    request of an event kept in an earlier transaction: the requester locks are taken in one
    statement, the requesters written in one, the kept events taken out in one; every requester
    gets their one email, nothing is left kept, and nothing needed the one-by-one pass."""
    from sopdesk.testing import statements_sent

    kept_code, codes = "SD-BATCH-KEPT1", [f"SD-BATCH-R000{n}" for n in range(3)]
    kept = opened(kept_code)
    assert not bus.consume(kept).duplicate and early_events(kept_code) == [kept["id"]]
    batch = [opened(codes[0]), submitted(codes[0], email="r0@example.org"),
             submitted(codes[1], email="r1@example.org"), submitted(kept_code, email="kept@example.org"),
             submitted(codes[2], email="r2@example.org"), opened(codes[1]), opened(codes[2])]
    with caplog.at_level("INFO", logger="shared.messaging"):
        outcome, sent = statements_sent(bus.engine, lambda: bus.consume_batch(batch))
    assert outcome.failed == [] and len(outcome.results) == len(batch)
    assert not [r for r in caplog.records if "failed together" in r.getMessage()]
    locks = [s for s in sent if "pg_advisory_xact_lock" in s]
    assert len(locks) == 1 and "ORDER BY lock" in locks[0], locks
    assert len([s for s in sent if s.startswith("INSERT INTO contacts")]) == 1
    assert len([s for s in sent if s.startswith("DELETE FROM early_events")]) == 1
    assert early_events(kept_code) == [] and not [c for c in codes if early_events(c)]
    assert sorted((d.correlation_id, d.recipient, d.status) for d in deliveries("received")) == sorted(
        [(code, f"r{n}@example.org", "sent") for n, code in enumerate(codes)] + [(kept_code, "kept@example.org", "sent")])
    assert sorted(m.envelope_to for m in mailbox.all()) == sorted(
        [(f"r{n}@example.org",) for n in range(3)] + [("kept@example.org",)])


def test_two_workers_batches_in_opposite_orders_never_deadlock(clean, mailbox, caplog):
    """One worker remembering requesters in one order while another keeps their cases' events in
    the opposite order, at once, round after round: neither batch ever fails, and every requester
    gets their one email."""
    import threading

    with caplog.at_level("INFO", logger="shared.messaging"):
        for round_ in range(6):
            codes = [f"SD-DEADL-{round_}{n:04d}" for n in range(8)]
            batches = ([submitted(code, email=f"{code.lower()}@example.org") for code in codes],
                       [opened(code) for code in reversed(codes)])
            start, outcomes = threading.Barrier(2), []

            def consume(batch):
                start.wait()
                outcomes.append(bus.consume_batch(batch))

            workers = [threading.Thread(target=consume, args=(batch,)) for batch in batches]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(60)
            assert [o.failed for o in outcomes] == [[], []]
            assert sorted(d.correlation_id for d in deliveries("received") if d.correlation_id in codes) == codes
            assert not [c for c in codes if early_events(c)]
    assert not [r.getMessage() for r in caplog.records if "failed together" in r.getMessage()]
    assert len(mailbox.all()) == 6 * 8
