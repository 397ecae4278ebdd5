"""In-process caches of the reference data assignment reads on every event but that rarely
changes: which pack version is the newest, the staff directory (who holds a role, who is away
today, whom to write to, a unit's heads and members), and the admin's calendar changes. Before
these, opening a case read ``pack_versions`` twice (each time on a pooled connection of its own),
the calendar, the holders of the step's role, today's delegations and the assignee's contact.

A parsed pack *version* needs no freshness check at all: a loaded (pack, version) never changes
(``packstore`` refuses other content under a loaded version), so ``packstore`` keeps it for the
life of the process. Everything here can change, in this process or in any other (``sopdesk users
add``, ``sopdesk packs load``, ``sopdesk holidays add``, the web app), and is kept per *group*:

* ``packs``: the newest version of each pack (``PackVersion`` rows);
* ``directory``: ``User``, ``UserRole``, ``Unit``, ``Delegation`` rows;
* ``calendar``: ``CalendarDay`` rows.

How a change is seen: every ORM insert, update or delete of a group's rows (a mapper event,
whatever code makes it: ``directory``'s functions, ``packstore``, ``calendar_admin``, a script
editing a ``User``) writes a new random token for the group into ``cache_tokens`` in the same
transaction, and drops the group's values in this process at once. A transaction that reads a
cached value first compares the tokens in the database with the ones its process's values were
read under (one small SELECT, once per transaction) and drops each group whose token moved. So
a change is seen by the next transaction in every process, at the price of that one statement.

Why a token row and not a time-to-live: with a TTL a worker would go on giving new work to
someone deactivated or away, or opening cases on the previous pack version, for up to the TTL
after the change in another process, and a freshly emptied database (tests, a restore) would be
read through yesterday's staff. The token costs one indexed read of a three-row table per
transaction instead of the five to eight statements and two pool checkouts it saves. A random
token, not a counter: a table emptied or restored from a backup could bring a counter back to a
value the cache was filled under; a missing row reads as None, which no cached token equals.

Not seen: writes that bypass the ORM's unit of work (raw SQL, ``session.execute(update(User))``);
after one, call ``changed`` in that transaction (or ``forget`` in a test).
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

from sqlalchemy import event, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.assignment.adapters.models import (CacheToken, CalendarDay, Delegation, OrgSettings, PackVersion, Unit,
                                                 User, UserRole)
from shared import db

PACKS, DIRECTORY, CALENDAR = "packs", "directory", "calendar"
GROUP_OF = {PackVersion: PACKS, User: DIRECTORY, UserRole: DIRECTORY, Unit: DIRECTORY, Delegation: DIRECTORY,
            CalendarDay: CALENDAR, OrgSettings: CALENDAR}

T = TypeVar("T")
_UNREAD = object()  # a group whose token this process has not read since it was (re)set
_SYNCED = "assignment.caches.synced"  # session.info: the transaction whose tokens were read
_CHANGED = "assignment.caches.changed"  # session.info: (transaction, groups it wrote tokens for)
_lock = threading.Lock()


class _Group:
    def __init__(self, name: str) -> None:
        self.name = name
        self.token: object = _UNREAD
        self.generation = 0
        self.values: dict[Hashable, object] = {}

    def reset(self, token: object = _UNREAD) -> None:
        with _lock:
            self.values = {}
            self.generation += 1
            self.token = token


_groups = {name: _Group(name) for name in (PACKS, DIRECTORY, CALENDAR)}


def sync(session: Session) -> None:
    """Drop the groups changed since this process read them: reads the tokens once per
    transaction of ``session`` (the first cached read of a transaction calls this)."""
    transaction = session.get_transaction()
    if transaction is not None and session.info.get(_SYNCED) is transaction:
        return
    tokens = dict(session.execute(select(CacheToken.name, CacheToken.token)).all())
    for group in _groups.values():
        token = tokens.get(group.name)
        if group.token is _UNREAD or group.token != token:
            group.reset(token)
    session.info[_SYNCED] = session.get_transaction()


def cached(group: str, key: Hashable, session: Session, compute: Callable[[], T]) -> T:
    """The group's value for ``key``, computed (with ``session``) when not kept. Callers must not
    change what they get: return copies of mutable values."""
    sync(session)
    kept = _groups[group]
    values = kept.values
    if key in values:
        return values[key]  # type: ignore[return-value]
    generation = kept.generation
    value = compute()
    with _lock:
        # not when the group was dropped meanwhile (another thread saw a change): the value
        # may have been read before that change
        if kept.generation == generation:
            kept.values[key] = value
    return value


def changed(connection_or_session, group: str) -> None:
    """Record a change of ``group`` in the caller's transaction (a new token) and drop the
    group's values in this process."""
    token = insert(CacheToken.__table__).values(name=group, token=db.new_id(), changed_at=db.utcnow())
    connection_or_session.execute(token.on_conflict_do_update(
        index_elements=["name"], set_={"token": token.excluded.token, "changed_at": token.excluded.changed_at}))
    _groups[group].reset()


def forget() -> None:
    """Drop every group in this process (tests that empty the tables; the tokens would do it too)."""
    for group in _groups.values():
        group.reset()


def _on_change(mapper, connection, target) -> None:
    group = GROUP_OF[type(target)]
    session = Session.object_session(target)
    transaction = session.get_transaction() if session is not None else None
    if session is not None:
        done_in, groups = session.info.get(_CHANGED, (None, set()))
        if done_in is not transaction:
            done_in, groups = transaction, set()
        if group in groups:  # one token per group and transaction is enough
            _groups[group].reset()
            return
        groups.add(group)
        session.info[_CHANGED] = (done_in, groups)
    changed(connection, group)


for _model in GROUP_OF:
    for _what in ("after_insert", "after_update", "after_delete"):
        event.listen(_model, _what, _on_change)


__all__ = ["CALENDAR", "DIRECTORY", "PACKS", "cached", "changed", "forget", "sync"]
