"""Assignment's tables: staff accounts and roles, cases and their steps."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared import db
from shared.audit import AccessLogMixin
from shared.messaging import DeadLetterMixin, InboxMixin, OutboxMixin

Base = db.make_base("assignment")


class Outbox(OutboxMixin, Base):
    pass


class Inbox(InboxMixin, Base):
    pass


class DeadLetter(DeadLetterMixin, Base):
    pass


class AccessLog(AccessLogMixin, Base):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=db.new_id)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)

    roles: Mapped[list["UserRole"]] = relationship(back_populates="user", lazy="selectin",
                                                   cascade="all, delete-orphan")

    @property
    def role_names(self) -> tuple[str, ...]:
        return tuple(sorted(r.role for r in self.roles))


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role", name="uq_user_roles_user_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(50), index=True)

    user: Mapped[User] = relationship(back_populates="roles", lazy="raise")


class Case(Base):
    """One request being worked through its SOP. ``id`` in the public contract is the tracking code."""

    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=db.new_id)
    tracking_code: Mapped[str] = mapped_column(String(32), unique=True)
    request_event_id: Mapped[str] = mapped_column(String(36), unique=True)
    sop: Mapped[str] = mapped_column(String(100), index=True)
    pack_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    subject: Mapped[str] = mapped_column(String(300))
    details: Mapped[str] = mapped_column(Text)
    requester_name: Mapped[str] = mapped_column(String(200))
    requester_unit: Mapped[str] = mapped_column(String(200))
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    channel: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime]
    opened_at: Mapped[datetime] = mapped_column(default=db.utcnow)
    closed_at: Mapped[datetime | None]
    current_step: Mapped[str | None] = mapped_column(String(100))
    due_at: Mapped[datetime | None]

    steps: Mapped[list["CaseStep"]] = relationship(back_populates="case", lazy="raise",
                                                   order_by="CaseStep.position")


class CaseStep(Base):
    __tablename__ = "case_steps"
    __table_args__ = (
        UniqueConstraint("case_id", "step", "round", name="uq_case_steps_step_round"),
        Index("ix_case_steps_open_due", "due_at", postgresql_where=text("status = 'active'"),
              sqlite_where=text("status = 'active'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    step: Mapped[str] = mapped_column(String(100))
    round: Mapped[int] = mapped_column(Integer, default=1)
    role: Mapped[str] = mapped_column(String(50), index=True)
    assignee: Mapped[str | None] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(20))  # active, done
    started_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(50))
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(100))

    case: Mapped[Case] = relationship(back_populates="steps", lazy="raise")
