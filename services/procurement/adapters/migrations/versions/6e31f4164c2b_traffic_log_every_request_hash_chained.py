"""traffic log: every request, hash-chained

Revision ID: 6e31f4164c2b
Revises: e7a2c4b9d1f3
Create Date: 2026-12-03 10:33:04.453529
"""
from alembic import op

from shared.traffic_log import create_traffic_tables, drop_traffic_tables


revision = '6e31f4164c2b'
down_revision = 'e7a2c4b9d1f3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_traffic_tables(op)


def downgrade() -> None:
    drop_traffic_tables(op)
