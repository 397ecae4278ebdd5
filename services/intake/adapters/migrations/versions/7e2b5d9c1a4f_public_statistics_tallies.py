"""the public service statistics' read model: requests counted by organisation, Bangkok day, SOP
and measure (``request_tallies``: received, completed, closed on time, late, without a deadline)
and satisfaction answers by organisation, Bangkok day, SOP and score (``survey_tallies``), kept by
the database's triggers as each request and answer is stored, changed or removed, and filled from
the rows by this migration: GET /intake/statistics sums at most a year of days, never the requests

Revision ID: 7e2b5d9c1a4f
Revises: d4b8e2f6a1c9
Create Date: 2026-12-22 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '7e2b5d9c1a4f'
down_revision = 'd4b8e2f6a1c9'
branch_labels = None
depends_on = None

# What one request counts for, and on which Bangkok day: the rule written once, used by the
# trigger (a row's counts taken away, its new ones added) and by the backfill below.
# * received: on the day it was received;
# * a closed request (status closed, closed_at set), on the day it closed: completed when its
#   result is, and exactly one of closed_on_time (closed_at <= due_at), closed_late, or
#   closed_no_deadline (no due_at: left out of the on-time share).
# A case opened again (a later event says open) no longer counts as closed; closed again, it
# counts on its new day.
# It takes the row's columns, not the row: PostgreSQL 15 fails to plan an inlined function of a
# whole row shaped so ("variable not found in subplan target list"); and it has no SET
# search_path (it reads no table), so that PostgreSQL may inline it where it is called.
MEASURES = """
CREATE FUNCTION sopdesk_request_measures(received timestamptz, state text, closed timestamptz, outcome text,
                                         due timestamptz)
RETURNS TABLE (day date, measure text) LANGUAGE sql STABLE AS $$
    SELECT (received AT TIME ZONE 'Asia/Bangkok')::date, 'received'::text
    UNION ALL
    SELECT (closed AT TIME ZONE 'Asia/Bangkok')::date, m.measure
    FROM (VALUES ('completed', outcome = 'completed'),
                 ('closed_on_time', due IS NOT NULL AND closed <= due),
                 ('closed_late', due IS NOT NULL AND closed > due),
                 ('closed_no_deadline', due IS NULL)) AS m (measure, counts)
    WHERE state = 'closed' AND closed IS NOT NULL AND m.counts
$$;
"""

# One upsert per changed counter, in the transaction of the change (a filing, a case event, an
# answer): the row lock a counter takes is held to the end of that one short transaction. An
# update changes only the counters whose count differs (closing a case leaves its "received"
# alone), in one statement.
TRIGGERS = """
CREATE FUNCTION sopdesk_survey_tally(request_sop text, answered timestamptz, given integer, delta integer)
RETURNS void LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO survey_tallies (org, day, sop, score, n)
    VALUES (split_part(request_sop, '/', 1), (answered AT TIME ZONE 'Asia/Bangkok')::date, request_sop, given, delta)
    ON CONFLICT (org, day, sop, score) DO UPDATE SET n = survey_tallies.n + EXCLUDED.n;
END $$;

CREATE FUNCTION sopdesk_request_tallies() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    answer record;
BEGIN
    -- the row's counts before (none for an insert) taken away, after (none for a delete) added
    INSERT INTO request_tallies (org, day, sop, measure, n)
    SELECT split_part(c.sop, '/', 1), c.day, c.sop, c.measure, sum(c.delta)::integer
    FROM (SELECT OLD.sop AS sop, m.day, m.measure, -1 AS delta
          FROM sopdesk_request_measures(OLD.received_at, OLD.status, OLD.closed_at, OLD.result, OLD.due_at) m
          WHERE TG_OP <> 'INSERT'
          UNION ALL
          SELECT NEW.sop, m.day, m.measure, 1
          FROM sopdesk_request_measures(NEW.received_at, NEW.status, NEW.closed_at, NEW.result, NEW.due_at) m
          WHERE TG_OP <> 'DELETE') c
    GROUP BY c.sop, c.day, c.measure HAVING sum(c.delta) <> 0
    ON CONFLICT (org, day, sop, measure) DO UPDATE SET n = request_tallies.n + EXCLUDED.n;
    IF TG_OP = 'DELETE' THEN
        -- BEFORE DELETE: the request's answer (removed after it by the foreign key's cascade, when
        -- the request is no longer there to name its SOP) is taken away here, while both are seen
        FOR answer IN SELECT s.answered_at, s.score FROM survey_answers s WHERE s.request_id = OLD.id LOOP
            PERFORM sopdesk_survey_tally(OLD.sop, answer.answered_at, answer.score, -1);
        END LOOP;
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.sop IS DISTINCT FROM NEW.sop THEN  -- never done by sopdesk; kept right all the same
        FOR answer IN SELECT s.answered_at, s.score FROM survey_answers s WHERE s.request_id = NEW.id LOOP
            PERFORM sopdesk_survey_tally(OLD.sop, answer.answered_at, answer.score, -1);
            PERFORM sopdesk_survey_tally(NEW.sop, answer.answered_at, answer.score, 1);
        END LOOP;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER requests_tallies_insert AFTER INSERT ON requests
    FOR EACH ROW EXECUTE FUNCTION sopdesk_request_tallies();
-- most updates of a request are a case event moving its current step: only a change of what it
-- counts for runs the function. The PDPA's erasure rewrites the requester's words (name, email,
-- phone, subject, details, form fields) and keeps the row with its SOP, days, status, result and
-- deadline: the figures hold no personal data and stay as they were (the score stays too)
CREATE TRIGGER requests_tallies_update AFTER UPDATE OF sop, received_at, status, closed_at, result, due_at
    ON requests FOR EACH ROW
    WHEN (OLD.sop IS DISTINCT FROM NEW.sop OR OLD.received_at IS DISTINCT FROM NEW.received_at
          OR OLD.status IS DISTINCT FROM NEW.status OR OLD.closed_at IS DISTINCT FROM NEW.closed_at
          OR OLD.result IS DISTINCT FROM NEW.result OR OLD.due_at IS DISTINCT FROM NEW.due_at)
    EXECUTE FUNCTION sopdesk_request_tallies();
-- sopdesk removes no request (erasure anonymises it); one removed takes its counts with it
CREATE TRIGGER requests_tallies_delete BEFORE DELETE ON requests
    FOR EACH ROW EXECUTE FUNCTION sopdesk_request_tallies();

CREATE FUNCTION sopdesk_survey_tallies() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    request_sop text;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT r.sop INTO request_sop FROM requests r WHERE r.id = OLD.request_id;
        IF FOUND THEN  -- not found: removed with its request, whose trigger took the score away
            PERFORM sopdesk_survey_tally(request_sop, OLD.answered_at, OLD.score, -1);
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT r.sop INTO request_sop FROM requests r WHERE r.id = NEW.request_id;
        PERFORM sopdesk_survey_tally(request_sop, NEW.answered_at, NEW.score, 1);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER survey_answers_tallies AFTER INSERT OR DELETE OR UPDATE OF request_id, score, answered_at
    ON survey_answers FOR EACH ROW EXECUTE FUNCTION sopdesk_survey_tallies();
"""

BACKFILL = """
INSERT INTO request_tallies (org, day, sop, measure, n)
    SELECT split_part(r.sop, '/', 1), m.day, r.sop, m.measure, count(*)
    FROM requests r
    CROSS JOIN LATERAL sopdesk_request_measures(r.received_at, r.status, r.closed_at, r.result, r.due_at) m
    GROUP BY 1, 2, 3, 4;
INSERT INTO survey_tallies (org, day, sop, score, n)
    SELECT split_part(r.sop, '/', 1), (s.answered_at AT TIME ZONE 'Asia/Bangkok')::date, r.sop, s.score, count(*)
    FROM survey_answers s JOIN requests r ON r.id = s.request_id
    GROUP BY 1, 2, 3, 4;
"""


def upgrade() -> None:
    op.create_table(
        "request_tallies",
        sa.Column("org", sa.String(50), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sop", sa.String(100), nullable=False),
        sa.Column("measure", sa.String(20), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("org", "day", "sop", "measure", name=op.f("pk_request_tallies")),
    )
    op.create_table(
        "survey_tallies",
        sa.Column("org", sa.String(50), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sop", sa.String(100), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("org", "day", "sop", "score", name=op.f("pk_survey_tallies")),
    )
    op.execute(MEASURES)
    # filled before the triggers exist, in the migration's one transaction: alembic runs it while
    # nothing is filed (the services start after `sopdesk migrate`)
    op.execute(BACKFILL)
    op.execute(TRIGGERS)


def downgrade() -> None:
    op.execute("DROP TRIGGER survey_answers_tallies ON survey_answers")
    op.execute("DROP FUNCTION sopdesk_survey_tallies()")
    op.execute("DROP TRIGGER requests_tallies_delete ON requests")
    op.execute("DROP TRIGGER requests_tallies_update ON requests")
    op.execute("DROP TRIGGER requests_tallies_insert ON requests")
    op.execute("DROP FUNCTION sopdesk_request_tallies()")
    op.execute("DROP FUNCTION sopdesk_survey_tally(text, timestamptz, integer, integer)")
    op.execute("DROP FUNCTION sopdesk_request_measures(timestamptz, text, timestamptz, text, timestamptz)")
    op.drop_table("survey_tallies")
    op.drop_table("request_tallies")
