"""Intake's Celery tasks: its durable consumer and outbox sweep."""
from services.intake import handlers  # noqa: F401  (registers the event handlers)
from services.intake.bus import bus
from shared.tasks import register_service_tasks

handle_event, handle_events, sweep_outbox = register_service_tasks(bus)
