"""Procurement's side of the event bus."""
from services.procurement.adapters.models import DeadLetter, Inbox, Outbox
from shared.messaging import ServiceBus

# nobody waits on procurement's answers to a request (the asset check lands on the case whenever
# it comes): its consumer lets 50 ms of requests queue up behind a small batch and takes them too
bus = ServiceBus("procurement", Outbox, Inbox, DeadLetter, handlers_module="services.procurement.handlers.consumers",
                 batch_wait=0.05)
