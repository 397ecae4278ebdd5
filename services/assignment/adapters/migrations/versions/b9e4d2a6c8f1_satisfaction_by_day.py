"""the satisfaction answers counted by organisation, SOP, unit, Bangkok day and score
(``survey_tallies``), kept by the database as each answer is stored: the satisfaction report
sums a fiscal year's days instead of reading every answer

Revision ID: b9e4d2a6c8f1
Revises: a7c2e9f4d1b3
Create Date: 2026-12-03 20:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'b9e4d2a6c8f1'
down_revision = 'a7c2e9f4d1b3'
branch_labels = None
depends_on = None

# an answer's key: its organisation (the SOP's pack), SOP, unit ('' for none), Bangkok day, score
FUNCTION = """
CREATE FUNCTION sopdesk_survey_tallies() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE survey_tallies SET n = n - 1
        WHERE org = split_part(OLD.sop, '/', 1) AND sop = OLD.sop AND unit = COALESCE(OLD.unit, '')
            AND day = (OLD.answered_at AT TIME ZONE 'Asia/Bangkok')::date AND score = OLD.score;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO survey_tallies (org, sop, unit, day, score, n)
        VALUES (split_part(NEW.sop, '/', 1), NEW.sop, COALESCE(NEW.unit, ''),
                (NEW.answered_at AT TIME ZONE 'Asia/Bangkok')::date, NEW.score, 1)
        ON CONFLICT (org, sop, unit, day, score) DO UPDATE SET n = survey_tallies.n + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER survey_scores_tallies AFTER INSERT OR DELETE OR UPDATE OF sop, unit, score, answered_at
    ON survey_scores FOR EACH ROW EXECUTE FUNCTION sopdesk_survey_tallies();
"""

BACKFILL = """
INSERT INTO survey_tallies (org, sop, unit, day, score, n)
    SELECT split_part(sop, '/', 1), sop, COALESCE(unit, ''), (answered_at AT TIME ZONE 'Asia/Bangkok')::date, score,
           count(*)
    FROM survey_scores GROUP BY 1, 2, 3, 4, 5;
"""


def upgrade() -> None:
    op.create_table(
        "survey_tallies",
        sa.Column("org", sa.String(50), nullable=False),
        sa.Column("sop", sa.String(100), nullable=False),
        sa.Column("unit", sa.String(100), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("org", "sop", "unit", "day", "score", name=op.f("pk_survey_tallies")),
    )
    op.create_index("ix_survey_tallies_day", "survey_tallies", ["day"])
    op.execute(BACKFILL)
    op.execute(FUNCTION)


def downgrade() -> None:
    op.execute("DROP TRIGGER survey_scores_tallies ON survey_scores")
    op.execute("DROP FUNCTION sopdesk_survey_tallies()")
    op.drop_index("ix_survey_tallies_day", table_name="survey_tallies")
    op.drop_table("survey_tallies")
