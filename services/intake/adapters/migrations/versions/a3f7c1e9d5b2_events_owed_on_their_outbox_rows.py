"""what an event is still owed to, on its outbox row (``shared.messaging.fold_owed_into_outbox``)

Revision ID: a3f7c1e9d5b2
Revises: c5e1a7d3f9b2
Create Date: 2026-12-04 21:30:00
"""
from alembic import op

from shared.messaging import fold_owed_into_outbox, unfold_owed_from_outbox

revision = 'a3f7c1e9d5b2'
down_revision = 'c5e1a7d3f9b2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    fold_owed_into_outbox(op)


def downgrade() -> None:
    unfold_owed_from_outbox(op)
