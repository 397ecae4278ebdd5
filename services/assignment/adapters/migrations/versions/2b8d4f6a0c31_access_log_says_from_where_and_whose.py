"""the access log says from where (the reader's address, or the command line) and whose (the
organisation the data is of), for the privacy officer's viewer

Revision ID: 2b8d4f6a0c31
Revises: d5e8f1a3b6c2
Create Date: 2026-12-03 13:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '2b8d4f6a0c31'
down_revision = 'd5e8f1a3b6c2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # reads logged before have neither: a system administrator's to read
    op.add_column("personal_data_access", sa.Column("address", sa.String(length=64), nullable=True))
    op.add_column("personal_data_access", sa.Column("org", sa.String(length=50), nullable=True))
    op.create_index("ix_personal_data_access_org_at", "personal_data_access", ["org", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_personal_data_access_org_at", table_name="personal_data_access")
    op.drop_column("personal_data_access", "org")
    op.drop_column("personal_data_access", "address")
