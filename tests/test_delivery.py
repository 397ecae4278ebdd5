"""Delivery that loses nothing: the window in the broker client that lost a request, a worker's
death redelivered within the promise, and a storm of kills and broker restarts, all with real
worker processes, a real Redis server and real PostgreSQL.

The storm asserts counts by tracking code, never times: what it proves is that nothing is lost
and nothing is done twice, however the faults fall."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
import redis

import conftest
from shared.mailcatcher import MailCatcher, MailStore, free_port
from sopdesk.embedded import start_redis
from sopdesk.testing import wait_for
from tests import requests_shim as http
from tests.stack import BIN, ROOT, Stack

pytestmark = pytest.mark.e2e

# A consumer exactly as a Celery worker's main process runs one (kombu's Redis transport with
# ack emulation), that is killed in the one instant between taking the message (BRPOP) and
# recording it as unacknowledged (the HSET in QoS.append): os._exit is a kill -9 at that line.
_DIES_BETWEEN_BRPOP_AND_UNACKED = """
import os, sys
from kombu import Connection, Queue
from kombu.transport import redis as transport

def killed_here(self, message, delivery_tag):
    os._exit(137)

transport.QoS.append = killed_here
url, queue = sys.argv[1], sys.argv[2]
with Connection(url) as connection:
    with connection.Consumer(Queue(queue, routing_key=queue), callbacks=[lambda body, message: message.ack()],
                             accept=["json"]):
        connection.drain_events(timeout=20)
sys.exit(0)  # never reached when a message came
"""


def test_kombu_alone_loses_a_message_whose_taker_dies_before_recording_it(tmp_path):
    """The loss that issue 11 saw (request #178: published, never in assignment's queue, its
    unacked set or its inbox): kombu takes a message from the list and records it as unacked
    in a second command. A worker killed between the two leaves it nowhere, and no visibility
    timeout will ever bring it back. This is why delivery is confirmed by the consumer."""
    from kombu import Connection, Queue

    queue = f"window-{os.getpid()}-{random.randrange(10**6)}"
    client = redis.Redis.from_url(conftest.REDIS_URL)
    with Connection(conftest.REDIS_URL) as connection:
        producer = connection.Producer(serializer="json")
        producer.publish({"event": "request.submitted"}, routing_key=queue,
                         declare=[Queue(queue, routing_key=queue)])
    assert client.llen(queue) == 1
    script = tmp_path / "consumer.py"
    script.write_text(_DIES_BETWEEN_BRPOP_AND_UNACKED)
    result = subprocess.run([sys.executable, str(script), conftest.REDIS_URL, queue], timeout=60,
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 137, result.stderr
    time.sleep(0.5)
    # not in the queue, not among the unacknowledged: gone, with nothing that will restore it
    assert client.llen(queue) == 0
    assert client.hlen("unacked") == 0 and client.zcard("unacked_index") == 0
    client.delete(queue, f"_kombu.binding.{queue}")


# --- processes for the tests below ---------------------------------------------------------------

def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


class Workers:
    """Celery worker nodes of the production shape (prefork pool), started and killed by a test."""

    def __init__(self, stack: Stack, concurrency: int = 2) -> None:
        self.stack = stack
        self.concurrency = concurrency
        self.nodes: list[subprocess.Popen] = []
        self.runs = 0

    def start(self, wait: bool = True) -> subprocess.Popen:
        self.runs += 1
        log = self.stack.workdir / f"node-{self.runs}.log"
        node = subprocess.Popen(
            [str(BIN / "sopdesk"), "worker", "--pool", "prefork", "--concurrency", str(self.concurrency),
             "--loglevel", "INFO", "--hostname", f"node{self.runs}@%h"],
            env=self.stack.env, cwd=ROOT, stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)
        node.log = log
        self.nodes.append(node)
        if wait:
            wait_for(lambda: "ready." in log.read_text(errors="replace") or node.poll() is not None,
                     timeout=60, message=f"worker node {self.runs} to start")
            assert node.poll() is None, f"worker node exited at start; see {log}"
        return node

    def alive(self) -> list[subprocess.Popen]:
        return [n for n in self.nodes if n.poll() is None]

    def kill_node(self, node: subprocess.Popen) -> None:
        """kill -9 of the node and its pool: nothing acked, nothing requeued, nothing said."""
        try:
            os.killpg(node.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        node.wait(timeout=20)

    def kill_pool_process(self, node: subprocess.Popen) -> bool:
        children = _children(node.pid)
        if not children:
            return False
        try:
            os.kill(random.choice(children), signal.SIGKILL)
        except ProcessLookupError:
            return False
        return True

    def stop(self) -> None:
        for node in self.nodes:
            if node.poll() is None:
                self.kill_node(node)


def _query(sql: str, *args):
    with psycopg.connect(conftest.TEST_DB_URL) as conn:
        return conn.execute(sql, args).fetchall()


def _cases(codes: set[str] | None = None) -> dict[str, int]:
    rows = _query("SELECT tracking_code, count(*) FROM assignment.cases GROUP BY tracking_code")
    return {code: n for code, n in rows if codes is None or code in codes}


def _views() -> dict[str, int]:
    """The requester's tracking view of each case (intake's projection of case events): the
    case's first step as the tracking page shows it, by tracking code."""
    return dict(_query(
        "SELECT r.tracking_code, count(s.id) FROM intake.requests r JOIN intake.request_steps s "
        "ON s.request_id = r.id AND s.step = 'receive-form' WHERE r.case_seq > 0 GROUP BY r.tracking_code"))


@pytest.fixture
def private_redis(tmp_path):
    """A Redis server of the test's own on a free port, which the test may restart. No append-only
    file: a restart loses every queue and every unacknowledged message, the worst case."""
    port = free_port()
    folder = tmp_path / "redis"
    holder = {"process": start_redis(folder, port=port, appendonly=False), "port": port}

    def restart(down_for: float = 0.5) -> None:
        holder["process"].terminate()
        holder["process"].wait(timeout=10)
        time.sleep(down_for)
        holder["process"] = start_redis(folder, port=port, appendonly=False)

    holder["restart"] = restart
    yield holder
    holder["process"].terminate()
    holder["process"].wait(timeout=10)


def _stack(tmp_path, private_redis, **env) -> Stack:
    values = dict(conftest.TEST_ENV, REDIS_URL=f"redis://127.0.0.1:{private_redis['port']}/0",
                  SOPDESK_RATE_LIMIT="100000/minute", SOPDESK_TRACK_RATE_LIMIT="100000/minute")
    values.update(env)
    return Stack(values, tmp_path / "stack")


def test_a_task_whose_worker_died_runs_again_within_the_visibility_timeout_and_one_sweep(clean, tmp_path,
                                                                                      private_redis):
    """No beat runs here, so no outbox sweep sends anything again: only the broker's own
    redelivery can bring the task back. kombu looks for abandoned messages every
    ``unacked_restore_interval`` but, by default, acts only on every 10th look; sopdesk sets the
    throttle to 1, so the wait is the visibility timeout plus one sweep (here 4 + 2 s, where the
    default throttle made it 4 + 20 s)."""
    visibility, sweep = 4, 2
    stack = _stack(tmp_path, private_redis, SOPDESK_VISIBILITY_TIMEOUT=str(visibility),
                   SOPDESK_SWEEP_SECONDS=str(sweep), SOPDESK_REDELIVER_SECONDS="3600")
    workers = Workers(stack, concurrency=1)
    holder = None
    try:
        stack.start_web()
        first = workers.start()
        holder = psycopg.connect(conftest.TEST_DB_URL)
        holder.execute("LOCK TABLE assignment.cases IN SHARE MODE")  # the handler blocks inside
        filed_at = time.monotonic()  # the task cannot have been taken before its request was filed
        code = stack.file_repair()["tracking_code"]
        wait_for(lambda: _query("SELECT count(*) FROM pg_locks WHERE NOT granted")[0][0] > 0,
                 message="the worker to block inside the assignment handler")
        taken_at = time.monotonic()  # ... nor after the test saw it blocked
        workers.start()  # a second node, idle: it must find the abandoned task by itself
        workers.kill_node(first)
        holder.rollback()
        holder.close()
        holder = None
        wait_for(lambda: _cases({code}), timeout=visibility + sweep + 30, interval=0.2,
                 message="the task to run again on the other node")
        done_at = time.monotonic()
        waited = done_at - taken_at  # at most the time since the task was taken
        print(f"\nredelivered {waited:.1f} s after the task was seen taken, {done_at - filed_at:.1f} s after its "
              f"request was filed (visibility timeout {visibility} s + one sweep {sweep} s)")
        # the take is somewhere between the filing and the sighting: the redelivery must come no
        # sooner than the timeout after the filing (CI once saw 3.92 s after the sighting, its
        # worker having taken the task a moment before the test saw it blocked)
        assert done_at - filed_at >= visibility, "not before the visibility timeout: the first node might still be working"
        # the promise, with room for a slow machine's worker start and poll; the default throttle
        # would take visibility + 10 sweeps
        assert waited <= visibility + sweep + 8
        assert _cases({code}) == {code: 1}
    finally:
        if holder is not None:
            holder.close()
        workers.stop()
        stack.stop()


def _file(stack: Stack, n: int) -> tuple[int, dict]:
    body = {
        "sop": "sesao-sc/repair", "requester_name": f"ครูพายุ {n}", "requester_email": f"storm-{n}@school.example",
        "requester_unit": "โรงเรียนบ้านทดสอบ", "subject": f"เครื่องที่ {n} เปิดไม่ติด", "details": "กดปุ่มแล้วไม่มีไฟ",
        "consent": True, "location": "ห้องคอมพิวเตอร์", "asset_tag": f"7440-001-{n:04d}/12",
    }
    for attempt in range(30):  # a client retries when the web process is away, as browsers do
        try:
            answer = http.post_json(f"{stack.base}/intake/requests", body)
        except OSError:
            time.sleep(0.5)
            continue
        return answer.status, (answer.json() if answer.status == 201 else {"error": answer.text})
    return 0, {"error": "no answer"}


@pytest.mark.timeout(600)
def test_a_storm_of_kills_and_broker_restarts_loses_nothing_and_doubles_nothing(clean, tmp_path, private_redis):
    """A few hundred requests while worker pool processes and whole worker nodes are killed
    with kill -9 and the broker restarts twice, losing its queues. Every accepted request must
    end as exactly one case, one tracking view and one received email; nothing may stay owed."""
    store = MailStore(tmp_path / "storm-mail")
    catcher = MailCatcher(store, port=free_port()).start()
    stack = _stack(tmp_path, private_redis, SMTP_PORT=str(catcher.port), SOPDESK_VISIBILITY_TIMEOUT="5",
                   SOPDESK_SWEEP_SECONDS="1", SOPDESK_REDELIVER_SECONDS="6")
    workers = Workers(stack, concurrency=2)
    count, rate = 240, 12.0
    faults: list[str] = []
    filed: dict[int, tuple[int, dict]] = {}
    stop_faults = threading.Event()

    def storm() -> None:
        rng = random.Random(11)
        plan = ["pool", "pool", "node", "redis", "pool", "node", "pool", "redis", "pool", "node", "pool"]
        for fault in plan:
            if stop_faults.wait(rng.uniform(1.0, 2.0)):
                return
            # a node that exited by itself (kombu's AttributeError('hostname') after a Redis restart)
            # is started again first, as a supervisor would: else the planned kills find no node
            # to kill, and the storm is milder than it says
            while len(workers.alive()) < 2:
                workers.start()
            alive = workers.alive()
            if fault == "pool" and alive and workers.kill_pool_process(rng.choice(alive)):
                faults.append("pool process")
            elif fault == "node" and alive:
                workers.kill_node(rng.choice(alive))
                workers.start(wait=False)
                faults.append("worker node")
            elif fault == "redis":
                private_redis["restart"]()
                faults.append("redis restart")

    try:
        stack.start_web()
        workers.start()
        workers.start()
        stack.start_beat()
        chaos = threading.Thread(target=storm)
        chaos.start()
        started = time.monotonic()

        def client(offset: int, stride: int) -> None:
            for n in range(offset, count, stride):
                due = started + n / rate
                time.sleep(max(0.0, due - time.monotonic()))
                filed[n] = _file(stack, n)

        clients = [threading.Thread(target=client, args=(i, 4)) for i in range(4)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join()
        chaos.join()
        stop_faults.set()
        while len(workers.alive()) < 2:  # the storm's last victims come back, as a supervisor would
            workers.start()

        assert {status for status, _ in filed.values()} == {201}, [b for s, b in filed.values() if s != 201][:3]
        codes = {body["tracking_code"]: n for n, (_, body) in filed.items()}
        assert len(codes) == count

        def received() -> dict[str, list]:
            mails: dict[str, list] = {}
            for mail in store.all():
                for code, n in codes.items():
                    if f"storm-{n}@school.example" in mail.envelope_to and code in str(mail.message["Subject"]):
                        mails.setdefault(code, []).append(mail)
            return mails

        def everything_arrived() -> bool:
            return len(_cases(set(codes))) == count and len(_views()) >= count and len(received()) == count

        wait_for(everything_arrived, timeout=240, interval=2, message="every case and every received email")

        def nothing_owed() -> bool:
            owed = sum(_query(f"SELECT count(*) FROM {service}.outbox WHERE due_at IS NOT NULL")[0][0]
                       for service in ("intake", "assignment", "notify", "procurement"))
            return owed == 0

        wait_for(nothing_owed, timeout=120, interval=1, message="every event confirmed by every subscriber")
        drained = time.monotonic() - started
        time.sleep(3)  # a repeat still in flight would show now

        cases = _cases(set(codes))
        views = _views()
        mails = received()
        lost = [code for code in codes if code not in cases or code not in mails or code not in views]
        doubled_cases = [code for code, n in cases.items() if n != 1]
        # one email per event: a kill after the SMTP server accepted it but before notify marked
        # it sent makes notify send it again with the same Message-ID (at least once, de-duplicable
        # by Message-ID, ARCHITECTURE rule 6); two different emails for one code is the defect
        doubled_mails = [code for code, found in mails.items()
                         if len({str(m.message["Message-ID"]) for m in found}) != 1]
        repeats = sum(len(found) - 1 for found in mails.values())
        print(f"\nstorm: {count} requests, faults {faults}; every case, view and email after {drained:.0f} s; "
              f"{repeats} emails sent again with the same Message-ID")
        assert faults.count("redis restart") == 2 and faults.count("worker node") >= 2
        assert faults.count("pool process") >= 3
        assert lost == [] and doubled_cases == [] and doubled_mails == []
        assert sum(views.get(code, 0) for code in codes) == count
        doctor = stack.sopdesk("doctor", "--json", check=False)
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        assert json.loads(doctor.stdout)["late"] == 0
    finally:
        stop_faults.set()
        workers.stop()
        stack.stop()
        catcher.stop()
