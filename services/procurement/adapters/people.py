"""Which organisation each of some staff accounts belongs to, for the walls' check that an
officer or committee member named in a body is one of the project's organisation's people: read
from ``people``, procurement's own copy of what assignment announces (``staff.person_changed``,
kept by ``handlers/consumers.py``). No service reads another's tables."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from services.procurement.adapters.bus import bus
from services.procurement.adapters.models import Person


def orgs_of(usernames: Iterable[str]) -> dict[str, str | None]:
    """Each known active username's organisation (None for a system administrator, in no unit);
    people not announced (yet) are left out."""
    names = sorted({n for n in usernames if n})
    if not names:
        return {}
    with bus.session() as session:
        return {row.username: row.org for row in session.execute(
            select(Person.username, Person.org).where(Person.username.in_(names), Person.active.is_(True)))}
