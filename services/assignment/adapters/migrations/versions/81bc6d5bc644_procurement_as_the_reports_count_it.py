"""procurement as the reports count it: projects by stage, contracts signed, milestones due,
delivered, accepted and paid with their fines (``procurement_projects``, ``procurement_contracts``,
``procurement_milestones``), kept from procurement's events from now on. Nothing to fill: what
procurement did before is in its own database, which this service does not read.

Revision ID: 81bc6d5bc644
Revises: c3f8a1d5e9b2
Create Date: 2026-12-04 10:00:00
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = '81bc6d5bc644'
down_revision = 'c3f8a1d5e9b2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "procurement_projects",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("org", sa.String(50), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seen_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procurement_projects")),
    )
    op.create_index("ix_procurement_projects_org", "procurement_projects", ["org"],
                    postgresql_include=["stage", "created_at", "seen_at"])
    op.create_table(
        "procurement_contracts",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("org", sa.String(50), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("seen_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procurement_contracts")),
    )
    op.create_index("ix_procurement_contracts_signed", "procurement_contracts", ["org", "signed_on"],
                    postgresql_include=["amount"])
    op.create_table(
        "procurement_milestones",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("org", sa.String(50), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("delivered_on", sa.Date(), nullable=True),
        sa.Column("days_late", sa.Integer(), nullable=False),
        sa.Column("fine_amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("accepted_on", sa.Date(), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("paid_amount", sa.Numeric(14, 2), nullable=True),
        sa.Column("seen_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procurement_milestones")),
    )
    op.create_index("ix_procurement_milestones_due", "procurement_milestones", ["org", "due_on"],
                    postgresql_include=["delivered_on"])
    op.create_index("ix_procurement_milestones_paid", "procurement_milestones", ["org", "paid_on"],
                    postgresql_include=["paid_amount", "fine_amount"], postgresql_where=sa.text("paid_on IS NOT NULL"))


def downgrade() -> None:
    op.drop_table("procurement_milestones")
    op.drop_table("procurement_contracts")
    op.drop_table("procurement_projects")
