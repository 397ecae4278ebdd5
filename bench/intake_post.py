"""How far is intake's POST /intake/requests from a bare Flask + SQLAlchemy + PostgreSQL insert?

    .venv/bin/python bench/intake_post.py [--rounds 5] [--seconds 10] [--connections 16] [--json FILE]

Starts, on this machine: a private Redis on a free port (intake publishes ``request.submitted``
to it after each commit; no workers consume it, and it is emptied before every round), two
scratch databases on the PostgreSQL server ``--admin-url`` names (intake's, migrated with
``sopdesk migrate --service intake``, and the bare app's), and two gunicorns with the SAME flags
(docker-compose.yml's for intake: 2 workers, 4 threads, access log):

* A: intake, ``sopdesk.gateway:service_app("intake")``, SOPDESK_ENV=production, rate limit raised;
* B: bench/bare_intake_app.py, which takes the same JSON and inserts one row per POST into a table
  with intake's request columns.

Then it alternates rounds, A B A B ..., each ``--seconds`` long, of ``wrk`` posting the same JSON
repair body (tests/stack.py's ``file_repair``) over ``--connections`` keep-alive connections,
after a short warm-up of each. Per round it prints requests/s, latency p50/p99, non-2xx answers,
the server's CPU-ms per request (gunicorn, the database's backends and Redis, from /proc) and
wrk's own CPU (the client must not be the bottleneck: it shares the 2 cores), and intake / bare;
then the overall figures. Everything it starts is stopped and its databases dropped.

Needs ``wrk`` (Debian: ``apt-get install -y wrk``).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (BIN, CpuMeter, Databases, Processes, Profiler, clean_env,  # noqa: E402
                           exit_on_sigterm, free_port, table, wait_port, wait_status)

GUNICORN_FLAGS = ["--workers", "2", "--threads", "4", "--access-logfile", "-", "--forwarded-allow-ips", "*"]
BODY = {
    "sop": "sesao-sc/repair", "requester_name": "ครูสมศรี ใจดี", "requester_email": "somsri@school.example",
    "requester_unit": "โรงเรียนบ้านทดสอบ", "subject": "คอมพิวเตอร์ห้องพักครูเปิดไม่ติด",
    "details": "กดปุ่มเปิดแล้วไม่มีไฟ", "consent": True, "asset_tag": "7440-001-0001/12",
    "location": "ห้องพักครู ชั้น 2",
}
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds of A then B")
    parser.add_argument("--seconds", type=int, default=10, help="length of each app's turn in a round")
    parser.add_argument("--connections", type=int, default=16, help="wrk's keep-alive connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk's threads")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up of each app, not counted")
    parser.add_argument("--admin-url",
                        default=os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
                        help="a PostgreSQL URL allowed to create databases")
    parser.add_argument("--json", help="also write the numbers to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs) and print where")
    parser.add_argument("--profile", metavar="DIR",
                        help="py-spy (--gil) intake's gunicorn during its first round: raw stacks and a summary in "
                             "DIR; the profiler slows what it samples, so that round's figures are not comparable")
    return parser.parse_args(argv)


def lua_script(path: Path, url_path: str) -> None:
    body = json.dumps(BODY, ensure_ascii=False)
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.path = \"{url_path}\"\n"
        f"wrk.body = [==[{body}]==]\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        'wrk.headers["Accept"] = "application/json"\n', encoding="utf-8")


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    return float(match[1]) * UNITS[match[2]] if match else float("nan")


def parse_wrk(output: str) -> dict:
    out = {"requests_per_s": float("nan"), "p50_ms": float("nan"), "p90_ms": float("nan"), "p99_ms": float("nan"),
           "requests": 0, "non_2xx": 0, "socket_errors": 0, "seconds": float("nan")}
    if m := re.search(r"Requests/sec:\s+([\d.]+)", output):
        out["requests_per_s"] = float(m[1])
    for q in ("50", "90", "99"):
        if m := re.search(rf"^\s+{q}(?:\.000)?%\s+(\S+)", output, re.M):
            out[f"p{q}_ms"] = _ms(m[1])
    if m := re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", output):
        out["requests"] = int(m[1])
        out["seconds"] = _ms(m[2] + m[3]) / 1000
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        out["non_2xx"] = int(m[1])
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        out["socket_errors"] = sum(int(x) for x in m.groups())
    return out


def run_wrk(port: int, script: Path, seconds: int, connections: int, threads: int) -> tuple[dict, float, str]:
    """One wrk run: (parsed numbers, wrk's CPU seconds, raw output)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency",
                           "-s", str(script), f"http://127.0.0.1:{port}"], capture_output=True, text=True,
                          timeout=seconds + 60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stdout}\n{done.stderr}")
    return parse_wrk(done.stdout), cpu, done.stdout


def first_post(name: str, port: int, seconds: float = 120) -> None:
    """One POST answered 201 (the port answers before gunicorn's workers have imported the app)."""
    wait_status(port, "/intake/requests", time.monotonic() + seconds, "POST",
                json.dumps(BODY, ensure_ascii=False).encode(), 201)


def count_rows(url: str, query: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchone()[0]


def main(argv=None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench/intake_post.py needs wrk: apt-get install -y wrk", file=sys.stderr)
        return 2
    exit_on_sigterm()
    workdir = Path(tempfile.mkdtemp(prefix="sopdesk-bench-intake-"))
    (workdir / "logs").mkdir()
    processes = Processes(workdir / "logs")
    databases = Databases(args.admin_url)
    started = time.time()
    load = os.getloadavg()
    try:
        from bench.harness import start_redis

        redis_port = start_redis(processes, workdir / "redis")
        intake_db, intake_url = databases.create()
        bare_db, bare_url = databases.create("_bare")
        postmaster = databases.postmaster_pid()
        env = clean_env(
            SOPDESK_ENV="production", DATABASE_URL=intake_url, REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
            SECRET_KEY=secrets.token_urlsafe(48), SOPDESK_PUBLIC_URL="http://127.0.0.1:8000",
            SMTP_HOST="127.0.0.1", SMTP_PORT="1", MAIL_FROM="sopdesk@bench.example",
            SOPDESK_RATE_LIMIT="1000000000/minute", SOPDESK_DATA_DIR=str(workdir / "data"),
            SOPDESK_FILES_DIR=str(workdir / "files"))
        done = subprocess.run([str(BIN / "sopdesk"), "migrate", "--service", "intake"], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"sopdesk migrate failed:\n{done.stdout}\n{done.stderr}")
        os.environ["BARE_DATABASE_URL"] = bare_url
        from bench import bare_intake_app

        bare_intake_app.create_table()
        bare_env = clean_env(BARE_DATABASE_URL=bare_url)

        apps = {}
        for name, app_env, target, db in (("intake", env, 'sopdesk.gateway:service_app("intake")', intake_db),
                                          ("bare", bare_env, "bench.bare_intake_app:create_app()", bare_db)):
            port = free_port()
            processes.start(f"web-{name}", [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", *GUNICORN_FLAGS,
                                            target], env=app_env)
            apps[name] = {"port": port, "db": db}
        for name, app in apps.items():
            wait_port(app["port"], 60, processes.children[f"web-{name}"])
            first_post(name, app["port"])
        script = workdir / "post.lua"
        lua_script(script, "/intake/requests")
        import redis

        broker = redis.Redis(port=redis_port)
        print(f"intake on :{apps['intake']['port']}, bare on :{apps['bare']['port']}; gunicorn "
              f"{' '.join(GUNICORN_FLAGS)}; wrk -t{args.threads} -c{args.connections}", flush=True)

        # warm-up (also checks that both answer 201)
        for name, app in apps.items():
            numbers, _cpu, raw = run_wrk(app["port"], script, args.warmup, args.connections, args.threads)
            if numbers["requests"] == 0 or numbers["non_2xx"] > 0:
                raise RuntimeError(f"{name} does not answer 201 to the POST:\n{raw}")
            print(f"[warm-up] {name}: {numbers['requests_per_s']:.0f} req/s", flush=True)

        rows_query = {"intake": "SELECT count(*) FROM intake.requests", "bare": "SELECT count(*) FROM bare_requests"}
        urls = {"intake": intake_url, "bare": bare_url}
        rounds = []
        for k in range(1, args.rounds + 1):
            for name in ("intake", "bare"):
                app = apps[name]
                broker.flushall()  # intake's published events: nobody consumes them here
                rows_before = count_rows(urls[name], rows_query[name])
                meter = CpuMeter(roots={"server": processes.children[f"web-{name}"].pid,
                                        "redis": processes.children["redis"].pid},
                                 postmaster=postmaster, databases=(app["db"],)).start()
                profile = None
                if args.profile and k == 1 and name == "intake":
                    profile = Profiler(Path(args.profile), {"web-intake": processes.children["web-intake"].pid})
                    profile.start()
                numbers, wrk_cpu, _raw = run_wrk(app["port"], script, args.seconds, args.connections, args.threads)
                cpu = meter.stop()
                if profile:
                    profile.stop()
                rows = count_rows(urls[name], rows_query[name]) - rows_before
                served = max(1, numbers["requests"])
                server_cpu = cpu.get("server", 0) + cpu.get("redis", 0) + cpu.get(CpuMeter.PG_BENCH, 0)
                entry = {"round": k, "app": name, **numbers, "rows_inserted": rows,
                         "cpu_ms_per_request": {"gunicorn": 1000 * cpu.get("server", 0) / served,
                                                "postgres": 1000 * cpu.get(CpuMeter.PG_BENCH, 0) / served,
                                                "redis": 1000 * cpu.get("redis", 0) / served,
                                                "total": 1000 * server_cpu / served},
                         "wrk_cpu_percent_of_a_core": 100 * wrk_cpu / max(1e-9, numbers["seconds"]),
                         "postgres_rest_of_server_cpu_s": cpu.get(CpuMeter.PG_OTHER, 0)}
                rounds.append(entry)
                print(f"[round {k}] {name}: {numbers['requests_per_s']:.0f} req/s, p50 {numbers['p50_ms']:.1f} ms, "
                      f"p99 {numbers['p99_ms']:.1f} ms, wrk {entry['wrk_cpu_percent_of_a_core']:.0f}% of a core",
                      flush=True)

        # --- report ---
        text = [f"bench/intake_post.py on this machine ({os.cpu_count()} cores, load average at start {load[0]:.2f}); "
                f"commit {_git_commit()}",
                f"both under gunicorn {' '.join(GUNICORN_FLAGS)}; PostgreSQL on the system server (shared with "
                f"other users: its other processes are not counted); wrk -t{args.threads} -c{args.connections} "
                f"--latency, {args.rounds} rounds of {args.seconds} s each, A (intake) then B (bare)",
                "CPU-ms per request: the app's gunicorn (master and workers) + the backends of its database + "
                "Redis (intake's rate limit and publish; the bare app does not use it)", ""]
        rows = []
        for k in range(1, args.rounds + 1):
            a = next(r for r in rounds if r["round"] == k and r["app"] == "intake")
            b = next(r for r in rounds if r["round"] == k and r["app"] == "bare")
            for r in (a, b):
                rows.append([k, r["app"], r["requests_per_s"], r["p50_ms"], r["p99_ms"], r["non_2xx"] + r["socket_errors"],
                             r["rows_inserted"], r["cpu_ms_per_request"]["gunicorn"], r["cpu_ms_per_request"]["postgres"],
                             r["cpu_ms_per_request"]["redis"], r["cpu_ms_per_request"]["total"],
                             f"{r['wrk_cpu_percent_of_a_core']:.0f}%",
                             f"{a['requests_per_s'] / b['requests_per_s']:.2f}x" if r is a else ""])
        text.append(table(["round", "app", "req/s", "p50 ms", "p99 ms", "errors", "rows", "CPU-ms web", "CPU-ms pg",
                           "CPU-ms redis", "CPU-ms total", "wrk CPU", "intake/bare"], rows))
        overall = {}
        for name in ("intake", "bare"):
            mine = [r for r in rounds if r["app"] == name]
            total_requests = sum(r["requests"] for r in mine)
            total_seconds = sum(r["seconds"] for r in mine)
            overall[name] = {
                "requests_per_s": total_requests / total_seconds,
                "p50_ms_median_of_rounds": sorted(r["p50_ms"] for r in mine)[len(mine) // 2],
                "p99_ms_median_of_rounds": sorted(r["p99_ms"] for r in mine)[len(mine) // 2],
                "cpu_ms_per_request": sum(r["cpu_ms_per_request"]["total"] * r["requests"] for r in mine) / total_requests,
                "errors": sum(r["non_2xx"] + r["socket_errors"] for r in mine),
                "wrk_cpu_percent_max": max(r["wrk_cpu_percent_of_a_core"] for r in mine),
            }
        ratios = sorted(next(r for r in rounds if r["round"] == k and r["app"] == "intake")["requests_per_s"]
                        / next(r for r in rounds if r["round"] == k and r["app"] == "bare")["requests_per_s"]
                        for k in range(1, args.rounds + 1))
        text.append("")
        text.append(table(["overall", "req/s", "p50 ms (median of rounds)", "p99 ms (median of rounds)",
                           "CPU-ms per request", "errors", "wrk CPU max"],
                          [[n, o["requests_per_s"], o["p50_ms_median_of_rounds"], o["p99_ms_median_of_rounds"],
                            o["cpu_ms_per_request"], o["errors"], f"{o['wrk_cpu_percent_max']:.0f}%"]
                           for n, o in overall.items()]))
        ratio = overall["intake"]["requests_per_s"] / overall["bare"]["requests_per_s"]
        cpu_ratio = overall["intake"]["cpu_ms_per_request"] / overall["bare"]["cpu_ms_per_request"]
        text.append("")
        text.append(f"intake / bare: {ratio:.2f}x the requests/s overall (per round {ratios[0]:.2f}x to "
                    f"{ratios[-1]:.2f}x, median {ratios[len(ratios) // 2]:.2f}x); {cpu_ratio:.1f}x the CPU per request")
        text.append(f"whole run {time.time() - started:.0f} s")
        print("\n" + "\n".join(text))
        if args.profile:
            from bench.profile_summary import summarise_folder

            summary = summarise_folder(Path(args.profile))
            (Path(args.profile) / "summary.txt").write_text(summary)
            print(f"\nprofile (round 1 of intake): raw stacks and summary.txt in {args.profile}")
        if args.json:
            Path(args.json).write_text(json.dumps({"args": vars(args), "load_at_start": load, "rounds": rounds,
                                                   "overall": overall, "ratio": ratio, "cpu_ratio": cpu_ratio},
                                                  indent=2))
        return 0
    finally:
        processes.stop_all()
        databases.drop_all()
        if args.keep:
            print(f"work folder kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip() or "?"
    except Exception:  # noqa: BLE001
        return "?"


if __name__ == "__main__":
    sys.exit(main())
