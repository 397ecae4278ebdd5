"""The one Celery application. Each service has its own durable queue named after it; tasks are
named ``<service>.<verb>`` and routed to their service's queue by that prefix.

Delivery settings that the reliability rules depend on: late acknowledgement (a task is acked only
after it ran), requeue when the worker process is lost, one message prefetched at a time, and a
visibility timeout after which Redis hands an unacknowledged message to another worker. These
make redelivery quick; they are not what makes it certain: an event stays owed by its producer
until its subscriber confirms it (shared/messaging.py).
"""
from __future__ import annotations

from celery import Celery
from kombu import Exchange, Queue

from shared.config import Settings, get_settings
from shared.routing import QUEUES

TASK_MODULES = [
    "services.intake.tasks",
    "services.assignment.tasks",
    "services.notify.tasks",
    "services.procurement.tasks",
]


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
    schedule = {}
    for service in QUEUES:
        schedule[f"{service}.sweep_outbox"] = {
            "task": f"{service}.sweep_outbox",
            "schedule": float(settings.sweep_seconds),
            "options": {"queue": service, "expires": max(5, settings.sweep_seconds * 3)},
        }
    schedule["notify.sweep_deliveries"] = {
        "task": "notify.sweep_deliveries",
        "schedule": float(settings.sweep_seconds),
        "options": {"queue": "notify", "expires": max(5, settings.sweep_seconds * 3)},
    }
    # missed deadlines: an indexed query over unreported late steps, cheap to run often
    schedule["assignment.sweep_sla"] = {
        "task": "assignment.sweep_sla",
        "schedule": float(settings.sweep_seconds),
        "options": {"queue": "assignment", "expires": max(5, settings.sweep_seconds * 3)},
    }
    # the daily summary checks the time and a table of who heard today: cheap, and a beat that
    # was down at the hour still sends it when it comes back
    schedule["assignment.daily_summaries"] = {
        "task": "assignment.daily_summaries",
        "schedule": 60.0,
        "options": {"queue": "assignment", "expires": 120},
    }
    # milestone reminders and overdue notices: the same kind of cheap check, once a minute; each
    # notice is recorded with its event, so a run that is late or repeated tells nobody twice
    schedule["procurement.reminders"] = {
        "task": "procurement.reminders",
        "schedule": 60.0,
        "options": {"queue": "procurement", "expires": 120},
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
        "beat_schedule": schedule,
    }


def make_celery(settings: Settings | None = None) -> Celery:
    app = Celery("sopdesk", include=TASK_MODULES)
    # read lazily, so that importing this module touches no settings
    app.add_defaults(lambda: celery_config(settings or get_settings()))
    return app


celery = make_celery()
app = celery  # `celery -A shared.celery_app` finds it by this name as well


def reconfigure(settings: Settings) -> None:
    """Point the process's Celery app at other settings (embedded runner, tests)."""
    celery.conf.update(celery_config(settings))
    # drop this app's references; kombu keeps one pool per broker URL, reused when it returns
    celery._pool = None
    celery.amqp._producer_pool = None
