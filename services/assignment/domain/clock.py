"""The case's clock while the requester holds it (a return for correction): the working time it
waited is not the unit's, so the deadline moves on by exactly that much."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.workcal import WorkingCalendar


@dataclass(frozen=True)
class Resumed:
    waited_minutes: int  # working minutes the requester held it
    due_at: datetime | None  # the deadline now (moved, or as it was)
    moved: bool  # the deadline moved (a new one may be reported missed once more)


def resume(cal: WorkingCalendar, paused_since: datetime, now: datetime, due_at: datetime | None) -> Resumed:
    """The requester answered at ``now``: what was left of the deadline when the clock paused is
    left again from ``now``. A deadline already past when it paused stays where it was."""
    waited = cal.working_minutes_between(paused_since, now)
    if due_at is None or due_at <= paused_since:
        return Resumed(waited, due_at, False)
    remaining = cal.working_minutes_between(paused_since, due_at)
    return Resumed(waited, cal.add(now, remaining), True)
