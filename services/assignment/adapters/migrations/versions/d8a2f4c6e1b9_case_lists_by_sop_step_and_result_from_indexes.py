"""a list newest request first, of one SOP's cases, of those at one step, or of those with one result, in its order and
with its count, read from indexes

Revision ID: d8a2f4c6e1b9
Revises: c1e4a7d9b3f2
Create Date: 2026-12-03 16:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'd8a2f4c6e1b9'
down_revision = 'c1e4a7d9b3f2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a list's default order is now the newest request first (received_at): its indexes end so
    op.create_index("ix_cases_org_status_received", "cases", ["org", "status", "received_at", "id"])
    op.drop_index("ix_cases_org_status_opened", table_name="cases")
    op.create_index("ix_cases_received_id", "cases", ["received_at", "id"])
    op.drop_index("ix_cases_opened_id", table_name="cases")
    op.create_index("ix_cases_org_sop_received", "cases", ["org", "sop", "received_at", "id"])
    op.create_index("ix_cases_org_result_received", "cases", ["org", "result", "received_at", "id"])
    op.create_index("ix_cases_org_step_received", "cases", ["org", "current_step", "received_at", "id"],
                    postgresql_where=sa.text("current_step IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_cases_org_step_received", table_name="cases")
    op.drop_index("ix_cases_org_result_received", table_name="cases")
    op.drop_index("ix_cases_org_sop_received", table_name="cases")
    op.create_index("ix_cases_opened_id", "cases", ["opened_at", "id"])
    op.drop_index("ix_cases_received_id", table_name="cases")
    op.create_index("ix_cases_org_status_opened", "cases", ["org", "status", "opened_at", "id"])
    op.drop_index("ix_cases_org_status_received", table_name="cases")
