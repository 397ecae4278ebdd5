"""Milestone reminders and overdue notices on the right Thai working days, with the clock moved by
the test (``send_due_notices(now)``), and the admin's calendar changes reaching procurement.

Every expected date below is worked out by hand from the Thai holidays of 2026/2027 (the
``holidays`` library: Sat 5 Dec 2026 with its substitution day Mon 7 Dec, Thu 10 Dec 2026
Constitution Day, Thu 31 Dec 2026 and Fri 1 Jan 2027), never from the code under test."""
from __future__ import annotations

import logging
import threading
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from services.assignment.adapters.bus import bus as assignment_bus
from services.assignment.adapters.models import Outbox as AssignmentOutbox
from services.procurement.adapters.bus import bus
from services.procurement.adapters.models import (CalendarDay, Committee, CommitteeMember, Contract, Milestone,
                                                  MilestoneNotice, OrgReminders, Outbox, Project, Vendor,
                                                  VendorContact)
from services.procurement.handlers import reminders
from shared.config import get_settings, set_settings
from shared.events import Event
from shared.i18n import BANGKOK
from sopdesk import testing_events as payloads
from sopdesk.cli import main as sopdesk
from sopdesk.testing import drain

OFFICER = {"name": "นางสาวพัสดุ ใจดี", "email": "officer@office.example", "language": "th"}
MEMBERS = [  # (name, email, language, committee)
    ("นายประธาน ตรวจรับ", "chair@office.example", "th", "inspection"),
    ("Mr. Member English", "member.en@office.example", "en", "inspection"),
    ("นายไม่มี อีเมล", None, "th", "inspection"),
    ("นายจัดซื้อ กรรมการ", "buyer@office.example", "th", "procurement"),
]


def bkk(*args) -> datetime:
    """A Bangkok wall-clock moment (aware)."""
    return datetime(*args, tzinfo=BANGKOK)


def make_contract(dues: list[date], number: str = "12/2570", status: str = "active", officer: dict | None = OFFICER,
                  members=MEMBERS, tracking_code: str | None = "SD-AQADV-00042", tax_id: str = "0105561234567",
                  amount: str = "1250000.00", milestone_amount: str = "250000.00", org: str = "sesao-sc") -> int:
    """A signed contract of a hire project with an inspection committee, one milestone per due
    date (งวดที่ 1, 2, ...), as H2's API would leave it. Returns the contract id."""
    with bus.unit_of_work() as uow:
        s = uow.session
        vendor = Vendor(org=org, name="บริษัท ซอฟต์แวร์ไทย จำกัด", tax_id=tax_id, language="th",
                        contacts=[VendorContact(name="คุณฉุกเฉิน", email="oncall@vendor.example", emergency=True)])
        project = Project(org=org, title="จ้างพัฒนาระบบประเมินคุณภาพการศึกษา", kind="hire", stage="contract",
                          officer="u-officer", officer_contact=officer, tracking_code=tracking_code)
        s.add_all([vendor, project])
        s.flush()
        by_kind: dict[str, Committee] = {}
        for name, email, language, kind in members:
            committee = by_kind.get(kind)
            if committee is None:
                committee = by_kind[kind] = Committee(project_id=project.id, kind=kind)
                s.add(committee)
            committee.members.append(CommitteeMember(name=name, email=email, language=language))
        contract = Contract(org=org, project_id=project.id, number=number, vendor_id=vendor.id, amount=Decimal(amount),
                            signed_on=date(2026, 10, 1), starts_on=date(2026, 10, 1), ends_on=date(2027, 3, 31),
                            fine_rate_percent=Decimal("0.1"), fine_basis="milestone", status=status)
        for seq, due in enumerate(dues, start=1):
            contract.milestones.append(Milestone(seq=seq, title=f"งานงวดที่ {seq}", deliverables="รายงานความก้าวหน้า",
                                                 due_on=due, amount=Decimal(milestone_amount)))
        s.add(contract)
        uow.commit()
        return contract.id


def events(event_type: str | None = None) -> list[dict]:
    """What procurement emitted, oldest first (envelopes from its outbox)."""
    with bus.session() as session:
        query = select(Outbox).order_by(Outbox.created_at)
        if event_type:
            query = query.where(Outbox.type == event_type)
        else:
            query = query.where(Outbox.type.in_(("procurement.milestone_due", "procurement.milestone_overdue")))
        return [row.envelope for row in session.scalars(query)]


def told(envelopes: list[dict]) -> list[tuple]:
    """(seq, kind, days) of each notice: kind 'due' with days ahead, 'overdue' with days late."""
    out = []
    for envelope in envelopes:
        payload = envelope["payload"]
        if envelope["type"] == "procurement.milestone_due":
            out.append((payload["milestone"]["seq"], "due", payload["days_ahead"]))
        else:
            out.append((payload["milestone"]["seq"], "overdue", payload["days_late"]))
    return sorted(out)


def walk(first: date, last: date, hour: int = 8, minute: int = 30) -> dict[date, list[tuple]]:
    """Run the reminders every day from ``first`` to ``last`` at ``hour:minute`` Bangkok time (and
    once more in the afternoon, which must add nothing); what each day sent."""
    sent: dict[date, list[tuple]] = {}
    day = first
    while day <= last:
        before = len(events())
        reminders.send_due_notices(bkk(day.year, day.month, day.day, hour, minute))
        reminders.send_due_notices(bkk(day.year, day.month, day.day, 15, 0))
        new = events()[before:]
        if new:
            sent[day] = told(new)
        day += timedelta(days=1)
    return sent


def set_delivered(contract_id: int, seq: int, delivered_on: date | None = None, due_on: date | None = None):
    with bus.unit_of_work() as uow:
        milestone = uow.session.scalar(select(Milestone).where(Milestone.contract_id == contract_id,
                                                               Milestone.seq == seq))
        if delivered_on is not None:
            milestone.delivered_on = delivered_on
        if due_on is not None:
            milestone.due_on = due_on
        uow.commit()


# --- the right working days ------------------------------------------------------------------------

def test_working_days_ahead_are_counted_back_from_the_due_date_whatever_today_is():
    """The reminders' count and the desk's "in N working days", one rule: the steps back from the
    due date, one working day at a time, until today is reached."""
    from shared.workcal import WorkingCalendar

    cal = WorkingCalendar()
    friday, saturday, monday = date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 30)
    assert [cal.is_working_day(d) for d in (friday, saturday, monday)] == [True, False, True]
    assert reminders.days_ahead(cal, monday, monday) == 0
    assert reminders.days_ahead(cal, friday, monday) == 1  # Monday -> Friday: one step back
    assert reminders.days_ahead(cal, saturday, monday) == 1  # the weekend counts as the Friday
    assert reminders.days_ahead(cal, date(2026, 11, 25), monday) == 3  # Wed <- Thu <- Fri <- Mon


def test_reminders_and_overdue_notices_fall_on_the_right_thai_working_days(clean):
    make_contract([
        date(2026, 11, 23),  # 1: a Monday right after a weekend
        date(2026, 12, 8),   # 2: a Tuesday right after Sat 5 Dec, Sun 6 and the substitution day Mon 7 Dec
        date(2027, 1, 4),    # 3: a Monday after New Year's Eve (Thu 31 Dec), New Year (Fri 1 Jan), a weekend
        date(2026, 12, 10),  # 4: due on a holiday itself (Constitution Day, Thu 10 Dec): counted from it anyway
    ])
    sent = walk(date(2026, 11, 1), date(2027, 1, 12))
    assert sent == {
        # 1: back from Mon 23 Nov: Fri 20 (1), Thu 19, Wed 18, Tue 17, Mon 16 (5); overdue the next working day
        date(2026, 11, 16): [(1, "due", 5)],
        date(2026, 11, 20): [(1, "due", 1)],
        date(2026, 11, 24): [(1, "overdue", 1)],
        # 2: back from Tue 8 Dec, skipping Mon 7, Sun 6, Sat 5: Fri 4 (1), Thu 3, Wed 2, Tue 1, Mon 30 Nov (5)
        date(2026, 11, 30): [(2, "due", 5)],
        # 4: back from Thu 10 Dec: Wed 9 (1), Tue 8, (Mon 7, weekend) Fri 4, Thu 3, Wed 2 (5)
        date(2026, 12, 2): [(4, "due", 5)],
        date(2026, 12, 4): [(2, "due", 1)],
        # Wed 9 Dec: 2 is one day late; 4 is one working day ahead
        date(2026, 12, 9): [(2, "overdue", 1), (4, "due", 1)],
        # 4: Thu 10 Dec is a holiday, so the first working day after it is Fri 11 Dec
        date(2026, 12, 11): [(4, "overdue", 1)],
        # 3: back from Mon 4 Jan over Sun 3, Sat 2, Fri 1 Jan, Thu 31 Dec: Wed 30 (1), Tue 29, Mon 28,
        #    (weekend) Fri 25, Thu 24 Dec (5); overdue on Tue 5 Jan 2027
        date(2026, 12, 24): [(3, "due", 5)],
        date(2026, 12, 30): [(3, "due", 1)],
        date(2027, 1, 5): [(3, "overdue", 1)],
    }
    with bus.session() as session:
        kinds = sorted((n.milestone_id, n.kind) for n in session.scalars(select(MilestoneNotice)))
    assert len(kinds) == 12 and len(set(kinds)) == 12  # one row per notice sent


def test_nothing_before_the_hour_nor_on_a_day_off(clean):
    make_contract([date(2026, 11, 23)])
    assert reminders.send_due_notices(bkk(2026, 11, 16, 8, 29)) == {"day": None, "due": 0, "overdue": 0}
    assert events() == []
    assert reminders.send_due_notices(bkk(2026, 11, 16, 8, 30)) == {"day": "2026-11-16", "due": 1, "overdue": 0}
    assert reminders.send_due_notices(bkk(2026, 11, 16, 23, 59)) == {"day": "2026-11-16", "due": 0, "overdue": 0}


def test_the_hour_comes_from_the_settings(clean):
    make_contract([date(2026, 11, 23)])
    settings = get_settings()
    set_settings(settings.with_changes(reminders_at="10:15", milestone_reminder_days=(3,)))
    try:
        # 3 working days back from Mon 23 Nov: Fri 20, Thu 19, Wed 18
        assert reminders.send_due_notices(bkk(2026, 11, 18, 10, 14))["due"] == 0
        assert reminders.send_due_notices(bkk(2026, 11, 18, 10, 15))["due"] == 1
    finally:
        set_settings(settings)
    assert told(events()) == [(1, "due", 3)]


def test_a_missed_reminder_goes_out_late_once_and_never_as_a_burst(clean):
    make_contract([date(2026, 11, 23), date(2026, 11, 23)], number="13/2570")  # Monday 23 Nov
    # beat was down on Mon 16 and Tue 17: on Wed 18 Nov the 5-day reminder goes out, saying what is
    # really left (Wed 18 -> Thu 19 -> Fri 20 -> Mon 23: 3 working days)
    reminders.send_due_notices(bkk(2026, 11, 18, 9, 0))
    assert told(events()) == [(1, "due", 3), (2, "due", 3)]
    reminders.send_due_notices(bkk(2026, 11, 19, 9, 0))
    assert len(events()) == 2
    # on Fri 20 the 1-day reminder, on its day
    reminders.send_due_notices(bkk(2026, 11, 20, 9, 0))
    assert told(events()[2:]) == [(1, "due", 1), (2, "due", 1)]


def test_a_contract_entered_late_gets_only_the_nearest_reminder(clean):
    # entered on Fri 20 Nov, due Mon 23: the 5-day reminder's day (Mon 16) passed long ago and the
    # 1-day reminder's is today: one reminder, not two at once, and none of the older kind later
    contract_id = make_contract([date(2026, 11, 23)])
    reminders.send_due_notices(bkk(2026, 11, 20, 9, 0))
    assert told(events()) == [(1, "due", 1)]
    with bus.session() as session:
        assert [n.kind for n in session.scalars(select(MilestoneNotice))] == ["due-1"]
    # on the due date itself nothing more; a run missed on Fri would still have told them today
    reminders.send_due_notices(bkk(2026, 11, 23, 9, 0))
    assert len(events()) == 1
    # a second milestone entered on its due date (Mon 23) hears "due today" once
    with bus.unit_of_work() as uow:
        uow.session.add(Milestone(contract_id=contract_id, seq=2, due_on=date(2026, 11, 23), amount=Decimal("1.00")))
        uow.commit()
    reminders.send_due_notices(bkk(2026, 11, 23, 9, 30))
    assert told(events()[1:]) == [(2, "due", 0)]


def test_a_moved_due_date_is_told_again(clean):
    contract_id = make_contract([date(2026, 11, 23)])
    reminders.send_due_notices(bkk(2026, 11, 20, 9, 0))  # the 1-day reminder for Mon 23 Nov
    set_delivered(contract_id, 1, due_on=date(2026, 12, 1))  # an extension to Tue 1 Dec
    # back from Tue 1 Dec: Mon 30 Nov (1), Fri 27, Thu 26, Wed 25, Tue 24 (5): no overdue for 23 Nov
    assert walk(date(2026, 11, 21), date(2026, 12, 2)) == {
        date(2026, 11, 24): [(1, "due", 5)],
        date(2026, 11, 30): [(1, "due", 1)],
        date(2026, 12, 2): [(1, "overdue", 1)],
    }
    assert [e["payload"]["milestone"]["due_on"] for e in events()] == ["2026-11-23", "2026-12-01", "2026-12-01",
                                                                      "2026-12-01"]


def test_a_delivered_milestone_is_not_overdue_and_other_contracts_are_left_alone(clean):
    contract_id = make_contract([date(2026, 11, 23), date(2026, 11, 23)])
    make_contract([date(2026, 11, 23)], number="14/2570", status="completed", tax_id="0105561234568")
    make_contract([date(2026, 11, 23)], number="15/2570", status="terminated", tax_id="0105561234569")
    reminders.send_due_notices(bkk(2026, 11, 20, 9, 0))
    assert told(events()) == [(1, "due", 1), (2, "due", 1)]  # only the active contract's
    set_delivered(contract_id, 1, delivered_on=date(2026, 11, 23))
    reminders.send_due_notices(bkk(2026, 11, 24, 9, 0))
    overdue = events("procurement.milestone_overdue")
    assert told(overdue) == [(2, "overdue", 1)]
    # 0.1 % of the milestone's 250,000.00 is 250.00 a day; one day late
    assert overdue[0]["payload"]["fine_so_far"] == "250.00"
    # still undelivered a week on: the notice is not repeated
    reminders.send_due_notices(bkk(2026, 12, 1, 9, 0))
    assert len(events("procurement.milestone_overdue")) == 1


def test_the_overdue_notice_counts_calendar_days_and_the_fine_so_far(clean):
    make_contract([date(2026, 12, 4)])  # Friday 4 Dec 2026
    # beat down from Mon 7 (a holiday anyway) to Wed 9 Dec: told on Thu 10? a holiday too, so Fri 11
    reminders.send_due_notices(bkk(2026, 12, 10, 9, 0))
    assert events("procurement.milestone_overdue") == []
    reminders.send_due_notices(bkk(2026, 12, 11, 9, 0))
    [overdue] = events("procurement.milestone_overdue")
    # Fri 4 -> Fri 11 Dec: 7 calendar days late; 7 x 250.00
    assert overdue["payload"]["days_late"] == 7 and overdue["payload"]["fine_so_far"] == "1750.00"


# --- once only ------------------------------------------------------------------------------------

def test_two_runs_at_once_send_each_notice_once(clean, monkeypatch):
    make_contract([date(2026, 11, 23), date(2026, 11, 20)])  # Mon 23 (5-day: Mon 16), Fri 20 (5-day: Fri 13)
    reminders.send_due_notices(bkk(2026, 11, 13, 9, 0))
    moment = bkk(2026, 11, 16, 9, 0)  # 1: its 5-day reminder; 2: Fri 20 is 4 days ahead, told already
    results, errors = [], []
    # both runs have read what was sent and are writing their notice before either commits
    meet, seen = threading.Barrier(2), threading.local()
    write = reminders.notice_payload

    def notice_payload(contract, milestone):
        if not getattr(seen, "met", False):
            seen.met = True
            meet.wait(timeout=30)
        return write(contract, milestone)

    monkeypatch.setattr(reminders, "notice_payload", notice_payload)

    def run():
        try:
            results.append(reminders.send_due_notices(moment))
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r["due"] for r in results) == [0, 1]
    assert told(events()) == [(1, "due", 5), (2, "due", 5)]
    with bus.session() as session:
        assert session.scalar(select(func.count()).select_from(MilestoneNotice)) == 2


# --- what the notices say and to whom ------------------------------------------------------------

def test_the_notice_names_the_contract_and_goes_to_the_officer_and_the_inspection_committee(clean):
    contract_id = make_contract([date(2026, 11, 23)])
    reminders.send_due_notices(bkk(2026, 11, 16, 9, 0))
    [envelope] = events()
    assert envelope["source"] == "procurement" and envelope["correlation_id"] == "SD-AQADV-00042"
    payload = envelope["payload"]
    with bus.session() as session:
        contract = session.get(Contract, contract_id)
        milestone_id, project_id = contract.milestones[0].id, contract.project_id
    assert payload == {
        "days_ahead": 5, "org": "sesao-sc",
        "contract": {"id": contract_id, "number": "12/2570", "amount": "1250000.00",
                     "vendor_name": "บริษัท ซอฟต์แวร์ไทย จำกัด"},
        "project": {"id": project_id, "title": "จ้างพัฒนาระบบประเมินคุณภาพการศึกษา",
                    "tracking_code": "SD-AQADV-00042"},
        "milestone": {"id": milestone_id, "seq": 1, "title": "งานงวดที่ 1", "deliverables": "รายงานความก้าวหน้า",
                      "due_on": "2026-11-23", "amount": "250000.00", "state": "pending"},
        # the officer and the inspection committee members with an email; not the one without,
        # nor the procurement committee's member
        "recipients": [
            {"name": "นางสาวพัสดุ ใจดี", "email": "officer@office.example", "language": "th", "role": "officer"},
            {"name": "นายประธาน ตรวจรับ", "email": "chair@office.example", "language": "th",
             "role": "inspection-committee"},
            {"name": "Mr. Member English", "email": "member.en@office.example", "language": "en",
             "role": "inspection-committee"},
        ],
        "desk_path": f"/procurement/desk/contracts/{contract_id}",
    }


def test_an_officer_on_the_committee_is_told_once(clean):
    make_contract([date(2026, 11, 23)], members=[("นางสาวพัสดุ ใจดี", "Officer@office.example", "th", "inspection")])
    reminders.send_due_notices(bkk(2026, 11, 16, 9, 0))
    [envelope] = events()
    assert [(r["email"], r["role"]) for r in envelope["payload"]["recipients"]] == [
        ("officer@office.example", "officer")]


def test_nobody_to_tell_still_records_the_notice_and_warns(clean, caplog):
    make_contract([date(2026, 11, 23)], officer=None, members=[("นายไม่มี อีเมล", None, "th", "inspection")])
    with caplog.at_level(logging.WARNING, logger="services.procurement.handlers.reminders"):
        assert reminders.send_due_notices(bkk(2026, 11, 16, 9, 0))["due"] == 1
    [envelope] = events()
    assert envelope["payload"]["recipients"] == []
    assert "12/2570" in caplog.text and "nobody is told" in caplog.text
    assert reminders.send_due_notices(bkk(2026, 11, 17, 9, 0))["due"] == 0


# --- the admin's calendar -----------------------------------------------------------------------

def test_a_cabinet_day_off_reaches_procurement_and_moves_the_reminders(clean):
    make_contract([date(2026, 11, 23)])  # Monday 23 Nov 2026
    # the cabinet announces Fri 20 Nov 2026 a day off, through the command line
    assert sopdesk(["holidays", "add", "2026-11-20", "--name", "วันหยุดพิเศษตามมติคณะรัฐมนตรี"]) == 0
    with assignment_bus.session() as session:
        [announced] = [row.envelope for row in session.scalars(
            select(AssignmentOutbox).where(AssignmentOutbox.type == "calendar.changed"))]
    assert announced["source"] == "assignment"
    assert announced["payload"] == {"day": "2026-11-20", "kind": "holiday", "name": "วันหยุดพิเศษตามมติคณะรัฐมนตรี"}
    assert "procurement.handle_events" in drain()
    with bus.session() as session:
        row = session.get(CalendarDay, date(2026, 11, 20))
        assert (row.kind, row.name) == ("holiday", "วันหยุดพิเศษตามมติคณะรัฐมนตรี")
        assert not reminders.calendar(session).is_working_day(date(2026, 11, 20))
    # back from Mon 23 over the weekend and the new day off: Thu 19 (1), Wed 18, Tue 17, Mon 16,
    # Fri 13 Nov (5); nothing on the day off itself
    assert walk(date(2026, 11, 9), date(2026, 11, 24)) == {
        date(2026, 11, 13): [(1, "due", 5)],
        date(2026, 11, 19): [(1, "due", 1)],
        date(2026, 11, 24): [(1, "overdue", 1)],
    }


def test_a_worked_holiday_and_a_reset_reach_procurement(clean):
    make_contract([date(2026, 12, 8)])  # Tuesday 8 Dec 2026, after the substitution day Mon 7 Dec
    assert sopdesk(["holidays", "remove", "2026-12-07"]) == 0  # the office works Mon 7 Dec
    drain()
    # back from Tue 8 Dec: Mon 7 (1), Fri 4, Thu 3, Wed 2, Tue 1 Dec (5)
    assert walk(date(2026, 11, 27), date(2026, 12, 7)) == {
        date(2026, 12, 1): [(1, "due", 5)],
        date(2026, 12, 7): [(1, "due", 1)],
    }
    assert sopdesk(["holidays", "reset", "2026-12-07"]) == 0
    drain()
    with bus.session() as session:
        assert session.get(CalendarDay, date(2026, 12, 7)).kind == "reset"
        assert not reminders.calendar(session).is_working_day(date(2026, 12, 7))  # the library's again


def test_a_calendar_change_after_a_reminder_never_sends_an_earlier_one(clean):
    make_contract([date(2026, 12, 8)])  # Tuesday 8 Dec 2026
    reminders.send_due_notices(bkk(2026, 12, 4, 9, 0))  # Fri 4 Dec: the 1-day reminder (Mon 7 is off)
    assert told(events()) == [(1, "due", 1)]
    # then the office decides to work Mon 7 Dec: Fri 4 is now 2 working days ahead, but the
    # 5-day reminder must not follow the 1-day one
    assert sopdesk(["holidays", "remove", "2026-12-07"]) == 0
    drain()
    reminders.send_due_notices(bkk(2026, 12, 4, 14, 0))
    reminders.send_due_notices(bkk(2026, 12, 7, 9, 0))
    assert told(events()) == [(1, "due", 1)]


def test_a_failed_calendar_change_announces_nothing(clean):
    assert sopdesk(["holidays", "reset", "2026-12-07"]) == 2  # nothing to reset
    with assignment_bus.session() as session:
        assert session.scalar(select(func.count()).select_from(AssignmentOutbox)
                              .where(AssignmentOutbox.type == "calendar.changed")) == 0


def test_an_older_calendar_event_arriving_late_changes_nothing(clean):
    day = "2026-11-20"
    older = payloads.event("calendar.changed", payloads.calendar_changed(day, "holiday", "x"),
                           occurred_at=datetime(2026, 11, 1, 3, 0, tzinfo=BANGKOK))
    newer = payloads.event("calendar.changed", payloads.calendar_changed(day, "reset"),
                           occurred_at=datetime(2026, 11, 1, 3, 5, tzinfo=BANGKOK))
    bus.consume(newer.to_envelope())
    bus.consume(older.to_envelope())  # delivered after the newer one (a retry, the sweep)
    with bus.session() as session:
        assert session.get(CalendarDay, date(2026, 11, 20)).kind == "reset"
        assert reminders.calendar(session).is_working_day(date(2026, 11, 20))
    bus.consume(newer.to_envelope())  # the same event again: the inbox drops it
    with bus.session() as session:
        assert session.scalar(select(func.count()).select_from(CalendarDay)) == 1


def test_a_malformed_calendar_event_is_dead_lettered_not_retried(clean):
    from shared.messaging import PermanentError

    bad = Event(type="calendar.changed", source="assignment", payload={"day": "20/11/2569", "kind": "holiday"})
    with pytest.raises(PermanentError, match="event catalogue"):
        bus.consume(bad.to_envelope())


def test_the_beat_runs_the_reminders_every_minute():
    from shared.celery_app import celery, celery_config

    entry = celery_config(get_settings())["beat_schedule"]["procurement.reminders"]
    assert entry["task"] == "procurement.reminders" and entry["schedule"] == 60.0
    assert entry["options"]["queue"] == "procurement"
    celery.loader.import_default_modules()
    assert "procurement.reminders" in celery.tasks


def test_an_organisation_s_own_reminder_settings_reach_procurement_and_rule_its_milestones(clean):
    """sesao-sc's administrators send its reminders at 10:00, 3 working days ahead; up keeps the
    configuration's (08:30; 5 and 1 days). A milestone of each, due Thursday 19 November 2569, on
    Monday the 16th (3 working days ahead): up's reminder goes at 08:30, of the 5-day kind (the
    nearest configured count not below 3); sesao-sc's not before 10:00, of its own 3-day kind."""
    from services.assignment.adapters.models import OrgSettings
    from services.assignment.handlers import directory

    directory.set_reminders("sesao-sc", "10:00", "3", by="admin-sc")
    drain()
    with bus.session() as session:
        kept = session.get(OrgReminders, "sesao-sc")
        assert (kept.reminders_at, kept.reminder_days) == ("10:00", [3])
    with assignment_bus.session() as session:
        assert session.get(OrgSettings, "sesao-sc").reminder_days == [3]
    due = date(2026, 11, 19)
    ours = make_contract([due], number="1/2570", org="sesao-sc", tracking_code=None)
    theirs = make_contract([due], number="2/2570", org="up", tracking_code=None, tax_id="0105561234568")

    def sent_for(contract_id: int) -> list[str]:
        with bus.session() as session:
            return sorted(n.kind for n in session.scalars(select(MilestoneNotice).join(Milestone).where(
                Milestone.contract_id == contract_id)))

    reminders.send_due_notices(bkk(2026, 11, 16, 8, 30))
    assert sent_for(theirs) == ["due-5"] and sent_for(ours) == []
    reminders.send_due_notices(bkk(2026, 11, 16, 9, 59))
    assert sent_for(ours) == []
    reminders.send_due_notices(bkk(2026, 11, 16, 10, 0))
    assert sent_for(ours) == ["due-3"] and sent_for(theirs) == ["due-5"]
    # blank is back to the configuration
    directory.set_reminders("sesao-sc", "", "", by="admin-sc")
    drain()
    with bus.session() as session:
        kept = session.get(OrgReminders, "sesao-sc")
        assert (kept.reminders_at, kept.reminder_days) == (None, None)
        default, own = reminders.rules(session)
        assert own["sesao-sc"] == default
    # an announcement older than the one kept (late, or told twice) changes nothing
    bus.consume(payloads.envelope("org.reminders_changed", {
        "org": "sesao-sc", "reminders_at": "11:00", "reminder_days": [2],
        "changed_at": "2026-01-01T00:00:00+00:00"}))
    with bus.session() as session:
        kept = session.get(OrgReminders, "sesao-sc")
        assert (kept.reminders_at, kept.reminder_days) == (None, None)
