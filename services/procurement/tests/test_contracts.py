"""Contracts and milestones: signing (and what it refuses, storing nothing), the late fine, delivery,
the inspection committee's acceptance round by round, payment, completion, incidents. Against the
real PostgreSQL through the HTTP API (``client``) and the domain functions; the vendors, projects
and committees a contract needs are made as rows here (their own APIs are tested with them).

Expected money is computed in the tests from the written rule, never copied from the code."""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import func, select

from services.procurement.adapters.bus import bus
from services.procurement.adapters.models import (Acceptance, AccessLog, Approval, Committee, CommitteeMember, Contract,
                                                  Document, Incident, Milestone, Outbox, Project, Vendor, VendorContact)
from services.procurement.handlers import contracts, projects
from shared.i18n import BANGKOK

PDF = b"%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
CENT = Decimal("0.01")


def today() -> date:
    return datetime.now(timezone.utc).astimezone(BANGKOK).date()


def expected_fine(days: int, basis: Decimal, rate_percent: Decimal, minimum: Decimal) -> Decimal:
    """The rule as the contracts write it: per day, rate % of the basis, at least the minimum,
    in satang (half up); times the calendar days late."""
    if days <= 0:
        return Decimal("0.00")
    per_day = (basis * rate_percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return max(per_day, minimum) * days


# --- rows a contract needs ---------------------------------------------------------------------------------


def make_vendor(name="บริษัท ซอฟต์แวร์ดี จำกัด", tax_id="0105551234567", contacts=None, language="th") -> int:
    with bus.session() as session:
        vendor = Vendor(org="sesao-sc", name=name, tax_id=tax_id, language=language, created_by="test")
        for c in contacts if contacts is not None else [
                {"name": "คุณเอ", "email": "support@softdee.example", "emergency": True}]:
            vendor.contacts.append(VendorContact(name=c["name"], email=c.get("email"), phone=c.get("phone"),
                                                 emergency=c.get("emergency", False), role=c.get("role", "")))
        session.add(vendor)
        session.commit()
        return vendor.id


def make_project(stage="procurement", approved=True, members=("u-inspect1", "u-inspect2"), paper_member=False,
                 tracking_code=None, case_waiting_on=None, case_step=None) -> dict:
    """A project ready (by default) for its contract: principle and budget approved, an inspection
    committee of the given members (usernames), and optionally a member who signs on paper."""
    with bus.session() as session:
        project = Project(org="sesao-sc", title="ระบบประเมินคุณภาพภายนอก AQA", kind="hire", stage=stage, budget=Decimal("500000.00"),
                          officer="u-officer", officer_contact={"name": "u-officer", "email": "o@office.example",
                                                                "language": "th"},
                          tracking_code=tracking_code, case_waiting_on=case_waiting_on, case_step=case_step,
                          created_by="test")
        session.add(project)
        session.flush()
        if approved is not None:
            session.add(Approval(project_id=project.id, kind="principle-budget",
                                 decision="approved" if approved else "rejected", decided_by="u-director",
                                 role="director"))
        ids = {}
        if members is not None:
            committee = Committee(project_id=project.id, kind="inspection", order_ref="คำสั่งที่ 1/2570")
            for n, username in enumerate(members):
                committee.members.append(CommitteeMember(username=username, name=f"กรรมการ {username}",
                                                         email=f"{username}@office.example",
                                                         position="chair" if n == 0 else "member"))
            if paper_member:
                committee.members.append(CommitteeMember(username=None, name="นายกระดาษ ลงนาม", email=None,
                                                         position="member"))
            session.add(committee)
            session.flush()
            ids = {m.username or "paper": m.id for m in committee.members}
        session.commit()
        return {"id": project.id, "members": ids}


def contract_body(project_id: int, vendor_id: int, number="15/2570", **overrides) -> dict:
    t = today()
    body = {
        "project_id": project_id, "vendor_id": vendor_id, "number": number, "amount": "300000.00",
        "signed_on": (t - timedelta(days=100)).isoformat(), "starts_on": (t - timedelta(days=95)).isoformat(),
        "ends_on": (t + timedelta(days=60)).isoformat(), "warranty_months": 12,
        "fine_rate_percent": "0.1", "fine_basis": "milestone",
        "milestones": [
            {"title": "งวดที่ 1 วิเคราะห์และออกแบบ", "deliverables": "เอกสารออกแบบ",
             "due_on": (t - timedelta(days=60)).isoformat(), "amount": "100000.00"},
            {"title": "งวดที่ 2 พัฒนาระบบ", "deliverables": "ระบบทดสอบ",
             "due_on": (t - timedelta(days=20)).isoformat(), "amount": "120000.00"},
            {"title": "งวดที่ 3 อบรมและส่งมอบ", "deliverables": "คู่มือ ใบเซ็นชื่อผู้เข้าอบรม",
             "due_on": (t + timedelta(days=30)).isoformat(), "amount": "80000.00"},
        ],
    }
    body.update(overrides)
    return body


def post(client, people, who, url, body=None, data=None):
    if data is not None:
        return client.post(url, data=data, headers=people.headers(who))
    return client.post(url, json=body, headers=people.headers(who))


def events(event_type: str) -> list[dict]:
    with bus.session() as session:
        return [row.envelope for row in session.scalars(select(Outbox).where(Outbox.type == event_type)
                                                         .order_by(Outbox.created_at))]


def count(model) -> int:
    with bus.session() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def setup(procurement_people):
    vendor_id = make_vendor()
    project = make_project(paper_member=False)
    return {"vendor_id": vendor_id, "project": project, "people": procurement_people}


@pytest.fixture
def signed(client, setup):
    people = setup["people"]
    response = post(client, people, "u-supplies", "/procurement/contracts",
                    contract_body(setup["project"]["id"], setup["vendor_id"]))
    assert response.status_code == 201, response.get_json()
    contract = response.get_json()
    return {**setup, "contract": contract, "ms": [m["id"] for m in contract["milestones"]]}


def url(contract, mid=None, action=None) -> str:
    base = f"/procurement/contracts/{contract['id']}"
    if mid is None:
        return base
    return f"{base}/milestones/{mid}" + (f"/{action}" if action else "")


def deliver(client, people, contract, mid, delivered_on: date, who="u-supplies"):
    return post(client, people, who, url(contract, mid, "delivery"),
                data={"delivered_on": delivered_on.isoformat(), "note": "ส่งมอบงาน",
                      "documents": (io.BytesIO(PDF), "หนังสือส่งมอบ.pdf")})


def add_evidence(client, people, contract, mid, who="u-officer"):
    return post(client, people, who, url(contract, mid, "evidence"),
                data={"documents": (io.BytesIO(PDF), "ใบเซ็นชื่อ.pdf")})


def decide(client, people, contract, mid, who, decision="accepted", **extra):
    return post(client, people, who, url(contract, mid, "acceptance"), {"decision": decision, **extra})


# --- the fine -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount, contract_amount, rate, basis, minimum, days", [
    ("100000.00", "300000.00", "0.1", "milestone", "0", 3),  # 0.1% of 100,000 = 100 a day
    ("100000.00", "300000.00", "0.1", "milestone", "0", 0),  # on the due date: nothing
    ("100000.00", "300000.00", "0.1", "milestone", "0", -5),  # early: nothing
    ("10000.00", "300000.00", "0.1", "milestone", "100.00", 4),  # 10 a day, the minimum 100 applies
    ("100000.00", "1000000.00", "0.1", "contract", "0", 7),  # on the whole contract: 1,000 a day
    ("12345.67", "50000.00", "0.1", "milestone", "0", 2),  # 12.34567 a day, rounded to 12.35
    ("99999.99", "99999.99", "0.25", "milestone", "0", 31),  # a month late at 0.25%
])
def test_fine_follows_the_rule(amount, contract_amount, rate, basis, minimum, days):
    due = date(2026, 3, 31)
    contract = Contract(amount=Decimal(contract_amount), fine_rate_percent=Decimal(rate), fine_basis=basis,
                        fine_min_per_day=Decimal(minimum))
    milestone = Milestone(amount=Decimal(amount), due_on=due)
    late, fine = contracts.fine_for(contract, milestone, due + timedelta(days=days))
    base = Decimal(contract_amount) if basis == "contract" else Decimal(amount)
    assert late == max(days, 0)
    assert fine == expected_fine(days, base, Decimal(rate), Decimal(minimum))
    assert fine == fine.quantize(CENT)


def test_three_days_late_on_100000_at_a_tenth_percent_is_300():
    contract = Contract(amount=Decimal("300000.00"), fine_rate_percent=Decimal("0.1"), fine_basis="milestone",
                        fine_min_per_day=Decimal("0"))
    milestone = Milestone(amount=Decimal("100000.00"), due_on=date(2026, 12, 30))
    # across the new year and a public holiday: calendar days all the same
    assert contracts.fine_for(contract, milestone, date(2027, 1, 2)) == (3, Decimal("300.00"))


# --- signing ----------------------------------------------------------------------------------------------


def test_signing_moves_the_project_and_says_so(client, signed):
    contract = signed["contract"]
    assert contract["status"] == "active" and contract["project"]["stage"] == "contract"
    assert [m["seq"] for m in contract["milestones"]] == [1, 2, 3]
    assert [m["amount"] for m in contract["milestones"]] == ["100000.00", "120000.00", "80000.00"]
    assert all(m["state"] == "pending" and m["fine_amount"] == "0.00" for m in contract["milestones"])
    ends = date.fromisoformat(contract["ends_on"])
    assert contract["warranty_ends_on"] == ends.replace(year=ends.year + 1).isoformat()  # 12 months
    with bus.session() as session:
        assert session.get(Project, signed["project"]["id"]).stage == "contract"
    [event] = events("procurement.contract_signed")
    assert event["payload"]["contract"]["number"] == "15/2570"
    assert event["payload"]["contract"]["amount"] == "300000.00"
    assert [m["amount"] for m in event["payload"]["milestones"]] == ["100000.00", "120000.00", "80000.00"]
    listed = client.get("/procurement/contracts?status=active", headers=signed["people"].headers("u-finance"))
    assert [c["number"] for c in listed.get_json()] == ["15/2570"]
    other = client.get(f"/procurement/contracts?vendor_id={signed['vendor_id'] + 999}",
                       headers=signed["people"].headers("u-finance"))
    assert other.get_json() == []


def _nothing_signed(project_id: int) -> None:
    assert count(Contract) == 0 and count(Milestone) == 0
    assert events("procurement.contract_signed") == []
    with bus.session() as session:
        assert session.get(Project, project_id).stage == "procurement"


def test_amounts_that_do_not_sum_are_refused_and_nothing_is_stored(client, setup):
    people, pid = setup["people"], setup["project"]["id"]
    body = contract_body(pid, setup["vendor_id"])
    body["milestones"][2]["amount"] = "79999.99"  # one satang short
    response = post(client, people, "u-supplies", "/procurement/contracts", body)
    assert response.status_code == 422
    assert "milestones" in response.get_json()["errors"]
    _nothing_signed(pid)


@pytest.mark.parametrize("change, field", [
    (lambda b: b["milestones"][1].update(due_on=b["milestones"][0]["due_on"]), "milestones.1.due_on"),
    (lambda b: b["milestones"][0].update(due_on=(today() - timedelta(days=200)).isoformat()), "milestones.0.due_on"),
    (lambda b: b["milestones"][0].update(share_percent="50"), "milestones.0.amount"),
    (lambda b: b.update(milestones=[]), "milestones"),
    (lambda b: b.update(amount="0"), "amount"),
    (lambda b: b.update(amount="12.345"), "amount"),
    (lambda b: b.update(fine_rate_percent="1.5"), "fine_rate_percent"),
    (lambda b: b.update(fine_rate_percent="0"), "fine_rate_percent"),
    (lambda b: b.update(fine_basis="week"), "fine_basis"),
    (lambda b: b.update(fine_min_per_day="-1"), "fine_min_per_day"),
    (lambda b: b.update(ends_on=b["starts_on"], starts_on=b["ends_on"]), "ends_on"),
    (lambda b: b.update(signed_on=(today() + timedelta(days=1)).isoformat()), "signed_on"),
    (lambda b: b.update(warranty_months=None), "warranty_months"),
    (lambda b: b.update(vendor_id=99999), "vendor_id"),
    (lambda b: b.update(project_id=99999), "project_id"),
])
def test_bad_contracts_are_refused_field_by_field(client, setup, change, field):
    body = contract_body(setup["project"]["id"], setup["vendor_id"])
    change(body)
    response = post(client, setup["people"], "u-supplies", "/procurement/contracts", body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"], response.get_json()
    _nothing_signed(setup["project"]["id"])


def test_shares_become_amounts_with_the_last_taking_the_remainder(client, setup):
    body = contract_body(setup["project"]["id"], setup["vendor_id"], amount="100000.01")
    shares = ["33.33", "33.33", "33.34"]
    for item, share in zip(body["milestones"], shares):
        del item["amount"]
        item["share_percent"] = share
    response = post(client, setup["people"], "u-supplies", "/procurement/contracts", body)
    assert response.status_code == 201, response.get_json()
    total = Decimal("100000.01")
    first = [(total * Decimal(s) / 100).quantize(CENT, rounding=ROUND_HALF_UP) for s in shares[:2]]
    expected = [*first, total - sum(first)]
    got = [Decimal(m["amount"]) for m in response.get_json()["milestones"]]
    assert got == expected and sum(got) == total
    assert [m["share_percent"] for m in response.get_json()["milestones"]] == shares


def test_shares_must_sum_to_100(client, setup):
    body = contract_body(setup["project"]["id"], setup["vendor_id"])
    for item, share in zip(body["milestones"], ["30", "30", "30"]):
        del item["amount"]
        item["share_percent"] = share
    response = post(client, setup["people"], "u-supplies", "/procurement/contracts", body)
    assert response.status_code == 422 and "milestones" in response.get_json()["errors"]
    _nothing_signed(setup["project"]["id"])


def test_warranty_months_end_on_the_last_day_of_a_shorter_month(client, setup):
    body = contract_body(setup["project"]["id"], setup["vendor_id"])
    # a contract ending on 31 January: one month of warranty ends on the last day of February
    body.update(signed_on="2026-01-05", starts_on="2026-01-05", ends_on="2026-01-31", warranty_months=1)
    for n, item in enumerate(body["milestones"]):
        item["due_on"] = f"2026-01-{10 + n * 10}"
    response = post(client, setup["people"], "u-supplies", "/procurement/contracts", body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["warranty_ends_on"] == "2026-02-28"


@pytest.mark.parametrize("project_kwargs", [
    {"stage": "approval"},  # not yet through its approvals
    {"approved": None},  # no decision on the principle and budget
    {"approved": False},  # rejected
    {"members": None},  # no inspection committee
    {"members": ()},  # a committee without members
])
def test_a_project_not_ready_cannot_sign(client, procurement_people, project_kwargs):
    vendor_id = make_vendor()
    project = make_project(**project_kwargs)
    response = post(client, procurement_people, "u-supplies", "/procurement/contracts",
                    contract_body(project["id"], vendor_id))
    assert response.status_code == 409, response.get_json()
    assert "project_id" in response.get_json()["errors"]
    assert count(Contract) == 0 and events("procurement.contract_signed") == []


def test_only_supplies_sign_and_numbers_are_unique(client, signed):
    people = signed["people"]
    other = make_project()
    for who in ("u-officer", "u-finance", "u-inspect1"):
        response = post(client, people, who, "/procurement/contracts", contract_body(other["id"], signed["vendor_id"]))
        assert response.status_code == 403
    response = post(client, people, "u-supplies", "/procurement/contracts",
                    contract_body(other["id"], signed["vendor_id"], number="15/2570"))
    assert response.status_code == 409 and "number" in response.get_json()["errors"]
    assert count(Contract) == 1
    assert client.post("/procurement/contracts", json={}).status_code == 401


# --- delivery, acceptance, payment ---------------------------------------------------------------------------


def test_states_are_kept_in_order(client, signed):
    people, contract, (m1, m2, m3) = signed["people"], signed["contract"], signed["ms"]
    # accept before delivery, pay before acceptance: wrong state
    assert decide(client, people, contract, m1, "u-inspect1").status_code == 409
    response = post(client, people, "u-finance", url(contract, m1, "payment"),
                    {"paid_on": today().isoformat(), "payment_ref": "ฎีกา 1/2570"})
    assert response.status_code == 409
    # a delivery in the future, or without any document, is refused
    assert deliver(client, people, contract, m1, today() + timedelta(days=1)).status_code == 422
    response = post(client, people, "u-supplies", url(contract, m1, "delivery"), {"delivered_on": today().isoformat()})
    assert response.status_code == 422 and "documents" in response.get_json()["errors"]
    # a file that is not what it claims to be is refused, and no file is left behind
    response = post(client, people, "u-supplies", url(contract, m1, "delivery"),
                    data={"delivered_on": today().isoformat(), "documents": (io.BytesIO(b"MZ\x90\x00binary"), "x.pdf")})
    assert response.status_code == 422 and "documents" in response.get_json()["errors"]
    assert count(Document) == 0
    # the finance officer does not record deliveries
    assert deliver(client, people, contract, m1, today(), who="u-finance").status_code == 403
    with bus.session() as session:
        assert session.get(Milestone, m1).delivered_on is None
    # delivered (by the officer, with a paper reference this time)
    response = post(client, people, "u-officer", url(contract, m1, "delivery"),
                    {"delivered_on": today().isoformat(), "ref": "สารบรรณ 123/2569", "ref_name": "หนังสือส่งมอบงวด 1"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["state"] == "delivered"
    assert deliver(client, people, contract, m1, today()).status_code == 409  # delivered already
    # not a member of this project's committee (though an inspection-committee role holder)
    assert decide(client, people, contract, m1, "u-inspect3").status_code == 403
    assert decide(client, people, contract, m1, "u-officer").status_code == 403
    # no evidence yet: nobody accepts
    response = decide(client, people, contract, m1, "u-inspect1")
    assert response.status_code == 409 and "documents" in response.get_json()["errors"]
    assert count(Acceptance) == 0
    # a rejection needs its reason
    response = decide(client, people, contract, m1, "u-inspect1", decision="rejected")
    assert response.status_code == 422 and "note" in response.get_json()["errors"]
    assert add_evidence(client, people, contract, m1).status_code == 201
    assert decide(client, people, contract, m1, "u-inspect1").status_code == 200
    assert decide(client, people, contract, m1, "u-inspect1").status_code == 409  # once per round
    response = post(client, people, "u-finance", url(contract, m1, "payment"),
                    {"paid_on": today().isoformat(), "payment_ref": "ฎีกา 1/2570"})
    assert response.status_code == 409  # one member has not accepted yet
    milestone = decide(client, people, contract, m1, "u-inspect2").get_json()
    assert milestone["state"] == "accepted" and milestone["accepted_on"] == today().isoformat()
    assert add_evidence(client, people, contract, m1).status_code == 409  # accepted: no more evidence
    # paid: not by the officer, not before the acceptance, not without a reference
    body = {"paid_on": today().isoformat(), "payment_ref": "ฎีกา 1/2570"}
    assert post(client, people, "u-officer", url(contract, m1, "payment"), body).status_code == 403
    response = post(client, people, "u-finance", url(contract, m1, "payment"),
                    {**body, "paid_on": (today() - timedelta(days=1)).isoformat()})
    assert response.status_code == 422 and "paid_on" in response.get_json()["errors"]
    response = post(client, people, "u-finance", url(contract, m1, "payment"), {**body, "payment_ref": ""})
    assert response.status_code == 422 and "payment_ref" in response.get_json()["errors"]
    paid = post(client, people, "u-finance", url(contract, m1, "payment"), body)
    assert paid.status_code == 200 and paid.get_json()["state"] == "paid"
    assert post(client, people, "u-finance", url(contract, m1, "payment"), body).status_code == 409
    # 60 days late on 100,000.00 at 0.1% a day: the fine comes off the payment
    fine = expected_fine(60, Decimal("100000.00"), Decimal("0.1"), Decimal("0"))
    assert paid.get_json()["days_late"] == 60 and Decimal(paid.get_json()["fine_amount"]) == fine
    assert Decimal(paid.get_json()["paid_amount"]) == Decimal("100000.00") - fine
    # the contracts' list counts it among both the paid and the accepted (it was accepted first)
    [listed] = [c for c in client.get("/procurement/contracts", headers=people.headers("u-supplies")).get_json()
                if c["id"] == contract["id"]]
    assert (listed["milestones_paid"], listed["milestones_accepted"], listed["milestone_count"]) == (1, 1, 3)
    # a milestone of another contract is not found under this one
    assert decide(client, people, {"id": contract["id"] + 1000}, m2, "u-inspect1").status_code == 404


def test_a_paper_acceptance_keeps_the_day_it_was_signed(client, signed):
    people, contract, (m1, _m2, _m3) = signed["people"], signed["contract"], signed["ms"]
    due = today() - timedelta(days=60)
    delivered = due + timedelta(days=5)  # 5 days late
    assert deliver(client, people, contract, m1, delivered).status_code == 200
    assert add_evidence(client, people, contract, m1).status_code == 201
    # the signing day is not in the future, nor before the delivery; nothing is kept then
    response = decide(client, people, contract, m1, "u-inspect1", signed_on=(today() + timedelta(days=1)).isoformat())
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"signed_on": ["The signing date cannot be in the future."]}
    response = decide(client, people, contract, m1, "u-inspect1",
                      signed_on=(delivered - timedelta(days=1)).isoformat())
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "signed_on": [f"The signing date cannot be before the delivery ({delivered.isoformat()})."]}
    assert count(Acceptance) == 0
    # signed on paper 10 and 12 days ago, recorded today: accepted on the later of the two days
    first, second = today() - timedelta(days=10), today() - timedelta(days=12)
    assert decide(client, people, contract, m1, "u-inspect1", signed_on=first.isoformat()).status_code == 200
    milestone = decide(client, people, contract, m1, "u-inspect2", signed_on=second.isoformat()).get_json()
    assert milestone["state"] == "accepted" and milestone["accepted_on"] == max(first, second).isoformat()
    assert sorted(a["signed_on"] for a in milestone["acceptances"]) == sorted([first.isoformat(), second.isoformat()])
    # days late and the fine still count from the delivery
    fine = expected_fine(5, Decimal("100000.00"), Decimal("0.1"), Decimal("0"))
    assert milestone["days_late"] == 5 and Decimal(milestone["fine_amount"]) == fine
    # the payment cannot be before that day; on it, it can
    body = {"payment_ref": "ฎีกา 3/2570"}
    accepted = max(first, second)
    response = post(client, people, "u-finance", url(contract, m1, "payment"),
                    {**body, "paid_on": (accepted - timedelta(days=1)).isoformat()})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "paid_on": [f"The payment cannot be before the acceptance ({accepted.isoformat()})."]}
    paid = post(client, people, "u-finance", url(contract, m1, "payment"), {**body, "paid_on": accepted.isoformat()})
    assert paid.status_code == 200 and paid.get_json()["paid_on"] == accepted.isoformat()


def test_rejection_sends_the_milestone_back_for_a_new_round(client, signed):
    people, contract, (m1, m2, m3) = signed["people"], signed["contract"], signed["ms"]
    due = date.fromisoformat(contract["milestones"][1]["due_on"])  # 20 days ago
    first = deliver(client, people, contract, m2, due + timedelta(days=5)).get_json()
    assert first["days_late"] == 5
    assert Decimal(first["fine_amount"]) == expected_fine(5, Decimal("120000.00"), Decimal("0.1"), Decimal("0"))
    add_evidence(client, people, contract, m2)
    assert decide(client, people, contract, m2, "u-inspect1").get_json()["round"] == 1
    back = decide(client, people, contract, m2, "u-inspect2", decision="rejected",
                  note="ระบบยังไม่ผ่านการทดสอบ").get_json()
    assert back["state"] == "pending" and back["delivered_on"] is None and back["round"] == 2
    assert back["fine_amount"] == "0.00" and back["days_late"] == 0
    assert [(a["round"], a["decision"]) for a in back["acceptances"]] == [(1, "accepted"), (1, "rejected")]
    [rejected] = events("procurement.milestone_rejected")
    assert rejected["payload"]["rejected_round"] == 1 and rejected["payload"]["acceptance"]["note"]
    assert decide(client, people, contract, m2, "u-inspect2").status_code == 409  # nothing delivered now
    # delivered again, later: the fine counts to the new date; everyone decides again in round 2
    again = deliver(client, people, contract, m2, due + timedelta(days=12)).get_json()
    assert again["round"] == 2 and again["days_late"] == 12
    assert Decimal(again["fine_amount"]) == expected_fine(12, Decimal("120000.00"), Decimal("0.1"), Decimal("0"))
    assert {a["member_id"] for a in again["awaiting"]} == set(signed["project"]["members"].values())
    assert decide(client, people, contract, m2, "u-inspect2").get_json()["state"] == "delivered"
    done = decide(client, people, contract, m2, "u-inspect1").get_json()
    assert done["state"] == "accepted" and len(done["acceptances"]) == 4
    assert len(events("procurement.milestone_delivered")) == 2
    [accepted] = events("procurement.milestone_accepted")
    assert accepted["payload"]["round"] == 2


def test_paper_signatures_are_recorded_by_supplies(client, procurement_people):
    people = procurement_people
    vendor_id = make_vendor()
    project = make_project(members=("u-inspect1",), paper_member=True)
    contract = post(client, people, "u-supplies", "/procurement/contracts",
                    contract_body(project["id"], vendor_id)).get_json()
    mid = contract["milestones"][0]["id"]
    deliver(client, people, contract, mid, today())
    add_evidence(client, people, contract, mid, who="u-inspect1")
    paper = project["members"]["paper"]
    assert decide(client, people, contract, mid, "u-officer", member_id=paper).status_code == 403
    response = decide(client, people, contract, mid, "u-supplies", member_id=paper + 1000)
    assert response.status_code == 422 and "member_id" in response.get_json()["errors"]
    assert decide(client, people, contract, mid, "u-supplies").status_code == 403  # supplies is no member
    assert decide(client, people, contract, mid, "u-supplies", member_id=paper).get_json()["state"] == "delivered"
    assert decide(client, people, contract, mid, "u-inspect1").get_json()["state"] == "accepted"
    with bus.session() as session:
        words = session.scalars(select(Acceptance).order_by(Acceptance.id)).all()
        assert [(w.member_id, w.decided_by) for w in words] == [(paper, "u-supplies"),
                                                                (project["members"]["u-inspect1"], "u-inspect1")]


def test_the_last_payment_completes_contract_and_project(client, signed):
    people, contract = signed["people"], signed["contract"]
    paid_total = Decimal("0")
    for n, m in enumerate(contract["milestones"]):
        due = date.fromisoformat(m["due_on"])
        on = min(due + timedelta(days=2 * n), today())  # the first on time, the second 2 days late
        deliver(client, people, contract, m["id"], on)
        add_evidence(client, people, contract, m["id"])
        decide(client, people, contract, m["id"], "u-inspect1")
        decide(client, people, contract, m["id"], "u-inspect2")
        paid = post(client, people, "u-supplies" if n else "u-finance", url(contract, m["id"], "payment"),
                    {"paid_on": today().isoformat(), "payment_ref": f"ฎีกา {n + 1}/2570"}).get_json()
        days = max((on - due).days, 0)
        fine = expected_fine(days, Decimal(m["amount"]), Decimal("0.1"), Decimal("0"))
        assert Decimal(paid["paid_amount"]) == Decimal(m["amount"]) - fine
        paid_total += Decimal(paid["paid_amount"])
    read = client.get(url(contract), headers=people.headers("u-head")).get_json()
    assert read["status"] == "completed" and read["completed_at"] and read["project"]["stage"] == "completed"
    assert Decimal(read["totals"]["paid"]) == paid_total and read["totals"]["outstanding"] == "0.00"
    assert Decimal(read["totals"]["fines"]) == Decimal("300000.00") - paid_total
    payments = events("procurement.milestone_paid")
    assert [p["payload"]["contract_completed"] for p in payments] == [False, False, True]
    # no case waits on this project: nothing is told to assignment
    assert events("procurement.contract_completed") == []
    assert post(client, people, "u-supplies", url(contract, signed["ms"][0], "delivery"),
                {"delivered_on": today().isoformat(), "ref": "x"}).status_code == 409


def test_read_contract_shows_milestones_and_logs_the_members_read(client, signed):
    people, contract, (m1, *_rest) = signed["people"], signed["contract"], signed["ms"]
    deliver(client, people, contract, m1, today())
    add_evidence(client, people, contract, m1)
    decide(client, people, contract, m1, "u-inspect1")
    response = client.get(url(contract), headers=people.headers("u-inspect2"))
    assert response.status_code == 200
    read = response.get_json()
    first = read["milestones"][0]
    assert first["state"] == "delivered" and first["delivered_on"] == today().isoformat()
    assert [a["member_name"] for a in first["acceptances"]] == ["กรรมการ u-inspect1"]
    assert [a["name"] for a in first["awaiting"]] == ["กรรมการ u-inspect2"]
    assert sorted(d["kind"] for d in first["documents"]) == ["delivery", "evidence"]
    assert all(d["download_path"] for d in first["documents"])
    assert len(read["inspection_committee"]) == 2
    with bus.session() as session:
        logged = session.scalars(select(AccessLog).where(AccessLog.actor == "u-inspect2")).all()
        assert {row.record for row in logged} == {"committee_member"} and len(logged) == 2
    listed = client.get(url(contract) + "/milestones", headers=people.headers("u-finance")).get_json()
    assert [m["seq"] for m in listed] == [1, 2, 3]
    assert client.get(url(contract), headers={}).status_code == 401
    assert client.get("/procurement/contracts/999999", headers=people.headers("u-head")).status_code == 404


def test_pending_acceptances_and_what_falls_due(client, signed):
    people, contract, (m1, m2, m3) = signed["people"], signed["contract"], signed["ms"]
    assert contracts.pending_acceptances(people.staff["u-inspect1"]) == []
    deliver(client, people, contract, m1, today())
    add_evidence(client, people, contract, m1)
    [pending] = contracts.pending_acceptances(people.staff["u-inspect1"])
    assert pending["milestone"]["id"] == m1 and pending["evidence_count"] == 1
    assert pending["desk_path"] == f"/procurement/desk/contracts/{contract['id']}"
    decide(client, people, contract, m1, "u-inspect1")
    assert contracts.pending_acceptances(people.staff["u-inspect1"]) == []
    assert [p["milestone"]["id"] for p in contracts.pending_acceptances(people.staff["u-inspect2"])] == [m1]
    assert contracts.pending_acceptances(people.staff["u-inspect3"]) == []  # not on this committee
    due = contracts.due_between(today() - timedelta(days=30), today() + timedelta(days=30))
    assert [m.id for m in due] == [m2, m3]
    assert due[0].contract.vendor.name and due[0].contract.project.title  # loaded for the pages
    decide(client, people, contract, m1, "u-inspect2")  # accepted: no longer pending for anyone
    assert contracts.pending_acceptances(people.staff["u-inspect2"]) == []
    assert [m.id for m in contracts.due_between(today() - timedelta(days=90), today())] == [m2]


def test_a_milestone_is_added_while_none_is_delivered(client, signed):
    people, contract, (m1, m2, m3) = signed["people"], signed["contract"], signed["ms"]
    between = date.fromisoformat(contract["milestones"][1]["due_on"]) + timedelta(days=5)
    body = {"title": "งวดเพิ่ม ติดตั้ง", "due_on": between.isoformat(), "amount": "20000.00"}
    response = post(client, people, "u-supplies", url(contract) + "/milestones", body)
    assert response.status_code == 422 and "amount" in response.get_json()["errors"]  # would sum to 320,000
    assert count(Milestone) == 3
    response = post(client, people, "u-supplies", url(contract) + "/milestones",
                    {**body, "rebalance": [{"milestone_id": m2, "amount": "100000.00"}]})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["seq"] == 3
    listed = client.get(url(contract) + "/milestones", headers=people.headers("u-supplies")).get_json()
    assert [(m["seq"], m["amount"]) for m in listed] == [(1, "100000.00"), (2, "100000.00"), (3, "20000.00"),
                                                         (4, "80000.00")]
    assert post(client, people, "u-officer", url(contract) + "/milestones", body).status_code == 403
    deliver(client, people, contract, m1, today())
    late = {"title": "อีกงวด", "due_on": (today() + timedelta(days=40)).isoformat(), "amount": "1000.00",
            "rebalance": [{"milestone_id": m3, "amount": "79000.00"}]}
    assert post(client, people, "u-supplies", url(contract) + "/milestones", late).status_code == 409
    assert count(Milestone) == 4


# --- the case a contract serves --------------------------------------------------------------------------------


def _walk_to_paid(client, people, contract):
    for m in contract["milestones"]:
        deliver(client, people, contract, m["id"], min(date.fromisoformat(m["due_on"]), today()))
        add_evidence(client, people, contract, m["id"])
        decide(client, people, contract, m["id"], "u-inspect1")
        decide(client, people, contract, m["id"], "u-inspect2")
        response = post(client, people, "u-finance", url(contract, m["id"], "payment"),
                        {"paid_on": today().isoformat(), "payment_ref": "ฎีกา"})
        assert response.status_code == 200, response.get_json()


def test_the_waiting_case_is_told_once_when_the_last_milestone_is_paid(client, procurement_people):
    people = procurement_people
    vendor_id = make_vendor()
    project = make_project(tracking_code="ONESQA-2570-00042", case_waiting_on="procurement-contract",
                           case_step="deliver-milestones")
    contract = post(client, people, "u-supplies", "/procurement/contracts",
                    contract_body(project["id"], vendor_id)).get_json()
    _walk_to_paid(client, people, contract)
    [told] = events("procurement.contract_completed")
    assert told["correlation_id"] == "ONESQA-2570-00042"
    payload = told["payload"]
    assert {k: payload[k] for k in ("tracking_code", "step", "project_id", "contract_id", "contract_number")} == {
        "tracking_code": "ONESQA-2570-00042", "step": "deliver-milestones", "project_id": project["id"],
        "contract_id": contract["id"], "contract_number": "15/2570"}
    assert payload["note"]
    with bus.unit_of_work() as uow:  # asked again (the case's wait linked a second time): nothing more
        again = projects.complete_case_if_done(uow, uow.session.get(Project, project["id"]))
        uow.commit()
    assert again is False and len(events("procurement.contract_completed")) == 1
    with bus.session() as session:
        assert session.get(Project, project["id"]).case_notified_at is not None


def test_a_contract_finished_before_the_case_waits_moves_it_when_it_gets_there(client, procurement_people):
    people = procurement_people
    vendor_id = make_vendor()
    project = make_project(tracking_code="ONESQA-2570-00043")
    contract = post(client, people, "u-supplies", "/procurement/contracts",
                    contract_body(project["id"], vendor_id)).get_json()
    _walk_to_paid(client, people, contract)
    assert events("procurement.contract_completed") == []  # the case is not waiting yet
    with bus.unit_of_work() as uow:  # what linking the case's wait does (projects.on_case_waiting)
        found = uow.session.get(Project, project["id"])
        found.case_waiting_on, found.case_step = "procurement-contract", "deliver-milestones"
        assert projects.complete_case_if_done(uow, found) is True
        uow.commit()
    [told] = events("procurement.contract_completed")
    assert told["payload"]["step"] == "deliver-milestones"


def test_an_unfinished_contract_does_not_move_the_case(client, signed):
    with bus.unit_of_work() as uow:
        found = uow.session.get(Project, signed["project"]["id"])
        found.tracking_code, found.case_step = "X-1", "deliver-milestones"
        found.case_waiting_on = "procurement-contract"
        assert projects.complete_case_if_done(uow, found) is False
        uow.commit()
    assert events("procurement.contract_completed") == []


# --- incidents -------------------------------------------------------------------------------------------------


def _contract_with_vendor(client, people, contacts, language="th", tax_id="0105559999999"):
    vendor_id = make_vendor(name="บริษัท เซิร์ฟเวอร์ จำกัด", tax_id=tax_id, contacts=contacts, language=language)
    project = make_project()
    response = post(client, people, "u-supplies", "/procurement/contracts",
                    contract_body(project["id"], vendor_id, number=f"MA-{tax_id[-4:]}"))
    assert response.status_code == 201, response.get_json()
    return response.get_json(), project


def test_an_incident_tells_the_vendors_emergency_contacts_at_once(client, procurement_people):
    people = procurement_people
    contract, project = _contract_with_vendor(client, people, [
        {"name": "ฝ่ายขาย", "email": "sales@server.example", "emergency": False},
        {"name": "เวรฉุกเฉิน", "email": "oncall@server.example", "emergency": True},
        {"name": "ช่างโทรศัพท์", "phone": "081-000-0000", "emergency": True},  # no email
    ], language="en")
    body = {"severity": "critical", "description": "เครื่องแม่ข่ายฐานข้อมูลหยุดทำงาน"}
    assert post(client, people, "u-finance", url(contract) + "/incidents", body).status_code == 403
    response = post(client, people, "u-officer", url(contract) + "/incidents", body)
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["warning"] is None
    assert answer["recipients"] == [{"name": "เวรฉุกเฉิน", "email": "oncall@server.example"}]
    [event] = events("procurement.incident_reported")
    payload = event["payload"]
    assert payload["incident"]["id"] == answer["id"] and payload["incident"]["severity"] == "critical"
    assert payload["incident"]["description"] == body["description"]
    assert payload["incident"]["reported_by"] == "u-officer" and payload["incident"]["reported_at"]
    assert payload["contract"] == {"id": contract["id"], "number": contract["number"],
                                   "vendor_name": "บริษัท เซิร์ฟเวอร์ จำกัด"}
    assert payload["project"] == {"id": project["id"], "title": "ระบบประเมินคุณภาพภายนอก AQA", "tracking_code": None}
    assert payload["vendor"]["name"] == "บริษัท เซิร์ฟเวอร์ จำกัด"
    assert payload["recipients"] == [{"name": "เวรฉุกเฉิน", "email": "oncall@server.example", "language": "en"}]
    read = client.get(url(contract), headers=people.headers("u-head")).get_json()
    assert [i["severity"] for i in read["incidents"]] == ["critical"]
    response = post(client, people, "u-officer", url(contract) + "/incidents", {"severity": "low", "description": "x"})
    assert response.status_code == 422 and "severity" in response.get_json()["errors"]
    response = post(client, people, "u-officer", url(contract) + "/incidents", {"severity": "high"})
    assert response.status_code == 422 and "description" in response.get_json()["errors"]
    assert count(Incident) == 1


def test_without_emergency_contacts_every_contact_with_an_email_is_told(client, procurement_people):
    people = procurement_people
    contract, _ = _contract_with_vendor(client, people, [
        {"name": "ฝ่ายขาย", "email": "sales@server.example"},
        {"name": "ฝ่ายบริการ", "email": "service@server.example"},
        {"name": "ไม่มีอีเมล", "phone": "02-000-0000"},
    ])
    response = post(client, people, "u-inspect1", url(contract) + "/incidents", {"description": "ระบบล่ม"})
    assert response.status_code == 201
    [event] = events("procurement.incident_reported")
    assert [r["email"] for r in event["payload"]["recipients"]] == ["sales@server.example", "service@server.example"]
    assert event["payload"]["incident"]["severity"] == "high"


def test_an_incident_without_any_email_is_recorded_with_a_warning(client, procurement_people):
    people = procurement_people
    contract, _ = _contract_with_vendor(client, people, [{"name": "โทรเท่านั้น", "phone": "081-111-1111",
                                                          "emergency": True}])
    response = post(client, people, "u-head", url(contract) + "/incidents", {"description": "ไฟดับ ระบบหยุด"})
    assert response.status_code == 201
    assert response.get_json()["warning"] and response.get_json()["recipients"] == []
    assert count(Incident) == 1
    [event] = events("procurement.incident_reported")
    assert event["payload"]["recipients"] == []


def test_a_payment_and_the_case_arriving_side_by_side_tell_the_case_once(client, procurement_people):
    """The case's wait is being linked (its transaction holds the project) while the last payment
    is recorded: the payment waits for it, then sees the case waiting and tells it, once."""
    import threading

    from sopdesk.testing import wait_for

    people = procurement_people
    vendor_id = make_vendor()
    project = make_project(tracking_code="ONESQA-2570-00044")
    contract = post(client, people, "u-supplies", "/procurement/contracts",
                    contract_body(project["id"], vendor_id)).get_json()
    *first, last = contract["milestones"]
    _walk_to_paid(client, people, {**contract, "milestones": first})
    deliver(client, people, contract, last["id"], today())
    add_evidence(client, people, contract, last["id"])
    for who in ("u-inspect1", "u-inspect2"):
        decide(client, people, contract, last["id"], who)
    finance = people.staff["u-finance"]
    outcome: dict = {}

    linking = bus.unit_of_work()
    found = linking.session.get(Project, project["id"])
    found.case_waiting_on, found.case_step = "procurement-contract", "deliver-milestones"
    linking.session.flush()  # the case's transaction now holds the project's row

    def pay():
        try:
            outcome["paid"] = contracts.record_payment(finance, contract["id"], last["id"], today(), "ฎีกา 3")
        except Exception as exc:  # reported below
            outcome["error"] = exc

    worker = threading.Thread(target=pay)
    worker.start()
    with bus.session() as watcher:  # the payment is waiting on the project's row lock
        from sqlalchemy import text
        wait_for(lambda: watcher.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar(),
                 message="the payment to wait for the case's transaction")
    # the contract is not completed as far as the case's transaction can see: nothing to tell yet
    assert projects.complete_case_if_done(linking, found) is False
    linking.commit()
    linking.__exit__(None, None, None)
    worker.join(timeout=30)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["paid"]["state"] == "paid"
    [told] = events("procurement.contract_completed")
    assert told["payload"]["tracking_code"] == "ONESQA-2570-00044" and told["payload"]["step"] == "deliver-milestones"
