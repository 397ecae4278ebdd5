"""a case's requester emails go out in the order of its events: each requester delivery's place
(seq) and how long it may be held for an earlier one (hold_until); the case events notify has
consumed (the closing email waits for the one right before it)

Revision ID: f2b8d4a6c1e3
Revises: e6a1d3c8b502
Create Date: 2026-12-03 15:40:00
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = 'f2b8d4a6c1e3'
down_revision = 'e6a1d3c8b502'
branch_labels = None
depends_on = None


def upgrade() -> None:
    moment = shared.db.UTCDateTime(timezone=True)
    op.add_column("deliveries", sa.Column("seq", sa.Integer(), nullable=True))
    op.add_column("deliveries", sa.Column("hold_until", moment, nullable=True))
    op.create_table(
        "seen_case_events",
        sa.Column("correlation_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("created_at", moment, nullable=False),
        sa.PrimaryKeyConstraint("correlation_id", "seq", name=op.f("pk_seen_case_events")),
    )


def downgrade() -> None:
    op.drop_table("seen_case_events")
    op.drop_column("deliveries", "hold_until")
    op.drop_column("deliveries", "seq")
