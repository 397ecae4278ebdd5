"""``sopdesk up`` (``make run``) as its user meets it: a real process in a fresh data folder, with
its embedded PostgreSQL and Redis, the four services, the worker, beat and the mail catcher; a
worker killed with ``kill -9`` is started again; Ctrl-C stops every process it started; a
``sopdesk up`` that was itself killed leaves nothing that gets in the next one's way; a port
already taken is one line, not a traceback.

The time from start to the first page is printed (never asserted: it depends on the machine)."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared.mailcatcher import MailStore, free_port
from shared.pgserver import EmbeddedPostgres
from sopdesk.testing import wait_for
from tests import requests_shim as http
from tests.stack import embedded_dir, file_repair  # noqa: F401 - a fixture

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ("SOPDESK_", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "SMTP_", "MAIL_FROM")


def _env(data: Path, **settings: str) -> dict:
    """The environment of someone typing ``make run``: none of the test run's own settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS)}
    env.update(SOPDESK_DATA_DIR=str(data), SOPDESK_SWEEP_SECONDS="1", PYTHONUNBUFFERED="1", **settings)
    return env


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time in ticks) of a live process, None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (None if fields[0] == "Z" else (int(fields[1]), int(fields[19])))


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _tree(root: int) -> dict[int, int]:
    """Every live descendant of ``root``: pid -> start ticks (with the pid, one process for good)."""
    parents: dict[int, list[int]] = {}
    ticks = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            parents.setdefault(stat[0], []).append(int(entry.name))
            ticks[int(entry.name)] = stat[1]
    found, todo = {}, [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in found:
                found[child] = ticks[child]
                todo.append(child)
    return found


def _still_running(processes: dict[int, int]) -> list[str]:
    left = []
    for pid, started in processes.items():
        stat = _stat(pid)
        if stat is not None and stat[1] == started:
            left.append(f"{pid} {_cmdline(pid)[:100]}")
    return left


def _worker_of(up: subprocess.Popen) -> int | None:
    for pid in _tree(up.pid):
        stat = _stat(pid)  # read once: the process may be gone by a second reading
        if stat and stat[0] == up.pid and "sopdesk.cli worker" in _cmdline(pid):
            return pid
    return None


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _status(url: str) -> int:
    try:
        return http.get(url).status
    except OSError:
        return 0


def _mails(store: MailStore, code: str) -> list:
    return [m for m in store.all() if "somsri@school.example" in m.envelope_to and code in str(m.message["Subject"])]


class _Up:
    """One ``sopdesk up`` child, its output in a file."""

    def __init__(self, env: dict, log: Path) -> None:
        self.log = log
        self.started = time.monotonic()
        with open(log, "ab") as out:
            self.process = subprocess.Popen([str(BIN / "sopdesk"), "up"], cwd=ROOT, env=env, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def first_page(self, base: str, after_banner: bool = False) -> float:
        """Seconds from the start until ``/intake/`` answers 200 (``after_banner``: and this
        ``sopdesk up`` has said it is running, when another one's web process may still answer)."""
        wait_for(lambda: self.process.poll() is not None or (
            (not after_banner or "sopdesk is running" in self.output()) and _status(f"{base}/intake/") == 200),
            timeout=120, interval=0.05, message="the first page")
        assert self.process.poll() is None, self.output()
        return time.monotonic() - self.started


@pytest.fixture
def ups():
    """The ``sopdesk up`` processes a test starts; whatever a failed test leaves is killed."""
    started: list[_Up] = []
    yield started
    for up in started:
        if up.process.poll() is None:
            for pid in list(_tree(up.process.pid)) + [up.process.pid]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            up.process.wait(timeout=10)


def test_sopdesk_up_serves_mails_restarts_a_killed_worker_and_stops_everything(embedded_dir, ups, tmp_path,
                                                                                capsys):
    port, smtp = free_port(), free_port()
    env = _env(embedded_dir, SOPDESK_PORT=str(port), SMTP_PORT=str(smtp))
    base = f"http://127.0.0.1:{port}"
    up = _Up(env, tmp_path / "up-1.log")
    ups.append(up)
    first_page = up.first_page(base)
    with capsys.disabled():
        print(f"\n  sopdesk up: first page {first_page:.1f} s after start (fresh data folder, initdb included)")
    page = http.get(f"{base}/intake/")
    assert page.status == 200 and "/intake/forms/sesao-sc/repair" in page.text
    assert http.get(f"{base}/intake/health").json()["database"] == "ok"

    # the database is the embedded PostgreSQL 18, one schema per service; a command finds it
    added = subprocess.run([str(BIN / "sopdesk"), "users", "add", "--username", "clerk1", "--password",
                            "clerk-password-1", "--role", "officer", "--unit", "demo-ict"], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert added.returncode == 0, added.stderr
    login = http.post_json(f"{base}/assignment/auth/token", {"username": "clerk1", "password": "clerk-password-1"})
    assert login.status == 200, "the web processes read the same database"
    postgres = EmbeddedPostgres(embedded_dir)
    with postgres.connect() as conn:
        assert conn.execute("SHOW server_version").fetchone()[0].startswith("18")
        schemas = {row[0] for row in conn.execute("SELECT nspname FROM pg_namespace")}
        assert {"intake", "assignment", "notify", "procurement"} <= schemas
        assert conn.execute("SELECT count(*) FROM assignment.users WHERE username = 'clerk1'").fetchone()[0] == 1
    assert not (embedded_dir / "intake.db").exists()

    # the demo data, loaded by its job once the worker runs, through the use cases (tests/test_demo.py
    # checks what it holds); on this first start only
    wait_for(lambda: "sopdesk demo: loaded" in up.output() or up.process.poll() is not None, timeout=180,
             message="the demo data")
    with postgres.connect() as conn:
        assert conn.execute("SELECT count(*) FROM procurement.assets WHERE tag LIKE 'DEMO-%'").fetchone()[0] == 4
        assert conn.execute("SELECT count(*) FROM assignment.cases WHERE subject LIKE '%(ทดลอง)%'").fetchone()[0] == 5
    assert (embedded_dir / "demo-data.json").exists()

    # a second sopdesk up on the same folder: one line, and the first one goes on
    again = subprocess.run([str(BIN / "sopdesk"), "up"], env=dict(env, SOPDESK_PORT=str(free_port())), cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "another sopdesk up" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1 and "Traceback" not in again.stderr

    # a request filed over HTTP reaches the requester through the worker and the mail catcher
    store = MailStore(embedded_dir / "mail")
    code = file_repair(base)["tracking_code"]
    wait_for(lambda: _mails(store, code), timeout=60, message="the first email in the catcher")
    assert code in http.get(f"{base}/mail/").text
    with postgres.connect() as conn:
        assert conn.execute("SELECT count(*) FROM intake.requests WHERE tracking_code = %s",
                            (code,)).fetchone()[0] == 1

    # kill -9 the worker: sopdesk up starts another, which handles the next request
    worker = _worker_of(up.process)
    assert worker is not None
    os.kill(worker, signal.SIGKILL)
    wait_for(lambda: _worker_of(up.process) not in (None, worker), timeout=30, message="a new worker")
    assert f"the worker process (pid {worker}) was killed by SIGKILL; starting it again" in up.output()
    second = file_repair(base)["tracking_code"]
    wait_for(lambda: _mails(store, second), timeout=60, message="the email the new worker sends")
    assert up.process.poll() is None

    # Ctrl-C: every process it started is gone (PostgreSQL's, gunicorn's workers...), the ports free
    processes = _tree(up.process.pid)
    commands = " | ".join(_cmdline(pid) for pid in processes)
    assert "postgres" in commands and "redis-server" in commands and "sopdesk.cli beat" in commands
    assert sum("gunicorn" in _cmdline(pid) for pid in processes) == 3, "the master and its two workers"
    up.process.send_signal(signal.SIGINT)
    assert up.process.wait(timeout=90) == 0, up.output()
    assert _still_running(processes) == []
    assert _port_free(port) and _port_free(smtp)
    assert not (embedded_dir / "postgres" / "data" / "postmaster.pid").exists(), "PostgreSQL shut down cleanly"
    assert not postgres.answers()
    assert "Traceback" not in up.output()

    # a sopdesk up killed with kill -9 leaves its processes running; the next one stops them, says
    # so in one line, and starts afresh on the same data
    killed = _Up(env, tmp_path / "up-2.log")
    ups.append(killed)
    killed.first_page(base)
    wait_for(lambda: _worker_of(killed.process) is not None, message="the worker of the second sopdesk up")
    left_behind = _tree(killed.process.pid)
    killed.process.kill()
    killed.process.wait(timeout=10)
    assert _still_running(left_behind), "its children live on without it"
    third = _Up(env, tmp_path / "up-3.log")
    ups.append(third)
    restart_page = third.first_page(base, after_banner=True)
    with capsys.disabled():
        print(f"  sopdesk up: running {restart_page:.1f} s after start (existing data folder, after stopping "
              f"what a killed sopdesk up left)")
    assert re.search(r"the sopdesk up that ran here before \(pid \d+\) did not stop cleanly; stopping what it left "
                     r"running: postgres \(pid \d+\), broker \(pid \d+\), web \(pid \d+\), worker", third.output())
    assert _still_running(left_behind) == []
    login = http.post_json(f"{base}/assignment/auth/token", {"username": "clerk1", "password": "clerk-password-1"})
    assert login.status == 200, "the same data"
    processes = _tree(third.process.pid)
    third.process.send_signal(signal.SIGTERM)
    assert third.process.wait(timeout=90) == 0, third.output()
    assert _still_running(processes) == [] and _port_free(port)
    assert "Traceback" not in third.output()


@pytest.mark.parametrize("taken", ["web", "smtp"])
def test_a_port_already_taken_is_one_line_and_exit_2_before_anything_starts(embedded_dir, taken):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        port, smtp = (busy, free_port()) if taken == "web" else (free_port(), busy)
        result = subprocess.run([str(BIN / "sopdesk"), "up"], env=_env(embedded_dir, SOPDESK_PORT=str(port),
                                                                       SMTP_PORT=str(smtp)),
                                cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    [line] = result.stderr.strip().splitlines()
    assert f"port {busy} " in line and ("SOPDESK_PORT" if taken == "web" else "SMTP_PORT") in line
    assert not (embedded_dir / "postgres").exists(), "checked before anything starts"


def test_a_command_says_in_one_line_when_the_embedded_postgres_is_not_running(embedded_dir):
    result = subprocess.run([str(BIN / "sopdesk"), "users", "add", "--username", "x1", "--password", "password-1",
                             "--role", "officer"], env=_env(embedded_dir), cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "the embedded PostgreSQL" in line and "not running" in line and "sopdesk up" in line
