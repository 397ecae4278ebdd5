"""who took part in each case, and through which unit, and how many cases each list holds: the
read models a person's and a unit's lists and every list's total are read from (``case_people``,
``case_units``, ``case_tallies``), kept by the database itself

Revision ID: f6d1a8c3e2b7
Revises: e3b7c9a1f5d4
Create Date: 2026-12-03 19:00:00

A person sees the cases whose steps they hold or held, on whose trail they did anything, or whose
team they are on; a head, also those whose steps people of their unit held. Read from the steps,
the trail and the teams each time, those sets were a union of hundreds of thousands of index
entries at a million cases (an officer's whole list took a second, a head's nearly five). These
two tables hold each set once per case, written by triggers in the same transaction as the step,
the trail entry or the team that makes them (whatever code writes those), and never removed: a
case someone took part in stays theirs to see. A unit's row is written with the unit the person
was in when they were given the step: a head sees the work their unit did, and someone moving on
does not take their old unit's cases to the new one.

Counting a list of 400,000 cases by index took 70-80 ms on its own. ``case_tallies`` holds how many
cases each organisation has in all, by status, by result and by SOP, and how many each unit and
each person took part in: each change adds a row of +1/-1 to ``case_tally_changes`` (an insert
only, so that no two transactions ever wait on one counter), and beat folds those rows into
``case_tallies`` every minute (``assignment.fold_tallies``); a total is the sum of both.

The indexes the old way of reading those sets needed (the trail by actor, teams by member) go.
"""
import sqlalchemy as sa
from alembic import op

revision = 'f6d1a8c3e2b7'
down_revision = 'e3b7c9a1f5d4'
branch_labels = None
depends_on = None

FUNCTIONS = """
CREATE FUNCTION sopdesk_step_people() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO case_people (person, case_id, org) VALUES (NEW.assignee, NEW.case_id, NEW.org)
        ON CONFLICT DO NOTHING;
    INSERT INTO case_units (unit, case_id, org)
        SELECT u.unit, NEW.case_id, NEW.org FROM users u WHERE u.username = NEW.assignee AND u.unit IS NOT NULL
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE FUNCTION sopdesk_trail_people() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    -- the person who did it, and the person asked to decide (an 'asked' entry is the system's)
    INSERT INTO case_people (person, case_id, org)
        SELECT who.person, c.id, c.org FROM cases c,
            (VALUES (NEW.actor), (CASE WHEN NEW.kind = 'asked' THEN NEW.data::jsonb ->> 'person' END)) AS who (person)
        WHERE c.id = NEW.case_id AND who.person IS NOT NULL
            AND EXISTS (SELECT 1 FROM users u WHERE u.username = who.person)
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE FUNCTION sopdesk_team_people() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO case_people (person, case_id, org)
        SELECT DISTINCT member, NEW.id, NEW.org FROM jsonb_array_elements_text(COALESCE(NEW.team::jsonb, '[]')) AS member
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE FUNCTION sopdesk_case_tallies() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO case_tally_changes (org, dimension, value, n) VALUES
            (NEW.org, 'all', '', 1), (NEW.org, 'status', NEW.status, 1),
            (NEW.org, 'result', COALESCE(NEW.result, ''), 1), (NEW.org, 'sop', NEW.sop, 1);
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO case_tally_changes (org, dimension, value, n) VALUES
            (OLD.org, 'all', '', -1), (OLD.org, 'status', OLD.status, -1),
            (OLD.org, 'result', COALESCE(OLD.result, ''), -1), (OLD.org, 'sop', OLD.sop, -1);
    ELSE
        IF OLD.org IS DISTINCT FROM NEW.org THEN
            INSERT INTO case_tally_changes (org, dimension, value, n) VALUES
                (OLD.org, 'all', '', -1), (NEW.org, 'all', '', 1);
        END IF;
        IF OLD.org IS DISTINCT FROM NEW.org OR OLD.status IS DISTINCT FROM NEW.status THEN
            INSERT INTO case_tally_changes (org, dimension, value, n) VALUES
                (OLD.org, 'status', OLD.status, -1), (NEW.org, 'status', NEW.status, 1);
        END IF;
        IF OLD.org IS DISTINCT FROM NEW.org OR OLD.result IS DISTINCT FROM NEW.result THEN
            INSERT INTO case_tally_changes (org, dimension, value, n) VALUES
                (OLD.org, 'result', COALESCE(OLD.result, ''), -1), (NEW.org, 'result', COALESCE(NEW.result, ''), 1);
        END IF;
        IF OLD.org IS DISTINCT FROM NEW.org OR OLD.sop IS DISTINCT FROM NEW.sop THEN
            INSERT INTO case_tally_changes (org, dimension, value, n) VALUES
                (OLD.org, 'sop', OLD.sop, -1), (NEW.org, 'sop', NEW.sop, 1);
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION sopdesk_member_tallies() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_TABLE_NAME = 'case_people' THEN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO case_tally_changes (org, dimension, value, n) VALUES (NEW.org, 'person', NEW.person, 1);
        ELSE
            INSERT INTO case_tally_changes (org, dimension, value, n) VALUES (OLD.org, 'person', OLD.person, -1);
        END IF;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO case_tally_changes (org, dimension, value, n) VALUES (NEW.org, 'unit', NEW.unit, 1);
    ELSE
        INSERT INTO case_tally_changes (org, dimension, value, n) VALUES (OLD.org, 'unit', OLD.unit, -1);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER cases_tallies AFTER INSERT OR DELETE OR UPDATE OF org, status, result, sop ON cases
    FOR EACH ROW EXECUTE FUNCTION sopdesk_case_tallies();
CREATE TRIGGER case_people_tallies AFTER INSERT OR DELETE ON case_people
    FOR EACH ROW EXECUTE FUNCTION sopdesk_member_tallies();
CREATE TRIGGER case_units_tallies AFTER INSERT OR DELETE ON case_units
    FOR EACH ROW EXECUTE FUNCTION sopdesk_member_tallies();
CREATE TRIGGER case_steps_people AFTER INSERT OR UPDATE OF assignee ON case_steps
    FOR EACH ROW WHEN (NEW.assignee IS NOT NULL) EXECUTE FUNCTION sopdesk_step_people();
CREATE TRIGGER case_trail_people AFTER INSERT ON case_trail
    FOR EACH ROW EXECUTE FUNCTION sopdesk_trail_people();
CREATE TRIGGER cases_team_people AFTER INSERT OR UPDATE OF team ON cases
    FOR EACH ROW EXECUTE FUNCTION sopdesk_team_people();
"""

# the cases already there: the same sets, read once (in one statement each)
BACKFILL = """
INSERT INTO case_people (person, case_id, org)
    SELECT DISTINCT assignee, case_id, org FROM case_steps WHERE assignee IS NOT NULL
    ON CONFLICT DO NOTHING;
INSERT INTO case_people (person, case_id, org)
    SELECT DISTINCT t.actor, t.case_id, c.org FROM case_trail t JOIN cases c ON c.id = t.case_id
    WHERE t.actor IN (SELECT username FROM users)
    ON CONFLICT DO NOTHING;
INSERT INTO case_people (person, case_id, org)
    SELECT DISTINCT member, c.id, c.org FROM cases c, jsonb_array_elements_text(COALESCE(c.team::jsonb, '[]')) AS member
    ON CONFLICT DO NOTHING;
INSERT INTO case_units (unit, case_id, org)
    SELECT DISTINCT u.unit, s.case_id, s.org FROM case_steps s JOIN users u ON u.username = s.assignee
    WHERE u.unit IS NOT NULL
    ON CONFLICT DO NOTHING;
INSERT INTO case_tallies (org, dimension, value, n)
    SELECT org, 'all', '', count(*) FROM cases GROUP BY org
    UNION ALL SELECT org, 'status', status, count(*) FROM cases GROUP BY org, status
    UNION ALL SELECT org, 'result', COALESCE(result, ''), count(*) FROM cases GROUP BY org, COALESCE(result, '')
    UNION ALL SELECT org, 'sop', sop, count(*) FROM cases GROUP BY org, sop
    UNION ALL SELECT org, 'person', person, count(*) FROM case_people GROUP BY org, person
    UNION ALL SELECT org, 'unit', unit, count(*) FROM case_units GROUP BY org, unit;
"""


def upgrade() -> None:
    op.create_table(
        "case_people",
        sa.Column("person", sa.String(100), nullable=False),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("org", sa.String(50), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_people_case_id_cases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("person", "case_id", name=op.f("pk_case_people")),
    )
    op.create_index("ix_case_people_case", "case_people", ["case_id"])
    op.create_table(
        "case_units",
        sa.Column("unit", sa.String(100), nullable=False),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("org", sa.String(50), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_units_case_id_cases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("unit", "case_id", name=op.f("pk_case_units")),
    )
    op.create_index("ix_case_units_case", "case_units", ["case_id"])
    op.create_table(
        "case_tallies",
        sa.Column("org", sa.String(50), nullable=False),
        sa.Column("dimension", sa.String(20), nullable=False),
        sa.Column("value", sa.String(100), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("org", "dimension", "value", name=op.f("pk_case_tallies")),
    )
    op.create_table(
        "case_tally_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("org", sa.String(50), nullable=False),
        sa.Column("dimension", sa.String(20), nullable=False),
        sa.Column("value", sa.String(100), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_tally_changes")),
    )
    op.create_index("ix_case_tally_changes_key", "case_tally_changes", ["org", "dimension", "value"])
    op.execute(BACKFILL)
    op.execute(FUNCTIONS)
    op.drop_index("ix_case_trail_actor_case", table_name="case_trail")
    op.execute("DROP INDEX ix_cases_team")
    # the one-role index of open unassigned steps, now with the case: a person's set from the index alone
    op.drop_index("ix_case_steps_open_unassigned", table_name="case_steps")
    op.create_index("ix_case_steps_open_unassigned", "case_steps", ["role", "case_id"],
                    postgresql_where=sa.text("status = 'active' AND assignee IS NULL"))
    # an organisation's late cases (the list's overdue), each part from its own index: the open
    # cases by deadline with their clock running, and the open steps by due time
    op.create_index("ix_cases_open_running_due", "cases", ["org", "due_at"],
                    postgresql_where=sa.text("status = 'open' AND paused_since IS NULL"))
    op.create_index("ix_case_steps_open_org_due", "case_steps", ["org", "due_at", "case_id"],
                    postgresql_where=sa.text("status = 'active'"))
    # the steps waiting on a person's decision: the 'asked' entries by the person asked (once
    # its actor, now in its data: the entry is the system's)
    op.execute("CREATE INDEX ix_case_trail_asked_person ON case_trail (((data::jsonb) ->> 'person')) "
               "WHERE kind = 'asked'")
    op.execute("UPDATE case_trail SET data = (data::jsonb || jsonb_build_object('person', actor))::json, "
               "actor = 'sopdesk' WHERE kind = 'asked' AND (data::jsonb ->> 'person') IS NULL")
    # an organisation's cases waiting on someone outside
    op.drop_index("ix_case_steps_active_waiting", table_name="case_steps")
    op.create_index("ix_case_steps_active_waiting", "case_steps", ["org", "case_id"],
                    postgresql_where=sa.text("status = 'active' AND waiting_on IS NOT NULL"))


def downgrade() -> None:
    op.execute("UPDATE case_trail SET actor = data::jsonb ->> 'person' WHERE kind = 'asked' "
               "AND (data::jsonb ->> 'person') IS NOT NULL")
    op.drop_index("ix_case_trail_asked_person", table_name="case_trail")
    op.drop_index("ix_case_steps_active_waiting", table_name="case_steps")
    op.create_index("ix_case_steps_active_waiting", "case_steps", ["case_id"],
                    postgresql_where=sa.text("status = 'active' AND waiting_on IS NOT NULL"))
    op.drop_index("ix_case_steps_open_org_due", table_name="case_steps")
    op.drop_index("ix_cases_open_running_due", table_name="cases")
    op.drop_index("ix_case_steps_open_unassigned", table_name="case_steps")
    op.create_index("ix_case_steps_open_unassigned", "case_steps", ["role"],
                    postgresql_where=sa.text("status = 'active' AND assignee IS NULL"))
    op.execute("CREATE INDEX ix_cases_team ON cases USING gin ((team::jsonb) jsonb_path_ops)")
    op.create_index("ix_case_trail_actor_case", "case_trail", ["actor", "case_id"])
    op.execute("DROP TRIGGER case_units_tallies ON case_units")
    op.execute("DROP TRIGGER case_people_tallies ON case_people")
    op.execute("DROP TRIGGER cases_tallies ON cases")
    op.execute("DROP FUNCTION sopdesk_member_tallies()")
    op.execute("DROP FUNCTION sopdesk_case_tallies()")
    op.drop_table("case_tally_changes")
    op.drop_table("case_tallies")
    op.execute("DROP TRIGGER cases_team_people ON cases")
    op.execute("DROP TRIGGER case_trail_people ON case_trail")
    op.execute("DROP TRIGGER case_steps_people ON case_steps")
    op.execute("DROP FUNCTION sopdesk_team_people()")
    op.execute("DROP FUNCTION sopdesk_trail_people()")
    op.execute("DROP FUNCTION sopdesk_step_people()")
    op.drop_table("case_units")
    op.drop_table("case_people")
