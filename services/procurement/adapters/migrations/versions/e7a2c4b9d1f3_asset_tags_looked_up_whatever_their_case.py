"""asset tags looked up whatever their case

Revision ID: e7a2c4b9d1f3
Revises: d43fde0149ba
Create Date: 2026-12-03 04:20:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'e7a2c4b9d1f3'
down_revision = 'd43fde0149ba'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_assets_tag_lower', 'assets', [sa.text('lower(tag)')], unique=False)


def downgrade() -> None:
    op.drop_index('ix_assets_tag_lower', table_name='assets')
