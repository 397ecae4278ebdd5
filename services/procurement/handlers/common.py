"""Small helpers every procurement module shares: the clock (an aware UTC ``now``, Bangkok's date
of the paper world), money to the satang, a domain refusal raised as the use case's error (who counts
as allowed is ``domain.permissions``: ``admin`` may do anything), the row locks (SELECT ... FOR
UPDATE), and the plain filters of the list queries. No Flask here."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timezone

from sqlalchemy.orm import Session

from services.procurement.domain import permissions
from services.procurement.handlers.errors import invalid, not_found
from services.procurement.domain.fines import HUNDRED, SATANG, money  # noqa: F401  (one rounding rule)
from shared import db
from shared.auth import Staff
from shared.errors import Invalid, Refusal
from shared.i18n import BANGKOK

# --- the clock --------------------------------------------------------------------------------------


def utc_now(now: datetime | None = None) -> datetime:
    """``now`` (an aware datetime, as UTC), or the current moment: every use case takes an
    optional ``now`` so that tests move the clock."""
    if now is None:
        return db.utcnow()
    if now.tzinfo is None:
        raise ValueError("now must be an aware UTC datetime")
    return now.astimezone(timezone.utc)


def bangkok_today(now: datetime | None = None) -> date:
    """Today's date in Bangkok (the date of signed, due, delivered and paid papers) at ``now``."""
    return utc_now(now).astimezone(BANGKOK).date()


def parse_moment(raw, fallback: datetime) -> datetime:
    """An event's ISO timestamp (one without a zone is UTC), or ``fallback`` when it is missing
    or unreadable."""
    try:
        moment = datetime.fromisoformat(str(raw))
    except (TypeError, ValueError):
        return fallback
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def iso(value) -> str | None:
    """A date or datetime for an event's payload (None stays None)."""
    return value.isoformat() if value is not None else None


# --- money ------------------------------------------------------------------------------------------


def money_str(value) -> str | None:
    """Money in an event's payload: a string with two decimals ("12500.00"); None stays None."""
    return None if value is None else str(money(value))


# --- who may ----------------------------------------------------------------------------------------


def may(staff: Staff, roles: Iterable[str] = ()) -> bool:
    """Has one of ``roles``, or is ``admin`` (who may do anything): ``permissions.may``."""
    return permissions.may(staff, roles)


def is_admin(staff: Staff) -> bool:
    return permissions.is_admin(staff)


# --- the walls between organisations ---------------------------------------------------------------


def of_org(query, column, staff: Staff):
    """``query`` narrowed to the things of the organisations ``staff`` sees (``permissions.seen_org``):
    theirs, or every one for a system administrator."""
    org = permissions.seen_org(staff)
    return query if org is None else query.where(column == org)


def seen(staff: Staff, thing, what: str):
    """``thing`` when ``staff`` sees its organisation; else, as when it is not there, a 404 naming
    ``what`` (another organisation's thing is never revealed)."""
    if thing is None or not permissions.sees(staff, thing.org):
        raise not_found(what)
    return thing


def known(staff: Staff, thing, field: str, message: str):
    """``thing`` a body names by ``field``: when absent or another organisation's, a 422 on
    ``field`` with the one message (``message``) a nonexistent id gets."""
    if thing is None or not permissions.sees(staff, thing.org):
        raise invalid(field, message)
    return thing


def event_org(payload) -> str | None:
    """The organisation an event is of: its ``org``, else its SOP's pack (``sop`` is ``<pack>/<sop>``)."""
    if not isinstance(payload, dict):
        return None
    org = payload.get("org") or str(payload.get("sop") or "").partition("/")[0]
    return str(org)[:50] if org else None


def org_for_new(staff: Staff, named: str | None = None) -> str:
    """The organisation a thing ``staff`` makes is of (``permissions.new_org``; 422 on ``org``)."""
    org, errors = permissions.new_org(staff, named)
    if errors:
        raise Invalid(errors=errors)
    return org


def refuse(kind: type[Refusal], errors: dict[str, list[str]]) -> None:
    """Raise a domain rule's refusal (field-keyed messages; none: go on) as ``kind``: ``Forbidden``
    (who), ``Conflict`` (the state), ``Invalid`` (what was given)."""
    if errors:
        raise kind(errors=errors)


# --- locks and filters ------------------------------------------------------------------------------


def for_update(session: Session, query, of=None):
    """``query`` locking the rows it reads (``SELECT ... FOR UPDATE``)."""
    return query.with_for_update(of=of) if of is not None else query.with_for_update()


def contains_pattern(text: str) -> str:
    """A LIKE pattern (escape ``\\``) matching ``text`` anywhere, its ``%``, ``_`` and ``\\`` as
    themselves."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def where_given(query, *conditions):
    """``query`` narrowed by each ``(column, value)`` whose value is given (not None, not empty)."""
    for column, value in conditions:
        if value is not None and value != "":
            query = query.where(column == value)
    return query
