"""What a worker and beat run: the services' task modules and the beat schedule, wired into the
one Celery app of ``shared.celery_app``. ``celery -A sopdesk.worker`` finds the app here;
``sopdesk worker`` and ``sopdesk beat`` use it."""
from __future__ import annotations

from shared.celery_app import celery, wire
from shared.config import Settings
from shared.routing import QUEUES

TASK_MODULES = [
    "services.intake.entrypoints.tasks",
    "services.assignment.entrypoints.tasks",
    "services.notify.entrypoints.tasks",
    "services.procurement.entrypoints.tasks",
]


def beat_schedule(settings: Settings) -> dict:
    """The periodic tasks, each on its service's queue and expiring when the next run is due."""
    def every(task: str, seconds: float, expires: float) -> dict:
        queue = task.split(".", 1)[0]
        return {"task": task, "schedule": float(seconds), "options": {"queue": queue, "expires": expires}}

    sweep = settings.sweep_seconds
    schedule = {f"{service}.sweep_outbox": every(f"{service}.sweep_outbox", sweep, max(5, sweep * 3))
                for service in QUEUES}
    schedule["notify.sweep_deliveries"] = every("notify.sweep_deliveries", sweep, max(5, sweep * 3))
    # missed deadlines: an indexed query over unreported late steps, cheap to run often
    schedule["assignment.sweep_sla"] = every("assignment.sweep_sla", sweep, max(5, sweep * 3))
    # the daily summary checks the time and a table of who heard today: cheap, and a beat that
    # was down at the hour still sends it when it comes back
    schedule["assignment.daily_summaries"] = every("assignment.daily_summaries", 60, 120)
    # the case lists' tallies: the changes since the last fold join their tallies (a list's
    # total reads both; folding keeps the changes to a minute's worth)
    schedule["assignment.fold_tallies"] = every("assignment.fold_tallies", 60, 120)
    # milestone reminders and overdue notices: the same kind of cheap check, once a minute; each
    # notice is recorded with its event, so a run that is late or repeated tells nobody twice
    schedule["procurement.reminders"] = every("procurement.reminders", 60, 120)
    # the breach register's 72-hour clocks (PDPA s.37(4)): the same kind of check, once a minute;
    # each reminder is recorded on the breach with its event, so nobody hears it twice
    schedule["assignment.breach_clocks"] = every("assignment.breach_clocks", 60, 120)
    # planned work (a pack's schedule): a unique run per SOP and period, so running it every five
    # minutes opens each period's case once, on its first working day
    schedule["assignment.open_planned"] = every("assignment.open_planned", 300, 600)
    # preventive maintenance per asset of procurement's register: the same, once per asset and period
    schedule["procurement.plan_maintenance"] = every("procurement.plan_maintenance", 300, 600)
    # the PDPA's retention: the cases closed more than SOPDESK_RETENTION_YEARS ago are erased, a
    # batch an hour (one query over closed requests; nothing to do most hours)
    schedule["intake.erase_past_retention"] = every("intake.erase_past_retention", 3600, 1800)
    # the traffic log: new rows join each service's hash chain every minute (until then a row is
    # open to an unseen change); once a day the rows past SOPDESK_TRAFFIC_LOG_DAYS go
    for service in QUEUES:
        schedule[f"{service}.link_traffic"] = every(f"{service}.link_traffic", 60, 120)
        schedule[f"{service}.purge_traffic"] = every(f"{service}.purge_traffic", 24 * 3600, 3600)
    return schedule


wire(TASK_MODULES, beat_schedule)
app = celery  # `celery -A sopdesk.worker` finds it by this name as well
