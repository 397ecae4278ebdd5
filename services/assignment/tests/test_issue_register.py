"""ONESQA's equipment support ends with "บันทึกในทะเบียนบันทึกปัญหาการให้บริการสารสนเทศ" (record in the
service issue register, ``log-issue``): the register is the list of the cases logged at that step
(``GET /assignment/registers/onesqa/service-issues``), newest first, filterable by the day they
were logged (Buddhist-era dates read), for the organisation's staff only; reading it is logged."""
from __future__ import annotations

import json
import re
from datetime import datetime

import pytest
from sqlalchemy import select

from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import AccessLog, Case, CaseStep
from shared.i18n import BANGKOK
from sopdesk.testing import drain, make_staff

pytestmark = pytest.mark.org("onesqa")
REGISTER = "/assignment/registers/onesqa/service-issues"


def file(client, subject: str) -> str:
    response = client.post("/intake/requests", data=json.dumps({
        "sop": "onesqa/equipment-support", "requester_name": f"ผู้แจ้ง {subject}", "requester_email": "u@onesqa.example",
        "requester_unit": "กลุ่มงานทะเบียน", "subject": subject, "details": "รายละเอียด", "consent": True,
        "problem": subject}), headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.get_json()
    drain()
    return response.get_json()["tracking_code"]


def act(client, people, code, who, body):
    response = client.post(f"/assignment/cases/{code}/actions", data=json.dumps(body),
                           headers={"Content-Type": "application/json", **people.headers(who)})
    assert response.status_code == 200, (body, response.get_json())
    drain()


def work_to(client, people, code, last: str) -> None:
    act(client, people, code, "u-head", {"step": "assign", "outcome": "done", "values": {"estimate_days": 1}})
    for step in ("repair", "notify-done", "log-issue"):
        act(client, people, code, "u-officer", {"step": step, "outcome": "done", "message": "ซ่อมเรียบร้อยแล้ว",
                                                 "note": f"บันทึก {step}"})
        if step == last:
            return


def logged_on(code: str, day: datetime) -> None:
    """The day the case was logged (its log-issue step done): set for the test's dates."""
    with bus.session() as session:
        row = session.scalar(select(CaseStep).join(Case, Case.id == CaseStep.case_id)
                             .where(Case.tracking_code == code, CaseStep.step == "log-issue"))
        row.completed_at = day
        session.commit()


def test_the_service_issue_register_lists_the_cases_logged_at_log_issue(client, people):
    november, december = file(client, "จอภาพกะพริบ"), file(client, "แป้นพิมพ์เสีย")
    still_open = file(client, "เมาส์ไม่ทำงาน")
    work_to(client, people, november, "log-issue")
    work_to(client, people, december, "log-issue")
    work_to(client, people, still_open, "repair")  # not logged in the register yet
    logged_on(november, datetime(2026, 11, 2, 10, 0, tzinfo=BANGKOK))
    logged_on(december, datetime(2026, 12, 1, 9, 30, tzinfo=BANGKOK))

    response = client.get(REGISTER, headers=people.headers("u-officer"))
    assert response.status_code == 200, response.get_json()
    register = response.get_json()
    assert register["title"]["th"] == "ทะเบียนบันทึกปัญหาการให้บริการสารสนเทศ"
    assert register["steps"] == ["onesqa/equipment-support/log-issue"]
    assert register["total"] == 2 and [i["tracking_code"] for i in register["items"]] == [december, november]
    entry = register["items"][1]
    assert entry["subject"] == "จอภาพกะพริบ" and entry["requester_name"] == "ผู้แจ้ง จอภาพกะพริบ"
    assert entry["logged_by"] == "u-officer" and entry["note"] == "บันทึก log-issue" and entry["case_status"] == "closed"

    # November 2569 in the Buddhist era: only the case logged on 2 November
    response = client.get(f"{REGISTER}?logged_from=01/11/2569&logged_to=30/11/2569", headers=people.headers("u-head"))
    assert [i["tracking_code"] for i in response.get_json()["items"]] == [november]
    assert response.get_json()["total"] == 1
    response = client.get(f"{REGISTER}?logged_from=2026-12-01", headers=people.headers("u-head"))
    assert [i["tracking_code"] for i in response.get_json()["items"]] == [december]
    with bus.session() as session:
        logged = session.scalars(select(AccessLog.record_id).where(AccessLog.purpose == "register onesqa/service-issues"))
        assert {november, december} <= set(logged)


def test_the_register_is_the_organisations_own_and_bad_days_are_refused(client, people):
    _, other = make_staff("up-officer", ["officer"], "up")
    assert client.get(REGISTER, headers={"Authorization": f"Bearer {other}"}).status_code == 404
    assert client.get("/assignment/registers/onesqa/no-such", headers=people.headers("u-officer")).status_code == 404
    response = client.get(f"{REGISTER}?logged_from=31/02/2569", headers=people.headers("u-officer"))
    assert response.status_code == 422 and "logged_from" in json.dumps(response.get_json())
    response = client.get(f"{REGISTER}?logged_from=02/12/2569&logged_to=01/12/2569", headers=people.headers("u-officer"))
    assert response.status_code == 422


def test_the_register_is_a_page_of_the_desk_in_thai_as_its_book_is_kept(client, people):
    """The same register on the desk (``/assignment/desk/registers/onesqa/service-issues``), in Thai:
    numbered entries newest first, the day logged in the Buddhist era, who reported it and how,
    who logged it by name, the note; narrowed by days typed in the Buddhist era, a wrong one
    refused beside its field; linked from the case list; another organisation's not found."""
    from shared import i18n

    november, december = file(client, "จอภาพกะพริบ"), file(client, "แป้นพิมพ์เสีย")
    work_to(client, people, november, "log-issue")
    work_to(client, people, december, "log-issue")
    logged_on(november, datetime(2026, 11, 2, 10, 0, tzinfo=BANGKOK))
    logged_on(december, datetime(2026, 12, 1, 9, 30, tzinfo=BANGKOK))
    headers = people.headers("u-officer")
    page = "/assignment/desk/registers/onesqa/service-issues"

    response = client.get(f"{page}?lang=th", headers=headers)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "ทะเบียนบันทึกปัญหาการให้บริการสารสนเทศ" in html
    rows = re.findall(r'<tr data-code="([^"]+)">(.*?)</tr>', html, re.S)
    assert [code for code, _ in rows] == [december, november]
    first, second = rows[0][1], rows[1][1]
    assert re.search(r'class="number"[^>]*>1<', first) and re.search(r'class="number"[^>]*>2<', second)
    assert "2 พฤศจิกายน 2569" in second and "1 ธันวาคม 2569" in first  # the Buddhist era
    assert i18n.translate("channel.api", "th") in second and "บันทึก log-issue" in second  # filed as JSON
    assert "ผู้แจ้ง จอภาพกะพริบ" in second and "u-officer" in second  # (the test's people go by their usernames)

    narrowed = client.get(f"{page}?lang=th&logged_from=01/11/2569&logged_to=30/11/2569", headers=headers)
    assert re.findall(r'<tr data-code="([^"]+)">', narrowed.get_data(as_text=True)) == [november]
    wrong = client.get(f"{page}?lang=th&logged_from=31/02/2569", headers=headers)
    assert wrong.status_code == 422
    assert re.search(r'id="error-logged_from">วันที่ไม่ถูกต้อง', wrong.get_data(as_text=True))

    listed = client.get("/assignment/desk/cases?lang=th", headers=headers).get_data(as_text=True)
    assert 'href="/assignment/desk/registers/onesqa/service-issues"' in listed
    _, outsider = make_staff("up-officer", ["officer"], "up")
    assert client.get(page, headers={"Authorization": f"Bearer {outsider}"}).status_code == 404
