"""Where the tests' real services come from, chosen once per run:

* PostgreSQL: ``DATABASE_URL`` when set, else the server on 127.0.0.1:5432 when it answers, else a
  testcontainers container when a Docker engine answers, else the run stops with one line saying
  what is missing. A fresh database is created for the run and dropped after it.
* Redis: ``REDIS_URL`` when set, else 127.0.0.1:6379, else testcontainers, else stop. The run takes
  one of its numbered databases, empty, and empties it again afterwards.
* SMTP: a real SMTP listener (aiosmtpd) on a free loopback port, for the whole run.

The environment is set in ``pytest_configure``, before any test module is imported and so before
any sopdesk module reads its settings, so the code under test runs with production settings
(SOPDESK_ENV=production) against these servers. A run given only ``tests/unit`` folders (``make
unit``: the pure rules of every ``domain/``, the packs, the words) chooses none of them: it needs
no PostgreSQL, Redis or SMTP, and stops with a clear error if a test there asks for one.
"""
from __future__ import annotations

import os
import random
import secrets
import socket
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).parent


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


_containers: list = []


def _postgres_admin_url() -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    if _answers("127.0.0.1", 5432):
        return "postgresql://postgres@127.0.0.1:5432/postgres"
    if _docker_answers():
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:16").start()
        _containers.append(container)
        return container.get_connection_url().replace("+psycopg2", "")
    pytest.exit("sopdesk tests need PostgreSQL: set DATABASE_URL, start it on 127.0.0.1:5432, "
                "or run a Docker engine for testcontainers", returncode=3)


REDIS_CLAIM_KEY = "sopdesk:test-run"
RUN_ID = uuid.uuid4().hex


def _claim_redis_database(host: str, port: int) -> int:
    """One of the shared Redis's numbered databases (1-15) for this run alone: a run claims an
    empty one with SET NX (expiring, so a run that was killed frees it in time), so two runs on
    one machine never share a database by chance."""
    import redis

    order = list(range(1, 16))
    random.shuffle(order)
    for number in order:
        client = redis.Redis(host=host, port=port, db=number)
        if client.dbsize() == 0 and client.set(REDIS_CLAIM_KEY, RUN_ID, nx=True, ex=4 * 3600):
            return number
    pytest.exit("every Redis database 1-15 on 127.0.0.1:6379 is in use by other runs; "
                "set REDIS_URL to a free one", returncode=3)


def _redis_url() -> str:
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    if _answers("127.0.0.1", 6379):
        return f"redis://127.0.0.1:6379/{_claim_redis_database('127.0.0.1', 6379)}"
    if _docker_answers():
        from testcontainers.redis import RedisContainer

        container = RedisContainer("redis:7").start()
        _containers.append(container)
        return f"redis://{container.get_container_host_ip()}:{container.get_exposed_port(6379)}/1"
    pytest.exit("sopdesk tests need Redis: set REDIS_URL, start it on 127.0.0.1:6379, "
                "or run a Docker engine for testcontainers", returncode=3)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://").replace("postgres://", "postgresql://")


from shared.mailcatcher import MailCatcher, MailStore  # noqa: E402  (imports no settings)

# ---- chosen in pytest_configure, before any test module is imported and so before any sopdesk
# module reads the environment; a run of unit tests alone chooses nothing -----------------------
ADMIN_DB_URL = TEST_DB_NAME = TEST_DB_URL = REDIS_URL = ""
TMP = Path(tempfile.mkdtemp(prefix="sopdesk-test-"))
SMTP_STORE = MailStore(TMP / "mail")
SMTP = MailCatcher(SMTP_STORE, host="127.0.0.1", port=0)
TEST_ENV: dict[str, str] = {}
UNIT_ONLY = False


def _unit_only(config) -> bool:
    """Every path the run was given lies in a ``tests/unit`` folder: tests of pure rules, which need
    no PostgreSQL, Redis or SMTP (``make unit``)."""
    paths = [Path(str(arg).split("::")[0]).resolve() for arg in config.args]
    return bool(paths) and all(any(a == "tests" and b == "unit" for a, b in zip(p.parts, p.parts[1:]))
                               for p in paths)


def _choose_services() -> None:
    global ADMIN_DB_URL, TEST_DB_NAME, TEST_DB_URL, REDIS_URL
    ADMIN_DB_URL = _psycopg_url(_postgres_admin_url())
    TEST_DB_NAME = f"sopdesk_test_{uuid.uuid4().hex[:10]}"
    TEST_DB_URL = _with_database(ADMIN_DB_URL, TEST_DB_NAME)
    REDIS_URL = _redis_url()
    TEST_ENV.update({
        "SOPDESK_ENV": "production",
        "DATABASE_URL": TEST_DB_URL,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "SOPDESK_DATA_DIR": str(TMP / "data"),
        "SOPDESK_PUBLIC_URL": "http://127.0.0.1:8000",
        "SOPDESK_VISIBILITY_TIMEOUT": "5",
        "SOPDESK_SWEEP_SECONDS": "1",
        "SOPDESK_DELIVERY_CLAIM_SECONDS": "5",
        "SOPDESK_MAX_RETRIES": "4",
        "SOPDESK_RETRY_BACKOFF_MAX": "2",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_TIMEOUT": "10",
        "MAIL_FROM": "sopdesk@test.example",
    })
    os.environ.update(TEST_ENV)


def pytest_configure(config):
    global UNIT_ONLY
    UNIT_ONLY = _unit_only(config)
    if UNIT_ONLY:
        return
    _choose_services()
    import psycopg

    with psycopg.connect(ADMIN_DB_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{TEST_DB_NAME}"')
    SMTP.start()
    os.environ["SMTP_PORT"] = str(SMTP.port)
    TEST_ENV["SMTP_PORT"] = str(SMTP.port)
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    client.set(REDIS_CLAIM_KEY, RUN_ID, ex=4 * 3600)  # still ours; flushing cleared the claim
    from shared import migrations

    migrations.upgrade_all()  # the real migrations build the schema


def pytest_unconfigure(config):
    if UNIT_ONLY:
        return
    from shared import db, traffic_log
    from shared.messaging import flush_relays

    flush_relays(timeout=5.0)
    traffic_log.flush(timeout=5.0)  # the last requests' rows, before their database goes
    db.dispose_engines()
    try:
        SMTP.stop()
    except Exception:
        pass
    try:
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
    except Exception:
        pass
    try:
        import psycopg

        with psycopg.connect(ADMIN_DB_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{TEST_DB_NAME}" WITH (FORCE)')
    except Exception:
        pass
    for container in _containers:
        container.stop()


def pytest_report_header(config):
    if UNIT_ONLY:
        return ["sopdesk: unit tests only (tests/unit folders): no PostgreSQL, Redis or SMTP"]
    return [f"sopdesk: PostgreSQL {urlsplit(TEST_DB_URL).netloc}/{TEST_DB_NAME}, Redis {REDIS_URL}, "
            f"SMTP listener on 127.0.0.1 (port chosen at start)"]


pytest_plugins = ["sopdesk.testing"]
