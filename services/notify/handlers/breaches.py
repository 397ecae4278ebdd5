"""Notify's part of the breach register (PDPA s.37(4)): the notice to the people affected by a
personal-data breach, one email per person (the requester of each case the breach names, in the
request's language; a person with several of its cases hears once), and the privacy officers'
reminders of the 72-hour deadline for telling the PDPC Office.

Once per person per breach, whatever repeats: the inbox makes a redelivered event a no-op, and a
second notice of the same breach (more cases named later) skips any address the breach's notice
already went to (its deliveries are found by the breach's correlation id and the template)."""
from __future__ import annotations

import logging

from sqlalchemy import func, select

from services.notify.adapters.bus import bus
from services.notify.adapters.models import Contact, Delivery
from services.notify.handlers.emails import Recipient, _add_delivery, _both, _desk_link, _staff_recipients
from shared.events import Event
from shared.messaging import UnitOfWork
from shared.privacy import ERASED

log = logging.getLogger(__name__)


@bus.handles("breach.notice_requested")
def write_breach_notice(uow: UnitOfWork, event: Event) -> None:
    payload = event.payload
    codes = list(payload["tracking_codes"])
    contacts = list(uow.session.scalars(select(Contact).where(Contact.correlation_id.in_(codes))))
    by_code = {contact.correlation_id: contact for contact in contacts}
    for code in codes:
        if code not in by_code:
            log.warning("breach.notice_requested %s: no requester known for %s; not told", event.correlation_id, code)
    already = {email for email in uow.session.scalars(
        select(func.lower(Delivery.recipient)).where(Delivery.correlation_id == event.correlation_id,
                                                     Delivery.template == "breach_notice"))}
    people: dict[str, list[Contact]] = {}
    for code in codes:
        contact = by_code.get(code)
        if contact is None or not contact.email or contact.email == ERASED:
            continue
        people.setdefault(contact.email.strip().lower(), []).append(contact)
    for email, theirs in people.items():
        if email in already:
            continue
        first = theirs[0]
        _add_delivery(uow, event, Recipient(first.email, first.name, first.language, payload["org"]), "breach_notice", {
            "codes": [contact.correlation_id for contact in theirs],
            "subjects": [contact.subject or "" for contact in theirs],
            "aware_at": payload["aware_at"],
            "description": payload["description"],
            "data_concerned": payload["data_concerned"],
            "measures": payload["measures"],
            "contact_name": payload["contact"]["name"],
            "contact_email": payload["contact"].get("email") or "",
        })


def _write_deadline(uow: UnitOfWork, event: Event, kind: str) -> None:
    payload = event.payload
    recipients = _staff_recipients(event, payload.get("recipients") or [], "breach_deadline")
    if not recipients:
        log.warning("%s %s: the organisation %s has no privacy officer with an email", event.type, event.id,
                    payload["org"])
    for recipient in recipients:
        _add_delivery(uow, event, recipient, "breach_deadline", {
            "kind": kind, "headline": _both("email.breach_deadline.approaching") if kind == "approaching"
            else _both("email.breach_deadline.passed"), "breach_id": payload["breach_id"], "aware_at": payload["aware_at"],
            "pdpc_deadline": payload["pdpc_deadline"], "description": payload["description"],
            "risk": payload["risk"], "link": f"{_desk_link()}/breaches/{payload['breach_id']}",
        })


@bus.handles("breach.pdpc_deadline_approaching")
def write_deadline_approaching(uow: UnitOfWork, event: Event) -> None:
    _write_deadline(uow, event, "approaching")


@bus.handles("breach.pdpc_deadline_passed")
def write_deadline_passed(uow: UnitOfWork, event: Event) -> None:
    _write_deadline(uow, event, "passed")
