"""Milestone reminders and overdue notices, and the working calendar procurement counts with.

Beat runs ``send_due_notices`` every minute (task ``procurement.reminders``). From
``SOPDESK_REMINDERS_AT`` (Bangkok time) on a working day, for every milestone of an ``active``
contract that is not delivered (``delivered_on`` is None):

* **Reminders** (``procurement.milestone_due``), ``SOPDESK_MILESTONE_REMINDER_DAYS`` working days
  ahead (default 5 and 1). An organisation's administrators may set its own hour and days
  (assignment announces them: ``org.reminders_changed``, kept as ``OrgReminders``; ``rules``):
  its milestones follow those. The reminder of ``n`` days falls on ``reminder_day(cal, due_on, n)``: the
  day reached by stepping back ``n`` working days from the due date. A due date that is not itself
  a working day (a Saturday, a holiday) is counted from anyway: a milestone due on Saturday has
  its 1-day reminder on Friday (and one due on Friday, on Thursday).
  On a run, the milestone is ``k`` working days ahead (``days_ahead``: the steps back from the due
  date to today; 0 on the due date). The reminder that belongs to today is the *nearest* one
  whose day has come: the smallest configured ``n >= k``. It is sent unless it, or a nearer one,
  already went out for this due date. So a reminder missed on its day (beat was down) goes out
  later, once, while the due date has not passed, saying how many working days are really left;
  and older missed reminders are never sent in a burst: a contract entered 2 working days before
  a milestone's due date gets one reminder at once ("due in 2 working days", of kind ``due-5``)
  and the 1-day reminder on its day, never two on one day. No reminder after the due date.
* **Overdue notice** (``procurement.milestone_overdue``), once, on the first working day after the
  due date (at or after the hour; later if beat was down), if it is still not delivered: days
  late and the fine so far (``contracts.fine_for`` with today as the delivery date).

Each notice is a ``MilestoneNotice`` row (unique milestone, kind, due date) written in the same
unit of work as its event; the run adds everything without flushing and commits once, so a
repeated run finds the rows and sends nothing, and a concurrent run fails whole at the commit
(the unique key) and sends nothing either. A milestone whose due date moves is told again for
the new date (the key holds the due date).

The calendar: assignment announces the admin's changes (``calendar.changed``: a cabinet-announced
day off added, a library holiday worked, a change reset); procurement keeps them as
``CalendarDay`` rows and counts working days with them (``calendar``)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from services.procurement.adapters.bus import bus
from services.procurement.adapters.models import (CalendarDay, Contract, Milestone, MilestoneNotice, OrgReminders,
                                                  Project)
from services.procurement.handlers import contracts
from services.procurement.handlers.common import money_str, utc_now
from shared.config import get_settings
from shared.events import Event
from shared.i18n import BANGKOK
from shared.messaging import PermanentError, UnitOfWork
from shared.workcal import WorkingCalendar, calendar_from_days

log = logging.getLogger(__name__)

OVERDUE = "overdue"
CALENDAR_KINDS = ("holiday", "workday", "reset")
_ONE_DAY = timedelta(days=1)


# --- the calendar ----------------------------------------------------------------------------------

def calendar(session: Session) -> WorkingCalendar:
    """Thai working time from configuration plus the admin's changes assignment announced."""
    return calendar_from_days(get_settings(), session.scalars(select(CalendarDay)))


def on_calendar_changed(uow: UnitOfWork, event: Event) -> None:
    """Keep one admin change (``{day, kind: holiday|workday|reset, name}``). The newest event per
    day wins: one that happened before the change already kept (delivered late, or twice with a
    different id) changes nothing."""
    payload = event.payload
    try:
        day = date.fromisoformat(payload["day"])
        kind = payload["kind"]
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentError(f"calendar.changed without a valid day and kind: {payload!r}") from exc
    if kind not in CALENDAR_KINDS:
        raise PermanentError(f"calendar.changed of unknown kind {kind!r}")
    row = uow.session.get(CalendarDay, day)
    if row is not None and row.changed_at is not None and row.changed_at >= event.occurred_at:
        log.info("calendar.changed %s for %s is older than the change kept (%s); ignored", event.id, day,
                 row.changed_at.isoformat())
        return
    if row is None:
        row = CalendarDay(day=day)
        uow.session.add(row)
    row.kind = kind
    row.name = (payload.get("name") or "")[:200]
    row.changed_at = event.occurred_at


# --- working-day counting ------------------------------------------------------------------------

def previous_working_day(cal: WorkingCalendar, day: date) -> date:
    """The last working day strictly before ``day``."""
    day -= _ONE_DAY
    while not cal.is_working_day(day):
        day -= _ONE_DAY
    return day


def next_working_day(cal: WorkingCalendar, day: date) -> date:
    """The first working day strictly after ``day``."""
    return cal.next_working_day(day + _ONE_DAY)


def reminder_day(cal: WorkingCalendar, due_on: date, n: int) -> date:
    """The day of the reminder ``n`` working days ahead of ``due_on``: ``n`` working days counted
    back from the due date. A due date that is not a working day is counted from all the same
    (due on Saturday: the 1-day reminder is on Friday)."""
    day = due_on
    for _ in range(n):
        day = previous_working_day(cal, day)
    return day


def days_ahead(cal: WorkingCalendar, today: date, due_on: date) -> int:
    """How many steps back from ``due_on``, one working day at a time, reach ``today``: 0 on the
    due date, 1 on the day of the 1-day reminder (due on a Monday: 1 on the Friday before, and on
    the weekend between). The reminders count on working days; the desk shows it any day."""
    steps, day = 0, due_on
    while day > today:
        day -= _ONE_DAY
        while not cal.is_working_day(day) and day > today:
            day -= _ONE_DAY
        steps += 1
    return steps


def _due_kind(n: int) -> str:
    return f"due-{n}"


def _kind_days(kind: str) -> int | None:
    if kind.startswith("due-"):
        try:
            return int(kind[4:])
        except ValueError:
            return None
    return None


# --- the notices -------------------------------------------------------------------------------------

def recipients(project: Project) -> list[dict]:
    """The project's responsible officer and every member of its inspection committee who has an
    email, each address once (the officer first)."""
    found, seen = [], set()

    def add(name, email, language, role):
        email = (email or "").strip()
        if not email or email.lower() in seen:
            return
        seen.add(email.lower())
        found.append({"name": name or email, "email": email,
                      "language": language if language in ("th", "en") else "th", "role": role})

    officer = project.officer_contact or {}
    add(officer.get("name") or project.officer, officer.get("email"), officer.get("language"), "officer")
    for committee in project.committees:
        if committee.kind == "inspection":
            for member in committee.members:
                add(member.name, member.email, member.language, "inspection-committee")
    return found


def notice_payload(contract: Contract, milestone: Milestone) -> dict:
    """What both notices say of the contract, the project and the milestone, and to whom."""
    project = contract.project
    return {
        "org": contract.org,
        "contract": {"id": contract.id, "number": contract.number, "amount": money_str(contract.amount),
                     "vendor_name": contract.vendor.name if contract.vendor else ""},
        "project": {"id": project.id, "title": project.title, "tracking_code": project.tracking_code},
        "milestone": {"id": milestone.id, "seq": milestone.seq, "title": milestone.title,
                      "deliverables": milestone.deliverables, "due_on": milestone.due_on.isoformat(),
                      "amount": money_str(milestone.amount), "state": milestone.state},
        "recipients": recipients(project),
        "desk_path": f"/procurement/desk/contracts/{contract.id}",
    }


def _emit(uow: UnitOfWork, event_type: str, contract: Contract, milestone: Milestone, **facts) -> None:
    payload = {**facts, **notice_payload(contract, milestone)}
    if not payload["recipients"]:
        log.warning("%s: contract %s milestone %s has no officer or inspection committee member with an email; "
                    "the notice is recorded, nobody is told", event_type, contract.number, milestone.seq)
    uow.emit(event_type, payload, correlation_id=contract.project.tracking_code)


def _clock(text: str) -> time:
    hour, minute = (int(part) for part in text.split(":"))
    return time(hour, minute)


@dataclass(frozen=True)
class Rule:
    """When an organisation's reminders go out and how many working days ahead (largest first)."""
    start: time
    days: tuple[int, ...]


def rules(session: Session) -> tuple[Rule, dict[str, Rule]]:
    """The configuration's rule, and each organisation's own (what its administrators set, the
    rest the configuration's)."""
    settings = get_settings()
    default = Rule(_clock(settings.reminders_at), tuple(sorted(settings.milestone_reminder_days, reverse=True)))
    own = {}
    for row in session.scalars(select(OrgReminders)):
        own[row.org] = Rule(_clock(row.reminders_at) if row.reminders_at else default.start,
                            tuple(sorted(row.reminder_days, reverse=True)) if row.reminder_days else default.days)
    return default, own


def on_reminders_changed(uow: UnitOfWork, event: Event) -> None:
    """Keep an organisation's reminder settings; an announcement older than the one kept (late,
    or twice) changes nothing."""
    payload = event.payload
    moment = datetime.fromisoformat(payload["changed_at"])
    row = uow.session.get(OrgReminders, payload["org"], with_for_update=True)
    if row is not None and row.changed_at >= moment:
        return
    if row is None:
        row = OrgReminders(org=payload["org"], changed_at=moment)
        uow.session.add(row)
    row.reminders_at, row.reminder_days, row.changed_at = (payload.get("reminders_at"), payload.get("reminder_days"),
                                                           moment)


def send_due_notices(now: datetime | None = None) -> dict:
    """Send what is due today (see the module's docstring). Returns ``{"day", "due", "overdue"}``:
    the Bangkok day considered (None before the hour or on a day off) and how many reminders and
    overdue notices this run sent. A run that lost to a concurrent one sends nothing."""
    now = utc_now(now)
    local = now.astimezone(BANGKOK)
    result = {"day": None, "due": 0, "overdue": 0}
    today = local.date()
    with bus.unit_of_work() as uow:
        session = uow.session
        default, own = rules(session)
        every = [default, *own.values()]
        if local.time() < min(rule.start for rule in every):  # no organisation's hour yet
            return result
        cal = calendar(session)
        if not cal.is_working_day(today):
            return result
        result["day"] = today.isoformat()
        # no due date after this one has a reminder today (its k is above every organisation's n)
        horizon = today
        for _ in range(max(max(rule.days) for rule in every)):
            horizon = next_working_day(cal, horizon)
        told_overdue = exists().where(MilestoneNotice.milestone_id == Milestone.id,
                                      MilestoneNotice.kind == OVERDUE,
                                      MilestoneNotice.due_on == Milestone.due_on)
        milestones = session.scalars(
            select(Milestone).join(Contract, Contract.id == Milestone.contract_id)
            .where(Contract.status == "active", Milestone.delivered_on.is_(None), Milestone.due_on <= horizon,
                   ~told_overdue)
            .options(joinedload(Milestone.contract).joinedload(Contract.project))
            .order_by(Milestone.due_on, Milestone.id)).unique().all()
        sent: dict[int, set[tuple[str, date]]] = {}
        if milestones:
            for notice in session.scalars(select(MilestoneNotice).where(
                    MilestoneNotice.milestone_id.in_([m.id for m in milestones]))):
                sent.setdefault(notice.milestone_id, set()).add((notice.kind, notice.due_on))
        # no flush before the commit: a concurrent run's rows make this one fail there, whole
        with session.no_autoflush:
            for milestone in milestones:
                contract = milestone.contract
                rule = own.get(contract.org, default)
                if local.time() < rule.start:  # this organisation's hour has not come yet
                    continue
                reminder_days = sorted(rule.days)
                told = {kind for kind, due_on in sent.get(milestone.id, ()) if due_on == milestone.due_on}
                if today > milestone.due_on:
                    if OVERDUE in told:
                        continue
                    days_late, fine = contracts.fine_for(contract, milestone, today)
                    session.add(MilestoneNotice(milestone_id=milestone.id, kind=OVERDUE, due_on=milestone.due_on,
                                                sent_at=now))
                    _emit(uow, "procurement.milestone_overdue", contract, milestone, days_late=days_late,
                          fine_so_far=money_str(fine))
                    result["overdue"] += 1
                    continue
                ahead = days_ahead(cal, today, milestone.due_on)
                current = [n for n in reminder_days if n >= ahead]
                if not current:
                    continue
                n = current[0]
                nearer_told = [d for d in map(_kind_days, told) if d is not None and d <= n]
                if nearer_told:
                    continue
                session.add(MilestoneNotice(milestone_id=milestone.id, kind=_due_kind(n), due_on=milestone.due_on,
                                            sent_at=now))
                _emit(uow, "procurement.milestone_due", contract, milestone, days_ahead=ahead)
                result["due"] += 1
        try:
            uow.commit()
        except IntegrityError:  # a concurrent run sent these first
            uow.rollback()
            log.info("procurement reminders of %s: a concurrent run sent them", today)
            return {"day": today.isoformat(), "due": 0, "overdue": 0}
        return result
