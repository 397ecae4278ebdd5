"""deliveries belong to an organisation (the case's, or the staff member's), for the mail log's walls

Revision ID: d7e3b1a9c2f4
Revises: 3cfd1a0a976a
Create Date: 2026-12-03 12:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'd7e3b1a9c2f4'
down_revision = '3cfd1a0a976a'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # mail sent before has no organisation recorded: only a system administrator reads it
    op.add_column("deliveries", sa.Column("org", sa.String(length=50), nullable=True))
    op.create_index(op.f("ix_deliveries_org"), "deliveries", ["org"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_deliveries_org"), table_name="deliveries")
    op.drop_column("deliveries", "org")
