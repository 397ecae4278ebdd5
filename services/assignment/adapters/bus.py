"""Assignment's side of the event bus."""
from services.assignment.adapters import caches  # noqa: F401  (every session of assignment's comes from here: the
#                                          hooks that mark cached reference data changed are on)
from services.assignment.adapters.models import DeadLetter, Inbox, Outbox
from shared.messaging import ServiceBus

bus = ServiceBus("assignment", Outbox, Inbox, DeadLetter, handlers_module="services.assignment.handlers.cases")
