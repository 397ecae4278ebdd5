"""Intake's Celery tasks: its durable consumer and outbox sweep, and the retention job."""
from services.intake.adapters.bus import bus
from services.intake.handlers import erasure
from services.intake.handlers import requests as handlers  # noqa: F401  (registers the event handlers)
from shared.celery_app import celery
from shared.tasks import register_service_tasks

handle_event, handle_events, sweep_outbox = register_service_tasks(bus)


@celery.task(name="intake.erase_past_retention", ignore_result=True)
def erase_past_retention():
    """The cases closed more than SOPDESK_RETENTION_YEARS ago are erased (logged); a batch a run."""
    erasure.erase_past_retention()
