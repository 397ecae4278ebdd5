"""An intake clerk or officer logged in to the desk files a paper or telephone request through the
same form: an extra section asks when it was received (Bangkok time, Buddhist era in Thai) and by
which channel; the request is stored as filed by them, and its clocks start when it was received."""
import io

from sqlalchemy import select

from services.intake.adapters.bus import bus
from services.intake.adapters.models import Attachment, Outbox, Request
from services.intake.tests.conftest import NOTHING, counts, csrf_from
from services.intake.tests.test_files import PDF, PUBLISH
from services.intake.tests.test_requests import GOOD
from services.intake.tests.test_security import desk_login
from shared.tracking import tracking_token
from sopdesk.testing import drain

FORM = {**GOOD, "consent": "on"}


def desk_post(client, data: dict, lang: str = "th", form_url: str = "/intake/forms/sesao-sc/repair"):
    token = csrf_from(client, f"{form_url}?lang={lang}")
    return client.post(f"/intake/requests?lang={lang}", data={**data, "csrf_token": token},
                       content_type="multipart/form-data", headers={"Accept": "text/html"})


def test_a_logged_in_clerk_sees_the_paper_section_in_thai_and_english(client, staff_token):
    desk_login(client)
    thai = client.get("/intake/forms/sesao-sc/repair?lang=th").get_data(as_text=True)
    section = thai[thai.index('id="staff-section"'):thai.index("</fieldset>", thai.index('id="staff-section"'))]
    assert "รับคำขอทางหนังสือหรือโทรศัพท์" in section and "tester" in section
    assert '<option value="paper">' in section and '<option value="telephone">' in section
    assert 'name="received_at"' in section and 'placeholder="วว/ดด/ปปปป ชช:นน (พ.ศ.)"' in section
    english = client.get("/intake/forms/sesao-sc/repair?lang=en").get_data(as_text=True)
    assert "Received on paper or by telephone" in english and 'type="datetime-local"' in english


def test_a_paper_request_is_filed_with_its_received_time_and_starts_the_clocks_then(client, staff_token):
    desk_login(client)
    response = desk_post(client, {**FORM, "channel": "paper", "received_at": "20/11/2569 09:15"})
    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    with bus.session() as session:
        request = session.scalar(select(Request))
        [event] = session.scalars(select(Outbox)).all()
    assert (request.channel, request.filed_by) == ("paper", "tester")
    assert request.received_at.isoformat() == "2026-11-20T02:15:00+00:00"
    payload = event.envelope["payload"]
    assert (payload["channel"], payload["filed_by"], payload["received_at"]) == (
        "paper", "tester", "2026-11-20T02:15:00+00:00")
    drain()
    view = client.get(f"/intake/track/{request.tracking_code}?token={tracking_token(request.tracking_code)}",
                      headers={"Accept": "application/json"}).get_json()
    assert view["steps"][0]["started_at"] == "2026-11-20T02:15:00+00:00"  # the first step began on receipt


def test_a_telephone_request_in_english_takes_the_browsers_local_time(client, staff_token):
    desk_login(client)
    response = desk_post(client, {**FORM, "channel": "telephone", "received_at": "2026-11-20T13:05"}, lang="en")
    assert response.status_code == 303
    with bus.session() as session:
        request = session.scalar(select(Request))
    assert request.channel == "telephone" and request.received_at.isoformat() == "2026-11-20T06:05:00+00:00"


def test_no_received_time_means_now_but_the_channel_is_asked(client, staff_token):
    desk_login(client)
    missing = desk_post(client, dict(FORM))
    html = missing.get_data(as_text=True)
    assert missing.status_code == 422 and 'id="channel-error"' in html
    bad = desk_post(client, {**FORM, "channel": "fax", "received_at": "31/02/2569 09:00"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "ตัวเลือกไม่ถูกต้อง" in html and 'id="received_at-error"' in html
    assert 'value="31/02/2569 09:00"' in html  # refilled as typed
    assert counts() == NOTHING
    assert desk_post(client, {**FORM, "channel": "telephone"}).status_code == 303
    with bus.session() as session:
        assert session.scalar(select(Request.channel)) == "telephone"


def test_the_clerks_files_are_the_staffs_and_a_required_file_may_wait(client, files_dir):
    from sopdesk.testing import make_staff

    make_staff("onesqa-clerk", ["intake-clerk"], "onesqa")  # the form is onesqa's: its own staff file it
    desk_login(client, "onesqa-clerk")
    no_scan = desk_post(client, {**PUBLISH, "channel": "paper"}, form_url="/intake/forms/onesqa/web-publish")
    assert no_scan.status_code == 303  # the memo is on paper in the clerk's hands
    scanned = desk_post(client, {**PUBLISH, "channel": "paper", "memo_file": (io.BytesIO(PDF), "scan.pdf")},
                        form_url="/intake/forms/onesqa/web-publish")
    assert scanned.status_code == 303
    with bus.session() as session:
        row = session.scalar(select(Attachment))
    assert (row.uploaded_by, row.original_name) == ("staff", "scan.pdf")


def test_the_public_may_not_say_when_or_how_it_was_received(client):
    token = csrf_from(client, "/intake/forms/sesao-sc/repair")
    response = client.post("/intake/requests", data={**FORM, "csrf_token": token, "channel": "paper",
                                                     "received_at": "20/11/2569 09:15"},
                           headers={"Accept": "text/html"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.count("เฉพาะเจ้าหน้าที่ที่ยื่นคำขอแทนผู้รับบริการเท่านั้น") == 2
    assert counts() == NOTHING


def test_a_logged_out_desk_is_the_public_again(client, staff_token):
    desk_login(client)
    token = csrf_from(client, "/intake/forms/sesao-sc/repair")
    assert client.post("/assignment/logout", data={"csrf_token": token}).status_code == 302
    html = client.get("/intake/forms/sesao-sc/repair").get_data(as_text=True)
    assert 'id="staff-section"' not in html
