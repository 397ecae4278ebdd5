"""Who hears which event: the one table of subscriptions.

Each consuming service has its own durable Celery queue, named after the service. Publishing an
event sends one message to the queue of every subscriber, so an event reaches a service that is
down when it is published (its messages wait in its queue). No Redis pub/sub anywhere.
"""
from __future__ import annotations

from shared.config import SERVICES

SUBSCRIPTIONS: dict[str, frozenset[str]] = {
    # intake keeps the requester's view of the case (the tracking page) from case events,
    # including what a return for correction asks of them.
    "intake": frozenset({"case.opened", "case.step_started", "case.step_completed", "case.step_waiting",
                         "case.step_resumed", "case.step_returned", "case.step_rejected", "case.closed",
                         # and files planned work as a request with no requester when its day comes
                         # (preventive maintenance of an asset: procurement says when)
                         "planned.due", "procurement.maintenance_due",
                         # and, for an erasure it asked for (PDPA), each service's confirmation
                         "privacy.assignment_erased", "privacy.notify_erased", "privacy.procurement_erased"}),
    # assignment opens a case for every request, resumes cases waiting on a requester's answer or
    # on procurement, keeps what procurement knows of the asset a repair names, and keeps the
    # satisfaction scores its reports use.
    "assignment": frozenset({"request.submitted", "request.answered", "procurement.delivered",
                             "procurement.contract_completed", "procurement.asset_checked", "survey.answered",
                             "privacy.erasure_requested",
                             # and keeps on the case what procurement says of the contract serving it:
                             # a contract signed, milestones delivered, accepted, rejected, paid, due
                             # or overdue, and emergencies reported to the contractor
                             "procurement.contract_signed", "procurement.milestone_delivered",
                             "procurement.milestone_accepted", "procurement.milestone_rejected",
                             "procurement.milestone_paid", "procurement.milestone_due",
                             "procurement.milestone_overdue", "procurement.incident_reported",
                             # and, for the reports, procurement's projects as they are recorded, move
                             # from stage to stage or are cancelled, and milestones added to a contract
                             "procurement.project_created", "procurement.purchase_opened",
                             "procurement.project_stage_changed", "procurement.project_cancelled",
                             "procurement.milestone_added",
                             # and keeps, in the administrators' one trail, the settings they change
                             # in another service (the privacy notice's words, in intake)
                             "admin.changed"}),
    # notify writes to the requester (received, steps the pack marks, returns, rejections,
    # waits on a vendor or a purchase, the close with its survey) and to staff (assigned,
    # approval needed, overdue, the daily summary).
    "notify": frozenset({"request.submitted", "case.opened", "case.step_started", "case.assigned",
                         "case.step_completed", "case.step_returned", "case.step_rejected",
                         "case.step_waiting", "case.closed", "case.approval_asked", "sla.breached", "sla.escalated", "staff.daily_summary",
                         # and, for procurement, to the officer and the inspection committee before and
                         # after a milestone falls due, and to the vendor's contacts of an emergency
                         "procurement.milestone_due", "procurement.milestone_overdue",
                         "procurement.incident_reported",
                         # and erases a person's contacts and emails when intake asks (PDPA)
                         "privacy.erasure_requested",
                         # and, of a personal-data breach, the notice to the people affected and the
                         # privacy officers' reminders of the PDPC deadline (PDPA s.37(4))
                         "breach.notice_requested", "breach.pdpc_deadline_approaching",
                         "breach.pdpc_deadline_passed"}),
    # Every service but intake erases its part of a person's data when intake asks (PDPA).
    # procurement looks up the asset a request names (warranty, lease, the vendor to claim from),
    # opens a purchase when a case waits on one, links a case waiting on a contract, follows
    # warranty claims, counts working days with the admin's calendar changes, and knows each staff
    # account's organisation (a project's officer and committee members are its own people).
    "procurement": frozenset({"request.submitted", "case.step_waiting", "case.step_resumed", "calendar.changed",
                              # and each organisation's reminder settings (when, how many days ahead)
                              "org.reminders_changed",
                              "privacy.erasure_requested", "staff.person_changed",
                              # and records a machine a case lends as a loan, returned when the case closes
                              "case.asset_lent", "case.closed"}),
}

QUEUES: tuple[str, ...] = SERVICES


def subscribers(event_type: str) -> list[str]:
    return [service for service in SERVICES if event_type in SUBSCRIPTIONS[service]]
