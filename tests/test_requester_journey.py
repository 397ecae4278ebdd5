"""A requester's whole journey in headless Chromium (Debian's chromium, driven by Playwright), in
Thai: fill the repair form, see the tracking code, open the link from the email the SMTP
listener caught, watch the timeline move as staff act, answer a return for correction with a
file, and answer the survey from the closing email's one-click link. Staff act through the real
API; events go through the real Redis queues (``drain``)."""
from __future__ import annotations

import json
import re

import pytest

import shared.config
from services.assignment.adapters.bus import bus as assignment_bus
from services.assignment.adapters.models import SurveyScore
from services.assignment.handlers.directory import add_unit, add_user, staff_of
from services.intake.tests.test_files import PNG
from shared.auth import issue_token
from shared.config import get_settings
from sopdesk.testing import drain

pytestmark = pytest.mark.browser

REQUESTER = "manee@school.example"
LINK = re.compile(r"https?://\S+")


@pytest.fixture
def served_here(live_server, tmp_path, monkeypatch):
    """Links in emails point at this test's server; uploads go to this test's folder."""
    monkeypatch.setattr(shared.config, "_settings",
                        get_settings().with_changes(public_url=live_server, files_dir=tmp_path / "files"))
    return live_server


def mail_to(mailbox, subject_part: str):
    found = [m for m in mailbox.all() if REQUESTER in m.envelope_to and subject_part in str(m.message["Subject"])]
    assert len(found) == 1, [str(m.message["Subject"]) for m in mailbox.all()]
    return found[0]


def links_in(mail, part: str) -> list[str]:
    return [url for url in LINK.findall(mail.text()) if part in url]


def test_a_teacher_files_follows_answers_and_rates_a_repair_in_thai(served_here, browser_page, mailbox):
    base, page = served_here, browser_page
    add_unit("ict", "sesao-sc", "ศูนย์ ICT", "ICT centre")
    officer = add_user("wipa", "correct horse battery", ["officer"], email="wipa@office.example", unit="ict")
    token = issue_token(staff_of(officer))

    def act(code, step, outcome, note=None):
        body = {"step": step, "outcome": outcome, **({"note": note} if note else {})}
        response = page.request.post(f"{base}/assignment/cases/{code}/actions", data=json.dumps(body),
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        assert response.status == 200, response.text()
        drain()

    # 1. the form, in Thai (the browser's language), with a Buddhist-era date and a photo
    page.goto(f"{base}/intake/forms/sesao-sc/repair")
    assert page.locator("html").get_attribute("lang") == "th"
    page.fill("#requester_name", "ครูมานี มีนา")
    page.fill("#requester_email", REQUESTER)
    page.fill("#requester_unit", "โรงเรียนบ้านนา")
    page.fill("#subject", "เครื่องพิมพ์ห้องธุรการพิมพ์ไม่ออก")
    page.fill("#asset_tag", "7440-001-0001")
    page.fill("#location", "ห้องธุรการ")
    page.fill("#since", "18/11/2569")
    page.fill("#details", "กระดาษติดและไฟกะพริบ")
    page.set_input_files("#photos", files=[{"name": "ไฟกะพริบ.png", "mimeType": "image/png", "buffer": PNG}])
    page.check("#consent")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/intake/submitted/**")
    code = page.locator("#tracking-code").inner_text().strip()
    assert re.fullmatch(r"SD-[0-9A-Z]{5}-[0-9A-Z]{5}", code)

    # 2. the email with the tracking link, from the SMTP listener; the link opens the case
    drain()
    received = mail_to(mailbox, code)
    assert str(received.message["Subject"]).startswith("ได้รับคำขอของท่านแล้ว")
    [link] = links_in(received, f"/intake/track/{code}?token=")
    assert link.startswith(base)
    page.goto(link)
    assert page.locator("#status").inner_text().startswith("กำลังดำเนินการ")
    assert page.locator("#next").inner_text() == "รับแจ้งซ่อมจากแบบฟอร์มแจ้งซ่อม โดยเจ้าหน้าที่ ICT"  # the step and its role
    assert "wipa" not in page.content() and "wipa@office.example" not in page.content()  # a role, not a person
    assert "2569" in page.locator("#received").inner_text()
    assert page.locator("#documents a").inner_text() == "ไฟกะพริบ.png"
    assert page.locator("#steps tbody tr").count() == 0  # no step done yet

    # 3. staff act: the timeline moves
    act(code, "receive-form", "done")
    page.reload()
    assert page.locator("#steps tbody tr").count() == 1
    assert "รับแจ้งซ่อมจากแบบฟอร์มแจ้งซ่อม" in page.locator("#steps tbody tr").first.inner_text()
    assert "ตรวจสอบตามรายงานการแจ้งซ่อม" in page.locator("#next").inner_text()

    # 4. returned for correction: the email says what to fix; the page takes the answer and a file
    act(code, "check-report", "incomplete", note="โปรดแจ้งรุ่นของเครื่องพิมพ์")
    returned = mail_to(mailbox, "แก้ไข")
    assert "โปรดแจ้งรุ่นของเครื่องพิมพ์" in returned.text()
    page.goto(links_in(returned, f"/intake/track/{code}?token=")[0])
    assert page.locator("#asked-note").inner_text() == "โปรดแจ้งรุ่นของเครื่องพิมพ์"
    page.fill("#note", "รุ่น HP LaserJet P1102 <script>alert(1)</script>")
    page.set_input_files("#files", files=[{"name": "ป้ายรุ่น.png", "mimeType": "image/png", "buffer": PNG}])
    page.click("#asked button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#answered").is_visible()
    assert "<script>alert(1)</script>" in page.locator("#answers").inner_text()  # shown as text
    drain()
    page.reload()
    assert page.locator("#asked form").count() == 0  # answered: nothing more asked
    assert "ตรวจสอบตามรายงานการแจ้งซ่อม" in page.locator("#next").inner_text()  # back with the officer
    assert sorted(a.inner_text() for a in page.locator("#documents a").all()) == ["ป้ายรุ่น.png", "ไฟกะพริบ.png"]

    # 5. the repair goes on to its close; the closing email carries the survey
    for step, outcome in (("check-report", "done"), ("diagnose", "repair"), ("repair", "done"),
                          ("verify", "pass"), ("handover", "done")):
        act(code, step, outcome)
    page.reload()
    assert page.locator("#status").inner_text().startswith("ปิดเรื่องแล้ว")
    # done: receive, check, the requester's correction, check again (round 2), diagnose, repair, verify, handover
    assert page.locator("#steps tbody tr").count() == 8
    closed = mail_to(mailbox, "ปิด")
    survey_links = links_in(closed, f"/intake/track/{code}/survey?token=")
    assert sorted(link[-1] for link in survey_links) == ["1", "2", "3", "4", "5"]

    # 6. one click on "5" opens the survey with it chosen; a comment, and it is recorded once
    page.goto(next(link for link in survey_links if link.endswith("score=5")))
    assert page.locator("input[name=score][value='5']").is_checked()
    page.fill("#comment", "บริการรวดเร็ว ขอบคุณครับ")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    drain()
    with assignment_bus.session() as session:
        score = session.get(SurveyScore, code)
        assert (score.score, score.comment, score.sop, score.unit) == (5, "บริการรวดเร็ว ขอบคุณครับ",
                                                                        "sesao-sc/repair", "ict")
    page.goto(link)
    assert "5" in page.locator("#survey").inner_text()  # the tracking page thanks them for it
