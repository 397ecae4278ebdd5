"""The SOP engine: how a case moves through its SOP. Who may act on a step, which outcomes exist,
where each leads, when each step is due on Thai working time, waits and their resumption, returns
for correction (the round counted, the clock paused while the requester has it), rejection and
closing. Every change is written with its trail entry and its event in the caller's unit of work.

The rules come from the pack (``shared.packs``); nothing here knows any particular SOP. No Flask.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.assignment.adapters import caches
from services.assignment.adapters.models import CalendarDay, Case, CaseStep, TrailEntry
from services.assignment.domain import clock
from services.assignment.handlers import directory
from services.assignment.handlers.directory import ON_BEHALF_OF_REQUESTER, Actor
from shared import db
from shared.config import get_settings
from shared.i18n import BANGKOK
from shared.messaging import UnitOfWork
from shared.packs import Sop, Step, Target
from shared.workcal import WorkingCalendar, calendar_from_days

# actions every step has besides its pack outcomes
BUILTIN_ACTIONS = ("assign", "set-target", "note")


class ActionError(Exception):
    """An action refused; ``status`` is the HTTP answer, ``errors`` field-level messages."""

    status = 422

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class Forbidden(ActionError):
    status = 403


class Conflict(ActionError):
    status = 409


class Invalid(ActionError):
    status = 422


def calendar(session: Session) -> WorkingCalendar:
    """Thai working time from configuration plus the admin's calendar changes. Kept in process
    memory (the ``calendar`` group of ``caches``: a change of a ``CalendarDay`` anywhere is seen
    by the next transaction); a ``WorkingCalendar`` is never changed once built."""
    settings = get_settings()

    def read() -> WorkingCalendar:
        return calendar_from_days(settings, session.scalars(select(CalendarDay)))

    return caches.cached(caches.CALENDAR, settings.office_hours, session, read)


# ---------------------------------------------------------------------------------------------
# targets


def parse_assignee_target(text: str, start: datetime, cal: WorkingCalendar) -> tuple[datetime, str]:
    """A target the assignee sets: a duration ('3 days', '1-2 days', '4 hours') or a moment (ISO
    8601). Returns (due, how it was written)."""
    text = (text or "").strip()
    try:
        target = Target.parse(text)
    except ValueError:
        target = None
    if target is not None and target.kind == "fixed":
        return cal.add_duration(start, target.high, target.unit), text
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid("target", {"target": ["a duration such as '3 days' or '4 hours', or a date and time "
                                            "(ISO 8601)"]}) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BANGKOK)
    moment = moment.astimezone(timezone.utc)
    if moment <= start:
        raise Invalid("target", {"target": ["the target must be in the future"]})
    return moment, text


def step_due(step: Step, case: Case, start: datetime, cal: WorkingCalendar) -> tuple[datetime | None, datetime | None, str | None]:
    """(due, expected, target text) for a step starting at ``start``."""
    target = step.target
    if target.kind == "fixed":
        due = cal.add_duration(start, target.high, target.unit)
        expected = cal.add_duration(start, target.low, target.unit)
        return due, expected, target.text("en")
    if target.kind == "until":
        value = (case.values or {}).get(target.input)
        if value:
            return datetime.fromisoformat(value).astimezone(timezone.utc), None, f"until {target.input}"
    return None, None, None


# ---------------------------------------------------------------------------------------------
# the engine


@dataclass
class Command:
    """What an actor asks: ``outcome`` of ``step`` (or a built-in action), with what they enter."""

    step: str
    outcome: str
    note: str | None = None
    assignee: str | None = None
    target: str | None = None
    values: dict | None = None
    team: list[str] | None = None
    documents: list[dict] | None = None


class Engine:
    """One case's SOP, worked inside one unit of work."""

    def __init__(self, uow: UnitOfWork, case: Case, sop: Sop, now: datetime | None = None):
        self.uow = uow
        self.session = uow.session
        self.case = case
        self.sop = sop
        self.now = now or db.utcnow()
        self._cal: WorkingCalendar | None = None
        # the steps of a case this engine opened: all it has, so none needs to be read back
        self._started: list[CaseStep] | None = None

    @property
    def cal(self) -> WorkingCalendar:
        if self._cal is None:
            self._cal = calendar(self.session)
        return self._cal

    # -- reading ------------------------------------------------------------------------------
    def current(self) -> CaseStep | None:
        return self.session.scalar(select(CaseStep).where(CaseStep.case_id == self.case.id,
                                                          CaseStep.status == "active")
                                   .order_by(CaseStep.position.desc()).limit(1))

    # -- events -------------------------------------------------------------------------------
    def emit(self, event_type: str, payload: dict) -> None:
        emit_case_event(self.uow, self.case, event_type, payload)

    def step_payload(self, row: CaseStep) -> dict:
        definition = self.sop.step(row.step)
        return {"key": row.step, "title": definition.title, "role": definition.role, "roles": list(definition.roles),
                "round": row.round, "assignee": row.assignee, "started_at": _iso(row.started_at),
                "due_at": _iso(row.due_at), "expected_at": _iso(row.expected_at),
                "completed_at": _iso(row.completed_at), "outcome": row.outcome, "waiting_on": row.waiting_on,
                "notify_requester": definition.notify_requester, "late": row.late,
                "needs_approval": "approve" in definition.outcomes,
                "assignee_contact": directory.contact(self.session, row.assignee)}

    def trail(self, kind: str, actor: str, row: CaseStep | None = None, **fields) -> None:
        self.session.add(TrailEntry(case_id=self.case.id, at=self.now, kind=kind, actor=actor,
                                    step=row.step if row else None, round=row.round if row else None, **fields))

    # -- opening ------------------------------------------------------------------------------
    def open(self) -> None:
        """Set the case's deadline and start its first step (from the time the request was received).
        The case is new, created in this unit of work: it has no steps but those started here."""
        self._started = []
        received = self.case.received_at
        deadline = self.sop.deadline
        if deadline.kind == "fixed":
            self.case.due_at = self.cal.add_duration(received, deadline.high, deadline.unit)
            self.case.expected_at = self.cal.add_duration(received, deadline.low, deadline.unit)
        self.trail("opened", "requester", data={"channel": self.case.channel})
        first = self.sop.first_step
        self.case.current_step = first.key
        self.emit("case.opened", {"sop_title": self.sop.title, "subject": self.case.subject,
                                  "opened_at": _iso(self.case.opened_at), "received_at": _iso(received),
                                  "step": {"key": first.key, "title": first.title, "role": first.role, "round": 1,
                                           "started_at": _iso(received)}})
        row = self.start(first, started_at=received)
        if first.is_requester_step and not first.wait:
            # the request itself is the requester's first step (the memo, the kickoff request)
            outcome = next(iter(first.outcomes.values()))
            self.complete(row, outcome.key, actor="requester", values={}, note=None, on_behalf_of=None)

    # -- moving -------------------------------------------------------------------------------
    def start(self, definition: Step, started_at: datetime | None = None, assignee: str | None = None) -> CaseStep:
        started_at = started_at or self.now
        if self._started is not None:
            round_ = 1 + sum(1 for r in self._started if r.step == definition.key)
            position = 1 + max((r.position for r in self._started), default=0)
        else:
            done, last = self.session.execute(
                select(func.count().filter(CaseStep.step == definition.key), func.max(CaseStep.position))
                .where(CaseStep.case_id == self.case.id)).one()
            round_, position = (done or 0) + 1, (last or 0) + 1
        due, expected, target = step_due(definition, self.case, started_at, self.cal)
        row = CaseStep(case_id=self.case.id, position=position, step=definition.key, round=round_,
                       role=definition.role, status="active", started_at=started_at, due_at=due,
                       expected_at=expected, target=target, waiting_on=definition.wait)
        row.assignee = assignee or self.auto_assignee(definition)
        self.session.add(row)  # written with everything else at the next flush (often the commit)
        if self._started is not None:
            self._started.append(row)
        self.case.current_step = definition.key
        if definition.wait == "requester":
            self.case.paused_since = self.now
        self.trail("started", "sopdesk", row, data={"assignee": row.assignee, "due_at": _iso(due)})
        self.emit("case.step_started", {"step": self.step_payload(row), "subject": self.case.subject})
        if definition.wait:
            self.trail("waiting", "sopdesk", row, data={"on": definition.wait})
            self.emit("case.step_waiting", {"step": self.step_payload(row), "waiting_on": definition.wait,
                                            "fields": self.case.fields or {}, "subject": self.case.subject})
        return row

    def auto_assignee(self, definition: Step) -> str | None:
        if definition.is_requester_step:
            return None
        if "team" in definition.roles:
            return directory.choose_assignee(self.session, list(self.case.team or []))
        roles = tuple(r for r in definition.roles if r not in directory.NOT_ASSIGNED)
        if not roles:
            return None
        candidates = directory.holders(self.session, roles, pack=self.case.sop.split("/")[0])
        return directory.choose_assignee(self.session, candidates)

    def complete(self, row: CaseStep, outcome_key: str, actor: str, values: dict, note: str | None,
                 on_behalf_of: str | None, documents: list[dict] | None = None) -> CaseStep | None:
        """Finish ``row`` with an outcome and start whatever comes next (or close the case)."""
        definition = self.sop.step(row.step)
        outcome = definition.outcomes[outcome_key]
        merged = {**(self.case.values or {}), **values}
        destination = outcome.next_step(merged)
        kind = self.sop.outcome_kind(row.step, outcome, destination)
        row.status, row.completed_at, row.outcome = "done", self.now, outcome_key
        row.actor, row.note = actor, note
        if values:
            self.case.values = merged
        if definition.wait == "requester" and self.case.paused_since is not None:
            self.resume_clock()
        self.trail("action", actor, row, outcome=outcome_key, note=note, on_behalf_of=on_behalf_of,
                   data={"values": values, "to": destination, "kind": kind, "documents": documents or []})
        step_info = self.step_payload(row)
        self.emit("case.step_completed", {"step": step_info, "outcome": outcome_key, "kind": kind,
                                          "next_step": destination, "note": note})
        if kind == "return":
            self.emit("case.step_returned", {"step": step_info, "outcome": outcome_key, "to": destination,
                                             "note": note})
        elif kind == "reject":
            self.emit("case.step_rejected", {"step": step_info, "outcome": outcome_key, "note": note})
        if destination is None:
            self.close(outcome.result or ("rejected" if kind == "reject" else "completed"), actor)
            return None
        return self.start(self.sop.step(destination))

    def close(self, result: str, actor: str) -> None:
        self.case.status, self.case.result, self.case.closed_at = "closed", result, self.now
        self.case.current_step = None
        self.trail("closed", actor, data={"result": result})
        self.emit("case.closed", {"result": result, "closed_at": _iso(self.now), "subject": self.case.subject,
                                  "sop_title": self.sop.title})

    def resume_clock(self) -> None:
        """The requester answered: the case's deadline moves on by the working time it waited."""
        paused_since, self.case.paused_since = self.case.paused_since, None
        resumed = clock.resume(self.cal, paused_since, self.now, self.case.due_at)
        self.case.paused_minutes = (self.case.paused_minutes or 0) + resumed.waited_minutes
        if resumed.moved:
            self.case.due_at = resumed.due_at
            self.case.deadline_breached_at = None  # a new deadline may be reported once more

    # -- acting -------------------------------------------------------------------------------
    def may_act(self, actor: Actor, definition: Step) -> tuple[bool, str | None]:
        return may_act(actor, definition, self.case.team or [])

    def act(self, actor: Actor, command: Command) -> None:
        case = self.case
        try:
            definition = self.sop.step(command.step)
        except KeyError:
            raise Invalid("step", {"step": [f"{self.sop.full_key} has no step {command.step}"]}) from None
        if case.status != "open":
            raise Conflict(f"the case is {case.status}", {"step": ["the case is closed"]})
        row = self.current()
        if row is None or row.step != command.step:
            raise Conflict(f"{command.step} is not the current step ({row.step if row else 'none'})",
                           {"step": [f"the current step is {row.step if row else 'none'}"]})
        allowed, on_behalf_of = self.may_act(actor, definition)
        if command.outcome == "assign":
            return self._assign(actor, definition, row, command, allowed)
        if not allowed:
            raise Forbidden(f"{', '.join(definition.roles)} act on {definition.key}; you hold "
                            f"{', '.join(sorted(actor.roles)) or 'no role'}")
        if command.outcome == "set-target":
            return self._set_target(actor, definition, row, command)
        if command.outcome == "note":
            if not command.note and not command.documents:
                raise Invalid("note", {"note": ["write a note or add a document"]})
            self.trail("note", actor.username, row, note=command.note, on_behalf_of=on_behalf_of,
                       data={"documents": command.documents or []})
            return None
        if command.outcome not in definition.outcomes:
            choices = ", ".join(list(definition.outcomes) + list(BUILTIN_ACTIONS))
            raise Invalid("outcome", {"outcome": [f"{command.outcome} is not an outcome of {definition.key}; "
                                                  f"choose from {choices}"]})
        outcome = definition.outcomes[command.outcome]
        errors: dict[str, list[str]] = {}
        values = self._check_values(definition, command.values or {}, errors)
        if outcome.note_required and not (command.note or "").strip():
            errors.setdefault("note", []).append("say why (what to correct, what is wrong)")
        if definition.appoints_team:
            team = self._check_team(command.team or ([command.assignee] if command.assignee else []), errors)
        documents = command.documents or []
        have = {d.get("key") for d in documents} | self._documents_this_round(row)
        missing = [d.key for d in definition.documents if d.required and d.key not in have]
        if missing:
            errors.setdefault("documents", []).append(f"this step needs: {', '.join(missing)}")
        if errors:
            raise Invalid("the action has errors", errors)
        if definition.appoints_team:
            case.team = team
        if documents:
            self.trail("document", actor.username, row, on_behalf_of=on_behalf_of, data={"documents": documents})
        if row.waiting_on and row.waiting_on != "requester":
            self.trail("resumed", actor.username, row, data={"by": "staff"})
            self.emit("case.step_resumed", {"step": self.step_payload(row), "waiting_on": row.waiting_on})
        self.complete(row, command.outcome, actor.username, values, command.note, on_behalf_of, documents)
        return None

    def _assign(self, actor: Actor, definition: Step, row: CaseStep, command: Command, allowed: bool) -> None:
        """A head chooses who works a step; anyone who may act on it may take it themselves."""
        assignee = (command.assignee or "").strip() or actor.username
        if not actor.is_head and not (allowed and assignee == actor.username):
            raise Forbidden("only a head assigns a step to someone else; you may take a step you may act on")
        if definition.is_requester_step:
            raise Invalid("assignee", {"assignee": ["the requester holds this step"]})
        user = directory.user_by_name(self.session, assignee)
        if user is None:
            raise Invalid("assignee", {"assignee": [f"no active user {assignee}"]})
        person = directory.actor(self.session, user.id)
        if not self.may_act(person, definition)[0]:
            raise Invalid("assignee", {"assignee": [f"{assignee} holds none of {', '.join(definition.roles)}"]})
        previous, row.assignee = row.assignee, assignee
        self.trail("assigned", actor.username, row, note=command.note, data={"from": previous, "to": assignee})
        self.emit("case.assigned", {"step": self.step_payload(row), "previous_assignee": previous,
                                    "assigned_by": actor.username})

    def _set_target(self, actor: Actor, definition: Step, row: CaseStep, command: Command) -> None:
        if definition.target.kind != "by-assignee":
            raise Invalid("target", {"target": [f"{definition.key} has its target from the manual "
                                                f"({definition.target.text('en')})"]})
        due, text = parse_assignee_target(command.target or "", row.started_at, self.cal)
        row.due_at, row.target, row.breached_at = due, text, None
        self.trail("target", actor.username, row, note=command.note, data={"target": text, "due_at": _iso(due)})
        self.emit("case.step_target_set", {"step": self.step_payload(row), "set_by": actor.username})

    def _check_values(self, definition: Step, given: dict, errors: dict) -> dict:
        values = {}
        for spec in definition.inputs:
            raw = given.get(spec.name)
            if raw in (None, ""):
                if spec.required:
                    errors.setdefault(f"values.{spec.name}", []).append("required")
                continue
            try:
                values[spec.name] = _coerce(spec.type, raw, spec.choices)
            except ValueError as exc:
                errors.setdefault(f"values.{spec.name}", []).append(str(exc))
        unknown = sorted(set(given) - {s.name for s in definition.inputs})
        if unknown:
            errors.setdefault("values", []).append(f"not asked at this step: {', '.join(unknown)}")
        return values

    def _check_team(self, names: list[str], errors: dict) -> list[str]:
        names = sorted({n.strip() for n in names if n and n.strip()})
        if not names:
            errors.setdefault("team", []).append("name at least one member of the team")
        for name in names:
            if directory.user_by_name(self.session, name) is None:
                errors.setdefault("team", []).append(f"no active user {name}")
        return names

    def _documents_this_round(self, row: CaseStep) -> set[str]:
        entries = self.session.scalars(select(TrailEntry).where(
            TrailEntry.case_id == self.case.id, TrailEntry.step == row.step, TrailEntry.round == row.round,
            TrailEntry.kind.in_(("document", "note"))))
        return {d.get("key") for e in entries for d in (e.data or {}).get("documents", [])}

    # -- waits on other services ------------------------------------------------------------
    def resume_wait(self, waiting_on: str, actor: str, note: str | None = None, values: dict | None = None,
                    step_key: str | None = None, documents: list | None = None) -> bool:
        """The awaited party answered: finish the waiting step. False when the case is not waiting
        on them (already resumed by hand, moved on, or a repeat)."""
        row = self.current()
        if (self.case.status != "open" or row is None or row.waiting_on != waiting_on
                or (step_key and row.step != step_key)):
            return False
        definition = self.sop.step(row.step)
        if waiting_on == "requester" and self.case.paused_since is not None:
            self.resume_clock()  # before the event, so that it carries the moved deadline
        self.trail("resumed", actor, row, note=note, data={"by": waiting_on})
        self.emit("case.step_resumed", {"step": self.step_payload(row), "waiting_on": waiting_on})
        outcome = next(iter(definition.outcomes))
        self.complete(row, outcome, actor, values or {}, note, None, documents)
        return True


def may_act(actor: Actor, definition: Step, team: list[str]) -> tuple[bool, str | None]:
    """Whether ``actor`` may act on a step, and on whose behalf (a delegation, the requester)."""
    if definition.is_requester_step:
        for role in ON_BEHALF_OF_REQUESTER:
            if actor.holds(role)[0]:
                return True, "requester"
        return False, None
    for role in definition.roles:
        if role == "team":
            if actor.username in team:
                return True, None
            for member in team:
                if member in actor.acting_for_users:
                    return True, member
            continue
        held, for_whom = actor.holds(role)
        if held:
            return True, for_whom
    return False, None


def emit_case_event(uow: UnitOfWork, case: Case, event_type: str, payload: dict) -> None:
    """An event about a case: numbered in the case's sequence and carrying the case's state after
    it, so that consumers can apply case events in order whatever order they arrive in."""
    case.seq = (case.seq or 0) + 1
    base = {"tracking_code": case.tracking_code, "sop": case.sop, "pack_version": case.pack_version,
            "seq": case.seq, "case_status": case.status, "current_step": case.current_step,
            "due_at": _iso(case.due_at)}
    uow.emit(event_type, {**base, **payload}, correlation_id=case.tracking_code)


def _coerce(kind: str, raw, choices) -> object:
    if kind == "number":
        if isinstance(raw, bool):
            raise ValueError("a number")
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise ValueError("a number") from None
    if kind == "datetime":
        try:
            moment = datetime.fromisoformat(str(raw))
        except ValueError:
            raise ValueError("a date and time (ISO 8601)") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=BANGKOK)
        return moment.astimezone(timezone.utc).isoformat()
    if kind == "date":
        try:
            return date.fromisoformat(str(raw)).isoformat()
        except ValueError:
            raise ValueError("a date (YYYY-MM-DD)") from None
    if kind == "select":
        if str(raw) not in choices:
            raise ValueError(f"one of {', '.join(choices)}")
        return str(raw)
    text = str(raw)
    if len(text) > 2000:
        raise ValueError("at most 2000 characters")
    return text


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
