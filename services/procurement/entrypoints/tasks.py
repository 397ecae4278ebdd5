"""Procurement's Celery tasks: its durable consumer, outbox sweep, and the milestone reminders."""
from services.procurement.adapters.bus import bus
from services.procurement.handlers import reminders
from shared.celery_app import celery
from shared.tasks import register_service_tasks

handle_event, handle_events, sweep_outbox = register_service_tasks(bus)


@celery.task(name="procurement.plan_maintenance", ignore_result=True)
def plan_maintenance():
    """Preventive maintenance by the asset register (a pack's per-asset schedule): intake is asked
    to file one case per asset and period, once; safe to run every few minutes."""
    from services.procurement.handlers import maintenance

    return [asked.tracking_code for asked in maintenance.plan_maintenance()]


@celery.task(name="procurement.reminders", ignore_result=True)
def send_reminders():
    """Milestone reminders and overdue notices, once each, from SOPDESK_REMINDERS_AT on working days."""
    return reminders.send_due_notices()
