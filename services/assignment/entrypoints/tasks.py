"""Assignment's Celery tasks: its durable consumer, outbox sweep and missed-deadline sweep."""
from services.assignment.adapters.bus import bus
from services.assignment.handlers import cases as handlers  # also registers the event handlers
from shared.celery_app import celery
from shared.tasks import register_service_tasks

handle_event, handle_events, sweep_outbox = register_service_tasks(bus)


@celery.task(name="assignment.sweep_sla", ignore_result=True)
def sweep_sla():
    """Report each step and case deadline that has passed to the heads, once (``sla.breached``),
    and to the director when still late the pack's working days later, once (``sla.escalated``)."""
    result = handlers.sweep_sla()
    return {"steps": result.steps, "cases": result.cases, "escalated_steps": result.escalated_steps,
            "escalated_cases": result.escalated_cases}


@celery.task(name="assignment.daily_summaries", ignore_result=True)
def daily_summaries():
    """Each person's open work, once per working day from SOPDESK_DAILY_SUMMARY_AT."""
    return handlers.send_daily_summaries()


@celery.task(name="assignment.open_planned", ignore_result=True)
def open_planned():
    """Planned work (a pack's schedule) whose day has come: intake is asked to file it, once per
    SOP and period; safe to run every few minutes."""
    from services.assignment.handlers import planned

    return [run.tracking_code for run in planned.open_planned()]


@celery.task(name="assignment.breach_clocks", ignore_result=True)
def breach_clocks():
    """The breach register's 72-hour clocks: each open breach's privacy officers hear once when 24
    hours are left before the PDPC deadline and once when it has passed."""
    from services.assignment.handlers import breaches

    return breaches.sweep_clocks()


@celery.task(name="assignment.fold_tallies", ignore_result=True)
def fold_tallies():
    """Fold the lists' tallies' changes into the tallies (``handlers.cases.fold_tallies``): a
    list's total reads both, so this only keeps the changes few; safe to run at any time."""
    with handlers.bus.session() as session:
        changed = handlers.fold_tallies(session)
        session.commit()
    return changed
