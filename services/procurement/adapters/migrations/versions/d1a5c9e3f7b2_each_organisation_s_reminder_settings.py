"""each organisation's milestone reminder settings, as assignment announced them
(org.reminders_changed): when the reminders go out and how many working days ahead

Revision ID: d1a5c9e3f7b2
Revises: b8f2d6a4c1e9
Create Date: 2026-12-04 02:50:00
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = 'd1a5c9e3f7b2'
down_revision = 'b8f2d6a4c1e9'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'org_reminders',
        sa.Column('org', sa.String(length=50), nullable=False),
        sa.Column('reminders_at', sa.String(length=5), nullable=True),
        sa.Column('reminder_days', sa.JSON(), nullable=True),
        sa.Column('changed_at', shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('org'),
    )


def downgrade() -> None:
    op.drop_table('org_reminders')
