"""One repair request the whole way, and the reliability it must keep under faults: through HTTP,
the broker, separate worker processes and a real SMTP listener. Run against the production
shape (PostgreSQL + Redis) and, where it matters, the embedded default (the PostgreSQL and the
Redis server of their wheels, on Unix sockets in a data folder)."""
from __future__ import annotations

import asyncio
import re
import signal
import time

import psycopg
import pytest

import conftest
from shared.mailcatcher import MailCatcher, MailStore, free_port
from shared.pgserver import EmbeddedPostgres
from sopdesk.embedded import start_redis
from sopdesk.testing import wait_for
from tests import requests_shim as http
from tests.stack import Stack, embedded_dir  # noqa: F401 - a fixture

pytestmark = pytest.mark.e2e

SOPDESK_KEYS = ("SOPDESK_", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "SMTP_", "MAIL_FROM")


def _production_env(**overrides) -> dict:
    return dict(conftest.TEST_ENV, **overrides)


def _embedded_env(data, broker_socket) -> dict:
    """The embedded default's settings: no DATABASE_URL, so the embedded PostgreSQL of the data
    folder; the bundled Redis server on a Unix socket; the test's short timeouts and SMTP listener."""
    env = {k: v for k, v in conftest.TEST_ENV.items() if k not in ("DATABASE_URL", "REDIS_URL", "SOPDESK_ENV")}
    env.update(SOPDESK_ENV="embedded", SOPDESK_DATA_DIR=str(data),
               REDIS_URL=f"redis+socket://{broker_socket}", DATABASE_URL="")
    return env


def _mails_to(store: MailStore, address: str, code: str) -> list:
    return [m for m in store.all() if address in m.envelope_to and code in str(m.message["Subject"])]


@pytest.fixture
def make_stack(tmp_path, clean, embedded_dir):
    stacks: list[Stack] = []
    servers = []

    def make(kind: str = "production", **env_overrides) -> Stack:
        if kind == "production":
            env = _production_env(**env_overrides)
        else:
            # the embedded default's own servers, as sopdesk up starts them
            postgres = EmbeddedPostgres(embedded_dir)
            postgres.prepare()
            servers.append((postgres.start(), signal.SIGINT))
            socket_path = embedded_dir / "broker" / "redis.sock"
            servers.append((start_redis(embedded_dir / "broker", socket_path=socket_path), signal.SIGTERM))
            env = _embedded_env(embedded_dir, socket_path)
            env.update(env_overrides)
        stack = Stack(env, tmp_path / f"stack-{len(stacks)}")
        # the subprocesses see only the stack's environment for sopdesk's own settings
        for key in [k for k in stack.env if k.startswith(SOPDESK_KEYS) and k not in env]:
            del stack.env[key]
        for key, value in env.items():
            if value == "":
                stack.env.pop(key, None)
        if kind == "embedded":
            stack.sopdesk("migrate")
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop()
    for server, stop_signal in reversed(servers):
        server.send_signal(stop_signal)
        server.wait(timeout=30)


def _started(stack: Stack) -> Stack:
    stack.start_web()
    stack.start_worker()
    stack.start_beat()
    return stack


def test_a_repair_request_travels_the_whole_way(make_stack, mailbox):
    stack = _started(make_stack())
    filed = stack.file_repair()
    code = filed["tracking_code"]
    assert re.fullmatch(r"SD-[0-9A-Z]{5}-[0-9A-Z]{5}", code)

    [mail] = wait_for(lambda: _mails_to(mailbox, "somsri@school.example", code), message="the received email")
    text = mail.text()
    assert "ครูสมศรี ใจดี" in text and code in text
    link = re.search(r"(http://\S+/intake/track/\S+)", text).group(1)
    assert link == filed["status_url"]
    assert code in mail.html() and "&amp;" not in link

    page = http.get(link, headers={"Accept": "text/html", "Accept-Language": "th"})
    assert page.status == 200
    assert code in page.text and "กำลังดำเนินการ" in page.text and "รับแจ้งซ่อมจากแบบฟอร์มแจ้งซ่อม" in page.text
    view = http.get(link, headers={"Accept": "application/json"}).json()
    assert view["status"] == "open" and view["current_step"] == "receive-form"
    assert [s["step"] for s in view["steps"]] == ["receive-form"]

    # without the token, nothing personal: the same answer as for a code that does not exist
    bare = http.get(f"{stack.base}/intake/track/{code}", headers={"Accept": "application/json"})
    wrong = http.get(f"{stack.base}/intake/track/SD-00000-00000?token=x", headers={"Accept": "application/json"})
    assert bare.status == wrong.status == 404 and bare.text == wrong.text
    assert "สมศรี" not in bare.text

    token = stack.staff_token()
    case = stack.get_json(f"/assignment/cases/{code}", token).json()
    assert case["sop"] == "sesao-sc/repair" and case["current_step"] == "receive-form"
    assert case["steps"][0]["role"] == "officer" and case["steps"][0]["status"] == "active"
    assert case["actions"] == [{"step": "receive-form", "outcomes": ["done"], "actions": ["assign", "note"],
                                "on_behalf_of": None, "waiting_on": None}]
    [message] = stack.get_json(f"/notify/messages?correlation_id={code}", token).json()
    assert message["status"] == "sent" and message["to"] == "somsri@school.example"
    assert message["message_id"] == mail.message["Message-ID"]
    assert stack.get_json("/assignment/cases").status == 401
    assert stack.get_json(f"/notify/messages?correlation_id={code}").status == 401


def _cases_with(stack: Stack, token: str, code: str) -> int:
    return sum(1 for c in stack.get_json("/assignment/cases?limit=500", token).json() if c["tracking_code"] == code)


@pytest.mark.parametrize("kind", ["production", "embedded"])
def test_worker_killed_while_opening_the_case_handles_it_once(make_stack, mailbox, kind, embedded_dir):
    stack = _started(make_stack(kind))
    token = stack.staff_token()

    def connect():
        return psycopg.connect(conftest.TEST_DB_URL) if kind == "production" else EmbeddedPostgres(embedded_dir).connect()

    # hold the assignment tables, so the worker is caught in the middle of opening the case
    holder = connect()
    holder.execute("LOCK TABLE assignment.cases IN SHARE MODE")

    def worker_is_stuck():
        with connect() as probe:
            return probe.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0] > 0

    code = stack.file_repair()["tracking_code"]
    wait_for(worker_is_stuck, message="the worker to block inside the assignment handler")
    stack.kill_worker()
    holder.rollback()
    holder.close()
    assert _cases_with(stack, token, code) == 0, "the killed handler committed nothing"

    stack.start_worker()
    wait_for(lambda: _mails_to(mailbox, "somsri@school.example", code), timeout=40,
             message="the email after the restart")
    time.sleep(2 * 1.0 + 1)  # a second (wrong) handling would show within two sweep periods
    assert _cases_with(stack, token, code) == 1
    assert len(_mails_to(mailbox, "somsri@school.example", code)) == 1


class _HoldFirstRecipient:
    """An SMTP handler that holds the first transaction at RCPT until released: the sending
    worker is then killed mid-conversation, before the server has accepted any message."""

    def __init__(self, store: MailStore) -> None:
        self.store = store
        self.held = False
        self.release = False

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if not self.held:
            self.held = True
            while not self.release:
                await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.store.add(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


@pytest.mark.parametrize("kind", ["production", "embedded"])
def test_worker_killed_while_sending_the_email_sends_exactly_one(make_stack, kind, tmp_path):
    store = MailStore(tmp_path / "held-mail")
    handler = _HoldFirstRecipient(store)
    catcher = MailCatcher(store, port=free_port(), handler=handler).start()
    try:
        stack = _started(make_stack(kind, SMTP_PORT=str(catcher.port)))
        code = stack.file_repair()["tracking_code"]
        wait_for(lambda: handler.held, message="the worker to start sending")
        stack.kill_worker()
        handler.release = True
        time.sleep(0.5)
        assert store.all() == [], "nothing was accepted before the kill"
        stack.start_worker()
        [mail] = wait_for(lambda: _mails_to(store, "somsri@school.example", code), timeout=40,
                          message="the email after the restart")
        time.sleep(3)
        assert len(_mails_to(store, "somsri@school.example", code)) == 1
        token = stack.staff_token()
        [message] = stack.get_json(f"/notify/messages?correlation_id={code}", token).json()
        assert message["status"] == "sent" and message["attempts"] == 2
        assert mail.message["Message-ID"] == message["message_id"]
    finally:
        catcher.stop()


def test_broker_down_when_filing_stores_the_request_and_delivers_it_later(make_stack, mailbox, tmp_path):
    port = free_port()
    broker_dir = tmp_path / "private-redis"
    broker = start_redis(broker_dir, port=port)
    try:
        stack = _started(make_stack("production", REDIS_URL=f"redis://127.0.0.1:{port}/0"))
        broker.terminate()
        broker.wait(timeout=10)

        started = time.monotonic()
        filed = stack.file_repair()  # 201 with the broker down
        assert time.monotonic() - started < 10
        health = stack.get_json("/intake/health")
        assert health.status == 503 and health.json()["broker"].startswith("down")
        with psycopg.connect(conftest.TEST_DB_URL) as conn:
            row = conn.execute("SELECT published_at FROM intake.outbox WHERE correlation_id = %s",
                               (filed["tracking_code"],)).fetchone()
        assert row == (None,), "stored, waiting for the sweep"
        time.sleep(2)
        assert _mails_to(mailbox, "somsri@school.example", filed["tracking_code"]) == []

        broker = start_redis(broker_dir, port=port)
        wait_for(lambda: _mails_to(mailbox, "somsri@school.example", filed["tracking_code"]), timeout=60,
                 message="delivery once the broker is back")
        token = stack.staff_token()
        assert _cases_with(stack, token, filed["tracking_code"]) == 1
        assert stack.get_json("/intake/health").status == 200
    finally:
        broker.terminate()
        broker.wait(timeout=10)


def test_the_same_events_delivered_twice_make_one_case_and_one_email(make_stack, mailbox):
    from shared.celery_app import celery

    stack = _started(make_stack())
    code = stack.file_repair()["tracking_code"]
    wait_for(lambda: _mails_to(mailbox, "somsri@school.example", code), message="the first email")
    with psycopg.connect(conftest.TEST_DB_URL) as conn:
        [submitted] = conn.execute("SELECT envelope FROM intake.outbox WHERE correlation_id = %s", (code,)).fetchone()
        [opened] = conn.execute("SELECT envelope FROM assignment.outbox WHERE correlation_id = %s", (code,)).fetchone()
    sent = []
    for envelope, queues in ((submitted, ("assignment", "notify")), (opened, ("intake", "notify"))):
        for queue in queues:
            sent.append(celery.send_task(f"{queue}.handle_event", args=[envelope], queue=queue,
                                         routing_key=queue).id)
    for task_id in sent:
        wait_for(lambda: stack.worker_saw(f"[{task_id}] succeeded"), message=f"task {task_id} to run")
    token = stack.staff_token()
    assert _cases_with(stack, token, code) == 1
    assert len(_mails_to(mailbox, "somsri@school.example", code)) == 1
    assert len(stack.get_json(f"/notify/messages?correlation_id={code}", token).json()) == 1
