"""The transactional outbox, the idempotent inbox and dead letters, shared by every service.

* A service writes its state change and the events it causes in one transaction
  (``UnitOfWork.emit`` adds an outbox row in the same session).
* After the commit the relay publishes the new rows; a periodic sweep publishes whatever is left
  (the broker was down, the process died between commit and publish).
* A consumer records the event id in its inbox in the same transaction as the effect, so a
  redelivered event changes nothing.
* A handler that keeps failing ends as a dead-letter row that an admin can list and replay.

Delivery is confirmed by the consumer, end to end. The broker client's ack emulation has windows
of its own (kombu's Redis transport takes a message with BRPOP and records it as unacknowledged
with a second command; a worker killed between the two loses it; a Redis restart without its
append-only file loses every queue), so it is not trusted alone:

* ``emit`` also writes one ``outbox_owed`` row per subscriber in the same transaction: the event
  is owed to that subscriber.
* A consumer, after its inbox row has committed (or the event was a duplicate, or it was
  dead-lettered, which an admin now owns), confirms it: one ``RPUSH`` of ``subscriber|event id``
  to the producer's confirmation list in Redis.
* The producer's sweep takes the confirmations and deletes those owed rows; a row still owed
  when it falls due is sent again, with the wait doubling each time (``SOPDESK_REDELIVER_SECONDS``,
  then twice that, up to an hour), and the consumer's inbox makes the repeat a no-op.

A lost confirmation only costs a repeat; a lost message is sent again. Nothing rests on Redis
keeping anything: what is owed lives in the producer's database until its consumer has it.
"""
from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, delete, func, or_, select, text, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column, sessionmaker

from shared import db
from shared.config import get_settings
from shared.events import Event
from shared.routing import subscribers

log = logging.getLogger(__name__)


class OutboxMixin:
    __tablename__ = "outbox"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    correlation_id: Mapped[str | None] = mapped_column(String(64))
    envelope: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)
    published_at: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)

    @declared_attr.directive
    def __table_args__(cls):
        # the sweep reads only unpublished rows, oldest first: a partial index keeps it small
        return (
            Index(
                "ix_outbox_unpublished",
                "created_at",
                postgresql_where=text("published_at IS NULL"),
            ),
        )


class InboxMixin:
    __tablename__ = "inbox"

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    handled_at: Mapped[datetime] = mapped_column(default=db.utcnow)


class OwedMixin:
    """An event still owed to one subscriber: written with the event, deleted when the
    subscriber confirms it has the event in its inbox. ``due_at`` is when it is (re)sent next."""

    __tablename__ = "outbox_owed"

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subscriber: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    correlation_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    due_at: Mapped[datetime] = mapped_column(default=db.utcnow)
    sends: Mapped[int] = mapped_column(Integer, default=0)

    @declared_attr.directive
    def __table_args__(cls):
        # the sweep takes what has fallen due, oldest first
        return (Index("ix_outbox_owed_due_at", "due_at"),)


def create_owed_table(op) -> None:
    """The migration that brings ``outbox_owed``, the same in every service's history: the table,
    its index, and what was never published before it, owed to its subscribers."""
    import sqlalchemy as sa

    op.create_table(
        "outbox_owed",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("subscriber", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("correlation_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_at", db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sends", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "subscriber", name=op.f("pk_outbox_owed")),
    )
    op.create_index("ix_outbox_owed_due_at", "outbox_owed", ["due_at"], unique=False)
    backfill_owed(op.get_bind())


def drop_owed_table(op) -> None:
    op.drop_index("ix_outbox_owed_due_at", table_name="outbox_owed")
    op.drop_table("outbox_owed")


def backfill_owed(connection) -> None:
    """Events written before ``outbox_owed`` existed and never published are owed to their
    subscribers (the sweep then sends them)."""
    rows = connection.execute(
        text("SELECT id, type, correlation_id, created_at FROM outbox WHERE published_at IS NULL")
    ).all()
    for event_id, event_type, correlation_id, created_at in rows:
        for target in subscribers(event_type):
            connection.execute(
                text("INSERT INTO outbox_owed (event_id, subscriber, type, correlation_id, created_at, "
                     "due_at, sends) VALUES (:id, :sub, :type, :cid, :at, :at, 0)"),
                {"id": event_id, "sub": target, "type": event_type, "cid": correlation_id, "at": created_at},
            )


class DeadLetterMixin:
    __tablename__ = "dead_letters"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=db.new_id)
    task: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[str | None] = mapped_column(String(36))
    event_type: Mapped[str | None] = mapped_column(String(100))
    envelope: Mapped[dict] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)
    replayed_at: Mapped[datetime | None] = mapped_column(default=None)


class NotReady(Exception):
    """The event cannot be handled yet (it arrived before one it depends on): retry later."""


class PermanentError(Exception):
    """The event can never be handled as it is: dead-letter it at once, without retries."""


Handler = Callable[["UnitOfWork", Event], None]

# a row still unconfirmed is sent again after SOPDESK_REDELIVER_SECONDS, then twice that, and so
# on, never waiting longer than this between sends
MAX_REDELIVER_SECONDS = 3600


def confirmations_key(producer: str) -> str:
    """The Redis list where subscribers confirm a producer's events."""
    return f"sopdesk:confirmed:{producer}"


_clients: dict[str, Any] = {}


def broker_client():
    """A plain Redis client on the broker (for confirmations), one per URL and process."""
    url = get_settings().broker_url
    client = _clients.get(url)
    if client is None:
        import redis

        plain = url.replace("redis+socket://", "unix://", 1) if url.startswith("redis+socket://") else url
        client = _clients[url] = redis.Redis.from_url(plain, socket_timeout=5, socket_connect_timeout=3)
    return client


@dataclass(frozen=True)
class SubscriberOwed:
    subscriber: str
    count: int
    oldest_seconds: float


@dataclass(frozen=True)
class OwedEvent:
    subscriber: str
    event_id: str
    type: str
    correlation_id: str | None
    age_seconds: float
    sends: int


@dataclass(frozen=True)
class OwedReport:
    service: str
    by_subscriber: dict[str, SubscriberOwed]
    events: list[OwedEvent]

    def oldest_seconds(self) -> float:
        return max((s.oldest_seconds for s in self.by_subscriber.values()), default=0.0)


@dataclass(frozen=True)
class ConsumeResult:
    event: Event
    duplicate: bool


class ServiceBus:
    """One service's side of the event bus: its unit of work, relay, sweep and consumer."""

    def __init__(self, service: str, outbox: type, inbox: type, dead_letter: type, owed: type,
                 handlers_module: str | None = None) -> None:
        self.service = service
        self.handlers_module = handlers_module
        self.Outbox = outbox
        self.Inbox = inbox
        self.DeadLetter = dead_letter
        self.Owed = owed
        self._handlers: dict[str, Handler] = {}
        self._after_consume: list[Callable[[Event], None]] = []
        self._after_batch: list[Callable[[list[Event]], None]] = []
        self._sessionmakers: dict[int, sessionmaker] = {}

    # --- database -------------------------------------------------------------------------
    @property
    def engine(self):
        return db.get_engine(self.service, get_settings().database_url(self.service))

    def session(self) -> Session:
        engine = self.engine
        maker = self._sessionmakers.get(id(engine))
        if maker is None:
            maker = self._sessionmakers[id(engine)] = db.session_factory(engine)
        return maker()

    def unit_of_work(self) -> "UnitOfWork":
        return UnitOfWork(self)

    # --- consuming ------------------------------------------------------------------------
    def handles(self, event_type: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            if event_type in self._handlers:
                raise ValueError(f"{self.service} already handles {event_type}")
            self._handlers[event_type] = fn
            return fn

        return register

    def after_consume(self, fn: Callable[[Event], None]) -> Callable[[Event], None]:
        """Run after every delivery of an event, handled now or before (e.g. send what is due)."""
        self._after_consume.append(fn)
        return fn

    def after_batch(self, fn: Callable[[list[Event]], None]) -> Callable[[list[Event]], None]:
        """Run once after each delivered batch of events has committed, with every event of the
        batch, handled now or before (e.g. send, over one connection, the emails they asked for)."""
        self._after_batch.append(fn)
        return fn

    def load_handlers(self) -> None:
        """Import the module whose ``@bus.handles`` registrations this bus consumes with."""
        if self.handlers_module:
            importlib.import_module(self.handlers_module)

    @property
    def handled_types(self) -> frozenset[str]:
        self.load_handlers()
        return frozenset(self._handlers)

    def consume(self, envelope: dict[str, Any]) -> ConsumeResult:
        """Handle one delivery of an event exactly once: the effect and the inbox row commit
        together; a second delivery of the same event id is a no-op."""
        try:
            event = Event.from_envelope(envelope)
        except Exception as exc:  # malformed envelope: no retry will mend it
            raise PermanentError(f"malformed envelope: {exc}") from exc
        self.load_handlers()
        handler = self._handlers.get(event.type)
        if handler is None:  # routed here but nobody handles it: never drop it silently
            raise PermanentError(f"{self.service} has no handler for {event.type}")
        with self.unit_of_work() as uow:
            if uow.session.get(self.Inbox, event.id) is not None:
                duplicate = True
            else:
                try:
                    # claim the event id first: a concurrent delivery of the same event waits on
                    # this row and then fails on it, before its handler does anything
                    uow.session.add(self.Inbox(event_id=event.id, type=event.type))
                    uow.session.flush()
                    handler(uow, event)
                    uow.commit()
                    duplicate = False
                except IntegrityError:
                    uow.rollback()
                    if uow.session.get(self.Inbox, event.id) is None:
                        raise  # a real constraint violation of the handler's, not a duplicate
                    duplicate = True
        self.confirm(envelope)
        for fn in self._after_consume:
            fn(event)
        for batch_fn in self._after_batch:
            batch_fn([event])
        return ConsumeResult(event, duplicate)

    def confirm(self, envelope: dict[str, Any]) -> None:
        """Tell the event's producer that this service has it: its inbox row committed, it was
        a duplicate, or it went to a dead letter (which an admin now owns). A confirmation that
        is lost only makes the producer send the event again, which the inbox turns away."""
        source, event_id = envelope.get("source"), envelope.get("id")
        if not isinstance(source, str) or not isinstance(event_id, str):
            return
        try:
            broker_client().rpush(confirmations_key(source), f"{self.service}|{event_id}")
        except Exception as exc:
            log.warning("could not confirm %s to %s (it will be sent again): %s", event_id, source, exc)

    # --- publishing -----------------------------------------------------------------------
    def publish_rows(self, ids: list[str]) -> int:
        """Send the given events to the subscribers they are still owed to and were never sent
        to (the relay, right after the commit that wrote them)."""
        if not ids:
            return 0
        with self.session() as session:
            owed = session.execute(
                select(self.Owed, self.Outbox.envelope)
                .join(self.Outbox, self.Outbox.id == self.Owed.event_id)
                .where(self.Owed.event_id.in_(ids), self.Owed.sent_at.is_(None))
            ).all()
            return self._publish(session, owed)

    def sweep(self, older_than_seconds: float = 2.0, batch: int = 200) -> int:
        """Take the subscribers' confirmations, then send what has fallen due: events the relay
        left behind (the broker was down, the process died between commit and send), and events
        sent but not confirmed in time (lost by the broker or a dying worker), again. Rows younger
        than ``older_than_seconds`` are left to the relay that is probably sending them now.
        Safe to run in parallel with itself. Returns how many events it sent."""
        self.absorb_confirmations()
        published = 0
        now = db.utcnow()
        cutoff = now - timedelta(seconds=older_than_seconds)
        while True:
            with self.session() as session:
                query = (
                    select(self.Owed, self.Outbox.envelope)
                    .join(self.Outbox, self.Outbox.id == self.Owed.event_id)
                    .where(self.Owed.due_at <= now,
                           or_(self.Owed.sent_at.is_not(None), self.Owed.created_at <= cutoff))
                    .order_by(self.Owed.due_at)
                    .limit(batch)
                )
                query = query.with_for_update(of=self.Owed, skip_locked=True)
                owed = session.execute(query).all()
                if not owed:
                    return published
                count = self._publish(session, owed)
                published += count
                if count < len({row.event_id for row, _ in owed}):  # the broker refused: next sweep
                    return published

    def _publish(self, session: Session, owed: list) -> int:
        """Send each (owed row, envelope) to its subscriber's queue, mark it sent and when it
        falls due again if not confirmed by then, and commit. Returns the events sent."""
        from shared.celery_app import celery

        now = db.utcnow()
        redeliver = get_settings().redeliver_seconds
        sent_events: list[str] = []
        failed: str | None = None
        for row, envelope in owed:
            try:
                celery.send_task(
                    f"{row.subscriber}.handle_event",
                    args=[envelope],
                    queue=row.subscriber,
                    routing_key=row.subscriber,
                    retry=False,
                )
            except Exception as exc:  # broker down: what is not sent stays due for the sweep
                log.warning("publish of %s %s to %s failed: %s", row.type, row.event_id, row.subscriber, exc)
                session.execute(
                    update(self.Outbox)
                    .where(self.Outbox.id == row.event_id)
                    .values(attempts=self.Outbox.attempts + 1, last_error=str(exc)[:2000])
                )
                failed = row.event_id
                break
            row.sends += 1
            row.sent_at = now
            row.due_at = now + timedelta(seconds=min(MAX_REDELIVER_SECONDS, redeliver * 2 ** (row.sends - 1)))
            sent_events.append(row.event_id)
        # an event is published once every subscriber it was owed to has been sent it
        fully_sent = [event_id for event_id in dict.fromkeys(sent_events) if event_id != failed]
        if fully_sent:
            session.execute(
                update(self.Outbox)
                .where(self.Outbox.id.in_(fully_sent), self.Outbox.published_at.is_(None))
                .values(published_at=now)
            )
        session.commit()
        return len(fully_sent)

    def absorb_confirmations(self, limit: int = 100_000) -> int:
        """Delete the owed rows that subscribers have confirmed. Returns how many were read."""
        try:
            client = broker_client()
        except Exception:
            return 0
        key = confirmations_key(self.service)
        absorbed = 0
        while absorbed < limit:
            try:
                items = client.lpop(key, 1000)
            except Exception as exc:  # the broker is down: the rows stay owed, nothing is lost
                log.warning("could not read %s's confirmations: %s", self.service, exc)
                return absorbed
            if not items:
                return absorbed
            pairs = set()
            for item in items:
                subscriber, _, event_id = item.decode().partition("|")
                pairs.add((event_id, subscriber))
            with self.session() as session:
                session.execute(
                    delete(self.Owed).where(tuple_(self.Owed.event_id, self.Owed.subscriber).in_(pairs))
                )
                session.commit()
            absorbed += len(items)
        return absorbed

    def owed(self, older_than_seconds: float = 0.0, limit: int = 100) -> "OwedReport":
        """What this service's events are still owed to each subscriber: counts and the oldest
        per subscriber, and the oldest ``limit`` events older than ``older_than_seconds``."""
        now = db.utcnow()
        cutoff = now - timedelta(seconds=older_than_seconds)
        with self.session() as session:
            by_subscriber = {
                subscriber: SubscriberOwed(subscriber, count, (now - oldest).total_seconds())
                for subscriber, count, oldest in session.execute(
                    select(self.Owed.subscriber, func.count(), func.min(self.Owed.created_at))
                    .group_by(self.Owed.subscriber)
                )
            }
            events = [
                OwedEvent(row.subscriber, row.event_id, row.type, row.correlation_id,
                          (now - row.created_at).total_seconds(), row.sends)
                for row in session.scalars(
                    select(self.Owed).where(self.Owed.created_at <= cutoff)
                    .order_by(self.Owed.created_at).limit(limit)
                )
            ]
        return OwedReport(self.service, by_subscriber, events)

    # --- dead letters ---------------------------------------------------------------------
    def record_dead_letter(self, task: str, envelope: dict, error: str, attempts: int) -> str:
        with self.session() as session:
            letter = self.DeadLetter(
                task=task,
                event_id=str(envelope.get("id")) if isinstance(envelope, dict) else None,
                event_type=envelope.get("type") if isinstance(envelope, dict) else None,
                envelope=envelope if isinstance(envelope, dict) else {"raw": repr(envelope)},
                error=error[:10000],
                attempts=attempts,
            )
            session.add(letter)
            session.commit()
            log.error("dead letter %s: %s after %d attempts: %s", letter.id, task, attempts, error)
            return letter.id

    def dead_letters(self, include_replayed: bool = False) -> list:
        with self.session() as session:
            query = select(self.DeadLetter).order_by(self.DeadLetter.created_at)
            if not include_replayed:
                query = query.where(self.DeadLetter.replayed_at.is_(None))
            return list(session.scalars(query))

    def replay_dead_letter(self, letter_id: str) -> None:
        """Send a dead letter's event to this service's handler again, and mark it replayed."""
        from shared.celery_app import celery

        with self.session() as session:
            letter = session.get(self.DeadLetter, letter_id)
            if letter is None:
                raise LookupError(f"no dead letter {letter_id} in {self.service}")
            if letter.replayed_at is not None:
                raise ValueError(f"dead letter {letter_id} was replayed already")
            celery.send_task(letter.task, args=[letter.envelope], queue=self.service,
                             routing_key=self.service, retry=False)
            letter.replayed_at = db.utcnow()
            session.commit()


class UnitOfWork:
    """One transaction of one service. ``emit`` adds events to the same transaction; after a
    successful commit they are handed to the relay. Leaving without ``commit`` rolls back."""

    def __init__(self, bus: ServiceBus) -> None:
        self.bus = bus
        self.session = bus.session()
        self._pending: list[str] = []
        self._committed: list[str] = []

    def emit(self, event_type: str, payload: dict[str, Any], correlation_id: str | None = None,
             version: int = 1) -> Event:
        event = Event(type=event_type, source=self.bus.service, payload=payload,
                      correlation_id=correlation_id, version=version)
        targets = subscribers(event.type)
        self.session.add(
            self.bus.Outbox(id=event.id, type=event.type, correlation_id=correlation_id,
                            envelope=event.to_envelope(), created_at=event.occurred_at,
                            published_at=None if targets else event.occurred_at)
        )
        for target in targets:  # owed to each subscriber until it confirms
            self.session.add(
                self.bus.Owed(event_id=event.id, subscriber=target, type=event.type,
                              correlation_id=correlation_id, created_at=event.occurred_at,
                              due_at=event.occurred_at)
            )
        self._pending.append(event.id)
        return event

    def commit(self) -> None:
        self.session.commit()
        self._committed.extend(self._pending)
        self._pending.clear()

    def rollback(self) -> None:
        self.session.rollback()
        self._pending.clear()

    def __enter__(self) -> "UnitOfWork":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if self._pending or exc_type is not None:
                self.session.rollback()
        finally:
            self.session.close()
        if self._committed and exc_type is None:
            try:
                self.bus.publish_rows(self._committed)
            except Exception:  # the sweep publishes what the relay could not
                log.exception("relay failed after commit; the outbox sweep will publish")
