"""Intake's side of the event bus."""
from services.intake.adapters.models import DeadLetter, Inbox, Outbox
from shared.messaging import ServiceBus

bus = ServiceBus("intake", Outbox, Inbox, DeadLetter, handlers_module="services.intake.handlers.requests")
