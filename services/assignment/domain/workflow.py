"""How a case moves through its SOP, decided over plain values: who may act on a step and on
whose behalf, what they may do there now, whether what they entered will do (the values, a note,
the team, the documents), where an outcome leads (the next step, a return for correction, a wait
on someone, or the end: completed or rejected) with the events it implies, when a step is due,
and which wait an answer from outside ends.

The rules come from the pack (``shared.packs``: ``Sop``, ``Step`` and ``Outcome`` are plain frozen
data); nothing here knows any particular SOP and nothing here reads or writes a table. The
handler (``handlers/engine.py``) loads the facts (the case's current step and its round, the
documents handed in this round, which names are active users), asks here, and writes what was
decided with its trail entries and events. A refusal is ``Refused``; the handler answers it as
403, 409 or 422."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import NamedTuple
from zoneinfo import ZoneInfo

from shared.errors import Conflict, Forbidden, Invalid, Refusal
from shared.packs import Outcome, Sop, Step, Target
from shared.workcal import WorkingCalendar

BANGKOK = ZoneInfo("Asia/Bangkok")  # a time typed without a zone is Thai time

# actions every step has besides its pack outcomes
BUILTIN_ACTIONS = ("assign", "set-target", "note")
# staff who may record a requester's answer given on paper or by telephone
ON_BEHALF_OF_REQUESTER = ("intake-clerk", "officer", "head")
# roles nobody is assigned work for: the requester and vendors never log in, a team is named per case
NOT_ASSIGNED = ("requester", "vendor", "team")


# The workflow says no with the one family of refusals (``shared.errors``): ``Forbidden`` (not
# theirs to do), ``Conflict`` (the case is not where the actor thinks it is) or ``Invalid`` (what
# they asked or entered), with field-level messages. ``Refused`` is any of them.
Refused = Refusal


# ---------------------------------------------------------------------------------------------
# the people and the case, as plain values


@dataclass(frozen=True)
class Actor:
    """A staff member as the workflow sees them today: their own roles, and the roles they hold
    for someone away (role -> that person's username)."""

    user_id: str
    username: str
    display_name: str
    unit: str | None
    roles: frozenset[str]
    acting_for: dict[str, str] = field(default_factory=dict)  # role -> delegator
    acting_for_users: frozenset[str] = frozenset()

    def holds(self, role: str) -> tuple[bool, str | None]:
        """(may act with this role, on whose behalf or None)."""
        if role in self.roles:
            return True, None
        if role in self.acting_for:
            return True, self.acting_for[role]
        return False, None

    @property
    def is_head(self) -> bool:
        return self.holds("head")[0]


@dataclass(frozen=True)
class CurrentStep:
    """The case's active step: which, its round (1, then 2 after a return to it, ...), and whom it
    waits on (the requester, a vendor, procurement; None: staff work it)."""

    key: str
    round: int = 1
    waiting_on: str | None = None


@dataclass(frozen=True)
class CaseState:
    """What the workflow needs to know of a case: open or closed, its active step, its team, the
    values entered so far, and whether its clock is stopped (the requester holds it)."""

    status: str
    current: CurrentStep | None
    team: tuple[str, ...] = ()
    values: Mapping[str, object] = field(default_factory=dict)
    paused: bool = False


# ---------------------------------------------------------------------------------------------
# who may act, who may take a step, what one may do now


class Permission(NamedTuple):
    allowed: bool
    on_behalf_of: str | None  # a delegator's username, "requester", or None: in their own name


def may_act(actor: Actor, step: Step, team: Iterable[str]) -> Permission:
    """Whether ``actor`` may act on a step, and on whose behalf. A requester's step is recorded by
    the staff who take answers on paper or by telephone, for the requester; a team step by the
    case's team or whoever stands in for a member; any other by a holder of one of its roles,
    or the delegate of someone away who holds it."""
    if step.is_requester_step:
        for role in ON_BEHALF_OF_REQUESTER:
            if actor.holds(role)[0]:
                return Permission(True, "requester")
        return Permission(False, None)
    team = list(team)
    for role in step.roles:
        if role == "team":
            if actor.username in team:
                return Permission(True, None)
            for member in team:
                if member in actor.acting_for_users:
                    return Permission(True, member)
            continue
        held, for_whom = actor.holds(role)
        if held:
            return Permission(True, for_whom)
    return Permission(False, None)


@dataclass(frozen=True)
class Takers:
    """Who may be given a step: the holders of ``roles``, and on a team step the case's ``team``
    (None: not a team step). A requester's step is nobody's to take."""

    roles: tuple[str, ...]
    team: tuple[str, ...] | None


def who_may_take(step: Step, team: Iterable[str]) -> Takers:
    return Takers(roles=tuple(r for r in step.roles if r not in NOT_ASSIGNED),
                  team=tuple(team) if "team" in step.roles else None)


@dataclass(frozen=True)
class Actions:
    """What someone may do on a step now: its outcomes, the built-in actions, and for whom."""

    outcomes: tuple[str, ...]
    builtin: tuple[str, ...]
    on_behalf_of: str | None

    @property
    def any(self) -> bool:
        return bool(self.outcomes or self.builtin)


def actions_now(actor: Actor, step: Step, team: Iterable[str], decisions: Iterable["Decision"] = ()) -> Actions:
    """Anyone who may act chooses an outcome, writes a note and, where the assignee sets the
    target, sets it; a head assigns any step, anyone who may act may take it. On a step several
    people decide together (``decisions``: those of this round), the outcomes are offered only to
    whom it is the turn of and who has not decided (``approver_turn``)."""
    allowed, on_behalf_of = may_act(actor, step, team)
    builtin = []
    if actor.is_head or allowed:
        builtin.append("assign")
    if allowed:
        builtin.append("note")
        if step.target.kind == "by-assignee":
            builtin.append("set-target")
    outcomes = tuple(step.outcomes) if allowed else ()
    if allowed and step.joint:
        try:
            on_behalf_of = approver_turn(actor, step, decisions).on_behalf_of
        except Refused:
            outcomes = ()
    return Actions(outcomes, tuple(builtin), on_behalf_of)


# ---------------------------------------------------------------------------------------------
# checking an action


def current_step(sop: Sop, case: CaseState, step_key: str) -> Step:
    """The step an action names, refused unless it is the open case's current step."""
    try:
        step = sop.step(step_key)
    except KeyError:
        raise Invalid(errors={"step": [f"{sop.full_key} has no step {step_key}"]}) from None
    if case.status != "open":
        raise Conflict(f"the case is {case.status}", {"step": ["the case is closed"]})
    now = case.current.key if case.current else "none"
    if case.current is None or case.current.key != step_key:
        raise Conflict(f"{step_key} is not the current step ({now})",
                      {"step": [f"the current step is {now}"]})
    return step


def require(actor: Actor, step: Step, permission: Permission) -> None:
    """Only who may act on a step chooses its outcome, sets its target or writes a note on it."""
    if not permission.allowed:
        raise Forbidden(f"{', '.join(step.roles)} act on {step.key}; you hold "
                                   f"{', '.join(sorted(actor.roles)) or 'no role'}")


def assignee_asked(actor: Actor, step: Step, permission: Permission, asked: str | None) -> str:
    """Whom an ``assign`` gives the step to (nobody named: the actor). A head chooses who works a
    step; anyone who may act on it may take it themselves; nobody takes the requester's step."""
    assignee = (asked or "").strip() or actor.username
    if not actor.is_head and not (permission.allowed and assignee == actor.username):
        raise Forbidden("only a head assigns a step to someone else; you may take a step you may act on")
    if step.is_requester_step:
        raise Invalid(errors={"assignee": ["the requester holds this step"]})
    return assignee


def check_assignee(person: Actor, step: Step, team: Iterable[str]) -> None:
    """The one a step is given to must be able to act on it."""
    if not may_act(person, step, team).allowed:
        raise Invalid(errors={"assignee": [f"{person.username} holds none of {', '.join(step.roles)}"]})


def check_note(note: str | None, documents: list[dict] | None) -> None:
    if not note and not documents:
        raise Invalid(errors={"note": ["write a note or add a document"]})


def outcome_of(step: Step, key: str) -> Outcome:
    if key not in step.outcomes:
        choices = ", ".join(list(step.outcomes) + list(BUILTIN_ACTIONS))
        raise Invalid(errors={"outcome": [f"{key} is not an outcome of {step.key}; choose from {choices}"]})
    return step.outcomes[key]


def team_named(team: Iterable[str] | None, assignee: str | None) -> list[str]:
    """The team a step appoints (or the one assignee named instead): each name once, by name."""
    names = list(team or ([assignee] if assignee else []))
    return sorted({n.strip() for n in names if n and n.strip()})


@dataclass(frozen=True)
class Checked:
    """An outcome that may be taken, with what was entered for it, coerced."""

    outcome: Outcome
    values: dict
    team: list[str] | None  # the team appointed, on a step that appoints one


def check_outcome(step: Step, outcome_key: str, *, values: Mapping | None = None, note: str | None = None,
                  team: list[str] | None = None, active_users: Iterable[str] = (),
                  documents: list[dict] | None = None, handed_in: Iterable[str] = (),
                  message: str | None = None) -> Checked:
    """Whether an outcome may be taken with what was entered: the step's values (required, typed,
    nothing it does not ask), a note where the outcome needs one ('say why'), a team of active
    users where the step appoints one (``team`` as ``team_named`` gives it, ``active_users`` those
    of them the directory knows), and every required document, handed in now or earlier this
    round (``handed_in``): a document counts when it came as a file (its ``id``), a paper
    reference alone does not. A step that tells the requester in words
    (``notify_requester: {message: required}``) needs its ``message``. Every error is found before
    any is reported."""
    outcome = outcome_of(step, outcome_key)
    errors: dict[str, list[str]] = {}
    checked = check_values(step, values or {}, errors)
    if outcome.note_required and not (note or "").strip():
        errors.setdefault("note", []).append("say why (what to correct, what is wrong)")
    appointed = None
    if step.appoints_team:
        appointed = list(team or [])
        if not appointed:
            errors.setdefault("team", []).append("name at least one member of the team")
        active = set(active_users)
        for name in appointed:
            if name not in active:
                errors.setdefault("team", []).append(f"no active user {name}")
    if step.message_required and not (message or "").strip():
        errors.setdefault("message", []).append("write what the requester is told (the step tells them)")
    have = {d.get("key") for d in documents or [] if d.get("id")} | set(handed_in)
    missing = documents_missing(step, have)
    if missing:
        errors.setdefault("documents", []).append(f"this step needs: {', '.join(missing)}")
    if errors:
        raise Invalid("the action has errors", errors)
    return Checked(outcome, checked, appointed)


def documents_missing(step: Step, have: Iterable[str | None]) -> list[str]:
    """The step's required documents not handed in yet (in the pack's order)."""
    have = set(have)
    return [d.key for d in step.documents if d.required and d.key not in have]


def check_values(step: Step, given: Mapping, errors: dict[str, list[str]]) -> dict:
    """The values a step asks for, coerced to their types; each problem added to ``errors`` under
    ``values.<name>`` (or ``values`` for names the step does not ask)."""
    values = {}
    for spec in step.inputs:
        raw = given.get(spec.name)
        if raw in (None, ""):
            if spec.required:
                errors.setdefault(f"values.{spec.name}", []).append("required")
            continue
        try:
            values[spec.name] = coerce(spec.type, raw, spec.choices)
        except ValueError as exc:
            errors.setdefault(f"values.{spec.name}", []).append(str(exc))
    unknown = sorted(set(given) - {s.name for s in step.inputs})
    if unknown:
        errors.setdefault("values", []).append(f"not asked at this step: {', '.join(unknown)}")
    return values


def coerce(kind: str, raw, choices) -> object:
    """A value as it is kept: a number as a float, a moment in UTC (Thai time when typed without a
    zone), a date as YYYY-MM-DD, a choice among the step's, text of at most 2000 characters.
    ValueError says what was expected."""
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


# ---------------------------------------------------------------------------------------------
# where an outcome leads


@dataclass(frozen=True)
class Move:
    """An outcome taken on a step: where it leads and what that implies. ``to`` None: the case
    ends, with ``result`` (completed or rejected). ``kind``: forward, return (back to an earlier
    step, or to the requester for correction) or reject. ``events`` are the step's events in the
    order they are published; a case that ends is then closed (``closed``, ``case.closed``)."""

    step: str
    outcome: str
    kind: str
    to: str | None
    result: str | None
    values: dict  # the case's values after what was entered
    waits_on: str | None  # whom the next step waits on
    resumes_clock: bool  # the step done waited on the requester and the clock is stopped: it runs again
    events: tuple[str, ...]

    @property
    def ends(self) -> bool:
        return self.to is None

    @property
    def returns_to(self) -> str | None:
        """The step a return for correction hands the case back to."""
        return self.to if self.kind == "return" else None


def complete(sop: Sop, case: CaseState, outcome_key: str, entered: Mapping | None = None) -> Move:
    """The case's current step done with ``outcome_key`` and the values ``entered`` for it
    (checked already): branches are decided on the case's values with these added."""
    step = sop.step(case.current.key)
    outcome = step.outcomes[outcome_key]
    values = {**case.values, **(entered or {})}
    to = outcome.next_step(values)
    kind = sop.outcome_kind(step.key, outcome, to)
    result = None
    if to is None:
        result = outcome.result or ("rejected" if kind == "reject" else "completed")
    events = ("case.step_completed",) + {"return": ("case.step_returned",),
                                         "reject": ("case.step_rejected",)}.get(kind, ())
    return Move(step=step.key, outcome=outcome_key, kind=kind, to=to, result=result, values=values,
                waits_on=sop.step(to).wait if to is not None else None,
                resumes_clock=step.wait == "requester" and case.paused, events=events)


# ---------------------------------------------------------------------------------------------
# starting a step, its due time, waits


def step_due(step: Step, values: Mapping, start: datetime,
             cal: WorkingCalendar) -> tuple[datetime | None, datetime | None, str | None]:
    """(due, expected, target text) for a step starting at ``start``: the manual's working time,
    or the moment an earlier step's actor entered; None where the manual sets none (or the
    assignee sets it later)."""
    target = step.target
    if target.kind == "fixed":
        due = cal.add_duration(start, target.high, target.unit)
        expected = cal.add_duration(start, target.low, target.unit)
        return due, expected, target.text("en")
    if target.kind == "until":
        value = values.get(target.input)
        if value:
            return datetime.fromisoformat(value).astimezone(timezone.utc), None, f"until {target.input}"
    return None, None, None


def case_deadline(sop: Sop, received: datetime, cal: WorkingCalendar) -> tuple[datetime | None, datetime | None]:
    """(due, expected) of a whole case, from the moment the request was received."""
    deadline = sop.deadline
    if deadline.kind != "fixed":
        return None, None
    return (cal.add_duration(received, deadline.high, deadline.unit),
            cal.add_duration(received, deadline.low, deadline.unit))


@dataclass(frozen=True)
class Start:
    """A step begun: its round, when it is due, and whom it waits on (a wait is announced as well
    as the start, ``case.step_waiting``; a wait on the requester stops the case's clock)."""

    step: str
    round: int
    due_at: datetime | None
    expected_at: datetime | None
    target: str | None
    waiting_on: str | None
    pauses_clock: bool


def start(step: Step, rounds_before: int, started_at: datetime, values: Mapping, cal: WorkingCalendar) -> Start:
    """``step`` begun at ``started_at``, after ``rounds_before`` earlier rounds of it in this case."""
    due, expected, target = step_due(step, values, started_at, cal)
    return Start(step=step.key, round=rounds_before + 1, due_at=due, expected_at=expected, target=target,
                 waiting_on=step.wait, pauses_clock=step.wait == "requester")


def request_outcome(first: Step) -> str | None:
    """The request itself is the requester's first step (the memo, the kickoff request) unless the
    step waits for them: done when the case opens, with its first outcome."""
    if first.is_requester_step and not first.wait:
        return next(iter(first.outcomes.values())).key
    return None


def staff_end_wait(current: CurrentStep) -> bool:
    """Staff acting on a step that waits on a vendor or another service record that the wait is
    over (the requester's answer moves the case on by itself)."""
    return bool(current.waiting_on) and current.waiting_on != "requester"


@dataclass(frozen=True)
class Resumption:
    """An awaited answer that ends the current step's wait, with the step's (first) outcome."""

    step: str
    outcome: str
    resumes_clock: bool  # the requester answered while the clock was stopped


def resume(sop: Sop, case: CaseState, waiting_on: str, step_key: str | None = None,
           outcome: str | None = None) -> Resumption | None:
    """The answer of ``waiting_on`` (about ``step_key``, when it names one), with the ``outcome``
    they chose when the step offers several (a re-check: confirmed or a correction asked; one
    the step does not have, or none, is its first); None when the case is not waiting on them
    there (already resumed by hand, moved on, or a repeat of the news)."""
    current = case.current
    if (case.status != "open" or current is None or current.waiting_on != waiting_on
            or (step_key and current.key != step_key)):
        return None
    step = sop.step(current.key)
    chosen = outcome if outcome in step.outcomes else next(iter(step.outcomes))
    return Resumption(step=step.key, outcome=chosen,
                      resumes_clock=waiting_on == "requester" and case.paused)


# ---------------------------------------------------------------------------------------------
# a target the assignee sets


def assignee_target(step: Step, text: str | None, start_at: datetime,
                    cal: WorkingCalendar) -> tuple[datetime, str]:
    """The due time the assignee gives a step whose manual leaves it to them."""
    if step.target.kind != "by-assignee":
        raise Invalid(errors={"target": [f"{step.key} has its target from the manual "
                                                       f"({step.target.text('en')})"]})
    return parse_assignee_target(text or "", start_at, cal)


def parse_assignee_target(text: str, start_at: datetime, cal: WorkingCalendar) -> tuple[datetime, str]:
    """A target the assignee sets: a duration ('3 days', '1-2 days', '4 hours') or a moment (ISO
    8601, Thai time when it names no zone) after ``start_at``. Returns (due, how it was written)."""
    text = (text or "").strip()
    try:
        target = Target.parse(text)
    except ValueError:
        target = None
    if target is not None and target.kind == "fixed":
        return cal.add_duration(start_at, target.high, target.unit), text
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(errors={"target": ["a duration such as '3 days' or '4 hours', or a date and "
                                                       "time (ISO 8601)"]}) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BANGKOK)
    moment = moment.astimezone(timezone.utc)
    if moment <= start_at:
        raise Invalid(errors={"target": ["the target must be in the future"]})
    return moment, text


# ---------------------------------------------------------------------------------------------
# a step several people decide together: ``all_of`` (every role, any order) or ``in_order``
# (each role in turn). Each decision is kept (the trail's ``approval`` entries of the round); the
# step ends with its one approving outcome when every role has approved, and at once with a
# refusal (a return or a rejection). A new round (the step reached again) starts over.


@dataclass(frozen=True)
class Decision:
    """One person's word on a joint step: in which role, by whom, for whom (a delegate acts for
    someone away), with which outcome, when."""

    role: str
    by: str
    on_behalf_of: str | None
    outcome: str
    at: datetime | None = None

    @property
    def people(self) -> frozenset[str]:
        """Who decided: the person acting and the one they stand in for."""
        return frozenset(p for p in (self.by, self.on_behalf_of) if p)


@dataclass(frozen=True)
class Approvals:
    """Where a joint step stands: the decisions of this round, the roles still to decide (in the
    pack's order) and those whose turn it is now (all of them for ``all_of``, the next for
    ``in_order``)."""

    decided: tuple[Decision, ...]
    awaiting: tuple[str, ...]
    turn: tuple[str, ...]


def approvals(step: Step, decisions: Iterable[Decision]) -> Approvals:
    decided = tuple(d for d in decisions if d.role in step.roles)
    done = {d.role for d in decided}
    awaiting = tuple(role for role in step.roles if role not in done)
    turn = awaiting if step.approval == "all_of" else awaiting[:1]
    return Approvals(decided, awaiting, turn)


class Turn(NamedTuple):
    role: str
    on_behalf_of: str | None


def approver_turn(actor: Actor, step: Step, decisions: Iterable[Decision]) -> Turn:
    """The role in which ``actor`` decides a joint step now, and for whom: a role whose turn it
    is, held in their own name before one held for someone away. Refused when they hold none of
    the roles whose turn it is (``in_order``: the one before them has not decided), or when they
    (or the person they stand in for) decided already this round, in any role: the same person
    never approves twice nor in two roles."""
    state = approvals(step, decisions)
    held = [(role, *actor.holds(role)) for role in state.turn]
    held = [(role, for_whom) for role, ok, for_whom in held if ok]
    if not held:
        if any(actor.holds(role)[0] for role in state.awaiting):
            raise Forbidden(f"{step.key}: it is the turn of {', '.join(state.turn)} first",
                            {"outcome": [f"{', '.join(state.turn)} decides first"]})
        if any(actor.holds(role)[0] for role in step.roles):
            raise Conflict(f"{step.key}: your role has decided already this round",
                           {"outcome": ["your role has decided already"]})
        raise Forbidden(f"{', '.join(step.roles)} decide {step.key} together; you hold "
                        f"{', '.join(sorted(actor.roles)) or 'no role'}")
    role, for_whom = min(held, key=lambda item: item[1] is not None)  # their own role first
    people = {actor.username} | ({for_whom} if for_whom else set())
    before = next((d for d in state.decided if d.people & people), None)
    if before is not None:
        raise Conflict(f"{step.key}: {before.by} decided already as {before.role}; one person decides once",
                       {"outcome": [f"decided already as {before.role}: one person decides once"]})
    return Turn(role, for_whom)


@dataclass(frozen=True)
class JointMove:
    """A decision taken on a joint step: it is kept (``decision``); ``completes``: the step ends
    now with the decision's outcome (the last approval, or a refusal); else the step stays, and
    ``asked`` are the roles whose turn begins now (told of their work)."""

    decision: Decision
    completes: bool
    awaiting: tuple[str, ...]
    asked: tuple[str, ...]


def decide(sop: Sop, step: Step, actor: Actor, outcome_key: str, decisions: Iterable[Decision],
           at: datetime | None = None) -> JointMove:
    """``actor``'s ``outcome_key`` on the joint step ``step``, after this round's ``decisions``:
    a refusal decides at once; an approval completes the step when it is the last one awaited."""
    decisions = tuple(decisions)
    outcome_of(step, outcome_key)
    turn = approver_turn(actor, step, decisions)
    decision = Decision(turn.role, actor.username, turn.on_behalf_of, outcome_key, at)
    if outcome_key != sop.approving_outcome(step.key):
        return JointMove(decision, True, (), ())
    before, after = approvals(step, decisions), approvals(step, decisions + (decision,))
    return JointMove(decision, not after.awaiting, after.awaiting,
                     tuple(role for role in after.turn if role not in before.turn))
