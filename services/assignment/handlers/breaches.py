"""The breach register's use cases (PDPA s.37(4)): a privacy officer records a personal-data breach
of their organisation, records that the PDPC Office was told (or why it need not be), has the
people affected told (``breach.notice_requested``: notify writes to each case's requester, once
per person) and closes it; every change is in the breach's trail. The clock's sweep tells the
organisation's privacy officers once when 24 hours are left of the 72 and once when they have
passed (``breach.pdpc_deadline_approaching`` / ``_passed``). The rules are in
``domain/breaches.py``. Each use case is one unit of work. No Flask here.

The register is the organisation's: a privacy officer (or its administrators) sees and changes
only their own organisation's breaches (another's is not found); a system administrator sees all
and names the organisation of a breach they record."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import Breach, BreachTrail, Case, PackVersion
from services.assignment.domain import breaches as rules
from services.assignment.handlers import directory
from shared import db, i18n
from shared.auth import Staff
from shared.errors import Conflict, Invalid
from shared.messaging import UnitOfWork

# who keeps the register and hears of its clock
KEEPERS = ("privacy-officer",)
# who else hears of the clock when the organisation has no privacy officer
FALLBACK_KEEPERS = ("admin",)


def _t(key: str, lang: str, **values) -> str:
    return i18n.translate(key, lang, **values)


def _visible(staff: Staff):
    """The breaches ``staff`` may see: every one for a system administrator, else their own
    organisation's (the route's roles are checked at the edge)."""
    if staff.sees_all:
        return Breach.id.is_not(None)
    return Breach.org == (staff.org or "\x00none")


def _trail(uow: UnitOfWork, breach: Breach, staff: Staff, action: str, changes: dict) -> None:
    uow.session.add(BreachTrail(breach_id=breach.id, actor=staff.username, action=action,
                                changes=_plain(changes), at=db.utcnow()))


def _plain(values: dict) -> dict:
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in values.items()}


def _with_clock(breach: Breach, now: datetime) -> Breach:
    breach.clock_now = rules.clock(breach.aware_at, now, breach.pdpc_notified_at, breach.pdpc_not_needed)
    breach.clock = breach.clock_now.state
    return breach


def _breach_id(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= 2**31 - 1 else None


# ---------------------------------------------------------------------------------------------
# reading


def list_breaches(staff: Staff, status: str | None = None, limit: int = 100, offset: int = 0) -> list[Breach]:
    """The register, open ones first, newest awareness first, each with its clock."""
    now = db.utcnow()
    query = (select(Breach).where(_visible(staff)).order_by(Breach.status.desc(), Breach.aware_at.desc())
             .limit(limit).offset(offset))
    if status:
        query = query.where(Breach.status == status)
    with bus.session() as session:
        found = list(session.scalars(query))
        session.expunge_all()
    return [_with_clock(breach, now) for breach in found]


def read_breach(breach_id, staff: Staff) -> Breach | None:
    """One breach with its trail, if ``staff`` may see it (else None: not found)."""
    number = _breach_id(breach_id)
    if number is None:
        return None
    with bus.session() as session:
        breach = session.scalar(select(Breach).where(Breach.id == number, _visible(staff))
                                .options(selectinload(Breach.trail)))
        if breach is None:
            return None
        session.expunge_all()
    return _with_clock(breach, db.utcnow())


# ---------------------------------------------------------------------------------------------
# recording and changing


def record(staff: Staff, data: dict, lang: str = i18n.DEFAULT_LANGUAGE) -> int:
    """A new breach in the register of ``staff``'s organisation (a system administrator names
    it); the cases named must be that organisation's. Returns its id."""
    now = db.utcnow()
    with bus.unit_of_work() as uow:
        org = _org_for(uow, staff, data.get("org"), lang)
        if data["aware_at"] > now:
            raise Invalid(errors={"aware_at": [_t("breach.e.future", lang)]})
        codes = _codes_of_org(uow, org, data.get("tracking_codes") or [], lang)
        breach = Breach(org=org, aware_at=data["aware_at"], description=data["description"].strip(),
                        data_concerned=data["data_concerned"].strip(), people_affected=data.get("people_affected"),
                        risk=data["risk"], measures=(data.get("measures") or "").strip(),
                        pdpc_deadline=rules.pdpc_deadline(data["aware_at"]), tracking_codes=codes, notified_codes=[],
                        status="open", recorded_by=staff.username, recorded_at=now)
        uow.session.add(breach)
        uow.session.flush()
        _trail(uow, breach, staff, "recorded", {
            "aware_at": breach.aware_at, "risk": breach.risk, "people_affected": breach.people_affected,
            "tracking_codes": codes, "pdpc_deadline": breach.pdpc_deadline})
        uow.commit()
        return breach.id


def _org_for(uow: UnitOfWork, staff: Staff, named: str | None, lang: str) -> str:
    if not staff.sees_all:
        if not staff.org:
            raise Invalid(errors={"org": [_t("breach.e.no_org", lang)]})
        if named and named != staff.org:
            raise Invalid(errors={"org": [_t("breach.e.other_org", lang)]})
        return staff.org
    named = (named or "").strip()
    if not named or uow.session.scalar(select(PackVersion.pack).where(PackVersion.pack == named).limit(1)) is None:
        raise Invalid(errors={"org": [_t("breach.e.org", lang)]})
    return named


def _codes_of_org(uow: UnitOfWork, org: str, codes: list[str], lang: str) -> list[str]:
    """The tracking codes, each once, in the order given; every one a case of ``org`` (a code of
    another organisation is as unknown as one that does not exist)."""
    wanted = list(dict.fromkeys(code.strip().upper() for code in codes if code and code.strip()))
    if not wanted:
        return []
    known = set(uow.session.scalars(select(Case.tracking_code).where(Case.tracking_code.in_(wanted),
                                                                     Case.org == org)))
    unknown = [code for code in wanted if code not in known]
    if unknown:
        raise Invalid(errors={"tracking_codes": [_t("breach.e.codes", lang, codes=", ".join(unknown))]})
    return wanted


def _locked(uow: UnitOfWork, breach_id, staff: Staff) -> Breach:
    number = _breach_id(breach_id)
    breach = None if number is None else uow.session.scalar(
        select(Breach).where(Breach.id == number, _visible(staff)).with_for_update())
    if breach is None:
        raise LookupError(breach_id)
    return breach


def record_pdpc(breach_id, staff: Staff, data: dict, lang: str = i18n.DEFAULT_LANGUAGE) -> None:
    """The Office was told (when, with its reference), or a reason why it need not be."""
    notified_at, reference, not_needed = data.get("notified_at"), data.get("reference"), data.get("not_needed")
    if notified_at is None and not (not_needed or "").strip():
        raise Invalid(errors={"notified_at": [_t("breach.e.pdpc", lang)]})
    with bus.unit_of_work() as uow:
        breach = _locked(uow, breach_id, staff)
        if breach.status != "open":
            raise Conflict(_t("breach.e.closed", lang))
        if notified_at is not None:
            if notified_at > db.utcnow():
                raise Invalid(errors={"notified_at": [_t("breach.e.future", lang)]})
            if notified_at < breach.aware_at:
                raise Invalid(errors={"notified_at": [_t("breach.e.before_aware", lang)]})
            breach.pdpc_notified_at, breach.pdpc_reference = notified_at, (reference or "").strip() or None
            breach.pdpc_not_needed = None
            changes = {"pdpc_notified_at": notified_at, "pdpc_reference": breach.pdpc_reference,
                       "in_time": notified_at <= breach.pdpc_deadline}
        else:
            breach.pdpc_not_needed = not_needed.strip()
            changes = {"pdpc_not_needed": breach.pdpc_not_needed}
        _trail(uow, breach, staff, "pdpc", changes)
        uow.commit()


def notify_people(breach_id, staff: Staff, lang: str = i18n.DEFAULT_LANGUAGE) -> int:
    """Have the requesters of the breach's cases told (``breach.notice_requested``): the cases
    not told before. Returns how many cases the notice names."""
    now = db.utcnow()
    with bus.unit_of_work() as uow:
        breach = _locked(uow, breach_id, staff)
        if breach.status != "open":
            raise Conflict(_t("breach.e.closed", lang))
        told = set(breach.notified_codes or [])
        codes = [code for code in breach.tracking_codes or [] if code not in told]
        if not codes:
            raise Conflict(_t("breach.e.no_one", lang))
        contact = directory.contact(uow.session, staff.username) or {}
        uow.emit("breach.notice_requested", {
            "breach_id": breach.id, "org": breach.org, "tracking_codes": codes,
            "aware_at": breach.aware_at.isoformat(), "description": breach.description,
            "data_concerned": breach.data_concerned, "measures": breach.measures,
            "contact": {"name": contact.get("name") or staff.username, "email": contact.get("email")},
        }, correlation_id=f"breach-{breach.id}")
        breach.notified_codes = [*(breach.notified_codes or []), *codes]
        breach.people_notified_at = breach.people_notified_at or now
        _trail(uow, breach, staff, "people", {"tracking_codes": codes, "at": now})
        uow.commit()
        return len(codes)


def close(breach_id, staff: Staff, lang: str = i18n.DEFAULT_LANGUAGE) -> None:
    with bus.unit_of_work() as uow:
        breach = _locked(uow, breach_id, staff)
        if breach.status != "open":
            raise Conflict(_t("breach.e.closed", lang))
        refusals = rules.refusals_to_close(breach.risk, breach.pdpc_notified_at, breach.pdpc_not_needed,
                                           breach.people_notified_at)
        if refusals:
            words = {"pdpc": _t("breach.e.close_pdpc", lang), "people": _t("breach.e.close_people", lang)}
            raise Conflict(errors={"_schema": [words[why] for why in refusals]})
        breach.status = "closed"
        _trail(uow, breach, staff, "closed", {})
        uow.commit()


# ---------------------------------------------------------------------------------------------
# the 72-hour clock


def sweep_clocks(now: datetime | None = None, batch: int = 200) -> int:
    """Tell each open breach's privacy officers, once each, that 24 hours are left before the
    PDPC deadline and that it has passed, while the Office is neither told nor excused. Reads
    only the running clocks within 24 hours of their deadline (a partial index);
    ``SKIP LOCKED`` lets two sweeps run side by side. Returns the reminders sent."""
    now = now or db.utcnow()
    sent = 0
    with bus.unit_of_work() as uow:
        query = (select(Breach)
                 .where(Breach.status == "open", Breach.pdpc_notified_at.is_(None), Breach.pdpc_not_needed.is_(None),
                        Breach.pdpc_deadline <= now + rules.REMIND_BEFORE, Breach.passed_sent_at.is_(None))
                 .order_by(Breach.pdpc_deadline).limit(batch).with_for_update(skip_locked=True))
        for breach in uow.session.scalars(query):
            for kind in rules.reminders_due(breach.aware_at, now, status=breach.status,
                                            notified_at=breach.pdpc_notified_at,
                                            reason_not_needed=breach.pdpc_not_needed,
                                            approaching_sent=breach.approaching_sent_at is not None,
                                            passed_sent=breach.passed_sent_at is not None):
                _remind(uow, breach, kind, now)
                sent += 1
        uow.commit()
    return sent


def _remind(uow: UnitOfWork, breach: Breach, kind: str, now: datetime) -> None:
    if kind == "approaching":
        breach.approaching_sent_at = now
    else:
        breach.passed_sent_at = now
    keepers = directory.holders(uow.session, KEEPERS, pack=breach.org) or \
        directory.holders(uow.session, FALLBACK_KEEPERS, pack=breach.org)
    contacts = [c for c in (directory.contact(uow.session, name) for name in keepers) if c is not None]
    event_type = "breach.pdpc_deadline_approaching" if kind == "approaching" else "breach.pdpc_deadline_passed"
    uow.emit(event_type, {
        "breach_id": breach.id, "org": breach.org, "aware_at": breach.aware_at.isoformat(),
        "pdpc_deadline": breach.pdpc_deadline.isoformat(), "description": breach.description,
        "risk": breach.risk, "recipients": contacts,
    }, correlation_id=f"breach-{breach.id}")
