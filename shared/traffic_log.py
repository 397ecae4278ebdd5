"""Each service's traffic log (the Computer Crime Act's s.26 traffic data), written once for four
services: its two tables, the row every request writes, linking the rows into their hash chain,
checking the chain, the purge after ``SOPDESK_TRAFFIC_LOG_DAYS``, and the export for an
authority. The rules themselves (what a row holds, the hash, the check) are ``shared.traffic``.

Why the chain is linked after the fact: a request pays no more than handing its row to its
process's ``Writer`` (a moment later, one INSERT writes the rows of many requests), and never
waits on a lock that every other request also wants. The rows get their
place in the chain (``seq``) and their hash from ``link``, one run at a time under an advisory
lock, in the order they committed as it finds them: the beat runs it every minute, and verify,
export and purge run it first. A row is therefore open to an undetected change only until it is
linked (a minute at most while the beat runs).
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, g, request
from sqlalchemy import BigInteger, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from shared import batching, db, traffic
from shared.batching import Batcher
from shared.config import get_settings
from shared.traffic import Break, ChainState, TrafficRow

log = logging.getLogger(__name__)

LOCK_SPACE = 7013  # pg_advisory_xact_lock(LOCK_SPACE, hashtext(service)): one linker or purge at a time
LINK_BATCH = 5000
STREAM = {"stream_results": True, "max_row_buffer": LINK_BATCH}  # a server-side cursor: 90 days of rows never in memory at once


class TrafficMixin:
    """One request: when, from where, by whom, what, and the answer. ``seq`` and ``hash`` are
    its link in the chain, filled in by ``link``."""

    __tablename__ = "traffic"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(64))
    account: Mapped[str] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(Text)
    status: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int | None] = mapped_column(BigInteger)
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    hash: Mapped[str | None] = mapped_column(String(64))

    @declared_attr.directive
    def __table_args__(cls):
        # the export and the purge read by time; the linker reads only the rows not yet linked
        return (Index("ix_traffic_at", "at"),
                Index("ix_traffic_unlinked", "id", postgresql_where=text("seq IS NULL")))


class TrafficChainMixin:
    """The chain's one row: where it starts since the last purge, and its newest link."""

    __tablename__ = "traffic_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    start_seq: Mapped[int] = mapped_column(BigInteger)
    start_hash: Mapped[str] = mapped_column(String(64))
    head_seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    purged_at: Mapped[datetime | None]
    purged_rows: Mapped[int] = mapped_column(BigInteger)


def traffic_tables(base: type, module: str) -> tuple[type, type]:
    """A service's traffic tables on its declarative base, as classes of its models module:
    ``Traffic, TrafficChain = traffic_tables(Base, __name__)``."""
    return tuple(type(name, (mixin, base), {"__module__": module})
                 for name, mixin in (("Traffic", TrafficMixin), ("TrafficChain", TrafficChainMixin)))


def create_traffic_tables(op) -> None:
    """The migration that brings the traffic log, the same in every service's history."""
    import sqlalchemy as sa

    op.create_table(
        "traffic",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("at", db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=100), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("hash", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_traffic")),
        sa.UniqueConstraint("seq", name=op.f("uq_traffic_seq")),
    )
    op.create_index("ix_traffic_at", "traffic", ["at"], unique=False)
    op.create_index("ix_traffic_unlinked", "traffic", ["id"], unique=False,
                    postgresql_where=sa.text("seq IS NULL"))
    op.create_table(
        "traffic_chain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("start_seq", sa.BigInteger(), nullable=False),
        sa.Column("start_hash", sa.String(length=64), nullable=False),
        sa.Column("head_seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("purged_at", db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("purged_rows", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_traffic_chain")),
    )


def drop_traffic_tables(op) -> None:
    op.drop_table("traffic_chain")
    op.drop_index("ix_traffic_unlinked", table_name="traffic", postgresql_where="seq IS NULL")
    op.drop_index("ix_traffic_at", table_name="traffic")
    op.drop_table("traffic")


def _engine(service: str):
    return db.get_engine(service, get_settings().database_url(service))


# ---- writing: one row per request -------------------------------------------------------------

_INSERT = ("INSERT INTO traffic (at, source, account, method, path, status, bytes) "
           "VALUES (%(at)s, %(source)s, %(account)s, %(method)s, %(path)s, %(status)s, %(bytes)s)")
_INSERT_MANY = ("INSERT INTO traffic (at, source, account, method, path, status, bytes) "
                "SELECT * FROM unnest(%(at)s::timestamptz[], %(source)s::text[], %(account)s::text[], "
                "%(method)s::text[], %(path)s::text[], %(status)s::int[], %(bytes)s::bigint[])")
_FIELDS = ("at", "source", "account", "method", "path", "status", "bytes")


def record(service: str, row: dict) -> None:
    """Write one request's row now (``record_many`` of one)."""
    record_many(service, [row])


def record_many(service: str, rows: list[dict]) -> None:
    """Write rows in a transaction of their own: one INSERT (one statement whatever the number of
    rows), sent as one pipeline (one round trip), straight through the driver on a pooled
    connection. The commit does not wait for the WAL to reach the disk (``synchronous_commit`` off
    for this transaction only): that wait was most of the cost (about 1 ms of 1.5); what it risks
    is losing the last fraction of a second of rows if the database server itself crashes, never
    a torn or changed row."""
    if not rows:
        return
    with _engine(service).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        driver = conn.connection.driver_connection
        try:
            with driver.pipeline():
                driver.execute("BEGIN")
                driver.execute("SET LOCAL synchronous_commit = off")
                if len(rows) == 1:
                    driver.execute(_INSERT, rows[0])
                else:
                    driver.execute(_INSERT_MANY, {field: [row[field] for row in rows] for field in _FIELDS})
                driver.execute("COMMIT")
        except Exception:
            conn.invalidate()  # never hand a connection in a failed transaction back to the pool
            raise


class Writer(Batcher):
    """A service's traffic rows of this process, written by a thread of its own as their requests
    are answered, many rows to a statement when busy (``shared.batching``): a request no longer
    pays a round trip and a transaction of its own for its row. Rows wait at most ``LINGER``
    seconds (more only while the database is slow); a process killed with ``kill -9`` loses the
    rows of the requests it answered in that last moment, as a crash of the database server loses
    its last fraction of a second (``record_many``). A process that stops cleanly writes them
    first."""

    LINGER = 0.05  # seconds, when busy, that a row waits for others to share its statement
    MAX_ROWS = 1000  # rows per statement
    MAX_WAITING = 50_000  # rows held while the database is away; beyond, each is logged and dropped

    def __init__(self, service: str) -> None:
        super().__init__(f"traffic-{service}", self._write, self.MAX_ROWS, self.LINGER, self.MAX_WAITING)
        self.service = service

    def add(self, row: dict) -> None:
        if not self.submit([row]):
            log.error("traffic log of %s: %d rows wait to be written; dropped %s %s", self.service,
                      self.MAX_WAITING, row.get("method"), row.get("path"))

    def _write(self, rows: list[dict]) -> None:
        try:
            record_many(self.service, rows)
        except Exception as exc:
            log.warning("traffic log of %s: %d rows not written: %s", self.service, len(rows),
                        str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__)


_WRITERS: dict[str, Writer] = {}
_WRITERS_LOCK = threading.Lock()


def writer(service: str) -> Writer:
    """This process's writer of ``service``'s rows (a new one after a fork)."""
    found = _WRITERS.get(service)
    if found is None or found.pid != os.getpid():
        with _WRITERS_LOCK:
            found = _WRITERS.get(service)
            if found is None or found.pid != os.getpid():
                found = _WRITERS[service] = Writer(service)
    return found


def flush(timeout: float = 10.0) -> bool:
    """Write what this process's writers hold (tests; before reading the log)."""
    return batching.flush(Writer, timeout)


def _account() -> str:
    """The staff member behind the request, if any: whom a view already found, else whom its
    bearer token or desk session names (the signature is checked, no database is asked)."""
    if "staff" not in g and ("Authorization" in request.headers or request.cookies):
        from shared.auth import current_staff

        current_staff()
    staff = g.get("staff")
    return staff.username if staff is not None else ""


def _clean(value: str) -> str:
    return value.replace("\x00", "")  # PostgreSQL's text refuses NUL: the row must still be written


def request_row(response) -> dict:
    """The row for the request being answered, by ``response``."""
    environ = request.environ
    raw_path = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1", "replace")
    size = response.content_length
    if size is None and not response.is_streamed:
        size = len(response.get_data())
    return {
        "at": g.get("traffic_at") or db.utcnow(),
        "source": _clean(request.remote_addr or "")[:64],
        "account": _clean(_account())[:100],
        "method": _clean(request.method)[:16],
        "path": traffic.logged_path(raw_path, environ.get("QUERY_STRING", "").encode("latin-1", "replace")),
        "status": response.status_code,
        "bytes": size,
    }


def install(app: Flask, service: str) -> None:
    """Log every request ``app`` answers (every status, errors included) in ``service``'s table.
    A log that cannot be written does not turn the answer into an error: it is logged loudly."""

    @app.before_request
    def traffic_started():
        g.traffic_at = db.utcnow()

    @app.after_request
    def traffic_recorded(response):
        try:
            writer(service).add(request_row(response))
        except Exception as exc:
            log.warning("traffic log of %s not written for %s %s: %s", service, request.method, request.path,
                        str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__)
        return response


# ---- the chain ----------------------------------------------------------------------------------

_COLUMNS = "id, at, source, account, method, path, status, bytes, seq, hash"


def _row(values) -> TrafficRow:
    return TrafficRow(*values)


def _lock(conn, service: str) -> None:
    conn.execute(text("SELECT pg_advisory_xact_lock(:space, hashtext(:service))"),
                 {"space": LOCK_SPACE, "service": service})


def _chain(conn, *, for_update: bool = False) -> ChainState:
    conn.execute(text("INSERT INTO traffic_chain (id, start_seq, start_hash, head_seq, head_hash, purged_rows) "
                      "VALUES (1, 1, :genesis, 0, :genesis, 0) ON CONFLICT (id) DO NOTHING"),
                 {"genesis": traffic.GENESIS})
    row = conn.execute(text("SELECT start_seq, start_hash, head_seq, head_hash FROM traffic_chain WHERE id = 1"
                            + (" FOR UPDATE" if for_update else ""))).one()
    return ChainState(*row)


def link(service: str) -> int:
    """Give every row not yet in the chain its place and hash, in batches, oldest id first (this
    process's rows still waiting to be written first). Answers how many rows were linked."""
    flush()
    linked = 0
    while True:
        with _engine(service).begin() as conn:
            _lock(conn, service)
            chain = _chain(conn, for_update=True)
            rows = [_row(r) for r in conn.execute(text(
                f"SELECT {_COLUMNS} FROM traffic WHERE seq IS NULL ORDER BY id LIMIT :limit"),
                {"limit": LINK_BATCH})]
            if not rows:
                return linked
            links, chain = traffic.link(rows, chain)
            conn.execute(text(
                "UPDATE traffic SET seq = v.seq, hash = v.hash "
                "FROM unnest(CAST(:ids AS bigint[]), CAST(:seqs AS bigint[]), CAST(:hashes AS text[])) "
                "AS v(id, seq, hash) WHERE traffic.id = v.id"),
                {"ids": [i for i, _, _ in links], "seqs": [s for _, s, _ in links], "hashes": [h for _, _, h in links]})
            conn.execute(text("UPDATE traffic_chain SET head_seq = :seq, head_hash = :hash WHERE id = 1"),
                         {"seq": chain.head_seq, "hash": chain.head_hash})
            linked += len(rows)


@dataclass(frozen=True)
class Verdict:
    service: str
    rows: int
    chain: ChainState
    broken: Break | None

    def __str__(self) -> str:
        if self.broken is not None:
            return f"{self.service}: TAMPERED at {self.broken}"
        if not self.rows:
            return f"{self.service}: intact, no rows (the chain starts at {self.chain.start_seq})"
        return (f"{self.service}: intact, {self.rows:,} rows, {self.chain.start_seq} to {self.chain.head_seq}, "
                f"newest hash {self.chain.head_hash}")


def verify(service: str) -> Verdict:
    """Link what is waiting, then check the whole chain from its recorded start, streaming."""
    link(service)
    counted = 0
    with _engine(service).connect() as conn:
        with conn.begin():
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))  # one snapshot
            chain = _chain(conn)
            result = conn.execute(text(f"SELECT {_COLUMNS} FROM traffic WHERE seq IS NOT NULL ORDER BY seq"),
                                  execution_options=STREAM)

            def rows() -> Iterator[TrafficRow]:
                nonlocal counted
                for values in result:
                    counted += 1
                    yield _row(values)

            broken = traffic.verify(rows(), chain)
            result.close()
    return Verdict(service, counted, chain, broken)


@dataclass(frozen=True)
class Purged:
    service: str
    rows: int
    start_seq: int


def purge(service: str, days: int, now: datetime | None = None) -> Purged:
    """Remove the chain's rows older than ``days`` (a prefix of the chain: see
    ``traffic.prefix_to_purge``) and record where it now starts, in one transaction."""
    link(service)
    before = (now or db.utcnow()) - timedelta(days=days)
    with _engine(service).begin() as conn:
        _lock(conn, service)
        chain = _chain(conn, for_update=True)
        result = conn.execute(text("SELECT seq, at FROM traffic WHERE seq IS NOT NULL ORDER BY seq"), execution_options=STREAM)
        last = traffic.prefix_to_purge(result, before)
        result.close()
        if last is None:
            return Purged(service, 0, chain.start_seq)
        last_hash = conn.execute(text("SELECT hash FROM traffic WHERE seq = :seq"), {"seq": last}).scalar_one()
        removed = conn.execute(text("DELETE FROM traffic WHERE seq <= :seq"), {"seq": last}).rowcount
        conn.execute(text("UPDATE traffic_chain SET start_seq = :start, start_hash = :hash, purged_at = :now, "
                          "purged_rows = purged_rows + :removed WHERE id = 1"),
                     {"start": last + 1, "hash": last_hash, "now": now or db.utcnow(), "removed": removed})
    log.info("traffic log of %s: %s rows older than %s days purged, the chain now starts at %s",
             service, removed, days, last + 1)
    return Purged(service, removed, last + 1)


def export(service: str, since: datetime, until: datetime) -> Iterator[TrafficRow]:
    """The rows written from ``since`` up to (not including) ``until``, by time, streaming."""
    link(service)
    with _engine(service).connect() as conn:
        result = conn.execute(
            text(f"SELECT {_COLUMNS} FROM traffic WHERE at >= :since AND at < :until ORDER BY at, id"),
            {"since": since, "until": until}, execution_options=STREAM)
        for values in result:
            yield _row(values)
