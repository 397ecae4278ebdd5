"""cases are found by a search over their text (trigrams, which work for Thai), and lists of
cases read by index at a million cases

Revision ID: b7d2e5f8a1c3
Revises: e7b2c9d4f1a6
Create Date: 2026-12-03 15:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'b7d2e5f8a1c3'
down_revision = 'e7b2c9d4f1a6'
branch_labels = None
depends_on = None

BATCH = 2000


def upgrade() -> None:
    from services.assignment.domain import search

    connection = op.get_bind()
    op.add_column("cases", sa.Column("search_text", sa.Text(), server_default="", nullable=False))
    # the cases already open or closed get their text as new ones do (domain.search.document)
    cases = sa.table("cases", sa.column("id", sa.String), sa.column("tracking_code", sa.String),
                     sa.column("subject", sa.String), sa.column("details", sa.Text),
                     sa.column("requester_name", sa.String), sa.column("requester_unit", sa.String),
                     sa.column("fields", sa.JSON), sa.column("search_text", sa.Text))
    last = ""
    while True:
        rows = connection.execute(sa.select(cases).where(cases.c.id > last).order_by(cases.c.id).limit(BATCH)).all()
        if not rows:
            break
        for row in rows:
            connection.execute(cases.update().where(cases.c.id == row.id).values(search_text=search.document(
                row.tracking_code, row.subject, row.details, row.requester_name, row.requester_unit, row.fields)))
        last = rows[-1].id
    # pg_trgm ships with PostgreSQL (contrib; the embedded server's wheel has it) and is a trusted
    # extension: the database's owner may create it. Made in this service's schema when no
    # service has made it yet; its operator class is named with the schema it is in.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema = connection.scalar(sa.text("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                                       "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"))
    op.execute(f'CREATE INDEX ix_cases_search_trgm ON cases USING gin (search_text "{schema}".gin_trgm_ops)')
    # the lists' orders with the id that breaks ties: a page's ids come from the index alone
    op.create_index("ix_cases_org_opened_id", "cases", ["org", "opened_at", "id"])
    op.drop_index("ix_cases_org_opened", table_name="cases")
    op.create_index("ix_cases_org_received_id", "cases", ["org", "received_at", "id"])
    op.create_index("ix_cases_opened_id", "cases", ["opened_at", "id"])
    op.create_index("ix_cases_org_status_opened", "cases", ["org", "status", "opened_at", "id"])
    op.create_index("ix_case_steps_open_unassigned", "case_steps", ["role"],
                    postgresql_where=sa.text("status = 'active' AND assignee IS NULL"))
    # the cases whose team someone is on (cases.visible_to asks team::jsonb @> '["name"]')
    op.execute("CREATE INDEX ix_cases_team ON cases USING gin ((team::jsonb) jsonb_path_ops)")


def downgrade() -> None:
    op.execute("DROP INDEX ix_cases_team")
    op.drop_index("ix_case_steps_open_unassigned", table_name="case_steps")
    op.drop_index("ix_cases_org_status_opened", table_name="cases")
    op.drop_index("ix_cases_opened_id", table_name="cases")
    op.drop_index("ix_cases_org_received_id", table_name="cases")
    op.create_index("ix_cases_org_opened", "cases", ["org", "opened_at"])
    op.drop_index("ix_cases_org_opened_id", table_name="cases")
    op.drop_index("ix_cases_search_trgm", table_name="cases")
    op.drop_column("cases", "search_text")
