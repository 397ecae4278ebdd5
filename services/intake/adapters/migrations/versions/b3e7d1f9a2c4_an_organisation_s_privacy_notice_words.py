"""an organisation's own words in its privacy notice (privacy_notice_texts): whom to ask, and a
paragraph of its own in Thai and English, set by its administrators

Revision ID: b3e7d1f9a2c4
Revises: 7e2b5d9c1a4f
Create Date: 2026-12-04 02:10:00
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = 'b3e7d1f9a2c4'
down_revision = '7e2b5d9c1a4f'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'privacy_notice_texts',
        sa.Column('org', sa.String(length=50), nullable=False),
        sa.Column('contact', sa.Text(), nullable=False),
        sa.Column('extra_th', sa.Text(), nullable=False),
        sa.Column('extra_en', sa.Text(), nullable=False),
        sa.Column('updated_by', sa.String(length=100), nullable=False),
        sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('org'),
    )


def downgrade() -> None:
    op.drop_table('privacy_notice_texts')
