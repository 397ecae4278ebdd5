"""Staff for the engine's tests: one person per role, each in a unit of the pack under test."""
import functools

import pytest

from services.assignment.handlers import directory
from services.assignment.handlers.directory import add_unit, add_user
from shared.auth import hash_password, issue_token
from shared.packs import ROLES

PASSWORD = "correct horse battery"


class People:
    """Staff of one organisation at a time: ``add`` puts a person in ``unit`` (the organisation's
    ``ict-<org>`` when none is named); ``join(org)`` moves everyone added without a unit of their
    own to another organisation (a test of another pack's SOP), with fresh tokens."""

    def __init__(self, org: str):
        self.tokens: dict[str, str] = {}
        self.movable: list[str] = []
        self.org = org
        self.unit = unit_of(org)

    def add(self, username: str, roles: list[str], unit: str | None = None) -> str:
        user = add_user(username, PASSWORD, roles, display_name=username, email=f"{username}@office.example",
                        unit=unit or (None if "sysadmin" in roles else self.unit))
        if unit is None and "sysadmin" not in roles:
            self.movable.append(username)
        self.tokens[username] = issue_token(directory.staff_of(user))
        return username

    def join(self, org: str) -> "People":
        """Everyone added without a unit named moves to ``org``'s ``ict-<org>``."""
        if org == self.org:
            return self
        self.org, self.unit = org, unit_of(org)
        for username in self.movable:
            self.tokens[username] = issue_token(directory.move_user(username, self.unit))
        return self

    def headers(self, username: str) -> dict:
        return {"Authorization": f"Bearer {self.tokens[username]}"}


def unit_of(org: str) -> str:
    """The unit ``ict-<org>`` of the organisation ``org`` (made when it is not there yet)."""
    key = f"ict-{org}"
    add_unit(key, org, f"ศูนย์ ICT ({org})", f"ICT centre ({org})")
    return key


_hash_once = functools.lru_cache(maxsize=4)(hash_password)


@pytest.fixture
def people(clean, monkeypatch, request):
    """``u-<role>`` for every staff role of a case's work, in the unit ``ict-<org>`` of one
    organisation: ``sesao-sc``, or the one a test's ``@pytest.mark.org("up")`` names
    (``people.join(org)`` moves them within a test). They share one password, hashed once per
    run: a real hash costs ~0.1 s, twelve per test add up, and hashing is tested on its own in
    test_assignment."""
    monkeypatch.setattr(directory, "hash_password", _hash_once)
    marker = request.node.get_closest_marker("org")
    staff = People(marker.args[0] if marker else "sesao-sc")
    add_unit("ict", "sesao-sc", "ศูนย์ ICT", "ICT centre")
    for role in ROLES:
        if role not in ("requester", "vendor", "team", "admin", "privacy-officer", "sysadmin"):
            staff.add(f"u-{role}", [role])
    return staff
