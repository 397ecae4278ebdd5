"""The case's clock across a return for correction, without a database (domain/clock.py)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from services.assignment.domain.clock import resume
from shared.workcal import WorkingCalendar

BKK = ZoneInfo("Asia/Bangkok")
CAL = WorkingCalendar()  # 08:30-16:30, Monday to Friday, Thai holidays


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BKK)  # 16 Nov 2026 is a Monday; no holiday that week


def test_the_deadline_moves_on_by_the_working_time_the_requester_held_it():
    # paused Monday 10:00 with the deadline Monday 15:00: 5 working hours were left.
    # answered Tuesday 09:00: the requester held it Monday 10:00-16:30 (390 min) + Tuesday 08:30-09:00 (30)
    # and the 300 minutes left run from Tuesday 09:00: Tuesday 14:00
    assert all(CAL.is_working_day(at(d, 12).date()) for d in (16, 17))
    resumed = resume(CAL, at(16, 10), at(17, 9), at(16, 15))
    assert (resumed.waited_minutes, resumed.due_at, resumed.moved) == (390 + 30, at(17, 14), True)


def test_a_deadline_already_past_when_it_paused_stays_and_no_deadline_stays_none():
    resumed = resume(CAL, at(16, 10), at(16, 11), at(16, 9))
    assert (resumed.waited_minutes, resumed.due_at, resumed.moved) == (60, at(16, 9), False)
    assert resume(CAL, at(16, 10), at(16, 11), None).due_at is None


def test_a_weekend_in_the_pause_is_not_counted():
    # paused Friday 16:00 (deadline Friday 16:30: 30 min left), answered Monday 08:30
    resumed = resume(CAL, at(20, 16), at(23, 8, 30), at(20, 16, 30))
    assert (resumed.waited_minutes, resumed.due_at) == (30, at(23, 9))
