"""A repair case through the parts purchase, end to end over HTTP and the real broker: the request
is filed at intake, staff receive, check and diagnose it (parts needed), the case waits on
procurement, which opens a purchase for it by itself; supplies records the delivery through the
procurement API, and the case goes on at ``repair``. A repeated delivery event changes nothing."""
from __future__ import annotations

import io
import json
from datetime import datetime, timezone

from sqlalchemy import select

from services.assignment.adapters.bus import bus as assignment_bus
from services.procurement.adapters.bus import bus as procurement_bus
from services.procurement.adapters.models import Outbox, Project
from services.procurement.tests.conftest import procurement_people  # noqa: F401  (the shared staff fixture)
from shared.i18n import BANGKOK
from sopdesk.testing import drain

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def file_repair(client) -> str:
    body = {"sop": "sesao-sc/repair", "requester_name": "ครูสมศรี ใจดี", "requester_email": "somsri@school.example",
            "requester_unit": "โรงเรียนบ้านดอน", "subject": "เครื่องพิมพ์ห้องธุรการดึงกระดาษไม่เข้า",
            "details": "ลูกยางดึงกระดาษสึก", "consent": True, "asset_tag": "7440-006-0001/65",
            "location": "ห้องธุรการ อาคาร 1"}
    response = client.post("/intake/requests", data=json.dumps(body), headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["tracking_code"]


def act(client, people, code, who, body):
    response = client.post(f"/assignment/cases/{code}/actions", data=json.dumps(body),
                           headers={"Content-Type": "application/json", **people.headers(who)})
    assert response.status_code == 200, (body, response.get_json())
    return response.get_json()


def case(client, people, code) -> dict:
    response = client.get(f"/assignment/cases/{code}", headers=people.headers("u-head"))
    assert response.status_code == 200
    return response.get_json()


def test_repair_case_waits_on_the_purchase_and_resumes_at_repair(client, procurement_people):
    people = procurement_people
    code = file_repair(client)
    drain()
    act(client, people, code, "u-officer", {"step": "receive-form", "outcome": "done", "documents": [
        {"key": "repair-form", "name": "แบบฟอร์มแจ้งซ่อม.pdf", "ref": "paperless/123"}]})
    drain()
    act(client, people, code, "u-officer", {"step": "check-report", "outcome": "done"})
    drain()
    act(client, people, code, "u-officer", {"step": "diagnose", "outcome": "parts", "note": "ต้องเปลี่ยนลูกยาง"})
    drain()

    waiting = case(client, people, code)
    assert waiting["current_step"] == "parts-purchase"
    assert waiting["steps"][-1]["waiting_on"] == "procurement-delivery"

    # procurement opened the purchase for the case by itself
    listed = client.get(f"/procurement/projects?tracking_code={code}", headers=people.headers("u-supplies")).get_json()
    assert len(listed) == 1
    project = client.get(f"/procurement/projects/{listed[0]['id']}", headers=people.headers("u-supplies")).get_json()
    assert project["kind"] == "purchase" and project["stage"] == "draft"
    assert project["title"] == "เครื่องพิมพ์ห้องธุรการดึงกระดาษไม่เข้า"
    assert project["case"]["step"] == "parts-purchase" and project["case"]["waiting_on"] == "procurement-delivery"
    assert project["case"]["sop"] == "sesao-sc/repair" and project["case"]["notified_at"] is None
    assert project["officer"] == waiting["steps"][-1]["assignee"]

    # supplies records the delivery, with the delivery note
    delivered_on = datetime.now(timezone.utc).astimezone(BANGKOK).date().isoformat()
    response = client.post(f"/procurement/projects/{project['id']}/delivery",
                           data={"delivered_on": delivered_on, "note": "ได้รับลูกยางดึงกระดาษ 2 ชุด",
                                 "files": [(io.BytesIO(PDF), "ใบส่งของ.pdf")]},
                           headers=people.headers("u-supplies"), content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["stage"] == "delivered"
    ran = drain()
    assert "assignment.handle_events" in ran

    resumed = case(client, people, code)
    assert resumed["current_step"] == "repair" and resumed["status"] == "open"
    assert [s["step"] for s in resumed["steps"]] == ["receive-form", "check-report", "diagnose", "parts-purchase",
                                                     "repair"]
    assert resumed["steps"][-2]["status"] == "done" and resumed["steps"][-1]["status"] == "active"
    [entry] = [t for t in resumed["trail"] if t["kind"] == "resumed"]
    assert entry["actor"] == "procurement" and entry["step"] == "parts-purchase"
    assert entry["note"] == "ได้รับลูกยางดึงกระดาษ 2 ชุด"

    # the delivery news, delivered again (same event), and said again (another event): nothing moves
    with procurement_bus.session() as session:
        [row] = session.scalars(select(Outbox).where(Outbox.type == "procurement.delivered",
                                                     Outbox.correlation_id == code)).all()
        envelope = row.envelope
        notified = session.get(Project, project["id"]).case_notified_at
    assert envelope["payload"]["step"] == "parts-purchase" and envelope["payload"]["project_id"] == project["id"]
    assert notified is not None
    assert assignment_bus.consume(envelope).duplicate is True
    repeat = {**envelope, "id": "6f1c2d3e-0000-4000-8000-000000000001"}
    assert assignment_bus.consume(repeat).duplicate is False
    drain()
    after = case(client, people, code)
    assert after["current_step"] == "repair"
    assert [s["step"] for s in after["steps"]] == [s["step"] for s in resumed["steps"]]
    assert len([t for t in after["trail"] if t["kind"] == "resumed"]) == 1
    # a second delivery of the same purchase is refused
    response = client.post(f"/procurement/projects/{project['id']}/delivery",
                           data=json.dumps({"delivered_on": delivered_on, "ref": "ใบส่งของ 2"}),
                           headers={"Content-Type": "application/json", **people.headers("u-supplies")})
    assert response.status_code == 409
    with procurement_bus.session() as session:
        assert len(session.scalars(select(Outbox).where(Outbox.type == "procurement.delivered")).all()) == 1

    # the case goes on as usual to its close
    act(client, people, code, "u-officer", {"step": "repair", "outcome": "done"})
    drain()
    act(client, people, code, "u-officer", {"step": "verify", "outcome": "pass"})
    drain()
    act(client, people, code, "u-officer", {"step": "handover", "outcome": "done"})
    drain()
    assert case(client, people, code)["status"] == "closed"
