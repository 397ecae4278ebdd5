"""Assignment's side of the event bus."""
from services.assignment.models import DeadLetter, Inbox, Outbox, Owed
from shared.messaging import ServiceBus

bus = ServiceBus("assignment", Outbox, Inbox, DeadLetter, Owed, handlers_module="services.assignment.handlers")
