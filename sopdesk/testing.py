"""Fixtures and helpers the tests of every service share (registered as a pytest plugin by the
root conftest). They talk to the real PostgreSQL, Redis and SMTP listener the conftest chose."""
from __future__ import annotations

import threading
import time

import pytest

from shared.config import SERVICES
from sopdesk import worker  # noqa: F401  (wires the services' task modules into the Celery app)


def empty_all() -> None:
    """Empty every service's tables (not the migration version): each test starts clean."""
    from shared import db
    from shared.config import get_settings
    from shared.messaging import flush_relays

    from shared import traffic_log

    flush_relays()  # a relay still sending the last test's events would hold locks on its rows
    traffic_log.flush()  # the last test's requests' rows, written before the tables are emptied
    for service in SERVICES:
        engine = db.get_engine(service, get_settings().database_url(service))
        with engine.begin() as conn:
            conn.exec_driver_sql(_emptying_sql(service))
    from services.intake.handlers import notice_words

    notice_words.forget_kept()  # what a process keeps of rows just deleted


_EMPTYING: dict[str, str] = {}


def _emptying_sql(service: str) -> str:
    """``DELETE FROM`` every table of the service, children before parents, as one batch of
    statements: a test leaves a few rows in a few tables, and deleting them costs far less than
    ``TRUNCATE`` (a new file per table, 60 of them: 0.4 s before every test)."""
    import importlib

    if service not in _EMPTYING:
        models = importlib.import_module(f"services.{service}.adapters.models")
        # the tables the database's triggers write as the others' rows go (a case's tallies) are
        # emptied again at the end
        last = getattr(models, "KEPT_BY_TRIGGERS", ())
        tables = [table.name for table in reversed(models.Base.metadata.sorted_tables)] + list(last)
        _EMPTYING[service] = "; ".join(f'DELETE FROM "{service}"."{name}"' for name in tables)
    return _EMPTYING[service]


def purge_queues() -> None:
    import redis

    from shared.config import get_settings

    client = redis.Redis.from_url(get_settings().broker_url)
    claim = client.get("sopdesk:test-run")  # the run's claim on this database (conftest) survives
    client.flushdb()
    if claim is not None:
        client.set("sopdesk:test-run", claim, ex=4 * 3600)


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


def consumed_meanwhile(bus, envelope: dict) -> threading.Thread:
    """``bus.consume(envelope)`` on a thread of its own, as a second worker would, while the
    caller holds a transaction open: fails unless it is still waiting after half a second (on a
    lock the caller holds). The caller commits, then joins the thread."""
    thread = threading.Thread(target=bus.consume, args=(envelope,), daemon=True)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive(), "it did not wait for the other transaction"
    return thread


def load_packs() -> None:
    """The shipped packs, as `sopdesk migrate` loads them (empty_all empties their table)."""
    from services.assignment.adapters import packstore

    packstore.forget()
    packstore.load_builtin_packs()


@pytest.fixture
def clean():
    """A clean database (with the shipped packs loaded) and empty queues for one test."""
    empty_all()
    purge_queues()
    load_packs()
    yield


@pytest.fixture
def own_event_type():
    """Event types of a test's own, in the event catalogue for that test only (the bus's mechanics
    tested with a type no service publishes, the payload checks on): ``own_event_type("test.flaky",
    "intake")`` declares it, published by ``intake`` with the empty payload ``{}`` (or ``schema``'s)."""
    from shared import event_catalogue

    added = []

    def declare(event_type: str, producer: str, schema=None, version: int = 1):
        spec = event_catalogue.register(event_type, version, producer, schema or event_catalogue.Payload,
                                        "An event type of a test's own.")
        added.append((event_type, version))
        return spec

    yield declare
    for event_type, version in added:
        event_catalogue.unregister(event_type, version)


@pytest.fixture
def mailbox():
    import conftest

    conftest.SMTP_STORE.clear()
    return conftest.SMTP_STORE


@pytest.fixture
def gateway(clean):
    """All four services as one WSGI app (Flask test client over it)."""
    from sopdesk.gateway import create_gateway

    return create_gateway()


@pytest.fixture
def client(gateway):
    from werkzeug.test import Client

    return Client(gateway)


@pytest.fixture
def staff_token(clean):
    """A bearer token for a staff member with the officer and head roles, of sesao-sc's unit ``ict``."""
    from services.assignment.handlers.directory import add_unit, add_user, staff_of
    from shared.auth import issue_token

    add_unit("ict", "sesao-sc", "ศูนย์ ICT", "ICT centre")
    user = add_user("tester", "correct horse battery", ["officer", "head"], unit="ict")
    drain()  # the account's announcement (staff.person_changed) is handled before the test counts anything
    return issue_token(staff_of(user))


def make_staff(username: str, roles, org: str | None = "sesao-sc", password: str = "correct horse battery",
               **details):
    """A staff account holding ``roles`` in the unit ``ict-<org>`` of the organisation ``org``
    (made if it is not there; a system administrator in none), and a bearer token for it:
    ``(Staff, token)``."""
    from services.assignment.handlers.directory import add_unit, add_user, staff_of
    from shared.auth import issue_token

    unit = None
    if "sysadmin" not in roles:
        unit = f"ict-{org}"
        add_unit(unit, org, f"ศูนย์ ICT ({org})", f"ICT centre ({org})")
    details.setdefault("email", f"{username}@office.example")
    user = add_user(username, password, list(roles), unit=unit, **details)
    staff = staff_of(user)
    return staff, issue_token(staff)


def drain(max_messages: int = 10_000) -> list[str]:
    """Work every queue empty, in this process, as a worker would: take each message from Redis
    (the real broker), run its task, and go on until no queue holds anything (handling an event
    publishes more). Returns the task names run, in order. A task that raises fails the test;
    an event not ready yet (NotReady) goes back to the end of its queue, as a retry would."""
    import redis

    from shared.config import SERVICES, get_settings
    from shared.messaging import NotReady, flush_relays
    from sopdesk.worker import celery

    celery.loader.import_default_modules()
    client = redis.Redis.from_url(get_settings().broker_url)
    ran, postponed = [], 0
    while len(ran) < max_messages:
        flush_relays()  # what the last task (or the test's request) committed is in the queues
        raw = queue = None
        for name in SERVICES:
            raw = client.rpop(name)
            if raw is not None:
                queue = name
                break
        if raw is None:
            return ran
        task, args, kwargs = _decode(raw)
        try:
            if task.endswith((".handle_events", ".handle_event")):  # the consumer, without Celery's retries
                import importlib

                bus = importlib.import_module(f"services.{queue}.adapters.bus").bus
                if task.endswith(".handle_event"):
                    bus.consume(*args)
                else:  # a batch: an event not ready goes back alone, as the task sends its retry
                    for envelope, error in bus.consume_batch(args[0]).failed:
                        postponed += 1
                        if not isinstance(error, NotReady) or postponed > 100:
                            raise error
                        celery.send_task(f"{queue}.handle_event", args=[envelope], queue=queue, routing_key=queue)
            else:
                celery.tasks[task].run(*args, **kwargs)
        except NotReady:
            postponed += 1
            if postponed > 100:
                raise
            client.lpush(queue, raw)
            continue
        ran.append(task)
    pytest.fail(f"drain: more than {max_messages} messages")


def queued(queue: str) -> list[dict]:
    """The messages waiting in a service's Celery queue (the Redis list), decoded, in the order
    a worker will take them (kombu pushes on the left and pops on the right), after this
    process's relays have sent what they hold."""
    import redis

    from shared.config import get_settings
    from shared.messaging import flush_relays

    flush_relays()
    client = redis.Redis.from_url(get_settings().broker_url)
    messages = []
    for raw in reversed(client.lrange(queue, 0, -1)):
        task, args, _ = _decode(raw)
        messages.append({"task": task, "args": args})
    return messages


def queued_events(queue: str) -> list[dict]:
    """The event envelopes waiting in a service's queue, in order, whether sent one per message
    (``handle_event``) or in batches (``handle_events``)."""
    events = []
    for message in queued(queue):
        if message["task"].endswith(".handle_events"):
            events.extend(message["args"][0])
        elif message["task"].endswith(".handle_event"):
            events.append(message["args"][0])
    return events


def _decode(raw: bytes) -> tuple[str, list, dict]:
    """A Celery message as kombu stores it in a Redis list: (task name, args, kwargs)."""
    import base64
    import json

    message = json.loads(raw)
    body = message["body"]
    if message.get("properties", {}).get("body_encoding") == "base64":
        body = base64.b64decode(body)
    args, kwargs, _ = json.loads(body)
    return message["headers"]["task"], args, kwargs


# Headless Chromium for the browser tests (mark them @pytest.mark.browser). Debian's chromium and
# fonts-thai-tlwg, not Playwright's own download: .ci/run installs them; without them the tests skip.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def chromium_browser():
    """A Playwright ``Browser``: headless Chromium from ``SOPDESK_CHROMIUM`` or /usr/bin/chromium."""
    import os

    executable = os.environ.get("SOPDESK_CHROMIUM") or "/usr/bin/chromium"
    if not os.path.exists(executable):
        pytest.skip(f"no Chromium at {executable}: install Debian's chromium and fonts-thai-tlwg (.ci/run does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip(f"no Playwright to drive Chromium at {executable}: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(chromium_browser):
    """A fresh page in its own context (Thai locale, 1280x900), closed after the test."""
    context = chromium_browser.new_context(locale="th-TH", viewport={"width": 1280, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def live_server(gateway):
    """The four services as one WSGI app, served over HTTP on a free loopback port in a thread,
    for the browser. Yields the base URL. (Events are worked by ``drain()`` in the test.)"""
    import threading

    from werkzeug.serving import make_server

    from shared.mailcatcher import free_port

    server = make_server("127.0.0.1", free_port(), gateway, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def browser_sign_in(page, base: str, username: str, password: str = "correct horse battery",
                    then: str | None = None) -> None:
    """Sign a Playwright ``page`` in at the desk's login page (Thai) as ``username``, signing out
    whoever is signed in first; it lands on ``then`` (a path), else on the desk's home."""
    if page.locator("#logout").count():
        page.click("#logout")
        page.wait_for_load_state()
    page.goto(f"{base}/assignment/login?lang=th" + (f"&next={then}" if then else ""))
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login")
    page.wait_for_url(f"{base}{then or '/assignment/desk'}")


def statements_sent(engine, run) -> tuple[object, list[str]]:
    """What ``run()`` answers, and every statement it sent, each on one line, in order: through
    SQLAlchemy on ``engine``, and straight through the driver (``shared.db``'s ``driver_*``
    helpers, which SQLAlchemy's events do not see; from any engine)."""
    from sqlalchemy import event as sa_event

    from shared import db

    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(" ".join(statement.split()))

    on_driver = db._on_driver  # where every driver_* helper sends its statement

    def recorded(connection, sql, params, **options):
        sent.append(" ".join(sql.split()))
        return on_driver(connection, sql, params, **options)

    sa_event.listen(engine, "before_cursor_execute", record)
    db._on_driver = recorded
    try:
        answer = run()
    finally:
        sa_event.remove(engine, "before_cursor_execute", record)
        db._on_driver = on_driver
    return answer, sent
