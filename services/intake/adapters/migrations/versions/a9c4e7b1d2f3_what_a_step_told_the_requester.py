"""what a step told the requester: its message, its files, the choices of their own step

Revision ID: a9c4e7b1d2f3
Revises: 1a7c3e5f9b20
Create Date: 2026-12-03 15:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'a9c4e7b1d2f3'
down_revision = '1a7c3e5f9b20'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('request_steps', sa.Column('message', sa.Text(), nullable=True))
    op.add_column('request_steps', sa.Column('files', sa.JSON(), nullable=False, server_default='[]'))
    op.add_column('request_steps', sa.Column('choices', sa.JSON(), nullable=False, server_default='[]'))
    op.alter_column('request_steps', 'files', server_default=None)
    op.alter_column('request_steps', 'choices', server_default=None)


def downgrade() -> None:
    op.drop_column('request_steps', 'choices')
    op.drop_column('request_steps', 'files')
    op.drop_column('request_steps', 'message')
