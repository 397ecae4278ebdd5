"""Escalation of missed deadlines without a database (services/assignment/domain/escalation.py):
which unit's heads hear, then the director after N working days, and how late in working days."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.assignment.domain.escalation import (LateWork, directors_to_tell, escalate_at, heads_to_tell,
                                                   working_days_late)
from shared.packs import PackError, parse_pack
from shared.workcal import WorkingCalendar

BANGKOK = ZoneInfo("Asia/Bangkok")
HEADS = {"web": ["boss-web"], "net": ["boss-net", "deputy-net"], "empty": []}
ORG_HEADS = ["boss-net", "boss-web", "deputy-net"]


def heads_of(unit):
    return HEADS.get(unit, [])


def test_a_late_step_someone_holds_tells_the_heads_of_their_unit():
    audience = heads_to_tell(LateWork("step", "web", role_units=("net",), staff_units=("net",)), heads_of, ORG_HEADS)
    assert (audience.heads, audience.source) == (("boss-web",), "holder-unit")


def test_a_late_step_nobody_holds_tells_the_heads_of_the_units_that_could_take_it():
    audience = heads_to_tell(LateWork("step", None, role_units=("net", "web"), staff_units=("web",)),
                             heads_of, ORG_HEADS)
    assert (audience.heads, audience.source) == (("boss-net", "boss-web", "deputy-net"), "role-units")


def test_with_no_head_where_the_work_is_the_case_staffs_units_then_the_whole_organisation_hear():
    audience = heads_to_tell(LateWork("step", None, role_units=("empty",), staff_units=("empty", "web")),
                             heads_of, ORG_HEADS)
    assert (audience.heads, audience.source) == (("boss-web",), "staff-units")
    audience = heads_to_tell(LateWork("step", "empty", role_units=(), staff_units=()), heads_of, ORG_HEADS)
    assert (audience.heads, audience.source) == (tuple(ORG_HEADS), "organisation")


def test_a_missed_case_deadline_tells_the_unit_serving_the_case_first():
    """ONESQA's case deadlines (ภายใน 2 วันทำการ and others): the unit of whoever holds the active
    step, else the units of the case's staff so far, else those who could take the step."""
    late = LateWork("case", None, role_units=("web",), staff_units=("net",))
    assert heads_to_tell(late, heads_of, ORG_HEADS).source == "staff-units"
    assert heads_to_tell(LateWork("case", "web", role_units=("net",), staff_units=("net",)), heads_of,
                         ORG_HEADS).heads == ("boss-web",)
    assert heads_to_tell(LateWork("case", None, role_units=("web",)), heads_of, ORG_HEADS).source == "role-units"


def test_the_director_hears_or_the_deputies_when_there_is_no_director():
    assert directors_to_tell(["dir"], ["dep"]) == ("dir",)
    assert directors_to_tell([], ["dep2", "dep1"]) == ("dep1", "dep2")


def _working_days_after(cal: WorkingCalendar, start: datetime, days: int) -> datetime:
    """The rule worked by hand: the same office time ``days`` working days on (holidays skipped)."""
    local = start.astimezone(BANGKOK)
    day = local.date()
    for _ in range(days):
        day += timedelta(days=1)
        while not cal.is_working_day(day):
            day += timedelta(days=1)
    return datetime.combine(day, local.time(), BANGKOK)


def test_the_director_is_told_n_working_days_after_the_heads_skipping_a_holiday():
    holiday = date(2026, 11, 24)  # an admin-added day off, a Tuesday
    cal = WorkingCalendar(added_holidays={holiday: "วันหยุดพิเศษ"})
    told = datetime(2026, 11, 23, 10, 0, tzinfo=BANGKOK)  # Monday 10:00
    for days in (1, 2):
        expected = _working_days_after(cal, told, days)
        assert escalate_at(told, days, cal) == expected
        assert expected.date() > holiday  # the day off does not count
    with pytest.raises(ValueError):
        escalate_at(told, 0, cal)


def test_how_late_counts_whole_working_days():
    cal = WorkingCalendar()
    due = datetime(2026, 11, 27, 16, 0, tzinfo=BANGKOK)  # Friday, half an hour before closing
    monday_morning = datetime.combine(date(2026, 11, 30), time(9, 0), BANGKOK)
    assert working_days_late(due, monday_morning, cal) == (30 + 30) // cal.minutes_per_day == 0
    assert working_days_late(due, _working_days_after(cal, due, 2), cal) == 2


PACK = """
pack: demo
version: 1
organisation: {th: หน่วยงานทดลอง}
%s
sops:
  plain:
    title: {th: ทั่วไป}
    deadline: "2 days"
    steps:
      - key: do
        title: {th: ทำ}
        role: officer
        outcomes: {done: null}
  slow:
    title: {th: ช้า}
    escalate_after: "3 working days"
    steps:
      - key: do
        title: {th: ทำ}
        role: officer
        outcomes: {done: null}
"""


def test_escalate_after_is_set_per_pack_or_per_sop_and_is_one_working_day_by_default():
    default = parse_pack(PACK % "")
    assert default.sops["plain"].escalate_after == 1 and default.sops["slow"].escalate_after == 3
    pack_wide = parse_pack(PACK % 'escalate_after: "2 days"')
    assert pack_wide.sops["plain"].escalate_after == 2 and pack_wide.sops["slow"].escalate_after == 3
    for bad in ('"0 days"', '"a week"', '"2 hours"'):
        with pytest.raises(PackError):
            parse_pack(PACK % f"escalate_after: {bad}")
