"""Intake's Celery tasks: its durable consumer and outbox sweep."""
from services.intake.adapters.bus import bus
from services.intake.handlers import requests as handlers  # noqa: F401  (registers the event handlers)
from shared.tasks import register_service_tasks

handle_event, handle_events, sweep_outbox = register_service_tasks(bus)
