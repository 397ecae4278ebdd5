"""an organisation's milestone reminder settings (org_settings.reminders_at, reminder_days):
when its reminders go out and how many working days ahead; None, the configuration's

Revision ID: c5d9f3a7e2b8
Revises: a4c8e2f6b1d3
Create Date: 2026-12-04 02:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'c5d9f3a7e2b8'
down_revision = 'a4c8e2f6b1d3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('org_settings', sa.Column('reminders_at', sa.String(length=5), nullable=True))
    op.add_column('org_settings', sa.Column('reminder_days', sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column('org_settings', 'reminder_days')
    op.drop_column('org_settings', 'reminders_at')
