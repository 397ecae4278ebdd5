"""lists of cases a person keeps under a name of their own (the desk's saved lists)

Revision ID: a7c2e9f4d1b3
Revises: f6d1a8c3e2b7
Create Date: 2026-12-03 19:10:00
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = 'a7c2e9f4d1b3'
down_revision = 'f6d1a8c3e2b7'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saved_lists",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("query", sa.String(2000), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_saved_lists_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_lists")),
        sa.UniqueConstraint("user_id", "name", name="uq_saved_lists_user_name"),
    )
    op.create_index(op.f("ix_saved_lists_user_id"), "saved_lists", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_saved_lists_user_id"), table_name="saved_lists")
    op.drop_table("saved_lists")
