"""An outsourced development (onesqa/aqa-system-dev, the outsource path) from the request to its
close, with procurement alongside: staff act on the case through the assignment API while
procurement staff, through the procurement API, open the project for the case, write the terms of
reference, gather three quotes (the reference price is their median), get the approvals, appoint
the committees, choose the method and sign a contract of three milestones. The case waits at
``deliver-milestones``; the milestones are delivered (one late: its fine comes off its payment),
evidenced, accepted by every inspection committee member and paid, each of these appearing on the
case (its trail's ``procurement`` entries, from procurement's events); the last payment moves the
case on (``procurement.contract_completed`` through the outbox, Redis and the inbox: ``drain``)
to the handover: the acceptance and the payment recorded in procurement are not asked again.

A second test finishes the contract before the case reaches ``deliver-milestones``: the case goes
on as soon as it gets there."""
from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from statistics import median

import pytest

from services.procurement.tests.conftest import procurement_people  # noqa: F401  (the fixture)
from shared.i18n import BANGKOK
from sopdesk.testing import drain
from sopdesk.testing_actions import action_form

PDF = b"%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
CENT = Decimal("0.01")


def today():
    return datetime.now(timezone.utc).astimezone(BANGKOK).date()


def tax_id(first12: str) -> str:
    """A Thai tax id with its check digit (weights 13 down to 2, mod 11)."""
    total = sum(int(d) * (13 - i) for i, d in enumerate(first12))
    return first12 + str((11 - total % 11) % 10)


class Desk:
    """The HTTP calls of the test, each checked for the status it must answer."""

    def __init__(self, client, people):
        self.client, self.people = client, people

    def get(self, path, who="u-head", status=200):
        response = self.client.get(path, headers=self.people.headers(who))
        assert response.status_code == status, (path, response.get_json())
        return response.get_json()

    def send(self, method, path, who, body=None, data=None, status=200):
        headers = self.people.headers(who)
        if data is not None:
            response = self.client.open(path, method=method, data=data, headers=headers)
        else:
            response = self.client.open(path, method=method, json=body, headers=headers)
        assert response.status_code == status, (method, path, body, response.get_json())
        return response.get_json()

    def post(self, path, who, body=None, data=None, status=200):
        return self.send("POST", path, who, body, data, status)

    # --- the case ---
    def file_request(self) -> str:
        body = {"sop": "onesqa/aqa-system-dev", "requester_name": "คุณวิไล ประเมินดี",
                "requester_email": "wilai@onesqa.example", "requester_unit": "สำนักประเมินคุณภาพ",
                "subject": "ระบบติดตามผลการประเมินภายนอก", "details": "ต้องการระบบติดตามผลการประเมินรอบห้า",
                "consent": True, "problem": "ติดตามผลการประเมินด้วยกระดาษ ช้าและตกหล่น",
                "users": "เจ้าหน้าที่สำนักประเมิน 40 คน"}
        response = self.client.post("/intake/requests", data=json.dumps(body),
                                    headers={"Content-Type": "application/json"})
        assert response.status_code == 201, response.get_json()
        return response.get_json()["tracking_code"]

    def case(self, code):
        return self.get(f"/assignment/cases/{code}")

    def act(self, code, who, step, outcome, documents=()):
        case = self.case(code)
        assert case["current_step"] == step, (case["current_step"], step)
        body = {"step": step, "outcome": outcome, "note": "ดำเนินการแล้ว",
                "documents": [{"key": key, "name": f"{key}.pdf", "ref": f"paperless/{key}"} for key in documents]}
        if documents:  # documents are files: a multipart form, as the desk sends it
            self.post(f"/assignment/cases/{code}/actions", who, data=action_form(body))
        else:
            self.post(f"/assignment/cases/{code}/actions", who, body)
        drain()


def walk_case_to(desk: Desk, code: str, last_step: str, on_step=None) -> None:
    """Act on the outsource path up to and including ``last_step``; ``on_step(step)`` runs the
    procurement work that belongs with each step before staff finish it."""
    path = [("value-review", "u-director", "approve", ()),
            ("gather-requirements", "u-officer", "done", ()),
            ("analyse", "u-officer", "done", ("analysis",)),
            ("build-or-buy", "u-deputy-director", "outsource", ()),
            ("write-tor", "u-officer", "done", ("tor",)),
            # the director approves the principle and budget, then the deputy the TOR and reference price
            ("approve-budget", "u-director", "approve", ("budget-memo",)),
            ("approve-budget", "u-deputy-director", "approve", ("tor-price-memo",)),
            ("invite-vendors", "u-officer", "done", ("quotations",)),
            ("select-vendor", "u-proccom", "done", ("selection-report",)),
            ("contract", "u-supplies", "done", ("contract",))]
    previous = None
    for step, who, outcome, documents in path:
        if on_step is not None and step != previous:
            on_step(step)
        previous = step
        desk.act(code, who, step, outcome, documents)
        if step == last_step:
            return


# --- procurement's side, through its API ---------------------------------------------------------------------


def open_project(desk: Desk, code: str) -> dict:
    """The project for the case, its TOR, three vendors and their quotes."""
    project = desk.post("/procurement/projects", "u-supplies", {
        "title": "จ้างพัฒนาระบบติดตามผลการประเมินภายนอก", "purpose": f"ตามคำขอ {code}", "kind": "hire",
        "budget": "480000.00", "tracking_code": code, "officer": "u-officer",
        "officer_contact": {"name": "u-officer", "email": "u-officer@office.example", "language": "th"}}, status=201)
    pid = project["id"]
    project = desk.post(f"/procurement/projects/{pid}/documents", "u-supplies",
                        data={"kind": "tor", "files": (io.BytesIO(PDF), "TOR ระบบติดตามผล.pdf")}, status=201)
    assert project["stage"] == "quotes"  # the first TOR moves a draft on
    vendors = []
    for n, (name, amount) in enumerate([("บริษัท โค้ดดี จำกัด", "450000.00"), ("บริษัท ระบบไทย จำกัด", "420000.00"),
                                        ("บริษัท ดิจิทัลพลัส จำกัด", "470000.00")]):
        vendor = desk.post("/procurement/vendors", "u-supplies", {
            "name": name, "tax_id": tax_id(f"01055{n + 1}1234567"[:12]), "language": "th",
            "contacts": [{"name": f"ผู้ประสานงาน {n + 1}", "email": f"contact{n + 1}@vendor.example",
                          "emergency": True}]}, status=201)
        vendors.append(vendor["id"])
        project = desk.post(f"/procurement/projects/{pid}/quotes", "u-supplies",
                            {"vendor_id": vendor["id"], "amount": amount,
                             "received_on": (today() - timedelta(days=120)).isoformat()}, status=201)
    amounts = [Decimal(q["amount"]) for q in project["quotes"]]
    assert len(amounts) == 3
    assert Decimal(project["reference_price"]) == median(amounts)  # 450,000.00: the middle one
    return {"id": pid, "vendors": vendors}


def approve_and_appoint(desk: Desk, pid: int) -> None:
    """Approval of principle and budget, the TOR and the reference price; the committees; the method."""
    desk.post(f"/procurement/projects/{pid}/stage", "u-supplies", {"stage": "approval"})
    desk.post(f"/procurement/projects/{pid}/approvals", "u-director",
              {"kind": "principle-budget", "decision": "approved", "note": "อนุมัติหลักการและงบประมาณ"}, status=201)
    desk.post(f"/procurement/projects/{pid}/approvals", "u-deputy-director",
              {"kind": "tor", "decision": "approved"}, status=201)
    desk.post(f"/procurement/projects/{pid}/approvals", "u-deputy-director",
              {"kind": "reference-price", "decision": "approved"}, status=201)
    project = desk.post(f"/procurement/projects/{pid}/stage", "u-supplies", {"stage": "procurement"})
    assert project["stage"] == "procurement"
    for kind, members in [("tor", ["u-torcom"]), ("procurement", ["u-proccom"]),
                          ("inspection", ["u-inspect1", "u-inspect2", "u-inspect3"])]:
        desk.send("PUT", f"/procurement/projects/{pid}/committees/{kind}", "u-supplies", {
            "order_ref": f"คำสั่งที่ {kind}/2570", "appointed_on": (today() - timedelta(days=110)).isoformat(),
            "members": [{"username": u, "name": f"กรรมการ {u}", "email": f"{u}@office.example",
                         "position": "chair" if i == 0 else "member"} for i, u in enumerate(members)]})
    project = desk.send("PATCH", f"/procurement/projects/{pid}", "u-supplies", {"method": "specific"})
    assert project["method"] == "specific"


def sign_contract(desk: Desk, pid: int, vendor_id: int, milestones: list[dict], number: str) -> dict:
    t = today()
    amount = sum((Decimal(m["amount"]) for m in milestones), Decimal("0"))
    contract = desk.post("/procurement/contracts", "u-supplies", {
        "project_id": pid, "vendor_id": vendor_id, "number": number, "amount": str(amount),
        "signed_on": (t - timedelta(days=100)).isoformat(), "starts_on": (t - timedelta(days=100)).isoformat(),
        "ends_on": (t + timedelta(days=30)).isoformat(), "warranty_months": 12, "fine_rate_percent": "0.1",
        "fine_basis": "milestone", "documents": [{"ref": f"สัญญาเลขที่ {number}", "name": "สัญญาจ้าง"}],
        "milestones": milestones}, status=201)
    assert desk.get(f"/procurement/projects/{pid}")["stage"] == "contract"
    return contract


def finish_milestone(desk: Desk, contract: dict, milestone: dict, delivered_on, members) -> dict:
    base = f"/procurement/contracts/{contract['id']}/milestones/{milestone['id']}"
    delivered = desk.post(f"{base}/delivery", "u-supplies", data={
        "delivered_on": delivered_on.isoformat(), "note": f"ส่งมอบ{milestone['title']}",
        "documents": (io.BytesIO(PDF), f"ส่งมอบงวด {milestone['seq']}.pdf")})
    assert delivered["state"] == "delivered"
    desk.post(f"{base}/evidence", "u-officer", data={"documents": (io.BytesIO(PDF), "ใบเซ็นชื่อผู้เข้าอบรม.pdf")},
              status=201)
    for member in members:
        decided = desk.post(f"{base}/acceptance", member, {"decision": "accepted", "note": "ตรวจรับถูกต้อง"})
    assert decided["state"] == "accepted" and decided["accepted_on"] == today().isoformat()
    paid = desk.post(f"{base}/payment", "u-finance", {"paid_on": today().isoformat(),
                                                       "payment_ref": f"ฎีกาเบิกจ่าย {milestone['seq']}/2570"})
    assert paid["state"] == "paid"
    return paid


MEMBERS = ["u-inspect1", "u-inspect2", "u-inspect3"]


@pytest.mark.org("onesqa")  # the case's organisation: its staff see and work it
def test_an_outsourced_development_runs_from_request_to_close(client, procurement_people):
    desk = Desk(client, procurement_people)
    code = desk.file_request()
    drain()
    state: dict = {}

    def procurement_work(step: str) -> None:
        if step == "write-tor":
            state["project"] = open_project(desk, code)
        elif step == "approve-budget":
            approve_and_appoint(desk, state["project"]["id"])
        elif step == "contract":
            t = today()
            state["contract"] = sign_contract(desk, state["project"]["id"], state["project"]["vendors"][0], [
                {"title": "งวดที่ 1 วิเคราะห์และออกแบบระบบ", "deliverables": "เอกสารวิเคราะห์ ออกแบบ",
                 "due_on": (t - timedelta(days=60)).isoformat(), "amount": "135000.00"},
                {"title": "งวดที่ 2 พัฒนาและทดสอบระบบ", "deliverables": "ระบบบนเครื่องทดสอบ ผลการทดสอบ",
                 "due_on": (t - timedelta(days=30)).isoformat(), "amount": "180000.00"},
                {"title": "งวดที่ 3 ติดตั้ง อบรม และส่งมอบ",
                 "deliverables": "ระบบใช้งานจริง คู่มือ ใบเซ็นชื่อผู้เข้าอบรม",
                 "due_on": (t - timedelta(days=5)).isoformat(), "amount": "135000.00"}], number="21/2570")

    walk_case_to(desk, code, "contract", on_step=procurement_work)
    # the case waits on the contract; procurement linked the wait to the project
    case = desk.case(code)
    assert case["current_step"] == "deliver-milestones" and case["steps"][-1]["waiting_on"] == "procurement-contract"
    pid = state["project"]["id"]
    link = desk.get(f"/procurement/projects/{pid}")["case"]
    assert link["step"] == "deliver-milestones" and link["waiting_on"] == "procurement-contract"
    assert link["notified_at"] is None

    contract = state["contract"]
    m1, m2, m3 = contract["milestones"]
    t = today()
    late_days = 3
    plan = [(m1, t - timedelta(days=61)), (m2, t - timedelta(days=30 - late_days)), (m3, t - timedelta(days=5))]
    for n, (milestone, delivered_on) in enumerate(plan):
        paid = finish_milestone(desk, contract, milestone, delivered_on, MEMBERS)
        # the fine, from the contract's rule: 0.1% of the milestone a calendar day late, in satang
        days = max((delivered_on - datetime.fromisoformat(milestone["due_on"]).date()).days, 0)
        fine = (Decimal(milestone["amount"]) * Decimal("0.1") / 100).quantize(CENT, rounding=ROUND_HALF_UP) * days
        assert paid["days_late"] == days and Decimal(paid["fine_amount"]) == fine
        assert Decimal(paid["paid_amount"]) == Decimal(milestone["amount"]) - fine
        assert len(paid["acceptances"]) == 3 and {a["decision"] for a in paid["acceptances"]} == {"accepted"}
        assert sorted(d["kind"] for d in paid["documents"]) == ["delivery", "evidence"]
        drain()
        if n < 2:  # not the last: the case still waits
            assert desk.case(code)["current_step"] == "deliver-milestones"
    assert plan[1][0]["id"] == m2["id"] and desk.get(
        f"/procurement/contracts/{contract['id']}")["milestones"][1]["days_late"] == late_days
    # 3 days late on 180,000.00 at 0.1% a day
    read = desk.get(f"/procurement/contracts/{contract['id']}", who="u-finance")
    assert read["status"] == "completed" and read["project"]["stage"] == "completed"
    assert Decimal(read["totals"]["fines"]) == Decimal("180000.00") * Decimal("0.001") * late_days
    assert Decimal(read["totals"]["paid"]) == Decimal("450000.00") - Decimal(read["totals"]["fines"])

    # the last payment moved the case past deliver-milestones, straight to the handover
    case = desk.case(code)
    assert case["current_step"] == "handover"
    assert desk.get(f"/procurement/projects/{pid}")["case"]["notified_at"] is not None
    # what procurement recorded is on the case, once each: the contract, and per milestone its
    # delivery, its acceptance by the whole committee and its payment
    news = [(t["data"]["event"], (t["data"].get("milestone") or {}).get("seq"))
            for t in case["trail"] if t["kind"] == "procurement"]
    assert news == [("procurement.contract_signed", None)] + [
        (f"procurement.milestone_{what}", seq) for seq in (1, 2, 3) for what in ("delivered", "accepted", "paid")]
    paid = [t["data"] for t in case["trail"] if t["kind"] == "procurement"
            and t["data"]["event"] == "procurement.milestone_paid"]
    assert [p["milestone"]["paid_amount"] for p in paid] == [
        desk.get(f"/procurement/contracts/{contract['id']}")["milestones"][i]["paid_amount"] for i in range(3)]
    assert all(t["actor"] == "procurement" for t in case["trail"] if t["kind"] == "procurement")
    desk.act(code, "u-officer", "handover", "done")
    final = desk.case(code)
    assert final["status"] == "closed" and final["result"] == "completed"
    assert [s["step"] for s in final["steps"]] == [
        "kickoff-meeting", "value-review", "gather-requirements", "analyse", "build-or-buy", "write-tor",
        "approve-budget", "invite-vendors", "select-vendor", "contract", "deliver-milestones", "handover"]
    waited = next(s for s in final["steps"] if s["step"] == "deliver-milestones")
    assert waited["actor"] == "procurement" and waited["outcome"] == "accepted"
    # the requester's tracking view followed it to the end
    from services.intake.handlers.requests import find_request

    assert find_request(code).status == "closed"


@pytest.mark.org("onesqa")  # the case's organisation: its staff see and work it
def test_a_contract_finished_before_the_case_waits_moves_it_on_arrival(client, procurement_people):
    desk = Desk(client, procurement_people)
    code = desk.file_request()
    drain()
    state: dict = {}

    def procurement_work(step: str) -> None:
        if step == "write-tor":
            state["project"] = open_project(desk, code)
        elif step == "approve-budget":
            approve_and_appoint(desk, state["project"]["id"])
        elif step == "contract":
            # the whole contract is signed, delivered, accepted and paid before staff finish the step
            t = today()
            contract = sign_contract(desk, state["project"]["id"], state["project"]["vendors"][1], [
                {"title": "งวดเดียว", "deliverables": "ระบบพร้อมใช้", "due_on": (t - timedelta(days=10)).isoformat(),
                 "amount": "420000.00"}], number="22/2570")
            finish_milestone(desk, contract, contract["milestones"][0], t - timedelta(days=10), MEMBERS)
            drain()
            assert desk.get(f"/procurement/contracts/{contract['id']}")["status"] == "completed"
            assert desk.case(code)["current_step"] == "contract"  # nothing to move yet

    walk_case_to(desk, code, "contract", on_step=procurement_work)
    # arriving at deliver-milestones, the case learnt at once that the contract is done
    case = desk.case(code)
    assert case["current_step"] == "handover", case["current_step"]
    waited = next(s for s in case["steps"] if s["step"] == "deliver-milestones")
    assert waited["status"] == "done" and waited["actor"] == "procurement"
    # the contract's news came while the case was at its contract step: kept there
    assert {t["step"] for t in case["trail"] if t["kind"] == "procurement"} == {"contract"}
    drain()  # nothing more comes of it
    assert desk.case(code)["current_step"] == "handover"
