"""People a body names by username (a project's officer, its committees' members): one of the
organisation's people, or refused on that field as unknown (``permissions.same_org_people``)."""
from __future__ import annotations

from services.procurement.adapters import people
from services.procurement.domain import permissions
from shared.errors import Invalid

UNKNOWN = "no such person in this organisation"


def check_people(org: str, named: dict[str, list[str]]) -> None:
    """``named``: field -> the usernames it gives. 422 on each field naming someone who is not of
    ``org`` (unknown, or of another organisation)."""
    wanted = [name for names in named.values() for name in names]
    if not wanted:
        return
    known = people.orgs_of(wanted)
    if known is None:  # the directory is not readable from here: nothing to check against
        return
    errors = {field: [UNKNOWN] for field, names in named.items()
              if permissions.same_org_people(org, known, names)}
    if errors:
        raise Invalid(errors=errors)
