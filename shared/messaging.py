"""The transactional outbox, the idempotent inbox and dead letters, shared by every service.

* A service writes its state change and the events it causes in one transaction
  (``UnitOfWork.emit`` adds an outbox row in the same session).
* After the commit the relay sends the new events; a periodic sweep sends whatever is left (the
  broker was down, the process died between commit and send) once it falls due.
* A consumer records the event id in its inbox in the same transaction as the effect, so a
  redelivered event changes nothing.
* A handler that keeps failing ends as a dead-letter row that an admin can list and replay.

Delivery is confirmed by the consumer, end to end. The broker client's ack emulation has windows
of its own (kombu's Redis transport takes a message with BRPOP and records it as unacknowledged
with a second command; a worker killed between the two loses it; a Redis restart without its
append-only file loses every queue), so it is not trusted alone:

* ``emit`` writes, on the event's outbox row itself, the subscribers it is owed to (``owed_to``)
  and when it is sent again if they have not all confirmed it (``due_at``).
* A consumer, after its inbox row has committed (or the event was a duplicate, or it was
  dead-lettered, which an admin now owns), confirms it: one ``RPUSH`` of ``subscriber|event id``
  to the producer's confirmation list in Redis.
* An event is written due ``SOPDESK_REDELIVER_SECONDS`` after it happened. The relay's send right
  after the commit writes nothing: it is the fast path. The producer's sweep takes the
  confirmations and takes the confirming subscribers off their events' ``owed_to`` (an event
  owed to nobody any more is delivered: ``published_at``, and no longer due); an event still owed
  to someone when it falls due (the message was lost, or the process died before its relay sent
  it) is sent again to those it is owed to, with the wait doubling each time (up to an hour), and
  the consumer's inbox makes the repeat a no-op.

A lost confirmation only costs a repeat; a lost message is sent again. Nothing rests on Redis
keeping anything: what is owed lives in the producer's database until its consumer has it.
"""
from __future__ import annotations

import importlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ARRAY, JSON, Index, Integer, String, Text, case, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column, sessionmaker

from shared import batching, db, event_catalogue
from shared.batching import Batcher
from shared.config import get_settings
from shared.events import Event
from shared.routing import subscribers

log = logging.getLogger(__name__)

# the (event id, subscriber) pairs of a statement, bound as two arrays
_PAIRS = "unnest(CAST(:event_ids AS text[]), CAST(:subscribers AS text[])) AS pairs(event_id, subscriber)"


class OutboxMixin:
    __tablename__ = "outbox"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    correlation_id: Mapped[str | None] = mapped_column(String(64))
    envelope: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)
    # delivered: every subscriber confirmed it (or it had none)
    published_at: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # sends the broker refused
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    # the subscribers that have not confirmed it yet, and when it is sent to them (again) if they
    # have not by then: NULL once it is owed to nobody. ``sends``: the sweep's sends so far
    owed_to: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    sends: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)

    @declared_attr.directive
    def __table_args__(cls):
        # the sweep takes what has fallen due, oldest first; only events still owed are in it
        return (Index("ix_outbox_due_at", "due_at", postgresql_where=text("due_at IS NOT NULL")),)


class InboxMixin:
    __tablename__ = "inbox"

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    handled_at: Mapped[datetime] = mapped_column(default=db.utcnow)


def create_owed_table(op, backfill: bool = True) -> None:
    """The migration that brought ``outbox_owed``, the same in every service's history: the table,
    its index, and what was never published before it, owed to its subscribers. (Folded into the
    outbox rows since: ``fold_owed_into_outbox``.)"""
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
    if backfill:
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


def fold_owed_into_outbox(op) -> None:
    """The migration that folds ``outbox_owed`` (a row per event and subscriber) into the events'
    outbox rows (``owed_to``, ``due_at``, ``sends``, ``sent_at``), the same in every service's
    history: what each event is still owed to, the earliest of its rows' next sends, the most
    sends; an event owed to nobody and not yet marked is delivered now. (Writing a row per
    subscriber with every event cost PostgreSQL half as much again as the rest of intake's filing:
    0.42-0.45 CPU-ms a filing against 0.29-0.30 with the subscribers on the event's own row, eight
    connections filing at once.)"""
    import sqlalchemy as sa

    op.add_column("outbox", sa.Column("owed_to", sa.ARRAY(sa.Text()), nullable=False,
                                      server_default=sa.text("'{}'")))
    op.add_column("outbox", sa.Column("due_at", db.UTCDateTime(timezone=True), nullable=True))
    op.add_column("outbox", sa.Column("sends", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("outbox", sa.Column("sent_at", db.UTCDateTime(timezone=True), nullable=True))
    op.alter_column("outbox", "owed_to", server_default=None)
    op.alter_column("outbox", "sends", server_default=None)
    op.execute("""
        UPDATE outbox SET owed_to = o.owed_to, due_at = o.due_at, sends = o.sends, sent_at = o.sent_at
        FROM (SELECT event_id, array_agg(subscriber ORDER BY subscriber) AS owed_to, min(due_at) AS due_at,
                     max(sends) AS sends, max(sent_at) AS sent_at
              FROM outbox_owed GROUP BY event_id) AS o
        WHERE outbox.id = o.event_id""")
    op.execute("UPDATE outbox SET published_at = now() WHERE published_at IS NULL AND due_at IS NULL")
    op.drop_index("ix_outbox_unpublished", table_name="outbox", postgresql_where=sa.text("published_at IS NULL"))
    op.create_index("ix_outbox_due_at", "outbox", ["due_at"], unique=False,
                    postgresql_where=sa.text("due_at IS NOT NULL"))
    drop_owed_table(op)


def unfold_owed_from_outbox(op) -> None:
    """``fold_owed_into_outbox`` undone: a row of ``outbox_owed`` per event and subscriber it is
    still owed to."""
    import sqlalchemy as sa

    create_owed_table(op, backfill=False)
    op.execute("""
        INSERT INTO outbox_owed (event_id, subscriber, type, correlation_id, created_at, sent_at, due_at, sends)
        SELECT id, subscriber, type, correlation_id, created_at, sent_at, due_at, sends
        FROM outbox CROSS JOIN LATERAL unnest(owed_to) AS s(subscriber) WHERE due_at IS NOT NULL""")
    op.drop_index("ix_outbox_due_at", table_name="outbox", postgresql_where=sa.text("due_at IS NOT NULL"))
    op.create_index("ix_outbox_unpublished", "outbox", ["created_at"], unique=False,
                    postgresql_where=sa.text("published_at IS NULL"))
    for column in ("sent_at", "sends", "due_at", "owed_to"):
        op.drop_column("outbox", column)


def message_tables(base: type, module: str) -> tuple[type, type, type]:
    """A service's own outbox, inbox and dead-letter tables on its declarative base, as classes of
    its models module, in the order ``ServiceBus`` takes them:
    ``Outbox, Inbox, DeadLetter = message_tables(Base, __name__)``."""
    return tuple(type(name, (mixin, base), {"__module__": module})
                 for name, mixin in (("Outbox", OutboxMixin), ("Inbox", InboxMixin),
                                     ("DeadLetter", DeadLetterMixin)))


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
    """A plain Redis client on the broker the Celery app is configured with (the relay's sends,
    confirmations, taking waiting batches), one per URL and process."""
    from shared.celery_app import celery

    url = celery.conf.broker_url
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


@dataclass(frozen=True)
class BatchOutcome:
    """What ``consume_batch`` did: the events handled (or found to be duplicates), and the
    deliveries that failed with their exception (nothing of them stored or confirmed)."""
    results: list[ConsumeResult]
    failed: list[tuple[dict, Exception]]


DUPLICATE = object()  # _handle_one: another delivery of the event committed first

# events per message: a subscriber gets one Celery message carrying up to this many envelopes
BATCH_SIZE = 100

# take_waiting: pop, from the end of a service's queue that its workers read, the messages of one
# task name, and stop (putting it back) at the first other message; atomic, so two workers never
# take the same message
_TAKE_WAITING = """
local taken = {}
for i = 1, tonumber(ARGV[2]) do
  local raw = redis.call('RPOP', KEYS[1])
  if not raw then break end
  local ok, message = pcall(cjson.decode, raw)
  if not ok or type(message) ~= 'table' or type(message.headers) ~= 'table'
     or message.headers.task ~= ARGV[1] then
    redis.call('RPUSH', KEYS[1], raw)
    break
  end
  taken[#taken + 1] = raw
end
return taken
"""


def _batch_of(raw: bytes) -> list[dict[str, Any]]:
    """The envelopes a ``handle_events`` message carries (kombu's JSON message on a Redis list)."""
    import base64

    message = json.loads(raw)
    body = message["body"]
    if message.get("properties", {}).get("body_encoding") == "base64":
        body = base64.b64decode(body)
    args, _kwargs, _embed = json.loads(body)
    [envelopes] = args
    if not isinstance(envelopes, list):
        raise ValueError("not a batch")
    return envelopes


def _pair_params(pairs) -> dict[str, list[str]]:
    """(event id, subscriber) pairs as the two arrays the owed-row statements unnest."""
    pairs = list(pairs)
    return {"event_ids": [e for e, _ in pairs], "subscribers": [s for _, s in pairs]}


_ORIGIN: dict[int, str] = {}


def task_body(args: list) -> str:
    """A task message's body: its args, no kwargs, no callbacks, as JSON in base64 (the same for
    every subscriber given the same events: ``_send`` makes it once for all of them)."""
    import base64

    body = json.dumps([args, {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}])
    return base64.b64encode(body.encode()).decode("ascii")


def task_message(task: str, queue: str, body: str, argsrepr: str) -> str:
    """A Celery task message (protocol 2, JSON, no ETA, no result), as kombu's Redis transport
    keeps it on the list named after ``queue``, its ``body`` made by ``task_body(args)``: what
    ``celery.send_task(task, args=args, queue=queue)`` would push there, made without Celery's per-message machinery (routing,
    signals, the producer pool), which cost the relay several times the message itself. The
    worker reads it as any other; ``shared/tests/test_messaging.py`` holds it to Celery's own."""
    import socket
    import uuid

    task_id = str(uuid.uuid4())
    pid = os.getpid()
    origin = _ORIGIN.get(pid)
    if origin is None:
        origin = _ORIGIN[pid] = f"{pid}@{socket.gethostname()}"
    return json.dumps({
        "body": body,
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {
            "lang": "py", "task": task, "id": task_id, "shadow": None, "eta": None, "expires": None,
            "group": None, "group_index": None, "retries": 0, "timelimit": [None, None],
            "root_id": task_id, "parent_id": None, "argsrepr": argsrepr, "kwargsrepr": "{}",
            "origin": origin, "ignore_result": None, "replaced_task_nesting": 0,
            "stamped_headers": None, "stamps": {},
        },
        "properties": {
            "correlation_id": task_id, "reply_to": "", "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue}, "priority": 0,
            "body_encoding": "base64", "delivery_tag": str(uuid.uuid4()),
        },
    })


class ServiceBus:
    """One service's side of the event bus: its unit of work, relay, sweep and consumer."""

    def __init__(self, service: str, outbox: type, inbox: type, dead_letter: type,
                 handlers_module: str | None = None, batch_wait: float = 0.0) -> None:
        self.service = service
        self.handlers_module = handlers_module
        # seconds a consumer holding a batch smaller than BATCH_SIZE waits for more to queue up
        # behind it before it takes them (``take_waiting``): for a service nobody waits on, fewer
        # and bigger batches for a moment's delay; 0 (no wait) where a requester's email waits
        self.batch_wait = batch_wait
        self.Outbox = outbox
        self.Inbox = inbox
        self.DeadLetter = dead_letter
        self._handlers: dict[str, Handler] = {}
        self._after_consume: list[Callable[[Event], None]] = []
        self._after_batch: list[Callable[[list[Event]], None]] = []
        self._before_batch: list[Callable[["UnitOfWork", list[Event]], None]] = []
        self._sessionmakers: dict[int, sessionmaker] = {}
        self._relay: Relay | None = None
        self._statements: dict[Any, Any] = {}  # SQL text written once per service

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

    def before_batch(self, fn: Callable[["UnitOfWork", list[Event]], None]) -> Callable:
        """Run before the handlers of a batch handled together, in its transaction, with the
        events about to be handled (not the duplicates): to read what they all need in one
        statement and keep it in ``uow.memo`` for them. A batch handled one event at a time
        (after one failed) runs without it: the handlers must read what is not in the memo."""
        self._before_batch.append(fn)
        return fn

    def handler(self, event_type: str) -> Handler:
        """The handler of ``event_type`` (for a service that handles a kept event later)."""
        self.load_handlers()
        return self._handlers[event_type]

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
        together; a second delivery of the same event id is a no-op. Raises what the handler
        raised (``NotReady``, ``PermanentError``, ...), with nothing of it stored."""
        outcome = self.consume_batch([envelope])
        if outcome.failed:
            raise outcome.failed[0][1]
        return outcome.results[0]

    def consume_batch(self, envelopes: list[dict[str, Any]]) -> "BatchOutcome":
        """Handle a batch of deliveries in one transaction: all together first (one savepoint,
        one flush: ``_handle_together``, a batch of one event too); if any fails, again one event
        per savepoint with its inbox row, so the one that fails (not ready yet, a bug, a
        constraint) is rolled back alone and handed back in ``failed`` while the others commit (a
        batch of one is handed back at once); duplicates (in the inbox already,
        or twice in the batch) are no-ops. After the commit every event handled or duplicate is
        confirmed to its producer with one Redis round trip, then the after-consume and
        after-batch hooks run. A malformed envelope, a payload that does not match its type and
        version in ``shared.event_catalogue``, or an event nobody here handles fails with a
        ``PermanentError``. If the commit itself fails, the exception propagates and nothing of
        the batch is stored or confirmed (the caller retries it, or its producer sends it again)."""
        self.load_handlers()
        events: list[tuple[dict, Event]] = []
        failed: list[tuple[dict, Exception]] = []
        seen_ids: set[str] = set()
        results: list[ConsumeResult] = []
        for envelope in envelopes:
            try:
                event = Event.from_envelope(envelope)
            except Exception as exc:  # malformed envelope: no retry will mend it
                failed.append((envelope, PermanentError(f"malformed envelope: {exc}")))
                continue
            # a payload its catalogue entry does not describe: no retry will mend it either
            if event_catalogue.ENFORCED and (errors := event_catalogue.payload_errors(
                    event.type, event.version, event.payload)):
                failed.append((envelope, PermanentError(
                    f"payload of {event.type} v{event.version} does not match the event catalogue: {errors}")))
                continue
            if self._handlers.get(event.type) is None:  # routed here but nobody handles it: never drop it
                failed.append((envelope, PermanentError(f"{self.service} has no handler for {event.type}")))
                continue
            if event.id in seen_ids:  # the same event twice in one batch (a resend met the first send)
                results.append(ConsumeResult(event, True))
                continue
            seen_ids.add(event.id)
            events.append((envelope, event))
        handled: list[tuple[dict, Event]] = []
        if events:
            with self.unit_of_work() as uow:
                together = self._handle_together(uow, events)
                if isinstance(together, Exception):
                    if len(events) == 1:  # its failure is the event's own: no second pass to learn it
                        failed.append((events[0][0], together))
                        events = []
                    else:
                        log.info("%s: a batch of %d events failed together (%s: %s); handling them one by "
                                 "one", self.service, len(events), type(together).__name__, together)
                else:
                    for envelope, event, duplicate in together:
                        results.append(ConsumeResult(event, duplicate))
                        handled.append((envelope, event))
                    events = []
                session = uow.session
                known = set(session.scalars(select(self.Inbox.event_id)
                                            .where(self.Inbox.event_id.in_([e.id for _, e in events])))) \
                    if events else set()
                for envelope, event in events:
                    if event.id in known:
                        results.append(ConsumeResult(event, True))
                        handled.append((envelope, event))
                        continue
                    error = self._handle_one(uow, event)
                    if error is None:
                        results.append(ConsumeResult(event, False))
                        handled.append((envelope, event))
                    elif error is DUPLICATE:
                        results.append(ConsumeResult(event, True))
                        handled.append((envelope, event))
                    else:
                        failed.append((envelope, error))
                uow.commit()
        self.confirm_many([envelope for envelope, _ in handled])
        for _, event in handled:
            for fn in self._after_consume:
                fn(event)
        if handled:
            for batch_fn in self._after_batch:
                batch_fn([event for _, event in handled])
        return BatchOutcome(results, failed)

    def _handle_together(self, uow: "UnitOfWork", events: list[tuple[dict, Event]]):
        """The whole batch under one savepoint, flushed once: the inbox rows claimed with one
        ``INSERT ... ON CONFLICT DO NOTHING`` (in event id order, so that two workers holding
        overlapping batches wait on each other instead of deadlocking; an id another delivery
        holds uncommitted waits for it, then counts as a duplicate), then every new event's
        handler. Returns ``(envelope, event, duplicate)`` for each, or the exception when anything
        failed: it is all rolled back and the caller handles the events one by one, so that one bad
        event costs its batch a second pass, never the others' effects (a batch of one event is
        handled this way too: its exception is its own, and it needs no second pass)."""
        session = uow.session
        mark, deferred = len(uow._pending), len(uow._deferred)
        savepoint = session.begin_nested()
        try:
            # one statement whatever the batch's size (the same text each time: compiled once by
            # the driver, where a row per VALUES list was a new statement for every size)
            ordered = sorted((event for _, event in events), key=lambda e: e.id)
            claimed = {event_id for (event_id,) in db.driver_rows(session, self._inbox_claim_sql(), {
                "_ids": [event.id for event in ordered], "_types": [event.type for event in ordered],
                "_now": db.utcnow()})}
            new = [event for _, event in events if event.id in claimed]
            for before in self._before_batch:
                if new:
                    before(uow, new)
            for event in new:
                self._handlers[event.type](uow, event)
            session.flush()
            savepoint.commit()
        except Exception as exc:
            savepoint.rollback()
            del uow._pending[mark:], uow._deferred[deferred:]
            uow.memo.clear()  # what it read may have been rolled back with the savepoint
            return exc
        return [(envelope, event, event.id not in claimed) for envelope, event in events]

    def _handle_one(self, uow: "UnitOfWork", event: Event):
        """One event of a batch under a savepoint. Returns None (handled), DUPLICATE (another
        delivery of it committed first) or the exception that rolled it back."""
        session = uow.session
        mark, deferred = len(uow._pending), len(uow._deferred)
        savepoint = session.begin_nested()
        try:
            # claim the event id first: a concurrent delivery of the same event waits on this row
            # and then fails on it, before its handler does anything
            session.add(self.Inbox(event_id=event.id, type=event.type))
            session.flush()
            self._handlers[event.type](uow, event)
            session.flush()  # the handler's constraint violations surface here, inside its savepoint
            savepoint.commit()
            return None
        except Exception as exc:
            savepoint.rollback()
            del uow._pending[mark:], uow._deferred[deferred:]
            uow.memo.clear()  # the locks it took (``UnitOfWork.lock``) may have gone with the savepoint
            if isinstance(exc, IntegrityError) and session.get(self.Inbox, event.id) is not None:
                return DUPLICATE
            return exc

    def confirm(self, envelope: dict[str, Any]) -> None:
        """Tell the event's producer that this service has it: its inbox row committed, it was
        a duplicate, or it went to a dead letter (which an admin now owns). A confirmation that
        is lost only makes the producer send the event again, which the inbox turns away."""
        self.confirm_many([envelope])

    def confirm_many(self, envelopes: list[dict[str, Any]]) -> None:
        """``confirm`` for many events at once: one RPUSH per producer, in one round trip."""
        by_source: dict[str, list[str]] = {}
        for envelope in envelopes:
            source, event_id = envelope.get("source"), envelope.get("id")
            if isinstance(source, str) and isinstance(event_id, str):
                by_source.setdefault(source, []).append(f"{self.service}|{event_id}")
        if not by_source:
            return
        try:
            pipe = broker_client().pipeline(transaction=False)
            for source, items in by_source.items():
                pipe.rpush(confirmations_key(source), *items)
            pipe.execute()
        except Exception as exc:
            log.warning("could not confirm %d events (they will be sent again): %s",
                        sum(map(len, by_source.values())), exc)

    def take_waiting(self, max_messages: int = 20) -> list[dict[str, Any]]:
        """The event batches waiting behind the one a worker is handling, taken from this
        service's queue at once (one atomic Redis script) so that a worker that has fallen behind
        handles them in one transaction: batches grow with the backlog instead of each message
        costing a task. It takes only ``<service>.handle_events`` messages from the end the
        worker reads, and stops at anything else (a retry, a sweep), which it leaves in place.
        What it took is no longer in Redis: if this process dies before its commit, the events
        are still owed by their producers, which send them again (``SOPDESK_REDELIVER_SECONDS``),
        the same bound as a task lost with its worker."""
        try:
            raw_messages = broker_client().eval(_TAKE_WAITING, 1, self.service, f"{self.service}.handle_events",
                                                max_messages)
        except Exception as exc:  # the broker is away: handle what this task has
            log.warning("could not take waiting batches from %s: %s", self.service, exc)
            return []
        envelopes: list[dict[str, Any]] = []
        for raw in raw_messages or []:
            try:
                envelopes.extend(_batch_of(raw))
            except Exception as exc:  # its producer sends it again: nothing of it is lost
                log.warning("a waiting %s message could not be read: %s", self.service, exc)
        return envelopes

    # --- publishing -----------------------------------------------------------------------
    @property
    def relay(self) -> "Relay":
        """This process's relay for this service (a new one after a fork)."""
        relay = self._relay
        if relay is None or relay.pid != os.getpid():
            relay = self._relay = Relay(self)
        return relay

    def send_committed(self, envelopes: list[dict[str, Any]]) -> int:
        """The relay's send: events this process has just committed, to every subscriber, from
        memory (no read back, no lock: what it has it wrote, and every subscriber is owed them).
        Nothing is written when the broker takes them: they were written due
        ``redeliver_seconds`` after the commit, and are sent again then unless confirmed (the
        fast path needs no record; a process killed before it sent waits that long, as a message
        the broker lost does). Events the broker refused fall due now, for the next sweep.
        Returns how many events went to every subscriber."""
        owed = [(envelope["id"], target, envelope) for envelope in envelopes
                for target in subscribers(envelope["type"])]
        sent, failed, error = self._send(owed)
        if failed:
            with self.engine.begin() as connection:
                self._record_refusal(connection, failed, error, due_now=True)
        return len({event_id for event_id, _ in sent})

    def sweep(self, batch: int = 500) -> int:
        """Take the subscribers' confirmations, mark the events every subscriber has confirmed as
        delivered, then send what has fallen due: events not confirmed ``redeliver_seconds`` after
        they were written or last sent (lost by the broker or a dying worker, left behind by a
        relay that died or found the broker down), again. Safe to run in parallel with itself.
        Returns how many events it sent."""
        self.absorb_confirmations()
        published = 0
        now = db.utcnow()
        outbox = self.Outbox
        while True:
            with self.session() as session:
                query = (
                    select(outbox.id, outbox.owed_to, outbox.envelope)
                    .where(outbox.due_at <= now)
                    # ties (a refused batch made due at once) go in the order the events were written
                    .order_by(outbox.due_at, outbox.created_at)
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                )
                owed = [(event_id, subscriber, envelope)
                        for event_id, owed_to, envelope in session.execute(query).all() for subscriber in owed_to]
                if not owed:
                    return published
                sent, failed, error = self._send(owed)
                if failed:
                    self._record_refusal(session, failed, error, due_now=False)
                sent_events = list(dict.fromkeys(event_id for event_id, _ in sent))
                if sent_events:
                    session.execute(self._mark_sent_sql(), {
                        "event_ids": sent_events, "now": db.utcnow(),
                        "redeliver": get_settings().redeliver_seconds, "longest": MAX_REDELIVER_SECONDS})
                session.commit()
                published += len(sent_events)
                if failed:  # the broker refused: next sweep
                    return published

    def _send(self, owed: list[tuple[str, str, dict]]):
        """Send each owed (event id, subscriber, envelope) through the broker, one message per
        subscriber carrying up to ``BATCH_SIZE`` events, all in one Redis pipeline. Returns
        (the pairs sent, the pairs refused, the broker's error): all or nothing."""
        by_subscriber: dict[str, list[tuple[str, dict]]] = {}
        for event_id, subscriber, envelope in owed:
            by_subscriber.setdefault(subscriber, []).append((event_id, envelope))
        chunks = [(subscriber, items[start:start + BATCH_SIZE])
                  for subscriber, items in by_subscriber.items() for start in range(0, len(items), BATCH_SIZE)]
        pairs = [(event_id, subscriber) for subscriber, chunk in chunks for event_id, _ in chunk]
        if not pairs:
            return [], [], None
        try:
            # every message of the round in one Redis pipeline, each the message Celery itself
            # would have put on the subscriber's queue (task_message), written without its
            # per-message machinery, which was most of a relay's cost
            pipe = broker_client().pipeline(transaction=False)
            bodies: dict[tuple[str, ...], str] = {}  # subscribers owed the same events share a body
            for subscriber, chunk in chunks:
                ids = tuple(event_id for event_id, _ in chunk)
                body = bodies.get(ids)
                if body is None:
                    body = bodies[ids] = task_body([[env for _, env in chunk]])
                pipe.lpush(subscriber, task_message(f"{subscriber}.handle_events", subscriber, body,
                                                    f"[{len(chunk)} events]"))
            pipe.execute()
        except Exception as exc:  # broker down: none counts as sent
            log.warning("publish of %d events to %s failed: %s", len({e for e, _ in pairs}),
                        ", ".join(by_subscriber), exc)
            return [], pairs, exc
        return pairs, [], None

    def _record_refusal(self, connection, failed: list[tuple[str, str]], error: Exception | None,
                        due_now: bool) -> None:
        """The broker refused these pairs: count the attempt and keep the error on the events,
        and (the relay's) make them due at once, for the next sweep (an event owed to nobody any
        more, confirmed meanwhile by a copy sent earlier, stays so)."""
        events = list(dict.fromkeys(event_id for event_id, _ in failed))
        outbox = self.Outbox
        values: dict[str, Any] = {"attempts": outbox.attempts + 1, "last_error": str(error)[:2000]}
        if due_now:
            values["due_at"] = case((outbox.due_at.is_(None), None), else_=db.utcnow())
        connection.execute(update(outbox).where(outbox.id.in_(events)).values(**values))

    def _inbox_claim_sql(self) -> str:
        """A batch's inbox rows (``%(_ids)s`` with their ``%(_types)s``, in that order), those not
        there already: their ids back."""
        sql = self._statements.get("inbox claim")
        if sql is None:  # run through the driver (db.driver_rows): psycopg's placeholders
            sql = self._statements["inbox claim"] = (
                f"INSERT INTO {self.Inbox.__table__.fullname} (event_id, type, handled_at) "
                "SELECT id, type, %(_now)s FROM unnest(CAST(%(_ids)s AS text[]), CAST(%(_types)s AS text[])) "
                "WITH ORDINALITY AS e(id, type, n) ORDER BY n ON CONFLICT DO NOTHING RETURNING event_id")
        return sql

    def _pending_sql(self) -> "Statement":
        """A unit of work's events, given as one JSON array (``%(_events)s``): their outbox rows,
        each owed to its subscribers and due ``%(_redeliver)s`` seconds later (the relay sends it
        at once; if they have not all confirmed it by then, the sweep sends it again to those that
        have not; an event nobody subscribes to is delivered as it is written), in one statement
        written once, whatever the number of events; as a ``Statement``, so that a unit of work
        may join it to its own. (A row per event and subscriber, before ``fold_owed_into_outbox``,
        cost PostgreSQL half as much again as the rest of intake's filing: 0.42-0.45 CPU-ms a
        filing against 0.29-0.30, eight connections filing at once.)"""
        statement = self._statements.get("pending")
        if statement is None:  # run through the driver (db.driver_execute): psycopg's placeholders
            outbox = self.Outbox.__table__.fullname
            statement = Statement(
                ctes="""
                _events AS (
                    SELECT * FROM json_to_recordset(CAST(%(_events)s AS json))
                        AS e(id text, type text, correlation_id text, created_at timestamptz, envelope json,
                             subscribers text[])
                )""",
                main=f"""
                INSERT INTO {outbox} (id, type, correlation_id, envelope, created_at, published_at, attempts,
                                      owed_to, due_at, sends)
                SELECT id, type, correlation_id, envelope, created_at,
                       CASE WHEN cardinality(subscribers) = 0 THEN created_at END, 0, subscribers,
                       CASE WHEN cardinality(subscribers) > 0
                            THEN created_at + make_interval(secs => CAST(%(_redeliver)s AS double precision)) END, 0
                FROM _events""")
            self._statements["pending"] = statement
        return statement

    def _confirmed_sql(self):
        """Take the confirmed (event id, subscriber) pairs off their events' ``owed_to``; an event
        owed to nobody any more is delivered (``published_at``) and no longer due. One statement,
        written once, the pairs bound as two arrays; an event locked by a sweep that is sending it
        waits for that sweep's commit, then loses the subscribers from what it then owes."""
        statement = self._statements.get("confirmed")
        if statement is None:
            statement = text(f"""
                UPDATE {self.Outbox.__table__.fullname} AS outbox
                SET owed_to = ARRAY(SELECT s FROM unnest(outbox.owed_to) AS s WHERE s <> ALL(confirmed.subscribers)),
                    due_at = CASE WHEN outbox.owed_to <@ confirmed.subscribers THEN NULL ELSE outbox.due_at END,
                    published_at = CASE WHEN outbox.owed_to <@ confirmed.subscribers THEN now()
                                        ELSE outbox.published_at END
                FROM (SELECT event_id, array_agg(subscriber) AS subscribers FROM {_PAIRS} GROUP BY event_id)
                     AS confirmed
                WHERE outbox.id = confirmed.event_id AND outbox.owed_to && confirmed.subscribers""")
            self._statements["confirmed"] = statement
        return statement

    def _mark_sent_sql(self):
        """The sweep's sends, marked in one statement written once whatever the number of events
        (``:event_ids``, bound as an array): each is due again after R * 2^(sends, counting this
        one) seconds, at most ``:longest`` (the relay's first send waited R)."""
        statement = self._statements.get("mark_sent")
        if statement is None:
            statement = text(f"""
                UPDATE {self.Outbox.__table__.fullname} AS outbox
                SET sends = outbox.sends + 1, sent_at = :now,
                    due_at = CAST(:now AS timestamptz)
                             + make_interval(secs => least(:longest, :redeliver * power(2, outbox.sends + 1)))
                WHERE outbox.id = ANY(CAST(:event_ids AS text[])) AND outbox.due_at IS NOT NULL""")
            self._statements["mark_sent"] = statement
        return statement

    def absorb_confirmations(self, limit: int = 100_000) -> int:
        """Take what subscribers have confirmed off what their events are owed to. Returns how
        many confirmations were read."""
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
            with self.engine.begin() as connection:
                connection.execute(self._confirmed_sql(), _pair_params(pairs))
            absorbed += len(items)
        return absorbed

    def owed(self, older_than_seconds: float = 0.0, limit: int = 100) -> "OwedReport":
        """What this service's events are still owed to each subscriber: counts and the oldest
        per subscriber, and the oldest ``limit`` events older than ``older_than_seconds``."""
        now = db.utcnow()
        cutoff = now - timedelta(seconds=older_than_seconds)
        outbox = self.Outbox
        # each event still owed (due_at set: the sweep's partial index) once per subscriber it is owed to
        owed = (select(outbox.id, outbox.type, outbox.correlation_id, outbox.created_at, outbox.sends,
                       func.unnest(outbox.owed_to).label("subscriber"))
                .where(outbox.due_at.is_not(None)).subquery())
        with self.session() as session:
            by_subscriber = {
                subscriber: SubscriberOwed(subscriber, count, (now - oldest).total_seconds())
                for subscriber, count, oldest in session.execute(
                    select(owed.c.subscriber, func.count(), func.min(owed.c.created_at)).group_by(owed.c.subscriber))
            }
            events = [
                OwedEvent(row.subscriber, row.id, row.type, row.correlation_id,
                          (now - row.created_at).total_seconds(), row.sends)
                for row in session.execute(
                    select(owed).where(owed.c.created_at <= cutoff)
                    .order_by(owed.c.created_at, owed.c.id, owed.c.subscriber).limit(limit))
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


@dataclass(frozen=True)
class Statement:
    """One SQL statement for psycopg (``%(name)s`` placeholders) as its common table expressions
    (``ctes``, without ``WITH``; empty for none) and its main statement (``main``: an INSERT,
    UPDATE or DELETE), so that several may be joined into one."""
    main: str
    ctes: str = ""

    @property
    def sql(self) -> str:
        return f"WITH {self.ctes} {self.main}" if self.ctes else self.main

    @staticmethod
    def joined(statements: list[tuple["Statement", dict]]) -> tuple[str, dict]:
        """Data-modifying statements that do not read each other's rows, as one: each one's CTEs,
        every main statement but the last as a CTE of its own, the last as the main one. PostgreSQL
        runs every data-modifying CTE, all on one snapshot, atomically."""
        if len(statements) == 1:
            [(statement, params)] = statements
            return statement.sql, params
        ctes = [statement.ctes for statement, _ in statements if statement.ctes]
        ctes += [f"_step{n} AS ({statement.main})" for n, (statement, _) in enumerate(statements[:-1])]
        merged: dict = {}
        for _, params in statements:
            merged.update(params)
        return f"WITH {', '.join(ctes)} {statements[-1][0].main}", merged


class UnitOfWork:
    """One transaction of one service. ``emit`` adds events to the same transaction (written
    with the commit in one statement: the outbox rows, each with the subscribers it is owed to;
    see ``commit``); after a successful commit they are handed to the process's relay, which
    sends them from its own thread (the caller does not wait for the broker). Leaving without
    ``commit`` rolls back."""

    def __init__(self, bus: ServiceBus) -> None:
        self.bus = bus
        self._session: Session | None = None
        self._pending: list[_Emitted] = []
        self._deferred: list[tuple[Statement, dict]] = []
        self._committed: list[dict[str, Any]] = []
        # what a batch's handlers share, read once for all of them (``ServiceBus.before_batch``)
        self.memo: dict[Any, Any] = {}

    @property
    def session(self) -> Session:
        """The transaction's session, made on first use: a unit of work that only writes its
        statements and events with ``commit`` (intake's POST) needs none (see ``commit``)."""
        if self._session is None:
            self._session = self.bus.session()
        return self._session

    def emit(self, event_type: str, payload: dict[str, Any], correlation_id: str | None = None,
             version: int = 1) -> Event:
        # a payload the catalogue does not describe is the producer's bug: raised here, inside the
        # unit of work, so that nothing of it commits
        if event_catalogue.ENFORCED:
            event_catalogue.check_payload(event_type, version, payload)
        event = Event(type=event_type, source=self.bus.service, payload=payload,
                      correlation_id=correlation_id, version=version)
        self._pending.append(_Emitted(event.to_envelope(), subscribers(event.type)))
        return event

    def lock(self, space: int, keys) -> bool:
        """Transaction-scoped advisory locks (``db.lock_many``: one statement, in the locks' own
        order) on those of ``keys`` this unit of work does not hold yet. A batch takes all of its
        locks at once (``before_batch``), and its handlers' own calls then cost nothing. True when
        it took any (the caller then reads what another transaction committed meanwhile). Kept in
        ``memo``, which a rolled-back savepoint clears (its locks may have gone with it)."""
        held = self.memo.setdefault(("locks", space), set())
        new = set(keys) - held
        if not new:
            return False
        db.lock_many(self.session, space, new)
        held |= new
        return True

    def execute_with_commit(self, statement: "Statement", params: dict) -> None:
        """A statement of the use case's own, written with ``commit`` together with its events'
        rows, for a use case that reads nothing back before it commits (intake's filing). Its
        parameters' names must not start with ``_``. An ``IntegrityError`` it causes is raised by
        ``commit``. Not for a consumer's handler (a savepoint does not take it back)."""
        self._deferred.append((statement, params))

    def _to_write(self) -> list[tuple["Statement", dict]]:
        """The statements given to ``execute_with_commit``, then the events' outbox rows, each
        owed to its subscribers until they confirm it."""
        statements, self._deferred = self._deferred, []
        if self._pending:
            statements.append((self.bus._pending_sql(), {
                "_redeliver": get_settings().redeliver_seconds, "_events": db.json_text([
                    {"id": e.envelope["id"], "type": e.envelope["type"],
                     "correlation_id": e.envelope["correlation_id"], "created_at": e.envelope["occurred_at"],
                     "envelope": e.envelope, "subscribers": e.subscribers}
                    for e in self._pending])}))
        return statements

    def commit(self) -> None:
        """Write what was emitted (and given to ``execute_with_commit``) and commit. A unit of work
        that has done nothing else (no session used: intake's POST) is written as ONE statement
        (the others joined to it as CTEs), which is its own transaction, on a pooled connection
        with no session: one round trip to the database, no BEGIN nor COMMIT. Otherwise the same
        one statement goes inside the session's transaction, then its ORM changes, then the
        commit."""
        statements = self._to_write()
        session = self._session
        if statements:
            sql, params = Statement.joined(statements)
            if session is None:
                db.driver_execute_pooled(self.bus.engine, sql, params)
            elif not session.in_transaction() and not (session.new or session.dirty or session.deleted):
                db.driver_execute_alone(session, sql, params)
            else:
                db.driver_execute(session, sql, params)
        if session is not None:
            session.commit()
        self._committed.extend(e.envelope for e in self._pending if e.subscribers)
        self._pending.clear()

    def rollback(self) -> None:
        if self._session is not None:
            self._session.rollback()
        self._pending.clear()
        self._deferred.clear()

    def __enter__(self) -> "UnitOfWork":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._session is not None:
            try:
                if self._pending or self._deferred or exc_type is not None:
                    self._session.rollback()
            finally:
                self._session.close()
        if self._committed:  # committed is committed, whatever came after
            self.bus.relay.submit(self._committed)
            self._committed = []


@dataclass
class _Emitted:
    """An event emitted in a unit of work, written with its commit."""
    envelope: dict[str, Any]
    subscribers: list[str]


class Relay(Batcher):
    """Sends a service's newly committed events from a thread of its own, in batches
    (``shared.batching``): whatever commits while one batch is being sent, or within ``LINGER`` of
    the last round, goes in the next (a round costs a message per subscriber, whatever its size).
    One per service and process (started on first use, again after a fork). What it has not sent
    when its process dies is sent by the sweep when it falls due (``SOPDESK_REDELIVER_SECONDS``)."""

    MAX_EVENTS = 500  # events per round: one message per subscriber per 100 (BATCH_SIZE), one Redis pipeline
    # seconds between rounds when busy: at most 50 rounds a second, each taking all that waits. A
    # round in a busy web process costs more than its messages (its thread takes the GIL from the
    # request threads several times): intake's POST under load measured 0.15-0.2 CPU-ms less per
    # request at 0.02 than at 0.01; at 20 requests/s the relay is seldom busy, and POST to email
    # kept its p50 (36 ms against 37)
    LINGER = 0.02

    def __init__(self, bus: ServiceBus) -> None:
        super().__init__(f"relay-{bus.service}", self._send_round, self.MAX_EVENTS, self.LINGER)
        self.bus = bus

    def _send_round(self, batch: list[dict[str, Any]]) -> None:
        try:
            self.bus.send_committed(batch)
        except Exception:  # the sweep publishes what the relay could not
            log.exception("%s relay failed; the outbox sweep will send %d events", self.bus.service, len(batch))


def flush_relays(timeout: float = 10.0) -> bool:
    """Wait for every relay of this process to send what it was given (tests)."""
    return batching.flush(Relay, timeout)
