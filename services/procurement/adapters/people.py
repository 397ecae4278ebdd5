"""Which organisation each of some staff accounts belongs to, for the walls' check that an
officer or committee member named in a body is one of the project's organisation's people.

The staff directory is assignment's. No event announces its changes yet, so this reads its
``users`` and ``units`` (read only, one query, by username) when they are in the same database
(the embedded default and the tests: one database, a schema per service); where they are not,
nobody can be checked and ``orgs_of`` answers None (the check is then skipped). Replace it with a
read model fed by a directory event when assignment publishes one."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text

from services.procurement.adapters.bus import bus

_PEOPLE = text("SELECT u.username, n.pack FROM assignment.users u LEFT JOIN assignment.units n ON n.key = u.unit "
               "WHERE u.username = ANY(:names)")


def orgs_of(usernames: Iterable[str]) -> dict[str, str | None] | None:
    """Each known username's organisation (None for a system administrator, in no unit); people not
    in the directory are left out. None: the directory cannot be read from here."""
    names = sorted({n for n in usernames if n})
    with bus.session() as session:
        if session.execute(text("SELECT to_regclass('assignment.users')")).scalar() is None:
            return None
        if not names:
            return {}
        return {row.username: row.pack for row in session.execute(_PEOPLE, {"names": names})}
