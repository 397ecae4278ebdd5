"""Fixtures and helpers the tests of every service share (registered as a pytest plugin by the
root conftest). They talk to the real PostgreSQL, Redis and SMTP listener the conftest chose."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from shared.config import SERVICES


def truncate_all() -> None:
    """Empty every service's tables (not the migration version): each test starts clean."""
    import importlib

    from shared import db
    from shared.config import get_settings

    for service in SERVICES:
        metadata = importlib.import_module(f"services.{service}.models").Base.metadata
        names = ", ".join(f'"{service}"."{t.name}"' for t in metadata.sorted_tables)
        engine = db.get_engine(service, get_settings().database_url(service))
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {names} CASCADE"))


def purge_queues() -> None:
    import redis

    from shared.config import get_settings

    redis.Redis.from_url(get_settings().broker_url).flushdb()


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1, message: str = "condition"):
    """Poll until ``predicate()`` is truthy and return it; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


@pytest.fixture
def clean():
    """A clean database and empty queues for one test."""
    truncate_all()
    purge_queues()
    yield


@pytest.fixture
def mailbox():
    import conftest

    conftest.SMTP_STORE.clear()
    return conftest.SMTP_STORE


@pytest.fixture
def gateway(clean):
    """All four services as one WSGI app (Flask test client over it)."""
    from services.gateway import create_gateway

    return create_gateway()


@pytest.fixture
def client(gateway):
    from werkzeug.test import Client

    return Client(gateway)


@pytest.fixture
def staff_token(clean):
    """A bearer token for a staff member with the officer and head roles."""
    from services.assignment.directory import add_user
    from shared.auth import Staff, issue_token

    user = add_user("tester", "correct horse battery", ["officer", "head"])
    return issue_token(Staff(user_id=user.id, username=user.username, roles=user.role_names))


def queued(queue: str) -> list[dict]:
    """The messages waiting in a service's Celery queue (the Redis list), decoded, in the order
    a worker will take them (kombu pushes on the left and pops on the right)."""
    import base64
    import json

    import redis

    from shared.config import get_settings

    client = redis.Redis.from_url(get_settings().broker_url)
    messages = []
    for raw in reversed(client.lrange(queue, 0, -1)):
        message = json.loads(raw)
        body = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args, kwargs, _ = json.loads(body)
        messages.append({"task": message["headers"]["task"], "args": args})
    return messages
