"""events owed to each subscriber until confirmed

Revision ID: cdfef9ec1162
Revises: eb0d90e71420
Create Date: 2026-12-02 19:52:08.224371
"""
from alembic import op

from shared.messaging import create_owed_table, drop_owed_table


revision = 'cdfef9ec1162'
down_revision = 'eb0d90e71420'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_owed_table(op)


def downgrade() -> None:
    drop_owed_table(op)
