"""The PDPA access log: every time a staff member reads a record that holds someone's personal
data, a row says who, when, what and why. Each service keeps its own log next to the data."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from shared import db
from shared.auth import Staff


class AccessLogMixin:
    __tablename__ = "personal_data_access"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=db.new_id)
    at: Mapped[datetime] = mapped_column(default=db.utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    actor_roles: Mapped[str] = mapped_column(String(300))
    record: Mapped[str] = mapped_column(String(100))  # e.g. "case", "message"
    record_id: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(200))

    @declared_attr.directive
    def __table_args__(cls):
        return (Index("ix_personal_data_access_record", "record", "record_id"),)


def log_access(session: Session, model: type, staff: Staff, record: str, record_ids, purpose: str) -> None:
    """Add access rows to ``session``; they commit with the caller's transaction."""
    for record_id in ([record_ids] if isinstance(record_ids, str) else record_ids):
        session.add(model(actor=staff.username, actor_roles=",".join(staff.roles), record=record,
                          record_id=str(record_id), purpose=purpose))
