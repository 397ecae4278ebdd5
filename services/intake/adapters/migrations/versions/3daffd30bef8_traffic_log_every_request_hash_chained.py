"""traffic log: every request, hash-chained

Revision ID: 3daffd30bef8
Revises: cdfef9ec1162
Create Date: 2026-12-03 10:32:55.657375
"""
from alembic import op

from shared.traffic_log import create_traffic_tables, drop_traffic_tables


revision = '3daffd30bef8'
down_revision = 'cdfef9ec1162'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_traffic_tables(op)


def downgrade() -> None:
    drop_traffic_tables(op)
