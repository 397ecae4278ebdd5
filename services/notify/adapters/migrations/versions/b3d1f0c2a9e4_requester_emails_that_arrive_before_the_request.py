"""requester emails that arrive before the request

Revision ID: b3d1f0c2a9e4
Revises: e0f0a22e8a57
Create Date: 2026-12-03 04:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = 'b3d1f0c2a9e4'
down_revision = 'e0f0a22e8a57'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('early_events',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('correlation_id', sa.String(length=64), nullable=False),
    sa.Column('occurred_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('envelope', sa.JSON(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_early_events'))
    )
    op.create_index(op.f('ix_early_events_correlation_id'), 'early_events', ['correlation_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_early_events_correlation_id'), table_name='early_events')
    op.drop_table('early_events')
