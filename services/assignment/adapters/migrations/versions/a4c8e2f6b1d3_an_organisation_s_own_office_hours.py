"""an organisation's own settings (org_settings): its office hours, set by its administrators,
which its cases' working time counts (None: the configuration's)

Revision ID: a4c8e2f6b1d3
Revises: f2a9c6e1d4b7
Create Date: 2026-12-04 02:30:00
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = 'a4c8e2f6b1d3'
down_revision = 'f2a9c6e1d4b7'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'org_settings',
        sa.Column('org', sa.String(length=50), nullable=False),
        sa.Column('office_hours', sa.String(length=11), nullable=True),
        sa.Column('updated_by', sa.String(length=100), nullable=False),
        sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('org'),
    )


def downgrade() -> None:
    op.drop_table('org_settings')
