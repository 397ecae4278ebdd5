"""Filing requests through intake's HTTP edge, on real PostgreSQL: what is stored, what is
refused, and that a refusal stores nothing (no request, no event, no attachment row, no file)."""
import json
import re

import pytest
from sqlalchemy import select

from services.intake.adapters.bus import bus
from services.intake.adapters.models import Outbox, PrivacyNotice, Request
from services.intake.tests.conftest import NOTHING, counts, csrf_from, files_on_disk, post_json as _post
from shared.routing import subscribers
from shared.tracking import tracking_token
from shared.web import DATABASE_AWAY_RETRY_SECONDS

GOOD = {
    "sop": "sesao-sc/repair", "requester_name": "ครูสมชาย รักเรียน", "requester_email": "somchai@school.example",
    "requester_unit": "โรงเรียนบ้านนา", "subject": "เครื่องพิมพ์กระดาษติด", "details": "พิมพ์ไม่ออก\nไฟกะพริบ",
    "consent": True, "asset_tag": "7440-005-0007", "location": "ห้องธุรการ", "since": "2026-11-19",
}
REPAIR_FORM = "/intake/forms/sesao-sc/repair"


def _counts():
    c = counts()
    return c["requests"], c["outbox"]


def post_json(client, body, headers=None):
    return _post(client, "/intake/requests", body, headers)


def form_post(client, form: dict, form_url: str = REPAIR_FORM, lang: str = "th", token: str | None = None, **kw):
    """A browser's post of sopdesk's own form: the token from the page, multipart like the page."""
    token = token or csrf_from(client, f"{form_url}?lang={lang}")
    data = {**form, "csrf_token": token}
    return client.post(f"/intake/requests?lang={lang}", data=data, headers={"Accept": "text/html"}, **kw)


def test_a_json_request_is_stored_with_its_event(client):
    response = post_json(client, GOOD)
    assert response.status_code == 201
    body = response.get_json()
    code = body["tracking_code"]
    assert body["status_url"].endswith(f"/intake/track/{code}?token={tracking_token(code)}")
    with bus.session() as session:
        request = session.scalar(select(Request))
        [event] = session.scalars(select(Outbox)).all()
        notice = session.get(PrivacyNotice, request.privacy_notice_version)
    assert request.tracking_code == code and request.channel == "api" and request.consent
    assert request.form_fields == {"asset_tag": "7440-005-0007", "location": "ห้องธุรการ", "since": "2026-11-19"}
    payload = event.envelope["payload"]
    assert event.type == "request.submitted" and event.correlation_id == code
    assert payload["requester"]["email"] == "somchai@school.example"
    assert payload["attachments"] == [] and payload["privacy_notice_version"] == request.privacy_notice_version
    # the notice consented to is kept word for word, and names this SOP's fields
    assert notice is not None and "หมายเลขครุภัณฑ์" in notice.texts["th"]["kept"]
    assert "5 years" in notice.texts["en"]["retention"]


def test_fields_the_sop_does_not_need_are_not_stored(client):
    response = post_json(client, {**GOOD, "national_id": "1100700000000", "religion": "x"})
    assert response.status_code == 201
    with bus.session() as session:
        request = session.scalar(select(Request))
        [event] = session.scalars(select(Outbox)).all()
    assert "1100700000000" not in json.dumps(request.form_fields) + json.dumps(event.envelope)


def test_a_file_field_in_json_is_dropped_not_stored(client):
    """JSON cannot carry files: a value for a file field is dropped like any field the SOP does not
    ask for, and a required file field is not required of JSON filers (see the report)."""
    body = {"sop": "onesqa/web-publish", "requester_name": "นายก", "requester_email": "k@onesqa.example",
            "requester_unit": "สำนัก", "subject": "ข่าว", "details": "d", "consent": True, "memo_ref": "บท 1/2569",
            "memo_file": "C:\\fakepath\\memo.pdf"}
    response = post_json(client, body)
    assert response.status_code == 201, response.get_json()
    with bus.session() as session:
        request = session.scalar(select(Request))
    assert request.form_fields == {"memo_ref": "บท 1/2569"}
    assert counts()["attachments"] == 0


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
    ({"since": "31/02/2569"}, "since"),
    ({"sop": "sesao-sc/no-such-sop"}, "sop"),
    ({"sop": "sesao-sc/server-security"}, "sop"),  # planned work: staff only
    ({"sop": "sesao-sc/repair", "requester_phone": "call me"}, "requester_phone"),
    ({"received_at": "2026-11-20T09:00:00+07:00"}, "received_at"),  # staff only
    ({"channel": "paper"}, "channel"),  # staff only
])
def test_bad_input_gets_a_field_message_and_stores_nothing(client, change, field):
    response = post_json(client, {**GOOD, **change})
    assert response.status_code == 422
    body = response.get_json()
    assert field in body["errors"], body
    assert all(isinstance(m, str) and m for m in body["errors"][field])
    assert counts() == NOTHING


@pytest.mark.parametrize("sop, change, field, thai", [
    ("sesao-sc/software-install", {"machines": "สาม"}, "machines", "ต้องเป็นตัวเลข"),
    ("sesao-sc/software-install", {"machines": "NaN"}, "machines", "ต้องเป็นตัวเลข"),
    ("sesao-sc/software-install", {"licence": "pirated"}, "licence", "ตัวเลือกไม่ถูกต้อง"),
    ("sesao-sc/esaraban-account", {"official_email": "somchai@"}, "official_email", "รูปแบบอีเมลไม่ถูกต้อง"),
    ("sesao-sc/website-update", {"content_url": "javascript:alert(1)"}, "content_url", "รูปแบบที่อยู่เว็บไม่ถูกต้อง"),
    ("onesqa/eqa-data-request", {"needed_by": "2026/11/31"}, "needed_by", "วว/ดด/ปปปป (พ.ศ.)"),
    ("onesqa/aqa-system-dev", {"kickoff_at": "พรุ่งนี้บ่าย"}, "kickoff_at", "19/11/2569 14:30"),
])
def test_every_field_type_refuses_a_wrong_value_in_thai(client, sop, change, field, thai):
    from services.assignment.tests.test_sops_end_to_end import sample
    from shared.packs import find_sop

    definition = find_sop(sop)
    body = {**{k: GOOD[k] for k in ("requester_name", "requester_email", "requester_unit", "subject", "details",
                                    "consent")}, "sop": sop}
    body.update({f.name: sample(f) for f in definition.form if f.type != "file"})
    assert post_json(client, body).status_code == 201  # the sample itself is good...
    response = post_json(client, {**body, **change})  # ...and the one wrong value is not
    assert response.status_code == 422
    messages = response.get_json()["errors"][field]
    assert any(thai in m for m in messages), messages
    assert counts()["requests"] == 1 and counts()["outbox"] == 1


def test_dates_may_be_typed_in_the_buddhist_era(client):
    body = {**GOOD, "since": "19/11/2569"}
    assert post_json(client, body).status_code == 201
    with bus.session() as session:
        assert session.scalar(select(Request.form_fields))["since"] == "2026-11-19"


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
    assert counts() == NOTHING


def test_a_body_that_is_not_an_object_is_a_400(client):
    response = client.post("/intake/requests", data="[1, 2]", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert counts() == NOTHING


def test_a_browser_form_post_redirects_to_the_confirmation(client):
    response = form_post(client, {**GOOD, "consent": "on"})
    assert response.status_code == 303
    location = response.headers["Location"]
    code = location.split("/submitted/", 1)[1].split("?", 1)[0]
    page = client.get(location).get_data(as_text=True)
    assert code in page
    assert f"/intake/track/{code}?token={tracking_token(code)}" in page  # the link to follow it
    with bus.session() as session:
        assert session.scalar(select(Request.channel)) == "web"
    # the confirmation page tells a guessed code nothing more than the code itself
    guessed = client.get(f"/intake/submitted/{code}?token=guess").get_data(as_text=True)
    assert "/intake/track/" not in guessed


def test_a_rejected_form_is_shown_again_filled_in_with_messages_and_script_as_text(client, files_dir):
    form = {**GOOD, "consent": "", "requester_name": "<script>alert('x')</script>", "requester_email": "bad",
            "location": "<script>alert(1)</script>", "since": "19/13/2569"}
    response = form_post(client, form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html  # refilled, escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "รูปแบบอีเมลไม่ถูกต้อง" in html and "ต้องยินยอม" in html and "วว/ดด/ปปปป (พ.ศ.)" in html
    assert 'value="เครื่องพิมพ์กระดาษติด"' in html and 'value="19/13/2569"' in html
    assert 'id="requester_email-error"' in html and 'aria-invalid="true"' in html
    assert "โปรดเลือกไฟล์อีกครั้ง" in html  # the photos field says files must be chosen again
    assert counts() == NOTHING and files_on_disk(files_dir) == []


def test_header_injection_in_the_name_gets_a_field_message_on_the_form(client):
    response = form_post(client, {**GOOD, "consent": "on", "requester_name": "Somchai\r\nBcc: victim@example.org"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="requester_name-error"' in html and "ห้ามมีการขึ้นบรรทัดใหม่" in html
    assert counts() == NOTHING


def test_staff_may_file_a_paper_request_with_its_received_time(client, staff_token):
    response = post_json(client, {**GOOD, "received_at": "2026-11-20T09:15:00+07:00"},
                         {"Authorization": f"Bearer {staff_token}"})
    assert response.status_code == 201
    with bus.session() as session:
        request = session.scalar(select(Request))
    assert request.channel == "staff" and request.filed_by == "tester"
    assert request.received_at.isoformat() == "2026-11-20T02:15:00+00:00"


def test_staff_name_the_channel_and_may_type_the_time_in_the_buddhist_era(client, staff_token):
    response = post_json(client, {**GOOD, "received_at": "20/11/2569 09:15", "channel": "telephone"},
                         {"Authorization": f"Bearer {staff_token}"})
    assert response.status_code == 201, response.get_json()
    with bus.session() as session:
        request = session.scalar(select(Request))
    assert request.channel == "telephone" and request.received_at.isoformat() == "2026-11-20T02:15:00+00:00"


def test_a_received_time_in_the_future_is_refused(client, staff_token):
    response = post_json(client, {**GOOD, "received_at": "2099-01-01T09:00:00+07:00"},
                         {"Authorization": f"Bearer {staff_token}"})
    assert response.status_code == 422
    assert response.get_json()["errors"]["received_at"] == ["ต้องไม่เป็นเวลาในอนาคต"]
    assert counts() == NOTHING


def test_a_bad_staff_token_is_refused(client):
    response = post_json(client, GOOD, {"Authorization": "Bearer forged"})
    assert response.status_code == 401
    assert counts() == NOTHING


def test_health_and_openapi_of_every_service(client):
    for service in ("intake", "assignment", "notify", "procurement"):
        health = client.get(f"/{service}/health")
        assert health.status_code == 200, health.get_data(as_text=True)
        body = health.get_json()
        delivery = body.pop("delivery")
        assert body == {"service": service, "status": "ok", "database": "ok", "broker": "ok"}
        assert delivery["owed"] == {} and delivery["late"] == 0  # nothing was emitted, nothing is owed
        spec = client.get(f"/{service}/openapi.json").get_json()
        assert spec["openapi"].startswith("3.") and f"/{service}/health" in spec["paths"]
    intake_spec = client.get("/intake/openapi.json").get_json()
    body = intake_spec["paths"]["/intake/requests"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "application/x-www-form-urlencoded", "multipart/form-data"}
    assert "SubmitRequest" in json.dumps(intake_spec["components"]["schemas"])
    for path in ("/intake/track/{code}/answer", "/intake/track/{code}/survey", "/intake/track/{code}/files/{file_id}",
                 "/intake/requests/{code}/files/{file_id}"):
        assert path in intake_spec["paths"], path


@pytest.mark.parametrize("lang, form_url, change, field, message", [
    ("en", "/intake/forms/sesao-sc/software-install", {"machines": "three"}, "machines", "Must be a number."),
    ("en", "/intake/forms/sesao-sc/software-install", {"licence": "pirated"}, "licence", "Not one of the choices."),
    ("en", "/intake/forms/sesao-sc/website-update", {"content_url": "ftp://x"}, "content_url",
     "Not a valid web address"),
    ("en", "/intake/forms/onesqa/eqa-data-request", {"needed_by": "19/11/69"}, "needed_by", "YYYY-MM-DD"),
    ("th", "/intake/forms/sesao-sc/esaraban-account", {"official_email": "a@@b"}, "official_email",
     "รูปแบบอีเมลไม่ถูกต้อง"),
    ("th", "/intake/forms/sesao-sc/esaraban-account", {"position": ""}, "position", "กรุณากรอกช่องนี้"),
])
def test_the_form_page_puts_each_message_next_to_its_field(client, files_dir, lang, form_url, change, field, message):
    from services.assignment.tests.test_sops_end_to_end import sample
    from shared.packs import find_sop

    sop = find_sop(form_url.removeprefix("/intake/forms/"))
    form = {**{k: GOOD[k] for k in ("requester_name", "requester_email", "requester_unit", "subject", "details")},
            "consent": "on", "sop": sop.full_key}
    form.update({f.name: str(sample(f)) for f in sop.form if f.type != "file"})
    form.update(change)
    response = form_post(client, form, form_url=form_url, lang=lang)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    error = re.search(rf'<p class="error" id="{field}-error">([^<]+)</p>', html)
    assert error and message in error.group(1), html[html.find('class="error"'):][:600]
    assert f'<html lang="{lang}">' in html
    assert counts() == NOTHING and files_on_disk(files_dir) == []


def test_a_request_while_the_database_is_away_gets_a_503_in_thai_and_nothing_is_stored(client, settings):
    """PostgreSQL restarting (bench/chaos.py saw 500s with a traceback): the caller is told to try
    again, in the page's language, with Retry-After; nothing is stored. The service has filed
    before (what it reads once per SOP is read), so the filing's own statement meets the database
    away: its pooled connection cannot be made (bench/chaos.py saw that as a 500 too)."""
    from services.intake.tests.conftest import counts, post_json
    from shared.config import get_settings

    assert post_json(client, "/intake/requests", GOOD).status_code == 201
    before = counts()
    real = get_settings().database_urls
    away = {**real, "intake": "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"}  # nothing listens there
    settings(database_urls=away)
    response = post_json(client, "/intake/requests", GOOD, headers={"Accept-Language": "th"})
    body = json.loads(response.get_data())
    assert response.status_code == 503 and response.headers["Retry-After"] == str(DATABASE_AWAY_RETRY_SECONDS)
    assert body["errors"]["_schema"] == ["ระบบขัดข้องชั่วคราว คำขอนี้ยังไม่ถูกบันทึก โปรดลองใหม่อีกครั้งในอีกสักครู่"]
    english = post_json(client, "/intake/requests?lang=en", GOOD)
    assert english.status_code == 503 and "try again" in json.loads(english.get_data())["message"]
    settings(database_urls=real)
    assert counts() == before


def test_a_request_is_filed_in_one_statement_and_no_other(client):
    """A POST sends one statement to intake's database: the request, its privacy notice, its event
    and what each subscriber is owed, as one transaction (no BEGIN, no COMMIT, nothing read)."""
    from sopdesk.testing import statements_sent

    _post(client, "/intake/requests", GOOD)  # the privacy notice's words, read once per SOP, are read now
    response, sent = statements_sent(bus.engine,
                                     lambda: _post(client, "/intake/requests", {**GOOD, "subject": "อีกเรื่อง"}))
    assert response.status_code == 201
    assert len(sent) == 1 and sent[0].startswith("WITH "), sent
    assert "INSERT INTO requests" in sent[0] and "INSERT INTO outbox" in sent[0]


def test_a_connection_the_database_dropped_gets_a_503_and_the_next_request_a_fresh_one(client):
    """The filing's statement goes on a pooled connection with no session (``UnitOfWork.commit``):
    when the database dropped the pool's connections (a restart), the request is told to try again
    (503, not a 500 with a traceback), nothing is stored, and the pool's connections are replaced,
    so that the next request files on a new one."""
    import psycopg

    from shared.config import get_settings

    engine = bus.engine
    assert _post(client, "/intake/requests", GOOD).status_code == 201
    before = counts()
    pooled = [engine.raw_connection() for _ in range(engine.pool.checkedin())]  # every one the pool holds
    pids = [p.driver_connection.info.backend_pid for p in pooled]
    for p in pooled:
        p.close()
    admin = get_settings().database_url("intake").replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM unnest(%s::int[]) AS pid WHERE pg_terminate_backend(pid)",
                            (pids,)).fetchone()[0] == len(pids) >= 1
    response = _post(client, "/intake/requests", {**GOOD, "subject": "ระหว่างฐานข้อมูลเริ่มใหม่"})
    assert response.status_code == 503 and response.headers["Retry-After"] == str(DATABASE_AWAY_RETRY_SECONDS)
    assert counts() == before
    again = _post(client, "/intake/requests", {**GOOD, "subject": "ลองอีกครั้ง"})
    assert again.status_code == 201
    with bus.session() as session:
        assert session.scalar(select(Request.subject).where(
            Request.tracking_code == json.loads(again.get_data())["tracking_code"])) == "ลองอีกครั้ง"


def test_a_tracking_code_drawn_twice_is_drawn_again_and_the_first_request_keeps_it(client, monkeypatch):
    """No SELECT before the insert: the unique index turns the second use of a code away and
    the request is filed under a fresh one."""
    from sqlalchemy import select

    from services.intake.adapters.models import Request
    from services.intake.handlers import requests as handlers
    from shared.tracking import new_tracking_code

    first = json.loads(_post(client, "/intake/requests", GOOD).get_data())["tracking_code"]
    draws = iter([first, "SD-FRESH-CODE1"])
    monkeypatch.setattr(handlers, "new_tracking_code", lambda: next(draws, new_tracking_code()))
    response = _post(client, "/intake/requests", {**GOOD, "subject": "อีกเรื่องหนึ่ง"})
    assert response.status_code == 201
    assert json.loads(response.get_data())["tracking_code"] == "SD-FRESH-CODE1"
    with bus.session() as session:
        rows = {r.tracking_code: r.subject for r in session.scalars(select(Request))}
    assert rows == {first: GOOD["subject"], "SD-FRESH-CODE1": "อีกเรื่องหนึ่ง"}
    # the refused draw's request and its event were one statement: neither of it is stored
    with bus.session() as session:  # each event owed to every subscriber
        events = {code: sorted(owed_to) for code, owed_to in session.execute(select(Outbox.correlation_id, Outbox.owed_to))}
    assert events == {code: sorted(subscribers("request.submitted")) for code in (first, "SD-FRESH-CODE1")}
