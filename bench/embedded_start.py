"""How long from ``sopdesk up`` to the first page? (The issue: within 10 s of ``make run``.)

    .venv/bin/python bench/embedded_start.py [--runs 3]

Each run starts ``sopdesk up`` (the embedded default: PostgreSQL and Redis from their wheels, the
four services, the worker, beat, the mail catcher) in a data folder of its own with free ports,
polls ``/intake/`` until it answers 200, then sends SIGINT and times the stop, and checks that
every process it started is gone and the port is free. The first run of a folder includes
``initdb`` (as the first ``make run`` after install); each folder is then started once more.
Nothing here is a test: the numbers depend on the machine and on what else runs on it.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SETTINGS_PREFIXES = ("SOPDESK_", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "SMTP_", "MAIL_FROM")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def one_run(data: Path, label: str) -> None:
    port, smtp = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_PREFIXES)}
    env.update(SOPDESK_DATA_DIR=str(data), SOPDESK_PORT=str(port), SMTP_PORT=str(smtp))
    log = open(data.parent / f"{data.name}-{label}.log", "wb")
    started = time.monotonic()
    up = subprocess.Popen([str(BIN / "sopdesk"), "up"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                          start_new_session=True)
    first_page = None
    while time.monotonic() - started < 120 and up.poll() is None:
        if status(f"http://127.0.0.1:{port}/intake/") == 200:
            first_page = time.monotonic() - started
            break
        time.sleep(0.05)
    time.sleep(3)  # the worker and beat start once the pages answer
    processes = descendants(up.pid)
    stopping = time.monotonic()
    up.send_signal(signal.SIGINT)
    code = up.wait(timeout=120)
    stopped = time.monotonic() - stopping
    left = sorted(pid for pid in processes if Path(f"/proc/{pid}").exists())
    with socket.socket() as probe:
        # as a server binds (gunicorn does): a closed connection's TIME_WAIT is no process holding it
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            port_free = True
        except OSError:
            port_free = False
    shown = f"{first_page:.1f} s" if first_page is not None else "never"
    print(f"{label:<8} first page {shown:>8}   stop {stopped:.1f} s (exit {code}, {len(processes)} processes, "
          f"{len(left)} left{'' if port_free else ', port still taken'})", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")
    with tempfile.TemporaryDirectory(prefix="sopdesk-start-") as tmp:
        for run in range(args.runs):
            data = Path(tmp) / f"data{run}"
            one_run(data, "fresh")
            one_run(data, "again")
    return 0


if __name__ == "__main__":
    sys.exit(main())
