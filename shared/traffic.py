"""The traffic log's rules, pure: what a request's row holds, how rows are chained, and how a
chain is checked. The Computer Crime Act (s.26) asks a service provider to keep every request's
traffic data for at least 90 days, unchanged; ``shared.traffic_log`` writes and reads the rows.

A row is linked into its service's chain by a sequence number (1, 2, 3, ... with no gap) and a
hash: SHA-256 over the previous row's hash and the row's own fields. Changing a field, removing a
row or putting one in between breaks the hash of that row or of the one after it, so checking the
chain from its start names the first row that is not as it was written.

A purge removes the oldest rows, a prefix of the chain, and records where the chain now starts
(the first sequence number kept and the hash before it), so the rest still checks. The newest
link is recorded too, so rows removed from the end are missed as well.

This module imports nothing but the standard library.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote_from_bytes, unquote_plus

GENESIS = "0" * 64
"""The hash before the first row ever written."""

MAX_PATH = 2000
"""A longer path (and kept query) is cut here: the log keeps what was asked, not megabytes of it."""

SECRET_WORDS = ("token", "password", "passwd", "secret", "signature", "apikey", "api_key", "session")
SECRET_NAMES = frozenset({"code", "state", "sig", "key", "auth", "otp", "nonce", "jwt", "assertion",
                          "samlresponse", "ticket"})
"""Query parameters that carry a credential (a tracking link's ``token``, an OpenID provider's
``code``, anything named like a token, password or secret): never stored."""

# what stays as it is in a stored path; everything else (spaces, NUL, bytes above 127) is %XX
_SAFE = b"/:@!$&'()*+,;=-._~%"


@dataclass(frozen=True)
class TrafficRow:
    """One request as the log keeps it. ``seq`` and ``hash`` are None until it is linked."""

    id: int
    at: datetime
    source: str
    account: str
    method: str
    path: str
    status: int
    bytes: int | None
    seq: int | None = None
    hash: str | None = None


@dataclass(frozen=True)
class ChainState:
    """Where a service's chain starts (after the last purge) and its newest link."""

    start_seq: int = 1
    start_hash: str = GENESIS
    head_seq: int = 0
    head_hash: str = GENESIS


@dataclass(frozen=True)
class Break:
    """The first place a chain is not as it was written."""

    seq: int | None
    row_id: int | None
    reason: str

    def __str__(self) -> str:
        where = f"row {self.seq} (id {self.row_id})" if self.seq is not None else "the chain's end"
        return f"{where}: {self.reason}"


def is_secret_parameter(name: str) -> bool:
    name = name.strip().lower()
    return name in SECRET_NAMES or any(word in name for word in SECRET_WORDS)


def logged_path(raw_path: bytes, raw_query: bytes) -> str:
    """The path and query as the log keeps them: percent-encoded exactly as asked (a NUL or a
    stray byte becomes %00 or %FF, never a broken row), without the parameters that carry a
    credential, cut at ``MAX_PATH``."""
    path = quote_from_bytes(raw_path, safe=_SAFE)
    kept = []
    for part in raw_query.split(b"&"):
        if not part:
            continue
        name = unquote_plus(part.split(b"=", 1)[0].decode("latin-1"))
        if not is_secret_parameter(name):
            kept.append(quote_from_bytes(part, safe=_SAFE + b"="))
    if kept:
        path += "?" + "&".join(kept)
    return path[:MAX_PATH]


def canonical_time(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("a traffic row's time must be aware (UTC)")
    return at.astimezone(timezone.utc).isoformat(timespec="microseconds")


def row_hash(previous: str, seq: int, row: TrafficRow) -> str:
    """SHA-256 (hex) over the previous row's hash, the row's place in the chain and its fields,
    written as one JSON array so that no two different rows read the same."""
    fields = [previous, seq, row.id, canonical_time(row.at), row.source, row.account, row.method, row.path,
              row.status, row.bytes]
    text = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def link(rows: Iterable[TrafficRow], chain: ChainState) -> tuple[list[tuple[int, int, str]], ChainState]:
    """Link rows not yet in the chain after its newest link, in the order given: the
    ``(row id, seq, hash)`` to store for each, and the chain's new state."""
    seq, previous = chain.head_seq, chain.head_hash
    links = []
    for row in rows:
        seq += 1
        previous = row_hash(previous, seq, row)
        links.append((row.id, seq, previous))
    return links, ChainState(chain.start_seq, chain.start_hash, seq, previous)


def verify(rows: Iterable[TrafficRow], chain: ChainState) -> Break | None:
    """Check linked rows, read in the order of ``seq``, against the chain's recorded start and
    newest link: None when every row is as it was written, else the first ``Break``."""
    expected, previous = chain.start_seq, chain.start_hash
    for row in rows:
        if row.seq is None:
            continue  # not linked yet: the next link run adds it at the end
        if row.seq < expected:
            return Break(row.seq, row.id, f"a row before the chain's start ({expected}): inserted")
        if row.seq > expected:
            missing = f"row {expected}" if row.seq == expected + 1 else f"rows {expected} to {row.seq - 1}"
            return Break(row.seq, row.id, f"{missing} removed before it")
        if row.hash != row_hash(previous, row.seq, row):
            return Break(row.seq, row.id, "does not match its hash: this row was changed, "
                                          "or inserted in the place of another")
        previous = row.hash
        expected += 1
    last = expected - 1
    if last < chain.head_seq:
        missing = f"row {chain.head_seq}" if last + 1 == chain.head_seq else f"rows {last + 1} to {chain.head_seq}"
        return Break(None, None, f"{missing} removed from the end (the newest link recorded is {chain.head_seq})")
    if last > chain.head_seq:
        return Break(last, None, f"rows after the newest link recorded ({chain.head_seq}): inserted")
    if last >= chain.start_seq and previous != chain.head_hash:
        return Break(last, None, "the newest row's hash is not the one recorded: changed")
    return None


def prefix_to_purge(rows: Iterable[tuple[int, datetime]], before: datetime) -> int | None:
    """The last ``seq`` a purge may remove: the chain's oldest rows, in ``seq`` order, up to the
    first one written at or after ``before`` (a row linked late stays until those before it go:
    rows are kept at least as long as the setting says, never less). None: nothing to purge."""
    last = None
    for seq, at in rows:
        if at >= before:
            break
        last = seq
    return last
