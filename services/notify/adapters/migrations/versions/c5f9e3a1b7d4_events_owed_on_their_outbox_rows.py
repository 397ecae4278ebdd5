"""what an event is still owed to, on its outbox row (``shared.messaging.fold_owed_into_outbox``)

Revision ID: c5f9e3a1b7d4
Revises: f2b8d4a6c1e3
Create Date: 2026-12-04 21:30:00
"""
from alembic import op

from shared.messaging import fold_owed_into_outbox, unfold_owed_from_outbox

revision = 'c5f9e3a1b7d4'
down_revision = 'f2b8d4a6c1e3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    fold_owed_into_outbox(op)


def downgrade() -> None:
    unfold_owed_from_outbox(op)
