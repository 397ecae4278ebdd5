"""Results the requester reads, in headless Chromium (Debian's chromium, driven by Playwright), in
Thai: an officer searches the desk for the case in Thai, narrows the list to the late cases, opens
it, and hands in the result as a file at up/server-admin's report-back
("แจ้งการดำเนินการ และสรุปผลการแก้ไข ให้หน่วยงานได้รับทราบ") with the summary the requester
reads and an internal note; the requester finds the summary and the file in the "step done"
email the SMTP listener caught and on the tracking page, and downloads the very bytes uploaded.
Events go through the real Redis queues (``drain``)."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

import shared.config
from services.assignment.adapters.bus import bus as assignment_bus
from services.assignment.adapters.models import Case, CaseStep
from services.assignment.handlers.directory import add_unit, add_user, staff_of
from services.assignment.tests.test_sops_end_to_end import sample
from shared.auth import issue_token
from shared.config import get_settings
from shared.packs import find_sop
from sopdesk.testing import drain
from sopdesk.testing_actions import PDF

pytestmark = pytest.mark.browser

REQUESTER = "manee@school.example"
LINK = re.compile(r"https?://\S+")
PASSWORD = "correct horse battery"


@pytest.fixture
def served_here(live_server, tmp_path, monkeypatch):
    """Links in emails point at this test's server; uploads go to this test's folder."""
    monkeypatch.setattr(shared.config, "_settings",
                        get_settings().with_changes(public_url=live_server, files_dir=tmp_path / "files"))
    return live_server


def test_an_officer_finds_the_late_case_in_thai_hands_in_the_result_and_the_requester_reads_and_downloads_it(
        served_here, browser_page, mailbox, tmp_path):
    base, page = served_here, browser_page
    add_unit("ict-up", "up", "งานพัฒนาระบบสารสนเทศ", "Information systems")
    officer = add_user("somchai", PASSWORD, ["officer"], display_name="สมชาย ใจดี",
                       email="somchai@up.example", unit="ict-up")
    token = issue_token(staff_of(officer))
    sop = find_sop("up/server-admin")
    body = {"sop": sop.full_key, "requester_name": "ครูมานี มีนา", "requester_email": REQUESTER,
            "requester_unit": "คณะศึกษาศาสตร์", "subject": "เซิร์ฟเวอร์เว็บคณะล่ม", "details": "เข้าเว็บไม่ได้ตั้งแต่เช้า",
            "consent": True, "language": "th",
            **{f.name: sample(f) for f in sop.form if f.type != "file"}}
    filed = page.request.post(f"{base}/intake/requests", data=json.dumps(body),
                              headers={"Content-Type": "application/json"})
    assert filed.status == 201
    code = filed.json()["tracking_code"]
    drain()

    def act(step, outcome, **extra):
        response = page.request.post(f"{base}/assignment/cases/{code}/actions",
                                     data=json.dumps({"step": step, "outcome": outcome, **extra}),
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        assert response.status == 200, response.text()
        drain()

    act("check-problem", "done")
    for step in ("analyse", "coordinate-network"):
        act(step, "set-target", target="1 day")
        act(step, "done")

    # report-back's ten working minutes have passed (the clock is moved back, not waited for)
    with assignment_bus.unit_of_work() as uow:
        row = uow.session.scalar(select(CaseStep).join(Case, Case.id == CaseStep.case_id)
                                 .where(Case.tracking_code == code, CaseStep.status == "active"))
        assert row.step == "report-back" and row.due_at is not None
        row.due_at = datetime.now(timezone.utc) - timedelta(hours=1)
        uow.commit()

    # the officer at the desk searches for the case in Thai, narrows the list to the late ones and
    # opens it; then hands in the result as a file, the summary for the requester, a note for staff
    page.goto(f"{base}/assignment/login?lang=th")
    page.fill("#username", "somchai")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{base}/assignment/desk")
    page.fill("#desk-q", "เว็บคณะ")  # a word inside the subject "เซิร์ฟเวอร์เว็บคณะล่ม"
    page.press("#desk-q", "Enter")
    page.wait_for_url("**/assignment/desk/cases?q=*")
    assert page.locator("#case-list tbody tr").evaluate_all("rows => rows.map(r => r.dataset.code)") == [code]
    page.select_option("#overdue", "true")
    page.click("#apply-filters")
    page.wait_for_load_state()
    late = page.locator(f"#case-list tr[data-code='{code}']")
    assert late.count() == 1 and "overdue-row" in late.get_attribute("class")
    late.locator("a").first.click()
    page.wait_for_url(f"{base}/assignment/desk/cases/{code}")
    form = page.locator("form.outcome-form[data-step='report-back']")
    assert form.get_attribute("enctype") == "multipart/form-data"
    assert "ข้อความถึงผู้ขอ" in form.inner_text() and "ต้องกรอก" in form.inner_text()  # Thai labels
    report = PDF + "% รายงานผลการแก้ไข\n".encode()
    upload = tmp_path / "รายงานผลการแก้ไข.pdf"
    upload.write_bytes(report)
    summary = "เปลี่ยนฮาร์ดดิสก์ที่เสียแล้ว เว็บคณะกลับมาใช้งานได้ตั้งแต่ 14:00 น."
    note = "ภายใน: ดิสก์ลูกที่สองใกล้เสีย ควรสั่งซื้อสำรอง"
    form.locator("input[type=file][name='documents.result-report']").set_input_files(str(upload))
    form.locator("input[name='documents.result-report.ref']").fill("บันทึก ทส. 12/2569")
    form.locator("textarea[name=message]").fill(summary)
    form.locator("textarea[name=note]").fill(note)
    form.locator("button[data-outcome='done']").click()
    page.wait_for_load_state()
    assert page.locator(".flash").count() == 1, page.content()
    drain()
    # the desk lists what the requester was told and the kept file, previewed in the browser
    results = page.locator("#case-documents").inner_text()
    assert summary in results and "รายงานผลการแก้ไข.pdf" in results
    # and the trail: the message in words, the document as a link to the kept file (no internal id shown)
    trail = page.locator("#trail")
    assert summary in trail.inner_text()
    assert trail.locator("a", has_text="รายงานผลการแก้ไข.pdf").count() == 1
    preview = page.locator("#case-documents a", has_text="รายงานผลการแก้ไข.pdf").get_attribute("href")
    shown = page.request.get(f"{base}{preview}")
    assert shown.status == 200 and shown.body() == report
    assert shown.headers["content-disposition"].startswith("inline")
    page.context.clear_cookies()  # the requester is someone else, on another machine

    # the requester's email: the summary and the file's link, never the note
    [mail] = [m for m in mailbox.all() if REQUESTER in m.envelope_to and summary in m.text()]
    assert note not in mail.text() and note not in mail.html()
    [track_link] = [url for url in LINK.findall(mail.text()) if "/intake/track/" in url]
    [file_link] = [url for url in LINK.findall(mail.text()) if "/assignment/track/" in url]
    assert "รายงานผลการแก้ไข.pdf" in mail.text()

    # the tracking page, from the email's link: the summary and the file
    page.goto(track_link)
    told = page.locator("#results li.result[data-step='report-back']")
    assert summary in told.inner_text()
    assert note not in page.content()
    link = told.locator("a", has_text="รายงานผลการแก้ไข.pdf")
    with page.expect_download() as caught:
        link.click()
    assert Path(caught.value.path()).read_bytes() == report
    assert caught.value.suggested_filename == "รายงานผลการแก้ไข.pdf"
    # the email's own link gives the same bytes
    by_mail = page.request.get(file_link)
    assert by_mail.status == 200 and by_mail.body() == report
