"""erasure requests (PDPA): the cases, the deadline, the services' confirmations

Revision ID: f4a8c2e6b913
Revises: 3daffd30bef8
Create Date: 2026-12-20 09:00:00
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = 'f4a8c2e6b913'
down_revision = '3daffd30bef8'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('erasure_requests',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('org', sa.String(length=50), nullable=True),
    sa.Column('person', sa.String(length=64), nullable=True),
    sa.Column('tracking_codes', sa.JSON(), nullable=False),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('requested_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('confirmations', sa.JSON(), nullable=False),
    sa.Column('completed_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasure_requests'))
    )
    op.create_index(op.f('ix_erasure_requests_org'), 'erasure_requests', ['org'], unique=False)
    op.create_index(op.f('ix_erasure_requests_person'), 'erasure_requests', ['person'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_erasure_requests_person'), table_name='erasure_requests')
    op.drop_index(op.f('ix_erasure_requests_org'), table_name='erasure_requests')
    op.drop_table('erasure_requests')
