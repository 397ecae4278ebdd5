"""The transactional outbox, the idempotent inbox and dead letters, shared by every service.

* A service writes its state change and the events it causes in one transaction
  (``UnitOfWork.emit`` adds an outbox row in the same session).
* After the commit the relay publishes the new rows; a periodic sweep publishes whatever is left
  (the broker was down, the process died between commit and publish).
* A consumer records the event id in its inbox in the same transaction as the effect, so a
  redelivered event changes nothing.
* A handler that keeps failing ends as a dead-letter row that an admin can list and replay.
"""
from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, select, text, update
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


@dataclass(frozen=True)
class ConsumeResult:
    event: Event
    duplicate: bool


class ServiceBus:
    """One service's side of the event bus: its unit of work, relay, sweep and consumer."""

    def __init__(self, service: str, outbox: type, inbox: type, dead_letter: type,
                 handlers_module: str | None = None) -> None:
        self.service = service
        self.handlers_module = handlers_module
        self.Outbox = outbox
        self.Inbox = inbox
        self.DeadLetter = dead_letter
        self._handlers: dict[str, Handler] = {}
        self._after_consume: list[Callable[[Event], None]] = []
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
        for fn in self._after_consume:
            fn(event)
        return ConsumeResult(event, duplicate)

    # --- publishing -----------------------------------------------------------------------
    def publish_rows(self, ids: list[str]) -> int:
        """Publish the given outbox rows if they are still unpublished (the relay after commit)."""
        if not ids:
            return 0
        with self.session() as session:
            rows = session.scalars(
                select(self.Outbox).where(self.Outbox.id.in_(ids), self.Outbox.published_at.is_(None))
            ).all()
            return self._publish(session, rows)

    def sweep(self, older_than_seconds: float = 2.0, batch: int = 200) -> int:
        """Publish what the relay left behind. Rows younger than ``older_than_seconds`` are left to
        the relay that is probably publishing them now. Safe to run in parallel with itself."""
        published = 0
        cutoff = db.utcnow() - timedelta(seconds=older_than_seconds)
        while True:
            with self.session() as session:
                query = (
                    select(self.Outbox)
                    .where(self.Outbox.published_at.is_(None), self.Outbox.created_at <= cutoff)
                    .order_by(self.Outbox.created_at)
                    .limit(batch)
                )
                query = query.with_for_update(skip_locked=True)
                rows = session.scalars(query).all()
                if not rows:
                    return published
                count = self._publish(session, rows)
                published += count
                if count < len(rows):  # the broker refused: try again at the next sweep
                    return published

    def _publish(self, session: Session, rows: list) -> int:
        from shared.celery_app import celery

        done = 0
        for row in rows:
            try:
                for target in subscribers(row.type):
                    celery.send_task(
                        f"{target}.handle_event",
                        args=[row.envelope],
                        queue=target,
                        routing_key=target,
                        retry=False,
                    )
            except Exception as exc:  # broker down: the row stays for the sweep
                log.warning("publish of %s %s failed: %s", row.type, row.id, exc)
                session.commit()  # keep the rows published before this one
                session.execute(
                    update(self.Outbox)
                    .where(self.Outbox.id == row.id)
                    .values(attempts=self.Outbox.attempts + 1, last_error=str(exc)[:2000])
                )
                session.commit()
                return done
            session.execute(
                update(self.Outbox).where(self.Outbox.id == row.id).values(published_at=db.utcnow())
            )
            done += 1
        session.commit()
        return done

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
        self.session.add(
            self.bus.Outbox(id=event.id, type=event.type, correlation_id=correlation_id,
                            envelope=event.to_envelope(), created_at=event.occurred_at)
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
