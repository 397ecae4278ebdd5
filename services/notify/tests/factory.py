"""Events as intake and assignment send them (built by ``sopdesk.testing_events``, as their
producers write them), and small readers of what notify wrote and sent, for notify's tests."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select, update

from services.notify.adapters.bus import bus
from services.notify.adapters.models import Delivery
from services.notify.handlers import emails as handlers
from shared import db
from shared.config import get_settings
from sopdesk import testing_events as payloads

SOP = "sesao-sc/repair"
SOP_TITLE = {"th": "การซ่อมบำรุงเครื่องคอมพิวเตอร์", "en": "Repair of computers"}
CHECK = {"th": "ตรวจสอบอาการเสีย", "en": "Diagnose the fault"}
REQUESTER = "manee@example.org"


def submitted(code, name="ครูมานี มีนา", email=REQUESTER, language="th", subject="จอฟ้า"):
    return payloads.envelope("request.submitted", payloads.request_submitted(
        code, sop=SOP, subject=subject, details="d", requester_name=name, requester_email=email,
        requester_unit="u", language=language))


def opened(code):
    return case_event("case.opened", code, subject="จอฟ้า", sop_title=SOP_TITLE,
                      opened_at="2026-11-20T03:00:01+00:00", received_at="2026-11-20T03:00:00+00:00")


def contact(username, email, language="th", name=None):
    return payloads.staff_contact(username, email, language, name or username.capitalize())


def step(key="check", title=CHECK, role="officer", assignee=None, assignee_contact=None, notify_requester=False,
         needs_approval=False, round=1, due_at="2026-11-21T09:30:00+00:00", completed_at=None, waiting_on=None,
         outcome=None):
    return payloads.case_step(key, title=title, role=role, round=round, assignee=assignee,
                              assignee_contact=assignee_contact, due_at=due_at, completed_at=completed_at,
                              outcome=outcome, waiting_on=waiting_on, notify_requester=notify_requester, late=False,
                              needs_approval=needs_approval)


def case_event(event_type, code, due_at=None, **payload):
    """A case event from assignment: the case's state after it (the case's ``due_at``), and the
    event's own fields, as its builder in ``sopdesk.testing_events`` makes it."""
    return payloads.envelope(event_type, payloads.PAYLOADS[event_type](code, sop=SOP, due_at=due_at, **payload))


def daily_summary(username, day, contact, items):
    """A staff member's summary of the day, as assignment sends it."""
    return payloads.envelope("staff.daily_summary", payloads.daily_summary(username, day=day, contact=contact,
                                                                           items=items),
                             correlation_id=f"summary:{username}:{day}")


def exhaust_retries():
    """Run the delivery sweep once per allowed attempt, each time as if the backoff had passed."""
    for _ in range(get_settings().max_retries):
        with bus.session() as session:
            session.execute(update(Delivery).where(Delivery.status == "pending")
                            .values(next_attempt_at=db.utcnow() - timedelta(seconds=1)))
            session.commit()
        handlers.sweep_deliveries()


def deliveries(template=None):
    with bus.session() as session:
        query = select(Delivery).order_by(Delivery.created_at)
        if template:
            query = query.where(Delivery.template == template)
        return list(session.scalars(query))


def mail_of(mailbox, delivery):
    """The one mail the SMTP listener caught with the delivery row's Message-ID."""
    found = [m for m in mailbox.all() if m.message["Message-ID"] == f"<delivery-{delivery.id}@sopdesk>"]
    assert len(found) == 1, f"{len(found)} mails for delivery {delivery.id} ({delivery.template})"
    return found[0]


def sent(mailbox, template):
    """The mail of the only delivery of ``template``, checked to have been sent."""
    [delivery] = deliveries(template)
    assert delivery.status == "sent", (delivery.status, delivery.last_error)
    return delivery, mail_of(mailbox, delivery)


def links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html.replace("&amp;", "&"))


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
