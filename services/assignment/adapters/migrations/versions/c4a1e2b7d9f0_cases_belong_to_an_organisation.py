"""cases belong to an organisation (the pack their SOP is of), for the walls between organisations

Revision ID: c4a1e2b7d9f0
Revises: eb8fa15f779f
Create Date: 2026-12-03 12:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'c4a1e2b7d9f0'
down_revision = 'eb8fa15f779f'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("org", sa.String(length=50), nullable=True))
    op.execute("UPDATE cases SET org = split_part(sop, '/', 1)")
    op.alter_column("cases", "org", nullable=False)
    op.create_index("ix_cases_org_opened", "cases", ["org", "opened_at"])
    # who did something on a case sees it: the walls look the trail up by its actor
    op.create_index(op.f("ix_case_trail_actor"), "case_trail", ["actor"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_case_trail_actor"), table_name="case_trail")
    op.drop_index("ix_cases_org_opened", table_name="cases")
    op.drop_column("cases", "org")
