"""Notify's tables: whom to write to about a case, and every email as a delivery row."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from shared import db
from shared.audit import AccessLogMixin
from shared.messaging import message_tables
from shared.traffic_log import traffic_tables

Base = db.make_base("notify")


# the service's side of the event bus: outbox, inbox, dead letters, events owed to each subscriber
Outbox, Inbox, DeadLetter = message_tables(Base, __name__)
# its traffic log (the Computer Crime Act's traffic data) and where its hash chain starts and ends
Traffic, TrafficChain = traffic_tables(Base, __name__)


class AccessLog(AccessLogMixin, Base):
    pass


class Contact(Base):
    """The requester of a case, as far as email needs: kept from ``request.submitted`` (and the
    service's title from ``case.opened``), so that every later email can name the request."""

    __tablename__ = "contacts"

    correlation_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))  # none: a phone only, or planned work
    language: Mapped[str] = mapped_column(String(2))
    subject: Mapped[str | None] = mapped_column(String(300))
    sop_title: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)


class EarlyEvent(Base):
    """An event with a requester email in it that came before ``request.submitted`` (the case is
    opened from the same request by assignment at the same time, so ``case.opened`` can win the
    race): kept here, whole, instead of retrying it, and handled when the request arrives."""

    __tablename__ = "early_events"

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    correlation_id: Mapped[str] = mapped_column(String(64), index=True)
    occurred_at: Mapped[datetime]
    envelope: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)


class Delivery(Base):
    """One email: written before it is sent, so that a retry or a second delivery of the event
    finds it and never sends a second, different mail."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "recipient", "template", name="uq_deliveries_event_recipient_template"),
        Index("ix_deliveries_due", "next_attempt_at", postgresql_where=text("status IN ('pending', 'sending')")),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=db.new_id)
    event_id: Mapped[str] = mapped_column(String(36), index=True)
    event_type: Mapped[str] = mapped_column(String(100))
    correlation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    recipient: Mapped[str] = mapped_column(String(254), index=True)
    # the organisation the mail is of (the case's, or the staff member's): whose administrators
    # may read it in the mail log; null for none known (a system administrator's to read)
    org: Mapped[str | None] = mapped_column(String(50), index=True)
    recipient_name: Mapped[str] = mapped_column(String(200), default="")
    template: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(2))
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    subject: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending, sending, sent, dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=db.utcnow)
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)
    sent_at: Mapped[datetime | None]
    # a requester email's place among its case's events (the event's ``seq``): a case's requester
    # emails go out in that order, a later one held while an earlier one is still to go, and the
    # closing email until the event right before it has come; at most until ``hold_until``
    seq: Mapped[int | None] = mapped_column(Integer)
    hold_until: Mapped[datetime | None]

    @property
    def message_id(self) -> str:
        return message_id(self.id)


class SeenCaseEvent(Base):
    """A case event notify has consumed, by its case and its place in the case's sequence: the
    closing email of a case waits for the event right before it (``Delivery.seq``)."""

    __tablename__ = "seen_case_events"

    correlation_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)


def message_id(delivery_id: str) -> str:
    """The Message-ID of a delivery's email: the same on every attempt."""
    return f"<delivery-{delivery_id}@sopdesk>"
