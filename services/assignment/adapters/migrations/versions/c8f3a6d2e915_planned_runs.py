"""planned work: one run per SOP and period

Revision ID: c8f3a6d2e915
Revises: a4e9c2f7d1b8
Create Date: 2026-12-03 15:45:00.000000
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = 'c8f3a6d2e915'
down_revision = 'a4e9c2f7d1b8'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('planned_runs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('sop', sa.String(length=100), nullable=False),
    sa.Column('period', sa.String(length=20), nullable=False),
    sa.Column('planned_on', sa.Date(), nullable=False),
    sa.Column('opens_on', sa.Date(), nullable=False),
    sa.Column('tracking_code', sa.String(length=32), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_planned_runs')),
    sa.UniqueConstraint('sop', 'period', name='uq_planned_runs_sop_period'),
    sa.UniqueConstraint('tracking_code', name=op.f('uq_planned_runs_tracking_code'))
    )


def downgrade() -> None:
    op.drop_table('planned_runs')
