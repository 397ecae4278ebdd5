"""Database plumbing every service shares: one engine per service, its own schema on PostgreSQL,
a declarative base with a naming convention, and the unit of work.

A service owns its tables: its engine sets ``search_path`` to the service's schema, so no other
service's tables are even visible on its connections.
"""
from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timezone

from sqlalchemy import DateTime, MetaData, create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator):
    """Stores aware UTC datetimes (a naive one is refused) and gives them back in UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; sopdesk stores aware UTC times only")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.astimezone(timezone.utc)


def make_base(service: str) -> type[DeclarativeBase]:
    """A declarative base with its own metadata, one per service."""

    class Base(DeclarativeBase):
        metadata = MetaData(naming_convention=NAMING_CONVENTION)
        type_annotation_map = {datetime: UTCDateTime()}

    Base.__name__ = f"{service.capitalize()}Base"
    return Base


_engines: dict[tuple[str, str], Engine] = {}
_engines_lock = threading.Lock()


def get_engine(service: str, url: str) -> Engine:
    key = (service, url)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _build_engine(service, url)
            _engines[key] = engine
        return engine


def dispose_engines() -> None:
    """Forget every engine (after fork, and between test databases)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _build_engine(service: str, url: str) -> Engine:
    # every service in its own schema, found through search_path. No ping before each checkout
    # (a round trip on every transaction): a connection that a database restart broke fails its
    # first statement, SQLAlchemy then drops the whole pool, and the caller retries (a task
    # retries with backoff; a request gets a 503 with Retry-After)
    return create_engine(
        url,
        pool_pre_ping=False,
        pool_size=5,
        max_overflow=5,
        # random_page_cost: PostgreSQL's default (4) prices a random read as a spinning disk's; the
        # services' tables are read from memory or SSD, where it is close to a sequential one (the
        # usual 1.1). With the default the planner prefers scanning every open step and filtering
        # to reading one person's few hundred from the index made for it (bench/desk.py)
        connect_args={"options": f"-c search_path={service} -c timezone=UTC -c random_page_cost=1.1",
                      "connect_timeout": 5},
    )


def ensure_schema(engine: Engine, service: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{service}"'))


def lock_for_transaction(session, space: int, key: str) -> None:
    """Until ``session``'s transaction ends, no other transaction may take the same lock: one of
    PostgreSQL's transaction-scoped advisory locks, keyed by the caller's constant ``space`` (one
    per kind of lock) and the hash of ``key`` (a tracking code). Nothing is flushed first: a lock
    needs nothing written. A statement sent after it runs on a snapshot taken once it is held."""
    lock_many(session, space, [key])


def lock_many(session, space: int, keys) -> None:
    """``lock_for_transaction`` of several keys in one statement, in the order of the locks
    themselves (the hash): two transactions that each lock several then wait on each other, never
    deadlock, whatever order they came in. Nothing is flushed first."""
    driver_execute(session, "SELECT pg_advisory_xact_lock(%(_lock_space)s, lock) FROM (SELECT DISTINCT "
                            "hashtext(key) AS lock FROM unnest(%(_lock_keys)s::text[]) AS key ORDER BY lock) AS locks",
                   {"_lock_space": space, "_lock_keys": sorted(keys)})


def json_text(value) -> str:
    """A value as JSON text for ``driver_execute`` (cast to ``json`` in the SQL): Thai as it is,
    not escaped, and no spaces."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def driver_execute(session, sql: str, params: dict) -> None:
    """Run one statement straight through the driver (psycopg, ``%(name)s`` placeholders) on the
    session's connection, inside its transaction: for the hottest writes, where SQLAlchemy's own
    work per statement (compiling, binding, its execution context) costs more than the statement
    (intake's POST and the outbox rows it writes). Values go as psycopg adapts them (aware
    datetimes, lists as arrays; JSON as text cast in the SQL). A constraint the statement breaks
    raises SQLAlchemy's ``IntegrityError``, as a statement through the session would."""
    _through_driver(session, sql, params)


def driver_rows(session, sql: str, params: dict) -> list[tuple]:
    """``driver_execute``, answering the statement's rows (``... RETURNING``)."""
    return _through_driver(session, sql, params, rows=True)


def driver_execute_alone(session, sql: str, params: dict) -> None:
    """``driver_execute`` of one statement as a transaction of its own, on the session's connection
    before the session has begun one (``UnitOfWork.commit``): no BEGIN nor COMMIT, one round trip.
    The connection is given back to its transactions after."""
    _through_driver(session, sql, params, alone=True)


def driver_execute_pooled(engine: Engine, sql: str, params: dict) -> None:
    """``driver_execute_alone`` with no session: the statement as a transaction of its own on a
    connection of ``engine``'s pool (for a unit of work that reads nothing and writes only with its
    commit: intake's POST, where making, beginning and closing a session cost more than checking a
    connection out of the pool). When the database dropped the connection (a restart), every
    connection the pool made before is replaced, as SQLAlchemy does when it sees a disconnect: the
    pool's next checkout connects anew, rather than each request meeting one more dead connection."""
    import psycopg

    try:
        pooled = engine.raw_connection()
    except psycopg.OperationalError as exc:  # the pool connects unwrapped (Engine.connect would wrap it)
        raise OperationalError(None, None, exc) from exc
    try:
        _on_driver(pooled.driver_connection, sql, params, alone=True)
    except OperationalError as exc:
        if pooled.driver_connection.broken:
            engine.pool._invalidate(pooled, exc.orig)  # what Connection._handle_dbapi_exception does on a disconnect
        raise
    finally:
        pooled.close()


def _through_driver(session, sql: str, params: dict, *, rows: bool = False,
                    alone: bool = False) -> list[tuple] | None:
    """What the ``driver_*`` helpers given a session do: ``_on_driver`` on its psycopg connection."""
    return _on_driver(session.connection().connection.driver_connection, sql, params, rows=rows, alone=alone)


def _on_driver(connection, sql: str, params: dict, *, rows: bool = False, alone: bool = False) -> list[tuple] | None:
    """Where every ``driver_*`` helper sends its statement: on a psycopg ``connection``, its rows
    when ``rows``, in autocommit when ``alone``; the driver's errors raised as SQLAlchemy's, as a
    statement through a session would raise them: a broken constraint ``IntegrityError``, the
    database out of reach ``OperationalError`` (a request answers 503 and may be sent again).
    (Statements go one by one, never in a psycopg pipeline: on loopback a pipeline of a lock and a
    delete cost the client more CPU than the two in turn, measured 466 against 386 microseconds a
    transaction, and CPU, not round trips, is what a busy worker runs short of.)"""
    import psycopg

    if alone:
        connection.autocommit = True
    try:
        cursor = connection.execute(sql, params)
        return cursor.fetchall() if rows else None
    except psycopg.IntegrityError as exc:
        raise IntegrityError(sql, params, exc) from exc
    except psycopg.OperationalError as exc:
        raise OperationalError(sql, params, exc) from exc
    finally:
        if alone and not connection.closed:
            connection.autocommit = False


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False, future=True)


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
