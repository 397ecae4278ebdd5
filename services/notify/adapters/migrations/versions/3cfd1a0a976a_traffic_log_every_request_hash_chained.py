"""traffic log: every request, hash-chained

Revision ID: 3cfd1a0a976a
Revises: b3d1f0c2a9e4
Create Date: 2026-12-03 10:33:01.047350
"""
from alembic import op

from shared.traffic_log import create_traffic_tables, drop_traffic_tables


revision = '3cfd1a0a976a'
down_revision = 'b3d1f0c2a9e4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_traffic_tables(op)


def downgrade() -> None:
    drop_traffic_tables(op)
