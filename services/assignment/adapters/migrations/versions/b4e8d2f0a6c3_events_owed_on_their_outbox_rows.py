"""what an event is still owed to, on its outbox row (``shared.messaging.fold_owed_into_outbox``)

Revision ID: b4e8d2f0a6c3
Revises: c5d9f3a7e2b8
Create Date: 2026-12-04 21:30:00
"""
from alembic import op

from shared.messaging import fold_owed_into_outbox, unfold_owed_from_outbox

revision = 'b4e8d2f0a6c3'
down_revision = 'c5d9f3a7e2b8'
branch_labels = None
depends_on = None


def upgrade() -> None:
    fold_owed_into_outbox(op)


def downgrade() -> None:
    unfold_owed_from_outbox(op)
