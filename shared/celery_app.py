"""The one Celery application. Each service has its own durable queue named after it; tasks are
named ``<service>.<verb>`` and routed to their service's queue by that prefix.

Delivery settings that the reliability rules depend on: late acknowledgement (a task is acked only
after it ran), requeue when the worker process is lost, one message prefetched at a time, and a
visibility timeout after which Redis hands an unacknowledged message to another worker. These
make redelivery quick; they are not what makes it certain: an event stays owed by its producer
until its subscriber confirms it (shared/messaging.py).
"""
from __future__ import annotations

from collections.abc import Callable

from celery import Celery
from kombu import Exchange, Queue

from shared.config import Settings, get_settings
from shared.routing import QUEUES

# what the composition root (sopdesk/worker.py) wires in: the services' task modules and the beat
# schedule. This library names no service's task.
_task_modules: list[str] = []
_schedule: Callable[[Settings], dict] | None = None


def wire(task_modules: list[str], schedule: Callable[[Settings], dict]) -> None:
    """Name the modules that define the tasks (imported by workers and by
    ``celery.loader.import_default_modules()``) and the beat schedule, a function of the
    settings. Called once by the composition root."""
    global _schedule
    _task_modules[:] = task_modules
    _schedule = schedule
    if celery.configured:  # the settings were read already: bring the running config up to date
        celery.conf.update(include=list(_task_modules), beat_schedule=schedule(get_settings()))


def celery_config(settings: Settings) -> dict:
    exchange = Exchange("sopdesk", type="direct", durable=True)
    transport = {
        "visibility_timeout": settings.visibility_timeout,
        # a task whose worker died runs again within the visibility timeout plus one sweep: kombu
        # scans for abandoned messages every interval, but by default only on every 10th scan
        # (unacked_restore_throttle), which made a 60 s timeout wait almost 7 minutes
        "unacked_restore_interval": max(1, min(settings.sweep_seconds, settings.visibility_timeout)),
        "unacked_restore_throttle": 1,
        "socket_connect_timeout": 3,
        "socket_timeout": 10,
        "socket_keepalive": True,
        # publishing never waits long: a failed publish leaves the outbox row for the sweep
        "max_retries": 0,
    }
    return {
        "broker_url": settings.broker_url,
        "broker_transport_options": transport,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 3,
        "task_queues": [Queue(q, exchange, routing_key=q, durable=True) for q in QUEUES],
        "task_default_queue": "notify",
        "task_default_exchange": "sopdesk",
        "task_routes": {f"{q}.*": {"queue": q, "routing_key": q} for q in QUEUES},
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "worker_prefetch_multiplier": 1,
        "worker_hijack_root_logger": False,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "enable_utc": True,
        "timezone": "UTC",
        "include": list(_task_modules),
        "beat_schedule": _schedule(settings) if _schedule else {},
    }


def make_celery(settings: Settings | None = None) -> Celery:
    app = Celery("sopdesk")
    # read lazily, so that importing this module touches no settings
    app.add_defaults(lambda: celery_config(settings or get_settings()))
    return app


celery = make_celery()


def reconfigure(settings: Settings) -> None:
    """Point the process's Celery app at other settings (embedded runner, tests)."""
    celery.conf.update(celery_config(settings))
    # drop this app's references; kombu keeps one pool per broker URL, reused when it returns
    celery._pool = None
    celery.amqp._producer_pool = None
