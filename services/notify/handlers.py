"""Notify's use cases: remember whom to write to, write a delivery row per email an event
calls for, send due deliveries (at least once, de-duplicated by the row), and list them for
staff. No Flask here."""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import or_, select, update

from services.notify import mailer
from services.notify.bus import bus
from services.notify.models import AccessLog, Contact, Delivery
from shared import db
from shared.audit import log_access
from shared.auth import Staff
from shared.config import get_settings
from shared.events import Event
from shared.messaging import NotReady, UnitOfWork
from shared.tasks import backoff_seconds
from shared.tracking import tracking_url

log = logging.getLogger(__name__)


@bus.handles("request.submitted")
def remember_requester(uow: UnitOfWork, event: Event) -> None:
    requester = event.payload["requester"]
    contact = uow.session.get(Contact, event.correlation_id)
    if contact is None:
        contact = Contact(correlation_id=event.correlation_id)
        uow.session.add(contact)
    contact.name = requester["name"]
    contact.email = requester["email"]
    contact.language = event.payload.get("language") or "th"


@bus.handles("case.opened")
def write_received(uow: UnitOfWork, event: Event) -> None:
    contact = uow.session.get(Contact, event.correlation_id)
    if contact is None:
        raise NotReady(f"no requester known yet for {event.correlation_id}")
    step = event.payload["step"]
    _add_delivery(uow, event, contact, "received", {
        "code": event.correlation_id,
        "name": contact.name,
        "subject": event.payload.get("subject", ""),
        "sop_title": event.payload.get("sop_title") or {},
        "step_title": step.get("title") or {},
        "step_role": step["role"],
        "link": tracking_url(event.correlation_id),
    })


def _add_delivery(uow: UnitOfWork, event: Event, contact: Contact, template: str, context: dict) -> None:
    uow.session.add(Delivery(
        event_id=event.id, event_type=event.type, correlation_id=event.correlation_id,
        recipient=contact.email, recipient_name=contact.name, template=template,
        language=contact.language, context=context,
    ))


@bus.after_consume
def send_for_event(event: Event) -> None:
    """After every delivery of an event (first or repeated), send what it asked for and is due."""
    with bus.session() as session:
        ids = session.scalars(select(Delivery.id).where(Delivery.event_id == event.id,
                                                         Delivery.status.in_(("pending", "sending")))).all()
    for delivery_id in ids:
        deliver(delivery_id)


def _claim(delivery_id: str) -> bool:
    """Take a delivery for sending. A claim expires, so a worker that died while sending does not
    hold its email forever; the same Message-ID goes out again."""
    settings = get_settings()
    now = db.utcnow()
    with bus.session() as session:
        result = session.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery_id,
                or_(
                    (Delivery.status == "pending") & (Delivery.next_attempt_at <= now),
                    (Delivery.status == "sending") & (Delivery.claimed_until < now),
                ),
            )
            .values(status="sending", claimed_until=now + timedelta(seconds=settings.delivery_claim_seconds),
                    attempts=Delivery.attempts + 1)
        )
        session.commit()
        return result.rowcount == 1


def deliver(delivery_id: str) -> str:
    """Send one delivery if it is due and nobody else is sending it. Returns its status."""
    settings = get_settings()
    if not _claim(delivery_id):
        with bus.session() as session:
            return session.scalar(select(Delivery.status).where(Delivery.id == delivery_id)) or "missing"
    with bus.session() as session:
        delivery = session.get(Delivery, delivery_id)
        try:
            subject, text, html = mailer.render(delivery.template, delivery.language, delivery.context)
            message = mailer.build_message(settings, message_id=delivery.message_id, recipient=delivery.recipient,
                                           recipient_name=delivery.recipient_name, subject=subject,
                                           text=text, html=html)
            delivery.subject = subject
            mailer.send(settings, message, delivery.recipient)
        except Exception as exc:
            permanent = isinstance(exc, (mailer.HeaderInjection, LookupError))
            delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            delivery.claimed_until = None
            if permanent or delivery.attempts >= settings.max_retries:
                delivery.status = "dead"
                session.commit()
                bus.record_dead_letter("notify.deliver", {"delivery_id": delivery.id, "id": delivery.event_id,
                                                          "type": delivery.event_type},
                                       delivery.last_error, delivery.attempts)
            else:
                delivery.status = "pending"
                delivery.next_attempt_at = db.utcnow() + timedelta(
                    seconds=backoff_seconds(delivery.attempts, settings.retry_backoff_max))
                session.commit()
            log.warning("delivery %s failed (attempt %d): %s", delivery.id, delivery.attempts, exc)
            return delivery.status
        delivery.status = "sent"
        delivery.sent_at = db.utcnow()
        delivery.claimed_until = None
        delivery.last_error = None
        session.commit()
        return "sent"


def sweep_deliveries(batch: int = 200) -> int:
    """Send what is due: retries whose backoff has passed, and claims left by a dead worker."""
    now = db.utcnow()
    with bus.session() as session:
        ids = session.scalars(
            select(Delivery.id).where(
                or_((Delivery.status == "pending") & (Delivery.next_attempt_at <= now),
                    (Delivery.status == "sending") & (Delivery.claimed_until < now)))
            .order_by(Delivery.next_attempt_at).limit(batch)
        ).all()
    return sum(1 for delivery_id in ids if deliver(delivery_id) == "sent")


def list_messages(staff: Staff, to: str | None = None, correlation_id: str | None = None,
                  limit: int = 100, offset: int = 0) -> list[Delivery]:
    query = select(Delivery).order_by(Delivery.created_at.desc()).limit(limit).offset(offset)
    if to:
        query = query.where(Delivery.recipient == to)
    if correlation_id:
        query = query.where(Delivery.correlation_id == correlation_id)
    with bus.session() as session:
        rows = list(session.scalars(query))
        if rows:
            log_access(session, AccessLog, staff, "message", [r.id for r in rows], "staff read of the mail log")
            session.commit()
        return rows
