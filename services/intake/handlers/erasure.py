"""The PDPA's rights as intake answers them: intake is the service that knows requesters, so it
finds a person (by email or phone, within an organisation's requests), gives their data for the
export, records an erasure request with its 30-day deadline, erases its own part at once and
asks every other service to erase theirs (``privacy.erasure_requested``, with the cases' codes
only), and keeps the services' confirmations. The retention job erases the cases that closed more
than ``SOPDESK_RETENTION_YEARS`` ago the same way. The rules of what erasing means are
``shared.privacy``'s."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select

from services.intake.adapters.bus import bus
from services.intake.adapters.models import (Answer, Attachment, CaseDecision, ErasureRequest, Request, RequestStep,
                                             SurveyAnswer)
from shared import db, files
from shared.config import get_settings
from shared.events import Event
from shared.messaging import UnitOfWork
from shared.privacy import (ERASED, SERVICES_CONFIRMING, Needles, due_on, normal_email, normal_phone, person_ref,
                            plain, scrub_messages)

log = logging.getLogger(__name__)

RETENTION_BATCH = 500  # cases erased by one run of the retention job; the next run takes the rest


def _org_of(sop: str) -> str:
    return sop.split("/", 1)[0]


def _person_query(email: str | None, phone: str | None, org: str | None):
    email, phone = normal_email(email), normal_phone(phone)
    matches = []
    if email:
        matches.append(func.lower(func.trim(Request.requester_email)) == email)
    if phone:
        matches.append(func.regexp_replace(Request.requester_phone, r"\D", "", "g") == phone)
    if not matches:
        raise ValueError("an email or a phone is needed")
    query = select(Request).where(or_(*matches))
    if org is not None:
        query = query.where(Request.sop.like(f"{org}/%"))
    return query.order_by(Request.received_at)


@dataclass(frozen=True)
class Found:
    """A person's requests as the privacy officer's page lists them."""

    tracking_code: str
    sop: str
    received_at: datetime
    status: str
    erased: bool


def find(email: str | None, phone: str | None, org: str | None) -> list[Found]:
    """The requests of the person with this email or phone; ``org`` None for every organisation."""
    with bus.session() as session:
        return [Found(r.tracking_code, r.sop, r.received_at, r.status, r.requester_email == ERASED)
                for r in session.scalars(_person_query(email, phone, org).limit(1000))]


def person_data(codes: list[str]) -> dict:
    """Everything intake holds about these cases, as JSON-ready data, and the files' paths
    (``files``: [(attachment row, path)]), for the export."""
    with bus.session() as session:
        requests = list(session.scalars(select(Request).where(Request.tracking_code.in_(codes))
                                        .order_by(Request.received_at)))
        out, stored = [], []
        for request in requests:
            rid = request.id
            attachments = list(session.scalars(select(Attachment).where(Attachment.request_id == rid)
                                               .order_by(Attachment.created_at)))
            out.append({
                **plain(request),
                "steps": [plain(s) for s in session.scalars(select(RequestStep).where(RequestStep.request_id == rid)
                                                             .order_by(RequestStep.position))],
                "decisions": [plain(d) for d in session.scalars(select(CaseDecision)
                                                                 .where(CaseDecision.request_id == rid))],
                "answers": [plain(a) for a in session.scalars(select(Answer).where(Answer.request_id == rid))],
                "survey": [plain(s) for s in session.scalars(select(SurveyAnswer)
                                                              .where(SurveyAnswer.request_id == rid))],
                "attachments": [plain(a) for a in attachments],
            })
            files_dir = get_settings().files_dir
            stored += [(request.tracking_code, plain(a),
                        files.open_stored(files_dir, a.storage_key)) for a in attachments]
        return {"requests": out, "files": stored}


# ---------------------------------------------------------------------------------------------
# erasure


def _erase_cases(uow: UnitOfWork, codes: list[str]) -> tuple[int, list[str]]:
    """Anonymise intake's rows of these cases and the envelopes that carry them, in ``uow``:
    (rows changed, storage keys of the files to delete once committed)."""
    session = uow.session
    requests = list(session.scalars(select(Request).where(Request.tracking_code.in_(codes)).with_for_update()))
    ids = [r.id for r in requests]
    words = []
    for r in requests:
        words += [r.requester_name, r.requester_email, r.requester_phone, normal_phone(r.requester_phone)]
    needles = Needles(words)
    rows, keys = 0, []
    for r in requests:
        r.requester_name = r.requester_email = r.subject = r.details = ERASED
        r.requester_phone = None
        r.form_fields = {k: (ERASED if isinstance(v, str) and v else v) for k, v in (r.form_fields or {}).items()}
        rows += 1
    if ids:
        for answer in session.scalars(select(Answer).where(Answer.request_id.in_(ids))):
            answer.note = ERASED
            rows += 1
        for survey in session.scalars(select(SurveyAnswer).where(SurveyAnswer.request_id.in_(ids))):
            if survey.comment:
                survey.comment = ERASED  # the score stays: it counts in the statistics
                rows += 1
        for decision in session.scalars(select(CaseDecision).where(CaseDecision.request_id.in_(ids))):
            if decision.note and needles.found_in(decision.note):
                decision.note = needles.sub(decision.note)
                rows += 1
        for told in session.scalars(select(RequestStep).where(RequestStep.request_id.in_(ids),
                                                              RequestStep.message.is_not(None))):
            if needles.found_in(told.message):  # what staff told them keeps its words but theirs
                told.message = needles.sub(told.message)
                rows += 1
        for attachment in session.scalars(select(Attachment).where(Attachment.request_id.in_(ids))):
            keys.append(attachment.storage_key)
            attachment.original_name = ERASED
            attachment.sha256 = ""
            rows += 1
    rows += scrub_messages(session, bus, codes, needles)
    return rows, keys


def _delete_files(keys: list[str]) -> int:
    files_dir = get_settings().files_dir
    deleted = 0
    for key in keys:
        try:
            files.open_stored(files_dir, key).unlink()
            deleted += 1
        except (FileNotFoundError, ValueError):
            pass
    return deleted


@dataclass
class Erasure:
    """An erasure request as pages and commands show it."""

    id: str
    reason: str
    org: str | None
    tracking_codes: list[str]
    requested_by: str
    requested_at: datetime
    due_on: object
    confirmations: dict = field(default_factory=dict)
    completed_at: datetime | None = None

    @property
    def waiting_on(self) -> list[str]:
        return [s for s in SERVICES_CONFIRMING if s not in self.confirmations]


def _view(row: ErasureRequest) -> Erasure:
    return Erasure(row.id, row.reason, row.org, list(row.tracking_codes or []), row.requested_by, row.requested_at,
                   row.due_on, dict(row.confirmations or {}), row.completed_at)


def _record(uow: UnitOfWork, codes: list[str], reason: str, org: str | None, by: str, person: str | None) -> ErasureRequest:
    now = db.utcnow()
    row = ErasureRequest(id=db.new_id(), reason=reason, org=org, person=person, tracking_codes=codes,
                         requested_by=by, requested_at=now, due_on=due_on(now),
                         confirmations={"intake": now.isoformat()})
    uow.session.add(row)
    uow.emit("privacy.erasure_requested", {"request_id": row.id, "reason": reason, "org": org,
                                           "tracking_codes": codes, "requested_at": now.isoformat()})
    return row


def request_erasure(email: str | None, phone: str | None, org: str | None, by: str) -> Erasure | None:
    """Erase the person's data: intake's part now, the other services' when they hear of it.
    ``org`` limits it to one organisation's cases (a privacy officer's); None is every one (the
    command line, a system administrator). None when the person has no request there."""
    with bus.unit_of_work() as uow:
        codes = [r.tracking_code for r in uow.session.scalars(_person_query(email, phone, org))]
        if not codes:
            return None
        rows, keys = _erase_cases(uow, codes)
        row = _record(uow, codes, "request", org, by, person_ref(email, phone, get_settings().secret_key))
        uow.commit()
        erasure = _view(row)
    deleted = _delete_files(keys)
    log.info("erasure %s by %s: %d cases, %d rows and %d files in intake", erasure.id, by, len(codes), rows, deleted)
    return erasure


def retention_cutoff(now: datetime, years: int) -> datetime:
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February
        return now.replace(year=now.year - years, day=28)


def erase_past_retention(now: datetime | None = None, years: int | None = None) -> Erasure | None:
    """The retention job: cases closed more than ``years`` (SOPDESK_RETENTION_YEARS) ago and not
    yet erased are erased, as one erasure request of reason ``retention``; logged."""
    now = now or db.utcnow()
    years = get_settings().retention_years if years is None else years
    cutoff = retention_cutoff(now, years)
    with bus.unit_of_work() as uow:
        codes = list(uow.session.scalars(
            # (a caller with a phone only has no email: not erased yet either)
            select(Request.tracking_code).where(Request.closed_at < cutoff, or_(Request.requester_email.is_(None),
                                                                                Request.requester_email != ERASED))
            .order_by(Request.closed_at).limit(RETENTION_BATCH)))
        if not codes:
            return None
        rows, keys = _erase_cases(uow, codes)
        row = _record(uow, codes, "retention", None, "sopdesk", None)
        uow.commit()
        erasure = _view(row)
    deleted = _delete_files(keys)
    log.info("retention: erasure %s of %d cases closed before %s (%d years): %d rows and %d files in intake; %s",
             erasure.id, len(codes), cutoff.date().isoformat(), years, rows, deleted, ", ".join(codes))
    return erasure


def erasures(org: str | None, limit: int = 100) -> list[Erasure]:
    """The newest erasure requests: an organisation's (and the retention job's), or all (None)."""
    with bus.session() as session:
        query = select(ErasureRequest).order_by(ErasureRequest.requested_at.desc()).limit(limit)
        if org is not None:
            query = query.where(or_(ErasureRequest.org == org, ErasureRequest.org.is_(None)))
        return [_view(row) for row in session.scalars(query)]


def orgs_of_codes(codes: list[str]) -> dict[str, str]:
    """tracking code -> the organisation of its request."""
    if not codes:
        return {}
    with bus.session() as session:
        return {code: _org_of(sop) for code, sop in session.execute(
            select(Request.tracking_code, Request.sop).where(Request.tracking_code.in_(codes)))}


def erasure(request_id: str) -> Erasure | None:
    with bus.session() as session:
        row = session.get(ErasureRequest, request_id)
        return _view(row) if row is not None else None


@bus.handles("privacy.assignment_erased")
@bus.handles("privacy.notify_erased")
@bus.handles("privacy.procurement_erased")
def on_erased(uow: UnitOfWork, event: Event) -> None:
    """A service confirmed its part of an erasure: recorded; the request is complete when every
    service has."""
    payload = event.payload
    row = uow.session.get(ErasureRequest, payload["request_id"], with_for_update=True)
    if row is None:
        log.warning("%s confirmed an unknown erasure request %s", payload["service"], payload["request_id"])
        return
    confirmations = dict(row.confirmations or {})
    confirmations.setdefault(payload["service"], payload["erased_at"])
    row.confirmations = confirmations
    if row.completed_at is None and all(s in confirmations for s in SERVICES_CONFIRMING):
        row.completed_at = event.occurred_at
