"""Notify's use cases: remember whom to write to, write a delivery row per email an event
calls for, send due deliveries (at least once, de-duplicated by the row), and list them for
staff. No Flask here.

Every email is one ``Delivery`` row per (event, recipient, template), written in the handler's
transaction (with the event's inbox row) and sent after the event is consumed; a retry or a
second delivery of the event finds the row and never sends a second, different mail.

Requester emails go to the ``Contact`` kept from ``request.submitted``, in the request's
language; an event that arrives before it is kept in ``early_events`` and handled when the
request comes. Staff emails go to the contacts
the event carries, each in its own language; a contact without an email is skipped (and
logged), and a step the requester holds never causes staff mail."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from jinja2 import TemplateError
from sqlalchemy import bindparam, false, or_, select, text, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.notify.adapters import mailer
from services.notify.adapters.bus import bus
from services.notify.adapters.models import AccessLog, Contact, Delivery, EarlyEvent, message_id
from services.notify.adapters.models import SeenCaseEvent
from sqlalchemy import and_, exists
from sqlalchemy.orm import aliased
from shared import db, i18n
from shared.audit import log_access
from shared.auth import Staff
from shared.config import get_settings
from shared.events import Event
from shared.messaging import UnitOfWork
from shared.privacy import ERASED
from shared.tasks import backoff_seconds
from shared.tracking import step_file_url, survey_url, tracking_url

log = logging.getLogger(__name__)

# what the requester is told they wait on (a wait on the requester is the "returned" email)
WAITS_TOLD = ("vendor", "procurement-delivery", "procurement-contract")
SURVEY_SCORES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    language: str
    org: str | None = None  # a staff member's organisation


def event_org(event: Event) -> str | None:
    """The organisation an event is of: its ``org``, else its SOP's pack; None when it names neither."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    org = payload.get("org") or str(payload.get("sop") or "").partition("/")[0]
    return str(org)[:50] if org else None


def _both(key: str) -> dict[str, str]:
    """A catalogue message in every language, for a context value the subject picks from."""
    return {lang: i18n.translate(key, lang) for lang in i18n.LANGUAGES}


def _language(value: Any) -> str:
    return value if value in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE


def _add_delivery(uow: UnitOfWork, event: Event, recipient: Recipient, template: str, context: dict,
                  in_order: bool = False) -> None:
    """One email to write. ``in_order``: a requester email, sent in its case's event order
    (``Delivery.seq``; held at most ``ORDER_HOLD``)."""
    seq = event.payload.get("seq") if in_order and isinstance(event.payload, dict) else None
    seq = seq if isinstance(seq, int) and not isinstance(seq, bool) else None
    now = db.utcnow()
    uow.session.add(Delivery(created_at=now,
        event_id=event.id, event_type=event.type, correlation_id=event.correlation_id,
        recipient=recipient.email, recipient_name=recipient.name[:200], template=template,
        org=recipient.org or event_org(event),
        language=recipient.language, context={**context, "name": recipient.name},
        seq=seq, hold_until=now + ORDER_HOLD if seq is not None else None,
    ))


# how long a requester email may wait for its case's earlier emails (or, the closing email, for
# the event before it): past this it goes anyway, so a lost or failing email never holds the rest
ORDER_HOLD = timedelta(minutes=10)


# --- the requester ------------------------------------------------------------------------------

# the first key of the two-key advisory locks that serialise keeping an early event for a request
# with remembering its requester (the second is the tracking code's hash); an arbitrary constant
_REQUESTER_LOCK = 7302


def _lock_requester(uow: UnitOfWork, code: str) -> None:
    """Until this transaction ends, no other may remember the requester of ``code`` or keep an
    early event for it. Without it an event that finds no requester and a requester that finds
    no early event could commit side by side (neither seeing the other's uncommitted row), and
    the email would be lost; with it the second to lock reads what the first committed."""
    uow.lock(_REQUESTER_LOCK, [code])


def _find_contact(uow: UnitOfWork, code: str | None, **options) -> Contact | None:
    """The contact kept for ``code``, without flushing first: contacts are written by Core
    statements (in the database at once) or changed on the object this session already holds, so
    nothing pending can change the answer, and the deliveries a batch adds go to the database in
    one flush at its end instead of one per event."""
    with uow.session.no_autoflush:
        return uow.session.get(Contact, code, **options)


@bus.before_batch
def _remember_batch(uow: UnitOfWork, events: list[Event]) -> None:
    """A batch's requesters, remembered before its other events are handled: the requester locks
    of every request and case event of the batch taken at once in one statement, in the locks' own
    order (two workers' batches then wait on each other, never deadlock), the batch's requests'
    requesters upserted in one statement and their early events taken out in one more, for
    ``remember_requester``. The batch's case events, before or after their request in it, then
    find their requester (``_read_contacts`` runs after this)."""
    requests = {event.correlation_id: event for event in events
                if event.type == "request.submitted" and event.correlation_id}  # the last, if twice
    cased = {event.correlation_id for event in events if event.type.startswith("case.") and event.correlation_id}
    if len(requests) + len(cased) < 2:
        return
    uow.lock(_REQUESTER_LOCK, set(requests) | cased)
    if requests:
        uow.memo["early_events"] = _remember(uow, requests)


def _remember(uow: UnitOfWork, requests: dict[str, Event]) -> dict[str, list[dict]]:
    """Upsert the requesters of ``requests`` (by tracking code) in one statement and take their
    early events out in one more, under their locks (each statement on a snapshot taken after
    the locks are held): the early events' envelopes by code."""
    now = db.utcnow()
    db.driver_execute(uow.session, _REMEMBER, {"contacts": db.json_text([
        {"correlation_id": code, "created_at": now.isoformat(), **_requester_facts(event)}
        for code, event in sorted(requests.items())])})
    early: dict[str, list[dict]] = {code: [] for code in requests}
    for code, envelope in db.driver_rows(uow.session, _TAKE_EARLY, {"codes": sorted(requests)}):
        early[code].append(envelope)
    for code in requests:
        held = uow.session.identity_map.get(uow.session.identity_key(Contact, code))
        if held is not None:  # read earlier in this transaction: it must see what was just written
            uow.session.expire(held)
    return early


@bus.before_batch
def _read_contacts(uow: UnitOfWork, events: list[Event]) -> None:
    """The requesters of a batch's case events, in one statement: ``_find_contact`` then finds
    each in the session (held in ``uow.memo``: the session keeps only what is referenced)."""
    codes = {event.correlation_id for event in events if event.type.startswith("case.") and event.correlation_id}
    if len(codes) > 1:
        with uow.session.no_autoflush:
            uow.memo["contacts"] = list(uow.session.scalars(
                select(Contact).where(Contact.correlation_id.in_(sorted(codes)))))


def _contact(uow: UnitOfWork, event: Event) -> Contact | None:
    """The requester of the event's case; None when ``request.submitted`` has not come yet: the
    event is then kept in ``early_events`` and handled again when it comes (no retry)."""
    contact = _find_contact(uow, event.correlation_id)
    if contact is not None:
        return contact
    _lock_requester(uow, event.correlation_id)  # nothing to send when its batch holds it already
    contact = _find_contact(uow, event.correlation_id, populate_existing=True)
    if contact is None:
        log.info("%s %s came before its request; kept until the request comes", event.type, event.correlation_id)
        uow.session.execute(pg_insert(EarlyEvent.__table__).values(
            event_id=event.id, correlation_id=event.correlation_id, occurred_at=event.occurred_at,
            envelope=event.to_envelope(), created_at=db.utcnow()).on_conflict_do_nothing())
    return contact


def _to_requester(uow: UnitOfWork, event: Event, template: str, **facts) -> None:
    """One email to the case's requester, in the request's language."""
    contact = _contact(uow, event)
    if contact is None or contact.email == ERASED:  # erased (PDPA): no one to write to
        return
    if not contact.email:  # a caller with a phone only, or planned work: no one to write to
        log.info("%s %s: the requester has no email address; no %s email", event.type, event.correlation_id, template)
        return
    payload = event.payload
    code = event.correlation_id
    _add_delivery(uow, event, Recipient(contact.email, contact.name, contact.language), template, {
        "code": code,
        "subject": payload.get("subject") or contact.subject or "",
        "sop_title": payload.get("sop_title") or contact.sop_title or {},
        "link": tracking_url(code),
        **facts,
    }, in_order=True)


# --- staff ---------------------------------------------------------------------------------------

def _staff_recipients(event: Event, contacts: list[dict | None], template: str) -> list[Recipient]:
    """The distinct addresses among ``contacts``; a contact without an email is skipped."""
    recipients, seen = [], set()
    for contact in contacts:
        if not contact:
            continue
        email = (contact.get("email") or "").strip()
        if not email:
            log.info("%s %s: %s has no email address; no %s email", event.type, event.correlation_id,
                     contact.get("username"), template)
            continue
        if len(email) > 254:  # no address is longer; not one to store or send to
            log.warning("%s %s: the address of %s is too long; no %s email", event.type, event.correlation_id,
                        contact.get("username"), template)
            continue
        if email.lower() in seen:
            continue
        seen.add(email.lower())
        recipients.append(Recipient(email, contact.get("name") or contact.get("username") or "",
                                    _language(contact.get("language")), contact.get("org") or None))
    return recipients


def _to_staff(uow: UnitOfWork, event: Event, contacts: list[dict | None], template: str, **facts) -> None:
    for recipient in _staff_recipients(event, contacts, template):
        _add_delivery(uow, event, recipient, template, facts)


def _desk_link(code: str | None = None) -> str:
    """The staff desk, or one case's page on it."""
    base = f"{get_settings().public_url}/assignment/desk"
    return f"{base}/cases/{code}" if code is not None else base


def _case_facts(uow: UnitOfWork, event: Event, step: dict | None) -> dict:
    """What a staff email about one step of a case says (the subject from the event, else from
    the request, when notify knows it)."""
    code = event.correlation_id
    subject = event.payload.get("subject")
    if subject is None:
        contact = _find_contact(uow, code)
        subject = contact.subject if contact is not None else None
    step = step or {}
    return {
        "code": code,
        "subject": subject or event.payload.get("sop") or code,
        "desk_link": _desk_link(code),
        "step_title": step.get("title") or {},
        "step_role": step.get("role") or "",
        "round": step.get("round") or 1,
        "step_due_at": step.get("due_at"),
        "case_due_at": event.payload.get("due_at"),
    }


def _held_by_requester(event: Event, step: dict | None, template: str) -> bool:
    if step and step.get("role") == "requester":
        log.info("%s %s: step %s is the requester's; no %s email to staff", event.type, event.correlation_id,
                 step.get("key"), template)
        return True
    return False


# --- handlers: one per event type notify is subscribed to ---------------------------------------

@bus.handles("request.submitted")
def remember_requester(uow: UnitOfWork, event: Event) -> None:
    """Keep whom to write to about the request (one upsert, under the request's lock), then
    handle the events that came before it."""
    code = event.correlation_id
    remembered = uow.memo.get("early_events")
    if remembered is not None and code in remembered:  # remembered for the whole batch (_remember_batch)
        early = remembered.pop(code)
    else:
        _lock_requester(uow, code)
        early = _remember(uow, {code: event})[code]
    for envelope in sorted(early, key=lambda e: (e["occurred_at"], e["id"])):
        kept = Event.from_envelope(envelope)
        bus.handler(kept.type)(uow, kept)


def _requester_facts(event: Event) -> dict:
    requester = event.payload["requester"]
    return {"name": requester["name"], "email": requester["email"],
            "language": _language(event.payload.get("language")),
            "subject": (event.payload.get("subject") or "")[:300] or None}


_REMEMBER = (f"INSERT INTO {Contact.__table__.name} (correlation_id, name, email, language, subject, created_at) "
             "SELECT correlation_id, name, email, language, subject, created_at FROM json_to_recordset("
             "%(contacts)s::json) AS c(correlation_id text, name text, email text, language text, subject text, "
             "created_at timestamptz) ON CONFLICT (correlation_id) DO UPDATE SET name = EXCLUDED.name, "
             "email = EXCLUDED.email, language = EXCLUDED.language, subject = EXCLUDED.subject")
_TAKE_EARLY = (f"DELETE FROM {EarlyEvent.__table__.name} WHERE correlation_id = ANY(%(codes)s) "
               "RETURNING correlation_id, envelope")


@bus.handles("case.opened")
def write_received(uow: UnitOfWork, event: Event) -> None:
    contact = _contact(uow, event)
    if contact is None:
        return
    if event.payload.get("sop_title"):
        contact.sop_title = event.payload["sop_title"]
    step = event.payload["step"]
    _to_requester(uow, event, "received", step_title=step.get("title") or {}, step_role=step["role"])


@bus.handles("case.step_completed")
def write_step_done(uow: UnitOfWork, event: Event) -> None:
    """A step the pack marks ``notify_requester`` finished, or one that wrote the requester a
    message or gave them files (returns and rejections have their own): with the message and a
    link to each file. The event's ``note`` is staff's own and never goes in."""
    payload = event.payload
    step = payload["step"]
    message = payload.get("message") or ""
    files = [{"name": f.get("name") or "", "size": f.get("size"),
              "url": step_file_url(event.correlation_id, f["id"])}
             for f in payload.get("files") or [] if isinstance(f, dict) and f.get("id")]
    if not (step.get("notify_requester") or message or files) or payload.get("kind") in ("return", "reject"):
        return
    _to_requester(uow, event, "step_done", step_title=step.get("title") or {},
                  completed_at=step.get("completed_at"), has_next=bool(payload.get("next_step")),
                  due_at=payload.get("due_at"), message=message, files=files)


@bus.handles("case.step_returned")
def write_returned(uow: UnitOfWork, event: Event) -> None:
    step = event.payload["step"]
    _to_requester(uow, event, "returned", step_title=step.get("title") or {}, note=event.payload.get("note") or "")


@bus.handles("case.step_rejected")
def write_rejected(uow: UnitOfWork, event: Event) -> None:
    step = event.payload["step"]
    _to_requester(uow, event, "rejected", step_title=step.get("title") or {}, note=event.payload.get("note") or "")


@bus.handles("case.step_waiting")
def write_waiting(uow: UnitOfWork, event: Event) -> None:
    waiting_on = event.payload.get("waiting_on")
    if waiting_on not in WAITS_TOLD:
        return
    step = event.payload["step"]
    _to_requester(uow, event, "waiting", step_title=step.get("title") or {}, waiting_on=waiting_on,
                  waiting_label=_both(f"wait.{waiting_on}"), due_at=event.payload.get("due_at"))


@bus.handles("case.closed")
def write_closed(uow: UnitOfWork, event: Event) -> None:
    code = event.correlation_id
    result = event.payload.get("result") or "completed"
    _to_requester(uow, event, "closed", result=result, result_label=_both(f"result.{result}"),
                  closed_at=event.payload.get("closed_at"), survey_link=survey_url(code),
                  survey=[{"score": score, "url": survey_url(code, score)} for score in SURVEY_SCORES])


@bus.handles("case.step_started")
def write_step_started(uow: UnitOfWork, event: Event) -> None:
    """The step's assignee learns of their new work (an approval when the step has one)."""
    step = event.payload["step"]
    template = "approval_needed" if step.get("needs_approval") else "assigned"
    if _held_by_requester(event, step, template):
        return
    if event.payload.get("self_assigned"):  # their own action gave it to them: no news to them
        log.info("case.step_started %s: %s gave step %s to themselves; no email", event.correlation_id,
                 step.get("assignee"), step.get("key"))
        return
    _to_staff(uow, event, [step.get("assignee_contact")], template, assigned_by=None,
              needs_approval=bool(step.get("needs_approval")), **_case_facts(uow, event, step))


@bus.handles("case.assigned")
def write_reassigned(uow: UnitOfWork, event: Event) -> None:
    """A head gave the step to someone: they learn of it (not someone who took a step themselves)."""
    step = event.payload["step"]
    assigned_by = event.payload.get("assigned_by")
    if _held_by_requester(event, step, "assigned"):
        return
    if assigned_by and assigned_by == step.get("assignee"):
        log.info("case.assigned %s: %s took step %s; no email", event.correlation_id, assigned_by, step.get("key"))
        return
    _to_staff(uow, event, [step.get("assignee_contact")], "assigned", assigned_by=assigned_by,
              needs_approval=bool(step.get("needs_approval")), **_case_facts(uow, event, step))


@bus.handles("case.approval_asked")
def write_approval_asked(uow: UnitOfWork, event: Event) -> None:
    """On a step several people decide together, each person whose turn begins learns of their
    new work: the approval-needed email, in the role they decide in."""
    step = event.payload["step"]
    for person in event.payload.get("asked") or []:
        _to_staff(uow, event, [person.get("contact")], "approval_needed", assigned_by=None, needs_approval=True,
                  **_case_facts(uow, event, {**step, "role": person.get("role") or step.get("role")}))


@bus.handles("sla.breached")
def write_overdue(uow: UnitOfWork, event: Event) -> None:
    """A missed deadline: the step's assignee ("overdue") and the heads, each address once. The
    heads of an escalation (``level`` 1) read the escalation email: the case, its SOP and step,
    how many working days late, and that the director hears when it is still late."""
    payload = event.payload
    step = payload.get("step")
    if _held_by_requester(event, step, "overdue"):
        return
    deadline = "step" if payload.get("deadline") == "step" else "case"
    facts = dict(deadline=deadline, deadline_label=_both(f"email.deadline.{deadline}"),
                 due_at=payload.get("missed_due_at"), assignee=(step or {}).get("assignee"),
                 **_case_facts(uow, event, step or {"title": payload.get("current_step_title") or {}}))
    holder = [step.get("assignee_contact") if step else None]
    if payload.get("level") is None:  # as it was before escalation: one email to all
        _to_staff(uow, event, [*holder, *(payload.get("head_contacts") or [])], "overdue", **facts)
        return
    _to_staff(uow, event, holder, "overdue", **facts)
    told = {r.email.lower() for r in _staff_recipients(event, holder, "overdue")}
    heads = [c for c in payload.get("head_contacts") or [] if (c.get("email") or "").strip().lower() not in told]
    _to_staff(uow, event, heads, "escalation", level=1, level_label=_both("email.escalation.level1"),
              **_escalation_facts(payload), **facts)


def _escalation_facts(payload: dict) -> dict:
    days = int(payload.get("working_days_late") or 0)
    return {"sop_title": payload.get("sop_title") or {}, "days_late": days,
            "late_phrase": {lang: _late_phrase(days, lang) for lang in i18n.LANGUAGES},
            "escalate_at": payload.get("escalate_at"), "told_heads_at": payload.get("told_heads_at"),
            "escalate_after": payload.get("escalate_after")}


def _late_phrase(days: int, lang: str) -> str:
    """How late, in whole working days, as the escalation email says it."""
    if days > 1:
        return i18n.translate("email.escalation.days_late", lang, days=days)
    if days == 1:
        return i18n.translate("email.escalation.one_day", lang)
    return i18n.translate("email.escalation.under_a_day", lang)


@bus.handles("sla.escalated")
def write_escalated(uow: UnitOfWork, event: Event) -> None:
    """A missed deadline still open ``escalate_after`` working days after the heads heard: the
    organisation's director, each address once."""
    payload = event.payload
    step = payload.get("step")
    deadline = "step" if payload.get("deadline") == "step" else "case"
    contacts = payload.get("director_contacts") or []
    if not contacts:
        log.warning("sla.escalated %s: the organisation has no director to tell", event.correlation_id)
    _to_staff(uow, event, contacts, "escalation", level=2, level_label=_both("email.escalation.level2"),
              deadline=deadline,
              deadline_label=_both(f"email.deadline.{deadline}"), due_at=payload.get("missed_due_at"),
              assignee=(step or {}).get("assignee"), **_escalation_facts(payload),
              **_case_facts(uow, event, step or {"title": payload.get("current_step_title") or {}}))


@bus.handles("staff.daily_summary")
def write_daily_summary(uow: UnitOfWork, event: Event) -> None:
    payload = event.payload
    day = payload["day"]
    noon = datetime.combine(datetime.fromisoformat(day).date(), time(12), tzinfo=i18n.BANGKOK)
    items = [{
        "code": item.get("tracking_code") or "",
        "sop_title": item.get("sop_title") or {},
        "step_title": item.get("step_title") or {},
        "subject": item.get("subject") or "",
        "due_at": item.get("due_at"),
        "late": bool(item.get("late")),
        "waiting_on": item.get("waiting_on"),
        "link": _desk_link(item.get("tracking_code") or ""),
    } for item in payload.get("items") or []]
    _to_staff(uow, event, [payload.get("contact")], "daily_summary", day=day, items=items, count=len(items),
              late_count=sum(1 for item in items if item["late"]),
              day_label={lang: i18n.format_datetime(noon, lang, with_time=False) for lang in i18n.LANGUAGES},
              desk_link=_desk_link())


# --- procurement: milestones and incidents -------------------------------------------------------

def _baht(value: Any) -> str:
    """An amount from an event ("1250000.00") as people read it: 1,250,000.00."""
    if value in (None, ""):
        return "-"
    return f"{Decimal(str(value)):,.2f}"


def _procurement_link(payload: dict) -> str:
    return f"{get_settings().public_url}{payload.get('desk_path') or '/procurement/desk'}"


def _milestone_facts(payload: dict) -> dict:
    """What both milestone emails say: the contract, the project and the milestone. They use the
    staff emails' layout: the project's tracking code (when it serves a case) and title, and a
    link to the contract on the procurement desk."""
    contract, project, milestone = payload["contract"], payload["project"], payload["milestone"]
    return {
        "code": project.get("tracking_code"),
        "subject": project.get("title") or "",
        "desk_link": _procurement_link(payload),
        "step_title": {}, "step_role": "", "round": 1, "step_due_at": None, "case_due_at": None,
        "contract_number": contract["number"],
        "vendor_name": contract.get("vendor_name") or "",
        "contract_amount": _baht(contract.get("amount")),
        "seq": milestone["seq"],
        "milestone_title": milestone.get("title") or "",
        "deliverables": milestone.get("deliverables") or "",
        "due_on": milestone["due_on"],
        "amount": _baht(milestone.get("amount")),
    }


def _to_procurement_staff(uow: UnitOfWork, event: Event, template: str, facts: dict) -> None:
    """One email per distinct address among the event's recipients, each in its own language and
    saying in which capacity (officer, inspection committee) the person hears of it."""
    roles = {}
    for contact in event.payload.get("recipients") or []:
        roles.setdefault((contact.get("email") or "").strip().lower(), contact.get("role") or "")
    recipients = _staff_recipients(event, event.payload.get("recipients") or [], template)
    if not recipients:
        log.warning("%s %s: nobody to write to", event.type, event.id)
    for recipient in recipients:
        _add_delivery(uow, event, recipient, template, {**facts, "role": roles.get(recipient.email.lower(), "")})


@bus.handles("procurement.milestone_due")
def write_milestone_due(uow: UnitOfWork, event: Event) -> None:
    """A milestone falls due in so many working days: the officer and the inspection committee."""
    days = int(event.payload.get("days_ahead") or 0)
    if days == 0:
        phrase = _both("email.milestone_due.today")
    elif days == 1:
        phrase = _both("email.milestone_due.in_one_day")
    else:
        phrase = {lang: i18n.translate("email.milestone_due.in_days", lang, days=days) for lang in i18n.LANGUAGES}
    _to_procurement_staff(uow, event, "milestone_due",
                          {**_milestone_facts(event.payload), "days_ahead": days, "due_phrase": phrase})


@bus.handles("procurement.milestone_overdue")
def write_milestone_overdue(uow: UnitOfWork, event: Event) -> None:
    """A milestone was not delivered by its due date: days late and the fine so far."""
    days = int(event.payload.get("days_late") or 0)
    late = {lang: i18n.translate("email.milestone_overdue.one_day", lang) if days == 1
            else i18n.translate("email.milestone_overdue.days", lang, days=days) for lang in i18n.LANGUAGES}
    _to_procurement_staff(uow, event, "milestone_overdue",
                          {**_milestone_facts(event.payload), "days_late": days, "late_phrase": late,
                           "fine_so_far": _baht(event.payload.get("fine_so_far"))})


@bus.handles("procurement.incident_reported")
def write_incident(uow: UnitOfWork, event: Event) -> None:
    """An emergency on a contract: a letter to the vendor's contacts, at once."""
    payload = event.payload
    incident, contract, project = payload["incident"], payload["contract"], payload.get("project") or {}
    vendor = payload.get("vendor") or {}
    severity = incident.get("severity") or "high"
    facts = {
        "contract_number": contract["number"],
        "vendor_name": vendor.get("name") or contract.get("vendor_name") or "",
        "project_title": project.get("title") or "",
        "code": project.get("tracking_code"),
        "severity": severity,
        "severity_label": _both(f"email.incident.severity.{severity}"),
        "description": incident.get("description") or "",
        "reported_by": incident.get("reported_by") or "",
        "reported_at": incident.get("reported_at"),
        "incident_id": incident.get("id"),
    }
    recipients = _staff_recipients(event, payload.get("recipients") or [], "incident")
    if not recipients:
        log.warning("procurement.incident_reported %s: vendor %s has no contact with an email; nobody is told",
                    event.id, facts["vendor_name"])
    for recipient in recipients:
        _add_delivery(uow, event, recipient, "incident", facts)


# --- sending -------------------------------------------------------------------------------------
#
# Emails go out in batches: the deliveries of a consumed batch of events (``send_for_batch``), what
# has fallen due (``sweep_deliveries``) or the one delivery an admin replays (``deliver``). A batch
# is claimed in one statement, sent over one SMTP session (kept open by the process from batch to
# batch, mailer.smtp_session), and each email is marked sent the moment the server accepts it.
#
# A claim sets ``claimed_until``: a worker that dies while sending holds its emails only until
# then; the sweep takes them again and they go out with the same Message-ID. Every row of a batch
# gets the same ``claimed_until``, which also tells this batch's claim from a later one's.

# failures no retry will mend: a header or address refused, a template or subject that cannot render
PERMANENT = (mailer.HeaderInjection, LookupError, TemplateError)

# an email of a batch is started only while this share of the claim is left (time enough to
# send it); the rest go back to pending for the next sweep instead of outliving the claim and
# going out twice, from this worker and from the one that took them after it ran out
CLAIM_SHARE_TO_START = 0.25

# what sending reads of a claimed delivery
_CLAIMED = (Delivery.id, Delivery.event_id, Delivery.event_type, Delivery.recipient, Delivery.recipient_name,
            Delivery.template, Delivery.language, Delivery.context, Delivery.attempts, Delivery.created_at,
            Delivery.seq)

# Marked sent as soon as the server accepted the email, one email at a time, so that a worker
# killed in a batch repeats at most the one email it was sending (with its Message-ID), never the
# ones it sent before. Each mark is one statement in its own transaction with synchronous_commit
# off for that transaction only (set_config(..., true)): the commit does not wait for the WAL to
# reach the disk. That can lose a mark only if PostgreSQL itself crashes within a fraction of a
# second (wal_writer_delay, 200 ms by default), never corrupts anything, and a lost mark leaves
# the row claimed: after the claim the email goes out again with the same Message-ID, which is
# what a worker killed between the server's acceptance and the mark causes anyway.
_MARK_SENT = text(
    "UPDATE deliveries SET status = 'sent', sent_at = :now, claimed_until = NULL, last_error = NULL, "
    "subject = :subject FROM (SELECT set_config('synchronous_commit', 'off', true)) AS asynchronous_commit "
    "WHERE deliveries.id = :id"
)


def _autocommit():
    """A connection of notify's engine where each statement is its own transaction: the claim
    and every mark are one statement each, one round trip."""
    return bus.engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def _claim_statement(which, oldest_first: bool = False):
    """Take for sending, in one statement, the due deliveries ``which`` selects (the ``:limit``
    oldest due when ``oldest_first``): each becomes ``sending`` until ``:until``, one attempt
    more, and is returned. Due: pending and its time (``:now``) has come, or claimed by a worker
    whose claim ran out. Rows another transaction holds are skipped (SKIP LOCKED): claims never
    wait on each other, so they cannot deadlock, and what was skipped stays due for whoever
    holds it or for the sweep. Built once: each claim only binds its values."""
    now = bindparam("now", type_=db.UTCDateTime())
    due = select(Delivery.id).where(
        which,
        or_((Delivery.status == "pending") & (Delivery.next_attempt_at <= now),
            (Delivery.status == "sending") & (Delivery.claimed_until < now)),
    )
    due = due.where(~_held_for_order(now))
    if oldest_first:
        due = due.order_by(Delivery.next_attempt_at).limit(bindparam("limit"))
    due = due.with_for_update(skip_locked=True).cte("due")
    return (update(Delivery).where(Delivery.id == due.c.id)
            .values(status="sending", claimed_until=bindparam("until", type_=db.UTCDateTime()),
                    attempts=Delivery.attempts + 1)
            .returning(*_CLAIMED))


def _held_for_order(now):
    """A requester email that must wait (until its ``hold_until`` at most): an earlier email of
    its case (a lower ``seq``) is still to go, or it closes the case and notify has not yet had
    the case's event right before it (the last step's news)."""
    earlier = aliased(Delivery)
    return and_(
        Delivery.seq.is_not(None), Delivery.hold_until > now,
        or_(exists().where(earlier.correlation_id == Delivery.correlation_id, earlier.seq.is_not(None),
                           earlier.seq < Delivery.seq, earlier.status.in_(("pending", "sending"))),
            and_(Delivery.event_type == "case.closed", Delivery.seq > 1,  # seq 1: nothing came before it
                 ~exists().where(SeenCaseEvent.correlation_id == Delivery.correlation_id,
                                 SeenCaseEvent.seq == Delivery.seq - 1))))


# the deliveries of these events, and of the requests whose early events were just handled, and
# the requester emails of these cases that waited for them
_CLAIM_FOR_EVENTS = _claim_statement(or_(Delivery.event_id.in_(bindparam("event_ids", expanding=True)),
                                         Delivery.correlation_id.in_(bindparam("requests", expanding=True)),
                                         and_(Delivery.correlation_id.in_(bindparam("cases", expanding=True)),
                                              Delivery.seq.is_not(None))))
_CLAIM_ONE = _claim_statement(Delivery.id == bindparam("delivery_id"))
_CLAIM_DUE = _claim_statement(true(), oldest_first=True)


def _claim(connection, statement, params: dict, now: datetime, until: datetime) -> list:
    rows = connection.execute(statement, {**params, "now": now, "until": until}).all()
    return sorted(rows, key=lambda row: (row.created_at, row.id))


def _failed(connection, row, until: datetime, exc: Exception, subject: str | None) -> str:
    """An attempt that did not send: dead at once when no retry will mend it or it was the last,
    else pending again after a backoff. Only while the claim is still this batch's (a worker whose
    claim ran out does not undo what the next one did). Returns the delivery's status."""
    settings = get_settings()
    error = f"{type(exc).__name__}: {exc}"[:2000]
    dead = isinstance(exc, PERMANENT) or row.attempts >= settings.max_retries
    values: dict[str, Any] = {"status": "dead" if dead else "pending", "claimed_until": None, "last_error": error}
    if not dead:
        values["next_attempt_at"] = db.utcnow() + timedelta(
            seconds=backoff_seconds(row.attempts, settings.retry_backoff_max))
    if subject is not None:
        values["subject"] = subject
    result = connection.execute(
        update(Delivery)
        .where(Delivery.id == row.id, Delivery.status == "sending", Delivery.claimed_until == until)
        .values(**values)
    )
    log.warning("delivery %s failed (attempt %d): %s", row.id, row.attempts, exc)
    if result.rowcount != 1:
        return "sending"  # the claim ran out and another worker has the email now
    if dead:
        bus.record_dead_letter("notify.deliver", {"delivery_id": row.id, "id": row.event_id, "type": row.event_type},
                               error, row.attempts)
    return values["status"]


def _release(connection, rows: list, until: datetime) -> None:
    """Give back claimed deliveries that were not tried: pending and due now, the attempt not
    counted (the sweep takes them)."""
    connection.execute(
        update(Delivery)
        .where(Delivery.id.in_([row.id for row in rows]), Delivery.status == "sending",
               Delivery.claimed_until == until)
        .values(status="pending", claimed_until=None, attempts=Delivery.attempts - 1, next_attempt_at=db.utcnow())
    )


def _send(connection, claimed: list, until: datetime) -> dict[str, str]:
    """Render and send the claimed deliveries over one SMTP session, marking each as it goes.
    A server that refuses one email (a recipient, the sender, the content) fails that email
    only. A session that ends is opened again (mailer.SmtpSession.send); when no session can be
    opened (the server is away, a certificate or login refused), that email and the rest of the
    batch fail with that error, one attempt each (retried after a backoff, dead after the last),
    as each would have failed to connect on its own. Returns each delivery's status."""
    settings = get_settings()
    statuses: dict[str, str] = {}
    start_by = until - timedelta(seconds=settings.delivery_claim_seconds * CLAIM_SHARE_TO_START)
    unreachable: Exception | None = None
    with mailer.smtp_session(settings) as smtp:
        for index, row in enumerate(claimed):
            if unreachable is not None:
                statuses[row.id] = _failed(connection, row, until, unreachable, None)
                continue
            if db.utcnow() >= start_by:
                rest = claimed[index:]
                log.warning("%d emails of a batch of %d not started before their claim ran short: "
                            "back to pending", len(rest), len(claimed))
                _release(connection, rest, until)
                statuses.update((other.id, "pending") for other in rest)
                break
            subject = None
            try:
                rendered_subject, text_part, html_part = mailer.render(row.template, row.language, row.context)
                subject = mailer.header_text(rendered_subject)[:300]
                message = mailer.build_message(settings, message_id=message_id(row.id), recipient=row.recipient,
                                               recipient_name=row.recipient_name, subject=rendered_subject,
                                               text=text_part, html=html_part)
            except Exception as exc:
                statuses[row.id] = _failed(connection, row, until, exc, subject)
                continue
            try:
                smtp.send(message, row.recipient)
            except Exception as exc:
                if smtp.connect_failed:
                    unreachable = exc  # no session to be had: the rest would only wait for the same
                statuses[row.id] = _failed(connection, row, until, exc, subject)
                continue
            connection.execute(_MARK_SENT, {"id": row.id, "now": db.utcnow(), "subject": subject})
            statuses[row.id] = "sent"
    return statuses


def _claim_and_send(statement, params: dict) -> dict[str, str]:
    settings = get_settings()
    now = db.utcnow()
    until = now + timedelta(seconds=settings.delivery_claim_seconds)
    statuses: dict[str, str] = {}
    with _autocommit() as connection:
        for _ in range(ORDER_ROUNDS):
            claimed = _claim(connection, statement, params, now, until)
            statuses.update(_send(connection, claimed, until) if claimed else {})
            # a requester email sent may free the next of its case (held for order): claim again
            if not any(row.seq is not None and statuses.get(row.id) == "sent" for row in claimed):
                break
            now = db.utcnow()
            until = now + timedelta(seconds=settings.delivery_claim_seconds)
    return statuses


# how many claims one sending makes at most, one after another, for requester emails held in order
ORDER_ROUNDS = 5


def _seen(events: list[Event]) -> None:
    """Keep which case events (case, seq) notify has consumed: the closing email waits for the
    event right before it."""
    rows = [{"correlation_id": e.correlation_id, "seq": e.payload["seq"]}
            for e in events if e.correlation_id and isinstance(e.payload, dict)
            and isinstance(e.payload.get("seq"), int) and not isinstance(e.payload.get("seq"), bool)]
    if rows:  # one statement whatever the batch's size (the same text: compiled once, by both drivers)
        with _autocommit() as connection:
            connection.execute(_KEEP_SEEN, {"rows": db.json_text(rows), "now": db.utcnow()})


_KEEP_SEEN = text(f"INSERT INTO {SeenCaseEvent.__tablename__} (correlation_id, seq, created_at) "
                  "SELECT correlation_id, seq, :now FROM json_to_recordset(CAST(:rows AS json)) "
                  "AS seen(correlation_id text, seq integer) ON CONFLICT DO NOTHING")


@bus.after_batch
def send_for_batch(events: list[Event]) -> None:
    """After each consumed batch of events (handled now or before: a repeat sends what is still
    due), send what they asked for: one claim, one SMTP session. A request's arrival also sends
    what its early events (handled with it) asked for."""
    if events:
        _seen(events)
        _claim_and_send(_CLAIM_FOR_EVENTS, {
            "event_ids": [event.id for event in events],
            "requests": [event.correlation_id for event in events
                         if event.type == "request.submitted" and event.correlation_id],
            "cases": sorted({event.correlation_id for event in events
                             if event.correlation_id and isinstance(event.payload, dict) and "seq" in event.payload})})


def deliver(delivery_id: str) -> str:
    """Send one delivery if it is due and nobody else is sending it. Returns its status."""
    statuses = _claim_and_send(_CLAIM_ONE, {"delivery_id": delivery_id})
    if delivery_id in statuses:
        return statuses[delivery_id]
    with bus.session() as session:
        return session.scalar(select(Delivery.status).where(Delivery.id == delivery_id)) or "missing"


def redeliver(delivery_id: str) -> str:
    """A dead delivery that an admin replays: the same row (so the same Message-ID) is sent
    again with a fresh round of attempts. A delivery that is not dead is left to the usual
    sending (one already sent is not sent twice)."""
    with bus.session() as session:
        session.execute(
            update(Delivery).where(Delivery.id == delivery_id, Delivery.status == "dead")
            .values(status="pending", attempts=0, next_attempt_at=db.utcnow(), claimed_until=None)
        )
        session.commit()
    return deliver(delivery_id)


def sweep_deliveries(batch: int = 200) -> int:
    """Send what is due, up to ``batch`` emails over one session: retries whose backoff has
    passed, claims left by a dead worker, emails a batch gave back. Returns how many were sent."""
    statuses = _claim_and_send(_CLAIM_DUE, {"limit": batch})
    return sum(1 for status in statuses.values() if status == "sent")


# --- what staff read -----------------------------------------------------------------------------

def list_messages(staff: Staff, to: str | None = None, correlation_id: str | None = None,
                  limit: int = 100, offset: int = 0) -> list[Delivery]:
    query = select(Delivery).order_by(Delivery.created_at.desc()).limit(limit).offset(offset)
    if not staff.sees_all:  # an organisation's mail for those who see all of it (the route's roles)
        query = query.where(Delivery.org == staff.org if staff.sees_org(staff.org) else false())
    if to:
        query = query.where(Delivery.recipient == to)
    if correlation_id:
        query = query.where(Delivery.correlation_id == correlation_id)
    with bus.session() as session:
        rows = list(session.scalars(query))
        if rows:
            for org in sorted({r.org or "" for r in rows}):
                log_access(session, AccessLog, staff, "message", [r.id for r in rows if (r.org or "") == org],
                           "staff read of the mail log", org=org or None)
            session.commit()
        return rows


def _with_deliveries(session, letters: list) -> list[dict]:
    """Each dead letter with its email's delivery (a dead ``notify.deliver``) or None."""
    ids = [letter.envelope.get("delivery_id") for letter in letters if letter.task == "notify.deliver"]
    found = {d.id: d for d in session.scalars(select(Delivery).where(Delivery.id.in_(ids)))} if ids else {}
    return [{"letter": letter, "delivery": found.get(letter.envelope.get("delivery_id"))} for letter in letters]


def _letter_org(row: dict) -> str | None:
    """The organisation a dead letter is of: its email's, else its event's; None for none known."""
    if row["delivery"] is not None:
        return row["delivery"].org
    try:
        return event_org(Event.from_envelope(row["letter"].envelope))
    except Exception:  # noqa: BLE001 - a malformed envelope is of no organisation
        return None


def _visible_letters(staff: Staff, rows: list[dict]) -> list[dict]:
    """An organisation's administrators see its dead letters; a system administrator, all."""
    return rows if staff.sees_all else [row for row in rows if staff.org and _letter_org(row) == staff.org]


def list_dead_letters(staff: Staff, include_replayed: bool = False) -> list[dict]:
    """Notify's dead letters for an admin: failed event handlers and emails, with the email's
    delivery where there is one, of the caller's organisation. Their errors and addresses are
    personal data: the read is logged."""
    letters = bus.dead_letters(include_replayed=include_replayed)
    with bus.session() as session:
        rows = _visible_letters(staff, _with_deliveries(session, letters))
        letters = [row["letter"] for row in rows]
        if letters:
            orgs = {row["letter"].id: _letter_org(row) or "" for row in rows}
            for org in sorted(set(orgs.values())):
                log_access(session, AccessLog, staff, "dead_letter", [i for i, o in orgs.items() if o == org],
                           "admin read of dead letters", org=org or None)
            session.commit()
    return rows


def replay_dead_letter(staff: Staff, letter_id: str) -> dict:
    """Queue a dead letter's task again (``notify.deliver`` re-sends its email with the same
    Message-ID). LookupError: no such letter (or one of another organisation); ValueError:
    replayed already."""
    with bus.session() as session:
        letter = session.get(bus.DeadLetter, letter_id)
        if letter is None or not _visible_letters(staff, _with_deliveries(session, [letter])):
            raise LookupError(letter_id)
    bus.replay_dead_letter(letter_id)
    log.info("dead letter %s replayed by %s", letter_id, staff.username)
    with bus.session() as session:
        [row] = _with_deliveries(session, [session.get(bus.DeadLetter, letter_id)])
        return row

