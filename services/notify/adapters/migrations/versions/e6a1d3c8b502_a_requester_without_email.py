"""a requester without an email (a caller with a phone only, or planned work): nobody to write to

Revision ID: e6a1d3c8b502
Revises: 3c9e5a7b1d42
Create Date: 2026-12-03 15:50:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'e6a1d3c8b502'
down_revision = '3c9e5a7b1d42'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column('contacts', 'email', existing_type=sa.String(length=254), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE contacts SET email = '' WHERE email IS NULL")
    op.alter_column('contacts', 'email', existing_type=sa.String(length=254), nullable=False)
