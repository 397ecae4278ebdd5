"""Vendors over the HTTP API on real PostgreSQL: the tax id's check digit and uniqueness, contacts
(their reads logged), what each vendor holds (contracts, quotes, claims), and who may do what."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from services.assignment.handlers import directory
from services.procurement.adapters.bus import bus
from services.procurement.adapters.models import AccessLog, Claim, Contract, Project, Quote, Vendor, VendorContact
from services.procurement.handlers.vendors import tax_id_check_digit, valid_tax_id
from services.procurement.tests.conftest import ProcurementPeople, _hash_once

@pytest.fixture
def people(clean, monkeypatch):
    """``sup`` (supplies), ``off`` (officer), ``fin`` (finance), ``clerk`` (no procurement role),
    ``boss`` (head), of one organisation (conftest's ``ProcurementPeople``)."""
    monkeypatch.setattr(directory, "hash_password", _hash_once)
    staff = ProcurementPeople()
    for name, roles in (("sup", ["supplies"]), ("off", ["officer"]), ("fin", ["finance"]),
                        ("clerk", ["intake-clerk"]), ("boss", ["head"])):
        staff.add(name, roles)
    return staff


def tax_id(n: int) -> str:
    """A valid tax id: twelve digits from ``n`` and their check digit."""
    first = f"{n:012d}"
    return first + str(tax_id_check_digit(first))


def call(client, method: str, path: str, who: str, people, body=None):
    headers = people.headers(who)
    if body is not None:
        headers["Content-Type"] = "application/json"
    response = client.open(path, method=method, headers=headers,
                           data=json.dumps(body) if body is not None else None)
    return response, response.get_json(silent=True)


def vendor_count() -> int:
    with bus.session() as session:
        return session.scalar(select(func.count()).select_from(Vendor))


def test_tax_id_check_digit():
    # worked by hand: 0 1 0 5 5 3 6 0 0 0 3 1 weighted 13..2 -> 0+12+0+50+45+24+42+0+0+0+9+2 = 184;
    # 184 mod 11 = 8; (11 - 8) mod 10 = 3
    assert tax_id_check_digit("010553600031") == 3
    assert valid_tax_id("0105536000313")
    assert not valid_tax_id("0105536000314")
    assert not valid_tax_id("010553600031")  # twelve digits
    assert not valid_tax_id("01055360003a3")
    # a remainder of 0 or 1 wraps: (11 - 0) mod 10 = 1, (11 - 1) mod 10 = 0
    assert tax_id_check_digit("000000000000") == 1  # sum 0
    assert tax_id_check_digit("000000000006") == 0  # 6 * 2 = 12, 12 mod 11 = 1
    assert tax_id_check_digit("100000000000") == 9  # 1 * 13 = 13, 13 mod 11 = 2, 11 - 2 = 9
    # every other last digit is refused
    for n in (1, 42, 987654321, 555555555555):
        good = tax_id(n)
        assert valid_tax_id(good)
        assert [d for d in "0123456789" if valid_tax_id(good[:12] + d)] == [good[12]]


def test_register_list_filter_and_conflicts(client, people):
    body = {"name": "บริษัท คอมพิวเตอร์ไทย จำกัด", "tax_id": "0-1055-36000-31-3", "address": "กรุงเทพฯ",
            "contacts": [{"name": "คุณสมชาย", "email": "somchai@vendor.example", "phone": "02-123-4567",
                          "role": "support", "emergency": True}]}
    response, created = call(client, "POST", "/procurement/vendors", "sup", people, body)
    assert response.status_code == 201, created
    assert created["tax_id"] == "0105536000313"  # dashes dropped
    assert created["contacts"][0]["name"] == "คุณสมชาย" and created["contacts"][0]["emergency"] is True
    assert created["contracts"] == [] and created["quotes"] == [] and created["claims"] == []

    # the same tax id again: 409, and nothing more stored
    response, answer = call(client, "POST", "/procurement/vendors", "sup", people,
                            {"name": "อีกบริษัท", "tax_id": "0105536000313"})
    assert response.status_code == 409 and "tax_id" in answer["errors"]
    # a wrong check digit: 422 with the field's message
    response, answer = call(client, "POST", "/procurement/vendors", "sup", people,
                            {"name": "ผิด", "tax_id": "0105536000314"})
    assert response.status_code == 422 and "tax_id" in answer["errors"]
    response, answer = call(client, "POST", "/procurement/vendors", "sup", people,
                            {"name": "", "tax_id": tax_id(7), "contacts": [{"name": "x", "email": "not-mail"}]})
    assert response.status_code == 422 and {"name", "contacts"} <= set(answer["errors"])
    assert vendor_count() == 1
    # only supplies register vendors
    for who in ("off", "fin", "boss"):
        response, _ = call(client, "POST", "/procurement/vendors", who, people, {"name": "x", "tax_id": tax_id(8)})
        assert response.status_code == 403
    assert vendor_count() == 1

    call(client, "POST", "/procurement/vendors", "sup", people, {"name": "Acme Printers", "tax_id": tax_id(1234)})
    call(client, "POST", "/procurement/vendors", "sup", people, {"name": "ห้างหุ้นส่วน ปริ้นท์", "tax_id": tax_id(99)})
    response, page = call(client, "GET", "/procurement/vendors", "off", people)
    assert response.status_code == 200 and page["total"] == 3
    assert [v["name"] for v in page["items"]] == sorted(v["name"] for v in page["items"])
    assert "contacts" not in page["items"][0]  # the list shows no people
    _, page = call(client, "GET", "/procurement/vendors?q=printer", "fin", people)
    assert [v["name"] for v in page["items"]] == ["Acme Printers"]
    _, page = call(client, "GET", "/procurement/vendors?q=ปริ้นท์", "fin", people)
    assert [v["name"] for v in page["items"]] == ["ห้างหุ้นส่วน ปริ้นท์"]
    _, page = call(client, "GET", "/procurement/vendors?q=010553", "fin", people)
    assert [v["tax_id"] for v in page["items"]] == ["0105536000313"]
    _, page = call(client, "GET", "/procurement/vendors?per_page=2&page=2", "fin", people)
    assert page["total"] == 3 and len(page["items"]) == 1
    response, _ = call(client, "GET", "/procurement/vendors", "clerk", people)
    assert response.status_code == 403
    assert client.get("/procurement/vendors").status_code == 401


def test_patch_and_contacts(client, people):
    _, first = call(client, "POST", "/procurement/vendors", "sup", people, {"name": "หนึ่ง", "tax_id": tax_id(1)})
    _, second = call(client, "POST", "/procurement/vendors", "sup", people, {"name": "สอง", "tax_id": tax_id(2)})
    response, answer = call(client, "PATCH", f"/procurement/vendors/{second['id']}", "sup", people,
                            {"tax_id": tax_id(1)})
    assert response.status_code == 409 and "tax_id" in answer["errors"]
    response, answer = call(client, "PATCH", f"/procurement/vendors/{second['id']}", "sup", people,
                            {"name": "สอง (ใหม่)", "language": "en", "active": False})
    assert response.status_code == 200 and (answer["name"], answer["language"], answer["active"]) == (
        "สอง (ใหม่)", "en", False)
    response, answer = call(client, "PATCH", f"/procurement/vendors/{second['id']}", "sup", people,
                            {"colour": "red"})
    assert response.status_code == 422 and "colour" in answer["errors"]
    response, _ = call(client, "PATCH", f"/procurement/vendors/{second['id']}", "off", people, {"name": "x"})
    assert response.status_code == 403
    response, _ = call(client, "PATCH", "/procurement/vendors/999999", "sup", people, {"name": "x"})
    assert response.status_code == 404

    response, contact = call(client, "POST", f"/procurement/vendors/{first['id']}/contacts", "sup", people,
                             {"name": "คุณวิไล", "phone": "081-234-5678", "role": "sales"})
    assert response.status_code == 201 and contact["name"] == "คุณวิไล" and contact["email"] is None
    response, _ = call(client, "POST", f"/procurement/vendors/{first['id']}/contacts", "sup", people,
                       {"name": "x", "email": "nope"})
    assert response.status_code == 422
    # a contact of another vendor is not this vendor's to delete
    response, _ = call(client, "DELETE", f"/procurement/vendors/{second['id']}/contacts/{contact['id']}", "sup",
                       people)
    assert response.status_code == 404
    response, _ = call(client, "DELETE", f"/procurement/vendors/{first['id']}/contacts/{contact['id']}", "sup",
                       people)
    assert response.status_code == 204
    with bus.session() as session:
        assert session.scalar(select(func.count()).select_from(VendorContact)) == 0


def test_detail_shows_contracts_quotes_claims_and_logs_the_contacts_read(client, people):
    _, vendor = call(client, "POST", "/procurement/vendors", "sup", people,
                     {"name": "บริษัท เน็ตเวิร์ค จำกัด", "tax_id": tax_id(555),
                      "contacts": [{"name": "คุณเอ", "email": "a@net.example"}]})
    _, other = call(client, "POST", "/procurement/vendors", "sup", people, {"name": "อื่น", "tax_id": tax_id(556)})
    with bus.session() as session:
        project = Project(org="sesao-sc", title="จ้างบำรุงรักษาเครือข่าย", stage="contract")
        session.add(project)
        session.flush()
        session.add_all([
            Quote(project_id=project.id, vendor_id=vendor["id"], amount=Decimal("480000.00"),
                  received_on=date(2026, 10, 1)),
            Quote(project_id=project.id, vendor_id=other["id"], amount=Decimal("500000.00"),
                  received_on=date(2026, 10, 2)),
            Contract(org="sesao-sc", project_id=project.id, number="12/2570", vendor_id=vendor["id"], amount=Decimal("480000.00"),
                     signed_on=date(2026, 10, 15), starts_on=date(2026, 10, 16), ends_on=date(2027, 9, 30)),
            Claim(org="sesao-sc", vendor_id=vendor["id"], tracking_code="SD-TEST-1", step="vendor-claim", reason="warranty"),
        ])
        session.commit()
    with bus.session() as session:
        logged_before = session.scalar(select(func.count()).select_from(AccessLog))
    response, detail = call(client, "GET", f"/procurement/vendors/{vendor['id']}", "boss", people)
    assert response.status_code == 200
    assert [c["number"] for c in detail["contracts"]] == ["12/2570"]
    assert detail["contracts"][0]["amount"] == "480000.00"
    assert [(q["amount"], q["project_title"]) for q in detail["quotes"]] == [("480000.00", "จ้างบำรุงรักษาเครือข่าย")]
    assert [(c["tracking_code"], c["reason"], c["open"]) for c in detail["claims"]] == [
        ("SD-TEST-1", "warranty", True)]
    assert detail["contacts"][0]["email"] == "a@net.example"
    with bus.session() as session:
        rows = session.scalars(select(AccessLog).order_by(AccessLog.at)).all()
    assert len(rows) == logged_before + 1
    assert (rows[-1].actor, rows[-1].record, rows[-1].record_id) == ("boss", "vendor_contacts", str(vendor["id"]))
    response, _ = call(client, "GET", "/procurement/vendors/424242", "boss", people)
    assert response.status_code == 404
