"""escalation of missed deadlines in two levels (the heads, then the director after N working
days): when level 2 is due and when it was told, on steps and cases, with the sweep's partial
indexes; and the day's summary run, taken once per working day

Revision ID: a4e9c2f7d1b8
Revises: b7d2e5f8a1c3
Create Date: 2026-12-03 15:40:00
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = 'a4e9c2f7d1b8'
down_revision = 'b7d2e5f8a1c3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    moment = shared.db.UTCDateTime(timezone=True)
    op.add_column("case_steps", sa.Column("escalate_at", moment, nullable=True))
    op.add_column("case_steps", sa.Column("escalated_at", moment, nullable=True))
    op.add_column("cases", sa.Column("deadline_escalate_at", moment, nullable=True))
    op.add_column("cases", sa.Column("deadline_escalated_at", moment, nullable=True))
    op.create_index("ix_case_steps_escalation_due", "case_steps", ["escalate_at"],
                    postgresql_where=sa.text("status = 'active' AND breached_at IS NOT NULL AND escalated_at IS NULL"))
    op.create_index("ix_cases_deadline_escalation_due", "cases", ["deadline_escalate_at"],
                    postgresql_where=sa.text("status = 'open' AND deadline_breached_at IS NOT NULL "
                                             "AND deadline_escalated_at IS NULL"))
    op.create_table(
        "daily_summary_runs",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("ran_at", moment, nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_daily_summary_runs")),
    )


def downgrade() -> None:
    op.drop_table("daily_summary_runs")
    op.drop_index("ix_cases_deadline_escalation_due", table_name="cases")
    op.drop_index("ix_case_steps_escalation_due", table_name="case_steps")
    op.drop_column("cases", "deadline_escalated_at")
    op.drop_column("cases", "deadline_escalate_at")
    op.drop_column("case_steps", "escalated_at")
    op.drop_column("case_steps", "escalate_at")
