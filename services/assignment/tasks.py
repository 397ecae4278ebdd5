"""Assignment's Celery tasks: its durable consumer and outbox sweep."""
from services.assignment import handlers  # noqa: F401  (registers the event handlers)
from services.assignment.bus import bus
from shared.tasks import register_service_tasks

handle_event, sweep_outbox = register_service_tasks(bus)
