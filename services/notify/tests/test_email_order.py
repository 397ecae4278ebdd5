"""A case's requester emails go out in the order of its events (issue 14, item 9: "the 'closed'
email once went out before the last step's email"). Each email is its own delivery and each
event may reach notify on its own, in any order; every case event carries its place in the
case's sequence (``seq``, assignment's ``emit_case_event``). Here the events are delivered to
notify's consumers out of order and the real SMTP listener shows the order the requester reads."""
from datetime import timedelta

from sqlalchemy import update

from services.notify.adapters.bus import bus
from services.notify.adapters.models import Delivery
from services.notify.handlers import emails
from services.notify.tests.factory import case_event, deliveries, opened, step, submitted
from shared import db

LAST_STEP = 5  # the last step's news, then the close, in one transaction of assignment
CLOSED = 6


def closed(code):
    return case_event("case.closed", code, seq=CLOSED, case_status="closed", current_step=None, result="completed",
                      closed_at="2026-11-24T08:00:00+00:00")


def last_step_done(code, tells_requester=True):
    return case_event("case.step_completed", code, seq=LAST_STEP, outcome="done", kind="forward", next_step=None,
                      note=None, step=step(notify_requester=tells_requester, completed_at="2026-11-24T08:00:00+00:00"))


def subjects(mailbox) -> list[str]:
    return [str(mail.message["Subject"]) for mail in mailbox.all()]


def test_the_closed_email_waits_for_the_last_steps_email_that_arrives_after_it(clean, mailbox):
    code = "SD-ORDER-00001"
    bus.consume(submitted(code))
    bus.consume(opened(code))
    bus.consume(closed(code))  # the close reaches notify first
    assert [d.template for d in deliveries() if d.status == "sent"] == ["received"]
    assert len(mailbox.all()) == 1  # held: the step before it has not come

    bus.consume(last_step_done(code))
    assert [d.template for d in sorted(deliveries(), key=lambda d: d.sent_at)] == ["received", "step_done", "closed"]
    sent = subjects(mailbox)
    assert len(sent) == 3 and "เสร็จแล้ว" in sent[1] and "ปิดเรื่องแล้ว" in sent[2]


def test_the_closed_email_waits_for_the_event_before_it_even_when_that_writes_nothing(clean, mailbox):
    code = "SD-ORDER-00002"
    bus.consume(submitted(code))
    bus.consume(opened(code))
    bus.consume(closed(code))
    assert len(mailbox.all()) == 1
    bus.consume(last_step_done(code, tells_requester=False))  # a step the pack does not tell of
    assert [d.template for d in deliveries() if d.status == "sent"] == ["received", "closed"]
    assert len(mailbox.all()) == 2


def test_a_later_email_is_held_only_so_long_then_goes_anyway(clean, mailbox):
    """Bounded: the step's news may be lost or its email failing; the close still goes out once its
    wait (``ORDER_HOLD``) is over, through the sweep."""
    code = "SD-ORDER-00003"
    bus.consume(submitted(code))
    bus.consume(opened(code))
    bus.consume(closed(code))
    [held] = [d for d in deliveries() if d.template == "closed"]
    assert held.status == "pending" and held.seq == CLOSED
    assert held.hold_until - held.created_at == emails.ORDER_HOLD
    assert emails.sweep_deliveries() == 0  # still within its wait
    with bus.session() as session:  # its wait is over
        session.execute(update(Delivery).where(Delivery.id == held.id)
                        .values(hold_until=db.utcnow() - timedelta(seconds=1)))
        session.commit()
    assert emails.sweep_deliveries() == 1
    assert [d.template for d in deliveries() if d.status == "sent"] == ["received", "closed"]


def test_emails_of_a_case_in_order_go_at_once(clean, mailbox):
    code = "SD-ORDER-00004"
    bus.consume(submitted(code))
    bus.consume(opened(code))
    bus.consume(last_step_done(code))
    bus.consume(closed(code))
    assert [d.template for d in sorted(deliveries(), key=lambda d: d.sent_at)] == ["received", "step_done", "closed"]
    assert len(mailbox.all()) == 3
