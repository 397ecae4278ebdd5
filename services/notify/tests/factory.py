"""Events as intake and assignment send them (the shapes of the issue-4 event contract), and
small readers of what notify wrote and sent, for notify's tests."""
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
from shared.events import Event

SOP = "sesao-sc/repair"
SOP_TITLE = {"th": "การซ่อมบำรุงเครื่องคอมพิวเตอร์", "en": "Repair of computers"}
CHECK = {"th": "ตรวจสอบอาการเสีย", "en": "Diagnose the fault"}
REQUESTER = "manee@example.org"


def submitted(code, name="ครูมานี มีนา", email=REQUESTER, language="th", subject="จอฟ้า"):
    return Event(type="request.submitted", source="intake", correlation_id=code, payload={
        "tracking_code": code, "sop": SOP, "pack_version": 1, "subject": subject, "details": "d", "fields": {},
        "language": language, "requester": {"name": name, "email": email, "phone": None, "unit": "u"},
        "channel": "web", "filed_by": None, "received_at": "2026-11-20T03:00:00+00:00",
        "privacy_notice_version": "1", "attachments": []}).to_envelope()


def opened(code):
    return case_event("case.opened", code, subject="จอฟ้า", sop_title=SOP_TITLE,
                      opened_at="2026-11-20T03:00:01+00:00", received_at="2026-11-20T03:00:00+00:00",
                      step={"key": "receive-form", "title": {"th": "รับแบบคำขอซ่อม", "en": "Receive the repair form"},
                            "role": "officer", "round": 1, "started_at": "2026-11-20T03:00:01+00:00"})


def contact(username, email, language="th", name=None):
    return {"username": username, "name": name or username.capitalize(), "email": email, "language": language}


def step(key="check", title=CHECK, role="officer", assignee=None, assignee_contact=None, notify_requester=False,
         needs_approval=False, round=1, due_at="2026-11-21T09:30:00+00:00", completed_at=None, waiting_on=None,
         outcome=None):
    return {"key": key, "title": title, "role": role, "roles": [role], "round": round, "assignee": assignee,
            "started_at": "2026-11-20T03:00:01+00:00", "due_at": due_at, "expected_at": None,
            "completed_at": completed_at, "outcome": outcome, "waiting_on": waiting_on,
            "notify_requester": notify_requester, "late": False, "needs_approval": needs_approval,
            "assignee_contact": assignee_contact}


def case_event(event_type, code, due_at=None, **payload):
    """A case event from assignment: the case's state after it, and the event's own fields."""
    base = {"tracking_code": code, "sop": SOP, "pack_version": 1, "seq": 1, "case_status": "open",
            "current_step": "check", "due_at": due_at}
    return Event(type=event_type, source="assignment", correlation_id=code, payload={**base, **payload}).to_envelope()


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
