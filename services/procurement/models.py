"""Procurement's tables. So far only the event plumbing every service has."""
from shared import db
from shared.messaging import DeadLetterMixin, InboxMixin, OutboxMixin

Base = db.make_base("procurement")


class Outbox(OutboxMixin, Base):
    pass


class Inbox(InboxMixin, Base):
    pass


class DeadLetter(DeadLetterMixin, Base):
    pass
