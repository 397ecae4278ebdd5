"""Server and network maintenance through a contractor (onesqa/server-network-maintenance) with
procurement alongside, the four services together (events through the outbox, Redis and each
inbox: ``drain``). The manual's step 8 (seeds/004, คณะกรรมการตรวจรับพัสดุ): "บริหารจัดการและติดตามการ
ปฏิบัติงานของผู้รับจ้าง ๑) เมื่อใกล้ถึงกำหนดระยะเวลาในการปฏิบัติงาน ... แจ้งเตือนการส่งมอบงาน ๒) หากเกิดกรณีฉุกเฉิน
ที่ส่งผลให้ระบบไม่สามารถใช้งานได้ ... ประสานงานไปที่ผู้รับจ้างทันที ๓) ตรวจสอบเอกสารการส่งมอบงานของผู้รับจ้าง".

Staff take the yearly plan to ``procure``; procurement staff open the project for the case (its
tracking code), gather quotes, get it approved and sign a two-milestone contract. The case waits on
the contract at ``monitor-contract``: procurement's reminder before a delivery date, its overdue
notice and an emergency reported to the contractor appear on the case (its trail, the desk's case
page), each once; the case goes on by itself, to its close, when the last milestone is accepted and
paid."""
from __future__ import annotations

import io
import json
import re
from datetime import datetime, time, timedelta, timezone

import pytest

from services.assignment.tests.conftest import PASSWORD
from services.procurement.handlers import reminders
from services.procurement.adapters.bus import bus as procurement_bus
from services.procurement.tests.conftest import procurement_people  # noqa: F401  (the fixture)
from shared.i18n import BANGKOK
from sopdesk.testing import drain
from tests.test_procurement_outsourced import MEMBERS, Desk, approve_and_appoint, finish_milestone, open_project, \
    sign_contract, today

PDF = b"%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
PATH = [("annual-plan", "u-head", ("annual-plan",)), ("draft-spec", "u-subhead", ("draft-tor",)),
        ("vendor-quotes", "u-subhead", ("principle-memo", "draft-scope", "quotes")),
        ("approve-principle", "u-director", ()), ("tor-committee", "u-torcom", ("scope-memo",)),
        ("approve-scope", "u-deputy-director", ()), ("procure", "u-supplies", ("contract",))]
OUTCOME = {"approve-principle": "approve", "approve-scope": "approve"}


def file_planned_work(desk: Desk) -> str:
    """The yearly maintenance, opened by the head (no requester files it)."""
    body = {"sop": "onesqa/server-network-maintenance", "requester_name": "หัวหน้าภารกิจ ภทส.",
            "requester_email": "head@onesqa.example", "requester_unit": "ภทส.",
            "subject": "บำรุงรักษาเครื่องแม่ข่ายและเครือข่าย ปีงบประมาณ 2570", "details": "ตามแผนประจำปี",
            "consent": True}
    response = desk.client.post("/intake/requests", data=json.dumps(body),
                                headers={"Content-Type": "application/json", **desk.people.headers("u-head")})
    assert response.status_code == 201, response.get_json()
    drain()
    return response.get_json()["tracking_code"]


def news(case: dict) -> list[dict]:
    """What procurement said of the contract, as the case keeps it (its trail)."""
    return [{"step": t["step"], "note": t["note"], **t["data"]} for t in case["trail"] if t["kind"] == "procurement"]


def desk_page(client, code: str, lang: str) -> str:
    form = client.get("/assignment/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = client.post("/assignment/login", data={"username": "u-head", "password": PASSWORD,
                                                      "csrf_token": token})
    assert response.status_code == 302
    page = client.get(f"/assignment/desk/cases/{code}?lang={lang}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


@pytest.mark.org("onesqa")
def test_maintenance_follows_its_contract_reminders_overdue_and_emergencies_appear_on_the_case(
        client, procurement_people):
    desk = Desk(client, procurement_people)
    code = file_planned_work(desk)
    state: dict = {}
    # the day the reminders run: the next working day (procurement's calendar), at 09:00 Bangkok
    with procurement_bus.session() as session:
        cal = reminders.calendar(session)
    run_day = cal.next_working_day(today() + timedelta(days=1))
    late_due = run_day - timedelta(days=3)  # milestone 1: due three days before, not delivered
    soon_due = reminders.next_working_day(cal, run_day)  # milestone 2: due the next working day

    for step, who, documents in PATH:
        if step == "procure":  # supplies run the procurement in procurement, for this case
            state["project"] = open_project(desk, code)
            approve_and_appoint(desk, state["project"]["id"])
            state["contract"] = sign_contract(desk, state["project"]["id"], state["project"]["vendors"][0], [
                {"title": "งวดที่ 1 บำรุงรักษาไตรมาสแรก", "deliverables": "รายงานการบำรุงรักษา",
                 "due_on": late_due.isoformat(), "amount": "120000.00"},
                {"title": "งวดที่ 2 บำรุงรักษาไตรมาสที่สอง", "deliverables": "รายงานการบำรุงรักษา",
                 "due_on": soon_due.isoformat(), "amount": "120000.00"}], number="31/2570")
            drain()  # the case hears of the contract while at procure
        desk.act(code, who, step, OUTCOME.get(step, "done"), documents)

    case = desk.case(code)
    assert case["current_step"] == "monitor-contract" and case["steps"][-1]["waiting_on"] == "procurement-contract"
    link = desk.get(f"/procurement/projects/{state['project']['id']}")["case"]
    assert (link["step"], link["waiting_on"]) == ("monitor-contract", "procurement-contract")
    assert [n["event"] for n in news(case)] == ["procurement.contract_signed"]  # signed while at procure
    assert news(case)[0]["step"] == "procure" and news(case)[0]["contract"] == "31/2570"

    # "เมื่อใกล้ถึงกำหนดระยะเวลา ... แจ้งเตือนการส่งมอบงาน": procurement's morning run
    sent = reminders.send_due_notices(datetime.combine(run_day, time(9, 0), BANGKOK))
    assert (sent["due"], sent["overdue"]) == (1, 1)
    drain()
    reminders.send_due_notices(datetime.combine(run_day, time(9, 30), BANGKOK))  # a second run tells nobody
    drain()
    told = news(desk.case(code))[1:]
    assert sorted((n["event"], n["milestone"]["seq"]) for n in told) == [
        ("procurement.milestone_due", 2), ("procurement.milestone_overdue", 1)]
    due = next(n for n in told if n["event"] == "procurement.milestone_due")
    overdue = next(n for n in told if n["event"] == "procurement.milestone_overdue")
    assert due["days_ahead"] == 1 and due["milestone"]["due_on"] == soon_due.isoformat()
    assert overdue["days_late"] == (run_day - late_due).days  # calendar days, the fine's count
    assert {n["step"] for n in told} == {"monitor-contract"}

    # "หากเกิดกรณีฉุกเฉินที่ส่งผลให้ระบบไม่สามารถใช้งานได้ ... ประสานงานไปที่ผู้รับจ้างทันที"
    incident = desk.post(f"/procurement/contracts/{state['contract']['id']}/incidents", "u-officer",
                         {"severity": "critical", "description": "เครื่องแม่ข่ายฐานข้อมูลหยุดทำงาน"}, status=201)
    drain()
    emergency = news(desk.case(code))[-1]
    assert emergency["event"] == "procurement.incident_reported" and emergency["incident"]["severity"] == "critical"
    assert emergency["note"] == "เครื่องแม่ข่ายฐานข้อมูลหยุดทำงาน" == incident["description"]
    page = desk_page(client, code, "th")
    assert page.count("ความคืบหน้าจากงานพัสดุ") == 4 and "เครื่องแม่ข่ายฐานข้อมูลหยุดทำงาน" in page
    assert desk.case(code)["current_step"] == "monitor-contract"  # news does not move the case

    # "ตรวจสอบเอกสารการส่งมอบงาน": both milestones delivered, accepted and paid in procurement
    t = today()
    m1, m2 = state["contract"]["milestones"]
    finish_milestone(desk, state["contract"], m1, min(t, run_day), MEMBERS)
    drain()
    assert desk.case(code)["current_step"] == "monitor-contract"  # one milestone left
    finish_milestone(desk, state["contract"], m2, t, MEMBERS)
    drain()
    final = desk.case(code)
    assert final["status"] == "closed" and final["result"] == "completed"
    waited = final["steps"][-1]
    assert (waited["step"], waited["actor"], waited["status"]) == ("monitor-contract", "procurement", "done")
    events = [n["event"] for n in news(final)]
    for what in ("delivered", "accepted", "paid"):
        assert events.count(f"procurement.milestone_{what}") == 2
    assert events.count("procurement.milestone_overdue") == 1 and events.count("procurement.milestone_due") == 1
