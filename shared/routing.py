"""Who hears which event: the one table of subscriptions.

Each consuming service has its own durable Celery queue, named after the service. Publishing an
event sends one message to the queue of every subscriber, so an event reaches a service that is
down when it is published (its messages wait in its queue). No Redis pub/sub anywhere.
"""
from __future__ import annotations

from shared.config import SERVICES

SUBSCRIPTIONS: dict[str, frozenset[str]] = {
    # intake keeps the requester's view of the case (the tracking page) from case events.
    "intake": frozenset({"case.opened", "case.step_started", "case.step_completed", "case.step_waiting",
                         "case.step_resumed", "case.closed"}),
    # assignment opens a case for every request, and resumes cases waiting on a requester's
    # answer or on procurement.
    "assignment": frozenset({"request.submitted", "request.answered", "procurement.delivered",
                             "procurement.contract_completed"}),
    # notify keeps the requester's address from the request and writes when the case opens.
    "notify": frozenset({"request.submitted", "case.opened"}),
    "procurement": frozenset(),
}

QUEUES: tuple[str, ...] = SERVICES


def subscribers(event_type: str) -> list[str]:
    return [service for service in SERVICES if event_type in SUBSCRIPTIONS[service]]
