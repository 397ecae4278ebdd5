"""acceptances keep the day the member signed

Revision ID: b8f2d6a4c1e9
Revises: 7b3e9d1f5a28
Create Date: 2026-12-03 23:59:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'b8f2d6a4c1e9'
down_revision = '7b3e9d1f5a28'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('acceptances', sa.Column('signed_on', sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column('acceptances', 'signed_on')
