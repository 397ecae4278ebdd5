"""Email out, against the real SMTP listener the test run started: one delivery row per
(event, recipient, template), retries with backoff when the server is away, dead letters, and
headers that form input can never extend."""
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from services.notify import handlers
from services.notify.bus import bus
from services.notify.models import Delivery
from shared import db
from shared.config import get_settings, set_settings
from shared.events import Event
from shared.messaging import NotReady
from shared.mailcatcher import free_port


def submitted(code, name="ครูมานี มีนา", email="manee@example.org", language="th"):
    return Event(type="request.submitted", source="intake", correlation_id=code, payload={
        "tracking_code": code, "sop": "sesao-sc/repair", "subject": "จอฟ้า", "details": "d", "fields": {},
        "language": language, "requester": {"name": name, "email": email, "phone": None, "unit": "u"},
        "received_at": "2026-11-20T03:00:00+00:00"}).to_envelope()


def opened(code):
    return Event(type="case.opened", source="assignment", correlation_id=code, payload={
        "tracking_code": code, "sop": "sesao-sc/repair", "subject": "จอฟ้า",
        "sop_title": {"th": "การซ่อมบำรุงเครื่องคอมพิวเตอร์", "en": "Repair of computers"},
        "opened_at": "2026-11-20T03:00:01+00:00", "due_at": None,
        "step": {"key": "receive-form", "title": {"th": "รับแบบคำขอซ่อม", "en": "Receive the repair form"},
                 "role": "officer", "round": 1, "started_at": "2026-11-20T03:00:01+00:00", "due_at": None}}
    ).to_envelope()


def deliveries():
    with bus.session() as session:
        return list(session.scalars(select(Delivery)))


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


def test_the_case_opened_before_the_request_is_known_waits(clean, mailbox):
    early = opened("SD-EARLY-00001")
    with pytest.raises(NotReady):
        bus.consume(early)
    assert deliveries() == [] and mailbox.all() == []
    bus.consume(submitted("SD-EARLY-00001"))
    assert not bus.consume(early).duplicate  # the retry is handled, not skipped
    assert len(mailbox.all()) == 1


@pytest.fixture
def smtp_away():
    """SMTP pointing at a port where nothing listens, then back."""
    settings = get_settings()
    set_settings(settings.with_changes(smtp_port=free_port(), smtp_timeout=2))
    yield settings
    set_settings(settings)


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
    for _ in range(get_settings().max_retries):
        with bus.session() as session:
            session.execute(update(Delivery).values(next_attempt_at=db.utcnow() - timedelta(seconds=1)))
            session.commit()
        handlers.sweep_deliveries()
    [delivery] = deliveries()
    assert delivery.status == "dead" and delivery.attempts == get_settings().max_retries
    [letter] = bus.dead_letters()
    assert letter.task == "notify.deliver" and letter.envelope["delivery_id"] == delivery.id


def test_a_name_with_a_line_break_can_never_add_a_header(clean, mailbox):
    # intake refuses such names; notify does not rely on that
    bus.consume(submitted("SD-INJEC-00001", name="Manee\r\nBcc: victim@example.org"))
    bus.consume(opened("SD-INJEC-00001"))
    assert mailbox.all() == []
    [delivery] = deliveries()
    assert delivery.status == "dead" and "HeaderInjection" in delivery.last_error


def test_the_mail_log_for_staff(client, staff_token, mailbox):
    bus.consume(submitted("SD-LOGGE-00001"))
    bus.consume(opened("SD-LOGGE-00001"))
    assert client.get("/notify/messages").status_code == 401
    headers = {"Authorization": f"Bearer {staff_token}"}
    [row] = client.get("/notify/messages?to=manee@example.org", headers=headers).get_json()
    assert row["correlation_id"] == "SD-LOGGE-00001" and row["status"] == "sent" and row["template"] == "received"
    assert row["event_type"] == "case.opened"
    assert client.get("/notify/messages?correlation_id=SD-OTHER", headers=headers).get_json() == []
    assert client.get("/notify/messages?to=not-an-email", headers=headers).status_code == 422
