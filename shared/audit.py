"""The PDPA access log: every time a staff member reads a record that holds someone's personal
data (a page, a list, a file, a command), a row says who, when, from where, what, whose
organisation's and why. Each service keeps its own log next to the data; a privacy officer reads
their organisation's at ``GET /<service>/access-log`` (``access_log_blueprint``), on the desk's
access-log page, or all four at once with ``sopdesk access-log export``."""
from __future__ import annotations

import getpass
from datetime import datetime

from flask import has_request_context, request
from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from shared import db
from shared.auth import Staff

# who reads through a command on the server: named by their login there
COMMAND_LINE = "command line"
# the kinds of record a read names (``record``); the privacy officer's page words each
RECORD_KINDS = ("access_log", "asset", "asset_loan", "asset_register", "attachment", "case", "committee_member",
                "dead_letter", "document", "message", "project_officer", "request", "vendor_contact",
                "vendor_contacts", "breach")


class AccessLogMixin:
    __tablename__ = "personal_data_access"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=db.new_id)
    at: Mapped[datetime] = mapped_column(default=db.utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    actor_roles: Mapped[str] = mapped_column(String(300))
    record: Mapped[str] = mapped_column(String(100))  # e.g. "case", "message"
    record_id: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(200))
    # from where: the client's address (after the proxy's X-Forwarded-For), or "command line"
    address: Mapped[str | None] = mapped_column(String(64))
    # whose: the organisation the data read is of (its privacy officer reads this row); null for
    # none known (a system administrator's to read)
    org: Mapped[str | None] = mapped_column(String(50))

    @declared_attr.directive
    def __table_args__(cls):
        return (Index("ix_personal_data_access_record", "record", "record_id"),
                Index("ix_personal_data_access_org_at", "org", "at"))


def where_from() -> str:
    """The address of the request being answered, or ``COMMAND_LINE`` outside one."""
    if has_request_context():
        return (request.remote_addr or "")[:64]
    return COMMAND_LINE


def command_line_reader() -> Staff:
    """Whoever runs a command that reads personal data, as the access log names them."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (a container's uid): still a row
        user = "unknown"
    return Staff(user_id="", username=f"cli:{user}"[:100], roles=(COMMAND_LINE,))


def log_access(session: Session, model: type, staff: Staff, record: str, record_ids, purpose: str,
               org: str | None = None) -> None:
    """Add access rows to ``session``; they commit with the caller's transaction. ``org``: the
    organisation the data is of (by default the reader's own: the walls keep anyone else's from
    them, but for a system administrator's reads the caller names it)."""
    address = where_from()
    org = org if org is not None else staff.org
    for record_id in ([record_ids] if isinstance(record_ids, str) else record_ids):
        session.add(model(actor=staff.username, actor_roles=",".join(staff.roles)[:300], record=record,
                          record_id=str(record_id)[:100], purpose=purpose[:200], address=address, org=org))
