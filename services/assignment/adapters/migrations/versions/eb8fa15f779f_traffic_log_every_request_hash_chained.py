"""traffic log: every request, hash-chained

Revision ID: eb8fa15f779f
Revises: 7c03eff18f8f
Create Date: 2026-12-03 10:32:58.626953
"""
from alembic import op

from shared.traffic_log import create_traffic_tables, drop_traffic_tables


revision = 'eb8fa15f779f'
down_revision = '7c03eff18f8f'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_traffic_tables(op)


def downgrade() -> None:
    drop_traffic_tables(op)
