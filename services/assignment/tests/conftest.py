"""Staff for the engine's tests: one person per role, each in a unit of the pack under test."""
import functools

import pytest

from services.assignment.handlers import directory
from services.assignment.handlers.directory import add_unit, add_user
from shared.auth import Staff, hash_password, issue_token
from shared.packs import ROLES

PASSWORD = "correct horse battery"


class People:
    def __init__(self):
        self.tokens: dict[str, str] = {}

    def add(self, username: str, roles: list[str], unit: str | None = None) -> str:
        user = add_user(username, PASSWORD, roles, display_name=username, email=f"{username}@office.example",
                        unit=unit)
        self.tokens[username] = issue_token(Staff(user_id=user.id, username=user.username, roles=user.role_names))
        return username

    def headers(self, username: str) -> dict:
        return {"Authorization": f"Bearer {self.tokens[username]}"}


_hash_once = functools.lru_cache(maxsize=4)(hash_password)


@pytest.fixture
def people(clean, monkeypatch):
    """``u-<role>`` for every staff role, outside any unit (so they get every pack's work).
    They share one password, hashed once per run: a real hash costs ~0.1 s, twelve per test add
    up, and hashing is tested on its own in test_assignment."""
    monkeypatch.setattr(directory, "hash_password", _hash_once)
    staff = People()
    add_unit("ict", "sesao-sc", "ศูนย์ ICT", "ICT centre")
    for role in ROLES:
        if role not in ("requester", "vendor", "team", "admin"):
            staff.add(f"u-{role}", [role], unit=None)
    return staff
