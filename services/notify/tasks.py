"""Notify's Celery tasks: its durable consumer, outbox sweep, and the delivery sweep."""
from services.notify import handlers
from services.notify.bus import bus
from shared.celery_app import celery
from shared.tasks import register_service_tasks

handle_event, sweep_outbox = register_service_tasks(bus)


@celery.task(name="notify.sweep_deliveries", ignore_result=True)
def sweep_deliveries():
    return handlers.sweep_deliveries()
