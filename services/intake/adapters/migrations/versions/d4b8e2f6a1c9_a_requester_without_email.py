"""a requester without an email: a telephone or walk-in caller with a phone only, or planned work

Revision ID: d4b8e2f6a1c9
Revises: a9c4e7b1d2f3
Create Date: 2026-12-03 15:50:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'd4b8e2f6a1c9'
down_revision = 'a9c4e7b1d2f3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column('requests', 'requester_email', existing_type=sa.String(length=254), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE requests SET requester_email = '' WHERE requester_email IS NULL")
    op.alter_column('requests', 'requester_email', existing_type=sa.String(length=254), nullable=False)
