"""The baseline bench/pipeline.py measures sopdesk against: a bare Celery chain on the same kind
of broker, whose every hop does one INSERT into PostgreSQL and nothing else.

Worker settings are sopdesk's (shared/celery_app.py): late acks, requeue when a worker process is
lost, one message prefetched, results ignored, JSON, the same Redis transport options; the hops
go to queues named like sopdesk's, one worker per queue (prefork, the same concurrency), so each
hop crosses the broker to another worker as an event does in sopdesk.

    celery -A bench.bare_chain worker -Q assignment --pool prefork --concurrency 2 ...

Environment: BARE_BROKER_URL (the private Redis, its own database number), BARE_DATABASE_URL
(a scratch database with the ``hops`` table, made by ``create_table``).
"""
from __future__ import annotations

import os
import time

from celery import Celery, chain
from celery.signals import worker_process_init
from kombu import Exchange, Queue

QUEUES = ("intake", "assignment", "notify", "procurement")
VISIBILITY_TIMEOUT = 300  # sopdesk's default (SOPDESK_VISIBILITY_TIMEOUT)

app = Celery("bare_chain")
_exchange = Exchange("bare", type="direct", durable=True)
app.conf.update(
    broker_url=os.environ.get("BARE_BROKER_URL", "redis://127.0.0.1:6379/0"),
    broker_transport_options={
        "visibility_timeout": VISIBILITY_TIMEOUT,
        "unacked_restore_interval": max(1, min(60, VISIBILITY_TIMEOUT // 2)),
        "socket_connect_timeout": 3,
        "socket_timeout": 10,
        "socket_keepalive": True,
        "max_retries": 0,
    },
    broker_connection_retry_on_startup=True,
    task_queues=[Queue(q, _exchange, routing_key=q, durable=True) for q in QUEUES],
    task_default_queue=QUEUES[0],
    task_default_exchange="bare",
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
    enable_utc=True,
    timezone="UTC",
)

_engine = None


def engine():
    global _engine
    if _engine is None:
        from sqlalchemy import create_engine

        url = os.environ["BARE_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
        _engine = create_engine(url, pool_size=5, max_overflow=5)
    return _engine


@worker_process_init.connect
def _fresh_engine_after_fork(**_):
    global _engine
    _engine = None


def create_table(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS hops (id bigserial PRIMARY KEY, chain_id text NOT NULL, "
                     "hop integer NOT NULL, sent_at double precision NOT NULL, done_at double precision NOT NULL, "
                     "pid integer NOT NULL)")


@app.task(name="bare.hop", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def hop(chain_id: str, number: int, sent_at: float) -> None:
    from sqlalchemy import text

    with engine().begin() as conn:
        conn.execute(text("INSERT INTO hops (chain_id, hop, sent_at, done_at, pid) "
                          "VALUES (:c, :h, :s, :d, :p)"),
                     {"c": chain_id, "h": number, "s": sent_at, "d": time.time(), "p": os.getpid()})


def send_chain(chain_id: str, queues: list[str]) -> float:
    """Send one chain whose hop k runs on ``queues[k]``; returns the moment it was sent."""
    sent_at = time.time()
    chain(*[hop.si(chain_id, k, sent_at).set(queue=q, routing_key=q) for k, q in enumerate(queues)]).apply_async()
    return sent_at
