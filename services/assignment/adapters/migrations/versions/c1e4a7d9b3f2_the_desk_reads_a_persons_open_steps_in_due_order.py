"""the desk reads a person's open steps in the order it shows them (soonest due first), from an
index of the open steps only; the cases a person holds, held or acted on are read from indexes
alone (cases.visible_to)

Revision ID: c1e4a7d9b3f2
Revises: f3c1d9a7b2e4
Create Date: 2026-12-03 16:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'c1e4a7d9b3f2'
down_revision = 'f3c1d9a7b2e4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # each step knows its case's organisation (the engine writes it with the step)
    op.add_column("case_steps", sa.Column("org", sa.String(length=50), nullable=True))
    op.execute("UPDATE case_steps s SET org = c.org FROM cases c WHERE c.id = s.case_id")
    op.alter_column("case_steps", "org", nullable=False)
    op.create_index("ix_case_steps_active_assignee_due", "case_steps", ["org", "assignee", "due_at", "started_at"],
                    postgresql_where=sa.text("status = 'active'"))
    op.create_index("ix_case_steps_active_unassigned_due", "case_steps", ["org", "due_at", "started_at"],
                    postgresql_where=sa.text("status = 'active' AND assignee IS NULL AND role <> 'requester'"))
    op.drop_index("ix_case_steps_assignee_active", table_name="case_steps")
    op.create_index("ix_case_steps_assignee_case", "case_steps", ["assignee", "case_id"])
    op.drop_index("ix_case_steps_assignee", table_name="case_steps")
    op.create_index("ix_case_trail_actor_case", "case_trail", ["actor", "case_id"])
    op.drop_index("ix_case_trail_actor", table_name="case_trail")


def downgrade() -> None:
    op.create_index("ix_case_trail_actor", "case_trail", ["actor"])
    op.drop_index("ix_case_trail_actor_case", table_name="case_trail")
    op.create_index("ix_case_steps_assignee", "case_steps", ["assignee"])
    op.drop_index("ix_case_steps_assignee_case", table_name="case_steps")
    op.create_index("ix_case_steps_assignee_active", "case_steps", ["assignee", "status"])
    op.drop_index("ix_case_steps_active_unassigned_due", table_name="case_steps")
    op.drop_index("ix_case_steps_active_assignee_due", table_name="case_steps")
    op.drop_column("case_steps", "org")
