"""How fast is the missed-deadline (SLA) sweep with a million open steps?

    .venv/bin/python bench/sla_sweep.py [--steps 1000000] [--late 1000] [--reported N] [--keep]

Creates its own PostgreSQL database (``sopdesk_bench_sla``, dropped first if it exists), builds
assignment's schema with the real migrations, bulk-inserts ``--steps`` open cases, each with one
active step, and runs the real ``handlers.sweep_sla()``:

* ``--late`` steps are past due and not reported yet, and so are ``--late`` case deadlines (the
  same cases): the first sweep must report exactly those;
* ``--reported`` more steps and case deadlines are past due but reported already (a busy office
  has many): a query that is not on the partial indexes would have to read past them;
* the rest are due in the future (some without a target or a case deadline at all).

It prints ``EXPLAIN (ANALYZE, BUFFERS)`` of the very statements the sweep sends (captured from
the engine), before the first sweep and after it, checks that they are Index Scans on
``ix_case_steps_unbreached_due`` / ``ix_cases_deadline_open`` and no Seq Scan, and ends with one
summary line. The database is dropped at the end unless ``--keep``.
"""
from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "sopdesk_bench_sla"
SENTINEL = datetime(2000, 1, 1, tzinfo=timezone.utc)  # a `now` for which nothing is late


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1_000_000, help="open cases, one active step each")
    parser.add_argument("--late", type=int, default=1000, help="late and unreported steps (and case deadlines)")
    parser.add_argument("--reported", type=int, default=None,
                        help="late steps and case deadlines reported already (default: 10%% of --steps)")
    parser.add_argument("--admin-url",
                        default=os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
                        help="a PostgreSQL URL allowed to create databases")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    if args.reported is None:
        args.reported = args.steps // 10
    if args.late + args.reported > args.steps:
        parser.error("--late + --reported must not exceed --steps")
    return args


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


# ---------------------------------------------------------------------------------------------


def fill(engine, steps: int, late: int, reported: int) -> float:
    """Bulk-insert the cases and their active steps with INSERT ... SELECT generate_series."""
    from sqlalchemy import text

    started = time.perf_counter()
    params = {"n": steps, "late": late, "reported": late + reported}
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        conn.execute(text("""
            INSERT INTO cases (id, tracking_code, request_event_id, sop, pack_version, status, subject, details,
                               requester_name, requester_unit, fields, channel, received_at, opened_at,
                               current_step, due_at, expected_at, deadline_breached_at, paused_since,
                               paused_minutes, team, "values", seq)
            SELECT md5('case' || i)::uuid::text, 'SD-B' || lpad(i::text, 9, '0'), md5('event' || i)::uuid::text,
                   'sesao-sc/repair', 1, 'open', 'bench case ' || i, 'bench', 'bench requester', 'bench unit',
                   '{}'::json, 'web', now() - interval '3 days', now() - interval '3 days', 'repair',
                   CASE WHEN i <= :late THEN now() - interval '1 day' - make_interval(secs => i)
                        WHEN i <= :reported THEN now() - interval '2 days' - make_interval(secs => i % 86400)
                        WHEN i % 3 = 0 THEN NULL  -- an SOP without a case deadline
                        ELSE now() + interval '1 day' + make_interval(mins => i % 43200) END,
                   NULL,
                   CASE WHEN i > :late AND i <= :reported THEN now() - interval '1 day' END,
                   CASE WHEN i > :reported AND i % 50 = 0 THEN now() - interval '1 hour' END,  -- with the requester
                   0, '[]'::json, '{}'::json, 3
            FROM generate_series(1, :n) AS i
        """), params)
        conn.execute(text("""
            INSERT INTO case_steps (case_id, org, position, step, round, role, assignee, status, waiting_on, started_at,
                                    due_at, expected_at, target, breached_at)
            SELECT md5('case' || i)::uuid::text, 'sesao-sc', 2, 'repair', 1, 'officer', 'officer-' || (i % 200), 'active', NULL,
                   now() - interval '2 days',
                   CASE WHEN i <= :late THEN now() - interval '1 hour' - make_interval(secs => i)
                        WHEN i <= :reported THEN now() - interval '1 day' - make_interval(secs => i % 86400)
                        WHEN i % 5 = 0 THEN NULL  -- a step without a target
                        ELSE now() + interval '1 day' + make_interval(mins => i % 43200) END,
                   NULL, '1-2 days',
                   CASE WHEN i > :late AND i <= :reported THEN now() - interval '20 hours' END
            FROM generate_series(1, :n) AS i
        """), params)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE cases"))
        conn.execute(text("VACUUM ANALYZE case_steps"))
    return time.perf_counter() - started


class Capture:
    """The SELECTs the sweep sends on cases and case_steps, with their parameters."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.engine, self.statements = engine, {}
        event.listen(engine, "before_cursor_execute", self.seen)

    def seen(self, conn, cursor, statement, parameters, context, executemany):
        head = statement.lstrip().upper()
        if not head.startswith("SELECT") or "FOR UPDATE" not in head:
            return
        for table in ("case_steps", "cases"):
            if f"FROM {table.upper()}\n" in head or f"FROM {table.upper()} " in head:
                self.statements.setdefault(table, (statement, dict(parameters or {})))

    def stop(self):
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self.seen)


def explain(engine, statement: str, parameters: dict, now: datetime) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of a captured statement at ``now``, rolled back (it locks rows)."""
    params = {k: (now if v == SENTINEL else v) for k, v in parameters.items()}
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        raw.rollback()
        return plan
    finally:
        raw.close()


def check_plan(plan: str, index: str) -> bool:
    return f"Index Scan using {index}" in plan and "Seq Scan" not in plan


def main(argv=None) -> int:
    args = parse_args(argv)
    admin_url = args.admin_url.replace("postgresql+psycopg://", "postgresql://")
    url = with_database(admin_url, DB_NAME)
    os.environ.update({
        "SOPDESK_ENV": "production",
        "DATABASE_URL": url,
        "REDIS_URL": args.redis_url,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "SOPDESK_PUBLIC_URL": "http://127.0.0.1:8000",
        "SOPDESK_DATA_DIR": tempfile.mkdtemp(prefix="sopdesk-bench-"),
    })

    import psycopg
    import redis

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    broker = redis.Redis.from_url(args.redis_url)
    broker_was_empty = broker.dbsize() == 0

    # sopdesk reads its settings now, from the environment set above
    from sqlalchemy import func, select

    from services.assignment.adapters.bus import bus
    from services.assignment.adapters.models import Outbox
    from services.assignment.handlers import cases as handlers
    from shared import db, migrations

    try:
        migrations.upgrade("assignment")
        engine = bus.engine
        print(f"database {DB_NAME}: assignment migrated; inserting {args.steps:,} open cases and steps "
              f"({args.late:,} late and unreported, {args.reported:,} late and reported already)...", flush=True)
        fill_seconds = fill(engine, args.steps, args.late, args.reported)
        with engine.connect() as conn:
            sizes = conn.exec_driver_sql(
                "SELECT relname, pg_size_pretty(pg_relation_size(oid)) FROM pg_class "
                "WHERE relname IN ('case_steps', 'cases', 'ix_case_steps_unbreached_due', 'ix_cases_deadline_open') "
                "ORDER BY relname").all()
        print(f"inserted and analysed in {fill_seconds:.1f} s; sizes: "
              + ", ".join(f"{name} {size}" for name, size in sizes), flush=True)

        # the statements the sweep sends, captured from a sweep at a moment nothing is late
        capture = Capture(engine)
        assert handlers.sweep_sla(now=SENTINEL) == handlers.SweepResult(0, 0)
        capture.stop()
        missing = {"case_steps", "cases"} - set(capture.statements)
        if missing:
            print(f"could not capture the sweep's query on {', '.join(sorted(missing))}", file=sys.stderr)
            return 1

        now = db.utcnow()

        def show_plans(when: str) -> bool:
            ok_all = True
            for table, index in (("case_steps", "ix_case_steps_unbreached_due"), ("cases", "ix_cases_deadline_open")):
                statement, parameters = capture.statements[table]
                plan = explain(engine, statement, parameters, now)
                ok = check_plan(plan, index)
                ok_all &= ok
                print(f"\n--- EXPLAIN (ANALYZE, BUFFERS) of the sweep's {table} query, {when}: "
                      f"{'Index Scan on ' + index if ok else 'NOT the expected index scan'}")
                if when.startswith("before"):
                    print(" ".join(statement.split()))
                print(plan)
            return ok_all

        plans_ok = show_plans("before the first sweep")

        started = time.perf_counter()
        first = handlers.sweep_sla(now=now)
        first_seconds = time.perf_counter() - started
        started = time.perf_counter()
        second = handlers.sweep_sla(now=now)
        second_ms = (time.perf_counter() - started) * 1000
        # a sweep a little later, as the periodic task runs it (nothing new is late yet)
        started = time.perf_counter()
        third = handlers.sweep_sla()
        third_ms = (time.perf_counter() - started) * 1000

        plans_ok &= show_plans("after it (nothing late)")

        with bus.session() as session:
            reported = session.scalar(select(func.count()).select_from(Outbox).where(Outbox.type == "sla.breached"))
        correct = (first == handlers.SweepResult(args.late, args.late) and second == handlers.SweepResult(0, 0)
                   and third == handlers.SweepResult(0, 0) and reported == 2 * args.late)
        print()
        print(f"sla_sweep: rows={args.steps} late={args.late} reported_already={args.reported} "
              f"first_sweep={first_seconds:.2f}s ({first.steps} steps, {first.cases} cases) "
              f"second_sweep={second_ms:.1f}ms third_sweep={third_ms:.1f}ms "
              f"index_scans={'yes' if plans_ok else 'NO'} exactly_once={'yes' if correct else 'NO'}")
        return 0 if plans_ok and correct else 1
    finally:
        db.dispose_engines()
        if broker_was_empty:
            broker.flushdb()
        else:
            print(f"note: {args.redis_url} was not empty at the start (someone else's?); left as it was",
                  file=sys.stderr)
        if not args.keep:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
