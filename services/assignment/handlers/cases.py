"""Assignment's use cases: open a case when a request is submitted, act on it, resume it when
another service says what it waited for, report missed deadlines, and read cases and work for
staff. Each use case is one unit of work: the change, its trail and its events commit together.
The rules themselves are in ``domain/workflow.py``; ``engine`` applies them. No Flask here."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import quote

from sqlalchemy import and_, delete, exists, false, func, or_, select, text, true, union, union_all
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, selectinload

from services.assignment.adapters import packstore
from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import (AccessLog, Case, CaseStep, DailySummary, EarlyAssetCheck, SurveyScore,
                                                 TrailEntry)
from services.assignment.adapters.models import CaseDocument, CasePerson, CaseTally, CaseTallyChange, CaseUnit
from services.assignment.adapters.models import SurveyTally, asked_person
from services.assignment.domain import search, workflow
from services.assignment.adapters.models import DailySummaryRun, User
from services.assignment.domain import escalation
from services.assignment.handlers import directory, procurement_figures
from services.assignment.handlers.commands import StepAction
from services.assignment.handlers.engine import Engine, calendar as working_calendar, emit_case_event
from services.assignment.handlers.engine import approval_json, decisions_of
from shared import db
from shared.audit import log_access
from shared.auth import ORG_WIDE_ROLES, Staff, file_grant_subject, grant
from shared.config import get_settings
from shared.errors import Conflict, Forbidden, Invalid, Refusal
from shared.events import Event
from shared.i18n import BANGKOK
from shared.messaging import PermanentError, UnitOfWork
from shared.packs import Sop
from shared.workcal import fiscal_year_bounds

__all__ = ["Refusal", "Conflict", "Forbidden", "Invalid", "act", "allowed_actions", "list_cases", "my_work",
           "open_case", "read_case", "satisfaction", "send_daily_summaries", "sweep_sla"]


def _sop(case: Case, session=None) -> Sop:
    sop = packstore.sop_for(case.sop, case.pack_version, session)
    if sop is None:
        raise PermanentError(f"{case.sop} version {case.pack_version} is not loaded")
    return sop


@bus.handles("request.submitted")
def open_case(uow: UnitOfWork, event: Event) -> None:
    payload = event.payload
    sop = packstore.sop_for(payload["sop"], session=uow.session)
    if sop is None:
        raise PermanentError(f"no SOP {payload['sop']} is loaded")
    now = db.utcnow()
    early_check = _take_early_asset_check(uow, payload["tracking_code"])
    case = Case(
        id=db.new_id(),  # known now, so that nothing needs flushing before the commit
        tracking_code=payload["tracking_code"],
        request_event_id=event.id,
        sop=sop.full_key,
        org=sop.full_key.split("/")[0],
        pack_version=sop.pack_version,
        status="open",
        subject=payload["subject"],
        details=payload["details"],
        requester_name=payload["requester"]["name"],
        requester_unit=payload["requester"]["unit"],
        fields=payload.get("fields") or {},
        attachments=payload.get("attachments") or [],
        channel=payload.get("channel", "web"),
        received_at=datetime.fromisoformat(payload["received_at"]),
        opened_at=now,
        team=[],
        values={},
        seq=0,
        paused_minutes=0,
        asset=early_check,  # the case is new: a check kept before it is the newest it has seen
    )
    uow.session.add(case)
    Engine(uow, case, sop, now).open()


def _locked_case(uow: UnitOfWork, tracking_code: str) -> Case | None:
    """The case, locked for this transaction (two actors never move it at once). A case this
    transaction is opening (an earlier event of its batch) is its own, not yet flushed: no other
    can see it. Otherwise one read that flushes nothing first: a stored case comes back as the
    object this session holds, with what earlier events of the batch changed on it."""
    for pending in uow.session.new:
        if isinstance(pending, Case) and pending.tracking_code == tracking_code:
            return pending
    known = uow.memo.get("locked_cases", {}).get(tracking_code)
    if known is not None:  # locked for the whole batch (_lock_batch_cases)
        return known
    with uow.session.no_autoflush:
        return uow.session.scalar(select(Case).where(Case.tracking_code == tracking_code).with_for_update())


@bus.before_batch
def _open_batch(uow: UnitOfWork, events: list[Event]) -> None:
    """The opening locks (``_lock_opening``) of every case a batch opens or may keep an early
    asset check for, taken at once, in the locks' own order, then the early checks of the cases it
    opens taken out in one statement, for ``_take_early_asset_check`` (and, for the checks that
    come later in the same batch, ``on_asset_checked``). Taken one by one, in each batch's own
    order, two workers' batches (one opening X then Y, the other keeping checks for Y then X)
    deadlocked: each then waited a second for PostgreSQL to see it and handled its batch again one
    event at a time."""
    opening = sorted({event.payload.get("tracking_code") for event in events
                      if event.type == "request.submitted" and isinstance(event.payload, dict)} - {None})
    checked = {event.payload.get("tracking_code") for event in events
               if event.type == "procurement.asset_checked" and isinstance(event.payload, dict)} - {None}
    if len(opening) + len(checked) < 2:
        return
    uow.lock(_OPENING_LOCK, set(opening) | checked)
    if opening:
        uow.memo["early_checks"] = _take_early_checks(uow, opening)


def _take_early_checks(uow: UnitOfWork, tracking_codes: list[str]) -> dict[str, dict | None]:
    """The asset checks kept for these cases before they opened, taken out of
    ``early_asset_checks`` in one statement (under their opening locks, on a snapshot taken after
    they are held; checks are written by Core statements: nothing pending to flush); None for a
    case that has none."""
    return {code: None for code in tracking_codes} | dict(db.driver_rows(
        uow.session, _TAKE_EARLY_CHECKS, {"tracking_codes": list(tracking_codes)}))


_TAKE_EARLY_CHECKS = (f"DELETE FROM {EarlyAssetCheck.__table__.name} WHERE tracking_code = ANY(%(tracking_codes)s) "
                      "RETURNING tracking_code, asset")


@bus.before_batch
def _lock_batch_cases(uow: UnitOfWork, events: list[Event]) -> None:
    """The stored cases a batch's asset checks are about, read and locked in one statement, in
    the order of their tracking codes (two workers' batches then wait on each other, never
    deadlock), for ``_locked_case``."""
    codes = sorted({event.payload.get("tracking_code") for event in events
                    if event.type == "procurement.asset_checked" and isinstance(event.payload, dict)} - {None})
    if len(codes) > 1:
        with uow.session.no_autoflush:
            uow.memo["locked_cases"] = {case.tracking_code: case for case in uow.session.scalars(
                select(Case).where(Case.tracking_code.in_(codes)).order_by(Case.tracking_code).with_for_update())}


def act(tracking_code: str, staff: Staff, command: StepAction) -> None:
    """An action by a staff member (one of ``commands``); raises a refusal (``shared.errors``) and then
    changes nothing."""
    with bus.unit_of_work() as uow:
        case = _locked_case(uow, tracking_code)
        if case is None or not may_see(uow.session, staff, case):
            raise LookupError(tracking_code)  # another organisation's case is not found either
        actor = directory.actor(uow.session, staff.user_id)
        if actor is None:
            raise Forbidden("your account is not active")
        Engine(uow, case, _sop(case, uow.session)).act(actor, command)
        uow.commit()


def _resume(uow: UnitOfWork, event: Event, waiting_on: str, actor: str) -> None:
    payload = event.payload
    case = _locked_case(uow, payload["tracking_code"])
    if case is None:
        raise PermanentError(f"no case {payload['tracking_code']}")
    files = [a for a in payload.get("attachments") or [] if isinstance(a, dict) and a.get("id")]
    documents = [{"key": a.get("field") or "answer", "name": a.get("name") or "", "ref": f"file:{a['id']}"}
                 for a in files]
    resumed = Engine(uow, case, _sop(case, uow.session)).resume_wait(waiting_on, actor, note=payload.get("note"),
                                                        step_key=payload.get("step"), documents=documents,
                                                        outcome=payload.get("outcome"))
    if resumed and files:
        case.attachments = [*(case.attachments or []), *files]  # the requester's answer: their files too
    if not resumed:
        # already moved on (by hand, or a repeat of the news): keep the fact in the trail only
        uow.session.add(TrailEntry(case_id=case.id, kind="ignored", actor=actor, step=payload.get("step"),
                                   data={"event": event.type, "event_id": event.id}))


@bus.handles("procurement.delivered")
def on_procurement_delivered(uow: UnitOfWork, event: Event) -> None:
    """Procurement says the parts (or goods) bought for a case arrived."""
    _resume(uow, event, "procurement-delivery", "procurement")


@bus.handles("procurement.contract_completed")
def on_contract_completed(uow: UnitOfWork, event: Event) -> None:
    """Procurement says the last milestone of the contract serving a case is accepted and paid."""
    _resume(uow, event, "procurement-contract", "procurement")


# what procurement says of the contract serving a case, kept in the case's trail (the desk shows it)
CONTRACT_NEWS = ("procurement.contract_signed", "procurement.milestone_delivered", "procurement.milestone_accepted",
                 "procurement.milestone_rejected", "procurement.milestone_paid", "procurement.milestone_due",
                 "procurement.milestone_overdue", "procurement.incident_reported")


@bus.handles("procurement.contract_signed")
@bus.handles("procurement.milestone_delivered")
@bus.handles("procurement.milestone_accepted")
@bus.handles("procurement.milestone_rejected")
@bus.handles("procurement.milestone_paid")
@bus.handles("procurement.milestone_due")
@bus.handles("procurement.milestone_overdue")
@bus.handles("procurement.incident_reported")
def on_contract_news(uow: UnitOfWork, event: Event) -> None:
    """Procurement's news of the contract serving a case (its project carries the case's tracking
    code): the contract signed, a milestone delivered, accepted or rejected by the inspection
    committee, paid, a reminder before it falls due, an overdue notice, an emergency reported to
    the contractor. Each is a ``procurement`` entry in the case's trail, at the case's current
    step; the case does not move (it resumes on ``procurement.contract_completed``). News of a
    project serving no case, or a case of another organisation, is dropped from the trail; the
    reports count it all the same (``procurement_figures``)."""
    procurement_figures.record(uow, event)
    payload = event.payload
    project = payload.get("project") or {}
    code = project.get("tracking_code")
    if not code:
        return
    case = uow.session.scalar(select(Case).where(Case.tracking_code == code))
    if case is None or case.org != payload.get("org"):
        return
    milestone = payload.get("milestone") or {}
    contract = payload.get("contract") or {}
    incident = payload.get("incident") or {}
    news = {"event": event.type, "contract": contract.get("number"), "project": project.get("title"),
            "milestone": {k: milestone[k] for k in ("seq", "title", "due_on", "amount", "delivered_on", "accepted_on",
                                                    "paid_on", "paid_amount", "days_late", "fine_amount")
                          if milestone.get(k) is not None} or None,
            **{k: payload[k] for k in ("days_ahead", "days_late", "fine_so_far", "payment_ref") if k in payload}}
    if incident:
        news["incident"] = {k: incident.get(k) for k in ("severity", "description", "reported_at", "reported_by")}
    decision = payload.get("acceptance") or {}
    if decision:
        news["acceptance"] = {k: decision.get(k) for k in ("member_name", "decision", "note")}
    row = uow.session.scalar(select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.status == "active")
                             .order_by(CaseStep.position.desc()).limit(1))
    uow.session.add(TrailEntry(case_id=case.id, kind="procurement", actor="procurement", at=event.occurred_at,
                               step=row.step if row else None, round=row.round if row else None,
                               note=incident.get("description") or payload.get("note") or None,
                               data={k: v for k, v in news.items() if v is not None}))


@bus.handles("procurement.asset_checked")
def on_asset_checked(uow: UnitOfWork, event: Event) -> None:
    """Procurement looked up the asset the request names (found or not; under warranty on the day
    the request was received; leased; the vendor to claim from): keep it on the case, for the
    desk and ``GET /assignment/cases/<code>``. The case is opened from the same request by this
    service at the same time, so the check may come first: it is then kept in
    ``early_asset_checks`` and the case takes it when it opens (no retry). Whatever the order, the
    newest check (``checked_at``) wins; a repeat, or an older check arriving after a newer one,
    changes nothing."""
    payload = event.payload
    code = payload["tracking_code"]
    checked_at = _moment(payload.get("checked_at")) or event.occurred_at
    asset = payload.get("asset")
    record = {"asset_tag": payload.get("asset_tag"), "found": bool(payload.get("found")),
              "asset": asset if isinstance(asset, dict) else None, "checked_at": checked_at.isoformat()}
    case = _locked_case(uow, code)
    if case is None and _lock_opening(uow, code):
        case = _locked_case(uow, code)  # opened (and committed) while this waited for the lock
    if case is None:
        # the newest check per request is kept: the same rule as on the case, in the upsert
        stored_at = checked_at if checked_at.tzinfo else checked_at.replace(tzinfo=timezone.utc)
        early = uow.memo.get("early_checks")
        if early is not None and code in early:  # its case opens later in this batch: it takes it there
            kept = _moment((early[code] or {}).get("checked_at"))
            if kept is None or (kept if kept.tzinfo else kept.replace(tzinfo=timezone.utc)) <= stored_at:
                early[code] = record
            return
        row = insert(EarlyAssetCheck).values(tracking_code=code, checked_at=stored_at, asset=record,
                                             created_at=db.utcnow())
        uow.session.execute(row.on_conflict_do_update(
            index_elements=[EarlyAssetCheck.tracking_code],
            set_={"checked_at": row.excluded.checked_at, "asset": row.excluded.asset},
            where=EarlyAssetCheck.checked_at <= row.excluded.checked_at))
        return
    kept = _moment((case.asset or {}).get("checked_at"))
    if kept is not None and kept > checked_at:
        return
    case.asset = record


# the first key of the two-key advisory locks that serialise opening a case with keeping an
# early asset check for it (the second is the tracking code's hash); an arbitrary constant
_OPENING_LOCK = 7301


def _lock_opening(uow: UnitOfWork, tracking_code: str) -> bool:
    """Until this transaction ends, no other may open the case ``tracking_code`` or keep an early
    asset check for it. Without it, a check that finds no case and a case that finds no early
    check could commit side by side (each not seeing the other's uncommitted row), and the check
    would be lost. With it the second to lock, reading after the first committed, sees the
    first's row. False when this transaction held it already (its batch took it)."""
    return uow.lock(_OPENING_LOCK, [tracking_code])


def _take_early_asset_check(uow: UnitOfWork, tracking_code: str) -> dict | None:
    """The asset check that arrived before this case opened (the newest, if several did), taken
    out of ``early_asset_checks``; None when there is none."""
    early = uow.memo.get("early_checks")
    if early is not None and tracking_code in early:  # taken out for the whole batch (_open_batch)
        return early.pop(tracking_code)
    _lock_opening(uow, tracking_code)
    return _take_early_checks(uow, [tracking_code])[tracking_code]


def _moment(value) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


@bus.handles("request.answered")
def on_request_answered(uow: UnitOfWork, event: Event) -> None:
    """The requester answered a return for correction (through the tracking page)."""
    _resume(uow, event, "requester", "requester")


# ---------------------------------------------------------------------------------------------
# deadlines


@dataclass(frozen=True)
class SweepResult:
    steps: int  # late steps reported (level 1: the holder and the heads)
    cases: int  # missed case deadlines reported (level 1: the heads)
    escalated_steps: int = 0  # still late N working days on: the director told (level 2)
    escalated_cases: int = 0


def sweep_sla(now: datetime | None = None, batch: int = 500) -> SweepResult:
    """Report every step and case deadline that has passed, each level once (``domain/escalation``):
    the heads at once (``sla.breached``), the director when it is still late ``escalate_after``
    working days after the heads were told (``sla.escalated``). The queries use the partial
    indexes on due times of unreported open work, so they read only what is late or due to be
    escalated; ``SKIP LOCKED`` lets two sweeps run side by side without telling anyone twice."""
    now = now or db.utcnow()

    def late_steps(uow: UnitOfWork):
        # the case is locked with its step (an action locks the case too), so a sweep and an
        # action, or two sweeps, never interleave on one case's event sequence
        query = (select(CaseStep, Case).join(Case, Case.id == CaseStep.case_id)
                 .where(CaseStep.status == "active", CaseStep.breached_at.is_(None),
                        CaseStep.due_at.is_not(None), CaseStep.due_at < now)
                 .order_by(CaseStep.due_at).limit(batch)
                 .with_for_update(skip_locked=True, of=(CaseStep, Case)))
        return uow.session.execute(query).all()

    def report_step(uow: UnitOfWork, found) -> None:
        row, case = found
        row.breached_at = now
        _breach(uow, case, "step", row.due_at, row)

    def late_cases(uow: UnitOfWork):
        query = (select(Case).where(Case.status == "open", Case.deadline_breached_at.is_(None),
                                    Case.due_at.is_not(None), Case.due_at < now, Case.paused_since.is_(None))
                 .order_by(Case.due_at).limit(batch).with_for_update(skip_locked=True))
        return list(uow.session.scalars(query))

    def report_case(uow: UnitOfWork, case: Case) -> None:
        case.deadline_breached_at = now
        _breach(uow, case, "case", case.due_at, None)

    def steps_to_escalate(uow: UnitOfWork):
        query = (select(CaseStep, Case).join(Case, Case.id == CaseStep.case_id)
                 .where(CaseStep.status == "active", CaseStep.breached_at.is_not(None),
                        CaseStep.escalated_at.is_(None), CaseStep.escalate_at.is_not(None),
                        CaseStep.escalate_at <= now)
                 .order_by(CaseStep.escalate_at).limit(batch)
                 .with_for_update(skip_locked=True, of=(CaseStep, Case)))
        return uow.session.execute(query).all()

    def escalate_step(uow: UnitOfWork, found) -> None:
        row, case = found
        row.escalated_at = now
        _escalate(uow, case, "step", row.due_at, row, told_heads_at=row.breached_at, now=now)

    def cases_to_escalate(uow: UnitOfWork):
        query = (select(Case).where(Case.status == "open", Case.deadline_breached_at.is_not(None),
                                    Case.deadline_escalated_at.is_(None), Case.deadline_escalate_at.is_not(None),
                                    Case.deadline_escalate_at <= now, Case.paused_since.is_(None))
                 .order_by(Case.deadline_escalate_at).limit(batch).with_for_update(skip_locked=True))
        return list(uow.session.scalars(query))

    def escalate_case(uow: UnitOfWork, case: Case) -> None:
        case.deadline_escalated_at = now
        _escalate(uow, case, "case", case.due_at, None, told_heads_at=case.deadline_breached_at, now=now)

    return SweepResult(_in_batches(late_steps, report_step, batch), _in_batches(late_cases, report_case, batch),
                       _in_batches(steps_to_escalate, escalate_step, batch),
                       _in_batches(cases_to_escalate, escalate_case, batch))


def _in_batches(select_late, report, batch: int) -> int:
    """Report what ``select_late`` finds, one transaction per batch, until a batch comes back short."""
    total = 0
    while True:
        with bus.unit_of_work() as uow:
            found = select_late(uow)
            for item in found:
                report(uow, item)
            uow.commit()
        total += len(found)
        if len(found) < batch:
            return total


def _late_work(session, case: Case, kind: str, row: CaseStep | None, sop: Sop | None) -> escalation.LateWork:
    """Where the late work is, as the directory places it (``escalation.LateWork``): the unit of
    who holds it (a case: its active step), of those who could take it, of the case's staff so
    far (the latest first)."""
    steps = list(session.scalars(select(CaseStep).where(CaseStep.case_id == case.id)
                                 .order_by(CaseStep.position.desc())))
    active = row if row is not None else next((s for s in steps if s.status == "active"), None)
    takers: list[str] = []
    if active is not None and sop is not None and any(s.key == active.step for s in sop.steps):
        roles = workflow.who_may_take(sop.step(active.step), case.team or []).roles
        takers = directory.holders(session, roles, case.org) if roles else []
    staff = [s.assignee for s in steps if s.assignee]
    names = sorted({*staff, *takers, *([active.assignee] if active is not None and active.assignee else [])})
    units = dict(session.execute(select(User.username, User.unit).where(User.username.in_(names),
                                                                      User.active.is_(True))).all()) if names else {}
    return escalation.LateWork(
        deadline=kind, holder_unit=units.get(active.assignee) if active is not None and active.assignee else None,
        role_units=tuple(sorted({units[name] for name in takers if units.get(name)})),
        staff_units=tuple(units[name] for name in staff if units.get(name)))


def _step_facts(uow: UnitOfWork, row: CaseStep, sop: Sop | None) -> dict:
    title = sop.step(row.step).title if sop is not None and any(s.key == row.step for s in sop.steps) else {}
    return {"key": row.step, "title": title, "round": row.round, "role": row.role, "assignee": row.assignee,
            "started_at": row.started_at.isoformat(),
            "assignee_contact": directory.contact(uow.session, row.assignee)}


def _current_step_title(case: Case, sop: Sop | None) -> dict:
    """The title of the step a case is at (a case deadline's emails name it)."""
    key = case.current_step
    return sop.step(key).title if sop is not None and key and any(s.key == key for s in sop.steps) else {}


def _contacts(uow: UnitOfWork, names) -> list[dict]:
    return [c for c in (directory.contact(uow.session, name) for name in names) if c is not None]


def _breach(uow: UnitOfWork, case: Case, kind: str, due_at: datetime, row: CaseStep | None) -> None:
    """Level 1 of a missed deadline: the step's holder (notify writes to them) and the heads of the
    unit the work is with (``escalation.heads_to_tell``); the director's time is set
    (``escalate_at``). A step the requester holds tells no staff and goes no higher."""
    told_at = row.breached_at if row is not None else case.deadline_breached_at
    sop = packstore.sop_for(case.sop, case.pack_version, uow.session)
    cal = working_calendar(uow.session, case.org)
    heads, source, director_at = [], None, None
    if row is None or row.role != "requester":
        audience = escalation.heads_to_tell(_late_work(uow.session, case, kind, row, sop),
                                            lambda unit: directory.heads_of_unit(uow.session, unit),
                                            directory.holders(uow.session, ("head",), case.org))
        heads, source = list(audience.heads), audience.source
        after = sop.escalate_after if sop is not None else escalation.DEFAULT_ESCALATE_AFTER
        director_at = escalation.escalate_at(told_at, after, cal)
    if row is not None:
        row.escalate_at, row.escalated_at = director_at, None
    else:
        case.deadline_escalate_at, case.deadline_escalated_at = director_at, None
    uow.session.add(TrailEntry(case_id=case.id, kind="breached", actor="sopdesk", step=row.step if row else None,
                               round=row.round if row else None,
                               data={"deadline": kind, "due_at": due_at.isoformat(), "level": 1, "heads": heads}))
    emit_case_event(uow, case, "sla.breached", {
        "deadline": kind, "missed_due_at": due_at.isoformat(), "subject": case.subject,
        "step": _step_facts(uow, row, sop) if row is not None else None, "heads": heads,
        "head_contacts": _contacts(uow, heads), "level": 1, "heads_from": source,
        "sop_title": sop.title if sop is not None else {},
        "working_days_late": escalation.working_days_late(due_at, told_at, cal),
        "escalate_at": director_at.isoformat() if director_at else None,
        "current_step_title": _current_step_title(case, sop),
    })


def _escalate(uow: UnitOfWork, case: Case, kind: str, due_at: datetime, row: CaseStep | None,
              told_heads_at: datetime, now: datetime) -> None:
    """Level 2: still late ``escalate_after`` working days after the heads heard: the
    organisation's director (its deputies when it has none)."""
    sop = packstore.sop_for(case.sop, case.pack_version, uow.session)
    cal = working_calendar(uow.session, case.org)
    directors = list(escalation.directors_to_tell(
        directory.holders(uow.session, escalation.DIRECTOR_ROLES, case.org),
        directory.holders(uow.session, escalation.DEPUTY_ROLES, case.org)))
    uow.session.add(TrailEntry(case_id=case.id, kind="escalated", actor="sopdesk", step=row.step if row else None,
                               round=row.round if row else None,
                               data={"deadline": kind, "due_at": due_at.isoformat(), "level": 2,
                                     "directors": directors}))
    emit_case_event(uow, case, "sla.escalated", {
        "deadline": kind, "missed_due_at": due_at.isoformat(), "subject": case.subject,
        "sop_title": sop.title if sop is not None else {},
        "step": _step_facts(uow, row, sop) if row is not None else None,
        "told_heads_at": told_heads_at.isoformat(),
        "escalate_after": sop.escalate_after if sop is not None else escalation.DEFAULT_ESCALATE_AFTER,
        "working_days_late": escalation.working_days_late(due_at, now, cal),
        "directors": directors, "director_contacts": _contacts(uow, directors),
        "current_step_title": _current_step_title(case, sop),
    })


# ---------------------------------------------------------------------------------------------
# the daily summary and the satisfaction survey


def send_daily_summaries(now: datetime | None = None) -> int:
    """Once a working day, at ``SOPDESK_DAILY_SUMMARY_AT`` (Bangkok time), tell each person who
    holds open work then what they hold: one ``staff.daily_summary`` per person per day. The day's
    summary is taken once, by the first run at or after the set time: its row
    (``daily_summary_runs``), the people's rows and their events commit together, and every later
    run that day finds the day taken and does nothing (beat asks every minute). So whoever is first
    given work later that day is not sent a summary right after their "new work" email: their
    work is in the next working day's summary. Two runs at once: one commits, the other fails on
    the day's row and writes nothing. Returns how many summaries this run wrote."""
    now = now or db.utcnow()
    local = now.astimezone(BANGKOK)
    hour, minute = (int(part) for part in get_settings().daily_summary_at.split(":"))
    if local.time() < time(hour, minute):
        return 0
    day = local.date()
    with bus.unit_of_work() as uow:
        if not working_calendar(uow.session).is_working_day(day):
            return 0
        if uow.session.get(DailySummaryRun, day) is not None:
            return 0  # the day's summary was taken at the set time
        told_today = select(DailySummary.username).where(DailySummary.day == day)
        rows = uow.session.execute(
            select(CaseStep, Case).join(Case, Case.id == CaseStep.case_id)
            .where(CaseStep.status == "active", CaseStep.assignee.is_not(None),
                   CaseStep.assignee.not_in(told_today))
            .order_by(CaseStep.due_at.is_(None), CaseStep.due_at, CaseStep.started_at)).all()
        work: dict[str, list] = defaultdict(list)
        for row, case in rows:
            work[row.assignee].append((row, case))
        written = 0
        # no flush before the commit: a concurrent run's rows make this one fail there, whole
        with uow.session.no_autoflush:
            for username, items in sorted(work.items()):
                contact = directory.contact(uow.session, username)
                # a row for everyone considered (an address or not), so that later runs skip them
                uow.session.add(DailySummary(day=day, username=username, items=len(items)))
                if contact is None or not contact["email"]:
                    continue
                uow.emit("staff.daily_summary", {
                    "username": username, "day": day.isoformat(), "contact": contact,
                    "items": [_summary_item(row, case, now) for row, case in items],
                }, correlation_id=f"summary:{username}:{day.isoformat()}")
                written += 1
            uow.session.add(DailySummaryRun(day=day, ran_at=now, people=len(work)))
        try:
            uow.commit()
        except IntegrityError:  # another run wrote today's summaries first
            uow.rollback()
            return 0
        return written


def _summary_item(row: CaseStep, case: Case, now: datetime) -> dict:
    sop = packstore.sop_for(case.sop, case.pack_version)
    step_title = sop.step(row.step).title if sop is not None else {}
    return {"tracking_code": case.tracking_code, "sop": case.sop, "sop_title": sop.title if sop else {},
            "step": row.step, "step_title": step_title, "subject": case.subject,
            "due_at": row.due_at.isoformat() if row.due_at else None,
            "late": bool(row.due_at and row.due_at < now), "waiting_on": row.waiting_on}


@bus.handles("survey.answered")
def on_survey_answered(uow: UnitOfWork, event: Event) -> None:
    """Keep a requester's score for the reports. The unit is that of the last staff member who
    held a step of the case (the unit that served the request)."""
    payload = event.payload
    code = payload["tracking_code"]
    if uow.session.get(SurveyScore, code) is not None:
        return  # intake allows one answer per case; a second event changes nothing
    case = uow.session.scalar(select(Case).where(Case.tracking_code == code))
    unit = None
    if case is not None:
        last = uow.session.scalar(select(CaseStep.assignee).where(CaseStep.case_id == case.id,
                                                                   CaseStep.assignee.is_not(None))
                                  .order_by(CaseStep.position.desc()).limit(1))
        user = directory.user_by_name(uow.session, last) if last else None
        unit = user.unit if user else None
    uow.session.add(SurveyScore(tracking_code=code, sop=payload.get("sop") or (case.sop if case else ""),
                                unit=unit, requester_unit=payload.get("requester_unit"),
                                score=int(payload["score"]), comment=payload.get("comment"),
                                answered_at=datetime.fromisoformat(payload["answered_at"])))


def satisfaction(staff: Staff, fiscal_year: int | None = None) -> dict:
    """Scores per SOP and per unit (count, mean, and how many gave each score), optionally for
    one Thai fiscal year in the Buddhist era (2570 is 1 Oct 2026 - 30 Sep 2027): of the caller's
    organisation (every organisation's for a system administrator). Summed from the answers'
    tallies by day (``SurveyTally``: at most a year of days per SOP, unit and score), in SQL."""
    where = []
    if not staff.sees_all:
        where.append(SurveyTally.org == staff.org if staff.org else false())
    if fiscal_year is not None:
        start, last = fiscal_year_bounds(fiscal_year)
        where += [SurveyTally.day >= start, SurveyTally.day <= last]
    with bus.session() as session:
        rows = session.execute(select(SurveyTally.sop, SurveyTally.unit, SurveyTally.score, func.sum(SurveyTally.n))
                               .where(*where).group_by(SurveyTally.sop, SurveyTally.unit, SurveyTally.score)).all()

    def group(index: int) -> list[dict]:
        counts: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for row in rows:
            counts[row[index]][row.score] += int(row[3])
        out = []
        for name, by_score in sorted(counts.items()):
            answers = sum(by_score.values())
            if answers:
                out.append({"key": name, "answers": answers,
                            "mean": round(sum(score * n for score, n in by_score.items()) / answers, 2),
                            "scores": {str(n): by_score.get(n, 0) for n in range(1, 6)}})
        return out

    by_sop = group(0)
    return {"fiscal_year": fiscal_year, "answers": sum(g["answers"] for g in by_sop), "by_sop": by_sop,
            "by_unit": group(1)}


# ---------------------------------------------------------------------------------------------
# reading: every read goes through the wall between organisations (``visible_to``)


@dataclass(frozen=True)
class Sight:
    """Which cases someone sees (``sight_of``): every case (``everything``); every case of
    ``org`` (``org_wide``); or of ``org``, those that ``people`` took part in (``CasePerson``),
    that people of ``unit`` took part in (``CaseUnit``: a head's), whose open unassigned step one
    of ``roles`` may take, every open unassigned step's (``all_unassigned``: a head's, to give
    out), and those waiting on the requester's answers (``requester_steps``: an intake clerk's)."""

    everything: bool = False
    org: str | None = None
    org_wide: bool = False
    people: tuple[str, ...] = ()
    unit: str | None = None
    roles: tuple[str, ...] = ()
    all_unassigned: bool = False
    requester_steps: bool = False

    @property
    def nothing(self) -> bool:
        return not self.everything and self.org is None


NOTHING = Sight()


def sight_of(session, staff: Staff) -> Sight:
    """The cases ``staff`` may see: every case for a system administrator; of their own
    organisation only for anyone else, and there every case for its administrators, director and
    deputies and privacy officer (``ORG_WIDE_ROLES``, their own or held for someone away); for
    others, the cases whose steps they (or anyone they stand in for) hold or held, on which they
    did anything (the trail names them), whose team they are on, or whose open unassigned step
    they may take; for a head, also those whose steps people of their unit hold or held (while in
    it), and every open unassigned step of the organisation (the head's to give out). The
    directory is read afresh: a person moved or deactivated since their token was signed sees by
    what they are now."""
    if staff.sees_all:
        return Sight(everything=True)
    actor = directory.actor(session, staff.user_id)
    org = directory.org_of_user(session, actor.username) if actor else None
    if actor is None or org is None:
        return NOTHING
    roles = set(actor.roles) | set(actor.acting_for)
    if roles & set(ORG_WIDE_ROLES):
        return Sight(org=org, org_wide=True)
    return Sight(org=org, people=tuple(sorted({actor.username, *actor.acting_for_users})),
                 unit=actor.unit if actor.is_head else None, roles=tuple(sorted(roles)),
                 all_unassigned=actor.is_head, requester_steps="intake-clerk" in roles)


def _open_unassigned(sight: Sight):
    """The open steps nobody holds that ``sight`` sees by role (the head's: all but the requester's)."""
    condition = (CaseStep.status == "active") & CaseStep.assignee.is_(None)
    return condition & ((CaseStep.role != "requester") if sight.all_unassigned else CaseStep.role.in_(sight.roles))


def sight_condition(sight: Sight):
    """``sight`` as a condition on ``Case``. The cases someone sees by name are each a lookup in
    the read model the database keeps (``CasePerson``, ``CaseUnit``: one index entry per case) or
    in the open unassigned steps' index, so that PostgreSQL can walk a list's index in its order
    and check each case, or build each set once: a page reads only that person's cases."""
    if sight.everything:
        return true()
    if sight.nothing:
        return false()
    in_org = Case.org == sight.org
    if sight.org_wide:
        return in_org
    return and_(in_org, seen_by_name(sight, Case.id))


def seen_by_name(sight: Sight, case_id):
    """The part of ``sight`` that names cases (not a whole organisation), as a condition on a
    column of case ids: a list narrowed to a small set (the late cases) checks that set alone."""
    parts = [select(CasePerson.case_id).where(CasePerson.person.in_(sight.people), CasePerson.case_id == case_id)
             .exists(),
             case_id.in_(select(CaseStep.case_id).where(_open_unassigned(sight)))]
    if sight.unit:
        parts.append(select(CaseUnit.case_id).where(CaseUnit.unit == sight.unit, CaseUnit.case_id == case_id).exists())
    if sight.requester_steps:  # they record the requester's answers given on paper or by telephone
        parts.append(case_id.in_(select(CaseStep.case_id).where(CaseStep.status == "active",
                                                                CaseStep.role == "requester")))
    return or_(*parts)


def visible_to(session, staff: Staff):
    """The cases ``staff`` may see (``sight_of``), as a condition on ``Case``."""
    return sight_condition(sight_of(session, staff))


def may_see(session, staff: Staff, case: Case) -> bool:
    return session.scalar(select(Case.id).where(Case.id == case.id, visible_to(session, staff))) is not None


@dataclass(frozen=True)
class CaseFilters:
    """What a staff list of cases is narrowed by (each None: not narrowed): words searched for in
    the code, subject, details, requester and form values (``domain.search``); the SOP and its
    current step; a status (``search.STATUSES``); cases served by a unit (its people hold or held a
    step); the person holding an open step; late or not; received between two days (Bangkok
    dates, inclusive)."""

    q: str | None = None
    sop: str | None = None
    step: str | None = None
    status: str | None = None
    unit: str | None = None
    assignee: str | None = None
    overdue: bool | None = None
    received_from: date | None = None
    received_to: date | None = None


@dataclass(frozen=True)
class CaseList:
    """One page of a list: its cases, how many the whole list holds (for a search that found more
    than it counts, at least that many: ``page.exact`` False), and which page it is."""

    cases: list[Case]
    total: int
    page: search.Page


def late_cases(now: datetime, org: str | None, among: list[str] | None = None):
    """The ids of the open cases past their deadline (the clock running) or with an open step past
    its due time, of ``org`` (every organisation's: None), or of the cases ``among`` only: each
    part from its own index."""
    other = aliased(Case)
    by_deadline = select(other.id.label("id")).where(other.status == "open", other.paused_since.is_(None),
                                                     other.due_at < now)
    by_step = select(CaseStep.case_id.label("id")).where(CaseStep.status == "active", CaseStep.due_at < now)
    if org is not None:
        by_deadline = by_deadline.where(other.org == org)
        by_step = by_step.where(CaseStep.org == org)
    if among is not None:
        by_deadline = by_deadline.where(other.id.in_(among))
        by_step = by_step.where(CaseStep.case_id.in_(among))
    return union_all(by_deadline, by_step).subquery()


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), BANGKOK)


def filter_cases(session, filters: CaseFilters, now: datetime, sight: Sight | None = None) -> list:
    """The conditions on ``Case`` a list's filters make (for someone who sees ``sight``: the
    late cases are checked against it before any case is read)."""
    sight = sight or Sight(everything=True)
    org = sight.org if not sight.everything else None
    conditions = []
    for word in search.words(filters.q):
        conditions.append(Case.search_text.like(search.like_pattern(word)))
    if filters.sop:
        conditions.append(Case.sop == filters.sop)
    if filters.step:
        conditions.append(Case.current_step == filters.step)
    status = filters.status
    if status == "open":
        conditions.append(Case.status == "open")
    elif status == "waiting":
        conditions.append(Case.status == "open")
        waiting = select(CaseStep.case_id).where(CaseStep.status == "active", CaseStep.waiting_on.is_not(None))
        conditions.append(Case.id.in_(waiting if org is None else waiting.where(CaseStep.org == org)))
    elif status == "closed":
        conditions.append(Case.status == "closed")
    elif status in ("completed", "rejected", "withdrawn"):
        conditions.append(Case.result == status)  # a case has a result once it is closed, never before
    if filters.unit:
        conditions.append(Case.id.in_(select(CaseUnit.case_id).where(CaseUnit.unit == filters.unit)))
    if filters.assignee:
        conditions.append(Case.id.in_(select(CaseStep.case_id).where(CaseStep.assignee == filters.assignee,
                                                                     CaseStep.status == "active")))
    if filters.overdue:
        late = late_cases(now, org)
        ids = select(late.c.id)
        if not (sight.everything or sight.org_wide):
            ids = ids.where(seen_by_name(sight, late.c.id))
        conditions += [Case.status == "open", Case.id.in_(ids)]
    elif filters.overdue is False:
        late = late_cases(now, org)
        conditions.append(or_(Case.status != "open", Case.id.not_in(select(late.c.id))))
    if filters.received_from:
        conditions.append(Case.received_at >= _day_start(filters.received_from))
    if filters.received_to:
        conditions.append(Case.received_at < _day_start(filters.received_to + timedelta(days=1)))
    return conditions


# ---------------------------------------------------------------------------------------------
# how many: a list's total from the tallies the database keeps, where the list is one of theirs


def tally(session, org: str | None, dimension: str, value: str = "") -> int:
    """How many cases ``org`` (every organisation: None) has in ``dimension`` ('all', 'status',
    'result', 'sop', 'unit', 'person') with ``value``: the folded tally and the changes not yet
    folded (``CaseTally``, ``CaseTallyChange``)."""
    def of(table):
        where = [table.dimension == dimension, table.value == value]
        if org is not None:
            where.append(table.org == org)
        return select(table.n.label("n")).where(*where)

    both = union_all(of(CaseTally), of(CaseTallyChange)).subquery()
    return int(session.scalar(select(func.coalesce(func.sum(both.c.n), 0))))


def fold_tallies(session) -> int:
    """Fold the tallies' changes into the tallies, in one statement (what it deletes it adds: a
    fold running beside another skips the rows the other took). Returns how many tallies changed."""
    moved = (delete(CaseTallyChange).returning(CaseTallyChange.org, CaseTallyChange.dimension,
                                               CaseTallyChange.value, CaseTallyChange.n).cte("moved"))
    summed = select(moved.c.org, moved.c.dimension, moved.c.value, func.sum(moved.c.n)).group_by(
        moved.c.org, moved.c.dimension, moved.c.value)
    statement = insert(CaseTally).from_select(["org", "dimension", "value", "n"], summed)
    statement = statement.on_conflict_do_update(index_elements=["org", "dimension", "value"],
                                                set_={"n": CaseTally.n + statement.excluded.n})
    return len(session.execute(statement.returning(CaseTally.org)).all())


def _filters_used(filters: CaseFilters) -> set[str]:
    return {name for name in CaseFilters.__dataclass_fields__ if getattr(filters, name) is not None}


def tallied_total(session, sight: Sight, filters: CaseFilters) -> int | None:
    """A list's total from the tallies, where they hold it: an organisation's (or every one's)
    cases in all, by status, result, SOP or unit; a person's, or a head's, whole list: their
    unit's (or their own) tally, and the cases they see besides (open unassigned steps, those of
    people they stand in for) that it does not hold. None for any other list (counted by
    ``list_cases``)."""
    used = _filters_used(filters)
    if sight.nothing:
        return 0
    if sight.everything or sight.org_wide:
        org = None if sight.everything else sight.org
        if not used:
            return tally(session, org, "all")
        if used == {"status"} and filters.status in ("open", "closed"):
            return tally(session, org, "status", filters.status)
        if used == {"status"} and filters.status in ("completed", "rejected", "withdrawn"):
            return tally(session, org, "result", filters.status)
        if used == {"sop"}:
            return tally(session, org, "sop", filters.sop)
        if used == {"unit"}:
            return tally(session, org, "unit", filters.unit)
        return None
    if used:
        return None
    if sight.unit:
        base, held = tally(session, sight.org, "unit", sight.unit), CaseUnit.unit == sight.unit
        table, others = CaseUnit, list(sight.people)
    else:
        base, held = tally(session, sight.org, "person", sight.people[0]), CasePerson.person == sight.people[0]
        table, others = CasePerson, list(sight.people[1:])
    besides = [select(CaseStep.case_id).where(_open_unassigned(sight), CaseStep.org == sight.org)]
    if others:
        besides.append(select(CasePerson.case_id).where(CasePerson.person.in_(others), CasePerson.org == sight.org))
    if sight.requester_steps:
        besides.append(select(CaseStep.case_id).where(CaseStep.status == "active", CaseStep.role == "requester",
                                                      CaseStep.org == sight.org))
    rest = union(*besides).subquery()
    outside = session.scalar(select(func.count()).select_from(rest).where(
        ~exists().where(held, table.case_id == rest.c.case_id)))
    return base + outside


def current_holders(session, case_ids: list[str]) -> dict[str, dict]:
    """For the cases of a page: who holds their open steps, whom they wait on, and the soonest an
    open step is due (one query for the page)."""
    held: dict[str, dict] = {}
    if not case_ids:
        return held
    rows = session.execute(select(CaseStep.case_id, CaseStep.assignee, CaseStep.waiting_on, CaseStep.due_at)
                           .where(CaseStep.case_id.in_(case_ids), CaseStep.status == "active")
                           .order_by(CaseStep.position)).all()
    for case_id, assignee, waiting_on, due_at in rows:
        entry = held.setdefault(case_id, {"assignees": [], "waiting_on": None, "due_at": None})
        if assignee and assignee not in entry["assignees"]:
            entry["assignees"].append(assignee)
        entry["waiting_on"] = entry["waiting_on"] or waiting_on
        if due_at is not None and (entry["due_at"] is None or due_at < entry["due_at"]):
            entry["due_at"] = due_at
    return held


def late_among(session, cases: list[Case], now: datetime) -> set[str]:
    """Which of a page's cases are late (``late_cases``: what the ``overdue`` filter finds), in one query."""
    open_ones = [case.id for case in cases if case.status == "open"]
    if not open_ones:
        return set()
    late = late_cases(now, None, among=open_ones)
    return set(session.scalars(select(late.c.id)))


def list_arguments(query: dict) -> dict:
    """``list_cases``'s arguments from a list's query as ``schemas.CaseQuerySchema`` loads it (the
    API's and the desk's): the filters, the order, and the page (``limit`` and ``offset``, the
    older way of asking, win where given)."""
    names = CaseFilters.__dataclass_fields__
    return {"filters": CaseFilters(**{k: v for k, v in query.items() if k in names}),
            "sort": query.get("sort") or search.DEFAULT_SORT, "page": query.get("page") or 1,
            "per_page": query.get("limit") or query.get("per_page") or search.PER_PAGE,
            "offset": query.get("offset")}


_ORDER = {"opened_at": Case.opened_at, "received_at": Case.received_at, "due_at": Case.due_at}


def _order(sort: str):
    """The order of a list, ending in the id that breaks ties: the order of an index (opened_at
    and received_at are never empty; a case without a due time comes last either way)."""
    column = _ORDER[sort.lstrip("-")]
    newest_first = sort.startswith("-")
    ordered = column.desc() if newest_first else column.asc()
    if column is Case.due_at:
        ordered = ordered.nulls_last()
    return (ordered, Case.id.desc() if newest_first else Case.id.asc())


def list_cases(staff: Staff, filters: CaseFilters | None = None, *, sort: str = search.DEFAULT_SORT, page: int = 1,
               per_page: int = search.PER_PAGE, offset: int | None = None) -> CaseList:
    """One page of the cases ``staff`` may see that the filters let through, in the order asked,
    with the total. ``offset``, where given, skips that many rows instead of whole pages. The
    requesters named on the page are read: logged, per organisation."""
    filters = filters or CaseFilters()
    now = db.utcnow()
    with bus.session() as session:
        # planned for the values asked each time, never by a plan kept for any value: how a
        # search's words or a person's cases are best read depends on which (a two-word search
        # took 105 ms at the median under the plan psycopg's prepared statements came to keep,
        # 60 ms planned each time: bench/desk.py's database)
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        sight = sight_of(session, staff)
        where = [sight_condition(sight), *filter_cases(session, filters, now, sight)]
        skip = (page - 1) * per_page if offset is None else offset
        # the page's ids first (read from an index of the order, however deep the page), then
        # those rows only: an offset of 250,000 skips index entries, not whole rows
        ids = select(Case.id).where(*where).order_by(*_order(sort)).limit(per_page).offset(skip)
        total, page_ids = None, None
        if search.words(filters.q):  # a search counts only so far (search.COUNT_CAP)
            limit = search.count_limit(page, per_page)
            found = session.scalar(select(func.count()).select_from(
                select(Case.id).where(*where).limit(limit).subquery()))
            paging = search.Page(page, per_page, min(found, limit - 1), exact=found < limit)
        else:
            total = tallied_total(session, sight, filters)
            if total is None and (filters.overdue or filters.status in ("open", "waiting")):
                # open cases only, a few thousand at most: counted in the same pass as the page
                rows = session.execute(ids.add_columns(func.count().over())).all()
                page_ids, total = [row[0] for row in rows], (rows[0][1] if rows else None)
            if total is None:
                total = session.scalar(select(func.count()).select_from(Case).where(*where))
            paging = search.Page(page, per_page, total)
        chosen = ids.scalar_subquery() if page_ids is None else page_ids
        cases = list(session.scalars(select(Case).where(Case.id.in_(chosen)).order_by(*_order(sort))))
        # a list shows each requester's name and unit: a read of their data, logged as every other
        for org in sorted({case.org for case in cases}):
            log_access(session, AccessLog, staff, "case", [c.tracking_code for c in cases if c.org == org],
                       "staff list of cases", org=org)
        session.commit()
        return CaseList(cases, paging.total, paging)


def read_case(tracking_code: str, staff: Staff, purpose: str = "staff read of a case") -> Case | None:
    """A case with its steps and trail, if ``staff`` may see it (else None: another
    organisation's case is not found, its existence not revealed); the read is logged."""
    with bus.session() as session:
        case = session.scalar(select(Case).where(Case.tracking_code == tracking_code, visible_to(session, staff))
                              .options(selectinload(Case.steps), selectinload(Case.trail)))
        if case is not None:
            log_access(session, AccessLog, staff, "case", case.tracking_code, purpose, org=case.org)
            # the documents handed in at its steps as files (each read of one is logged on its own)
            documents = [
                {**d.metadata_dict(), "step": d.step, "round": d.round, "uploaded_by": d.uploaded_by,
                 "created_at": d.created_at,
                 "url": f"/assignment/cases/{quote(case.tracking_code)}/documents/{quote(d.id)}"}
                for d in session.scalars(select(CaseDocument).where(CaseDocument.case_id == case.id)
                                         .order_by(CaseDocument.created_at, CaseDocument.name))]
            session.commit()
            session.expunge(case)
            case.documents = documents
            with_file_links(case, staff)
            with_approvals(case)
        return case


def with_approvals(case: Case) -> Case:
    """On each step several people decide together (``all_of``, ``in_order``), who has decided
    (``approvals``: role, by, on whose behalf, outcome, when) and, on the open step, the roles still
    to decide (``awaiting``), from the trail. ``case`` is a read-only copy with its steps and trail."""
    sop = packstore.sop_for(case.sop, case.pack_version)
    if sop is None:
        return case
    for row in case.steps:
        definition = next((s for s in sop.steps if s.key == row.step), None)
        if definition is None or not definition.joint:
            continue
        decisions = decisions_of(case.trail, row.step, row.round)
        row.approvals = [{**approval_json(d), "at": d.at} for d in decisions]
        row.awaiting = list(workflow.approvals(definition, decisions).awaiting) if row.status == "active" else []
    return case


def with_file_links(case: Case, staff: Staff) -> Case:
    """The case's files, each with the link ``staff`` downloads it by from intake: a grant for
    that file and that person (``shared.auth.grant``), since intake does not know who else but
    the organisation's administrators may see the case. ``case`` is a read-only copy."""
    case.attachments = [{**item, "url": f"/intake/requests/{quote(case.tracking_code)}/files/{quote(str(item['id']))}"
                                        f"?grant={grant(staff, file_grant_subject(case.tracking_code, str(item['id'])))}"}
                        for item in case.attachments or [] if isinstance(item, dict) and item.get("id")]
    return case


def allowed_actions(case: Case, staff: Staff) -> list[dict]:
    """What the caller may do now on the current step: its outcomes (with the values and documents
    each needs), and the built-in actions (assign, set a target, add a note)."""
    if case.status != "open":
        return []
    sop = _sop(case)
    with bus.session() as session:
        actor = directory.actor(session, staff.user_id)
    if actor is None:
        return []
    actions = []
    for row in case.steps:
        if row.status != "active":
            continue
        definition = sop.step(row.step)
        decisions = decisions_of(case.trail, row.step, row.round) if definition.joint else ()
        now = workflow.actions_now(actor, definition, case.team or [], decisions)
        if now.any:
            actions.append({"step": row.step, "outcomes": list(now.outcomes), "actions": list(now.builtin),
                            "on_behalf_of": now.on_behalf_of, "waiting_on": row.waiting_on})
    return actions


def awaiting_decision(names: list[str]):
    """The ids of the open steps decided together (``all_of``, ``in_order``) on which one of
    ``names`` was asked to decide this round and has not decided yet (the trail's ``asked`` entries,
    by their index of the person asked, and its ``approval`` entries)."""
    asked = aliased(TrailEntry)
    person = asked_person(asked)
    decided = select(TrailEntry.id).where(
        TrailEntry.case_id == CaseStep.case_id, TrailEntry.step == CaseStep.step, TrailEntry.round == CaseStep.round,
        TrailEntry.kind == "approval", or_(TrailEntry.actor == person, TrailEntry.on_behalf_of == person))
    return (select(CaseStep.id)
            .join(asked, and_(asked.case_id == CaseStep.case_id, asked.step == CaseStep.step,
                              asked.round == CaseStep.round))
            .where(asked.kind == "asked", person.in_(names), CaseStep.status == "active", ~decided.exists()))


@dataclass(frozen=True)
class Queue:
    """Open steps of one kind on a desk: the first ``limit`` (soonest due first) and how many in all."""

    rows: list
    total: int


DESK_ROWS = 25  # steps a desk shows of each queue; the rest are a click away on the list


def my_work(staff: Staff, limit: int = DESK_ROWS) -> dict:
    """The steps waiting for this person (theirs and those of anyone they stand in for), and for a
    head, the open steps of their unit and the unassigned ones: each the first ``limit``, soonest
    due first, with its total; with the person as the engine sees them today (``actor``)."""
    empty = Queue([], 0)
    with bus.session() as session:
        actor = directory.actor(session, staff.user_id)
        org = directory.org_of_user(session, actor.username) if actor else None
        if actor is None or org is None:
            return {"actor": actor, "mine": empty, "unit": empty, "unassigned": empty}

        def queue(*conditions) -> Queue:
            where = (CaseStep.status == "active", CaseStep.org == org, *conditions)
            rows = session.execute(select(CaseStep, Case).join(Case, Case.id == CaseStep.case_id).where(*where)
                                   .order_by(CaseStep.due_at.asc().nulls_last(), CaseStep.started_at)
                                   .limit(limit)).all()
            if len(rows) < limit:
                total = len(rows)
            else:
                total = session.scalar(select(func.count()).select_from(CaseStep).where(*where))
            for row, case in rows:
                session.expunge(row)
                session.expunge(case)
            return Queue(rows, total)

        names = [actor.username, *sorted(actor.acting_for_users)]
        mine = queue(CaseStep.assignee.in_(names))
        # and the steps decided together that wait on their decision, held by someone else
        awaiting = [(row, case) for row, case in session.execute(
            select(CaseStep, Case).join(Case, Case.id == CaseStep.case_id)
            .where(CaseStep.id.in_(awaiting_decision(names)), CaseStep.assignee.not_in(names))).all()]
        if awaiting:
            for row, case in awaiting:
                session.expunge(row)
                session.expunge(case)
            last = datetime.max.replace(tzinfo=timezone.utc)
            rows = sorted(mine.rows + awaiting, key=lambda pair: (pair[0].due_at or last, pair[0].started_at))
            mine = Queue(rows[:limit], mine.total + len(awaiting))
        unit, unassigned = empty, empty
        if actor.is_head:
            members = directory.unit_members(session, actor.unit) if actor.unit else []
            others = [m for m in members if m not in names]
            if others:
                unit = queue(CaseStep.assignee.in_(others))
            unassigned = queue(CaseStep.assignee.is_(None), CaseStep.role != "requester")
        return {"actor": actor, "mine": mine, "unit": unit, "unassigned": unassigned}


# the PDPA's erasure of a person's cases: its own module
from services.assignment.handlers import privacy  # noqa: E402,F401  (registers its event handler)
from services.assignment.handlers import admin_trail  # noqa: E402,F401  (the trail of admin.changed)
