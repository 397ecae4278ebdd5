"""The staff directory: accounts, roles and logging in. No Flask here."""
from __future__ import annotations

import re

from sqlalchemy import select

from services.assignment.bus import bus
from services.assignment.models import User, UserRole
from shared.auth import Staff, hash_password, verify_password

ROLES = (
    "requester", "intake-clerk", "officer", "head", "subhead", "director", "deputy-director", "expert",
    "supplies", "finance", "tor-committee", "procurement-committee", "inspection-committee", "team",
    "vendor", "admin",
)
USERNAME = re.compile(r"^[A-Za-z0-9._@-]{2,100}$")


class DirectoryError(ValueError):
    pass


def add_user(username: str, password: str, roles: list[str], display_name: str = "",
             email: str | None = None) -> User:
    if not USERNAME.match(username or ""):
        raise DirectoryError("username: 2-100 letters, digits or . _ @ -")
    if len(password or "") < 8:
        raise DirectoryError("password: at least 8 characters")
    unknown = sorted(set(roles) - set(ROLES))
    if unknown or not roles:
        raise DirectoryError(f"role: unknown {', '.join(unknown)}; choose from {', '.join(ROLES)}" if unknown
                             else "role: at least one")
    with bus.session() as session:
        if session.scalar(select(User.id).where(User.username == username)):
            raise DirectoryError(f"username: {username} exists already")
        user = User(username=username, password_hash=hash_password(password), display_name=display_name or username,
                    email=email, roles=[UserRole(role=r) for r in sorted(set(roles))])
        session.add(user)
        session.commit()
        return user


def authenticate(username: str, password: str) -> Staff | None:
    with bus.session() as session:
        user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
        if not verify_password(user.password_hash if user else None, password):
            return None
        return Staff(user_id=user.id, username=user.username, roles=user.role_names)
