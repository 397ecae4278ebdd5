"""A thread of its own that takes what a process hands it and passes it on in batches: the
relay's committed events (``shared.messaging.Relay``) and the traffic log's rows
(``shared.traffic_log.Writer``). Whatever is handed over while one batch is being passed on, or
within ``linger`` seconds of the end of the last, goes in the next (like Nagle's algorithm): a
quiet process's items go at once, a busy one's in fewer and bigger batches. Each is of one
process (its thread starts on first use; ``pid`` tells one inherited through a fork, which its
owner replaces); ``flush`` waits for this process's, and a process that stops cleanly passes on
what they hold first."""
from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

_ALL: list["Batcher"] = []  # every batcher made, to flush those of this process


class Batcher:
    def __init__(self, name: str, send: Callable[[list[Any]], None], max_items: int, linger: float,
                 max_waiting: int | None = None) -> None:
        """``send`` passes one batch on (at most ``max_items``); what it raises is logged and the
        batch dropped, so it handles what it can itself. More than ``max_waiting`` items waiting
        (what they go to is away): ``submit`` refuses more."""
        self.name = name
        self.pid = os.getpid()
        self._send = send
        self.max_items = max_items
        self.linger = linger
        self.max_waiting = max_waiting
        self._waiting: list[Any] = []
        self._busy = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        _ALL.append(self)

    def submit(self, items: list[Any]) -> bool:
        """Hand items over; False when refused (``max_waiting`` reached)."""
        with self._cond:
            if self.max_waiting is not None and len(self._waiting) >= self.max_waiting:
                return False
            self._waiting.extend(items)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            elif not self._busy:
                # waiting for work (it clears ``_busy`` and waits under this lock, so it cannot be
                # between the two): wake it. A busy thread looks at ``_waiting`` again after its
                # batch, and ``flush`` waits for nothing an item's arrival brings: no wake-up (on
                # every request and event, notifying was a tenth of a busy web process's own loop)
                self._cond.notify_all()
            return True

    def _run(self) -> None:
        ended = 0.0  # when the last batch was passed on
        while True:
            with self._cond:
                while not self._waiting:
                    self._busy = False
                    self._cond.notify_all()
                    self._cond.wait()
                self._busy = True
            # busy (the last batch went less than ``linger`` ago): let what comes meanwhile join
            pause = self.linger - (time.monotonic() - ended)
            if pause > 0:
                time.sleep(pause)
            with self._cond:
                batch, self._waiting = self._waiting[:self.max_items], self._waiting[self.max_items:]
            try:
                self._send(batch)
            except Exception:
                log.exception("%s: a batch of %d failed", self.name, len(batch))
            ended = time.monotonic()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything handed over has been passed on (or failed). True if it has."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._waiting and not self._busy, timeout=timeout)


def flush(kind: type[Batcher] = Batcher, timeout: float = 10.0) -> bool:
    """Wait until this process's batchers of ``kind`` have passed on what they hold. True if all
    have within ``timeout`` (each)."""
    pid = os.getpid()
    return all(b.flush(timeout) for b in list(_ALL) if b.pid == pid and isinstance(b, kind))


@atexit.register
def _flush_at_exit() -> None:  # a process that stops cleanly passes on what it was given first
    flush(timeout=2.0)
