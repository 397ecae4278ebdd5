"""people as assignment announces them (staff.person_changed): each staff account's organisation,
for the check that a project's officer and committee members are its own people (procurement read
assignment's tables for it before: no service reads another's)

Revision ID: 5e1a7c9d3b64
Revises: 4d0f6b8c2e53
Create Date: 2026-12-03 14:05:00
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = '5e1a7c9d3b64'
down_revision = '4d0f6b8c2e53'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # filled by the events; after this upgrade, `sopdesk users announce` says who everyone is
    op.create_table(
        "people",
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("org", sa.String(length=50), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("changed_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_people")),
    )


def downgrade() -> None:
    op.drop_table("people")
