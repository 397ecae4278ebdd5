"""Intake's use cases: file a request (with its files), answer a return for correction, rate a
closed case, hand files back to those allowed, and keep the requester's view of the case from
case events. Plain functions over a unit of work; no Flask here."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import JSON, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from services.intake.adapters.bus import bus
from services.intake.adapters.models import (AccessLog, Answer, Attachment, CaseDecision, PrivacyNotice, Request,
                                             RequestStep, SurveyAnswer)
from services.intake.handlers import privacy
from services.intake.handlers.commands import FileRequest
from shared import db
from shared.audit import log_access
from shared.auth import Staff, file_grant_subject, granted
from shared.config import get_settings
from shared.errors import Conflict
from shared.events import Event
from shared.files import StoredFile
from shared.messaging import NotReady, PermanentError, Statement, UnitOfWork
from shared.packs import find_sop
from shared.tracking import new_tracking_code

class Refused(Conflict):
    """The request is understood but its case's state does not allow it now; ``reason`` names the
    message (``intake.refused.<reason>``), which the page shows in its language."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FiledRequest:
    tracking_code: str
    request_id: str
    attachments: list[dict] = field(default_factory=list)


def submit_request(command: FileRequest, files: list[StoredFile] | tuple = (),
                   uploaded_by: str = "requester") -> FiledRequest:
    """Store a validated request with its files' records and emit ``request.submitted`` in the
    same transaction. The files are already on disk; the caller discards them if this fails."""
    sop = find_sop(command.sop)
    if sop is None:  # the schema checks this; a second guard costs nothing
        raise ValueError(f"unknown SOP {command.sop}")
    form_fields = {f.name: _plain(command.fields.get(f.name)) for f in sop.form
                   if f.type != "file" and command.fields.get(f.name) is not None}
    received_at = command.received_at or db.utcnow()
    notice = privacy.notice_for(sop, get_settings())
    for attempt in range(1, 6):
        try:
            return _file(sop, command, form_fields, received_at, notice, files, uploaded_by, new_tracking_code())
        except IntegrityError as exc:
            # a tracking code drawn twice (one in 2^50 per request): draw another. The unique
            # index decides, rather than a SELECT before every insert
            if attempt == 5 or "tracking_code" not in (getattr(getattr(exc.orig, "diag", None),
                                                               "constraint_name", "") or ""):
                raise
    raise AssertionError("unreachable")


def _file(sop, command: FileRequest, form_fields: dict, received_at, notice, files, uploaded_by: str,
          code: str) -> FiledRequest:
    language, channel, filed_by = command.language, command.channel, command.filed_by
    with bus.unit_of_work() as uow:
        request_id = db.new_id()
        now = db.utcnow()
        # one statement for the request row and the privacy notice it consents to (kept once per
        # version), written once and run through the driver with the commit, in the same round
        # trip as the event's rows: nothing read back, no ORM object
        uow.execute_with_commit(_filing_statement(), {
            "id": request_id,
            "tracking_code": code,
            "sop": sop.full_key,
            "requester_name": command.requester_name,
            "requester_email": command.requester_email,
            "requester_phone": command.requester_phone,
            "requester_unit": command.requester_unit,
            "subject": command.subject,
            "details": command.details,
            "form_fields": db.json_text(form_fields),
            "language": language,
            "consent": True,
            "privacy_notice_version": notice.version,
            "channel": channel,
            "filed_by": filed_by,
            "received_at": received_at,
            "created_at": now,
            "status": "submitted",
            "sop_title": db.json_text(sop.title),
            "current_step": None,
            "due_at": None,
            "closed_at": None,
            "result": None,
            "case_seq": 0,
            "notice_sop": notice.sop,
            "notice_texts": notice.texts_json,
            "notice_created_at": now,
        })
        attachments = _record_files(uow, request_id, files, uploaded_by, purpose="form")
        uow.emit(
            "request.submitted",
            {
                "tracking_code": code,
                "sop": sop.full_key,
                "pack_version": sop.pack_version,
                "subject": command.subject,
                "details": command.details,
                "fields": form_fields,
                "requester": {
                    "name": command.requester_name,
                    "email": command.requester_email,
                    "phone": command.requester_phone,
                    "unit": command.requester_unit,
                },
                "language": language,
                "channel": channel,
                "filed_by": filed_by,
                "received_at": received_at.isoformat(),
                "privacy_notice_version": notice.version,
                "attachments": attachments,
            },
            correlation_id=code,
        )
        uow.commit()
        return FiledRequest(tracking_code=code, request_id=request_id, attachments=attachments)


@functools.cache
def _filing_statement() -> Statement:
    """``INSERT`` of the request (every column, by name; JSON columns given as JSON text) with, in
    the same statement, the privacy notice's ``INSERT … ON CONFLICT DO NOTHING``. Built once."""
    requests, notices = Request.__table__, PrivacyNotice.__table__
    names = [column.name for column in requests.columns]
    values = [f"CAST(%({column.name})s AS json)" if isinstance(column.type, JSON) else f"%({column.name})s"
              for column in requests.columns]
    return Statement(
        ctes=f"""
        notice AS (
            INSERT INTO {notices.name} (version, sop, texts, created_at)
            VALUES (%(privacy_notice_version)s, %(notice_sop)s, CAST(%(notice_texts)s AS json),
                    %(notice_created_at)s)
            ON CONFLICT (version) DO NOTHING
        )""",
        main=f"""
        INSERT INTO {requests.name} ({", ".join(names)})
        VALUES ({", ".join(values)})""")


def _record_files(uow: UnitOfWork, request_id: str, files, uploaded_by: str, purpose: str,
                  answer_id: str | None = None) -> list[dict]:
    out = []
    for stored in files:
        row = Attachment(id=db.new_id(), request_id=request_id, answer_id=answer_id, field=stored.field,
                         original_name=stored.name, content_type=stored.content_type, size=stored.size,
                         sha256=stored.sha256, storage_key=stored.storage_key, uploaded_by=uploaded_by,
                         purpose=purpose)
        uow.session.add(row)
        out.append(row.metadata_dict())
    return out


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def find_request(tracking_code: str) -> Request | None:
    with bus.session() as session:
        return session.scalar(
            select(Request).where(Request.tracking_code == tracking_code).options(selectinload(Request.steps))
        )


def _locked_request(uow: UnitOfWork, tracking_code: str) -> Request | None:
    query = select(Request).where(Request.tracking_code == tracking_code).with_for_update()
    return uow.session.scalar(query)


# ---------------------------------------------------------------------------------------------
# the requester's view


@dataclass
class Tracking:
    """Everything the tracking page shows, read in one session (plain rows, nothing lazy)."""

    request: Request
    steps: list[RequestStep]
    attachments: list[Attachment]
    decisions: list[CaseDecision]
    answers: list[Answer]
    survey: SurveyAnswer | None

    @property
    def current(self) -> RequestStep | None:
        """The row of the case's current step (its newest round)."""
        if self.request.status != "open" or not self.request.current_step:
            return None
        rows = [s for s in self.steps if s.step == self.request.current_step]
        return max(rows, key=lambda s: s.round) if rows else None

    @property
    def asked(self) -> dict | None:
        """When the current step waits on the requester: the step, its round, what the return
        asked (its note) and whether they answered already."""
        row = self.current
        if row is None or row.status != "active" or row.waiting_on != "requester":
            return None
        returns = [d for d in self.decisions if d.kind == "return" and d.to_step == row.step]
        note = max(returns, key=lambda d: d.seq).note if returns else None
        answered = any(a.step == row.step and a.round == row.round for a in self.answers)
        return {"step": row.step, "round": row.round, "note": note, "answered": answered,
                "choices": list(row.choices or [])}

    @property
    def rejection(self) -> str | None:
        """Why the case was turned down: the newest reason given (a closing step after the
        decision, e.g. telling the requester, may end it as rejected without a note of its own)."""
        rejects = [d for d in self.decisions if d.kind == "reject"]
        if not rejects:
            return None
        noted = [d for d in rejects if d.note]
        return max(noted, key=lambda d: d.seq).note if noted else ""


def tracking(tracking_code: str) -> Tracking | None:
    with bus.session() as session:
        request = session.scalar(select(Request).where(Request.tracking_code == tracking_code)
                                 .options(selectinload(Request.steps)))
        if request is None:
            return None
        rid = request.id
        return Tracking(
            request=request,
            steps=list(request.steps),
            attachments=list(session.scalars(select(Attachment).where(Attachment.request_id == rid)
                                             .order_by(Attachment.created_at, Attachment.original_name))),
            decisions=list(session.scalars(select(CaseDecision).where(CaseDecision.request_id == rid)
                                           .order_by(CaseDecision.seq))),
            answers=list(session.scalars(select(Answer).where(Answer.request_id == rid)
                                         .order_by(Answer.answered_at))),
            survey=session.scalar(select(SurveyAnswer).where(SurveyAnswer.request_id == rid)),
        )


# ---------------------------------------------------------------------------------------------
# answers to a return for correction


@dataclass(frozen=True)
class Answered:
    tracking_code: str
    step: str
    round: int
    answered_at: datetime
    attachments: list[dict]


def check_answerable(tracking_code: str) -> None:
    """Raise ``Refused`` when the case waits on no answer now (before any file is written)."""
    view = tracking(tracking_code)
    if view is None:
        raise LookupError(tracking_code)
    asked = view.asked
    if asked is None:
        raise Refused("not_waiting")
    if asked["answered"]:
        raise Refused("already_answered")


def answer(tracking_code: str, note: str, files: list[StoredFile] | tuple = (),
           uploaded_by: str = "requester", outcome: str | None = None) -> Answered:
    """Store the requester's answer to the current return (one per round of their step) and emit
    ``request.answered`` in the same transaction. Raises ``Refused`` when nothing waits on them
    or this round is answered already; the caller discards the files then."""
    with bus.unit_of_work() as uow:
        request = _locked_request(uow, tracking_code)
        if request is None:
            raise LookupError(tracking_code)
        rows = uow.session.scalars(select(RequestStep).where(RequestStep.request_id == request.id,
                                                             RequestStep.step == request.current_step)).all()
        row = max(rows, key=lambda s: s.round) if rows else None
        if request.status != "open" or row is None or row.status != "active" or row.waiting_on != "requester":
            raise Refused("not_waiting")
        if uow.session.scalar(select(Answer.id).where(Answer.request_id == request.id, Answer.step == row.step,
                                                      Answer.round == row.round)) is not None:
            raise Refused("already_answered")
        now = db.utcnow()
        reply = Answer(id=db.new_id(), request_id=request.id, step=row.step, round=row.round, note=note,
                       answered_at=now)
        uow.session.add(reply)
        uow.session.flush()
        attachments = _record_files(uow, request.id, files, uploaded_by, purpose="answer", answer_id=reply.id)
        answered = {"tracking_code": tracking_code, "step": row.step, "round": row.round, "note": note,
                    "attachments": attachments, "answered_at": now.isoformat()}
        choices = [c["key"] for c in row.choices or []]
        if choices:  # their step offers several outcomes (a re-check): they chose one
            if outcome not in choices:
                raise Refused("choose")
            answered["outcome"] = outcome
        uow.emit("request.answered", answered, correlation_id=tracking_code)
        try:
            uow.commit()
        except IntegrityError:  # the same round answered at the same moment in another request
            uow.rollback()
            raise Refused("already_answered") from None
        return Answered(tracking_code, row.step, row.round, now, attachments)


# ---------------------------------------------------------------------------------------------
# satisfaction


def check_survey_open(tracking_code: str) -> None:
    view = tracking(tracking_code)
    if view is None:
        raise LookupError(tracking_code)
    if view.request.status != "closed":
        raise Refused("survey_not_closed")
    if view.survey is not None:
        raise Refused("survey_done")


def answer_survey(tracking_code: str, score: int, comment: str | None) -> SurveyAnswer:
    """One satisfaction answer per closed case; emits ``survey.answered`` with it."""
    with bus.unit_of_work() as uow:
        request = _locked_request(uow, tracking_code)
        if request is None:
            raise LookupError(tracking_code)
        if request.status != "closed":
            raise Refused("survey_not_closed")
        if uow.session.scalar(select(SurveyAnswer.id).where(SurveyAnswer.request_id == request.id)) is not None:
            raise Refused("survey_done")
        now = db.utcnow()
        row = SurveyAnswer(request_id=request.id, score=score, comment=comment or None, answered_at=now)
        uow.session.add(row)
        uow.emit("survey.answered", {"tracking_code": tracking_code, "sop": request.sop, "score": score,
                                     "comment": comment or None, "answered_at": now.isoformat(),
                                     "requester_unit": request.requester_unit},
                 correlation_id=tracking_code)
        try:
            uow.commit()
        except IntegrityError:
            uow.rollback()
            raise Refused("survey_done") from None
        return row


# ---------------------------------------------------------------------------------------------
# files back out


def _attachment(session, tracking_code: str, attachment_id: str) -> Attachment | None:
    return session.scalar(select(Attachment).join(Request, Request.id == Attachment.request_id)
                          .where(Request.tracking_code == tracking_code, Attachment.id == attachment_id))


def requester_file(tracking_code: str, attachment_id: str) -> Attachment | None:
    """A file of the case, for the requester (the view has checked the tracking token)."""
    with bus.session() as session:
        return _attachment(session, tracking_code, attachment_id)


def staff_file(tracking_code: str, attachment_id: str, staff: Staff, grant: str | None = None) -> Attachment | None:
    """A file of the case, for staff who may see the case: those who see all of its organisation
    (``Staff.sees_org``), or who bring a grant for this file from assignment, which decides who
    else may see a case (its step holders, their heads). Anyone else finds nothing. The read is
    logged (PDPA) before it is handed out."""
    with bus.session() as session:
        found = _attachment(session, tracking_code, attachment_id)
        if found is None:
            return None
        org = session.scalar(select(Request.sop).where(Request.id == found.request_id)).split("/")[0]
        if not (staff.sees_org(org) or granted(grant, staff, file_grant_subject(tracking_code, found.id))):
            return None
        log_access(session, AccessLog, staff, "attachment", found.id, org=org, purpose=
                   f"download {found.field} of {tracking_code}")
        session.commit()
        return found


# ---------------------------------------------------------------------------------------------
# the requester's view of the case, kept from case events


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@bus.before_batch
def _read_requests(uow: UnitOfWork, events: list[Event]) -> None:
    """The requests a batch of case events is about, in one statement (``_request_for`` takes
    them from here; a request not found is read again, by itself, when its event comes)."""
    codes = {event.payload.get("tracking_code") for event in events
             if event.type.startswith("case.") and isinstance(event.payload, dict)} - {None}
    if len(codes) > 1:
        with uow.session.no_autoflush:
            requests = {request.tracking_code: request for request in uow.session.scalars(
                select(Request).where(Request.tracking_code.in_(sorted(codes))))}
            # and their steps, in one more (``_steps_of``): each request's list, kept up to date
            # with the rows the batch adds
            steps: dict = {request.id: [] for request in requests.values()}
            if requests:
                for row in uow.session.scalars(select(RequestStep).where(RequestStep.request_id.in_(list(steps)))):
                    steps[row.request_id].append(row)
        uow.memo["requests"], uow.memo["steps"] = requests, steps


def _request_for(uow: UnitOfWork, payload: dict) -> Request:
    known = uow.memo.get("requests", {}).get(payload["tracking_code"])
    if known is not None:  # read for the whole batch, the same object the statement below gives
        return known
    # no flush first: requests are filed by the web (never pending here), and a request already
    # read in this batch comes back as the same object, with what earlier events changed on it;
    # the batch's step rows then go to the database in one flush at its end
    with uow.session.no_autoflush:
        request = uow.session.scalar(select(Request).where(Request.tracking_code == payload["tracking_code"]))
    if request is None:
        raise NotReady(f"request {payload['tracking_code']} not stored yet")
    return request


def _apply_case_state(request: Request, payload: dict) -> None:
    """Case events carry the case's state after them and a sequence number: apply the state only
    when it is newer than what we hold, so events handled out of order never move it back."""
    seq = payload.get("seq") or 0
    if seq <= (request.case_seq or 0):
        return
    request.case_seq = seq
    request.status = "closed" if payload.get("case_status") == "closed" else "open"
    request.current_step = payload.get("current_step")
    request.due_at = _parse_time(payload.get("due_at"))


def _steps_of(uow: UnitOfWork, request: Request) -> list[RequestStep]:
    """The request's steps: read for the whole batch (``_read_requests``), else in one read (a
    case has a handful) with those added earlier in this batch and not flushed yet."""
    kept = uow.memo.get("steps", {}).get(request.id)
    if kept is not None:
        return kept
    with uow.session.no_autoflush:
        steps = list(uow.session.scalars(select(RequestStep).where(RequestStep.request_id == request.id)))
    return steps + [row for row in uow.session.new if isinstance(row, RequestStep) and row.request_id == request.id]


def _upsert_step(uow: UnitOfWork, request: Request, step: dict) -> RequestStep:
    # the one to update, or the count
    steps = _steps_of(uow, request)
    key, round_ = step["key"], step.get("round", 1)
    row = next((r for r in steps if r.step == key and r.round == round_), None)
    if row is None:
        position = len(steps) + 1
        row = RequestStep(request_id=request.id, position=position, step=step["key"], round=step.get("round", 1),
                          title=step.get("title") or {}, role=step["role"], status="active",
                          started_at=_parse_time(step["started_at"]))
        uow.session.add(row)
        if request.id in uow.memo.get("steps", {}):  # the batch's list: the next event of it counts this one
            uow.memo["steps"][request.id].append(row)
    if row.status != "done":  # a finished step never goes back to active
        row.due_at = _parse_time(step.get("due_at"))
        row.waiting_on = step.get("waiting_on")
        if step.get("completed_at"):
            row.status = "done"
            row.completed_at = _parse_time(step["completed_at"])
            row.outcome = step.get("outcome")
    return row


def _keep_told(row: RequestStep, payload: dict) -> None:
    """What a finished step tells the requester: its ``message`` and the files it gives them. The
    event's ``note`` is staff's own and is never kept here."""
    if payload.get("message"):
        row.message = payload["message"]
    if payload.get("files"):
        row.files = [{k: f.get(k) for k in ("id", "key", "name", "content_type", "size")}
                     for f in payload["files"] if isinstance(f, dict) and f.get("id")]


def _record_decision(uow: UnitOfWork, request: Request, event: Event, kind: str) -> None:
    payload = event.payload
    seq = payload.get("seq") or 0
    if uow.session.scalar(select(CaseDecision.id).where(CaseDecision.request_id == request.id,
                                                        CaseDecision.seq == seq)) is not None:
        return
    step = payload.get("step") or {}
    uow.session.add(CaseDecision(request_id=request.id, seq=seq, kind=kind, step=step.get("key", ""),
                                 round=step.get("round", 1), to_step=payload.get("to"), note=payload.get("note"),
                                 at=_parse_time(step.get("completed_at")) or event.occurred_at))


@bus.handles("case.opened")
def on_case_opened(uow: UnitOfWork, event: Event) -> None:
    request = _request_for(uow, event.payload)
    _apply_case_state(request, event.payload)


@bus.handles("case.step_started")
@bus.handles("case.step_waiting")
@bus.handles("case.step_resumed")
@bus.handles("case.step_completed")
def on_step_event(uow: UnitOfWork, event: Event) -> None:
    request = _request_for(uow, event.payload)
    _apply_case_state(request, event.payload)
    row = _upsert_step(uow, request, event.payload["step"])
    if event.type == "case.step_completed":
        _keep_told(row, event.payload)
    elif event.type == "case.step_waiting" and event.payload.get("choices"):
        row.choices = [{"key": c["key"], "label": c.get("label") or {}} for c in event.payload["choices"]]


@bus.handles("case.step_returned")
@bus.handles("case.step_rejected")
def on_step_decision(uow: UnitOfWork, event: Event) -> None:
    """A step sent the case back to the requester (keep what it asks them to fix) or turned the
    request down (keep why), for the tracking page."""
    request = _request_for(uow, event.payload)
    _apply_case_state(request, event.payload)
    _keep_told(_upsert_step(uow, request, event.payload["step"]), event.payload)
    _record_decision(uow, request, event, "return" if event.type == "case.step_returned" else "reject")


@bus.handles("case.closed")
def on_case_closed(uow: UnitOfWork, event: Event) -> None:
    request = _request_for(uow, event.payload)
    _apply_case_state(request, event.payload)
    request.result = event.payload.get("result")
    request.closed_at = _parse_time(event.payload.get("closed_at"))


# ---------------------------------------------------------------------------------------------
# planned work


PLANNED_CHANNEL = "planned"


@bus.handles("procurement.maintenance_due")
@bus.handles("planned.due")
def file_planned(uow: UnitOfWork, event: Event) -> None:
    """Planned work whose day came (assignment's beat, once per SOP and period): filed as a request
    with no requester (no name, unit, email or phone; nobody's data, so nobody's consent), channel
    ``planned``, under the tracking code assignment chose; the case then opens from its
    ``request.submitted`` like any other. A repeat finds the request there and files nothing."""
    payload = event.payload
    code = payload["tracking_code"]
    if uow.session.scalar(select(Request.id).where(Request.tracking_code == code)) is not None:
        return
    sop = find_sop(payload["sop"])
    if sop is None:
        raise PermanentError(f"no SOP {payload['sop']} in this version of sopdesk")
    now = db.utcnow()
    notice = privacy.notice_for(sop, get_settings())
    db.driver_execute(uow.session, _filing_statement().sql, {
        "id": db.new_id(), "tracking_code": code, "sop": sop.full_key, "requester_name": "",
        "requester_email": None, "requester_phone": None, "requester_unit": "", "subject": payload["subject"],
        "details": payload["details"], "form_fields": db.json_text(payload.get("fields") or {}), "language": "th",
        "consent": False, "privacy_notice_version": notice.version, "channel": PLANNED_CHANNEL, "filed_by": None,
        "received_at": now, "created_at": now, "status": "submitted", "sop_title": db.json_text(sop.title),
        "current_step": None, "due_at": None, "closed_at": None, "result": None, "case_seq": 0,
        "notice_sop": notice.sop, "notice_texts": notice.texts_json, "notice_created_at": now,
    })
    uow.emit("request.submitted", {
        "tracking_code": code, "sop": sop.full_key, "pack_version": payload["pack_version"],
        "subject": payload["subject"], "details": payload["details"], "fields": payload.get("fields") or {},
        "requester": {"name": "", "email": None, "phone": None, "unit": ""},
        "language": "th", "channel": PLANNED_CHANNEL, "filed_by": None, "received_at": now.isoformat(),
        "privacy_notice_version": notice.version, "attachments": [],
    }, correlation_id=code)


# the PDPA's erasure: its use cases and the services' confirmations live in their own module
from services.intake.handlers import erasure  # noqa: E402,F401  (registers its event handlers)
