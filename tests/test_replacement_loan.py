"""ONESQA's equipment support: "จัดเครื่องทดแทนให้ใช้ชั่วคราวจนกว่าจะซ่อมเสร็จ" (lend a replacement
machine until the repair is done) is a loan in procurement's asset register, not a text: the
officer names the replacement's asset tag at ``lend-replacement``, assignment says so
(``case.asset_lent``), procurement records the loan to the requester against the case (the
machine on loan, replacing theirs), and records its return when the case closes. Over HTTP and
the real broker, through intake, assignment and procurement."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from services.procurement.adapters.bus import bus as procurement_bus
from services.procurement.adapters.models import AssetLoan
from services.procurement.tests.conftest import procurement_people  # noqa: F401  (the shared staff fixture)
from sopdesk.testing import drain

pytestmark = pytest.mark.org("onesqa")


def post(client, people, who, path, body):
    response = client.post(path, data=json.dumps(body),
                           headers={"Content-Type": "application/json", **people.headers(who)})
    assert response.status_code in (200, 201), (path, body, response.get_json())
    return response.get_json()


def asset(client, people, tag) -> dict:
    response = client.get(f"/procurement/assets/{tag}", headers=people.headers("u-supplies"))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_replacement_machine_is_a_loan_in_the_register_until_the_case_closes(client, procurement_people):
    people = procurement_people
    drain()  # the accounts' announcements: procurement knows their organisation
    post(client, people, "u-supplies", "/procurement/assets", {"tag": "ONESQA-NB-SPARE-1", "kind": "notebook"})
    post(client, people, "u-supplies", "/procurement/assets", {"tag": "ONESQA-PC-0042", "kind": "computer"})
    response = client.post("/intake/requests", data=json.dumps({
        "sop": "onesqa/equipment-support", "requester_name": "นางสาวมาลี ตั้งใจ", "requester_email": "malee@onesqa.example",
        "requester_unit": "กลุ่มงานประเมินคุณภาพ", "subject": "เครื่องคอมพิวเตอร์เปิดไม่ติด", "details": "กดปุ่มแล้วไม่มีไฟ",
        "consent": True, "asset_tag": "ONESQA-PC-0042", "problem": "เปิดไม่ติด"}),
        headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.get_json()
    code = response.get_json()["tracking_code"]
    drain()

    actions = f"/assignment/cases/{code}/actions"
    post(client, people, "u-head", actions, {"step": "assign", "outcome": "done", "values": {"estimate_days": 2}})
    drain()
    post(client, people, "u-officer", actions, {"step": "lend-replacement", "outcome": "done",
                                                "message": "จัดเครื่องโน้ตบุ๊กทดแทนให้แล้ว",
                                                "values": {"loan_asset_tag": "ONESQA-NB-SPARE-1"}})
    drain()

    lent = asset(client, people, "ONESQA-NB-SPARE-1")
    assert lent["status"] == "on_loan"
    loan = lent["open_loan"]
    assert loan["tracking_code"] == code and loan["borrower"] == "นางสาวมาลี ตั้งใจ"
    assert loan["borrower_unit"] == "กลุ่มงานประเมินคุณภาพ" and loan["replaces_tag"] == "ONESQA-PC-0042"
    assert loan["returned_on"] is None and loan["created_by"] == "u-officer"

    for step in ("repair", "notify-done", "log-issue"):
        post(client, people, "u-officer", actions, {"step": step, "outcome": "done",
                                                    "message": "ซ่อมเสร็จแล้ว เปลี่ยนแหล่งจ่ายไฟ"})
        drain()
    case = client.get(f"/assignment/cases/{code}", headers=people.headers("u-head")).get_json()
    assert case["status"] == "closed"

    back = asset(client, people, "ONESQA-NB-SPARE-1")
    assert back["status"] == "in_use" and back["open_loan"] is None
    with procurement_bus.session() as session:
        [row] = session.scalars(select(AssetLoan).where(AssetLoan.tracking_code == code)).all()
        assert row.returned_on is not None and row.returned_on >= row.lent_on


def test_a_tag_not_in_the_register_records_no_loan_and_the_case_goes_on(client, procurement_people):
    """The register keeps only loans that can be: a mistyped tag is logged, nothing is recorded,
    and the repair goes on."""
    people = procurement_people
    drain()
    response = client.post("/intake/requests", data=json.dumps({
        "sop": "onesqa/equipment-support", "requester_name": "นายสมชาย ขยัน", "requester_email": "somchai@onesqa.example",
        "requester_unit": "กลุ่มงานการเงิน", "subject": "จอภาพไม่แสดงผล", "details": "จอดับ", "consent": True,
        "problem": "จอดับ"}), headers={"Content-Type": "application/json"})
    code = response.get_json()["tracking_code"]
    drain()
    actions = f"/assignment/cases/{code}/actions"
    post(client, people, "u-head", actions, {"step": "assign", "outcome": "done", "values": {"estimate_days": 3}})
    drain()
    post(client, people, "u-officer", actions, {"step": "lend-replacement", "outcome": "done",
                                                "message": "จัดเครื่องทดแทนให้แล้ว",
                                                "values": {"loan_asset_tag": "NO-SUCH-TAG"}})
    drain()
    with procurement_bus.session() as session:
        assert session.scalars(select(AssetLoan)).all() == []
    case = client.get(f"/assignment/cases/{code}", headers=people.headers("u-head")).get_json()
    assert case["current_step"] == "repair"
