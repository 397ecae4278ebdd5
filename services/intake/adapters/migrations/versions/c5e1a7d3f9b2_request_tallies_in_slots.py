"""request_tallies in slots: each counter is kept as up to eight rows (``slot``), and a change is
added to the slot of the database connection that makes it (its backend's process id, modulo 8),
so that requests filed at the same moment for the same SOP no longer queue for one row

Before, every filing of an SOP on one day upserted the same ``received`` row in its trigger, and
held that row's lock until its commit: concurrent filings waited on each other's commit, and the
waits and the row's versions cost PostgreSQL more than the rest of the filing's statement (measured
with eight connections filing at once: 0.57-0.67 CPU-ms per filing with the one row, 0.40-0.43 in
slots, 0.33-0.37 with no tally at all). A count is the sum of its slots (what the statistics'
query already sums); a slot may go below zero (a case closed on another connection than the one
that counted it received), never the sum.

Revision ID: c5e1a7d3f9b2
Revises: b3e7d1f9a2c4
Create Date: 2026-12-04 19:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'c5e1a7d3f9b2'
down_revision = 'b3e7d1f9a2c4'
branch_labels = None
depends_on = None

# the trigger function of 7e2b5d9c1a4f, the counts written to the connection's slot (one of 8)
REQUEST_TALLIES = """
CREATE OR REPLACE FUNCTION sopdesk_request_tallies() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    answer record;
BEGIN
    -- the row's counts before (none for an insert) taken away, after (none for a delete) added
    -- (in this connection's slot of each counter: connections filing at once seldom share a row)
    INSERT INTO request_tallies (org, day, sop, measure, slot, n)
    SELECT split_part(c.sop, '/', 1), c.day, c.sop, c.measure, mod(pg_backend_pid(), 8), sum(c.delta)::integer
    FROM (SELECT OLD.sop AS sop, m.day, m.measure, -1 AS delta
          FROM sopdesk_request_measures(OLD.received_at, OLD.status, OLD.closed_at, OLD.result, OLD.due_at) m
          WHERE TG_OP <> 'INSERT'
          UNION ALL
          SELECT NEW.sop, m.day, m.measure, 1
          FROM sopdesk_request_measures(NEW.received_at, NEW.status, NEW.closed_at, NEW.result, NEW.due_at) m
          WHERE TG_OP <> 'DELETE') c
    GROUP BY c.sop, c.day, c.measure HAVING sum(c.delta) <> 0
    ON CONFLICT (org, day, sop, measure, slot) DO UPDATE SET n = request_tallies.n + EXCLUDED.n;
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
"""


def upgrade() -> None:
    op.add_column("request_tallies", sa.Column("slot", sa.SmallInteger(), server_default="0", nullable=False))
    op.drop_constraint("pk_request_tallies", "request_tallies", type_="primary")
    op.create_primary_key("pk_request_tallies", "request_tallies", ["org", "day", "sop", "measure", "slot"])
    op.execute(REQUEST_TALLIES)


def downgrade() -> None:
    op.execute("""
        CREATE TEMPORARY TABLE folded ON COMMIT DROP AS
            SELECT org, day, sop, measure, sum(n)::integer AS n FROM request_tallies GROUP BY 1, 2, 3, 4;
        DELETE FROM request_tallies;
    """)
    op.drop_constraint("pk_request_tallies", "request_tallies", type_="primary")
    op.drop_column("request_tallies", "slot")
    op.create_primary_key("pk_request_tallies", "request_tallies", ["org", "day", "sop", "measure"])
    op.execute("INSERT INTO request_tallies (org, day, sop, measure, n) SELECT org, day, sop, measure, n FROM folded")
    op.execute(without_slots(REQUEST_TALLIES))


def without_slots(function: str) -> str:
    """The trigger function as 7e2b5d9c1a4f wrote it: every count in the counter's one row."""
    old = (function.replace("(org, day, sop, measure, slot, n)", "(org, day, sop, measure, n)")
           .replace(" mod(pg_backend_pid(), 8),", "")
           .replace("(org, day, sop, measure, slot) DO UPDATE", "(org, day, sop, measure) DO UPDATE")
           .replace("\n    -- (in this connection's slot of each counter: connections filing at once seldom share a "
                    "row)", ""))
    assert "slot" not in old, old
    return old
