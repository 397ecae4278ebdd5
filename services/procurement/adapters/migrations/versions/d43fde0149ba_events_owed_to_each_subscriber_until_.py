"""events owed to each subscriber until confirmed

Revision ID: d43fde0149ba
Revises: c3f1a9e2b7d4
Create Date: 2026-12-02 19:52:11.687556
"""
from alembic import op

from shared.messaging import create_owed_table, drop_owed_table


revision = 'd43fde0149ba'
down_revision = 'c3f1a9e2b7d4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_owed_table(op)


def downgrade() -> None:
    drop_owed_table(op)
