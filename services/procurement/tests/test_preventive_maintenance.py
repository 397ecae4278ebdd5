"""ONESQA's standing duty beside equipment support: "keep a yearly preventive-maintenance plan; do
maintenance by the plan and record it", for every computer of the asset register. The pack
schedules ``onesqa/preventive-maintenance`` per asset (kind computer, every fiscal year, 1
January); procurement, whose register it is, asks intake for one case per computer and year, on
the first working day from the planned day, once however often beat runs; the case opens with
no requester, is assigned as usual and carries what the register knows of the machine."""
from __future__ import annotations

import json
import threading
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from services.assignment.adapters.bus import bus as assignment_bus
from services.assignment.adapters.models import Case, CaseStep
from services.procurement.adapters.bus import bus
from services.procurement.adapters.models import MaintenanceRun
from services.procurement.handlers import maintenance
from services.procurement.handlers.reminders import calendar
from services.procurement.tests.conftest import procurement_people  # noqa: F401  (the shared staff fixture)
from shared.i18n import BANGKOK
from sopdesk.testing import drain

pytestmark = pytest.mark.org("onesqa")
SOP = "onesqa/preventive-maintenance"


def at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=BANGKOK)


def register(client, people, tag: str, kind: str, **extra) -> None:
    response = client.post("/procurement/assets", data=json.dumps({"tag": tag, "kind": kind, **extra}),
                           headers={"Content-Type": "application/json", **people.headers("u-supplies")})
    assert response.status_code == 201, response.get_json()


def test_each_computer_of_the_register_gets_its_yearly_maintenance_case_on_the_first_working_day(
        client, procurement_people):
    people = procurement_people
    drain()  # the accounts' announcements
    for tag in ("ONESQA-PC-001", "ONESQA-PC-002"):
        register(client, people, tag, "computer")
    register(client, people, "ONESQA-PRN-001", "printer")  # not a computer: not in this plan
    register(client, people, "ONESQA-PC-OLD", "computer", status="retired")  # written off: none
    planned_on = date(2027, 1, 1)  # fiscal month 4 of 2570, day 1
    with bus.session() as session:
        cal = calendar(session)
    # 1 January is New Year's Day; 2-3 January 2027 a Saturday and a Sunday: Monday 4 January
    assert cal.holiday_name(planned_on) is not None
    assert date(2027, 1, 2).weekday() == 5 and cal.is_working_day(date(2027, 1, 4))
    expected = next(planned_on + timedelta(days=n) for n in range(10) if cal.is_working_day(planned_on + timedelta(days=n)))
    assert expected == date(2027, 1, 4)

    assert maintenance.plan_maintenance(at(date(2027, 1, 1))) == []
    assert maintenance.plan_maintenance(at(date(2027, 1, 3))) == []
    asked = maintenance.plan_maintenance(at(expected))
    assert sorted(a.asset_tag for a in asked if a.sop == SOP) == ["ONESQA-PC-001", "ONESQA-PC-002"]
    assert {a.period for a in asked} == {"2570"}
    assert maintenance.plan_maintenance(at(expected, 15)) == []  # the next beat run: nothing twice
    drain()

    codes = {a.asset_tag: a.tracking_code for a in asked}
    with assignment_bus.session() as session:
        cases = {c.tracking_code: c for c in session.scalars(select(Case).where(Case.sop == SOP))}
        assert set(cases) == set(codes.values())
        case = cases[codes["ONESQA-PC-001"]]
        [step] = session.scalars(select(CaseStep).where(CaseStep.case_id == case.id)).all()
    assert case.channel == "planned" and case.requester_name == "" and case.fields == {"asset_tag": "ONESQA-PC-001"}
    assert step.step == "maintain" and step.assignee == "u-officer"
    assert case.asset["found"] is True and case.asset["asset"]["tag"] == "ONESQA-PC-001"


def test_two_planning_runs_side_by_side_ask_once_per_computer(client, procurement_people):
    people = procurement_people
    drain()
    register(client, people, "ONESQA-PC-101", "computer")
    results: list = []
    barrier = threading.Barrier(2)

    def run():
        barrier.wait()
        results.append(maintenance.plan_maintenance(at(date(2027, 1, 4))))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(r) for r in results) == [0, 1]
    with bus.session() as session:
        assert len(session.scalars(select(MaintenanceRun)).all()) == 1
