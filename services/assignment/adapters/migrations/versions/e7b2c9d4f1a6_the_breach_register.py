"""the breach register (PDPA s.37(4)): breaches with their 72-hour clock for the PDPC Office, and
who recorded and changed what

Revision ID: e7b2c9d4f1a6
Revises: 2b8d4f6a0c31
Create Date: 2026-12-03 14:00:00
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = 'e7b2c9d4f1a6'
down_revision = '2b8d4f6a0c31'
branch_labels = None
depends_on = None


def upgrade() -> None:
    moment = shared.db.UTCDateTime(timezone=True)
    op.create_table(
        "breaches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org", sa.String(length=50), nullable=False),
        sa.Column("aware_at", moment, nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("data_concerned", sa.Text(), nullable=False),
        sa.Column("people_affected", sa.Integer(), nullable=True),
        sa.Column("risk", sa.String(length=10), nullable=False),
        sa.Column("measures", sa.Text(), nullable=False),
        sa.Column("pdpc_deadline", moment, nullable=False),
        sa.Column("pdpc_notified_at", moment, nullable=True),
        sa.Column("pdpc_reference", sa.String(length=100), nullable=True),
        sa.Column("pdpc_not_needed", sa.Text(), nullable=True),
        sa.Column("people_notified_at", moment, nullable=True),
        sa.Column("tracking_codes", sa.JSON(), nullable=False),
        sa.Column("notified_codes", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", moment, nullable=False),
        sa.Column("approaching_sent_at", moment, nullable=True),
        sa.Column("passed_sent_at", moment, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breaches")),
    )
    op.create_index("ix_breaches_org_aware", "breaches", ["org", "aware_at"])
    op.create_index("ix_breaches_clock_running", "breaches", ["pdpc_deadline"],
                    postgresql_where=sa.text("status = 'open' AND pdpc_notified_at IS NULL AND pdpc_not_needed IS NULL"))
    op.create_table(
        "breach_trail",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("breach_id", sa.Integer(), nullable=False),
        sa.Column("at", moment, nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["breach_id"], ["breaches.id"], name=op.f("fk_breach_trail_breach_id_breaches"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breach_trail")),
    )
    op.create_index(op.f("ix_breach_trail_breach_id"), "breach_trail", ["breach_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_breach_trail_breach_id"), table_name="breach_trail")
    op.drop_table("breach_trail")
    op.drop_index("ix_breaches_clock_running", table_name="breaches")
    op.drop_index("ix_breaches_org_aware", table_name="breaches")
    op.drop_table("breaches")
