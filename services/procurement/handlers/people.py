"""People a body names by username (a project's officer, its committees' members): one of the
organisation's people, or refused on that field as unknown (``permissions.same_org_people``);
and procurement's copy of each account's organisation, kept from assignment's announcements."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert

from services.procurement.adapters import people
from services.procurement.adapters.models import Person
from services.procurement.domain import permissions
from shared.errors import Invalid
from shared.events import Event
from shared.messaging import UnitOfWork

UNKNOWN = "no such person in this organisation"


def check_people(org: str, named: dict[str, list[str]]) -> None:
    """``named``: field -> the usernames it gives. 422 on each field naming someone who is not of
    ``org`` (unknown, or of another organisation)."""
    wanted = [name for names in named.values() for name in names]
    if not wanted:
        return
    known = people.orgs_of(wanted)
    errors = {field: [UNKNOWN] for field, names in named.items()
              if permissions.same_org_people(org, known, names)}
    if errors:
        raise Invalid(errors=errors)


def keep_person(uow: UnitOfWork, event: Event) -> None:
    """Keep an account's organisation as assignment announced it (``staff.person_changed``); the
    newest announcement wins: a repeat, or an older one arriving late, changes nothing."""
    payload = event.payload
    row = insert(Person).values(username=payload["username"], org=payload.get("org"),
                                active=bool(payload["active"]), changed_at=datetime.fromisoformat(payload["changed_at"]))
    uow.session.execute(row.on_conflict_do_update(
        index_elements=[Person.username],
        set_={"org": row.excluded.org, "active": row.excluded.active, "changed_at": row.excluded.changed_at},
        where=Person.changed_at <= row.excluded.changed_at))
