"""The administrators' trail: every change made to the directory (people, units, delegations) and
to the holiday calendar, by whom, when, and its values before and after. ``record`` is called by
each administration use case inside its own transaction, so that a change and its entry commit
together or not at all. No Flask here."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import ADMIN_KINDS, AdminChange
from shared.events import Event
from shared.messaging import UnitOfWork

PER_PAGE = 50


def record(session: Session, actor: str, org: str | None, kind: str, key: str, before: dict | None,
           after: dict | None, at: datetime | None = None) -> AdminChange | None:
    """One entry, in ``session``'s transaction; nothing when nothing changed. ``at``: when it was
    changed (another service's change, heard later); now when not given."""
    if kind not in ADMIN_KINDS:
        raise ValueError(f"kind: one of {', '.join(ADMIN_KINDS)}")
    if before == after:
        return None
    row = AdminChange(actor=(actor or "")[:100], org=org, kind=kind, key=str(key)[:100], before=before, after=after)
    if at is not None:
        row.at = at
    session.add(row)
    return row


@bus.handles("admin.changed")
def on_admin_changed(uow: UnitOfWork, event: Event) -> None:
    """A setting an administrator changed in another service (intake's privacy notice words):
    into the one trail, at the moment it was changed. The inbox keeps a repeat from counting
    twice."""
    payload = event.payload
    record(uow.session, payload["actor"], payload.get("org"), payload["kind"], payload["key"],
           payload.get("before"), payload.get("after"), at=datetime.fromisoformat(payload["changed_at"]))


def page(org: str | None, number: int = 1, per_page: int = PER_PAGE) -> tuple[list[AdminChange], int]:
    """The organisation's entries (every entry for None: a system administrator's view, which
    includes the shared calendar's), newest first: one page and the total."""
    number = max(1, number)
    query = select(AdminChange)
    counted = select(func.count()).select_from(AdminChange)
    if org is not None:
        query, counted = query.where(AdminChange.org == org), counted.where(AdminChange.org == org)
    with bus.session() as session:
        total = session.scalar(counted) or 0
        rows = list(session.scalars(query.order_by(AdminChange.id.desc()).offset((number - 1) * per_page)
                                    .limit(per_page)))
        session.expunge_all()
    return rows, total
