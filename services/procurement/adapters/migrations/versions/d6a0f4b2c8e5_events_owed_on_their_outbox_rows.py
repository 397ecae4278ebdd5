"""what an event is still owed to, on its outbox row (``shared.messaging.fold_owed_into_outbox``)

Revision ID: d6a0f4b2c8e5
Revises: d1a5c9e3f7b2
Create Date: 2026-12-04 21:30:00
"""
from alembic import op

from shared.messaging import fold_owed_into_outbox, unfold_owed_from_outbox

revision = 'd6a0f4b2c8e5'
down_revision = 'd1a5c9e3f7b2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    fold_owed_into_outbox(op)


def downgrade() -> None:
    unfold_owed_from_outbox(op)
