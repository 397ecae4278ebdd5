"""events owed to each subscriber until confirmed

Revision ID: 27097c25636d
Revises: 6b8ce97b84b3
Create Date: 2026-12-02 19:52:09.358868
"""
from alembic import op

from shared.messaging import create_owed_table, drop_owed_table


revision = '27097c25636d'
down_revision = '6b8ce97b84b3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_owed_table(op)


def downgrade() -> None:
    drop_owed_table(op)
