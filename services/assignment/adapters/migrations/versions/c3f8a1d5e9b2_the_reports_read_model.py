"""the reports' read model: a row per case (``report_cases``: received, closed, result, on time,
working time) and per step done (``report_steps``), written by the engine from now on and filled
here from the cases already stored, their working time worked out by the same Thai calendar

Revision ID: c3f8a1d5e9b2
Revises: b9e4d2a6c8f1
Create Date: 2026-12-03 23:00:00
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = 'c3f8a1d5e9b2'
down_revision = 'b9e4d2a6c8f1'
branch_labels = None
depends_on = None

CASES = sa.text("""
SELECT id, org, sop, channel, received_at, closed_at, result, due_at, paused_minutes, paused_since FROM cases
""")
# the steps done that were not the requester's, with how they ended (their action's trail entry)
STEPS = sa.text("""
SELECT s.case_id, s.step, s.round, s.org, c.sop, u.unit, s.started_at, s.completed_at, s.due_at,
       COALESCE((SELECT t.data::jsonb ->> 'kind' FROM case_trail t
                 WHERE t.case_id = s.case_id AND t.step = s.step AND t.round = s.round AND t.kind = 'action'
                 ORDER BY t.id DESC LIMIT 1), 'forward') AS kind
FROM case_steps s JOIN cases c ON c.id = s.case_id LEFT JOIN users u ON u.username = s.assignee
WHERE s.status = 'done' AND s.completed_at IS NOT NULL AND s.role <> 'requester'
  AND s.waiting_on IS DISTINCT FROM 'requester'
""")


def calendar(connection):
    """The Thai working calendar as the engine has it: the settings' office hours, the holiday
    library, the admin's days (``calendar_days``)."""
    from shared.config import get_settings
    from shared.workcal import calendar_from_days

    return calendar_from_days(get_settings(), connection.execute(sa.text("SELECT day, kind, name FROM calendar_days")))


def backfill(connection, batch: int = 5000) -> None:
    """Fill both tables from what is stored, by the rules of ``handlers.figures`` (not imported:
    a migration keeps the rules of its day)."""
    cal = calendar(connection)

    def minutes(a, b):
        return cal.working_minutes_between(a, b)

    def on_time(done, due):
        return None if done is None or due is None else done <= due

    cases = connection.execute(CASES.execution_options(stream_results=True))
    while rows := cases.fetchmany(batch):
        out = []
        for r in rows:
            worked = None
            if r.closed_at is not None:
                waited = (r.paused_minutes or 0) + (minutes(r.paused_since, r.closed_at) if r.paused_since else 0)
                worked = max(0, minutes(r.received_at, r.closed_at) - waited)
            out.append({"case_id": r.id, "org": r.org, "sop": r.sop, "channel": r.channel,
                        "received_at": r.received_at, "closed_at": r.closed_at, "result": r.result,
                        "on_time": on_time(r.closed_at, r.due_at), "working_minutes": worked})
        connection.execute(sa.text(
            "INSERT INTO report_cases (case_id, org, sop, channel, received_at, closed_at, result, on_time, "
            "working_minutes) VALUES (:case_id, :org, :sop, :channel, :received_at, :closed_at, :result, :on_time, "
            ":working_minutes) ON CONFLICT (case_id) DO NOTHING"), out)
    steps = connection.execute(STEPS.execution_options(stream_results=True))
    while rows := steps.fetchmany(batch):
        out = [{"case_id": r.case_id, "step": r.step, "round": r.round, "org": r.org, "sop": r.sop, "unit": r.unit,
                "completed_at": r.completed_at, "working_minutes": minutes(r.started_at, r.completed_at),
                "on_time": on_time(r.completed_at, r.due_at), "kind": r.kind} for r in rows]
        connection.execute(sa.text(
            "INSERT INTO report_steps (case_id, step, round, org, sop, unit, completed_at, working_minutes, on_time, "
            "kind) VALUES (:case_id, :step, :round, :org, :sop, :unit, :completed_at, :working_minutes, :on_time, "
            ":kind) ON CONFLICT DO NOTHING"), out)


def upgrade() -> None:
    op.create_table(
        "report_cases",
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("org", sa.String(50), nullable=False),
        sa.Column("sop", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("received_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result", sa.String(20), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("working_minutes", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_report_cases_case_id_cases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_report_cases")),
    )
    op.create_table(
        "report_steps",
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("step", sa.String(100), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("org", sa.String(50), nullable=False),
        sa.Column("sop", sa.String(100), nullable=False),
        sa.Column("unit", sa.String(100), nullable=True),
        sa.Column("completed_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("working_minutes", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_report_steps_case_id_cases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("case_id", "step", "round", name=op.f("pk_report_steps")),
    )
    backfill(op.get_bind())
    op.create_index("ix_report_cases_received", "report_cases", ["org", "received_at"],
                    postgresql_include=["sop", "channel"])
    op.create_index("ix_report_cases_closed", "report_cases", ["org", "closed_at"],
                    postgresql_include=["sop", "result", "on_time", "working_minutes"],
                    postgresql_where=sa.text("closed_at IS NOT NULL"))
    op.create_index("ix_report_cases_open", "report_cases", ["org", "received_at"], postgresql_include=["sop"],
                    postgresql_where=sa.text("closed_at IS NULL"))
    op.create_index("ix_report_steps_done", "report_steps", ["org", "completed_at"],
                    postgresql_include=["sop", "step", "unit", "on_time", "kind", "working_minutes"])


def downgrade() -> None:
    op.drop_table("report_steps")
    op.drop_table("report_cases")
