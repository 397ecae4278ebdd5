"""Assignment's use cases for the walking skeleton: open a case at its SOP's first step when a
request is submitted, and read cases for staff. The full engine (actions, targets, waits) grows
here. No Flask here."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from services.assignment.bus import bus
from services.assignment.models import AccessLog, Case, CaseStep
from shared import db
from shared.audit import log_access
from shared.auth import Staff
from shared.events import Event
from shared.messaging import PermanentError, UnitOfWork
from shared.packs import find_sop


@bus.handles("request.submitted")
def open_case(uow: UnitOfWork, event: Event) -> None:
    payload = event.payload
    sop = find_sop(payload["sop"])
    if sop is None:
        raise PermanentError(f"no SOP {payload['sop']}")
    now = db.utcnow()
    first = sop.first_step
    case = Case(
        tracking_code=payload["tracking_code"],
        request_event_id=event.id,
        sop=sop.full_key,
        pack_version=sop.pack_version,
        status="open",
        subject=payload["subject"],
        details=payload["details"],
        requester_name=payload["requester"]["name"],
        requester_unit=payload["requester"]["unit"],
        fields=payload.get("fields") or {},
        channel=payload.get("channel", "web"),
        received_at=datetime.fromisoformat(payload["received_at"]),
        opened_at=now,
        current_step=first.key,
    )
    case.steps = [CaseStep(position=1, step=first.key, round=1, role=first.role, status="active", started_at=now)]
    uow.session.add(case)
    uow.emit(
        "case.opened",
        {
            "tracking_code": case.tracking_code,
            "sop": sop.full_key,
            "sop_title": sop.title,
            "subject": case.subject,
            "opened_at": now.isoformat(),
            "received_at": case.received_at.isoformat(),
            "due_at": None,
            "step": {"key": first.key, "title": first.title, "role": first.role, "round": 1,
                     "started_at": now.isoformat(), "due_at": None},
        },
        correlation_id=case.tracking_code,
    )


def list_cases(sop: str | None = None, status: str | None = None, assignee: str | None = None,
               overdue: bool | None = None, limit: int = 100, offset: int = 0) -> list[Case]:
    query = select(Case).order_by(Case.opened_at.desc()).limit(limit).offset(offset)
    if sop:
        query = query.where(Case.sop == sop)
    if status:
        query = query.where(Case.status == status)
    if assignee:
        query = query.where(Case.steps.any((CaseStep.assignee == assignee) & (CaseStep.status == "active")))
    if overdue is not None:
        late = Case.steps.any((CaseStep.status == "active") & (CaseStep.due_at < db.utcnow()))
        query = query.where(late if overdue else ~late)
    with bus.session() as session:
        return list(session.scalars(query))


def read_case(tracking_code: str, staff: Staff) -> Case | None:
    """A case with its steps; the read of the requester's data is logged."""
    with bus.session() as session:
        case = session.scalar(select(Case).where(Case.tracking_code == tracking_code)
                              .options(selectinload(Case.steps)))
        if case is not None:
            log_access(session, AccessLog, staff, "case", case.tracking_code, "staff read of a case")
            session.commit()
        return case


def allowed_actions(case: Case, staff: Staff) -> list[dict]:
    """What the caller may do now: the outcomes of the current step, when they hold its role."""
    if case.status != "open":
        return []
    sop = find_sop(case.sop)
    actions = []
    for step in case.steps:
        if step.status != "active":
            continue
        if step.role in staff.roles or "admin" in staff.roles:
            definition = sop.step(step.step) if sop else None
            outcomes = sorted(definition.outcomes) if definition else []
            actions.append({"step": step.step, "outcomes": outcomes})
    return actions
