"""The registers steps record in (a pack's ``register`` on a step, e.g. onesqa's "ทะเบียนบันทึกปัญหา
การให้บริการสารสนเทศ" at ``equipment-support/log-issue``): a register is the list of the cases
that passed its step, newest first, filterable by the day they were logged. Nothing is typed
twice: the entry is the case as the step left it. No Flask here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from services.assignment.adapters import packstore
from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import AccessLog, Case, CaseStep
from shared.audit import log_access
from shared.auth import Staff
from shared.i18n import BANGKOK


# who may read a register (the API's and the desk's): the organisation's ICT staff
READERS = ("officer", "head", "subhead", "director", "deputy-director", "intake-clerk")


@dataclass(frozen=True)
class Register:
    org: str
    key: str
    title: dict
    steps: tuple[tuple[str, str], ...]  # (sop full key, step key) that record in it


def find_register(org: str, key: str) -> Register | None:
    """The register ``key`` of the organisation's newest loaded pack, with the steps recording in it."""
    pack = packstore.latest_packs().get(org)
    if pack is None:
        return None
    steps, title = [], None
    for sop in pack.sops.values():
        for step in sop.steps:
            if step.register and step.register["key"] == key:
                steps.append((sop.full_key, step.key))
                title = title or step.register["title"]
    return Register(org, key, title, tuple(steps)) if steps else None


def registers_of(org: str | None) -> list[Register]:
    """The registers of the organisation's newest loaded pack (every organisation's: None), by key."""
    packs = packstore.latest_packs()
    keys = sorted({(pack_key, step.register["key"]) for pack_key, pack in packs.items() if org in (None, pack_key)
                   for sop in pack.sops.values() for step in sop.steps if step.register})
    return [found for pack_key, key in keys if (found := find_register(pack_key, key)) is not None]


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=BANGKOK)


def entries(staff: Staff, org: str, key: str, logged_from: date | None = None, logged_to: date | None = None,
            limit: int = 100, offset: int = 0) -> dict | None:
    """The register's entries (cases logged at its step, newest first) between two Bangkok days
    (inclusive), with the total; None when there is no such register, or it is another
    organisation's (the walls: not found). The requester's names read are logged (PDPA)."""
    if not staff.in_org(org):
        return None
    register = find_register(org, key)
    if register is None:
        return None
    with bus.session() as session:
        where = [Case.org == org, CaseStep.status == "done",
                 func.concat(Case.sop, "/", CaseStep.step).in_([f"{sop}/{step}" for sop, step in register.steps])]
        if logged_from is not None:
            where.append(CaseStep.completed_at >= _start_of(logged_from))
        if logged_to is not None:
            where.append(CaseStep.completed_at < _start_of(logged_to + timedelta(days=1)))
        joined = select(CaseStep, Case).join(Case, Case.id == CaseStep.case_id).where(*where)
        total = session.scalar(select(func.count()).select_from(joined.subquery()))
        rows = session.execute(joined.order_by(CaseStep.completed_at.desc(), Case.tracking_code)
                               .limit(limit).offset(offset)).all()
        items = [{"tracking_code": case.tracking_code, "sop": case.sop, "step": row.step, "round": row.round,
                  "subject": case.subject, "requester_name": case.requester_name,
                  "requester_unit": case.requester_unit, "channel": case.channel, "received_at": case.received_at,
                  "logged_at": row.completed_at, "logged_by": row.actor, "note": row.note,
                  "case_status": case.status, "result": case.result} for row, case in rows]
        if items:
            log_access(session, AccessLog, staff, "case", [i["tracking_code"] for i in items],
                       f"register {org}/{key}", org=org)
            session.commit()
    return {"org": org, "key": key, "title": register.title, "total": total, "items": items,
            "steps": [f"{sop}/{step}" for sop, step in register.steps]}
