"""Staff for procurement's tests: supplies, finance, the heads who approve, an officer, the three
inspection committee members and one member of each other committee. Shared by every procurement
test module (and tests/test_procurement_*.py import it): keep the names stable."""
from __future__ import annotations

import functools

import pytest

from services.assignment.handlers import directory
from services.assignment.handlers.directory import add_unit, add_user
from shared.auth import Staff, hash_password, issue_token

PASSWORD = "correct horse battery"

# username -> roles
STAFF: dict[str, list[str]] = {
    "u-supplies": ["supplies"],
    "u-finance": ["finance"],
    "u-director": ["director"],
    "u-deputy-director": ["deputy-director"],
    "u-head": ["head"],
    "u-subhead": ["subhead"],
    "u-officer": ["officer"],
    "u-inspect1": ["inspection-committee"],
    "u-inspect2": ["inspection-committee"],
    "u-inspect3": ["inspection-committee"],
    "u-proccom": ["procurement-committee"],
    "u-torcom": ["tor-committee"],
}


class ProcurementPeople:
    """The staff above, with a bearer token each: ``headers(username)`` for the test client."""

    def __init__(self, org: str = "sesao-sc") -> None:
        self.tokens: dict[str, str] = {}
        self.staff: dict[str, Staff] = {}
        self.org = org
        self.unit = f"ict-{org}"
        add_unit(self.unit, org, f"ศูนย์ ICT ({org})", f"ICT centre ({org})")

    def add(self, username: str, roles: list[str], unit: str | None = None, language: str = "th") -> str:
        """A person of the organisation (in ``unit``, else its ``ict-<org>``; a system
        administrator in none)."""
        if unit is None and "sysadmin" not in roles:
            unit = self.unit
        user = add_user(username, PASSWORD, roles, display_name=username, email=f"{username}@office.example",
                        unit=unit, language=language)
        staff = directory.staff_of(user)
        self.staff[username] = staff
        self.tokens[username] = issue_token(staff)
        return username

    def headers(self, username: str) -> dict:
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def email(self, username: str) -> str:
        return f"{username}@office.example"


_hash_once = functools.lru_cache(maxsize=4)(hash_password)


@pytest.fixture
def procurement_people(clean, monkeypatch, request) -> ProcurementPeople:
    """Every name in ``STAFF``, in the unit ``ict-<org>`` of one organisation (``sesao-sc``, or
    the one a test's ``@pytest.mark.org(...)`` names), one shared password hashed once per run."""
    monkeypatch.setattr(directory, "hash_password", _hash_once)
    marker = request.node.get_closest_marker("org")
    people = ProcurementPeople(marker.args[0] if marker else "sesao-sc")
    for username, roles in STAFF.items():
        people.add(username, roles)
    return people
