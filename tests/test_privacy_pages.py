"""The privacy officer's pages, as a privacy officer uses them (signed in at the desk, Thai
first): find a person, ask for their erasure (refused until confirmed), follow it to every
service's confirmation, and read the access log, whose rows the page asks of every service (in
Chromium). Another organisation's privacy officer finds nothing of it."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from shared.i18n import BANGKOK
from sopdesk.testing import drain, make_staff
from tests.test_walls import HOME, OTHER, _file_request

PASSWORD = "correct horse battery"


def sign_in(client, username: str) -> None:
    page = client.get("/assignment/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.post("/assignment/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 302, answer.get_data(as_text=True)[-500:]


def form_token(client, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_a_privacy_officer_finds_a_person_and_erases_them_with_the_deadline_and_confirmations(client):
    make_staff("home-officer", ["officer"], HOME)
    make_staff("home-head", ["head"], HOME)
    first = _file_request(client, email="kanda@onesqa.example")
    second = _file_request(client, email="Kanda@onesqa.example ")
    drain()
    make_staff("onesqa-privacy", ["privacy-officer"], HOME)
    make_staff("up-privacy", ["privacy-officer"], OTHER)
    make_staff("onesqa-clerk", ["intake-clerk"], HOME)

    # someone without the role is turned away; nobody signed in is sent to sign in
    assert client.get("/intake/privacy").status_code == 302
    sign_in(client, "onesqa-clerk")
    refused = client.get("/intake/privacy?lang=th")
    assert refused.status_code == 403 and "เจ้าหน้าที่คุ้มครองข้อมูลส่วนบุคคล" in refused.get_data(as_text=True)

    sign_in(client, "onesqa-privacy")
    home = client.get("/intake/privacy?lang=th").get_data(as_text=True)
    assert "ค้นหาบุคคล" in home and "Find a person" not in home
    token = form_token(client, "/intake/privacy?lang=th")
    nothing = client.post("/intake/privacy/find?lang=th", data={"csrf_token": token})
    assert nothing.status_code == 422 and "อีเมลหรือหมายเลขโทรศัพท์" in nothing.get_data(as_text=True)
    found = client.post("/intake/privacy/find?lang=th", data={"csrf_token": token, "email": " KANDA@onesqa.example"})
    page = found.get_data(as_text=True)
    assert found.status_code == 200 and first in page and second in page
    assert client.post("/intake/privacy/find", data={"email": "kanda@onesqa.example"}).status_code == 403  # no token

    # erasing asks for the confirmation first, and changes nothing without it
    unconfirmed = client.post("/intake/privacy/erase?lang=th", data={"csrf_token": token,
                                                                      "email": "kanda@onesqa.example"})
    assert unconfirmed.status_code == 422 and "ย้อนกลับไม่ได้" in unconfirmed.get_data(as_text=True)
    done = client.post("/intake/privacy/erase?lang=th", data={"csrf_token": token, "email": "kanda@onesqa.example",
                                                              "confirm": "yes"})
    assert done.status_code == 303
    erasure_url = done.headers["Location"]
    waiting = client.get(erasure_url).get_data(as_text=True)
    # due 30 days after the request, a Bangkok date in the Buddhist era; intake has erased its part
    # Bangkok's date, not the machine's (UTC): from 17:00 UTC Bangkok is a day ahead
    due = datetime.now(BANGKOK).date() + timedelta(days=30)  # within the day it asks
    assert f"{due.day} " in waiting and str(due.year + 543) in waiting
    assert waiting.count('<span class="ontime">ยืนยันแล้ว') == 1 and waiting.count("รอการยืนยัน") == 3
    drain()
    confirmed = client.get(erasure_url).get_data(as_text=True)
    assert confirmed.count('<span class="ontime">ยืนยันแล้ว') == 4 and 'id="complete"' in confirmed
    assert first in confirmed and second in confirmed

    # the person is gone from the organisation's requests; another organisation's officer sees none of it
    again = client.post("/intake/privacy/find?lang=en", data={"csrf_token": token, "email": "kanda@onesqa.example"})
    assert first not in again.get_data(as_text=True)
    sign_in(client, "up-privacy")
    assert client.get(erasure_url).status_code == 404
    assert first not in client.get("/intake/privacy").get_data(as_text=True)


@pytest.mark.browser
def test_the_access_log_page_shows_every_service_s_reads_in_thai(live_server, browser_page, tmp_path):
    from werkzeug.test import Client

    from sopdesk.gateway import create_gateway

    base, page = live_server, browser_page
    client = Client(create_gateway())
    make_staff("home-officer", ["officer"], HOME)
    make_staff("home-head", ["head"], HOME)
    code = _file_request(client)
    drain()
    _, admin = make_staff("home-admin", ["admin"], HOME)
    assert client.get(f"/assignment/cases/{code}", headers={"Authorization": f"Bearer {admin}"}).status_code == 200
    make_staff("onesqa-privacy", ["privacy-officer"], HOME)

    console = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.goto(f"{base}/assignment/login")
    page.fill("#username", "onesqa-privacy")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{base}/assignment/desk")
    page.goto(f"{base}/intake/privacy/access-log?lang=th&record_id={code}")
    page.wait_for_selector("#reads tr.read")
    text = page.locator("#reads").inner_text()
    assert "home-admin" in text and code in text and "งานตามขั้นตอน" in text and "เรื่อง" in text
    assert str(datetime.now(BANGKOK).year + 543) in text  # when, in the Buddhist era
    page.screenshot(path=str(tmp_path / "access-log.png"), full_page=True)
    page.fill("#since", "31/02/2569")
    page.click("#filters button")
    assert "วันที่ไม่ถูกต้อง" in page.locator("#filters").inner_text()
    assert not [m for m in console if "Content Security Policy" in m], console
