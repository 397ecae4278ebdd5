"""contact subject and sop title

Revision ID: 4c2e9a7d1b35
Revises: 89f58d61a053
Create Date: 2026-11-24 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '4c2e9a7d1b35'
down_revision = '89f58d61a053'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('contacts', sa.Column('subject', sa.String(length=300), nullable=True))
    op.add_column('contacts', sa.Column('sop_title', sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column('contacts', 'sop_title')
    op.drop_column('contacts', 'subject')
