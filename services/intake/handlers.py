"""Intake's use cases: file a request, and keep the requester's view of the case from events.
Plain functions over a unit of work; no Flask here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from services.intake.bus import bus
from services.intake.models import Request, RequestStep
from shared import db
from shared.events import Event
from shared.messaging import NotReady, UnitOfWork
from shared.packs import find_sop
from shared.tracking import new_tracking_code

PRIVACY_NOTICE_VERSION = "2026-11"
BASE_FIELDS = ("sop", "requester_name", "requester_email", "requester_phone", "requester_unit", "subject",
               "details", "consent", "language", "received_at")


@dataclass(frozen=True)
class FiledRequest:
    tracking_code: str
    request_id: str


def submit_request(data: dict, channel: str, language: str, filed_by: str | None = None) -> FiledRequest:
    """Store a validated request and emit ``request.submitted`` in the same transaction."""
    sop = find_sop(data["sop"])
    if sop is None:  # the schema checks this; a second guard costs nothing
        raise ValueError(f"unknown SOP {data['sop']}")
    form_fields = {f.name: _plain(data.get(f.name)) for f in sop.form if data.get(f.name) is not None}
    received_at = data.get("received_at") or db.utcnow()
    language = data.get("language") or language
    with bus.unit_of_work() as uow:
        code = _unique_code(uow)
        request = Request(
            tracking_code=code,
            sop=sop.full_key,
            requester_name=data["requester_name"],
            requester_email=data["requester_email"],
            requester_phone=data.get("requester_phone"),
            requester_unit=data["requester_unit"],
            subject=data["subject"],
            details=data["details"],
            form_fields=form_fields,
            language=language,
            consent=True,
            privacy_notice_version=PRIVACY_NOTICE_VERSION,
            channel=channel,
            filed_by=filed_by,
            received_at=received_at,
            status="submitted",
            sop_title=sop.title,
        )
        uow.session.add(request)
        uow.emit(
            "request.submitted",
            {
                "tracking_code": code,
                "sop": sop.full_key,
                "pack_version": sop.pack_version,
                "subject": request.subject,
                "details": request.details,
                "fields": form_fields,
                "requester": {
                    "name": request.requester_name,
                    "email": request.requester_email,
                    "phone": request.requester_phone,
                    "unit": request.requester_unit,
                },
                "language": language,
                "channel": channel,
                "filed_by": filed_by,
                "received_at": received_at.isoformat(),
            },
            correlation_id=code,
        )
        uow.commit()
        return FiledRequest(tracking_code=code, request_id=request.id)


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _unique_code(uow: UnitOfWork) -> str:
    for _ in range(10):
        code = new_tracking_code()
        if uow.session.scalar(select(Request.id).where(Request.tracking_code == code)) is None:
            return code
    raise RuntimeError("could not find a free tracking code")


def find_request(tracking_code: str) -> Request | None:
    from sqlalchemy.orm import selectinload

    with bus.session() as session:
        return session.scalar(
            select(Request).where(Request.tracking_code == tracking_code).options(selectinload(Request.steps))
        )


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _request_for(uow: UnitOfWork, payload: dict) -> Request:
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


def _upsert_step(uow: UnitOfWork, request: Request, step: dict) -> RequestStep:
    row = uow.session.scalar(select(RequestStep).where(RequestStep.request_id == request.id,
                                                       RequestStep.step == step["key"],
                                                       RequestStep.round == step.get("round", 1)))
    if row is None:
        position = (uow.session.scalar(
            select(func.count()).select_from(RequestStep).where(RequestStep.request_id == request.id)) or 0) + 1
        row = RequestStep(request_id=request.id, position=position, step=step["key"], round=step.get("round", 1),
                          title=step.get("title") or {}, role=step["role"], status="active",
                          started_at=_parse_time(step["started_at"]))
        uow.session.add(row)
    if row.status != "done":  # a finished step never goes back to active
        row.due_at = _parse_time(step.get("due_at"))
        row.waiting_on = step.get("waiting_on")
        if step.get("completed_at"):
            row.status = "done"
            row.completed_at = _parse_time(step["completed_at"])
            row.outcome = step.get("outcome")
    return row


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
    _upsert_step(uow, request, event.payload["step"])


@bus.handles("case.closed")
def on_case_closed(uow: UnitOfWork, event: Event) -> None:
    request = _request_for(uow, event.payload)
    _apply_case_state(request, event.payload)
    request.result = event.payload.get("result")
    request.closed_at = _parse_time(event.payload.get("closed_at"))
