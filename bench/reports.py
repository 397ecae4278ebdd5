"""The reports at a million: how fast does the satisfaction report answer over 1,000,000 answers?
(Issue 15's first figure; its KPIs, dashboard, yearly PDF and public statistics join this script
as they are built.)

    .venv/bin/python bench/reports.py [--answers 1000000] [--requests 50] [--reuse] [--keep]

1. Fills a PostgreSQL database (``sopdesk_bench_reports`` on ``--admin-url``; built by the real
   migrations) with ``--answers`` satisfaction answers as rows of the real model's table
   (``SurveyScore``), COPYed with the database's triggers off and then counted by the migration's
   own backfill into the tallies by day (``survey_tallies``), as an upgrade does: five
   organisations of different sizes, their SOPs, two units each, scores 1-5 leaning to 4 and 5,
   answered over four fiscal years.
2. Starts assignment under gunicorn with compose's flags (2 workers, 4 threads), production settings.
3. Asks each question ``--requests`` times (after 5 unmeasured), each on a new connection, as the
   person it is for, and prints p50, p95, p99 and the largest time.

The baseline in the same run: the same figures (answers per SOP, per unit and per score for one
organisation and fiscal year) read by one plain SQL aggregate straight over the answers, with an
index on the day answered, from this script over psycopg: the "SQL aggregates over the right
indexes" way, which costs whatever the rows of a year cost. And the service's health endpoint.

The goal (issue 15): the satisfaction report in <= 200 ms (it took 19.3 s over 1,000,000 answers
when it read every row into Python).
"""
from __future__ import annotations

import argparse
import http.client
import os
import random
import secrets
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402
from bench.desk import ORGS, _product_env  # noqa: E402

DB_NAME = "sopdesk_bench_reports"
GUNICORN_FLAGS = ["--workers", "2", "--threads", "4", "--worker-class", "gthread", "--access-logfile", "/dev/null"]
NOW = datetime.now(timezone.utc).replace(microsecond=0)
SPAN_DAYS = 4 * 365
FISCAL_YEAR = 2569  # 1 October 2025 - 30 September 2026: a whole year of answers


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50, help="timed requests per question")
    parser.add_argument("--admin-url",
                        default=os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--reuse", action="store_true", help="use the database filled by an earlier run")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards (for --reuse)")
    return parser.parse_args(argv)


def migration_backfill() -> str:
    import importlib.util

    path = next((ROOT / "services/assignment/adapters/migrations/versions").glob("b9e4d2a6c8f1_*.py"))
    spec = importlib.util.spec_from_file_location("survey_tallies_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.BACKFILL


def fill(db_url: str, answers: int) -> None:
    import psycopg

    from shared.packs import builtin_packs

    sops = {org: [s.full_key for s in pack.sops.values()] for org, pack in builtin_packs().items() if org in ORGS}
    orgs, weights = list(ORGS), [ORGS[o] for o in ORGS]
    rng = random.Random(15)
    started = time.perf_counter()
    with psycopg.connect(db_url, options="-c search_path=assignment") as conn:
        conn.execute("SET session_replication_role = replica")  # the tallies are made at the end, as an upgrade does
        with conn.cursor() as cur:
            with cur.copy("COPY survey_scores (tracking_code, sop, unit, requester_unit, score, comment, answered_at, "
                          "created_at) FROM STDIN") as copy:
                for i in range(answers):
                    org = rng.choices(orgs, weights)[0]
                    answered = NOW - timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))
                    score = rng.choices((1, 2, 3, 4, 5), (2, 4, 10, 40, 44))[0]
                    copy.write_row((f"SD-RPT{i:09d}", rng.choice(sops[org]), rng.choice((f"ict-{org}", f"svc-{org}", None)),
                                    "โรงเรียนบ้านนา", score, "บริการดีมาก" if score >= 4 and i % 7 == 0 else None,
                                    answered, answered))
        conn.execute(migration_backfill())
        conn.execute("SET session_replication_role = DEFAULT")
        conn.execute("CREATE TABLE IF NOT EXISTS bench_marker (answers integer)")
        conn.execute("DELETE FROM bench_marker")
        conn.execute("INSERT INTO bench_marker VALUES (%s)", (answers,))
        conn.commit()
    with psycopg.connect(db_url, autocommit=True, options="-c search_path=assignment") as conn:
        conn.execute("CREATE INDEX IF NOT EXISTS bench_survey_scores_answered ON survey_scores (answered_at)")
        conn.execute("VACUUM ANALYZE")
    print(f"filled {answers:,} answers in {time.perf_counter() - started:.0f} s", flush=True)


def filled(db_url: str) -> int | None:
    import psycopg

    try:
        with psycopg.connect(db_url, options="-c search_path=assignment") as conn:
            row = conn.execute("SELECT answers FROM bench_marker").fetchone()
    except psycopg.Error:
        return None
    return row[0] if row else None


def tokens() -> dict:
    from services.assignment.handlers import directory
    from shared.auth import issue_token

    password = secrets.token_urlsafe(12)
    out = {}
    for org in ORGS:
        directory.add_unit(f"ict-{org}", org, "ศูนย์เทคโนโลยีสารสนเทศ", "ICT centre")
    for username, roles, unit in (("director-up", ["director"], "ict-up"), ("head-ict-up", ["head"], "ict-up"),
                                  ("sysadmin", ["sysadmin"], None)):
        from services.assignment.adapters.bus import bus
        from services.assignment.adapters.models import User
        from sqlalchemy import select

        with bus.session() as session:
            user = session.scalar(select(User).where(User.username == username))
        if user is None:
            user = directory.add_user(username, password, roles, display_name=username, unit=unit)
        out[username] = issue_token(directory.staff_of(user))
    return out


def ask(port: int, path: str, token: str, times: int, warmup: int = 5) -> tuple[list[float], int]:
    timings, size = [], 0
    for i in range(warmup + times):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        begin = time.perf_counter()
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
        response = conn.getresponse()
        body = response.read()
        took = time.perf_counter() - begin
        conn.close()
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status} {body[:300]!r}")
        size = len(body)
        if i >= warmup:
            timings.append(took * 1000)
    return timings, size


def baseline(db_url: str, times: int) -> tuple[list[float], dict[str, int]]:
    """The same figures by one plain aggregate over the answers themselves (per SOP, unit and
    score, for one organisation's fiscal year), with an index on the moment answered."""
    import psycopg

    from shared.i18n import BANGKOK
    from shared.workcal import fiscal_year_bounds

    first, last = fiscal_year_bounds(FISCAL_YEAR)
    start = datetime.combine(first, datetime.min.time(), BANGKOK)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), BANGKOK)
    sql = ("SELECT sop, COALESCE(unit, ''), score, count(*) FROM survey_scores WHERE sop LIKE 'up/%%' "
           "AND answered_at >= %s AND answered_at < %s GROUP BY 1, 2, 3")
    timings, per_sop = [], {}
    with psycopg.connect(db_url, options="-c search_path=assignment -c random_page_cost=1.1") as conn:
        for i in range(5 + times):
            begin = time.perf_counter()
            rows = conn.execute(sql, (start, end)).fetchall()
            if i >= 5:
                timings.append((time.perf_counter() - begin) * 1000)
    for sop, _unit, _score, count in rows:
        per_sop[sop] = per_sop.get(sop, 0) + count
    return timings, per_sop


def main(argv=None) -> int:
    args = parse_args(argv)
    harness.exit_on_sigterm()
    work = Path(tempfile.mkdtemp(prefix="sopdesk-bench-reports-"))
    (work / "logs").mkdir()
    processes = harness.Processes(work / "logs")
    db_url = harness.with_database(args.admin_url, DB_NAME)
    try:
        redis_port = harness.start_redis(processes, work)
        _product_env(db_url, f"redis://127.0.0.1:{redis_port}/0", secrets.token_urlsafe(48))
        import psycopg

        from shared import migrations

        kept = filled(db_url) if args.reuse else None
        if kept != args.answers:
            with psycopg.connect(args.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{DB_NAME}"')
            migrations.upgrade("assignment")
            print(f"filling {args.answers:,} answers ...", flush=True)
            fill(db_url, args.answers)
        else:
            migrations.upgrade("assignment")
            print(f"reusing {DB_NAME}: {kept:,} answers")
        who = tokens()
        with psycopg.connect(db_url, options="-c search_path=assignment") as conn:
            days = conn.execute("SELECT count(*) FROM survey_tallies").fetchone()[0]
        print(f"rows: {args.answers:,} answers; {days:,} tallies by organisation, SOP, unit, day and score")
        port = harness.free_port()
        env = harness.clean_env(**{k: v for k, v in os.environ.items()
                                   if k.startswith(harness.PRODUCT_ENV_PREFIXES) or k in harness.PRODUCT_ENV_NAMES})
        processes.start("assignment gunicorn", [str(harness.BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}",
                                                *GUNICORN_FLAGS, 'sopdesk.gateway:service_app("assignment")'], env=env)
        harness.wait_status(port, "/assignment/health", time.monotonic() + 60)
        questions = [
            ("health (baseline: SELECT 1, a Redis ping)", "director-up", "/assignment/health"),
            (f"satisfaction, director, fiscal year {FISCAL_YEAR}", "director-up",
             f"/assignment/reports/satisfaction?fiscal_year={FISCAL_YEAR}"),
            ("satisfaction, director, every year", "director-up", "/assignment/reports/satisfaction"),
            (f"satisfaction, head, fiscal year {FISCAL_YEAR}", "head-ict-up",
             f"/assignment/reports/satisfaction?fiscal_year={FISCAL_YEAR}"),
            (f"satisfaction, sysadmin, fiscal year {FISCAL_YEAR}", "sysadmin",
             f"/assignment/reports/satisfaction?fiscal_year={FISCAL_YEAR}"),
            ("satisfaction, sysadmin, every year", "sysadmin", "/assignment/reports/satisfaction"),
        ]
        rows = []
        for name, person, path in questions:
            timings, size = ask(port, path, who[person], args.requests)
            rows.append([name, "HTTP", str(len(timings)), f"{harness.percentile(timings, 50):.1f}",
                         f"{harness.percentile(timings, 95):.1f}", f"{harness.percentile(timings, 99):.1f}",
                         f"{max(timings):.1f}", f"{size / 1024:.1f}"])
            print(f"  {name}: p99 {harness.percentile(timings, 99):.1f} ms", flush=True)
        timings, per_sop = baseline(db_url, args.requests)
        # the report says what the answers say: its answers per SOP are the baseline's
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.request("GET", f"/assignment/reports/satisfaction?fiscal_year={FISCAL_YEAR}",
                     headers={"Authorization": f"Bearer {who['director-up']}"})
        report = __import__("json").loads(conn.getresponse().read())
        reported = {g["key"]: g["answers"] for g in report["by_sop"]}
        print(f"the report's answers per SOP (up, {FISCAL_YEAR}) equal the baseline's: {reported == per_sop} "
              f"({sum(per_sop.values()):,} answers)")
        rows.append([f"baseline: one SQL aggregate over the answers (up, {FISCAL_YEAR})", "SQL", str(len(timings)),
                     f"{harness.percentile(timings, 50):.1f}", f"{harness.percentile(timings, 95):.1f}",
                     f"{harness.percentile(timings, 99):.1f}", f"{max(timings):.1f}", ""])
        print()
        print(harness.table(["question", "via", "n", "p50 ms", "p95 ms", "p99 ms", "max ms", "KB"], rows, "llrrrrrr"))
        print(f"\n{args.answers:,} answers; assignment under gunicorn ({' '.join(GUNICORN_FLAGS[:6])}); "
              f"goal: the satisfaction report in <= 200 ms")
        return 0
    finally:
        processes.stop_all()
        if not args.keep:
            with __import__("psycopg").connect(args.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
