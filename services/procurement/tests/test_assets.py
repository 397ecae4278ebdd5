"""The asset register over the HTTP API on real PostgreSQL and Redis: registering and reading
assets (filters, pages, holders' reads logged), who may change what, loans, the asset check of
requests (``procurement.asset_checked``) and warranty claims opened and resolved by a repair case
that waits on its vendor, through intake, assignment and procurement's real consumers."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from services.procurement.adapters.bus import bus
from services.procurement.adapters.models import AccessLog, Asset, AssetLoan, Claim, Outbox
from services.procurement.tests.test_vendors import call, people, tax_id  # noqa: F401  (fixture)
from shared.events import Event
from shared.i18n import BANGKOK
from sopdesk import testing_events as payloads
from sopdesk.testing import drain



def today():
    """The Bangkok date now: read by each test as it starts (a date read when the module was
    collected is yesterday's for a test that runs after midnight in Bangkok, 17:00 UTC)."""
    return datetime.now(BANGKOK).date()


def make_vendor(client, people, n: int = 77, contacts=None) -> dict:
    response, vendor = call(client, "POST", "/procurement/vendors", "sup", people,
                            {"name": f"บริษัท ผู้ขาย {n} จำกัด", "tax_id": tax_id(n), "contacts": contacts or []})
    assert response.status_code == 201, vendor
    return vendor


def make_asset(client, people, **fields) -> dict:
    body = {"kind": "computer", **fields}
    response, asset = call(client, "POST", "/procurement/assets", "sup", people, body)
    assert response.status_code == 201, asset
    return asset


def count(model) -> int:
    with bus.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_register_read_filter_and_page(client, people):
    TODAY = today()  # the Bangkok date now, not when the module was collected (midnight may pass between)
    vendor = make_vendor(client, people)
    first = make_asset(client, people, tag="7440-001-0001/2566", model="Dell OptiPlex 7010", serial="SN1",
                       location="ห้องธุรการ", holder="นางสาวสมศรี ใจดี", vendor_tax_id=vendor["tax_id"],
                       acquired_on="2023-03-01", price="25900.5", warranty_ends_on=(TODAY + timedelta(days=200)).isoformat())
    assert first["price"] == "25900.50" and first["vendor"]["id"] == vendor["id"] and first["under_warranty"] is True
    assert first["status"] == "in_use" and first["ownership"] == "owned" and first["open_loan"] is None
    make_asset(client, people, tag="7440-001-0002/2566", kind="printer", vendor_id=vendor["id"],
               warranty_ends_on=(TODAY - timedelta(days=1)).isoformat(), ownership="leased")
    make_asset(client, people, tag="7440-001-0003/2566", warranty_ends_on=TODAY.isoformat(), status="in_repair")
    make_asset(client, people, tag="NB-0004", kind="notebook", status="retired")

    # the same tag again: 409; bad input: 422; nothing stored by either
    response, answer = call(client, "POST", "/procurement/assets", "sup", people,
                            {"tag": "7440-001-0001/2566", "kind": "computer"})
    assert response.status_code == 409 and "tag" in answer["errors"]
    response, answer = call(client, "POST", "/procurement/assets", "sup", people,
                            {"tag": " bad tag", "kind": "", "price": "-1", "ownership": "borrowed",
                             "acquired_on": "31/02/2566"})
    assert response.status_code == 422
    assert {"tag", "kind", "price", "ownership", "acquired_on"} <= set(answer["errors"])
    response, answer = call(client, "POST", "/procurement/assets", "sup", people,
                            {"tag": "X-1", "kind": "computer", "status": "on_loan"})
    assert response.status_code == 422 and "status" in answer["errors"]
    response, answer = call(client, "POST", "/procurement/assets", "sup", people,
                            {"tag": "X-2", "kind": "computer", "vendor_tax_id": tax_id(4444)})
    assert response.status_code == 422 and "vendor_tax_id" in answer["errors"]
    response, _ = call(client, "POST", "/procurement/assets", "off", people, {"tag": "X-3", "kind": "computer"})
    assert response.status_code == 403
    assert count(Asset) == 4

    # a tag with a slash is one path segment of the API, and so are its loans
    response, read = call(client, "GET", "/procurement/assets/7440-001-0001/2566", "fin", people)
    assert response.status_code == 200 and read["holder"] == "นางสาวสมศรี ใจดี"
    response, _ = call(client, "GET", "/procurement/assets/no-such-tag", "fin", people)
    assert response.status_code == 404

    def tags(query: str, who: str = "boss") -> list[str]:
        response, page = call(client, "GET", f"/procurement/assets{query}", who, people)
        assert response.status_code == 200, page
        return [a["tag"] for a in page["items"]]

    assert tags("") == ["7440-001-0001/2566", "7440-001-0002/2566", "7440-001-0003/2566", "NB-0004"]
    assert tags("?status=in_repair") == ["7440-001-0003/2566"]
    assert tags("?kind=printer") == ["7440-001-0002/2566"]
    assert tags("?ownership=leased") == ["7440-001-0002/2566"]
    # a warranty ending today is still active (Bangkok date); yesterday's is expired; none is neither
    assert tags("?warranty=active") == ["7440-001-0001/2566", "7440-001-0003/2566"]
    assert tags("?warranty=expired") == ["7440-001-0002/2566"]
    assert tags("?q=optiplex") == ["7440-001-0001/2566"]
    assert tags("?q=สมศรี") == ["7440-001-0001/2566"]
    assert tags(f"?vendor_id={vendor['id']}") == ["7440-001-0001/2566", "7440-001-0002/2566"]
    _, page = call(client, "GET", "/procurement/assets?per_page=3&page=2", "boss", people)
    assert page["total"] == 4 and [a["tag"] for a in page["items"]] == ["NB-0004"]
    response, answer = call(client, "GET", "/procurement/assets?warranty=soon", "boss", people)
    assert response.status_code == 422 and "warranty" in answer["errors"]
    response, _ = call(client, "GET", "/procurement/assets", "clerk", people)
    assert response.status_code == 403

    # every read that showed the holder is logged (the list, the read), by who read it
    with bus.session() as session:
        rows = session.execute(select(AccessLog.actor, AccessLog.record_id).where(AccessLog.record == "asset")).all()
    assert ("fin", str(first["id"])) in rows and ("boss", str(first["id"])) in rows
    assert all(record_id == str(first["id"]) for _, record_id in rows)  # the others have no holder


def test_who_may_change_what(client, people):
    make_asset(client, people, tag="PC-1", location="ห้อง 1")
    # an officer moves an asset between in use and in repair, and notes why
    response, answer = call(client, "PATCH", "/procurement/assets/PC-1", "off", people,
                            {"status": "in_repair", "note": "จอไม่ติด"})
    assert response.status_code == 200 and (answer["status"], answer["note"]) == ("in_repair", "จอไม่ติด")
    response, answer = call(client, "PATCH", "/procurement/assets/PC-1", "off", people, {"location": "ห้อง 2"})
    assert response.status_code == 403 and "location" in answer["errors"]
    response, _ = call(client, "PATCH", "/procurement/assets/PC-1", "off", people, {"status": "retired"})
    assert response.status_code == 403
    response, _ = call(client, "PATCH", "/procurement/assets/PC-1", "boss", people, {"status": "in_use"})
    assert response.status_code == 403
    response, answer = call(client, "PATCH", "/procurement/assets/PC-1", "sup", people, {"status": "on_loan"})
    assert response.status_code == 422 and "status" in answer["errors"]
    response, answer = call(client, "PATCH", "/procurement/assets/PC-1", "sup", people, {"tag": "PC-9"})
    assert response.status_code == 422 and "tag" in answer["errors"]
    # supplies change anything, and retire
    response, answer = call(client, "PATCH", "/procurement/assets/PC-1", "sup", people,
                            {"location": "ห้อง 2", "price": "100", "ownership": "leased", "status": "retired"})
    assert response.status_code == 200
    assert (answer["location"], answer["price"], answer["ownership"], answer["status"]) == (
        "ห้อง 2", "100.00", "leased", "retired")
    response, _ = call(client, "PATCH", "/procurement/assets/PC-1", "off", people, {"status": "in_use"})
    assert response.status_code == 409  # retired: only supplies bring it back
    with bus.session() as session:
        asset = session.scalar(select(Asset).where(Asset.tag == "PC-1"))
        assert (asset.status, asset.location) == ("retired", "ห้อง 2")


def test_loans(client, people):
    make_asset(client, people, tag="NB-SPARE-1", kind="notebook")
    make_asset(client, people, tag="NB-OWN-7", kind="notebook", holder="นายวิชัย")
    make_asset(client, people, tag="NB-OLD", kind="notebook", status="retired")
    loan_body = {"borrower": "นายวิชัย", "borrower_unit": "กลุ่มนโยบายและแผน", "tracking_code": "SD-2569-000123",
                 "replaces_tag": "NB-OWN-7", "lent_on": "2026-11-20", "due_back_on": "2026-12-04"}
    response, loan = call(client, "POST", "/procurement/assets/NB-SPARE-1/loans", "off", people, loan_body)
    assert response.status_code == 201, loan
    assert (loan["borrower"], loan["replaces_tag"], loan["open"], loan["asset_tag"]) == (
        "นายวิชัย", "NB-OWN-7", True, "NB-SPARE-1")
    _, asset = call(client, "GET", "/procurement/assets/NB-SPARE-1", "boss", people)
    assert asset["status"] == "on_loan" and asset["open_loan"]["id"] == loan["id"]
    # one open loan per machine; nothing lent that is not in use
    response, _ = call(client, "POST", "/procurement/assets/NB-SPARE-1/loans", "sup", people, loan_body)
    assert response.status_code == 409
    response, _ = call(client, "POST", "/procurement/assets/NB-OLD/loans", "sup", people, loan_body)
    assert response.status_code == 409
    call(client, "PATCH", "/procurement/assets/NB-OWN-7", "off", people, {"status": "in_repair"})
    response, _ = call(client, "POST", "/procurement/assets/NB-OWN-7/loans", "sup", people,
                       {**loan_body, "replaces_tag": None})
    assert response.status_code == 409
    response, answer = call(client, "POST", "/procurement/assets/NB-SPARE-1/loans", "sup", people,
                            {**loan_body, "due_back_on": "2026-11-01"})
    assert response.status_code == 422 and "due_back_on" in answer["errors"]
    # an on-loan asset's status moves only by the return
    response, _ = call(client, "PATCH", "/procurement/assets/NB-SPARE-1", "sup", people, {"status": "in_use"})
    assert response.status_code == 409
    response, _ = call(client, "POST", "/procurement/assets/NB-SPARE-1/loans", "boss", people, loan_body)
    assert response.status_code == 403
    assert count(AssetLoan) == 1

    path = f"/procurement/assets/NB-SPARE-1/loans/{loan['id']}/return"
    response, answer = call(client, "POST", path, "off", people, {"returned_on": "2026-11-19"})
    assert response.status_code == 422 and "returned_on" in answer["errors"]
    response, returned = call(client, "POST", path, "off", people, {"returned_on": "2026-12-01", "note": "คืนครบ"})
    assert response.status_code == 200 and returned["open"] is False and returned["returned_on"] == "2026-12-01"
    response, _ = call(client, "POST", path, "off", people, {"returned_on": "2026-12-02"})
    assert response.status_code == 409
    response, _ = call(client, "POST", f"/procurement/assets/NB-OWN-7/loans/{loan['id']}/return", "off", people,
                       {"returned_on": "2026-12-02"})
    assert response.status_code == 404  # not that asset's loan
    _, asset = call(client, "GET", "/procurement/assets/NB-SPARE-1", "boss", people)
    assert asset["status"] == "in_use" and asset["open_loan"] is None
    # lent again after the return
    response, second = call(client, "POST", "/procurement/assets/NB-SPARE-1/loans", "sup", people,
                            {"borrower": "นางสาวมาลี", "lent_on": "2026-12-03"})
    assert response.status_code == 201
    response, loans = call(client, "GET", "/procurement/assets/NB-SPARE-1/loans", "fin", people)
    assert [x["id"] for x in loans] == [second["id"], loan["id"]]
    with bus.session() as session:
        logged = set(session.scalars(select(AccessLog.record_id).where(AccessLog.record == "asset_loan",
                                                                      AccessLog.actor == "fin")))
    assert logged == {str(loan["id"]), str(second["id"])}


def _submitted(code: str, tag: str | None, received_at: datetime) -> Event:
    fields = {"location": "ห้องธุรการ"}
    if tag is not None:
        fields["asset_tag"] = tag
    return payloads.event("request.submitted", payloads.request_submitted(
        code, subject="เครื่องเปิดไม่ติด", details="-", fields=fields, received_at=received_at))


def _checked(code: str) -> list[dict]:
    with bus.session() as session:
        return [row.envelope for row in session.scalars(
            select(Outbox).where(Outbox.type == "procurement.asset_checked", Outbox.correlation_id == code))]


def test_asset_check_answers_each_request_naming_a_tag(client, people):
    vendor = make_vendor(client, people, contacts=[{"name": "คุณสมชาย", "phone": "02-111-2222",
                                                    "email": "service@vendor.example", "emergency": True}])
    make_asset(client, people, tag="PC-W", model="Lenovo M70", vendor_id=vendor["id"],
               warranty_ends_on="2026-11-10", acquired_on="2023-11-10")
    make_asset(client, people, tag="PC-L", vendor_id=vendor["id"], ownership="leased")
    # received on the last day of the warranty in Bangkok (23:30 there, 16:30 UTC): under warranty
    bus.consume(_submitted("SD-A", "  PC-W ", datetime(2026, 11, 10, 16, 30, tzinfo=timezone.utc)).to_envelope())
    # half an hour later it is the 11th in Bangkok: out of warranty
    bus.consume(_submitted("SD-B", "PC-W", datetime(2026, 11, 10, 17, 30, tzinfo=timezone.utc)).to_envelope())
    bus.consume(_submitted("SD-C", "PC-L", datetime(2026, 11, 10, 3, 0, tzinfo=timezone.utc)).to_envelope())
    bus.consume(_submitted("SD-D", "NO-SUCH", datetime(2026, 11, 10, 3, 0, tzinfo=timezone.utc)).to_envelope())
    bus.consume(_submitted("SD-E", None, datetime(2026, 11, 10, 3, 0, tzinfo=timezone.utc)).to_envelope())
    bus.consume(_submitted("SD-F", "   ", datetime(2026, 11, 10, 3, 0, tzinfo=timezone.utc)).to_envelope())

    [a] = _checked("SD-A")
    payload = a["payload"]
    assert (payload["tracking_code"], payload["asset_tag"], payload["found"]) == ("SD-A", "PC-W", True)
    asset = payload["asset"]
    assert (asset["tag"], asset["model"], asset["warranty_ends_on"], asset["acquired_on"]) == (
        "PC-W", "Lenovo M70", "2026-11-10", "2023-11-10")
    assert (asset["under_warranty"], asset["leased"], asset["ownership"]) == (True, False, "owned")
    assert asset["vendor"] == {"id": vendor["id"], "name": vendor["name"], "tax_id": vendor["tax_id"],
                               "contacts": [{"name": "คุณสมชาย", "email": "service@vendor.example",
                                             "phone": "02-111-2222", "role": "", "emergency": True}]}
    assert "holder" not in asset
    [b] = _checked("SD-B")
    assert b["payload"]["asset"]["under_warranty"] is False
    [c] = _checked("SD-C")
    assert (c["payload"]["asset"]["leased"], c["payload"]["asset"]["under_warranty"]) == (True, False)
    [d] = _checked("SD-D")
    assert (d["payload"]["found"], d["payload"]["asset"], d["payload"]["asset_tag"]) == (False, None, "NO-SUCH")
    assert _checked("SD-E") == [] and _checked("SD-F") == []
    # the event went to assignment's queue (the case keeps it)
    from sopdesk.testing import queued_events

    kinds = [envelope["type"] for envelope in queued_events("assignment")]
    assert kinds.count("procurement.asset_checked") == 4


def test_a_batch_of_requests_finds_its_assets_at_once_by_the_same_rule(client, people):
    """Requests handled one by one, then the same requests in one batch: the batch reads the
    register in two statements, not two per request, and every check says what it said one by
    one: the exact tag first, else the same tag in other letters' case (the oldest), not found,
    or nothing at all without a tag."""
    from sopdesk.testing import statements_sent

    vendor = make_vendor(client, people)
    make_asset(client, people, tag="PC-W", model="first", vendor_id=vendor["id"], warranty_ends_on="2026-11-10")
    make_asset(client, people, tag="pc-w", model="second")
    make_asset(client, people, tag="NB-1", model="notebook", ownership="leased")
    at = datetime(2026, 11, 10, 3, 0, tzinfo=timezone.utc)
    tags = {"A": "PC-W", "B": "pc-w", "C": "Pc-W", "D": " nb-1 ", "E": "NO-SUCH", "F": None}
    for name, tag in tags.items():
        bus.consume(_submitted(f"SD-ONE-{name}", tag, at).to_envelope())
    batch = [_submitted(f"SD-BATCH-{name}", tag, at).to_envelope() for name, tag in tags.items()]
    outcome, sent = statements_sent(bus.engine, lambda: bus.consume_batch(batch))
    assert outcome.failed == []
    assert len([s for s in sent if s.startswith("SELECT") and "FROM assets" in s]) == 2, sent

    def said(code):
        return [{k: v for k, v in envelope["payload"].items() if k not in ("tracking_code", "checked_at")}
                for envelope in _checked(code)]

    for name in tags:
        assert said(f"SD-BATCH-{name}") == said(f"SD-ONE-{name}"), name
    assert [said(f"SD-ONE-{name}")[0]["asset"]["model"] for name in "ABCD"] == ["first", "second", "first", "notebook"]
    assert said("SD-ONE-E")[0]["found"] is False and said("SD-ONE-F") == []


# ---------------------------------------------------------------------------------------------
# a repair case waiting on its vendor opens a claim and resolves it


def file_repair(client, people, tag: str) -> str:
    body = {"sop": "sesao-sc/repair", "requester_name": "ครูสมศรี ใจดี", "requester_email": "somsri@school.example",
            "requester_unit": "โรงเรียนบ้านดอน", "subject": "คอมพิวเตอร์เปิดไม่ติด", "details": "กดปุ่มแล้วเงียบ",
            "consent": True, "asset_tag": tag, "location": "ห้องธุรการ",
            "received_at": (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()}
    response = client.post("/intake/requests", data=json.dumps(body),
                           headers={"Content-Type": "application/json", **people.headers("boss")})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["tracking_code"]


def act(client, people, code: str, step: str, outcome: str, **extra):
    response = client.post(f"/assignment/cases/{code}/actions",
                           data=json.dumps({"step": step, "outcome": outcome, **extra}),
                           headers={"Content-Type": "application/json", **people.headers("off")})
    assert response.status_code == 200, response.get_json()
    drain()


def claims(**where) -> list[Claim]:
    with bus.session() as session:
        return list(session.scalars(select(Claim).filter_by(**where).order_by(Claim.id)))


def asset_status(tag: str) -> str:
    with bus.session() as session:
        return session.scalar(select(Asset.status).where(Asset.tag == tag))


def test_a_repair_case_waiting_on_the_vendor_opens_and_resolves_a_claim(client, people):
    TODAY = today()  # the Bangkok date now, not when the module was collected (midnight may pass between)
    vendor = make_vendor(client, people)
    make_asset(client, people, tag="7440-001-0099/2567", vendor_id=vendor["id"],
               warranty_ends_on=(TODAY + timedelta(days=90)).isoformat())
    code = file_repair(client, people, "7440-001-0099/2567")
    drain()
    act(client, people, code, "receive-form", "done",
        documents=[{"key": "repair-form", "name": "แบบฟอร์มแจ้งซ่อม.pdf", "ref": "paperless/1"}])
    act(client, people, code, "check-report", "done")
    assert claims() == []
    act(client, people, code, "diagnose", "warranty")  # -> vendor-claim, which waits on the vendor

    [claim] = claims()
    assert (claim.tracking_code, claim.step, claim.reason, claim.vendor_id, claim.resolved_at) == (
        code, "vendor-claim", "warranty", vendor["id"], None)
    assert asset_status("7440-001-0099/2567") == "in_repair"
    response, listed = call(client, "GET", "/procurement/claims?open=true", "boss", people)
    assert response.status_code == 200 and [c["tracking_code"] for c in listed] == [code]
    assert listed[0]["asset"]["tag"] == "7440-001-0099/2567"
    _, detail = call(client, "GET", f"/procurement/vendors/{vendor['id']}", "sup", people)
    assert [c["tracking_code"] for c in detail["claims"]] == [code]

    # the same wait announced again by a different event: still one claim
    from services.assignment.adapters.bus import bus as assignment_bus
    from services.assignment.adapters.models import Outbox as AssignmentOutbox

    with assignment_bus.session() as session:
        envelope = session.scalar(select(AssignmentOutbox.envelope).where(
            AssignmentOutbox.type == "case.step_waiting", AssignmentOutbox.correlation_id == code))
    again = Event(type=envelope["type"], source="assignment", payload=envelope["payload"], correlation_id=code)
    bus.consume(again.to_envelope())
    assert len(claims()) == 1

    act(client, people, code, "vendor-claim", "done", note="ร้านเปลี่ยนเมนบอร์ดให้ตามประกัน")
    [claim] = claims()
    assert claim.resolved_at is not None
    assert asset_status("7440-001-0099/2567") == "in_use"
    _, listed = call(client, "GET", "/procurement/claims?open=false", "boss", people)
    assert [c["open"] for c in listed] == [False]
    # the old announcement of the wait, delivered late, opens nothing again
    stale = Event(type=envelope["type"], source="assignment", payload=envelope["payload"], correlation_id=code,
                  occurred_at=datetime.fromisoformat(envelope["occurred_at"]))
    bus.consume(stale.to_envelope())
    assert len(claims()) == 1 and asset_status("7440-001-0099/2567") == "in_use"


def test_a_leased_asset_claim_and_an_asset_on_loan_keeps_its_status(client, people):
    TODAY = today()  # the Bangkok date now, not when the module was collected (midnight may pass between)
    vendor = make_vendor(client, people)
    make_asset(client, people, tag="PC-LEASE-1", vendor_id=vendor["id"], ownership="leased")
    make_asset(client, people, tag="PC-NOVENDOR")
    code = file_repair(client, people, "PC-LEASE-1")
    other = file_repair(client, people, "PC-NOVENDOR")
    drain()
    for case in (code, other):
        act(client, people, case, "receive-form", "done",
            documents=[{"key": "repair-form", "name": "form.pdf", "ref": "paperless/2"}])
        act(client, people, case, "check-report", "done")
    # the leased machine is out on loan meanwhile: the claim leaves its status alone
    call(client, "POST", "/procurement/assets/PC-LEASE-1/loans", "off", people,
         {"borrower": "ครูสมศรี", "lent_on": TODAY.isoformat()})
    act(client, people, code, "diagnose", "warranty")
    act(client, people, other, "diagnose", "warranty")  # no vendor on record: no claim
    [claim] = claims()
    assert (claim.tracking_code, claim.reason) == (code, "leased")
    assert asset_status("PC-LEASE-1") == "on_loan"
    act(client, people, code, "vendor-claim", "done")
    assert claims()[0].resolved_at is not None and asset_status("PC-LEASE-1") == "on_loan"


def test_a_tag_is_found_exactly_first_then_whatever_its_letters_case(client, people):
    from services.procurement.handlers.assets import find_asset

    first = make_asset(client, people, tag="PC-07", model="first registered")
    second = make_asset(client, people, tag="pc-07", model="second registered")
    other = make_asset(client, people, tag="PC-08", model="another")
    with bus.session() as session:
        found = {given: getattr(find_asset(session, "sesao-sc", given), "id", None)
                 for given in ("PC-07", " pc-07 ", "Pc-07", "pC-08", "PC-0", "")}
    # exact tags win over the older registration; otherwise the first registered of any case
    assert found == {"PC-07": first["id"], " pc-07 ": second["id"], "Pc-07": first["id"],
                     "pC-08": other["id"], "PC-0": None, "": None}
