"""events owed to each subscriber until confirmed

Revision ID: cdfef9ec1162
Revises: eb0d90e71420
Create Date: 2026-12-02 19:52:08.224371
"""
from alembic import op
import sqlalchemy as sa
import shared.db
from shared.messaging import backfill_owed


revision = 'cdfef9ec1162'
down_revision = 'eb0d90e71420'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox_owed',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('subscriber', sa.String(length=40), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('correlation_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('due_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sends', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('event_id', 'subscriber', name=op.f('pk_outbox_owed'))
    )
    op.create_index('ix_outbox_owed_due_at', 'outbox_owed', ['due_at'], unique=False)
    backfill_owed(op.get_bind())


def downgrade() -> None:
    op.drop_index('ix_outbox_owed_due_at', table_name='outbox_owed')
    op.drop_table('outbox_owed')
