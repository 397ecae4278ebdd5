"""Notify's Celery tasks: its durable consumer, outbox sweep, the delivery sweep, and
``notify.deliver``, which a replayed dead letter of an email runs (``sopdesk dead-letters
replay``, ``POST /notify/dead-letters/<id>/replay``)."""
import logging

from services.notify.adapters.bus import bus
from services.notify.handlers import emails as handlers
from shared.celery_app import celery
from shared.tasks import register_service_tasks

log = logging.getLogger(__name__)

handle_event, handle_events, sweep_outbox = register_service_tasks(bus)


@celery.task(name="notify.sweep_deliveries", ignore_result=True)
def sweep_deliveries():
    return handlers.sweep_deliveries()


@celery.task(name="notify.deliver", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def deliver(envelope):
    """Send a dead delivery again: the same row, so the same Message-ID. ``envelope`` is the dead
    letter's ({"delivery_id", "id", "type"}). Failing again, it retries with backoff on the
    delivery sweep and ends as a new dead letter."""
    delivery_id = envelope.get("delivery_id") if isinstance(envelope, dict) else None
    if not delivery_id:
        log.error("notify.deliver without a delivery_id: %r", envelope)
        return "missing"
    return handlers.redeliver(delivery_id)
