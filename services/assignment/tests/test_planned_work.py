"""Planned work: the sesao30 yearly processes ("ติดตาม ประเมินผล และรายงานผลการดำเนินงานในรอบปี", a
yearly cycle: งานประจำปี) open by themselves from the pack's ``schedule`` (every fiscal year, 1
October), with no requester, on the first working day of the working calendar from the planned
day, once per period however often and however concurrently beat runs ``assignment.open_planned``.
Through the real broker: intake files the request (channel ``planned``), assignment opens and
assigns the case, notify writes to no requester."""
from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import Case, CaseStep, PlannedRun, TrailEntry
from services.assignment.handlers import calendar_admin, planned
from services.assignment.handlers.engine import calendar
from services.intake.adapters.bus import bus as intake_bus
from services.intake.adapters.models import Request
from services.notify.adapters.bus import bus as notify_bus
from services.notify.adapters.models import Contact, Delivery
from shared.i18n import BANGKOK
from shared.packs import find_sop
from sopdesk.testing import drain

SOP = "sesao30/mis-data-service"


def at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=BANGKOK)


def runs(sop: str = SOP) -> list[PlannedRun]:
    with bus.session() as session:
        return list(session.scalars(select(PlannedRun).where(PlannedRun.sop == sop)))


def test_the_yearly_process_opens_on_the_first_working_day_from_1_october_with_no_requester(people):
    """"งานประจำปี … รายงานผลในรอบปี": planned for 1 October (the fiscal year's first day, the
    pack's ``{every: year, on: {fiscal_month: 1, day: 1}}``). The admin makes 1 and 2 October 2026
    days off; 3-4 October are Saturday and Sunday: the case opens on Monday 5 October, not before."""
    people.join("sesao30")
    schedule = find_sop(SOP).schedule
    planned_on = date(2026, 10, 1)
    assert schedule.period(planned_on).planned_on == planned_on and schedule.period(planned_on).key == "2570"
    calendar_admin.change("add", "2026-10-01", "วันหยุดทดสอบ 1", "u-admin")
    calendar_admin.change("add", "2026-10-02", "วันหยุดทดสอบ 2", "u-admin")
    # the expected day, worked from the rule: the first day from 1 October that is no weekend and no day off
    with bus.session() as session:
        cal = calendar(session)
    expected, day = None, planned_on
    while expected is None:
        if day.weekday() < 5 and day not in (date(2026, 10, 1), date(2026, 10, 2)):
            expected = day
        day += timedelta(days=1)
    assert expected == date(2026, 10, 5) and cal.next_working_day(planned_on) == expected

    for before in (date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 4)):
        assert [r for r in planned.open_planned(at(before)) if r.sop == SOP] == []
    assert runs() == []

    [run] = [r for r in planned.open_planned(at(expected, 8)) if r.sop == SOP]
    assert run.period == "2570" and run.opens_on == expected
    drain()

    with intake_bus.session() as session:
        request = session.scalar(select(Request).where(Request.tracking_code == run.tracking_code))
    assert request.channel == "planned" and request.requester_email is None and request.requester_name == ""
    assert request.status == "open" and request.current_step == "study-data-system"  # intake's read model follows
    with bus.session() as session:
        case = session.scalar(select(Case).where(Case.tracking_code == run.tracking_code))
        assert case.sop == SOP and case.channel == "planned" and case.requester_name == ""
        [step] = session.scalars(select(CaseStep).where(CaseStep.case_id == case.id)).all()
        opened = session.scalar(select(TrailEntry).where(TrailEntry.case_id == case.id, TrailEntry.kind == "opened"))
    # assigned as usual: the one officer of the organisation takes the first step
    assert step.step == "study-data-system" and step.assignee == "u-officer"
    assert opened.actor == "sopdesk"
    with notify_bus.session() as session:
        contact = session.get(Contact, run.tracking_code)
        to_requester = session.scalars(select(Delivery).where(Delivery.correlation_id == run.tracking_code,
                                                              Delivery.template == "received")).all()
        assigned = session.scalars(select(Delivery).where(Delivery.correlation_id == run.tracking_code,
                                                          Delivery.template == "assigned")).all()
    assert contact is not None and contact.email is None
    assert to_requester == []  # nobody to write to, and nothing failed
    assert [d.recipient for d in assigned] == ["u-officer@office.example"]


def test_the_same_year_is_never_opened_twice(people):
    """Beat runs every few minutes: the rest of the fiscal year opens nothing more for the SOP;
    the next fiscal year (1 October 2027, a Friday and a working day) opens once again."""
    people.join("sesao30")
    first = [r for r in planned.open_planned(at(date(2026, 10, 5))) if r.sop == SOP]
    again = [r for r in planned.open_planned(at(date(2026, 10, 5), 15)) if r.sop == SOP]
    later = [r for r in planned.open_planned(at(date(2027, 9, 30))) if r.sop == SOP]
    assert len(first) == 1 and again == [] and later == []
    assert date(2027, 10, 1).weekday() == 4
    [next_year] = [r for r in planned.open_planned(at(date(2027, 10, 1))) if r.sop == SOP]
    assert next_year.period == "2571"
    assert sorted(r.period for r in runs()) == ["2570", "2571"]
    drain()
    with bus.session() as session:
        assert len(session.scalars(select(Case).where(Case.sop == SOP)).all()) == 2


def test_two_beat_runs_side_by_side_open_one_case(people):
    """Two runs at the same moment (two beats, or a slow run and the next): the unique run per
    SOP and period lets one of them ask for the case; the other waits, then asks nothing."""
    people.join("sesao30")
    results: list = []
    barrier = threading.Barrier(2)

    def run():
        barrier.wait()
        results.append([r for r in planned.open_planned(at(date(2026, 10, 5))) if r.sop == SOP])

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(r) for r in results) == [0, 1]
    drain()
    with bus.session() as session:
        assert len(session.scalars(select(Case).where(Case.sop == SOP)).all()) == 1
    with intake_bus.session() as session:
        assert len(session.scalars(select(Request).where(Request.sop == SOP)).all()) == 1


def test_the_ongoing_backup_duty_comes_after_the_case_closes_as_monthly_planned_work(client, people):
    """rmutl SW01: "กำกับดูแล/สำรองฐานข้อมูลในระบบสารสนเทศ" is an ongoing duty: the development case
    closes at the handover (its survey goes out then, not never), and the duty opens by itself
    each month (``rmutl/database-care``, step ``maintain-backup``), with no requester."""
    sop = find_sop("rmutl/system-dev")
    last = sop.steps[-1]
    assert last.key == "handover-training" and last.outcomes["done"].to is None
    assert last.outcomes["done"].result == "completed"
    assert "maintain-backup" not in [s.key for s in sop.steps]
    care = find_sop("rmutl/database-care")
    assert [s.key for s in care.steps] == ["maintain-backup"] and not care.requester
    people.join("rmutl")
    # Tuesday 1 December 2026, a working day: December's round (fiscal month 3 of 2570) opens on it
    assert date(2026, 12, 1).weekday() == 1
    [run] = [r for r in planned.open_planned(at(date(2026, 12, 1))) if r.sop == "rmutl/database-care"]
    assert run.period == "2570-M03" and run.opens_on == date(2026, 12, 1)
    assert [r for r in planned.open_planned(at(date(2026, 12, 31))) if r.sop == "rmutl/database-care"] == []
    drain()
    with bus.session() as session:
        case = session.scalar(select(Case).where(Case.tracking_code == run.tracking_code))
        [step] = session.scalars(select(CaseStep).where(CaseStep.case_id == case.id)).all()
    assert step.step == "maintain-backup" and step.assignee == "u-officer"
