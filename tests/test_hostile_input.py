"""Hostile input gets a 4xx, never a 500, and stores nothing (issue 13, item 5): what schemathesis
found, sent to the real routes of the four services on real PostgreSQL. A tracking token that is
not ASCII is a wrong token; a NUL, a lone surrogate or bytes that are not UTF-8 in a field are a
422 that names the field, as every other wrong value is, and a NUL in the path a 400
(shared/inputs.py); an id or an offset larger than the column holds is a 404 (in
the URL) or a 422 on the field; a value the database still refuses is a 400 (the safety net)."""
from __future__ import annotations

import io
import json

import pytest
from flask_smorest import Blueprint
from sqlalchemy import func, select, text

from services.assignment.adapters.bus import bus as assignment_bus
from services.assignment.adapters.models import AccessLog, Case
from services.intake.adapters.bus import bus as intake_bus
from services.intake.adapters.models import Answer, Attachment, Request
from services.procurement.adapters.bus import bus as procurement_bus
from services.procurement.adapters.models import Contract, Vendor
from services.procurement.tests.conftest import procurement_people  # noqa: F401  (the shared staff fixture)
from shared import db
from shared.config import get_settings
from shared.tracking import tracking_token
from shared.web import create_service_app
from sopdesk.testing import drain

GOOD = {"sop": "sesao-sc/repair", "requester_name": "ครูสมชาย รักเรียน", "requester_email": "somchai@school.example",
        "requester_unit": "โรงเรียนบ้านนา", "subject": "เครื่องพิมพ์กระดาษติด", "details": "พิมพ์ไม่ออก",
        "consent": True, "asset_tag": "7440-005-0007", "location": "ห้องธุรการ"}
JSON = {"Content-Type": "application/json"}
NUL_MESSAGES = ("Contains a NUL character (U+0000), which no text may hold.", "มีอักขระ NUL (U+0000)")
NOT_TEXT_MESSAGES = ("Is not valid UTF-8 text.", "ไม่ใช่ข้อความ UTF-8 ที่ถูกต้อง")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde" + b"\x00" * 32


def stored() -> dict:
    """The rows a hostile post could leave: requests, attachments, answers; cases; vendors, contracts."""
    with intake_bus.session() as session:
        counts = {name: session.scalar(select(func.count()).select_from(model))
                  for name, model in (("requests", Request), ("attachments", Attachment), ("answers", Answer))}
    with assignment_bus.session() as session:
        counts["cases"] = session.scalar(select(func.count()).select_from(Case))
    with procurement_bus.session() as session:
        counts["vendors"] = session.scalar(select(func.count()).select_from(Vendor))
        counts["contracts"] = session.scalar(select(func.count()).select_from(Contract))
    return counts


def file_request(client) -> str:
    response = client.post("/intake/requests", data=json.dumps(GOOD), headers=JSON)
    assert response.status_code == 201, response.get_json()
    code = response.get_json()["tracking_code"]
    drain()  # the case is opened at assignment
    return code


def refused(response, status: int, field: str, messages=NUL_MESSAGES) -> None:
    body = response.get_json()
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    assert body["code"] == status and body["message"]
    assert field in body["errors"], body["errors"]
    assert any(m in " ".join(body["errors"][field]) for m in messages), body["errors"]


@pytest.fixture
def staff(procurement_people):  # noqa: F811
    """The officer (assignment, notify) and supplies (procurement), by their bearer headers."""
    return procurement_people


# --- 1. a tracking token that is not ASCII is only a wrong token --------------------------------------


@pytest.mark.parametrize("token", ["ทดสอบ", "é", "\u2603" * 24])
def test_a_tracking_token_that_is_not_ascii_is_a_wrong_token(client, clean, token):
    code = file_request(client)
    wrong = client.get(f"/intake/track/{code}", query_string={"token": "not-the-token"},
                       headers={"Accept": "application/json"})
    hostile = client.get(f"/intake/track/{code}", query_string={"token": token},
                         headers={"Accept": "application/json"})
    assert wrong.status_code == hostile.status_code == 404
    assert hostile.get_json() == wrong.get_json()
    assert "message" in hostile.get_json()
    # the confirmation page: without the right token it shows the code and no tracking link
    page = client.get(f"/intake/submitted/{code}", query_string={"token": token})
    assert page.status_code == 200 and code in page.get_data(as_text=True)
    assert tracking_token(code) not in page.get_data(as_text=True)
    survey = client.post(f"/intake/track/{code}/survey", query_string={"token": token},
                         data=json.dumps({"score": 5}), headers=JSON)
    assert survey.status_code == 404


def test_a_csrf_token_that_is_not_ascii_is_a_wrong_token(client, clean):
    client.get("/intake/forms/sesao-sc/repair")  # the session holds a token now
    before = stored()
    form = {**GOOD, "consent": "on", "csrf_token": "โทเค็นปลอม"}
    response = client.post("/intake/requests", data=form, headers={"Accept": "application/json"})
    assert response.status_code == 403 and response.get_json()["message"]
    assert stored() == before


# --- 2. a NUL anywhere a text goes -------------------------------------------------------------------

# (label, method, url, body as JSON, the field named, needs a case code)
NUL_CASES = [
    ("sop", "POST", "/intake/requests", {**GOOD, "sop": "sesao-sc/repair\x00"}, "sop"),
    ("a nested form field", "POST", "/intake/requests", {**GOOD, "fields": {"asset_tag": "A\x00"}}, "fields.asset_tag"),
    ("a key", "POST", "/intake/requests", {**GOOD, "x\x00": "y"}, "x\\x00"),
    ("assignee", "POST", "/assignment/cases/{code}/actions",
     {"step": "receive-form", "outcome": "assign", "assignee": "u-officer\x00"}, "assignee"),
    ("a case code in the URL", "GET", "/assignment/cases/SD-%00", None, "_path"),
    ("a case code on the desk", "GET", "/assignment/desk/cases/SD-%00", None, "_path"),
    ("a case list filter", "GET", "/assignment/cases?sop=%00", None, "sop"),
    ("correlation_id", "GET", "/notify/messages?correlation_id=SD-%00", None, "correlation_id"),
    ("a vendor search", "GET", "/procurement/vendors?q=%00", None, "q"),
    ("an asset tag", "GET", "/procurement/assets/7440%00-1", None, "_path"),
    ("a vendor's name", "POST", "/procurement/vendors", {"name": "บริษัท\x00", "tax_id": "0105551234567"}, "name"),
]


@pytest.mark.parametrize("label,method,url,body,field", NUL_CASES, ids=[c[0] for c in NUL_CASES])
def test_a_nul_is_refused_naming_the_field(client, staff, label, method, url, body, field):
    code = file_request(client) if "{code}" in url else ""
    before = stored()
    who = "u-supplies" if url.startswith("/procurement") else "u-officer"
    headers = {**staff.headers(who), "Accept": "application/json", "Accept-Language": "en"}
    if body is None:
        response = client.open(url.format(code=code), method=method, headers=headers)
    else:
        response = client.open(url.format(code=code), method=method, data=json.dumps(body), headers={**headers, **JSON})
    refused(response, 400 if field == "_path" else 422, field)
    assert stored() == before


def test_a_nul_in_a_form_field_is_refused_in_the_pages_language_and_the_files_bytes_are_not_looked_at(client, clean):
    before = stored()
    form = {**GOOD, "consent": "on", "details": "พิมพ์\x00ไม่ออก",
            "photos": (io.BytesIO(PNG), "scan.png", "image/png")}
    response = client.post("/intake/requests", data=form, content_type="multipart/form-data",
                           headers={"Accept": "application/json", "Accept-Language": "th"})
    refused(response, 422, "details")
    assert "มีอักขระ NUL" in response.get_json()["errors"]["details"][0]
    assert stored() == before
    # the same file (a PNG is full of NULs) with good text is filed: a file's bytes are its own business
    csrf = _csrf(client)
    good = {**GOOD, "consent": "on", "csrf_token": csrf,
            "photos": (io.BytesIO(PNG), "scan.png", "image/png")}
    response = client.post("/intake/requests", data=good, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[-400:]
    assert stored()["requests"] == before["requests"] + 1


def test_a_nul_in_a_file_name_is_refused(client, clean):
    before = stored()
    form = {**GOOD, "consent": "on", "photos": (io.BytesIO(PNG), "scan\x00.png", "image/png")}
    response = client.post("/intake/requests", data=form, content_type="multipart/form-data",
                           headers={"Accept": "application/json", "Accept-Language": "en"})
    refused(response, 422, "photos")
    assert stored() == before


# --- 3. an id in the URL larger than an integer column holds: no such route ------------------------


@pytest.mark.parametrize("url", ["/procurement/vendors/2147483648", "/procurement/contracts/99999999999999999999",
                                 "/procurement/projects/2147483648", "/procurement/documents/9223372036854775808",
                                 "/procurement/contracts/1/milestones/2147483648"])
def test_an_id_above_the_integer_column_is_not_found(client, staff, url):
    response = client.get(url, headers={**staff.headers("u-supplies"), "Accept": "application/json"})
    assert response.status_code == 404 and response.get_json()["message"]


def test_the_largest_id_the_column_holds_still_reaches_the_view(client, staff):
    response = client.get("/procurement/vendors/2147483647", headers=staff.headers("u-supplies"))
    assert response.status_code == 404  # the view looked it up: no such vendor, not no such route
    document = client.get("/procurement/openapi.json").get_json()
    path = document["paths"]["/procurement/vendors/{vendor_id}"]
    vendor_id = [p for p in path.get("parameters", []) + path["get"].get("parameters", [])
                 if p["name"] == "vendor_id"][0]
    assert vendor_id["schema"]["maximum"] == 2147483647


# --- 4. integers bound for SQL: 422 on the field -----------------------------------------------------

BIG = 9223372036854775808  # 2^63
INTEGER_CASES = [
    ("/assignment/cases?offset={n}", "offset", "u-officer"),
    ("/notify/messages?offset={n}", "offset", "u-director"),  # the mail log: for those who see all
    ("/procurement/contracts?offset={n}", "offset", "u-supplies"),
    ("/procurement/projects?offset={n}", "offset", "u-supplies"),
    ("/procurement/contracts?vendor_id={n}", "vendor_id", "u-supplies"),
    ("/procurement/claims?vendor_id={n}", "vendor_id", "u-supplies"),
]


@pytest.mark.parametrize("n", [BIG, 2147483648, -1])
@pytest.mark.parametrize("url,field,who", INTEGER_CASES, ids=[c[1] + "@" + c[0].split("?")[0] for c in INTEGER_CASES])
def test_an_integer_the_column_cannot_hold_is_refused_on_its_field(client, staff, url, field, who, n):
    response = client.get(url.format(n=n), headers={**staff.headers(who), "Accept": "application/json"})
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert field in response.get_json()["errors"]


def test_ids_in_a_body_the_column_cannot_hold_are_refused_and_nothing_is_stored(client, staff):
    before = stored()
    body = {"project_id": BIG, "number": "1/2570", "vendor_id": 2147483648, "amount": "1000.00",
            "signed_on": "2026-01-05", "starts_on": "2026-01-06", "ends_on": "2026-03-01",
            "milestones": [{"title": "งวดเดียว", "amount": "1000.00", "due_on": "2026-03-01"}]}
    response = client.post("/procurement/contracts", data=json.dumps(body),
                           headers={**staff.headers("u-supplies"), **JSON})
    assert response.status_code == 422, response.get_json()
    assert {"project_id", "vendor_id"} <= set(response.get_json()["errors"])
    assert stored() == before


def test_the_desk_with_a_year_no_column_holds_shows_every_year(client, staff):
    response = client.get("/procurement/desk/?fy=99999999999", headers=staff.headers("u-supplies"))
    assert response.status_code == 200


# --- 5. a lone surrogate in JSON -----------------------------------------------------------------------


@pytest.mark.parametrize("field,raw", [("details", '"\\ud800"'), ("subject", '"ok \\udfff"'),
                                       ("fields.asset_tag", '{"asset_tag": "\\ud83d"}')])
def test_a_lone_surrogate_in_json_is_refused_and_nothing_is_stored(client, clean, field, raw):
    before = stored()
    name = field.split(".")[0]
    body = json.dumps({k: v for k, v in GOOD.items() if k != name})[:-1] + f', "{name}": {raw}}}'
    response = client.post("/intake/requests", data=body, headers={**JSON, "Accept-Language": "en"})
    refused(response, 422, field, NOT_TEXT_MESSAGES)
    assert stored() == before


def test_a_lone_surrogate_in_a_staff_action_is_refused(client, staff):
    code = file_request(client)
    with assignment_bus.session() as session:
        reads_before = session.scalar(select(func.count()).select_from(AccessLog))
    response = client.post(f"/assignment/cases/{code}/actions",
                           data='{"step": "receive-form", "outcome": "note", "note": "\\ud800"}',
                           headers={**staff.headers("u-officer"), **JSON})
    refused(response, 422, "note", NOT_TEXT_MESSAGES)
    with assignment_bus.session() as session:
        assert session.scalar(select(func.count()).select_from(AccessLog)) == reads_before


# --- 6. a form post that is not UTF-8 ------------------------------------------------------------------


def _csrf(client) -> str:
    page = client.get("/intake/forms/sesao-sc/repair").get_data(as_text=True)
    return page.split('name="csrf_token" value="')[1].split('"')[0]


def test_a_urlencoded_form_that_is_not_utf8_is_refused_not_stored_as_percent_text(client, clean):
    from urllib.parse import urlencode

    csrf = _csrf(client)
    before = stored()
    body = urlencode({**{k: v for k, v in GOOD.items() if k != "details"}, "consent": "on", "csrf_token": csrf})
    body += "&details=%FF%FE"
    response = client.post("/intake/requests", data=body, content_type="application/x-www-form-urlencoded",
                           headers={"Accept-Language": "en"})
    refused(response, 422, "details", NOT_TEXT_MESSAGES)
    assert stored() == before
    # the same post in UTF-8 is filed (so the refusal above is the encoding's, not the form's)
    good = body.replace("details=%FF%FE", "details=" + urlencode({"d": "ไฟกะพริบ"})[2:])
    assert client.post("/intake/requests", data=good, content_type="application/x-www-form-urlencoded").status_code == 303
    assert stored()["requests"] == before["requests"] + 1


def test_a_multipart_text_field_that_is_not_utf8_is_refused(client, clean):
    csrf = _csrf(client)
    before = stored()
    boundary = "sopdesk-boundary"
    parts = [(k, str(v).encode()) for k, v in {**GOOD, "consent": "on", "csrf_token": csrf}.items() if k != "subject"]
    parts.append(("subject", "เครื่องพิมพ์".encode("tis-620")))  # the Thai legacy encoding, not UTF-8
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode() + v + b"\r\n"
                    for k, v in parts) + f"--{boundary}--\r\n".encode()
    response = client.post("/intake/requests", data=body, content_type=f"multipart/form-data; boundary={boundary}",
                           headers={"Accept": "application/json", "Accept-Language": "en"})
    refused(response, 422, "subject", NOT_TEXT_MESSAGES)
    assert stored() == before


# --- 7. the safety net: a value the database refuses that no check caught --------------------------


def test_a_value_the_database_refuses_is_a_400_and_a_log_line(caplog):
    blp = Blueprint("hostile_probe", __name__, url_prefix="/intake")

    @blp.route("/probe/<word>")
    def probe(word):  # a view with no check of its own, as a forgotten one would be
        engine = db.get_engine("intake", get_settings().database_url("intake"))
        with engine.connect() as conn:
            conn.execute(text("SELECT CAST(:word AS integer)"), {"word": word})
        return {"ok": True}

    app = create_service_app("intake", "probe", [blp])
    with caplog.at_level("WARNING"):
        response = app.test_client().get("/intake/probe/99999999999", headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert response.get_json()["message"] == "A value is out of range or is not valid text. Nothing was stored."
    assert any("value refused by the database on GET /intake/probe/99999999999" in r.getMessage()
               for r in caplog.records)
    assert app.test_client().get("/intake/probe/42").status_code == 200


# --- the OpenAPI documents say their bounds as numbers ------------------------------------------------


@pytest.mark.parametrize("service", ["intake", "assignment", "notify", "procurement"])
def test_every_bound_in_the_openapi_documents_is_a_number(client, clean, service):
    document = client.get(f"/{service}/openapi.json").get_json()
    found, pending = [], [("", document)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, dict):
            for key, child in value.items():
                if key in ("minimum", "maximum") and (isinstance(child, bool) or not isinstance(child, (int, float))):
                    found.append(f"{path}/{key}: {child!r}")
                pending.append((f"{path}/{key}", child))
        elif isinstance(value, list):
            pending.extend((f"{path}/{i}", child) for i, child in enumerate(value))
    assert found == []
    share = document["components"]["schemas"].get("MilestoneIn", {}).get("properties", {}).get("share_percent")
    if service == "procurement":
        assert (share["minimum"], share["maximum"]) == (0.01, 100)


@pytest.mark.parametrize("budget", [10 ** 26, "1E+26", "99999999999999999999999999999.5", -(10 ** 30)])
def test_an_amount_longer_than_a_decimal_holds_is_refused_on_its_field(client, staff, budget):
    """Found by schemathesis: a budget of 10^26 was a 500 (quantizing it overflowed the decimal)."""
    before = stored()
    response = client.post("/procurement/projects", data=json.dumps({"title": "จัดซื้อ", "budget": budget}),
                           headers={**staff.headers("u-supplies"), **JSON})
    assert response.status_code == 422 and "budget" in response.get_json()["errors"], response.get_json()
    assert stored() == before
