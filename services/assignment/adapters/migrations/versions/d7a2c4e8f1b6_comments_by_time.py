"""the answers that carry a comment, by time: the reports' newest comments of a period are read
backwards from the period's end instead of scanning every answer

Revision ID: d7a2c4e8f1b6
Revises: 81bc6d5bc644
Create Date: 2026-12-03 23:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'd7a2c4e8f1b6'
down_revision = '81bc6d5bc644'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_survey_scores_commented_at", "survey_scores", ["answered_at"],
                    postgresql_where=sa.text("comment <> ''"))


def downgrade() -> None:
    op.drop_index("ix_survey_scores_commented_at", table_name="survey_scores")
