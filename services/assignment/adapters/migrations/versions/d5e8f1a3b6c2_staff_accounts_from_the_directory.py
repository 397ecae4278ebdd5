"""staff accounts from the directory: where each comes from (local, ldap, oidc) and the directory's id of it

Revision ID: d5e8f1a3b6c2
Revises: c4a1e2b7d9f0
Create Date: 2026-12-03 12:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'd5e8f1a3b6c2'
down_revision = 'c4a1e2b7d9f0'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("source", sa.String(length=10), server_default="local", nullable=False))
    op.add_column("users", sa.Column("external_id", sa.String(length=255), nullable=True))
    op.create_unique_constraint("uq_users_source_external_id", "users", ["source", "external_id"])


def downgrade() -> None:
    op.drop_constraint("uq_users_source_external_id", "users", type_="unique")
    op.drop_column("users", "external_id")
    op.drop_column("users", "source")
