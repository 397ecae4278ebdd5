"""the administrators' trail: every change made on the administration pages (people, units,
delegations, holidays), who made it, when, and its values before and after

Revision ID: f2a9c6e1d4b7
Revises: d7a2c4e8f1b6
Create Date: 2026-12-04 01:30:00
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = 'f2a9c6e1d4b7'
down_revision = 'd7a2c4e8f1b6'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("org", sa.String(length=50), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_changes")),
    )
    op.create_index("ix_admin_changes_org_id", "admin_changes", ["org", "id"])


def downgrade() -> None:
    op.drop_index("ix_admin_changes_org_id", table_name="admin_changes")
    op.drop_table("admin_changes")
