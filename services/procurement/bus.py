"""Procurement's side of the event bus."""
from services.procurement.models import DeadLetter, Inbox, Outbox
from shared.messaging import ServiceBus

bus = ServiceBus("procurement", Outbox, Inbox, DeadLetter, handlers_module="services.procurement.handlers")
