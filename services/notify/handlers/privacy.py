"""The PDPA's rights as notify answers them: the emails it kept about a person's cases (for the
export), and their erasure when intake asks (``privacy.erasure_requested``): the contact's name,
email and subject, the recipient and words of every email to them, what the emails about their
cases quoted of them, and the envelopes (outbox, dead letters, early events) become
``shared.privacy.ERASED``; the delivery rows stay (when, which template, status), so the mail
log's counts stay right. Nothing more is sent to an erased contact. Confirmed by
``privacy.notify_erased``."""
from __future__ import annotations

from sqlalchemy import func, select

from services.notify.adapters.bus import bus
from services.notify.adapters.models import Contact, Delivery, EarlyEvent
from shared import db
from shared.events import Event
from shared.messaging import NotReady, UnitOfWork
from shared.privacy import ERASED, Needles, plain, scrub, scrub_messages


def person_data(codes: list[str]) -> dict:
    with bus.session() as session:
        contacts = list(session.scalars(select(Contact).where(Contact.correlation_id.in_(codes))))
        emails = {c.email.lower() for c in contacts}
        deliveries = session.scalars(select(Delivery).where(Delivery.correlation_id.in_(codes),
                                                            func.lower(Delivery.recipient).in_(emails))
                                     .order_by(Delivery.created_at)) if emails else []
        return {"contacts": [plain(c) for c in contacts],
                "emails": [plain(d, ("id", "event_type", "correlation_id", "recipient", "recipient_name", "template",
                                     "language", "subject", "status", "created_at", "sent_at", "context"))
                           for d in deliveries]}


def erase(uow: UnitOfWork, codes: list[str]) -> int:
    session = uow.session
    contacts = list(session.scalars(select(Contact).where(Contact.correlation_id.in_(codes)).with_for_update()))
    emails = {c.email.strip().lower() for c in contacts if c.email and c.email != ERASED}  # a phone only: none
    needles = Needles([w for c in contacts for w in (c.name, c.email) if w])
    quoted = Needles(needles.words + [c.subject for c in contacts if c.subject])  # what their emails' subject lines quote
    rows = 0
    for contact in contacts:
        contact.name = contact.email = ERASED
        contact.subject = ERASED if contact.subject else contact.subject
        rows += 1
    for delivery in session.scalars(select(Delivery).where(Delivery.correlation_id.in_(codes))):
        theirs = delivery.recipient.strip().lower() in emails
        if theirs:
            delivery.recipient = delivery.recipient_name = ERASED
            if delivery.status in ("pending", "sending"):  # never sent now: there is no one to send it to
                delivery.status, delivery.last_error = "dead", "erased (PDPA)"
        delivery.context = scrub(delivery.context or {}, needles)
        delivery.subject = quoted.sub(delivery.subject or "")
        if delivery.last_error and needles.found_in(delivery.last_error):
            delivery.last_error = needles.sub(delivery.last_error)
        rows += 1
    rows += scrub_messages(session, bus, codes, needles, extra=[(EarlyEvent, "correlation_id")])
    return rows


@bus.handles("privacy.erasure_requested")
def on_erasure_requested(uow: UnitOfWork, event: Event) -> None:
    codes = list(event.payload["tracking_codes"])
    known = set(uow.session.scalars(select(Contact.correlation_id).where(Contact.correlation_id.in_(codes))))
    if set(codes) - known and event.payload.get("reason") != "retention":  # old requests are all there
        # a request erased before its request.submitted came here: erased once its requester is
        # kept, or their address would come in after the erasure
        raise NotReady(f"requests not seen yet: {', '.join(sorted(set(codes) - known))}")
    rows = erase(uow, codes)
    uow.emit("privacy.notify_erased", {"request_id": event.payload["request_id"], "service": "notify",
                                       "rows": rows, "erased_at": db.utcnow().isoformat()})
