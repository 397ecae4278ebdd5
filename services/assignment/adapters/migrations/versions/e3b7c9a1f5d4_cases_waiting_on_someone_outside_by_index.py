"""the open cases waiting on someone outside the staff (the requester, a vendor, procurement),
read from an index of those steps

Revision ID: e3b7c9a1f5d4
Revises: d8a2f4c6e1b9
Create Date: 2026-12-03 16:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'e3b7c9a1f5d4'
down_revision = 'd8a2f4c6e1b9'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_case_steps_active_waiting", "case_steps", ["case_id"],
                    postgresql_where=sa.text("status = 'active' AND waiting_on IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_case_steps_active_waiting", table_name="case_steps")
