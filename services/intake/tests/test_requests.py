"""Filing requests through intake's HTTP edge, on real PostgreSQL: what is stored, what is
refused, and that a refusal stores nothing."""
import json

import pytest
from sqlalchemy import func, select

from services.intake.bus import bus
from services.intake.models import Outbox, Request
from shared.tracking import tracking_token

GOOD = {
    "sop": "sesao-sc/repair", "requester_name": "ครูสมชาย รักเรียน", "requester_email": "somchai@school.example",
    "requester_unit": "โรงเรียนบ้านนา", "subject": "เครื่องพิมพ์กระดาษติด", "details": "พิมพ์ไม่ออก\nไฟกะพริบ",
    "consent": True, "asset_tag": "7440-005-0007", "location": "ห้องธุรการ", "since": "2026-11-19",
}


def _counts():
    with bus.session() as session:
        return (session.scalar(select(func.count()).select_from(Request)),
                session.scalar(select(func.count()).select_from(Outbox)))


def post_json(client, body, headers=None):
    return client.post("/intake/requests", data=json.dumps(body),
                       headers={"Content-Type": "application/json", **(headers or {})})


def test_a_json_request_is_stored_with_its_event(client):
    response = post_json(client, GOOD)
    assert response.status_code == 201
    body = response.get_json()
    code = body["tracking_code"]
    assert body["status_url"].endswith(f"/intake/track/{code}?token={tracking_token(code)}")
    with bus.session() as session:
        request = session.scalar(select(Request))
        [event] = session.scalars(select(Outbox)).all()
    assert request.tracking_code == code and request.channel == "api" and request.consent
    assert request.form_fields == {"asset_tag": "7440-005-0007", "location": "ห้องธุรการ", "since": "2026-11-19"}
    assert request.privacy_notice_version
    assert event.type == "request.submitted" and event.correlation_id == code
    assert event.envelope["payload"]["requester"]["email"] == "somchai@school.example"


def test_fields_the_sop_does_not_need_are_not_stored(client):
    response = post_json(client, {**GOOD, "national_id": "1100700000000", "religion": "x"})
    assert response.status_code == 201
    with bus.session() as session:
        request = session.scalar(select(Request))
        [event] = session.scalars(select(Outbox)).all()
    assert "1100700000000" not in json.dumps(request.form_fields) + json.dumps(event.envelope)


@pytest.mark.parametrize("change, field", [
    ({"consent": False}, "consent"),
    ({"consent": None}, "consent"),
    ({"requester_email": "not-an-address"}, "requester_email"),
    ({"requester_name": ""}, "requester_name"),
    ({"requester_name": "Somchai\r\nBcc: victim@example.org"}, "requester_name"),
    ({"subject": "Hello\nBcc: victim@example.org"}, "subject"),
    ({"subject": "x" * 301}, "subject"),
    ({"details": 12}, "details"),
    ({"asset_tag": None}, "asset_tag"),
    ({"since": "yesterday"}, "since"),
    ({"sop": "sesao-sc/no-such-sop"}, "sop"),
    ({"sop": "sesao-sc/repair", "requester_phone": "call me"}, "requester_phone"),
    ({"received_at": "2026-11-20T09:00:00+07:00"}, "received_at"),  # staff only
])
def test_bad_input_gets_a_field_message_and_stores_nothing(client, change, field):
    response = post_json(client, {**GOOD, **change})
    assert response.status_code == 422
    body = response.get_json()
    assert field in body["errors"], body
    assert all(isinstance(m, str) and m for m in body["errors"][field])
    assert _counts() == (0, 0)


def test_missing_everything_lists_every_required_field_in_thai(client):
    response = post_json(client, {"sop": "sesao-sc/repair"})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) >= {"requester_name", "requester_email", "requester_unit", "subject", "details", "consent",
                           "asset_tag", "location"}
    assert errors["subject"] == ["กรุณากรอกช่องนี้"]
    english = client.post("/intake/requests", data=json.dumps({"sop": "sesao-sc/repair"}),
                          headers={"Content-Type": "application/json", "Accept-Language": "en"})
    assert english.get_json()["errors"]["subject"] == ["This field is required."]
    assert _counts() == (0, 0)


def test_a_body_that_is_not_an_object_is_a_400(client):
    response = client.post("/intake/requests", data="[1, 2]", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert _counts() == (0, 0)


def test_a_browser_form_post_redirects_to_the_confirmation(client):
    form = {**GOOD, "consent": "on"}
    response = client.post("/intake/requests", data=form, headers={"Accept": "text/html"})
    assert response.status_code == 303
    location = response.headers["Location"]
    code = location.rsplit("/", 1)[1]
    page = client.get(location)
    assert code in page.get_data(as_text=True)
    with bus.session() as session:
        assert session.scalar(select(Request.channel)) == "web"


def test_a_rejected_form_is_shown_again_filled_in_with_messages_and_script_as_text(client):
    form = {**GOOD, "consent": "", "requester_name": "<script>alert('x')</script>", "requester_email": "bad"}
    response = client.post("/intake/requests?lang=th", data=form, headers={"Accept": "text/html"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html  # refilled, escaped
    assert "รูปแบบอีเมลไม่ถูกต้อง" in html and "ต้องยินยอม" in html
    assert 'value="เครื่องพิมพ์กระดาษติด"' in html
    assert _counts() == (0, 0)


def test_staff_may_file_a_paper_request_with_its_received_time(client, staff_token):
    response = post_json(client, {**GOOD, "received_at": "2026-11-20T09:15:00+07:00"},
                         {"Authorization": f"Bearer {staff_token}"})
    assert response.status_code == 201
    with bus.session() as session:
        request = session.scalar(select(Request))
    assert request.channel == "staff" and request.filed_by == "tester"
    assert request.received_at.isoformat() == "2026-11-20T02:15:00+00:00"


def test_a_bad_staff_token_is_refused(client):
    response = post_json(client, GOOD, {"Authorization": "Bearer forged"})
    assert response.status_code == 401
    assert _counts() == (0, 0)


def test_forms_render_in_thai_and_english(client):
    thai = client.get("/intake/forms/sesao-sc/repair", headers={"Accept-Language": "th"}).get_data(as_text=True)
    english = client.get("/intake/forms/sesao-sc/repair?lang=en").get_data(as_text=True)
    assert "การซ่อมบำรุงเครื่องคอมพิวเตอร์" in thai and "หมายเลขครุภัณฑ์" in thai and "ประกาศความเป็นส่วนตัว" in thai
    assert "Repair of computers" in english and "Asset tag" in english and "Privacy notice" in english
    assert client.get("/intake/forms/sesao-sc/nothing").status_code == 404
    index = client.get("/intake/").get_data(as_text=True)
    assert "/intake/forms/sesao-sc/repair" in index


def test_health_and_openapi_of_every_service(client):
    for service in ("intake", "assignment", "notify", "procurement"):
        health = client.get(f"/{service}/health")
        assert health.status_code == 200, health.get_data(as_text=True)
        assert health.get_json() == {"service": service, "status": "ok", "database": "ok", "broker": "ok"}
        spec = client.get(f"/{service}/openapi.json").get_json()
        assert spec["openapi"].startswith("3.") and f"/{service}/health" in spec["paths"]
    intake_spec = client.get("/intake/openapi.json").get_json()
    body = intake_spec["paths"]["/intake/requests"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "application/x-www-form-urlencoded"}
    assert "SubmitRequest" in json.dumps(intake_spec["components"]["schemas"])
