"""The desk staff live in, at a million cases: how fast do the desk, the case list with each of
its filters, a Thai search, a deep page and a long case page answer?

    .venv/bin/python bench/desk.py [--cases 1000000] [--requests 200] [--reuse] [--keep]

1. Fills a PostgreSQL database (``sopdesk_bench_desk`` on ``--admin-url``; built by the real
   migrations, with the five packs loaded and staff added through the real directory) with
   ``--cases`` cases written as rows of the real models' tables (``Case``, ``CaseStep``,
   ``TrailEntry``): five organisations of different sizes, two units each, Thai subjects, details,
   requesters and form values; about 96% closed (completed, rejected, withdrawn) and the rest open,
   some waiting on the requester, some late, some not yet assigned; each case's steps are its SOP's
   first steps with their roles, held by people of one unit, and its trail says who did what. One
   case has a trail of 400 entries. Each case's search text is made by ``domain.search.document``
   as the product makes it. The fill takes minutes; with ``--reuse`` a database filled before (of
   the same size) is used as it is.
2. Starts assignment under gunicorn with compose's flags (2 workers, 4 threads), production
   settings, its own Redis.
3. Asks each question ``--requests`` times, one after another, each on a new connection (so that
   both gunicorn workers answer some; after 10 unmeasured), as the person the question is for (a bearer token), and prints each
   one's p50, p95, p99 and largest time, and the size of the answer. The baseline in the same run
   is the service's health endpoint (a SELECT 1, a Redis ping and the outbox's owed events: no
   case is read): what any answer of this service costs on this machine.

The goal (issue 14): p99 <= 100 ms for each question.
"""
from __future__ import annotations

import argparse
import json
import random
import secrets
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402

DB_NAME = "sopdesk_bench_desk"
GUNICORN_FLAGS = harness.GUNICORN_FLAGS
# each organisation's share of the cases: offices are of different sizes
ORGS = {"up": 0.40, "rmutl": 0.25, "onesqa": 0.15, "sesao-sc": 0.12, "sesao30": 0.08}
OFFICERS_PER_UNIT = 12
NOW = datetime.now(timezone.utc).replace(microsecond=0)
SPAN_DAYS = 4 * 365  # the cases were received over four years

WHAT = ["เครื่องพิมพ์", "คอมพิวเตอร์", "จอภาพ", "อินเทอร์เน็ต", "ระบบสารบรรณ", "เว็บไซต์", "อีเมล", "บัญชีผู้ใช้",
        "เครื่องสำรองไฟ", "โปรเจกเตอร์", "ระบบลา", "เครือข่ายไร้สาย", "กล้องวงจรปิด", "ฐานข้อมูลนักเรียน", "Printer", "Wi-Fi"]
PROBLEM = ["เสีย", "เปิดไม่ติด", "ใช้งานไม่ได้", "ช้ามาก", "ขอติดตั้งใหม่", "ขอเพิ่มสิทธิ์", "ขอแก้ไขข้อมูล", "กระดาษติด",
           "จอฟ้า", "ลืมรหัสผ่าน", "ขอเผยแพร่ข่าว", "ขอย้ายเครื่อง"]
WHERE = ["ห้องพักครู ชั้น 2", "อาคาร 3 ชั้น 4", "ห้องประชุมใหญ่", "กลุ่มบริหารงานบุคคล", "ห้องสมุด", "ห้องธุรการ",
         "ศูนย์คอมพิวเตอร์", "ห้องผู้อำนวยการ", "กลุ่มนโยบายและแผน", "ห้องปฏิบัติการ 1"]
FIRST = ["สมชาย", "สมหญิง", "มานี", "ปิติ", "ชูใจ", "วีระ", "อรุณี", "ประเสริฐ", "กมลา", "สุนทร", "พรทิพย์", "ธนพล",
         "ณัฐวุฒิ", "ศิริพร", "อนุชา", "วันเพ็ญ"]
LAST = ["ใจดี", "รักเรียน", "มีนา", "ศรีสุข", "ทองคำ", "แสงทอง", "บุญมา", "พรหมมา", "สุขใจ", "วงศ์ไทย", "อินทร์แก้ว",
        "ชัยมงคล"]
SCHOOLS = ["โรงเรียนบ้านนา", "โรงเรียนวัดใหม่", "กลุ่มส่งเสริมการศึกษา", "คณะวิศวกรรมศาสตร์", "คณะบริหารธุรกิจ",
           "สำนักงานอธิการบดี", "กองคลัง", "กองกลาง", "โรงเรียนอนุบาลเมือง", "ฝ่ายบริหารทั่วไป"]
RARE_NAME = "ศุภวรรณ ธาราทิพย์"  # one requester the search must find among a million


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    harness.filled_db_args(parser, requests=200)
    parser.add_argument("--only", default="", help="ask only the questions whose names contain this")
    parser.add_argument("--fill-only", action="store_true", help="fill (or check) the database and stop (with --keep)")
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------------------------
# the fill


def staff_world() -> dict:
    """Units and people of each organisation, through the real directory: per organisation a
    director, and two units each with a head, an intake clerk and officers."""
    from services.assignment.handlers import directory

    world = {}
    password = secrets.token_urlsafe(12)
    for org in ORGS:
        units = {}
        for unit_key, th, en in ((f"ict-{org}", "ศูนย์เทคโนโลยีสารสนเทศ", "ICT centre"),
                                 (f"svc-{org}", "งานบริการคอมพิวเตอร์", "Computer services")):
            directory.add_unit(unit_key, org, th, en)
            people = [(f"head-{unit_key}", ["head"]), (f"clerk-{unit_key}", ["intake-clerk"])]
            people += [(f"off-{unit_key}-{i:02d}", ["officer"]) for i in range(OFFICERS_PER_UNIT)]
            for username, roles in people:
                directory.add_user(username, password, roles, display_name=f"{random.choice(FIRST)} {random.choice(LAST)}",
                                   email=f"{username}@bench.example", unit=unit_key)
            units[unit_key] = [u for u, r in people if "officer" in r]
        directory.add_user(f"director-{org}", password, ["director"], display_name="ผู้อำนวยการ",
                           email=f"director-{org}@bench.example", unit=f"ict-{org}")
        world[org] = units
    directory.add_user("sysadmin", password, ["sysadmin"], display_name="ผู้ดูแลระบบ", email="sys@bench.example")
    return world


def read_models_backfill() -> str:
    """The SQL the migration that made the read models (``case_people``, ``case_units``,
    ``case_tallies``) fills them with from the cases already there."""
    return harness.migration("assignment", "f6d1a8c3e2b7").BACKFILL


def _copy(conn, table, columns: list[str], rows) -> int:
    """COPY rows into ``table`` (a model's table): the fastest way PostgreSQL takes a million rows."""
    count = 0
    with conn.cursor() as cur:
        with cur.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    return count


def fill(db_url: str, cases: int, seed: int = 14, deadlines_kept: bool = False) -> dict:
    """The cases, their steps and trail, written through COPY into the real tables. The
    organisations' staff are made first (``staff_world``); the answer names the case with the
    long trail. ``deadlines_kept``: a closed case keeps its deadline, as the engine leaves it (the
    reports count the cases closed by it); without, only open cases have one (the desk's fill)."""
    import psycopg

    from services.assignment.adapters.models import Case, CaseStep, TrailEntry
    from services.assignment.domain import search
    from shared.packs import builtin_packs

    rng = random.Random(seed)
    world = staff_world()
    packs = builtin_packs()
    sops = {org: [s for s in packs[org].sops.values() if s.requester] or list(packs[org].sops.values())
            for org in ORGS}
    case_cols = ["id", "tracking_code", "request_event_id", "sop", "org", "pack_version", "status", "subject",
                 "details", "requester_name", "requester_unit", "fields", "channel", "received_at", "opened_at",
                 "closed_at", "current_step", "due_at", "result", "paused_since", "paused_minutes", "team",
                 "values", "seq", "attachments", "search_text"]
    step_cols = ["case_id", "org", "position", "step", "round", "role", "assignee", "status", "waiting_on", "started_at",
                 "completed_at", "due_at", "outcome", "actor"]
    trail_cols = ["case_id", "at", "step", "round", "kind", "actor", "outcome", "note", "data"]
    for table, cols in ((Case, case_cols), (CaseStep, step_cols), (TrailEntry, trail_cols)):
        known = {c.name for c in table.__table__.columns}
        assert set(cols) <= known, f"{table.__tablename__} has no {set(cols) - known}"
    steps_out: list = []
    trail_out: list = []
    started = time.perf_counter()
    orgs = list(ORGS)
    weights = [ORGS[o] for o in orgs]
    long_trail_code = None
    with psycopg.connect(db_url, options="-c search_path=assignment") as conn:
        conn.execute("SET synchronous_commit = off")
        # the tables' own indexes (not those behind a key) are made again after the rows are in:
        # building an index once is far quicker than keeping it up to date a row at a time
        indexes = conn.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'assignment' "
            "AND i.tablename IN ('cases', 'case_steps', 'case_trail') AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conname = i.indexname)").fetchall()
        for name, _definition in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.commit()
        # the read models' triggers (who took part, the tallies) are not fired row by row: the
        # migration's own backfill makes them from the rows at the end, as it does on an upgrade
        conn.execute("SET session_replication_role = replica")

        def case_rows():
            nonlocal long_trail_code
            for n in range(cases):
                org = rng.choices(orgs, weights)[0]
                sop = rng.choice(sops[org])
                unit = rng.choice(list(world[org]))
                officers = world[org][unit]
                case_id = f"{n:08x}-0000-4000-8000-{rng.getrandbits(48):012x}"
                code = f"SD-{org[:2].upper()}{n % 997:03d}-{n:07d}"
                received = NOW - timedelta(days=SPAN_DAYS * (1 - n / cases), minutes=rng.randint(0, 600))
                subject = f"{rng.choice(WHAT)} {rng.choice(PROBLEM)}"
                details = f"{subject} ที่{rng.choice(WHERE)} แจ้งเมื่อเช้านี้ รบกวนตรวจสอบด้วยค่ะ"
                requester = RARE_NAME if n == cases // 2 else f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                requester_unit = rng.choice(SCHOOLS)
                fields = {"location": rng.choice(WHERE), "asset_tag": f"7440-{n % 1000:03d}-{n:07d}"}
                roll = rng.random()
                recent = n > cases * 0.97  # the last 3% are still open
                if recent:
                    status, result, closed = "open", None, None
                else:
                    status = "closed"
                    result = "completed" if roll < 0.9 else ("rejected" if roll < 0.97 else "withdrawn")
                    closed = received + timedelta(days=rng.randint(1, 20))
                # the SOP's first steps, the last one open on an open case
                definitions = [s for s in sop.steps if not s.is_requester_step or s.wait] or list(sop.steps)
                taken = definitions[:rng.randint(1, min(5, len(definitions)))]
                at = received
                current, paused = None, None
                trail_out.append((case_id, received, None, None, "opened", "requester", None, None, '{"channel":"web"}'))
                for position, definition in enumerate(taken):
                    is_last = position == len(taken) - 1
                    assignee = None if definition.is_requester_step else rng.choice(officers)
                    open_step = recent and is_last
                    step_due = at + timedelta(days=rng.choice([1, 2, 3, 5])) if rng.random() < 0.7 else None
                    if open_step:
                        if rng.random() < 0.1 and not definition.is_requester_step:
                            assignee = None  # not given out yet
                        current = definition.key
                        # a fifth of the open cases wait on someone outside the staff (a vendor,
                        # when their step does not wait on the requester already): the waiting filter
                        waiting = definition.wait or ("vendor" if rng.random() < 0.2 else None)
                        if waiting == "requester":
                            paused = at
                        steps_out.append((case_id, org, position, definition.key, 1, definition.role, assignee, "active",
                                          waiting, at, None, step_due, None, None))
                        trail_out.append((case_id, at, definition.key, 1, "started", "sopdesk", None, None, "{}"))
                    else:
                        done = at + timedelta(hours=rng.randint(1, 72))
                        outcome = next(iter(definition.outcomes))
                        actor = assignee or "requester"
                        steps_out.append((case_id, org, position, definition.key, 1, definition.role, assignee, "done",
                                          None, at, done, step_due, outcome, actor))
                        trail_out.append((case_id, at, definition.key, 1, "started", "sopdesk", None, None, "{}"))
                        trail_out.append((case_id, done, definition.key, 1, "action", actor, outcome,
                                          "ดำเนินการเรียบร้อย", "{}"))
                        at = done
                if n == cases - 10:  # an open case worked for a long time: a trail of 400 entries
                    long_trail_code = code
                    for i in range(400):
                        trail_out.append((case_id, at + timedelta(minutes=i), current, 1, "note", rng.choice(officers),
                                          None, f"บันทึกความคืบหน้า ครั้งที่ {i + 1}: {rng.choice(PROBLEM)}", "{}"))
                if status == "closed":
                    trail_out.append((case_id, closed, None, None, "closed", "sopdesk", None, None,
                                      json.dumps({"result": result})))
                case_due = received + timedelta(days=3) if sop.deadline.kind == "fixed" else None
                yield (case_id, code, case_id, sop.full_key, org, packs[org].version, status, subject, details,
                       requester, requester_unit, json.dumps(fields, ensure_ascii=False), "web", received, received,
                       closed, current, case_due if status == "open" or deadlines_kept else None, result, paused, 0,
                       "[]", "{}", len(taken) * 2, "[]",
                       search.document(code, subject, details, requester, requester_unit, fields))

        written = 0
        batch = 20_000
        source = case_rows()
        while written < cases:
            chunk = [row for _, row in zip(range(batch), source)]
            written += _copy(conn, "cases", case_cols, chunk)
            _copy(conn, "case_steps", step_cols, steps_out)
            _copy(conn, "case_trail", trail_cols, trail_out)
            steps_out.clear()
            trail_out.clear()
            conn.commit()
            if written % 100_000 == 0:
                print(f"  {written:,} cases written ({time.perf_counter() - started:.0f} s)", flush=True)
        conn.execute("SET maintenance_work_mem = '512MB'")
        for name, definition in indexes:
            conn.execute(definition)
            conn.commit()
        print(f"  {len(indexes)} indexes made again ({time.perf_counter() - started:.0f} s)", flush=True)
        conn.execute(read_models_backfill())  # (its triggers still off: it counts what it fills)
        conn.execute("SET session_replication_role = DEFAULT")
        conn.commit()
        print(f"  read models made ({time.perf_counter() - started:.0f} s)", flush=True)
    with psycopg.connect(db_url, autocommit=True, options="-c search_path=assignment") as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"filled {cases:,} cases in {time.perf_counter() - started:.0f} s", flush=True)
    return {"long_trail": long_trail_code}


def filled(db_url: str) -> dict | None:
    """The size and long trail's case of the database a fill of this script left, or None."""
    marker = harness.read_marker(db_url)
    return marker if marker and {"cases", "long_trail"} <= set(marker) else None


# ---------------------------------------------------------------------------------------------
# the questions


def tokens_and_facts(db_url: str) -> dict:
    """Tokens of the people who ask, and the facts the questions name (the busiest officer, the
    head of the biggest unit, a SOP and one of its steps)."""
    import psycopg

    from services.assignment.adapters.bus import bus
    from services.assignment.adapters.models import User
    from services.assignment.handlers import directory
    from shared.auth import issue_token
    from sqlalchemy import select

    with psycopg.connect(db_url, options="-c search_path=assignment") as conn:
        officer = conn.execute("SELECT assignee FROM case_steps WHERE status = 'active' AND assignee LIKE 'off-ict-up-%%' "
                               "GROUP BY assignee ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
        open_steps = conn.execute("SELECT count(*) FROM case_steps WHERE status = 'active' AND assignee = %s",
                                  (officer,)).fetchone()[0]
        held = conn.execute("SELECT count(DISTINCT case_id) FROM case_steps WHERE assignee = %s", (officer,)).fetchone()[0]
        sop, step = conn.execute("SELECT sop, current_step FROM cases WHERE org = 'up' AND status = 'open' "
                                 "GROUP BY sop, current_step ORDER BY count(*) DESC LIMIT 1").fetchone()
    with bus.session() as session:
        def token(username):
            user = session.scalar(select(User).where(User.username == username))
            return issue_token(directory.staff_of(user, session))

        return {"officer": token(officer), "head": token("head-ict-up"), "director": token("director-up"),
                "sysadmin": token("sysadmin"), "officer_name": officer, "officer_open": open_steps,
                "officer_held": held, "sop": sop, "step": step}


def questions(facts: dict, long_trail: str, cases: int) -> list[tuple[str, str, str]]:
    """(name, who asks, path) for each question."""
    year_ago = (NOW - timedelta(days=365)).date()
    month = [(year_ago.replace(day=1)).isoformat(), (year_ago.replace(day=28)).isoformat()]
    be = lambda iso: f"{iso[8:10]}/{iso[5:7]}/{int(iso[:4]) + 543}"  # noqa: E731
    deep = int(max(1, min(10_000, (cases * ORGS["up"]) // 25 - 1)))
    return [
        ("health (baseline: SELECT 1, a Redis ping)", "director", "/assignment/health"),
        ("officer's desk", "officer", "/assignment/desk"),
        ("head's desk", "head", "/assignment/desk"),
        ("case list: director, newest first", "director", "/assignment/cases"),
        ("case list: officer, everything they ever held", "officer", "/assignment/cases"),
        ("case list: head, everything the unit ever held", "head", "/assignment/cases"),
        ("case list: sysadmin, all organisations", "sysadmin", "/assignment/cases"),
        ("filter status=open", "director", "/assignment/cases?status=open"),
        ("filter status=waiting", "director", "/assignment/cases?status=waiting"),
        ("filter status=closed", "director", "/assignment/cases?status=closed"),
        ("filter status=rejected", "director", "/assignment/cases?status=rejected"),
        ("filter sop", "director", f"/assignment/cases?sop={quote(facts['sop'])}"),
        ("filter sop+step", "director", f"/assignment/cases?sop={quote(facts['sop'])}&step={quote(facts['step'])}"),
        ("filter unit", "director", "/assignment/cases?unit=ict-up"),
        ("filter assignee", "director", f"/assignment/cases?assignee={facts['officer_name']}"),
        ("filter overdue=true", "director", "/assignment/cases?overdue=true"),
        ("filter overdue, the officer's", "officer", "/assignment/cases?overdue=true&sort=due_at"),
        ("filter received between (BE dates)", "director",
         f"/assignment/cases?received_from={be(month[0])}&received_to={be(month[1])}"),
        ("sort due_at", "director", "/assignment/cases?status=open&sort=due_at"),
        ("search Thai: เครื่องพิมพ์ (common)", "director", "/assignment/cases?" + urlencode({"q": "เครื่องพิมพ์"})),
        ("search Thai: two words", "director", "/assignment/cases?" + urlencode({"q": "จอภาพ ห้องสมุด"})),
        ("search Thai: one requester among all", "sysadmin", "/assignment/cases?" + urlencode({"q": "ธาราทิพย์"})),
        ("search Thai: sysadmin", "sysadmin", "/assignment/cases?" + urlencode({"q": "ระบบสารบรรณ ลืมรหัสผ่าน"})),
        ("page 1", "director", "/assignment/cases?page=1&per_page=25"),
        (f"page {deep:,}", "director", f"/assignment/cases?page={deep}&per_page=25"),
        ("page 10,000 (sysadmin)", "sysadmin", "/assignment/cases?page=10000&per_page=25"),
        ("desk list page (HTML), Thai search", "director", "/assignment/desk/cases?" + urlencode({"q": "เครื่องพิมพ์", "lang": "th"})),
        ("case page: long trail (HTML)", "sysadmin", f"/assignment/desk/cases/{long_trail}?lang=th"),
        ("case: long trail (API)", "sysadmin", f"/assignment/cases/{long_trail}"),
    ]


def ask(port: int, path: str, token: str, times: int, warmup: int = 10) -> tuple[list[float], int, int]:
    """``harness.ask`` (each GET on a new connection, so that both workers answer some), HTML for
    the desk's pages; the times, the size and ``X-Total-Count`` (-1 without)."""
    timings, size, headers = harness.ask(port, path, token, times, warmup,
                                         accept="text/html" if "/desk" in path else "application/json")
    return timings, size, int(headers.get("X-Total-Count") or -1)


def main(argv=None) -> int:
    args = parse_args(argv)
    harness.exit_on_sigterm()
    work = Path(tempfile.mkdtemp(prefix="sopdesk-bench-desk-"))
    (work / "logs").mkdir()
    processes = harness.Processes(work / "logs")
    db_url = harness.with_database(args.admin_url, DB_NAME)
    secret = secrets.token_urlsafe(48)
    try:
        redis_port = harness.start_redis(processes, work)
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        harness.product_env(db_url, redis_url, secret)
        import psycopg

        marker = filled(db_url) if args.reuse else None
        if marker is not None and marker["cases"] != args.cases:
            print(f"the database holds {marker['cases']:,} cases, not {args.cases:,}: filling it anew")
            marker = None
        if marker is None:
            harness.new_database(args.admin_url, DB_NAME)
            from services.assignment.adapters import packstore
            from shared import migrations

            migrations.upgrade("assignment")
            packstore.load_builtin_packs()
            print(f"filling {args.cases:,} cases ...", flush=True)
            marker = {"cases": args.cases, **fill(db_url, args.cases)}
            harness.write_marker(db_url, cases=marker["cases"], long_trail=marker["long_trail"])
        else:
            from shared import migrations

            migrations.upgrade("assignment")  # the product's newest tables, on the rows kept
            print(f"reusing {DB_NAME}: {marker['cases']:,} cases")
        if args.fill_only:
            return 0
        facts = tokens_and_facts(db_url)
        with psycopg.connect(db_url, options="-c search_path=assignment") as conn:
            counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                      for t in ("cases", "case_steps", "case_trail", "users")}
            open_cases = conn.execute("SELECT count(*) FROM cases WHERE status = 'open'").fetchone()[0]
        print(f"rows: {counts['cases']:,} cases ({open_cases:,} open), {counts['case_steps']:,} steps, "
              f"{counts['case_trail']:,} trail entries, {counts['users']} staff; the officer asking holds "
              f"{facts['officer_open']} open steps and has held steps of {facts['officer_held']:,} cases")

        port = harness.serve(processes, "assignment")
        rows = []
        worst = 0.0
        over: list[str] = []
        for name, who, path in questions(facts, marker["long_trail"], marker["cases"]):
            if args.only and args.only not in name:
                continue
            times = args.requests
            timings, size, total = ask(port, path, facts[who], times)
            p99 = harness.percentile(timings, 99)
            if not name.startswith("health"):
                worst = max(worst, p99)
            over += [name] if p99 > 100 and not name.startswith("health") else []
            rows.append([name, who, str(times), f"{harness.percentile(timings, 50):.1f}", f"{harness.percentile(timings, 95):.1f}",
                         f"{p99:.1f}", f"{max(timings):.1f}", f"{size / 1024:.1f}", f"{total:,}" if total >= 0 else ""])
            print(f"  {name}: p99 {p99:.1f} ms", flush=True)
        print()
        print(harness.table(["question", "asked by", "n", "p50 ms", "p95 ms", "p99 ms", "max ms", "KB", "X-Total-Count"],
                            rows, "llrrrrrrr"))
        print(f"\n{args.requests} timed requests per question, one at a time; assignment under gunicorn "
              f"({' '.join(GUNICORN_FLAGS[:6])}); {marker['cases']:,} cases. Worst p99 (not counting the "
              f"baseline): {worst:.1f} ms. Over the goal of p99 <= 100 ms: "
              f"{'; '.join(over) if over else 'none'}")
        return 0
    finally:
        processes.stop_all()
        if not args.keep and not args.reuse:
            harness.drop_database(args.admin_url, DB_NAME)


if __name__ == "__main__":
    sys.exit(main())
