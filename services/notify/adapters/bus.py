"""Notify's side of the event bus."""
from services.notify.adapters.models import DeadLetter, Inbox, Outbox
from shared.messaging import ServiceBus

bus = ServiceBus("notify", Outbox, Inbox, DeadLetter, handlers_module="services.notify.handlers.consumers")
