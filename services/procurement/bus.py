"""Procurement's side of the event bus."""
from services.procurement.models import DeadLetter, Inbox, Outbox, Owed
from shared.messaging import ServiceBus

bus = ServiceBus("procurement", Outbox, Inbox, DeadLetter, Owed, handlers_module="services.procurement.handlers")
