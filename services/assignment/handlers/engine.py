"""The SOP engine: a case's SOP worked inside one unit of work. It loads what the workflow needs
to know (the case's active step and its round, how many rounds a step has had, the documents
handed in this round, which people an action names), asks ``domain/workflow.py`` what follows,
and writes it: the case's and steps' rows, each change with its trail entry and its event, in the
caller's unit of work. The rules (who may act, where an outcome leads, when a step is due, what
an action must carry) are in ``domain/workflow.py``, the clock's in ``domain/clock.py``. No Flask.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.assignment.adapters import caches
from services.assignment.adapters.models import CalendarDay, Case, CaseDocument, CaseStep, OrgSettings, TrailEntry
from services.assignment.domain import clock, workflow
from services.assignment.domain.workflow import Actor
from services.assignment.handlers import directory, figures
from services.assignment.handlers.commands import AddNote, AssignStep, CompleteStep, SetTarget, StepAction, Upload
from shared import db
from shared.config import get_settings
from shared.errors import Invalid
from shared.messaging import UnitOfWork
from shared.packs import Sop, Step
from shared.workcal import WorkingCalendar, calendar_from_days


def calendar(session: Session, org: str | None = None) -> WorkingCalendar:
    """Thai working time from configuration plus the admin's calendar changes, in ``org``'s office
    hours when its administrators set them (``OrgSettings``), else the configuration's. Kept in
    process memory (the ``calendar`` group of ``caches``: a change of a ``CalendarDay`` or of an
    organisation's settings anywhere is seen by the next transaction); a ``WorkingCalendar`` is
    never changed once built."""
    settings = get_settings()
    hours = office_hours_of(session, org) or settings.office_hours

    def read() -> WorkingCalendar:
        return calendar_from_days(replace(settings, office_hours=hours), session.scalars(select(CalendarDay)))

    return caches.cached(caches.CALENDAR, hours, session, read)


def office_hours_of(session: Session, org: str | None) -> str | None:
    """The office hours ``org``'s administrators set (None: the configuration's)."""
    if not org:
        return None

    def read() -> str | None:
        row = session.get(OrgSettings, org)
        return row.office_hours if row is not None else None

    return caches.cached(caches.CALENDAR, ("office-hours", org), session, read)


# ---------------------------------------------------------------------------------------------
# the engine


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
        # whose action is moving the case (a step it starts that they hold is no news to them)
        self.acting: str | None = None

    @property
    def cal(self) -> WorkingCalendar:
        if self._cal is None:
            self._cal = calendar(self.session, self.case.org)
        return self._cal

    # -- reading ------------------------------------------------------------------------------
    def current(self) -> CaseStep | None:
        return self.session.scalar(select(CaseStep).where(CaseStep.case_id == self.case.id,
                                                          CaseStep.status == "active")
                                   .order_by(CaseStep.position.desc()).limit(1))

    def state(self, row: CaseStep | None) -> workflow.CaseState:
        """The case as the workflow sees it, ``row`` its active step."""
        case = self.case
        current = workflow.CurrentStep(row.step, row.round, row.waiting_on) if row is not None else None
        return workflow.CaseState(status=case.status, current=current, team=tuple(case.team or ()),
                                  values=dict(case.values or {}), paused=case.paused_since is not None)

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
                "needs_approval": "approve" in definition.outcomes or definition.joint,
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
        due, expected = workflow.case_deadline(self.sop, received, self.cal)
        if due is not None:
            self.case.due_at, self.case.expected_at = due, expected
        # planned work (a pack's schedule) has no requester: sopdesk opened it
        self.trail("opened", "sopdesk" if self.case.channel == "planned" else "requester",
                   data={"channel": self.case.channel})
        figures.case_opened(self.session, self.case)
        first = self.sop.first_step
        self.case.current_step = first.key
        self.emit("case.opened", {"sop_title": self.sop.title, "subject": self.case.subject,
                                  "opened_at": _iso(self.case.opened_at), "received_at": _iso(received),
                                  "step": {"key": first.key, "title": first.title, "role": first.role, "round": 1,
                                           "started_at": _iso(received)}})
        row = self.start(first, started_at=received)
        outcome = workflow.request_outcome(first)
        if outcome is not None:
            self.complete(row, outcome, actor="requester", values={}, note=None, on_behalf_of=None)

    # -- moving -------------------------------------------------------------------------------
    def start(self, definition: Step, started_at: datetime | None = None, assignee: str | None = None) -> CaseStep:
        started_at = started_at or self.now
        if self._started is not None:
            rounds_before = sum(1 for r in self._started if r.step == definition.key)
            position = 1 + max((r.position for r in self._started), default=0)
        else:
            done, last = self.session.execute(
                select(func.count().filter(CaseStep.step == definition.key), func.max(CaseStep.position))
                .where(CaseStep.case_id == self.case.id)).one()
            rounds_before, position = done or 0, (last or 0) + 1
        begun = workflow.start(definition, rounds_before, started_at, self.case.values or {}, self.cal)
        # a step decided together is held by whom it is the turn of (the first of them)
        turn = workflow.approvals(definition, ()).turn if definition.joint else ()
        row = CaseStep(case_id=self.case.id, org=self.case.org, position=position, step=definition.key, round=begun.round,
                       role=turn[0] if turn else definition.role, status="active", started_at=started_at,
                       due_at=begun.due_at, expected_at=begun.expected_at, target=begun.target,
                       waiting_on=begun.waiting_on)
        row.assignee = assignee or (self.approver_for(turn[0]) if turn else self.auto_assignee(definition))
        self.session.add(row)  # written with everything else at the next flush (often the commit)
        if self._started is not None:
            self._started.append(row)
        self.case.current_step = definition.key
        if begun.pauses_clock:
            self.case.paused_since = self.now
        self.trail("started", "sopdesk", row, data={"assignee": row.assignee, "due_at": _iso(begun.due_at)})
        self.emit("case.step_started", {"step": self.step_payload(row), "subject": self.case.subject,
                                        "self_assigned": row.assignee is not None and row.assignee == self.acting})
        if begun.waiting_on:
            self.trail("waiting", "sopdesk", row, data={"on": begun.waiting_on})
            waiting = {"step": self.step_payload(row), "waiting_on": begun.waiting_on,
                       "fields": self.case.fields or {}, "subject": self.case.subject}
            if begun.waiting_on == "requester" and len(definition.outcomes) > 1:  # they choose (a re-check)
                waiting["choices"] = [{"key": key, "label": outcome.label or {"th": key}}
                                      for key, outcome in definition.outcomes.items()]
            self.emit("case.step_waiting", waiting)
        if len(turn) > 1:  # all_of: the others whose turn it is too are asked at once
            self.ask(definition, row, turn[1:], [], {turn[0]: row.assignee})
        return row

    def auto_assignee(self, definition: Step) -> str | None:
        """Of those who may take the step, the one the directory chooses (least open work)."""
        takers = workflow.who_may_take(definition, self.case.team or [])
        if takers.team is not None:
            return directory.choose_assignee(self.session, list(takers.team))
        if not takers.roles:
            return None
        candidates = directory.holders(self.session, takers.roles, pack=self.case.sop.split("/")[0])
        return directory.choose_assignee(self.session, candidates)

    # -- a step decided together (all_of, in_order) ------------------------------------------
    def approver_for(self, role: str, besides: tuple[str, ...] = ()) -> str | None:
        """Who is asked to decide in ``role``: of its holders in the organisation, one not asked in
        another role of the step already (``besides``), chosen as any assignee is."""
        candidates = directory.holders(self.session, (role,), pack=self.case.sop.split("/")[0])
        return directory.choose_assignee(self.session, [c for c in candidates if c not in besides] or candidates)

    def decisions(self, row: CaseStep) -> list[workflow.Decision]:
        """The decisions taken on ``row``'s step in its round, in order (the trail's ``approval``
        entries)."""
        entries = self.session.scalars(select(TrailEntry).where(
            TrailEntry.case_id == self.case.id, TrailEntry.step == row.step, TrailEntry.round == row.round,
            TrailEntry.kind == "approval"))
        return decisions_of(entries, row.step, row.round)

    def asked(self, row: CaseStep) -> dict[str, str]:
        """Role -> the person asked to decide in it, this round (the first holder is the step's own)."""
        entries = self.session.scalars(select(TrailEntry).where(
            TrailEntry.case_id == self.case.id, TrailEntry.step == row.step, TrailEntry.round == row.round,
            TrailEntry.kind == "asked"))
        return {row.role: row.assignee, **{(e.data or {}).get("role"): (e.data or {}).get("person") for e in entries}}

    def ask(self, definition: Step, row: CaseStep, roles: tuple[str, ...], decisions: list[workflow.Decision],
            asked: dict[str, str]) -> None:
        """Ask a person in each of ``roles`` to decide: each is named in the trail (the database then
        counts them among those who took part, ``CasePerson``: the case is theirs to see and act on) and told (``case.approval_asked``, which notify mails as an
        approval needed)."""
        people = self._choose(row, roles, asked)
        self._asked_event(definition, row, people, decisions)

    def _choose(self, row: CaseStep, roles: tuple[str, ...], asked: dict[str, str]) -> list[dict]:
        people = []
        for role in roles:
            person = self.approver_for(role, tuple(p for p in asked.values() if p))
            if person is None:
                continue  # nobody holds the role: a head gives the step to someone by hand
            asked[role] = person
            self.trail("asked", "sopdesk", row, data={"role": role, "person": person})
            people.append({"role": role, "username": person, "contact": directory.contact(self.session, person)})
        return people

    def _asked_event(self, definition: Step, row: CaseStep, people: list[dict],
                     decisions: list[workflow.Decision]) -> None:
        state = workflow.approvals(definition, decisions)
        self.emit("case.approval_asked", {
            "step": self.step_payload(row), "subject": self.case.subject, "asked": people,
            "approvals": [approval_json(d) for d in state.decided], "awaiting": list(state.awaiting)})

    def _decide(self, actor: Actor, definition: Step, row: CaseStep, command: CompleteStep,
                checked: workflow.Checked, documents: list[dict]) -> bool:
        """A decision on a joint step, kept in the trail. True when it ends the step (the last
        approval, or a refusal); else the step goes to the desk of whom it is the turn of next
        (``in_order``: who is asked now) and ``case.approval_asked`` says where it stands."""
        decisions = self.decisions(row)
        move = workflow.decide(self.sop, definition, actor, command.outcome, decisions, self.now)
        self.trail("approval", actor.username, row, outcome=command.outcome, note=command.note,
                   on_behalf_of=move.decision.on_behalf_of,
                   data={"role": move.decision.role, "values": checked.values, "documents": documents})
        if move.completes:
            return True
        if checked.values:
            self.case.values = {**(self.case.values or {}), **checked.values}
        asked = self.asked(row)
        decided = decisions + [move.decision]
        nxt = workflow.approvals(definition, decided).turn[0]
        if asked.get(nxt) in move.decision.people:
            asked.pop(nxt)  # asked in two roles (the only holder of both): someone else is asked
        people = self._choose(row, () if asked.get(nxt) else (nxt,), asked)
        if asked.get(nxt) != row.assignee:  # the step goes to the next one's desk
            previous, row.assignee, row.role = row.assignee, asked.get(nxt), nxt
            self.trail("assigned", "sopdesk", row, data={"from": previous, "to": row.assignee, "role": nxt})
        self._asked_event(definition, row, people, decided)
        return False

    def complete(self, row: CaseStep, outcome_key: str, actor: str, values: dict, note: str | None,
                 on_behalf_of: str | None, documents: list[dict] | None = None,
                 message: str | None = None) -> CaseStep | None:
        """Finish ``row`` with an outcome and start whatever comes next (or close the case). The
        ``message`` (what the requester reads) and the files among ``documents`` the pack gives to
        the requester go in the trail and the step's event; the internal ``note`` stays with staff."""
        move = workflow.complete(self.sop, self.state(row), outcome_key, values)
        row.status, row.completed_at, row.outcome = "done", self.now, outcome_key
        row.actor, row.note = actor, note
        self.acting = actor
        if values:
            self.case.values = move.values
        if move.resumes_clock:
            self.resume_clock()
        message = (message or "").strip() or None
        data = {"values": values, "to": move.to, "kind": move.kind, "documents": documents or []}
        if message:
            data["message"] = message
        self.trail("action", actor, row, outcome=outcome_key, note=note, on_behalf_of=on_behalf_of, data=data)
        figures.step_done(self.session, self.case, row, move.kind, self.cal)
        step_info = self.step_payload(row)
        gives = any(d.to_requester for d in self.sop.step(row.step).documents)
        told = {"message": message, "files": requester_files(self.session, self.case, row) if gives else []}
        payloads = {
            "case.step_completed": {"step": step_info, "outcome": outcome_key, "kind": move.kind,
                                    "next_step": move.to, "note": note, **told},
            "case.step_returned": {"step": step_info, "outcome": outcome_key, "to": move.to, "note": note, **told},
            "case.step_rejected": {"step": step_info, "outcome": outcome_key, "note": note, **told},
        }
        for event_type in move.events:
            self.emit(event_type, payloads[event_type])
        self._lend(row, actor, values)
        if move.ends:
            self.close(move.result, actor)
            return None
        return self.start(self.sop.step(move.to))

    def _lend(self, row: CaseStep, actor: str, values: dict) -> None:
        """A step that lends a machine (the pack's ``lends``: the input naming its asset tag): the
        loan is procurement's to record in its register (``case.asset_lent``); it is returned
        there when the case closes."""
        name = self.sop.step(row.step).lends
        tag = str((values or {}).get(name) or "").strip() if name else ""
        if not tag:
            return
        fields = self.case.fields or {}
        self.emit("case.asset_lent", {"org": self.case.org, "step": row.step, "asset_tag": tag[:64],
                                      "borrower": self.case.requester_name or "",
                                      "borrower_unit": self.case.requester_unit or "",
                                      "replaces_tag": str(fields.get("asset_tag") or "").strip()[:64] or None,
                                      "lent_on": self.now.astimezone(self.cal.tz).date().isoformat(),
                                      "lent_by": actor})

    def close(self, result: str, actor: str) -> None:
        self.case.status, self.case.result, self.case.closed_at = "closed", result, self.now
        self.case.current_step = None
        self.trail("closed", actor, data={"result": result})
        figures.case_closed(self.session, self.case, self.cal)
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
    def act(self, actor: Actor, command: StepAction) -> None:
        """An action on the current step; raises a refusal (``shared.errors``: Forbidden, Conflict,
        Invalid) and then changes nothing."""
        row = self.current()
        state = self.state(row)
        definition = workflow.current_step(self.sop, state, command.step)
        permission = workflow.may_act(actor, definition, state.team)
        match command:
            case AssignStep():
                self._assign(actor, definition, row, command, permission)
            case SetTarget():
                workflow.require(actor, definition, permission)
                self._set_target(actor, definition, row, command)
            case AddNote():
                workflow.require(actor, definition, permission)
                self._add_note(actor, row, command, permission)
            case CompleteStep():
                workflow.require(actor, definition, permission)
                self._complete_step(actor, definition, row, state, command, permission)
            case _:
                raise TypeError(f"not an action on a step: {command!r}")

    def _complete_step(self, actor: Actor, definition: Step, row: CaseStep, state: workflow.CaseState,
                       command: CompleteStep, permission: workflow.Permission) -> None:
        workflow.outcome_of(definition, command.outcome)  # before anything is read for it
        team = workflow.team_named(command.team, command.assignee) if definition.appoints_team else None
        # the active people of the case's organisation among those named
        orgs = directory.org_of_users(self.session, team) if team else {}
        active = [name for name in team if orgs.get(name) == self.case.org] if team else []
        documents = list(command.documents) + self._record_uploads(actor, definition, row, command.uploads)
        checked = workflow.check_outcome(definition, command.outcome, values=command.values,
                                         note=command.note, team=team, active_users=active,
                                         documents=documents, handed_in=self._documents_this_round(row),
                                         message=command.message)
        if definition.appoints_team:
            self.case.team = checked.team
        if documents:
            self.trail("document", actor.username, row, on_behalf_of=permission.on_behalf_of,
                       data={"documents": documents})
        if workflow.staff_end_wait(state.current):
            self.trail("resumed", actor.username, row, data={"by": "staff"})
            self.emit("case.step_resumed", {"step": self.step_payload(row), "waiting_on": row.waiting_on})
        if definition.joint and not self._decide(actor, definition, row, command, checked, documents):
            return  # others still decide
        self.complete(row, command.outcome, actor.username, checked.values, command.note, permission.on_behalf_of,
                      documents, message=command.message)

    def _add_note(self, actor: Actor, row: CaseStep, command: AddNote, permission: workflow.Permission) -> None:
        definition = self.sop.step(row.step)
        documents = list(command.documents) + self._record_uploads(actor, definition, row, command.uploads)
        workflow.check_note(command.note, documents)
        self.trail("note", actor.username, row, note=command.note, on_behalf_of=permission.on_behalf_of,
                   data={"documents": documents})

    def _assign(self, actor: Actor, definition: Step, row: CaseStep, command: AssignStep,
                permission: workflow.Permission) -> None:
        """A head chooses who works a step; anyone who may act on it may take it themselves."""
        assignee = workflow.assignee_asked(actor, definition, permission, command.assignee)
        user = directory.user_by_name(self.session, assignee)
        # only to someone of the case's organisation (anyone else is as unknown as nobody)
        if user is None or directory.org_of_user(self.session, assignee) != self.case.org:
            raise Invalid(errors={"assignee": [f"no active user {assignee} in this organisation"]})
        workflow.check_assignee(directory.actor(self.session, user.id), definition, self.case.team or [])
        previous, row.assignee = row.assignee, assignee
        self.trail("assigned", actor.username, row, note=command.note, data={"from": previous, "to": assignee})
        self.emit("case.assigned", {"step": self.step_payload(row), "previous_assignee": previous,
                                    "assigned_by": actor.username})

    def _set_target(self, actor: Actor, definition: Step, row: CaseStep, command: SetTarget) -> None:
        due, text = workflow.assignee_target(definition, command.target, row.started_at, self.cal)
        row.due_at, row.target, row.breached_at = due, text, None
        self.trail("target", actor.username, row, note=command.note, data={"target": text, "due_at": _iso(due)})
        self.emit("case.step_target_set", {"step": self.step_payload(row), "set_by": actor.username})

    def _documents_this_round(self, row: CaseStep) -> set[str]:
        entries = self.session.scalars(select(TrailEntry).where(
            TrailEntry.case_id == self.case.id, TrailEntry.step == row.step, TrailEntry.round == row.round,
            TrailEntry.kind.in_(("document", "note"))))
        # a document counts when it came as a file (its id); a paper reference alone does not
        return {d.get("key") for e in entries for d in (e.data or {}).get("documents", []) if d.get("id")}

    def _record_uploads(self, actor: Actor, definition: Step, row: CaseStep, uploads) -> list[dict]:
        """Keep the files handed in at ``row`` (each one of the step's documents) with the case:
        one ``CaseDocument`` each, in this unit of work; what the trail says of them."""
        expected = {d.key: d for d in definition.documents}
        unknown = sorted({u.key for u in uploads if u.key not in expected})
        if unknown:
            raise Invalid(errors={f"documents.{key}": [f"{definition.key} does not expect {key}; it expects "
                                                       f"{', '.join(expected) or 'no documents'}"]
                                  for key in unknown})
        out = []
        for upload in uploads:
            stored = upload.file
            doc = CaseDocument(id=db.new_id(), case_id=self.case.id, step=row.step, round=row.round, key=upload.key,
                               name=stored.name, ref=(upload.ref or "").strip()[:500],
                               content_type=stored.content_type, size=stored.size, sha256=stored.sha256,
                               storage_key=stored.storage_key, to_requester=expected[upload.key].to_requester,
                               uploaded_by=actor.username, created_at=self.now)
            self.session.add(doc)
            out.append(doc.metadata_dict())
        return out

    # -- waits on other services ------------------------------------------------------------
    def resume_wait(self, waiting_on: str, actor: str, note: str | None = None, values: dict | None = None,
                    step_key: str | None = None, documents: list | None = None, outcome: str | None = None) -> bool:
        """The awaited party answered: finish the waiting step (with ``outcome`` when they chose one
        of its outcomes). False when the case is not waiting on them (already resumed by hand, moved
        on, or a repeat)."""
        row = self.current()
        resumption = workflow.resume(self.sop, self.state(row), waiting_on, step_key, outcome)
        if resumption is None:
            return False
        if resumption.resumes_clock:
            self.resume_clock()  # before the event, so that it carries the moved deadline
        self.trail("resumed", actor, row, note=note, data={"by": waiting_on})
        self.emit("case.step_resumed", {"step": self.step_payload(row), "waiting_on": waiting_on})
        self.complete(row, resumption.outcome, actor, values or {}, note, None, documents)
        return True


def requester_files(session: Session, case: Case, row: CaseStep) -> list[dict]:
    """The files handed in at ``row``'s round that the pack gives to the requester."""
    docs = session.scalars(select(CaseDocument).where(
        CaseDocument.case_id == case.id, CaseDocument.step == row.step, CaseDocument.round == row.round,
        CaseDocument.to_requester.is_(True)).order_by(CaseDocument.created_at, CaseDocument.name))
    return [{"id": d.id, "key": d.key, "name": d.name, "content_type": d.content_type, "size": d.size}
            for d in docs]


def decisions_of(entries, step: str, round_: int) -> list[workflow.Decision]:
    """The decisions on a joint step in one round, from the case's trail entries (in any order)."""
    found = sorted((e for e in entries if e.kind == "approval" and e.step == step and e.round == round_),
                   key=lambda e: (e.at, e.id or 0))
    return [workflow.Decision(role=(e.data or {}).get("role"), by=e.actor, on_behalf_of=e.on_behalf_of,
                              outcome=e.outcome, at=e.at) for e in found]


def approval_json(decision: workflow.Decision) -> dict:
    """A decision as events and the API give it."""
    return {"role": decision.role, "by": decision.by, "on_behalf_of": decision.on_behalf_of,
            "outcome": decision.outcome, "at": _iso(decision.at)}


def emit_case_event(uow: UnitOfWork, case: Case, event_type: str, payload: dict) -> None:
    """An event about a case: numbered in the case's sequence and carrying the case's state after
    it, so that consumers can apply case events in order whatever order they arrive in."""
    case.seq = (case.seq or 0) + 1
    base = {"tracking_code": case.tracking_code, "sop": case.sop, "pack_version": case.pack_version,
            "seq": case.seq, "case_status": case.status, "current_step": case.current_step,
            "due_at": _iso(case.due_at)}
    uow.emit(event_type, {**base, **payload}, correlation_id=case.tracking_code)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
