"""Procurement's Celery tasks: its durable consumer and outbox sweep."""
from services.procurement.bus import bus
from shared.tasks import register_service_tasks

handle_event, sweep_outbox = register_service_tasks(bus)
