"""Procurement's walls between organisations, route by route (tests/test_walls.py reads ``WALLS``
with the other services' and tries each route from another organisation; tests/walls.py says
the kinds), and ``build_world``: one of each thing procurement keeps, made in one organisation
through the API as its own staff would make them.

An object route's ``body`` is valid as its schema reads it: procurement validates a body before
it loads the thing, so an invalid one would answer 422 to anyone, and the wall (404) would go
untried."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

from tests.walls import Wall, World, lst, obj, own

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _bangkok_today():
    from shared.i18n import BANGKOK

    return datetime.now(timezone.utc).astimezone(BANGKOK).date()


TODAY = _bangkok_today().isoformat()
NOTE = "ทดสอบกำแพง"
TAG_PREFIX = "WALL-"  # every world's asset tag starts so (the desk's asset search finds them by it)

WALLS: dict[str, Wall] = {
    # vendors and their contacts
    "procurement_assets.vendor_list": lst("?per_page=200"),
    "procurement_assets.vendor_create": own("registers a vendor in the caller's own organisation's register"),
    "procurement_assets.vendor_read": obj(),
    "procurement_assets.vendor_update": obj({"address": NOTE}),
    "procurement_assets.contact_add": obj({"name": "คุณกำแพง"}),
    "procurement_assets.contact_delete": obj(),
    # the asset register, loans, claims
    "procurement_assets.asset_list": lst("?per_page=200"),
    "procurement_assets.asset_create": own("registers an asset in the caller's own organisation's register"),
    "procurement_assets.asset_export": lst(),
    "procurement_assets.asset_import": own("imports rows into the caller's own organisation's register"),
    "procurement_assets.asset_read": obj(),
    "procurement_assets.asset_update": obj({"note": NOTE}),
    "procurement_assets.loan_list": obj(),
    "procurement_assets.loan_create": obj({"borrower": "นายกำแพง", "lent_on": TODAY}),
    "procurement_assets.loan_return": obj({"returned_on": TODAY}),
    "procurement_assets.claim_list": lst(),
    # projects
    "procurement_projects.list_projects": lst("?limit=500"),
    "procurement_projects.create_project": own("opens a project in the caller's own organisation"),
    "procurement_projects.read_project": obj(),
    "procurement_projects.update_project": obj({"purpose": NOTE}),
    "procurement_projects.add_documents": obj({"kind": "memo", "name": "บันทึกกำแพง", "ref": "ที่ 1/2570"}),
    "procurement_projects.add_quote": obj({"vendor_id": 1, "amount": "1000.00", "received_on": TODAY}),
    "procurement_projects.remove_quote": obj(),
    "procurement_projects.change_stage": obj({"stage": "completed"}),
    "procurement_projects.decide_approval": obj({"kind": "tor", "decision": "approved"}),
    "procurement_projects.appoint_committee": obj({"order_ref": "คำสั่งกำแพง", "appointed_on": TODAY,
                                                    "members": [{"name": "นายกำแพง"}]}),
    "procurement_projects.record_delivery": obj({"delivered_on": TODAY, "ref": "ใบส่งของกำแพง"}),
    "procurement_projects.cancel_project": obj({"reason": NOTE}),
    "procurement_projects.download_document": obj(),
    # contracts and their milestones
    "procurement_contracts.list_contracts": lst("?limit=500"),
    "procurement_contracts.create_contract": own("signs a contract for a project of the caller's own organisation "
                                                 "(another's project_id is a 422 as for none)"),
    "procurement_contracts.read_contract": obj(),
    "procurement_contracts.list_milestones": obj(),
    "procurement_contracts.add_milestone": obj({"title": "งวดกำแพง", "due_on": TODAY, "amount": "1.00"}),
    "procurement_contracts.read_milestone": obj(),
    "procurement_contracts.deliver": obj({"delivered_on": TODAY, "ref": "หนังสือส่งมอบกำแพง"}),
    "procurement_contracts.evidence": obj({"ref": "ใบลงชื่อกำแพง"}),
    "procurement_contracts.acceptance": obj({"decision": "accepted"}),
    "procurement_contracts.payment": obj({"paid_on": TODAY, "payment_ref": "ขบ 1/2570"}),
    "procurement_contracts.report_incident": obj({"description": NOTE}),
    # the privacy officer's reading of the access log
    "procurement_access_log.access_log": lst("?limit=5000"),
    # the desk's pages and forms
    "procurement_desk.index": lst(),
    "procurement_desk.project_page": obj(),
    "procurement_desk.contract_page": obj(),
    "procurement_desk.deliver": obj({"delivered_on": TODAY, "ref": "หนังสือส่งมอบกำแพง"}),
    "procurement_desk.evidence": obj({"ref": "ใบลงชื่อกำแพง"}),
    "procurement_desk.acceptance": obj({"decision": "accepted"}),
    "procurement_desk.payment": obj({"paid_on": TODAY, "payment_ref": "ขบ 1/2570"}),
    "procurement_desk.due": lst(),
    "procurement_desk.acceptances": own("the deliveries awaiting the caller's own word as an inspection "
                                        "committee member"),
    "procurement_desk.assets_page": lst(f"?q={TAG_PREFIX}"),
    "procurement_desk.vendors_page": lst(),
    "procurement_desk.vendor_create": own("registers a vendor in the caller's own organisation's register"),
    "procurement_desk.vendor_page": obj({"address": NOTE, "active": "on"}),
    "procurement_desk.vendor_contact_add": obj({"name": "คุณกำแพง"}),
    # (its control would remove the one contact the API's DELETE is tried on)
    "procurement_desk.vendor_contact_remove": own("removes a contact of a vendor of the caller's own organisation "
                                                  "only (another's: 404)"),
    "procurement_desk.project_new": own("the form that opens a project in the caller's own organisation"),
    "procurement_desk.project_create": own("opens a project in the caller's own organisation"),
    "procurement_desk.project_edit": obj({"purpose": NOTE}),
    "procurement_desk.project_documents": obj({"kind": "memo", "name": "บันทึกกำแพง", "ref": "ที่ 1/2570"}),
    "procurement_desk.project_quote": obj({"vendor_id": "1", "amount": "1000.00", "received_on": TODAY}),
    "procurement_desk.project_quote_remove": obj(),
    "procurement_desk.project_approval": obj({"kind": "tor", "decision": "approved"}),
    "procurement_desk.project_committee": obj({"kind": "tor", "appointed_on": TODAY, "members-0-name": "นายกำแพง"}),
    "procurement_desk.project_stage": obj({"stage": "completed"}),
    "procurement_desk.project_delivery": obj({"delivered_on": TODAY, "ref": "ใบส่งของกำแพง"}),
    "procurement_desk.project_cancel": obj({"reason": NOTE}),
    "procurement_desk.contract_new": obj({"number": "กำแพง 1/2570"}),
    "procurement_desk.contract_incident": obj({"description": NOTE}),
    "procurement_desk.asset_page": obj(),
    "procurement_desk.asset_lend": obj({"borrower": "นายกำแพง", "lent_on": TODAY}),
    "procurement_desk.asset_return": obj({"returned_on": TODAY}),
    "procurement_desk.asset_import": own("imports rows into the caller's own organisation's register"),
}


def _tax_id(seed: int) -> str:
    from services.procurement.handlers.vendors import tax_id_check_digit

    first12 = f"{seed:012d}"
    return first12 + str(tax_id_check_digit(first12))


def build_world(org: str) -> World:
    """In ``org``, through procurement's API as its own staff: a vendor with a contact; a project
    with a TOR file, a quote, its principle approved, an inspection committee (one member who logs
    in) and a contract of two milestones, the first delivered with evidence and awaiting the
    committee's word; an asset of the vendor on loan; a warranty claim on it (a case waiting on the
    vendor). Its ``values`` fill every procurement route's path; its ``markers`` are the project's
    title, the vendor's name and tax id, the asset's tag, the contract's number and the name of the
    world's own reader (the access log's rows name them)."""
    from werkzeug.test import Client

    from services.procurement.adapters.bus import bus
    from sopdesk import testing_events as payloads
    from sopdesk.gateway import create_gateway
    from sopdesk.testing import make_staff

    client = Client(create_gateway())
    supplies, director, inspector = f"wall-supplies-{org}", f"wall-director-{org}", f"wall-inspector-{org}"
    tokens = {name: make_staff(name, [role], org)[1]
              for name, role in ((supplies, "supplies"), (director, "director"), (inspector, "inspection-committee"))}

    def call(who: str, method: str, url: str, expected: int = 200, **kwargs) -> dict:
        response = client.open(url, method=method, headers={"Authorization": f"Bearer {tokens[who]}",
                                                             "Accept-Language": "en"}, **kwargs)
        assert response.status_code == expected, (method, url, response.status_code, response.get_data(as_text=True))
        return response.get_json()

    today = _bangkok_today()
    title = f"โครงการจ้างพัฒนาระบบกำแพง ({org})"
    vendor_name = f"บริษัท กำแพงสูง ซอฟต์แวร์ จำกัด ({org})"
    tax_id = _tax_id(9_876_543_210 + sum(map(ord, org)))
    tag = f"{TAG_PREFIX}{org.upper()}-0001"
    number = f"กำแพง {org} 7/2570"

    vendor = call(supplies, "POST", "/procurement/vendors", 201, json={
        "name": vendor_name, "tax_id": tax_id,
        "contacts": [{"name": "คุณติดต่อ กำแพง", "email": f"contact@wall-{org}.example", "emergency": True}]})
    project = call(supplies, "POST", "/procurement/projects", 201, json={
        "title": title, "purpose": "ระบบสารสนเทศ", "kind": "hire", "budget": "500000.00"})
    pid = project["id"]
    project = call(supplies, "POST", f"/procurement/projects/{pid}/documents", 201,
                   data={"kind": "tor", "files": (io.BytesIO(PDF), "tor-wall.pdf")},
                   content_type="multipart/form-data")
    document_id = next(d["id"] for d in project["documents"] if d["has_file"])
    project = call(supplies, "POST", f"/procurement/projects/{pid}/quotes", 201, json={
        "vendor_id": vendor["id"], "amount": "450000.00", "received_on": today.isoformat()})
    quote_id = project["quotes"][0]["id"]
    call(supplies, "PUT", f"/procurement/projects/{pid}/committees/inspection", json={
        "order_ref": "คำสั่งที่ 9/2570", "appointed_on": today.isoformat(),
        "members": [{"username": inspector, "name": "นายตรวจ กำแพง", "email": f"{inspector}@office.example",
                     "position": "chair"}]})
    call(supplies, "POST", f"/procurement/projects/{pid}/stage", json={"stage": "approval"})
    call(director, "POST", f"/procurement/projects/{pid}/approvals", 201, json={
        "kind": "principle-budget", "decision": "approved"})
    call(supplies, "POST", f"/procurement/projects/{pid}/stage", json={"stage": "procurement"})
    contract = call(supplies, "POST", "/procurement/contracts", 201, json={
        "project_id": pid, "vendor_id": vendor["id"], "number": number, "amount": "450000.00",
        "signed_on": (today - timedelta(days=40)).isoformat(), "starts_on": (today - timedelta(days=40)).isoformat(),
        "ends_on": (today + timedelta(days=60)).isoformat(), "warranty_months": 12,
        "milestones": [
            {"title": "งวดที่ 1 ออกแบบระบบ", "due_on": (today - timedelta(days=5)).isoformat(), "amount": "200000.00"},
            {"title": "งวดที่ 2 ส่งมอบระบบ", "due_on": (today + timedelta(days=20)).isoformat(),
             "amount": "250000.00"}]})
    cid, milestone_id = contract["id"], contract["milestones"][0]["id"]
    call(supplies, "POST", f"/procurement/contracts/{cid}/milestones/{milestone_id}/delivery", json={
        "delivered_on": today.isoformat(), "ref": "หนังสือส่งมอบงวดที่ 1"})
    call(supplies, "POST", f"/procurement/contracts/{cid}/milestones/{milestone_id}/evidence", 201, json={
        "ref": "รายงานการออกแบบ"})
    call(supplies, "POST", "/procurement/assets", 201, json={
        "tag": tag, "kind": "computer", "model": "Wall 9000", "vendor_id": vendor["id"], "ownership": "owned",
        "warranty_ends_on": (today + timedelta(days=365)).isoformat(), "holder": "งานกำแพง"})
    loan = call(supplies, "POST", f"/procurement/assets/{tag}/loans", 201, json={
        "borrower": "นางสาวยืม กำแพง", "lent_on": today.isoformat()})
    # the claim: a case of the organisation waits on the vendor to repair the machine
    waiting = payloads.case_step("vendor-claim", role="supplies", waiting_on="vendor")
    bus.consume(payloads.envelope("case.step_waiting", payloads.step_waiting(
        f"WALL-{org.upper()}-1", step=waiting, fields={"asset_tag": tag}, subject="เครื่องกำแพงเสีย",
        sop=f"{org}/repair"), correlation_id=f"WALL-{org.upper()}-1"))
    vendor_detail = call(supplies, "GET", f"/procurement/vendors/{vendor['id']}")  # its read is logged
    assert vendor_detail["claims"], "the claim on the vendor"
    # every answer says whose it is
    asset = call(supplies, "GET", f"/procurement/assets/{tag}")
    assert vendor["org"] == project["org"] == contract["org"] == asset["org"] == org
    assert [p["org"] for p in call(supplies, "GET", "/procurement/projects")] == [org]
    assert [c["org"] for c in call(supplies, "GET", "/procurement/contracts")] == [org]
    return World(org, values={
        "vendor_id": str(vendor["id"]), "contact_id": str(vendor_detail["contacts"][0]["id"]), "tag": tag,
        "loan_id": str(loan["id"]), "project_id": str(pid), "quote_id": str(quote_id), "kind": "inspection",
        "document_id": str(document_id), "contract_id": str(cid), "milestone_id": str(milestone_id),
    }, markers=[title, vendor_name, tax_id, tag, number, supplies])
