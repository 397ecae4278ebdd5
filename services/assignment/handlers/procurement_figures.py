"""Procurement as the reports count it (issue 15): projects by stage, contracts signed and their
value, milestones due and late, fines and payments, per organisation and period.

Procurement's tables are its own, so assignment keeps narrow copies of what the reports need
(``ProcurementProject``, ``ProcurementContract``, ``ProcurementMilestone``) from procurement's
events, and ``summary`` reads only those. Every contract event carries the whole of its contract's
brief, its project's stage and its milestone as they stand after it (``contracts._emit``), so
each event is written as a snapshot, upserted by procurement's ids: a row takes an event's values
only when the event is at least as new (``occurred_at``) as the newest that described it
(``seen_at``). A repeat changes nothing, and an older event arriving after a newer one cannot
bring back an earlier state. Facts that never change once known (the day a contract was signed,
when a project was recorded) are kept whatever the order.

Fed by ``project_created``, ``purchase_opened`` (a purchase opened for a case: a project too),
``project_stage_changed``, ``project_cancelled`` and ``milestone_added`` (handled here), and by
the contract news ``handlers.cases.on_contract_news`` also keeps in a case's trail
(``contract_signed``, ``milestone_delivered``, ``_rejected``, ``_accepted``, ``_paid``, ``_due``,
``_overdue``), which passes each to ``record``. An event without its organisation is not counted
(every producer writes it)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert

from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import ProcurementContract, ProcurementMilestone, ProcurementProject
from shared import db
from shared.events import Event
from shared.i18n import BANGKOK
from shared.messaging import UnitOfWork

# procurement's project stages in their order (``procurement.domain.stages.PROJECT_STAGES``)
STAGES = ("draft", "quotes", "approval", "procurement", "contract", "delivered", "completed", "cancelled")
CLOSED = ("completed", "cancelled")  # a project closed before a period is not of it
CENT = Decimal("0.01")

# the contract events whose payload is a contract, its project and (but for the signing) a milestone
_WITH_CONTRACT = ("procurement.contract_signed", "procurement.milestone_added", "procurement.milestone_delivered",
                  "procurement.milestone_rejected", "procurement.milestone_accepted", "procurement.milestone_paid")
# the reminders before and after a milestone falls due: sent only for a milestone not delivered, of
# an active contract (``reminders.send_due_notices``), and say so much of it
_NOTICES = ("procurement.milestone_due", "procurement.milestone_overdue")


# ---------------------------------------------------------------------------------------------
# keeping the copies


@bus.handles("procurement.project_created")
@bus.handles("procurement.purchase_opened")
@bus.handles("procurement.project_stage_changed")
@bus.handles("procurement.project_cancelled")
@bus.handles("procurement.milestone_added")
def on_procurement_news(uow: UnitOfWork, event: Event) -> None:
    """Procurement's news that only the reports keep (no case's trail shows it)."""
    record(uow, event)


def record(uow: UnitOfWork, event: Event) -> None:
    """Keep what ``event`` says of a project, a contract or a milestone (see the module's rules).
    Safe to run twice, and in any order."""
    payload = event.payload
    org = payload.get("org")
    if not org:
        return
    at = event.occurred_at
    kind = event.type
    if kind in ("procurement.project_created", "procurement.project_stage_changed"):
        _project(uow, org, payload["project_id"], payload["stage"], at)
    elif kind == "procurement.purchase_opened":
        _project(uow, org, payload["project_id"], "draft", at)  # opened as a draft (``_open_for_case``)
    elif kind == "procurement.project_cancelled":
        _project(uow, org, payload["project_id"], "cancelled", at)
    elif kind in _WITH_CONTRACT:
        project, contract = payload["project"], payload["contract"]
        _project(uow, org, project["id"], project["stage"], at)
        _contract(uow, org, contract["id"], project["id"], _money(contract["amount"]), contract["status"], at,
                  signed_on=_day(payload.get("signed_on")) if kind == "procurement.contract_signed" else None)
        briefs = {m["id"]: m for m in [*(payload.get("milestones") or ()),
                                       *([payload["milestone"]] if payload.get("milestone") else ())]}
        _milestones(uow, org, contract["id"], (_from_brief(m) for m in briefs.values()), at)
    elif kind in _NOTICES:
        contract, milestone = payload["contract"], payload["milestone"]
        _contract(uow, org, contract["id"], payload["project"]["id"], _money(contract["amount"]), "active", at)
        # not delivered (the notices go for no other), hence neither fined, accepted nor paid
        _milestones(uow, org, contract["id"], [{
            "id": milestone["id"], "due_on": _day(milestone["due_on"]), "amount": _money(milestone["amount"]),
            "state": milestone["state"], "delivered_on": None, "days_late": 0, "fine_amount": Decimal("0.00"),
            "accepted_on": None, "paid_on": None, "paid_amount": None}], at)


def _project(uow: UnitOfWork, org: str, project_id: int, stage: str, at: datetime) -> None:
    table = ProcurementProject.__table__
    row = insert(table).values(id=project_id, org=org, stage=stage, created_at=at, seen_at=at)
    newer = row.excluded.seen_at >= table.c.seen_at
    uow.session.execute(row.on_conflict_do_update(index_elements=[table.c.id], set_={
        "stage": case((newer, row.excluded.stage), else_=table.c.stage),
        "seen_at": func.greatest(table.c.seen_at, row.excluded.seen_at),
        "created_at": func.least(table.c.created_at, row.excluded.created_at)}))


def _contract(uow: UnitOfWork, org: str, contract_id: int, project_id: int, amount: Decimal, status: str,
              at: datetime, signed_on: date | None = None) -> None:
    table = ProcurementContract.__table__
    row = insert(table).values(id=contract_id, org=org, project_id=project_id, signed_on=signed_on, amount=amount,
                               status=status, seen_at=at)
    newer = row.excluded.seen_at >= table.c.seen_at
    uow.session.execute(row.on_conflict_do_update(index_elements=[table.c.id], set_={
        "amount": case((newer, row.excluded.amount), else_=table.c.amount),
        "status": case((newer, row.excluded.status), else_=table.c.status),
        "seen_at": func.greatest(table.c.seen_at, row.excluded.seen_at),
        "signed_on": func.coalesce(table.c.signed_on, row.excluded.signed_on)}))


_MILESTONE_STATE = ("due_on", "amount", "state", "delivered_on", "days_late", "fine_amount", "accepted_on", "paid_on",
                    "paid_amount")


def _milestones(uow: UnitOfWork, org: str, contract_id: int, milestones: Iterable[dict], at: datetime) -> None:
    rows = [{**m, "contract_id": contract_id, "org": org, "seen_at": at} for m in milestones]
    if not rows:
        return
    table = ProcurementMilestone.__table__
    statement = insert(table).values(rows)
    uow.session.execute(statement.on_conflict_do_update(
        index_elements=[table.c.id],
        set_={**{name: statement.excluded[name] for name in _MILESTONE_STATE}, "seen_at": statement.excluded.seen_at},
        where=table.c.seen_at <= statement.excluded.seen_at))


def _from_brief(brief: dict) -> dict:
    """A milestone as procurement's ``_milestone_brief`` writes it, as the row keeps it."""
    return {"id": brief["id"], "due_on": _day(brief["due_on"]), "amount": _money(brief["amount"]),
            "state": brief["state"], "delivered_on": _day(brief.get("delivered_on")),
            "days_late": brief.get("days_late") or 0,
            "fine_amount": _money(brief.get("fine_amount")) or Decimal("0.00"),
            "accepted_on": _day(brief.get("accepted_on")), "paid_on": _day(brief.get("paid_on")),
            "paid_amount": _money(brief.get("paid_amount"))}


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _money(text: str | None) -> Decimal | None:
    return Decimal(text) if text is not None else None


# ---------------------------------------------------------------------------------------------
# reading


def summary(session, org: str, first_day: date, last_day: date, today: date | None = None) -> dict | None:
    """An organisation's procurement in the Bangkok days ``first_day`` to ``last_day``; None when
    procurement has told of no project or contract of it at all.

    - ``projects_by_stage``: the projects of the period (recorded by its last day, and not
      completed or cancelled before its first) by the stage each stands at now;
    - ``contracts``, ``contract_value``: the contracts signed in the period and their amounts;
    - ``milestones_due``: the milestones due in the period; ``milestones_late``: those of them
      delivered after their due day (the delivery that stands, as procurement counts days late
      and fines), or not delivered and past it on ``today`` (Bangkok's, unless given);
    - ``fines``, ``payments``: of the milestones paid in the period, the fines deducted and what
      was paid (the amount less the fine).

    Money is text with two decimals ("12500.00"), as procurement writes it."""
    known = select(exists().where(ProcurementProject.org == org)).scalar_subquery()
    signed = select(exists().where(ProcurementContract.org == org)).scalar_subquery()
    if not session.scalar(select(or_(known, signed))):
        return None
    today = today or db.utcnow().astimezone(BANGKOK).date()
    start = datetime.combine(first_day, time.min, BANGKOK)
    end = datetime.combine(last_day + timedelta(days=1), time.min, BANGKOK)

    P = ProcurementProject
    by_stage = dict(session.execute(
        select(P.stage, func.count()).where(P.org == org, P.created_at < end,
                                            or_(P.stage.not_in(CLOSED), P.seen_at >= start))
        .group_by(P.stage)).all())
    order = {stage: n for n, stage in enumerate(STAGES)}

    C = ProcurementContract
    contracts, value = session.execute(
        select(func.count(), func.sum(C.amount)).where(C.org == org, C.signed_on.between(first_day, last_day))).one()

    M = ProcurementMilestone
    late = or_(M.delivered_on > M.due_on, and_(M.delivered_on.is_(None), M.due_on < today))
    due, late_n = session.execute(
        select(func.count(), func.count().filter(late))
        .where(M.org == org, M.due_on.between(first_day, last_day))).one()
    fines, payments = session.execute(
        select(func.sum(M.fine_amount), func.sum(M.paid_amount))
        .where(M.org == org, M.paid_on.between(first_day, last_day))).one()
    return {
        "projects_by_stage": {stage: by_stage[stage]
                              for stage in sorted(by_stage, key=lambda s: (order.get(s, 99), s))},
        "contracts": contracts,
        "contract_value": _baht(value),
        "milestones_due": due,
        "milestones_late": late_n,
        "fines": _baht(fines),
        "payments": _baht(payments),
    }


def _baht(amount) -> str:
    return str(Decimal(amount or 0).quantize(CENT))
