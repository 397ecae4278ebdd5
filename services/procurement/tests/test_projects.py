"""Procurement projects through the HTTP API against the real PostgreSQL and Redis: field-level
refusals that store nothing, 1 to 3 quotes and their median, the stage rules, approvals by role,
committees and their re-appointment, documents kept and downloaded by staff only, a purchase's
delivery, and the consumer that opens or links a project when a case waits on procurement."""
from __future__ import annotations

import io
import json
import statistics
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from services.procurement.adapters.bus import bus
from services.procurement.adapters.models import (Acceptance, AccessLog, Approval, Committee, CommitteeMember, Contract,
                                                  Document, Milestone, Outbox, Project, Quote, Vendor)
from shared.config import get_settings
from shared.events import Event
from shared.i18n import BANGKOK
from sopdesk import testing_events as payloads

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


def today() -> date:
    return datetime.now(timezone.utc).astimezone(BANGKOK).date()


def count(model, *where) -> int:
    with bus.session() as session:
        query = select(func.count()).select_from(model)
        for clause in where:
            query = query.where(clause)
        return session.scalar(query)


def outbox_types() -> list[str]:
    with bus.session() as session:
        return list(session.scalars(select(Outbox.type).order_by(Outbox.created_at)))


def send(client, method: str, path: str, who, body=None, people=None, **kwargs):
    headers = dict(people.headers(who)) if who else {}
    if body is not None:
        headers["Content-Type"] = "application/json"
        kwargs["data"] = json.dumps(body)
    return client.open(path, method=method, headers=headers, **kwargs)


@pytest.fixture
def vendors(procurement_people):
    """Four vendors, straight into procurement's table (the vendor API is tested on its own)."""
    with bus.session() as session:
        rows = [Vendor(org="sesao-sc", name=name, tax_id=tax_id, language="th") for name, tax_id in
                (("บริษัท เอ ไอที จำกัด", "0105551000011"), ("ห้างหุ้นส่วน บี คอมพิวเตอร์", "0105551000022"),
                 ("บริษัท ซี เน็ตเวิร์ค จำกัด", "0105551000033"), ("บริษัท ดี ซิสเต็ม จำกัด", "0105551000044"))]
        session.add_all(rows)
        session.commit()
        return [v.id for v in rows]


@pytest.fixture
def api(client, procurement_people):
    """``api(method, path, who, body)`` -> response, JSON bodies."""
    def call(method, path, who, body=None, **kwargs):
        return send(client, method, path, who, body, procurement_people, **kwargs)
    return call


def new_project(api, who="u-supplies", **fields) -> dict:
    body = {"title": "จัดจ้างบำรุงรักษาเครื่องแม่ข่ายและเครือข่าย", "purpose": "บำรุงรักษาประจำปี", "kind": "hire",
            "budget": "480000.00", **fields}
    response = api("POST", "/procurement/projects", who, body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def add_quote(api, project_id: int, vendor_id: int, amount: str, who="u-supplies", **extra):
    body = {"vendor_id": vendor_id, "amount": amount, "received_on": (today() - timedelta(days=3)).isoformat(),
            "valid_until": (today() + timedelta(days=30)).isoformat(), **extra}
    return api("POST", f"/procurement/projects/{project_id}/quotes", who, body)


# ---------------------------------------------------------------------------------------------
# creating


def test_create_refuses_bad_fields_and_stores_nothing(api):
    before = outbox_types()
    response = api("POST", "/procurement/projects", "u-supplies",
                   {"title": "", "kind": "buy", "budget": "-5", "fiscal_year": 2026, "method": "auction",
                    "officer_contact": {"name": "ก", "email": "not-an-email"}})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert {"title", "kind", "budget", "fiscal_year", "method", "officer_contact"} <= set(errors)
    assert "email" in errors["officer_contact"]
    response = api("POST", "/procurement/projects", "u-supplies", {"title": "ซื้อ\nอุปกรณ์", "budget": "10.555"})
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"title", "budget"}
    assert count(Project) == 0 and outbox_types() == before

    # roles: an officer reads, does not open projects
    assert api("POST", "/procurement/projects", "u-officer", {"title": "x"}).status_code == 403
    assert api("POST", "/procurement/projects", None, {"title": "x"}).status_code == 401
    assert count(Project) == 0

    project = new_project(api, officer="u-officer",
                          officer_contact={"name": "เจ้าหน้าที่ ICT", "email": "u-officer@office.example"})
    # the fiscal year runs 1 October - 30 September and is named in the Buddhist era after the year it ends in
    d = today()
    assert project["fiscal_year"] == (d.year + 1 if d.month >= 10 else d.year) + 543
    assert project["stage"] == "draft" and project["budget"] == "480000.00" and project["reference_price"] is None
    assert outbox_types()[-1] == "procurement.project_created"
    assert count(Project) == 1

    # everyone with a procurement role reads it; the list filters
    assert api("GET", f"/procurement/projects/{project['id']}", "u-officer").status_code == 200
    assert api("GET", f"/procurement/projects/{project['id']}", "u-inspect1").status_code == 200
    listed = api("GET", "/procurement/projects?stage=draft&q=แม่ข่าย", "u-finance").get_json()
    assert [p["id"] for p in listed] == [project["id"]]
    assert api("GET", "/procurement/projects?stage=quotes", "u-finance").get_json() == []
    assert api("GET", "/procurement/projects?stage=bogus", "u-finance").status_code == 422
    assert api("GET", "/procurement/projects/999999", "u-finance").status_code == 404


def test_patch_changes_fields_and_refuses_locked_ones(api):
    project = new_project(api, tracking_code="SC-REPAIR-1")
    response = api("PATCH", f"/procurement/projects/{project['id']}", "u-head",
                   {"method": "specific", "budget": "500000", "outcome": "กำลังดำเนินการ"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["method"] == "specific" and body["budget"] == "500000.00" and body["outcome"] == "กำลังดำเนินการ"
    assert api("PATCH", f"/procurement/projects/{project['id']}", "u-head", {}).status_code == 422
    response = api("PATCH", f"/procurement/projects/{project['id']}", "u-supplies", {"method": "lottery"})
    assert response.status_code == 422 and "method" in response.get_json()["errors"]
    assert api("PATCH", f"/procurement/projects/{project['id']}", "u-officer", {"title": "x"}).status_code == 403
    with bus.session() as session:
        assert session.get(Project, project["id"]).method == "specific"


# ---------------------------------------------------------------------------------------------
# quotes and the reference price


def expected_median(amounts: list[str]) -> str:
    """Computed here, not by the code under test: the middle amount, or the mean of the middle two,
    to the satang rounding halves up."""
    values = sorted(Decimal(a) for a in amounts)
    n = len(values)
    middle = values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
    return str(middle.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def test_quotes_median_and_at_most_three(api, vendors):
    project = new_project(api)
    pid = project["id"]
    amounts = ["12500.50", "9999.99", "15000.25"]
    seen = []
    for vendor_id, amount in zip(vendors, amounts):
        response = add_quote(api, pid, vendor_id, amount, who="u-subhead")  # the subhead gathers quotes
        assert response.status_code == 201, response.get_json()
        seen.append(amount)
        body = response.get_json()
        assert body["reference_price"] == expected_median(seen)
        assert body["stage"] == "quotes"  # the first quote moves the draft on
    # 1 quote: itself; 2: the mean, 11250.245 rounded half up; 3: the middle one
    assert expected_median(amounts[:2]) == "11250.25" and expected_median(amounts) == "12500.50"
    assert body["reference_price"] == str(statistics.median(Decimal(a) for a in amounts))
    assert {q["vendor"]["id"] for q in body["quotes"]} == set(vendors[:3])
    assert all(q["vendor"]["name"] for q in body["quotes"])

    # a fourth quote is refused, and nothing of it is kept
    before = outbox_types()
    response = add_quote(api, pid, vendors[3], "11000.00")
    assert response.status_code == 409
    assert count(Quote) == 3 and outbox_types() == before

    # removing one computes the price again (the mean of the two left)
    third = next(q for q in body["quotes"] if q["vendor"]["id"] == vendors[2])
    response = api("DELETE", f"/procurement/projects/{pid}/quotes/{third['id']}", "u-supplies")
    assert response.status_code == 200
    assert response.get_json()["reference_price"] == expected_median(amounts[:2])
    with bus.session() as session:
        assert session.get(Project, pid).reference_price == Decimal(expected_median(amounts[:2]))
    assert "procurement.quote_removed" in outbox_types()
    assert api("DELETE", f"/procurement/projects/{pid}/quotes/{third['id']}", "u-supplies").status_code == 404


def test_quote_field_errors_store_nothing(api, vendors):
    pid = new_project(api)["id"]
    before = outbox_types()
    cases = [
        ({"amount": "0"}, "amount"),
        ({"amount": "12.345"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"vendor_id": 987654}, "vendor_id"),
        ({"received_on": (today() + timedelta(days=2)).isoformat(), "valid_until": None}, "received_on"),
        ({"received_on": today().isoformat(), "valid_until": (today() - timedelta(days=1)).isoformat()},
         "valid_until"),
        ({"received_on": "31/02/2569"}, "received_on"),
    ]
    for change, field in cases:
        response = add_quote(api, pid, change.pop("vendor_id", vendors[0]), change.pop("amount", "1000.00"), **change)
        assert response.status_code == 422, (change, response.get_json())
        assert field in response.get_json()["errors"], (field, response.get_json())
    assert count(Quote) == 0 and outbox_types() == before
    assert add_quote(api, pid, vendors[0], "1000.00").status_code == 201
    response = add_quote(api, pid, vendors[0], "900.00")  # one quote per vendor
    assert response.status_code == 422 and "vendor_id" in response.get_json()["errors"]
    assert count(Quote) == 1
    # the officer reads only
    assert add_quote(api, pid, vendors[1], "900.00", who="u-officer").status_code == 403


# ---------------------------------------------------------------------------------------------
# stages and approvals


def stage(api, pid, target, who="u-supplies"):
    return api("POST", f"/procurement/projects/{pid}/stage", who, {"stage": target})


def decide(api, pid, who, kind, decision, note=""):
    return api("POST", f"/procurement/projects/{pid}/approvals", who,
               {"kind": kind, "decision": decision, "note": note})


def test_stage_rules(api, vendors):
    pid = new_project(api)["id"]
    assert stage(api, pid, "approval").status_code == 409  # not from draft
    assert stage(api, pid, "quotes").status_code == 200
    response = stage(api, pid, "approval")
    assert response.status_code == 422 and "quotes" in response.get_json()["errors"]  # no quote yet
    assert add_quote(api, pid, vendors[0], "450000.00").status_code == 201
    response = stage(api, pid, "approval")
    assert response.status_code == 200 and response.get_json()["stage"] == "approval"
    assert add_quote(api, pid, vendors[1], "460000.00").status_code == 409  # the price is frozen at approval
    response = stage(api, pid, "procurement")
    assert response.status_code == 422 and "approvals" in response.get_json()["errors"]
    # from approval on, only supplies moves the project
    assert stage(api, pid, "quotes", who="u-officer").status_code == 403
    assert api("PATCH", f"/procurement/projects/{pid}", "u-subhead", {"title": "x"}).status_code == 403

    assert decide(api, pid, "u-director", "principle-budget", "approved").status_code == 201
    assert decide(api, pid, "u-deputy-director", "tor", "rejected", "ขอบเขตงานไม่ครบ").status_code == 201
    response = stage(api, pid, "procurement")
    assert response.status_code == 422 and "tor" in response.get_json()["errors"]["approvals"][0]
    assert decide(api, pid, "u-deputy-director", "tor", "approved").status_code == 201
    response = stage(api, pid, "procurement")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["stage"] == "procurement"
    # contract, delivered and cancelled have their own actions; completed needs a finished contract
    assert stage(api, pid, "contract").status_code == 409
    assert stage(api, pid, "delivered").status_code == 409
    assert stage(api, pid, "cancelled").status_code == 409
    assert stage(api, pid, "completed").status_code == 409
    assert stage(api, pid, "bogus").status_code == 422
    with bus.session() as session:
        assert session.get(Project, pid).stage == "procurement"

    # cancelling needs a reason; then nothing more changes
    response = api("POST", f"/procurement/projects/{pid}/cancel", "u-supplies", {"reason": "  "})
    assert response.status_code == 422 and "reason" in response.get_json()["errors"]
    response = api("POST", f"/procurement/projects/{pid}/cancel", "u-supplies", {"reason": "งบประมาณถูกตัด"})
    assert response.status_code == 200 and response.get_json()["stage"] == "cancelled"
    assert api("PATCH", f"/procurement/projects/{pid}", "u-supplies", {"title": "x"}).status_code == 409
    assert stage(api, pid, "quotes").status_code == 409
    assert "procurement.project_cancelled" in outbox_types()


def test_approvals_by_role_and_every_decision_kept(api, vendors):
    pid = new_project(api)["id"]
    assert decide(api, pid, "u-officer", "principle-budget", "approved").status_code == 403
    assert decide(api, pid, "u-supplies", "principle-budget", "approved").status_code == 403
    response = decide(api, pid, "u-head", "principle-budget", "rejected")  # no note
    assert response.status_code == 422 and "note" in response.get_json()["errors"]
    response = decide(api, pid, "u-head", "reference-price", "approved")  # no quote, no price
    assert response.status_code == 422 and "kind" in response.get_json()["errors"]
    response = decide(api, pid, "u-head", "whim", "approved")
    assert response.status_code == 422 and "kind" in response.get_json()["errors"]
    assert count(Approval) == 0

    assert decide(api, pid, "u-head", "principle-budget", "rejected", "งบไม่พอ").status_code == 201
    response = decide(api, pid, "u-director", "principle-budget", "approved", "อนุมัติ")
    assert response.status_code == 201
    body = response.get_json()
    assert [(a["decision"], a["decided_by"], a["role"]) for a in body["approvals"]] == [
        ("rejected", "u-head", "head"), ("approved", "u-director", "director")]
    assert body["approval_status"]["principle-budget"] == "approved"
    assert body["approval_status"]["tor"] is None
    assert outbox_types().count("procurement.approval_decided") == 2


# ---------------------------------------------------------------------------------------------
# committees


MEMBERS = [{"username": "u-inspect1", "name": "นายหนึ่ง ตรวจรับ", "email": "u-inspect1@office.example",
            "position": "chair"},
           {"username": "u-inspect2", "name": "นางสอง ตรวจรับ", "email": "u-inspect2@office.example"},
           {"username": "u-inspect3", "name": "Mr Three", "email": "u-inspect3@office.example", "language": "en",
            "position": "secretary"}]


def appoint(api, pid, kind, members, who="u-supplies", **extra):
    body = {"order_ref": "คำสั่งที่ 12/2569", "appointed_on": today().isoformat(), "members": members, **extra}
    return api("PUT", f"/procurement/projects/{pid}/committees/{kind}", who, body)


def test_committee_appointment_and_reappointment(api, vendors):
    pid = new_project(api)["id"]
    response = appoint(api, pid, "inspection", [])
    assert response.status_code == 422 and "members" in response.get_json()["errors"]
    response = appoint(api, pid, "inspection", [MEMBERS[0], {**MEMBERS[1], "position": "chair"}])
    assert response.status_code == 422 and "members" in response.get_json()["errors"]
    response = appoint(api, pid, "inspection", [{"name": "", "email": "nope"}])
    assert response.status_code == 422
    assert set(response.get_json()["errors"]["members"]["0"]) == {"name", "email"}
    assert appoint(api, pid, "audit", MEMBERS).status_code == 404
    assert appoint(api, pid, "inspection", MEMBERS, who="u-officer").status_code == 403
    assert count(Committee) == 0 and count(CommitteeMember) == 0

    logged = count(AccessLog, AccessLog.record == "committee_member")
    response = appoint(api, pid, "inspection", MEMBERS)
    assert response.status_code == 200, response.get_json()
    committee = next(c for c in response.get_json()["committees"] if c["kind"] == "inspection")
    assert [m["email"] for m in committee["members"]] == [m["email"] for m in MEMBERS]
    assert [m["position"] for m in committee["members"]] == ["chair", "member", "secretary"]
    # showing members' emails is a read of personal data: logged, one row per member shown
    assert count(AccessLog, AccessLog.record == "committee_member") == logged + 3
    read = api("GET", f"/procurement/projects/{pid}", "u-finance").get_json()
    assert count(AccessLog, AccessLog.record == "committee_member", AccessLog.actor == "u-finance") == 3
    assert read["committees"][0]["order_ref"] == "คำสั่งที่ 12/2569"

    # appointed again: the members are replaced
    response = appoint(api, pid, "inspection", MEMBERS[:2], order_ref="คำสั่งที่ 15/2569")
    assert response.status_code == 200
    assert count(CommitteeMember) == 2 and count(Committee) == 1
    assert "procurement.committee_appointed" in outbox_types()

    # once a member has recorded an acceptance, the committee stays as it is
    with bus.session() as session:
        member = session.scalars(select(CommitteeMember).order_by(CommitteeMember.id)).first()
        contract = Contract(org="sesao-sc", project_id=pid, number="7/2569", vendor_id=vendors[0], amount=Decimal("100000"),
                            signed_on=today(), starts_on=today(), ends_on=today() + timedelta(days=90))
        session.add(contract)
        session.flush()
        milestone = Milestone(contract_id=contract.id, seq=1, due_on=today(), amount=Decimal("100000"),
                              delivered_on=today())
        session.add(milestone)
        session.flush()
        session.add(Acceptance(milestone_id=milestone.id, member_id=member.id, decision="accepted",
                               decided_by="u-inspect1"))
        session.commit()
    response = appoint(api, pid, "inspection", MEMBERS)
    assert response.status_code == 409 and "members" in response.get_json()["errors"]
    assert count(CommitteeMember) == 2
    # other committees are free to change
    assert appoint(api, pid, "procurement", [{"username": "u-proccom", "name": "กรรมการจัดซื้อ"}]).status_code == 200


# ---------------------------------------------------------------------------------------------
# documents


def procurement_files() -> set[Path]:
    root = Path(get_settings().files_dir) / "procurement"
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def upload(client, people, pid, who, kind, parts, **fields):
    data = {"kind": kind, **fields, "files": [(io.BytesIO(content), name) for name, content in parts]}
    return client.post(f"/procurement/projects/{pid}/documents", data=data, headers=people.headers(who),
                       content_type="multipart/form-data")


def test_documents_checked_kept_and_downloaded_by_staff_only(client, api, procurement_people):
    people = procurement_people
    pid = new_project(api)["id"]
    files_before = procurement_files()

    # a program renamed .pdf is refused by its bytes; with it, the good file in the same post is not kept
    response = upload(client, people, pid, "u-supplies", "tor", [("tor.pdf", PDF), ("tor-annex.pdf", EXE)])
    assert response.status_code == 422
    assert "tor-annex.pdf" in response.get_json()["errors"]["documents"][0]
    response = upload(client, people, pid, "u-supplies", "tor", [("setup.exe", PDF)])  # name and bytes disagree
    assert response.status_code == 422
    response = upload(client, people, pid, "u-supplies", "nonsense", [("tor.pdf", PDF)])
    assert response.status_code == 422 and "kind" in response.get_json()["errors"]
    response = upload(client, people, pid, "u-supplies", "tor", [])
    assert response.status_code == 422 and "documents" in response.get_json()["errors"]
    assert count(Document) == 0 and procurement_files() == files_before
    with bus.session() as session:
        assert session.get(Project, pid).stage == "draft"

    # a real PDF is kept; the first TOR moves the draft on to quotes
    response = upload(client, people, pid, "u-head", "tor", [("ร่าง TOR.pdf", PDF)])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["stage"] == "quotes"
    [doc] = body["documents"]
    assert doc["name"] == "ร่าง TOR.pdf" and doc["content_type"] == "application/pdf" and doc["size"] == len(PDF)
    assert len(procurement_files()) == len(files_before) + 1

    # staff download it: always an attachment, never sniffed, sandboxed; the read is logged
    response = client.get(doc["download_path"], headers=people.headers("u-inspect2"))
    assert response.status_code == 200
    assert response.get_data() == PDF
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert count(AccessLog, AccessLog.record == "document", AccessLog.actor == "u-inspect2") == 1
    assert client.get(doc["download_path"]).status_code == 401
    people.add("u-clerk", ["intake-clerk"])
    assert client.get(doc["download_path"], headers=people.headers("u-clerk")).status_code == 403
    assert client.get("/procurement/documents/999999", headers=people.headers("u-supplies")).status_code == 404

    # a paper kept elsewhere: a name and a reference, no file (nothing to download)
    response = upload(client, people, pid, "u-supplies", "memo", [], name="บันทึกขออนุมัติหลักการ",
                      ref="ศธ 04123/1234")
    assert response.status_code == 201
    paper = next(d for d in response.get_json()["documents"] if d["kind"] == "memo")
    assert paper["has_file"] is False and paper["ref"] == "ศธ 04123/1234" and paper["download_path"] is None
    assert client.get(f"/procurement/documents/{paper['id']}", headers=people.headers("u-supplies")).status_code == 404
    response = upload(client, people, pid, "u-supplies", "memo", [], name="บันทึก")  # a name without its ref
    assert response.status_code == 422 and "ref" in response.get_json()["errors"]
    assert count(Document) == 2


# ---------------------------------------------------------------------------------------------
# a plain purchase's delivery (no case)


def test_delivery_of_a_purchase(client, api, procurement_people):
    people = procurement_people
    pid = new_project(api, kind="purchase", title="ซื้อหมึกพิมพ์")["id"]
    path = f"/procurement/projects/{pid}/delivery"
    response = api("POST", path, "u-supplies", {"delivered_on": today().isoformat()})
    assert response.status_code == 422 and "documents" in response.get_json()["errors"]
    response = api("POST", path, "u-supplies", {"delivered_on": (today() + timedelta(days=1)).isoformat(),
                                                "ref": "ใบส่งของ 55"})
    assert response.status_code == 422 and "delivered_on" in response.get_json()["errors"]
    response = client.post(path, data={"delivered_on": today().isoformat(), "files": [(io.BytesIO(EXE), "x.pdf")]},
                           headers=people.headers("u-supplies"), content_type="multipart/form-data")
    assert response.status_code == 422
    assert api("POST", path, "u-head", {"delivered_on": today().isoformat(), "ref": "x"}).status_code == 403
    assert count(Document) == 0
    with bus.session() as session:
        assert session.get(Project, pid).delivered_on is None

    response = client.post(path, data={"delivered_on": today().isoformat(), "note": "ครบ 4 กล่อง",
                                       "files": [(io.BytesIO(PDF), "ใบส่งของ.pdf")]},
                           headers=people.headers("u-supplies"), content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["stage"] == "delivered" and body["delivered_on"] == today().isoformat()
    assert [d["kind"] for d in body["documents"]] == ["delivery"]
    # no case waits on it: nothing to tell anyone
    assert "procurement.delivered" not in outbox_types()
    response = api("POST", path, "u-supplies", {"delivered_on": today().isoformat(), "ref": "again"})
    assert response.status_code == 409
    assert count(Document) == 1
    # a hire is delivered through its contract
    hire = new_project(api)["id"]
    assert api("POST", f"/procurement/projects/{hire}/delivery", "u-supplies",
               {"delivered_on": today().isoformat(), "ref": "x"}).status_code == 409
    # a delivered purchase may be closed
    assert stage(api, pid, "completed").status_code == 200


# ---------------------------------------------------------------------------------------------
# cases waiting on procurement (the consumer, through the real inbox)


def waiting_event(code: str, waiting_on: str, step: str = "parts-purchase", started_at: datetime | None = None,
                  assignee: str | None = "u-supplies") -> dict:
    started_at = started_at or datetime.now(timezone.utc).replace(microsecond=0)
    waiting = payloads.case_step(
        step, title={"th": "แจ้งฝ่ายพัสดุเพื่อจัดซื้ออุปกรณ์", "en": "Ask supplies to buy the parts"}, role="supplies",
        assignee=assignee, assignee_contact=payloads.staff_contact(assignee, name="งานพัสดุ") if assignee else None,
        started_at=started_at, due_at=None, waiting_on=waiting_on)
    return payloads.envelope("case.step_waiting", payloads.step_waiting(
        code, step=waiting, waiting_on=waiting_on, fields={"asset_tag": "7440-001-0001/66"},
        subject="คอมพิวเตอร์ห้องธุรการเปิดไม่ติด"))


def test_a_wait_on_delivery_opens_one_purchase(procurement_people):
    envelope = waiting_event("SC-0001", "procurement-delivery")
    assert bus.consume(envelope).duplicate is False
    assert bus.consume(envelope).duplicate is True  # the inbox
    # another event saying the same (a re-sent wait): the same purchase, linked again
    again = {**envelope, "id": Event(type="x.y", source="assignment", payload={}).id}
    assert bus.consume(again).duplicate is False
    with bus.session() as session:
        [project] = session.scalars(select(Project)).all()
        assert (project.kind, project.stage, project.tracking_code) == ("purchase", "draft", "SC-0001")
        assert project.title == "คอมพิวเตอร์ห้องธุรการเปิดไม่ติด"
        assert project.purpose.startswith("แจ้งฝ่ายพัสดุเพื่อจัดซื้ออุปกรณ์")
        assert (project.case_step, project.case_waiting_on, project.case_sop) == (
            "parts-purchase", "procurement-delivery", "sesao-sc/repair")
        assert project.officer == "u-supplies" and project.officer_contact["email"] == "u-supplies@office.example"
    assert outbox_types().count("procurement.purchase_opened") == 1


def test_a_purchase_delivered_before_the_case_waits_tells_it_at_once(api):
    project = new_project(api, kind="purchase", title="ซื้อแรม", tracking_code="SC-0002")
    response = api("POST", f"/procurement/projects/{project['id']}/delivery", "u-supplies",
                   {"delivered_on": today().isoformat(), "ref": "ใบส่งของ 77"})
    assert response.status_code == 200 and "procurement.delivered" not in outbox_types()
    bus.consume(waiting_event("SC-0002", "procurement-delivery"))
    with bus.session() as session:
        [row] = session.scalars(select(Project)).all()
        assert row.case_notified_at is not None and row.case_step == "parts-purchase"
        delivered = session.scalars(select(Outbox).where(Outbox.type == "procurement.delivered")).all()
    assert len(delivered) == 1
    payload = delivered[0].envelope["payload"]
    assert (payload["tracking_code"], payload["step"], payload["project_id"], payload["delivered_on"]) == (
        "SC-0002", "parts-purchase", project["id"], today().isoformat())
    assert delivered[0].correlation_id == "SC-0002"
    # the same wait announced again: no second purchase, no second news
    bus.consume(waiting_event("SC-0002", "procurement-delivery"))
    assert count(Project) == 1 and outbox_types().count("procurement.delivered") == 1


def test_a_wait_on_a_contract_links_the_project_staff_opened(api):
    older = new_project(api, title="โครงการเก่า", tracking_code="AQA-9")
    api("POST", f"/procurement/projects/{older['id']}/cancel", "u-supplies", {"reason": "ซ้ำ"})
    project = new_project(api, title="จ้างพัฒนาระบบ AQA", tracking_code="AQA-9")
    bus.consume(waiting_event("AQA-9", "procurement-contract", step="deliver-milestones"))
    with bus.session() as session:
        row = session.get(Project, project["id"])
        assert (row.case_step, row.case_waiting_on) == ("deliver-milestones", "procurement-contract")
        assert row.case_notified_at is None  # no contract yet, nothing to tell
        assert session.get(Project, older["id"]).case_step is None
    assert count(Project) == 1 + 1
    # no project for the case: a draft hire is opened for it
    bus.consume(waiting_event("AQA-10", "procurement-contract", step="deliver-milestones"))
    with bus.session() as session:
        opened = session.scalars(select(Project).where(Project.tracking_code == "AQA-10")).one()
        assert (opened.kind, opened.stage, opened.case_waiting_on) == ("hire", "draft", "procurement-contract")
    assert "procurement.contract_completed" not in outbox_types()


def test_form_posts_and_a_quote_with_its_file(client, api, procurement_people, vendors):
    """The desk posts forms (urlencoded, or multipart with files): the same rules, empty boxes unsent."""
    people = procurement_people
    response = client.post("/procurement/projects", headers=people.headers("u-subhead"),
                           data={"title": "ซื้อสวิตช์เครือข่าย", "kind": "purchase", "budget": "45,000.00",
                                 "fiscal_year": "", "method": "", "officer_contact": ""})
    assert response.status_code == 201, response.get_json()
    project = response.get_json()
    assert project["budget"] == "45000.00" and project["method"] is None and project["fiscal_year"] > 2500
    pid = project["id"]
    received = (today() - timedelta(days=1)).isoformat()
    response = client.post(f"/procurement/projects/{pid}/quotes", headers=people.headers("u-subhead"),
                           content_type="multipart/form-data",
                           data={"vendor_id": str(vendors[1]), "amount": "43,900.00", "received_on": received,
                                 "valid_until": "", "document": (io.BytesIO(PDF), "ใบเสนอราคา บี.pdf")})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    [quote] = body["quotes"]
    assert quote["amount"] == "43900.00" and quote["valid_until"] is None and body["reference_price"] == "43900.00"
    [doc] = [d for d in body["documents"] if d["id"] == quote["document_id"]]
    assert doc["kind"] == "quote" and doc["name"] == "ใบเสนอราคา บี.pdf"
    # a quote whose file is refused keeps nothing, neither the quote nor a file
    files_before = procurement_files()
    response = client.post(f"/procurement/projects/{pid}/quotes", headers=people.headers("u-subhead"),
                           content_type="multipart/form-data",
                           data={"vendor_id": str(vendors[2]), "amount": "44000", "received_on": received,
                                 "document": (io.BytesIO(EXE), "quote.pdf")})
    assert response.status_code == 422 and "document" in response.get_json()["errors"]
    assert count(Quote) == 1 and count(Document) == 1 and procurement_files() == files_before
    # committee members as JSON text in a form field
    response = client.put(f"/procurement/projects/{pid}/committees/inspection", headers=people.headers("u-supplies"),
                          data={"appointed_on": today().isoformat(), "order_ref": "คำสั่ง 3/2569",
                                "members": json.dumps([{"name": "ผู้ตรวจรับ", "username": "u-inspect1"}])})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["committees"][0]["members"][0]["username"] == "u-inspect1"
