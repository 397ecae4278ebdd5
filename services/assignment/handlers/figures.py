"""The reports' read model, written by the engine as cases move (``CaseFigure``, ``StepFigure``):
one row per case when it opens, completed when it closes; one row per step when it is done. Each is
written in the same unit of work as the change it counts, with the working time worked out there
and then by the Thai working calendar (which the database does not know), so that the reports
(``handlers.reports``) only ever sum narrow rows over their indexes.

The rules, which the reports and their tests share:
- a step's working time runs from its start to its finish in working time (Monday to Friday,
  office hours, Thai holidays and the admin's days off excluded); the requester's own steps (a
  return for correction waiting on them) are not the service's time and are not written;
- a step is on time when it finished at or before its due time; without a target it is neither;
- a case's working time runs from its receipt to its close in working time, less the working time
  its clock stood still waiting on the requester (``Case.paused_minutes``); it is on time when it
  closed at or before its deadline (which moved on by that waiting); without a deadline, neither.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from services.assignment.adapters.models import Case, CaseFigure, CaseStep, StepFigure, User
from shared.workcal import WorkingCalendar

REQUESTER = "requester"


def case_opened(session, case: Case) -> None:
    """The case counts as received (at ``received_at``, by its channel)."""
    session.add(CaseFigure(case_id=case.id, org=case.org, sop=case.sop, channel=case.channel,
                           received_at=case.received_at))


def case_closed(session, case: Case, cal: WorkingCalendar) -> None:
    """The case counts as closed now, with its result, deadline kept or not, and working time."""
    session.execute(update(CaseFigure).where(CaseFigure.case_id == case.id).values(
        closed_at=case.closed_at, result=case.result, on_time=on_time(case.closed_at, case.due_at),
        working_minutes=case_working_minutes(cal, case.received_at, case.closed_at, case.paused_minutes,
                                             case.paused_since)))


def step_done(session, case: Case, row: CaseStep, kind: str, cal: WorkingCalendar) -> None:
    """``row`` was finished (its ``completed_at`` and ``actor`` set), ending as ``kind``: count it,
    unless it was the requester's. Its unit is the unit of whoever finished it, as they are now
    (none for sopdesk or another service)."""
    if row.role == REQUESTER or row.waiting_on == REQUESTER:
        return
    who = row.actor or row.assignee
    unit = select(User.unit).where(User.username == who).scalar_subquery() if who else None
    session.add(StepFigure(case_id=case.id, step=row.step, round=row.round, org=case.org, sop=case.sop,
                           unit=unit, completed_at=row.completed_at,
                           working_minutes=cal.working_minutes_between(row.started_at, row.completed_at),
                           on_time=on_time(row.completed_at, row.due_at), kind=kind))


def on_time(finished: datetime | None, due: datetime | None) -> bool | None:
    if finished is None or due is None:
        return None
    return finished <= due


def case_working_minutes(cal: WorkingCalendar, received: datetime, closed: datetime | None,
                         paused_minutes: int | None, paused_since: datetime | None = None) -> int | None:
    """Receipt to close in working time, less the waits on the requester: those that ended
    (``paused_minutes``) and one still running at the close (``paused_since``)."""
    if closed is None:
        return None
    waited = (paused_minutes or 0) + (cal.working_minutes_between(paused_since, closed) if paused_since else 0)
    return max(0, cal.working_minutes_between(received, closed) - waited)
