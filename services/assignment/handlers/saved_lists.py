"""The lists of cases a person keeps under names of their own: a list's filters, as the query of
its address on the desk (``entrypoints.case_list``), checked as the list checks them. Each person
sees, uses and removes only their own."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from marshmallow import ValidationError
from sqlalchemy import delete, func, select

from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import SavedList
from services.assignment.schemas import CaseQuerySchema
from shared.auth import Staff
from shared.errors import Invalid

# the filters a saved list keeps (the page a list is on is not one of them)
KEPT = ("q", "status", "sop", "step", "unit", "assignee", "overdue", "received_from", "received_to", "sort",
        "per_page")
MAX_LISTS = 30  # a person's saved lists: enough for anyone's habits, few enough to show at once
NAME_LENGTH = 80


def lists_of(staff: Staff) -> list[SavedList]:
    """``staff``'s saved lists, by name."""
    with bus.session() as session:
        rows = list(session.scalars(select(SavedList).where(SavedList.user_id == staff.user_id)
                                    .order_by(SavedList.name)))
        session.expunge_all()
        return rows


def save(staff: Staff, name: str, query: str) -> SavedList:
    """Keep the list whose address has ``query`` under ``name`` (a list already kept under that
    name now keeps these filters). Refused, with nothing kept, when the name is empty or too long,
    the filters are not ones the list takes, or the person keeps ``MAX_LISTS`` already
    (``Invalid``: the field at fault)."""
    name = " ".join((name or "").split())
    if not name or len(name) > NAME_LENGTH:
        raise Invalid(errors={"name": ["saved.invalid.name"]})
    kept = {key: value.strip() for key, value in parse_qsl(query or "") if key in KEPT and value.strip()}
    try:
        CaseQuerySchema().load(kept)
    except ValidationError as exc:
        raise Invalid(errors={"query": ["saved.invalid.query"]}) from exc
    with bus.session() as session:
        row = session.scalar(select(SavedList).where(SavedList.user_id == staff.user_id, SavedList.name == name))
        if row is None:
            count = session.scalar(select(func.count()).select_from(SavedList).where(SavedList.user_id == staff.user_id))
            if count >= MAX_LISTS:
                raise Invalid(errors={"name": ["saved.invalid.too_many"]})
            row = SavedList(user_id=staff.user_id, name=name)
            session.add(row)
        row.query = urlencode(kept)
        session.commit()
        session.refresh(row)
        session.expunge(row)
        return row


def remove(staff: Staff, list_id: int) -> bool:
    """Remove one of ``staff``'s saved lists; False when they keep none by that id (another
    person's included: its existence is not revealed)."""
    with bus.session() as session:
        gone = session.execute(delete(SavedList).where(SavedList.id == list_id,
                                                       SavedList.user_id == staff.user_id)).rowcount
        session.commit()
        return bool(gone)
