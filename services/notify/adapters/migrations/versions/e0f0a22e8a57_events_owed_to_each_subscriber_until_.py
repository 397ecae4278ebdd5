"""events owed to each subscriber until confirmed

Revision ID: e0f0a22e8a57
Revises: 4c2e9a7d1b35
Create Date: 2026-12-02 19:52:10.406348
"""
from alembic import op

from shared.messaging import create_owed_table, drop_owed_table


revision = 'e0f0a22e8a57'
down_revision = '4c2e9a7d1b35'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_owed_table(op)


def downgrade() -> None:
    drop_owed_table(op)
