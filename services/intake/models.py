"""Intake's tables: the requests people file and the requester's view of their case."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared import db
from shared.messaging import DeadLetterMixin, InboxMixin, OutboxMixin

Base = db.make_base("intake")


class Outbox(OutboxMixin, Base):
    pass


class Inbox(InboxMixin, Base):
    pass


class DeadLetter(DeadLetterMixin, Base):
    pass


class Request(Base):
    """A request as filed. Holds the requester's personal data: read it only through the
    tracking token or a staff endpoint that logs the access."""

    __tablename__ = "requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=db.new_id)
    tracking_code: Mapped[str] = mapped_column(String(32), unique=True)
    sop: Mapped[str] = mapped_column(String(100), index=True)
    requester_name: Mapped[str] = mapped_column(String(200))
    requester_email: Mapped[str] = mapped_column(String(254))
    requester_phone: Mapped[str | None] = mapped_column(String(40))
    requester_unit: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    details: Mapped[str] = mapped_column(Text)
    form_fields: Mapped[dict] = mapped_column(JSON, default=dict)
    language: Mapped[str] = mapped_column(String(2), default="th")
    consent: Mapped[bool] = mapped_column(Boolean)
    privacy_notice_version: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))  # web, api, external, staff
    filed_by: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)
    # the requester's view of the case, kept from case events
    status: Mapped[str] = mapped_column(String(20), default="submitted")
    sop_title: Mapped[dict] = mapped_column(JSON, default=dict)
    current_step: Mapped[str | None] = mapped_column(String(100))
    due_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    result: Mapped[str | None] = mapped_column(String(20))
    case_seq: Mapped[int] = mapped_column(Integer, default=0)  # the newest case event applied

    steps: Mapped[list["RequestStep"]] = relationship(
        back_populates="request", lazy="raise", order_by="RequestStep.position"
    )


class RequestStep(Base):
    """One step of the case as the requester sees it: what, whose role, when."""

    __tablename__ = "request_steps"
    __table_args__ = (UniqueConstraint("request_id", "step", "round", name="uq_request_steps_step_round"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    step: Mapped[str] = mapped_column(String(100))
    round: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[dict] = mapped_column(JSON, default=dict)
    role: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20))  # active, done
    started_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(50))
    waiting_on: Mapped[str | None] = mapped_column(String(30))

    request: Mapped[Request] = relationship(back_populates="steps", lazy="raise")
