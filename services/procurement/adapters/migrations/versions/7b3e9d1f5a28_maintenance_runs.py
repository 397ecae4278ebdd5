"""preventive maintenance: one run per SOP, period and asset

Revision ID: 7b3e9d1f5a28
Revises: 5e1a7c9d3b64
Create Date: 2026-12-03 15:35:00
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = '7b3e9d1f5a28'
down_revision = '5e1a7c9d3b64'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "maintenance_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org", sa.String(length=50), nullable=False),
        sa.Column("sop", sa.String(length=100), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("tracking_code", sa.String(length=32), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"], name=op.f("fk_maintenance_runs_asset_id_assets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_runs")),
        sa.UniqueConstraint("sop", "period", "asset_id", name="uq_maintenance_runs_sop_period_asset"),
        sa.UniqueConstraint("tracking_code", name=op.f("uq_maintenance_runs_tracking_code")),
    )
    op.create_index(op.f("ix_maintenance_runs_asset_id"), "maintenance_runs", ["asset_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_maintenance_runs_asset_id"), table_name="maintenance_runs")
    op.drop_table("maintenance_runs")
