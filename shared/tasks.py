"""The Celery tasks every service has, built from its ServiceBus: ``<service>.handle_event``
(the durable consumer, late-acked, retried with backoff, then dead-lettered) and
``<service>.sweep_outbox`` (publishes what the relay left behind)."""
from __future__ import annotations

import logging
import random

from shared.celery_app import celery
from shared.config import get_settings
from shared.messaging import PermanentError, ServiceBus

log = logging.getLogger(__name__)


def backoff_seconds(attempt: int, cap: int) -> float:
    """Exponential backoff with full jitter: 2, 4, 8 ... seconds, capped."""
    ceiling = min(cap, 2 ** attempt)
    return max(1.0, random.uniform(ceiling / 2, ceiling))


def register_service_tasks(bus: ServiceBus):
    service = bus.service

    @celery.task(
        name=f"{service}.handle_event",
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        ignore_result=True,
    )
    def handle_event(self, envelope):
        settings = get_settings()
        attempt = self.request.retries + 1
        try:
            bus.consume(envelope)
        except PermanentError as exc:
            bus.record_dead_letter(self.name, envelope, f"{type(exc).__name__}: {exc}", attempt)
            bus.confirm(envelope)  # the dead letter holds it now: its producer need not send it again
        except Exception as exc:
            if attempt >= settings.max_retries:
                bus.record_dead_letter(self.name, envelope, f"{type(exc).__name__}: {exc}", attempt)
                bus.confirm(envelope)
                return
            log.warning("%s attempt %d failed: %s", self.name, attempt, exc)
            raise self.retry(exc=exc, countdown=backoff_seconds(attempt, settings.retry_backoff_max),
                             max_retries=None)

    @celery.task(name=f"{service}.sweep_outbox", ignore_result=True)
    def sweep_outbox():
        return bus.sweep()

    return handle_event, sweep_outbox
