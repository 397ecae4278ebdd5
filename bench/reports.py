"""The reports at a million cases (issue 15): how fast do the KPIs (JSON, CSV, XLSX), the dashboard,
the yearly PDF, the public statistics and the satisfaction report answer over 1,000,000 cases and
1,000,000 satisfaction answers?

    .venv/bin/python bench/reports.py [--cases 1000000] [--answers 1000000] [--requests 30]
                                      [--reuse] [--keep] [--only TEXT] [--fill-only] [--sample 20000]

1. Fills a PostgreSQL database (``sopdesk_bench_reports`` on ``--admin-url``; built by the real
   migrations of assignment and intake, each in its schema as in production):
   * the cases, their steps and trail, the staff and the desk's read models by bench/desk.py's fill
     (five organisations of 40/25/15/12/8 %, two units each, received over four years; a closed
     case keeps its deadline, as the engine leaves it);
   * the reports' read model (``report_cases``, ``report_steps``) from those stored cases by the
     rules of its migration (c3f8a1d5e9b2: its own CASES and STEPS queries, the same working
     calendar, ``calendar_from_days(get_settings(), calendar_days)``, the same arithmetic), written
     with COPY: the migration's ``backfill`` does the same row by row through INSERTs, which
     ``--sample`` cases time and check against (see the first lines of the output);
   * ``--answers`` satisfaction answers (``survey_scores``, scores leaning to 4 and 5, over the same
     four years) and their day tallies by their migration's backfill;
   * intake's requests as the requester's copy of each case (the same ids, SOPs, days, status,
     result and deadline: the same distribution), 60 % of the closed ones answered, and intake's
     tallies by their migration's backfill (7e2b5d9c1a4f, when that migration is there).
   Rows go in with the triggers off and the tallies are made at the end, as an upgrade makes them.
   ``--keep`` keeps the database, ``--reuse`` measures it again (after the newest migrations).
2. Starts assignment and intake under gunicorn with compose's flags (2 workers, 4 threads each),
   production settings, a private Redis.
3. Asks each question ``--requests`` times (after 5 unmeasured), each on a new connection, as the
   person it is for, and prints p50, p95, p99, the largest time and the answer's size. A question
   whose page is not built yet (404) or fails is printed as such and the run goes on.

The baselines in the same run, on the same server and database, with the indexes the product
ships and the product's connection settings (random_page_cost 1.1), from this script over psycopg:
* the KPIs' figures (received by SOP, channel and month; closed by SOP, result, deadline kept and
  month; the cases' median and 90th percentile time; open at the period's end; steps done, on time,
  late and returned by SOP and step with their median and 90th percentile time; the ageing of the
  open cases; the answers by SOP and score and the newest comments) by plain SQL aggregates straight
  over ``cases``, ``case_steps`` and ``survey_scores``: what one writes without a read model, time
  as wall time (``completed_at - started_at``); they are also the dashboard's and the PDF's figures;
* the public statistics by plain aggregates over intake's ``requests`` and ``survey_answers``;
* the satisfaction report by one aggregate over the answers with an index on the moment answered
  (made for it alone, after the questions, and dropped again);
* each service's health answer.
The checks: the KPIs' received and closed per SOP (up, the last full fiscal year) equal a count
straight from ``cases``; the public statistics' received per SOP equal one from ``cases``; the
satisfaction report's answers per SOP equal the baseline's.

The goals (issue 15): the dashboard and the yearly report <= 2 s, the satisfaction report <= 200 ms.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import desk, harness  # noqa: E402
from bench.desk import ORGS  # noqa: E402

DB_NAME = "sopdesk_bench_reports"
SAMPLE_DB = "sopdesk_bench_reports_sample"
NOW = datetime.now(timezone.utc).replace(microsecond=0)
SPAN_DAYS = 4 * 365
ANSWERED_SHARE = 0.6  # of intake's closed requests, answered
SCORE_WEIGHTS = (2, 4, 10, 40, 44)  # scores 1-5
PG_OPTIONS = "-c search_path=assignment -c timezone=UTC -c random_page_cost=1.1"  # shared.db's for the product
REPORTS_MIGRATION = "c3f8a1d5e9b2"
GOAL_REPORT_MS = 2000
GOAL_SATISFACTION_MS = 200


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--answers", type=int, default=1_000_000, help="assignment's satisfaction answers")
    harness.filled_db_args(parser, requests=30)
    parser.add_argument("--only", default="", help="ask only the questions whose names contain this")
    parser.add_argument("--fill-only", action="store_true", help="fill (or check) the database and stop (with --keep)")
    parser.add_argument("--sample", type=int, default=20_000,
                        help="cases of the sample on which the migration's own backfill is timed and compared "
                             "(before a fill; 0: not)")
    parser.add_argument("--baseline-budget", type=float, default=90.0,
                        help="seconds one baseline question may take in all (fewer runs if slower)")
    parser.add_argument("--output", default="", help="also write the table to this file")
    parser.add_argument("--sample-run", type=int, default=0, help=argparse.SUPPRESS)  # the --sample child
    return parser.parse_args(argv)


def connect(db_url: str, **kwargs):
    import psycopg

    return psycopg.connect(db_url, options=PG_OPTIONS, **kwargs)


# ---------------------------------------------------------------------------------------------
# the fill


def fill(db_url: str, cases: int, answers: int) -> dict:
    from services.assignment.adapters import packstore
    from shared import migrations

    started = time.perf_counter()
    migrations.upgrade("assignment")
    migrations.upgrade("intake")
    packstore.load_builtin_packs()
    print(f"filling {cases:,} cases ...", flush=True)
    facts = desk.fill(db_url, cases, seed=15, deadlines_kept=True)
    took = fill_figures(db_url)
    print(f"  the reports' read model: {took['cases']:,} case rows and {took['steps']:,} step rows in "
          f"{took['seconds']:.0f} s ({time.perf_counter() - started:.0f} s)", flush=True)
    fill_answers(db_url, answers)
    print(f"  {answers:,} satisfaction answers and their tallies ({time.perf_counter() - started:.0f} s)", flush=True)
    intake = fill_intake(db_url)
    print(f"  intake: {intake['requests']:,} requests, {intake['answers']:,} answers"
          f"{'' if intake['tallies'] else ' (no tallies: intake has no public statistics migration yet)'} "
          f"({time.perf_counter() - started:.0f} s)", flush=True)
    with connect(db_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("VACUUM ANALYZE intake.requests")
        conn.execute("VACUUM ANALYZE intake.survey_answers")
    seconds = time.perf_counter() - started
    print(f"filled in {seconds:.0f} s", flush=True)
    return {**facts, "fill_seconds": int(seconds)}


def fill_figures(db_url: str) -> dict:
    """``report_cases`` and ``report_steps`` from the stored cases by the rules of the migration
    that made them (its own queries, calendar and arithmetic, in ``figure_rows``), through COPY,
    its indexes made again after the rows; the triggers (the foreign keys') off, as for the cases."""
    started = time.perf_counter()
    with connect(db_url) as read, connect(db_url) as write:
        write.execute("SET session_replication_role = replica")
        write.execute("SET synchronous_commit = off")
        indexes = write.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'assignment' "
            "AND i.tablename IN ('report_cases', 'report_steps') AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conname = i.indexname)").fetchall()
        for name, _definition in indexes:
            write.execute(f'DROP INDEX "{name}"')
        counts = {}
        for table, columns, rows in figure_rows(read):
            counts[table] = 0
            with write.cursor() as cur:
                with cur.copy(f'COPY {table} ({", ".join(columns)}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
                        counts[table] += 1
        write.execute("SET maintenance_work_mem = '512MB'")
        for _name, definition in indexes:
            write.execute(definition)
        write.execute("SET session_replication_role = DEFAULT")
        write.commit()
    return {"cases": counts["report_cases"], "steps": counts["report_steps"], "seconds": time.perf_counter() - started}


CASE_COLUMNS = ["case_id", "org", "sop", "channel", "received_at", "closed_at", "result", "on_time", "working_minutes"]
STEP_COLUMNS = ["case_id", "step", "round", "org", "sop", "unit", "completed_at", "working_minutes", "on_time", "kind"]


def figure_rows(read):
    """(table, columns, rows) of both tables, read from ``read`` (a psycopg connection) by the
    migration's own queries and worked out as its ``backfill`` works them out."""
    from psycopg.rows import namedtuple_row

    from shared.config import get_settings
    from shared.workcal import calendar_from_days

    module = harness.migration("assignment", REPORTS_MIGRATION)
    with read.cursor(row_factory=namedtuple_row) as cur:
        cal = calendar_from_days(get_settings(), cur.execute("SELECT day, kind, name FROM calendar_days").fetchall())
    minutes = cal.working_minutes_between

    def on_time(done, due):
        return None if done is None or due is None else done <= due

    def stream(name, sql):
        with read.cursor(name=name, row_factory=namedtuple_row) as cur:
            cur.itersize = 20_000
            cur.execute(sql)
            yield from cur

    def cases():
        for r in stream("report_cases", module.CASES.text):
            worked = None
            if r.closed_at is not None:
                waited = (r.paused_minutes or 0) + (minutes(r.paused_since, r.closed_at) if r.paused_since else 0)
                worked = max(0, minutes(r.received_at, r.closed_at) - waited)
            yield (r.id, r.org, r.sop, r.channel, r.received_at, r.closed_at, r.result, on_time(r.closed_at, r.due_at),
                   worked)

    def steps():
        for r in stream("report_steps", module.STEPS.text):
            yield (r.case_id, r.step, r.round, r.org, r.sop, r.unit, r.completed_at,
                   minutes(r.started_at, r.completed_at), on_time(r.completed_at, r.due_at), r.kind)

    yield "report_cases", CASE_COLUMNS, cases()
    yield "report_steps", STEP_COLUMNS, steps()


def fill_answers(db_url: str, answers: int) -> None:
    """Satisfaction answers as rows of the real model's table, COPYed with the triggers off, then
    counted into the day tallies by their migration's own backfill."""
    from shared.packs import builtin_packs

    sops = {org: [s.full_key for s in pack.sops.values()] for org, pack in builtin_packs().items() if org in ORGS}
    orgs, weights = list(ORGS), [ORGS[o] for o in ORGS]
    rng = random.Random(15)
    with connect(db_url) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET synchronous_commit = off")
        with conn.cursor() as cur:
            with cur.copy("COPY survey_scores (tracking_code, sop, unit, requester_unit, score, comment, answered_at, "
                          "created_at) FROM STDIN") as copy:
                for i in range(answers):
                    org = rng.choices(orgs, weights)[0]
                    answered = NOW - timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))
                    score = rng.choices((1, 2, 3, 4, 5), SCORE_WEIGHTS)[0]
                    copy.write_row((f"SD-RPT{i:09d}", rng.choice(sops[org]), rng.choice((f"ict-{org}", f"svc-{org}", None)),
                                    "โรงเรียนบ้านนา", score, "บริการดีมาก" if score >= 4 and i % 7 == 0 else None,
                                    answered, answered))
        conn.execute(harness.migration("assignment", "b9e4d2a6c8f1").BACKFILL)
        conn.execute("SET session_replication_role = DEFAULT")
        conn.commit()


def fill_intake(db_url: str) -> dict:
    """Intake's requests as the requester's copy of each case (what the case events leave there:
    the same id, code, SOP, days, status, result and deadline), 60 % of the closed ones answered
    a day or so after closing, with the triggers off; then intake's tallies by their migration's
    backfill, as its upgrade makes them."""
    with connect(db_url) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET search_path = intake")
        requests = conn.execute("""
            INSERT INTO requests (id, tracking_code, sop, requester_name, requester_email, requester_phone,
                                  requester_unit, subject, details, form_fields, language, consent,
                                  privacy_notice_version, channel, filed_by, received_at, created_at, status, sop_title,
                                  current_step, due_at, closed_at, result, case_seq)
            SELECT c.id, c.tracking_code, c.sop, c.requester_name, 'requester@bench.example', NULL, c.requester_unit,
                   c.subject, c.details, c.fields::json, 'th', true, '1', c.channel, NULL, c.received_at,
                   c.received_at, c.status, '{}'::json, c.current_step, c.due_at, c.closed_at, c.result, c.seq
            FROM assignment.cases c""").rowcount
        conn.execute("SELECT setseed(0.15)")
        w = [sum(SCORE_WEIGHTS[:i + 1]) / sum(SCORE_WEIGHTS) for i in range(4)]
        answers = conn.execute(f"""
            INSERT INTO survey_answers (id, request_id, score, comment, answered_at)
            SELECT gen_random_uuid()::text, a.id, a.score,
                   CASE WHEN a.score >= 4 AND random() < 0.15 THEN 'บริการดีมาก' END,
                   a.closed_at + make_interval(mins => (random() * 2880)::int)
            FROM (SELECT r.id, r.closed_at, CASE WHEN x < {w[0]} THEN 1 WHEN x < {w[1]} THEN 2 WHEN x < {w[2]} THEN 3
                                                 WHEN x < {w[3]} THEN 4 ELSE 5 END AS score
                  FROM (SELECT id, closed_at, random() AS x, random() AS y FROM requests WHERE status = 'closed') r
                  WHERE r.y < {ANSWERED_SHARE}) a""").rowcount
        tallies = False
        try:
            backfill = harness.migration("intake", "7e2b5d9c1a4f").BACKFILL
        except StopIteration:
            backfill = None
        if backfill:
            conn.execute(backfill)
            tallies = True
        conn.execute("SET session_replication_role = DEFAULT")
        conn.commit()
    return {"requests": requests, "answers": answers, "tallies": tallies}


# ---------------------------------------------------------------------------------------------
# the migration's own backfill, on a sample


def sample_run(args) -> int:
    """(The ``--sample`` child, with production's environment on a database of its own.) Fills
    ``--sample-run`` cases, makes the read model as the bench does, keeps it, empties the tables,
    times the migration's ``backfill`` over the same cases and compares both; one line of JSON."""
    from services.assignment.adapters import packstore
    from shared import db, migrations
    from shared.config import get_settings

    db_url = harness.with_database(args.admin_url, SAMPLE_DB)
    harness.new_database(args.admin_url, SAMPLE_DB)
    try:
        redis = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        harness.product_env(db_url, redis, secrets.token_urlsafe(48))
        migrations.upgrade("assignment")
        packstore.load_builtin_packs()
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):
            desk.fill(db_url, args.sample_run, seed=15, deadlines_kept=True)
        bench = fill_figures(db_url)
        with connect(db_url, autocommit=True) as conn:
            conn.execute("CREATE TABLE bench_cases AS SELECT * FROM report_cases")
            conn.execute("CREATE TABLE bench_steps AS SELECT * FROM report_steps")
            conn.execute("TRUNCATE report_cases, report_steps")
        engine = db.get_engine("assignment", get_settings().database_url("assignment"))
        module = harness.migration("assignment", REPORTS_MIGRATION)
        began = time.perf_counter()
        with engine.begin() as connection:
            module.backfill(connection)
        seconds = time.perf_counter() - began
        with connect(db_url) as conn:
            differ = {t: conn.execute(f"SELECT (SELECT count(*) FROM (TABLE {a} EXCEPT ALL TABLE {b}) x) + "
                                      f"(SELECT count(*) FROM (TABLE {b} EXCEPT ALL TABLE {a}) y)").fetchone()[0]
                      for t, a, b in (("cases", "report_cases", "bench_cases"), ("steps", "report_steps", "bench_steps"))}
            steps = conn.execute("SELECT count(*) FROM report_steps").fetchone()[0]
        engine.dispose()
        print(json.dumps({"cases": args.sample_run, "steps": steps, "migration_seconds": seconds,
                          "bench_seconds": bench["seconds"], "differ": differ}))
        return 0
    finally:
        harness.drop_database(args.admin_url, SAMPLE_DB)


def sample(args, redis_url: str) -> list[str]:
    """The migration's backfill against the bench's on ``--sample`` cases: lines to print."""
    env = harness.clean_env(REDIS_URL=redis_url)
    done = subprocess.run([sys.executable, __file__, "--sample-run", str(args.sample), "--admin-url", args.admin_url],
                          env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        return [f"the sample of the migration's backfill failed: {done.stderr[-2000:]}"]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    per_case = got["migration_seconds"] / got["cases"]
    lines = [
        f"the read model's migration backfill (c3f8a1d5e9b2, row by row through INSERTs) over a sample of "
        f"{got['cases']:,} cases ({got['steps']:,} steps): {got['migration_seconds']:.1f} s, about "
        f"{per_case * args.cases / 60:.0f} min for {args.cases:,} cases; the bench's COPY of the same rows "
        f"{got['bench_seconds']:.1f} s; rows differing between the two: {got['differ']['cases']} of the cases', "
        f"{got['differ']['steps']} of the steps'",
    ]
    return lines


# ---------------------------------------------------------------------------------------------
# the questions


def fiscal_years() -> tuple[int, int]:
    """(the last whole fiscal year, the current one), Buddhist era."""
    from shared.i18n import BANGKOK
    from shared.workcal import fiscal_year_be

    current = fiscal_year_be(NOW.astimezone(BANGKOK).date())
    return current - 1, current


def tokens() -> dict:
    from sqlalchemy import select

    from services.assignment.adapters.bus import bus
    from services.assignment.adapters.models import User
    from services.assignment.handlers import directory
    from shared.auth import issue_token

    with bus.session() as session:
        def token(username):
            return issue_token(directory.staff_of(session.scalar(select(User).where(User.username == username)), session))

        return {"director": token("director-up"), "head": token("head-ict-up"), "sysadmin": token("sysadmin")}


def busiest_sop(db_url: str) -> str:
    with connect(db_url) as conn:
        return conn.execute("SELECT sop FROM report_cases WHERE org = 'up' GROUP BY sop ORDER BY count(*) DESC "
                            "LIMIT 1").fetchone()[0]


def questions(sop: str) -> list[dict]:
    """Each question: its name, who asks (a token's key, or None), which service, the path, what it
    accepts, and its goal in ms (None: none stated)."""
    last, current = fiscal_years()
    kpis = "/assignment/reports/kpis?"

    def q(name, who, service, path, accept="application/json", goal=None):
        return {"name": name, "who": who, "service": service, "path": path, "accept": accept, "goal": goal}

    up = {"fiscal_year": last, "org": "up"}
    return [
        q("assignment health (baseline: SELECT 1, a Redis ping)", "director", "assignment", "/assignment/health"),
        q(f"KPIs JSON, director of up, fiscal year {last}", "director", "assignment", kpis + urlencode(up)),
        q(f"KPIs JSON, director of up, fiscal year {current} (current)", "director", "assignment",
          kpis + urlencode({"fiscal_year": current, "org": "up"})),
        q(f"KPIs JSON, head of ict-up (their unit), {last}", "head", "assignment", kpis + urlencode(up)),
        q(f"KPIs JSON, one SOP ({sop}), quarter 2 of {last}", "director", "assignment",
          kpis + urlencode({**up, "sop": sop, "quarter": 2})),
        q(f"KPIs CSV (table sops), director of up, {last}", "director", "assignment",
          kpis + urlencode({**up, "format": "csv", "lang": "th"}), "text/csv"),
        q(f"KPIs XLSX (every table), director of up, {last}", "director", "assignment",
          kpis + urlencode({**up, "format": "xlsx", "lang": "th"}), "*/*"),
        q(f"dashboard (HTML), director of up, {last}", "director", "assignment",
          "/assignment/desk/reports?" + urlencode({**up, "lang": "th"}), "text/html", GOAL_REPORT_MS),
        q(f"yearly report PDF, director of up, {last}", "director", "assignment",
          "/assignment/reports/yearly.pdf?" + urlencode({**up, "lang": "th"}), "application/pdf", GOAL_REPORT_MS),
        q("intake health (baseline)", None, "intake", "/intake/health"),
        q(f"public statistics JSON, up, {last}", None, "intake", "/intake/statistics?" + urlencode(
            {"org": "up", "fiscal_year": last})),
        q(f"public statistics page (HTML), up, {last}", None, "intake", "/intake/statistics?" + urlencode(
            {"org": "up", "fiscal_year": last}), "text/html"),
        q(f"satisfaction, director, fiscal year {last}", "director", "assignment",
          f"/assignment/reports/satisfaction?fiscal_year={last}", goal=GOAL_SATISFACTION_MS),
        q("satisfaction, director, every year", "director", "assignment", "/assignment/reports/satisfaction",
          goal=GOAL_SATISFACTION_MS),
        q(f"satisfaction, head, fiscal year {last}", "head", "assignment",
          f"/assignment/reports/satisfaction?fiscal_year={last}", goal=GOAL_SATISFACTION_MS),
        q(f"satisfaction, sysadmin, fiscal year {last}", "sysadmin", "assignment",
          f"/assignment/reports/satisfaction?fiscal_year={last}", goal=GOAL_SATISFACTION_MS),
        q("satisfaction, sysadmin, every year", "sysadmin", "assignment", "/assignment/reports/satisfaction",
          goal=GOAL_SATISFACTION_MS),
    ]


# ---------------------------------------------------------------------------------------------
# the baselines: the same figures by plain SQL over the cases, steps and answers themselves


def kpi_baseline(db_url: str, fiscal_year: int, org: str, unit: str | None = None, sop: str | None = None,
                 quarter: int | None = None):
    """A function answering the KPIs' figures for one scope by plain aggregates over ``cases``,
    ``case_steps`` and ``survey_scores`` (one transaction, as one request would), and that
    function's parts by name for a breakdown."""
    from services.assignment.handlers.reports import AGEING_DAYS, COMMENTS, Period
    from shared.config import get_settings
    from shared.packs import builtin_packs
    from shared.workcal import calendar_for

    period = Period(fiscal_year, quarter)
    start, end = period.moments()
    cal = calendar_for(get_settings())  # (no days of the admin's in the bench database)
    at = min(end, max(start, NOW))
    bounds = [cal.back(NOW, days * cal.minutes_per_day) for days in AGEING_DAYS]
    pack = builtin_packs()[org]
    kinds = {(s.full_key, step.key, key): s.outcome_kind(step.key, outcome, outcome.to)
             for s in pack.sops.values() for step in s.steps for key, outcome in step.outcomes.items()}
    params = {"org": org, "start": start, "end": end, "at": at, "unit": unit, "sop": sop,
              "sops": [s.full_key for s in pack.sops.values()], "now": NOW, "first": period.first,
              "last": period.last, "bounds": bounds}
    cases = "c.org = %(org)s" + (" AND c.sop = %(sop)s" if sop else "") + (
        " AND EXISTS (SELECT 1 FROM case_steps us JOIN users u ON u.username = us.assignee "
        "WHERE us.case_id = c.id AND u.unit = %(unit)s)" if unit else "")
    steps = "s.org = %(org)s" + (" AND c.sop = %(sop)s" if sop else "") + (
        " AND s.assignee IN (SELECT username FROM users WHERE unit = %(unit)s)" if unit else "")
    answers = ("a.sop = ANY(%(sops)s)" + (" AND a.sop = %(sop)s" if sop else "")
               + (" AND a.unit = %(unit)s" if unit else ""))
    month = "to_char({} AT TIME ZONE 'Asia/Bangkok', 'YYYY-MM')"
    ageing = ", ".join(f"count(*) FILTER (WHERE c.received_at <= %(bounds)s[{i + 1}])" for i in range(len(bounds)))
    parts = {
        "received": f"SELECT c.sop, c.channel, {month.format('c.received_at')}, count(*) FROM cases c "
                    f"WHERE {cases} AND c.received_at >= %(start)s AND c.received_at < %(end)s GROUP BY 1, 2, 3",
        "closed": f"SELECT c.sop, c.result, c.closed_at <= c.due_at, {month.format('c.closed_at')}, count(*) "
                  f"FROM cases c WHERE {cases} AND c.closed_at >= %(start)s AND c.closed_at < %(end)s "
                  f"GROUP BY 1, 2, 3, 4",
        "case times": f"SELECT c.sop, percentile_cont(0.5) WITHIN GROUP (ORDER BY c.closed_at - c.received_at), "
                      f"percentile_cont(0.9) WITHIN GROUP (ORDER BY c.closed_at - c.received_at) FROM cases c "
                      f"WHERE {cases} AND c.closed_at >= %(start)s AND c.closed_at < %(end)s GROUP BY 1",
        "open at the end": f"SELECT c.sop, count(*) FROM cases c WHERE {cases} AND c.received_at < %(at)s "
                           f"AND (c.closed_at IS NULL OR c.closed_at >= %(at)s) GROUP BY 1",
        "steps": f"SELECT c.sop, s.step, s.outcome, count(*), count(*) FILTER (WHERE s.completed_at <= s.due_at), "
                 f"count(*) FILTER (WHERE s.completed_at > s.due_at) FROM case_steps s JOIN cases c ON c.id = s.case_id "
                 f"WHERE {steps} AND s.status = 'done' AND s.completed_at >= %(start)s AND s.completed_at < %(end)s "
                 f"AND s.role <> 'requester' AND s.waiting_on IS DISTINCT FROM 'requester' GROUP BY 1, 2, 3",
        "step times": f"SELECT c.sop, s.step, "
                      f"percentile_cont(0.5) WITHIN GROUP (ORDER BY s.completed_at - s.started_at), "
                      f"percentile_cont(0.9) WITHIN GROUP (ORDER BY s.completed_at - s.started_at) "
                      f"FROM case_steps s JOIN cases c ON c.id = s.case_id "
                      f"WHERE {steps} AND s.status = 'done' AND s.completed_at >= %(start)s AND s.completed_at < %(end)s "
                      f"AND s.role <> 'requester' AND s.waiting_on IS DISTINCT FROM 'requester' GROUP BY 1, 2",
        "ageing": f"SELECT {ageing} FROM cases c WHERE {cases} AND c.closed_at IS NULL AND c.received_at <= %(now)s",
        "answers": f"SELECT a.sop, a.score, count(*) FROM survey_scores a WHERE {answers} "
                   f"AND (a.answered_at AT TIME ZONE 'Asia/Bangkok')::date BETWEEN %(first)s AND %(last)s GROUP BY 1, 2",
        "comments": f"SELECT a.sop, a.score, a.comment, a.answered_at FROM survey_scores a WHERE {answers} "
                    f"AND a.answered_at >= %(start)s AND a.answered_at < %(end)s AND a.comment <> '' "
                    f"ORDER BY a.answered_at DESC LIMIT {COMMENTS}",
    }
    conn = connect(db_url, autocommit=True)

    def part(name):
        return conn.execute(parts[name], params).fetchall()

    def run():
        with conn.transaction():
            got = {name: part(name) for name in parts}
        returns = defaultdict(int)
        for sop_key, step, outcome, n, *_ in got["steps"]:
            if kinds.get((sop_key, step, outcome)) == "return":
                returns[(sop_key, step)] += n
        received, closed = defaultdict(int), defaultdict(int)
        for r in got["received"]:
            received[r[0]] += r[3]
        for r in got["closed"]:
            closed[r[0]] += r[4]
        return {"received": dict(received), "closed": dict(closed), "returns": dict(returns)}

    return run, {name: (lambda name=name: part(name)) for name in parts}, conn, parts, params


def statistics_baseline(db_url: str, org: str, fiscal_year: int):
    """The public statistics' figures by plain aggregates over intake's requests and answers."""
    from services.intake.domain.statistics import fiscal_year_halves
    from shared.packs import builtin_packs

    year, _first, second = fiscal_year_halves(fiscal_year)
    day = "({} AT TIME ZONE 'Asia/Bangkok')::date"
    params = {"sops": [s.full_key for s in builtin_packs()[org].sops.values()], "start": year.start,
              "end": year.end, "second": second.start}
    parts = [
        f"SELECT sop, {day.format('received_at')} >= %(second)s, count(*) FROM intake.requests "
        f"WHERE sop = ANY(%(sops)s) AND {day.format('received_at')} BETWEEN %(start)s AND %(end)s GROUP BY 1, 2",
        f"SELECT sop, {day.format('closed_at')} >= %(second)s, count(*) FILTER (WHERE result = 'completed'), "
        f"count(*) FILTER (WHERE closed_at <= due_at), count(*) FILTER (WHERE closed_at > due_at), "
        f"count(*) FILTER (WHERE due_at IS NULL) FROM intake.requests WHERE sop = ANY(%(sops)s) "
        f"AND status = 'closed' AND {day.format('closed_at')} BETWEEN %(start)s AND %(end)s GROUP BY 1, 2",
        f"SELECT r.sop, {day.format('s.answered_at')} >= %(second)s, s.score, count(*) FROM intake.survey_answers s "
        f"JOIN intake.requests r ON r.id = s.request_id WHERE r.sop = ANY(%(sops)s) "
        f"AND {day.format('s.answered_at')} BETWEEN %(start)s AND %(end)s GROUP BY 1, 2, 3",
    ]
    conn = connect(db_url, autocommit=True)

    def run():
        with conn.transaction():
            return [conn.execute(sql, params).fetchall() for sql in parts]

    return run, conn


def satisfaction_baseline(db_url: str, fiscal_year: int):
    """The satisfaction report's figures (answers per SOP, unit and score, of one organisation's
    fiscal year) by one plain aggregate over the answers, with an index on the moment answered."""
    from shared.i18n import BANGKOK
    from shared.workcal import fiscal_year_bounds

    first, last = fiscal_year_bounds(fiscal_year)
    start = datetime.combine(first, datetime.min.time(), BANGKOK)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), BANGKOK)
    sql = ("SELECT sop, COALESCE(unit, ''), score, count(*) FROM survey_scores WHERE sop LIKE 'up/%%' "
           "AND answered_at >= %s AND answered_at < %s GROUP BY 1, 2, 3")
    conn = connect(db_url, autocommit=True)

    def run():
        return conn.execute(sql, (start, end)).fetchall()

    return run, conn


def direct_counts(db_url: str, fiscal_year: int, org: str) -> dict:
    """Received and closed per SOP in the fiscal year, counted straight from ``cases``; and received
    per SOP by the Bangkok days of the year (the public statistics' rule)."""
    from services.assignment.handlers.reports import Period

    start, end = Period(fiscal_year).moments()
    with connect(db_url) as conn:
        rows = conn.execute(
            "SELECT sop, count(*) FILTER (WHERE received_at >= %(s)s AND received_at < %(e)s), "
            "count(*) FILTER (WHERE closed_at >= %(s)s AND closed_at < %(e)s) FROM cases WHERE org = %(o)s "
            "GROUP BY sop", {"s": start, "e": end, "o": org}).fetchall()
    return {"received": {r[0]: r[1] for r in rows if r[1]}, "closed": {r[0]: r[2] for r in rows if r[2]}}


def explain(db_url: str, sql: str, params) -> str:
    with connect(db_url) as conn:
        return "\n".join(r[0] for r in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall())


# ---------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.sample_run:
        return sample_run(args)
    harness.exit_on_sigterm()
    work = Path(tempfile.mkdtemp(prefix="sopdesk-bench-reports-"))
    (work / "logs").mkdir()
    processes = harness.Processes(work / "logs")
    db_url = harness.with_database(args.admin_url, DB_NAME)
    out: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        out.append(line)

    try:
        redis_port = harness.start_redis(processes, work)
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        marker = harness.read_marker(db_url) if args.reuse else None
        if marker is not None and (marker.get("cases"), marker.get("answers")) != (args.cases, args.answers):
            print(f"{DB_NAME} holds another fill ({marker}): filling it anew")
            marker = None
        sampled = []
        if marker is None and args.sample:
            sampled = sample(args, redis_url)
            for line in sampled:
                say(line)
        harness.product_env(db_url, redis_url, secrets.token_urlsafe(48))
        from shared import migrations

        if marker is None:
            harness.new_database(args.admin_url, DB_NAME)
            facts = fill(db_url, args.cases, args.answers)
            marker = {"cases": args.cases, "answers": args.answers, "long_trail": facts["long_trail"],
                      "fill_seconds": facts["fill_seconds"], "sample": "\n".join(sampled)}
            harness.write_marker(db_url, **marker)
            say(f"filled {DB_NAME} in {marker['fill_seconds']} s")
        else:
            migrations.upgrade("assignment")  # the product's newest tables, on the rows kept
            migrations.upgrade("intake")
            say(f"reusing {DB_NAME} (filled in {marker.get('fill_seconds', '?')} s)")
            if marker.get("sample"):
                say(f"at its fill: {marker['sample']}")
        if args.fill_only:
            return 0
        with connect(db_url) as conn:
            count = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in (
                "cases", "case_steps", "case_trail", "report_cases", "report_steps", "survey_scores", "survey_tallies",
                "intake.requests", "intake.survey_answers")}
            open_cases = conn.execute("SELECT count(*) FROM cases WHERE status = 'open'").fetchone()[0]
            intake_tallies = conn.execute("SELECT to_regclass('intake.request_tallies') IS NOT NULL").fetchone()[0]
            if intake_tallies:
                count["intake.request_tallies"] = conn.execute("SELECT count(*) FROM intake.request_tallies").fetchone()[0]
        say(f"rows: {count['cases']:,} cases ({open_cases:,} open), {count['case_steps']:,} steps, "
            f"{count['case_trail']:,} trail entries; read model {count['report_cases']:,} case rows, "
            f"{count['report_steps']:,} step rows; {count['survey_scores']:,} answers in "
            f"{count['survey_tallies']:,} day tallies; intake {count['intake.requests']:,} requests, "
            f"{count['intake.survey_answers']:,} answers"
            + (f", {count['intake.request_tallies']:,} request tallies" if intake_tallies else ""))

        who = tokens()
        sop = busiest_sop(db_url)
        ports = {"assignment": harness.serve(processes, "assignment"), "intake": harness.serve(processes, "intake")}
        last, current = fiscal_years()
        rows, over = [], []
        for question in questions(sop):
            name = question["name"]
            if args.only and args.only not in name and not name.endswith("(baseline)") and "health" not in name:
                continue
            try:
                timings, size, _headers = harness.ask(ports[question["service"]], question["path"],
                                                      who.get(question["who"]), args.requests, warmup=5,
                                                      accept=question["accept"])
            except harness.AskFailed as failed:
                why = "not built yet" if failed.status == 404 else "fails"
                rows.append([f"{name}: {why} ({failed.status})", "HTTP", "0", "", "", "", "", ""])
                print(f"  {name}: {failed}", flush=True)
                continue
            rows.append(harness.timing_row(name, "HTTP", timings, size))
            p99 = harness.percentile(timings, 99)
            if question["goal"] and p99 > question["goal"]:
                over.append(f"{name} (p99 {p99:,.0f} ms > {question['goal']:,} ms)")
            print(f"  {name}: p50 {harness.percentile(timings, 50):.1f} ms, p99 {p99:.1f} ms", flush=True)

        # the baselines
        budget = args.baseline_budget
        scopes = [(f"KPIs' figures, up, {last}", {"fiscal_year": last, "org": "up"}),
                  (f"KPIs' figures, up, {current} (current)", {"fiscal_year": current, "org": "up"}),
                  (f"KPIs' figures, unit ict-up, {last}", {"fiscal_year": last, "org": "up", "unit": "ict-up"}),
                  (f"KPIs' figures, {sop}, quarter 2 of {last}",
                   {"fiscal_year": last, "org": "up", "sop": sop, "quarter": 2})]
        breakdown = []
        baseline_answer = None
        for name, scope in scopes:
            if args.only and args.only not in name and "KPI" not in args.only:
                continue
            run, parts, conn, sqls, params = kpi_baseline(db_url, **scope)
            timings, answer = harness.timed(run, args.requests, budget)
            rows.append(harness.timing_row(f"baseline: {name}, plain SQL over cases and steps", "SQL", timings))
            print(f"  baseline {name}: p50 {harness.percentile(timings, 50):.1f} ms", flush=True)
            if baseline_answer is None:
                baseline_answer = answer
                for part_name, part in parts.items():
                    part_times, _ = harness.timed(part, 5, budget / 4, warmup=1)
                    breakdown.append((part_name, harness.percentile(part_times, 50)))
                slowest = max(breakdown, key=lambda b: b[1])[0]
                plan = explain(db_url, sqls[slowest], params)
            conn.close()
        stats_check = None
        if intake_tallies and (not args.only or "statistics" in args.only):
            run, conn = statistics_baseline(db_url, "up", last)
            timings, _ = harness.timed(run, args.requests, budget)
            rows.append(harness.timing_row(f"baseline: public statistics' figures, up, {last}, plain SQL over "
                                           f"intake's requests and answers", "SQL", timings))
            conn.close()
        run, conn = satisfaction_baseline(db_url, last)
        conn.execute("CREATE INDEX bench_survey_scores_answered ON survey_scores (answered_at)")
        conn.execute("ANALYZE survey_scores")
        try:
            timings, answered = harness.timed(run, args.requests, budget)
        finally:
            conn.execute("DROP INDEX bench_survey_scores_answered")
            conn.execute("ANALYZE survey_scores")
            conn.close()
        rows.append(harness.timing_row(f"baseline: satisfaction, one SQL aggregate over the answers (up, {last})",
                                       "SQL", timings))

        # the checks
        say()
        direct = direct_counts(db_url, last, "up")
        kpi = fetch_json(ports["assignment"], f"/assignment/reports/kpis?fiscal_year={last}&org=up", who["director"])
        reported = ({s["sop"]: s["received"] for s in kpi["sops"] if s["received"]},
                    {s["sop"]: s["closed"] for s in kpi["sops"] if s["closed"]})
        say(f"the KPIs' received and closed per SOP (up, {last}) equal a count straight from cases: "
            f"{reported == (direct['received'], direct['closed'])} ({sum(direct['received'].values()):,} received, "
            f"{sum(direct['closed'].values()):,} closed)")
        if baseline_answer is not None:
            say(f"the baseline's received and closed per SOP equal the same count: "
                f"{(baseline_answer['received'], baseline_answer['closed']) == (direct['received'], direct['closed'])}")
        try:
            stats = fetch_json(ports["intake"], f"/intake/statistics?org=up&fiscal_year={last}", None)
            from services.intake.domain.statistics import fiscal_year_halves
            year, _, _ = fiscal_year_halves(last)
            with connect(db_url) as conn:
                by_day = dict(conn.execute(
                    "SELECT sop, count(*) FROM cases WHERE org = 'up' AND (received_at AT TIME ZONE 'Asia/Bangkok')::date "
                    "BETWEEN %s AND %s GROUP BY sop", (year.start, year.end)).fetchall())
            stats_check = {s["sop"]: s["year"]["received"] for s in stats["sops"] if s["year"]["received"]} == by_day
            say(f"the public statistics' received per SOP (up, {last}) equal a count straight from cases: {stats_check}")
        except (harness.AskFailed, KeyError) as exc:
            say(f"the public statistics could not be checked: {exc!r}")
        per_sop = defaultdict(int)
        for sop_key, _unit, _score, n in answered:
            per_sop[sop_key] += n
        report = fetch_json(ports["assignment"], f"/assignment/reports/satisfaction?fiscal_year={last}", who["director"])
        say(f"the satisfaction report's answers per SOP (up, {last}) equal the baseline's: "
            f"{ {g['key']: g['answers'] for g in report['by_sop']} == dict(per_sop)} ({sum(per_sop.values()):,} answers)")
        say()
        say(harness.table(harness.TIMINGS, rows, "llrrrrrr"))
        say()
        say(f"{count['cases']:,} cases, {count['survey_scores']:,} answers; assignment and intake each under gunicorn "
            f"({' '.join(harness.GUNICORN_FLAGS[:6])}); {args.requests} timed requests per question, one at a time, "
            f"each on a new connection, after 5 unmeasured; the baselines over psycopg with the product's settings "
            f"(at most {budget:.0f} s of runs each).")
        say(f"goals: the dashboard and the yearly report <= {GOAL_REPORT_MS:,} ms, the satisfaction report <= "
            f"{GOAL_SATISFACTION_MS} ms (p99). Over: {'; '.join(over) if over else 'none'}")
        if breakdown:
            say()
            say("the first baseline's parts (median of 5 runs, ms): "
                + ", ".join(f"{n} {t:,.0f}" for n, t in breakdown))
            say("its slowest part, EXPLAIN (ANALYZE, BUFFERS):")
            for line in plan.splitlines():
                say("    " + line)
        if args.output:
            Path(args.output).write_text("\n".join(out) + "\n", encoding="utf-8")
        return 0
    finally:
        processes.stop_all()
        if not args.keep and not args.reuse:
            harness.drop_database(args.admin_url, DB_NAME)


def fetch_json(port: int, path: str, token: str | None):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    if response.status != 200:
        raise harness.AskFailed(path, response.status, body)
    return json.loads(body)


if __name__ == "__main__":
    sys.exit(main())
