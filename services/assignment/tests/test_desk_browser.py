"""The staff desk in headless Chromium (Debian's chromium, driven by Playwright), in Thai: a head
logs in, assigns the new repair case to an officer, the officer works every step of it in the
browser, and the case closes. Also the SOP page's manual table and flowchart."""
import json
import re

import pytest

from services.assignment.adapters.bus import bus
from services.assignment.handlers import directory
from services.assignment.handlers.directory import add_unit
from shared import i18n
from shared.packs import find_sop
from sopdesk.testing import browser_sign_in, drain

pytestmark = pytest.mark.browser


def test_a_head_assigns_and_the_officer_works_the_case_to_its_close(live_server, browser_page, people):
    from services.assignment.tests.conftest import PASSWORD

    add_unit("ict-sc", "sesao-sc", "ศูนย์บริการ ICT", "ICT service centre")
    people.add("head-sc", ["head"], unit="ict-sc")
    people.add("somsak", ["officer"], unit="ict-sc")
    people.add("wipa", ["officer"], unit="ict-sc")
    page, base = browser_page, live_server
    body = {"sop": "sesao-sc/repair", "requester_name": "ครูมานี มีนา", "requester_email": "manee@school.example",
            "requester_unit": "โรงเรียนบ้านเขา", "subject": "เครื่องพิมพ์ไม่ทำงาน", "details": "กระดาษติด",
            "consent": True, "asset_tag": "7440-001-0001", "location": "ห้องธุรการ"}
    response = page.request.post(f"{base}/intake/requests", data=json.dumps(body),
                                 headers={"Content-Type": "application/json"})
    assert response.status == 201
    code = response.json()["tracking_code"]
    drain()

    # the head sees the case in the unit's queue and gives it to wipa
    browser_sign_in(page, base, "head-sc", PASSWORD)
    row = page.locator(f"#unit-queue tr[data-code='{code}']")
    assert row.count() == 1
    assert "รับแจ้งซ่อมจากแบบฟอร์มแจ้งซ่อม" in row.inner_text()
    row.locator("select[name=assignee]").select_option("wipa")
    row.locator("button").click()
    page.wait_for_load_state()
    assert "wipa" in page.locator(f"#unit-queue tr[data-code='{code}']").inner_text()
    page.click("#logout")

    # wipa finds it in her work and takes it through every step
    browser_sign_in(page, base, "wipa", PASSWORD)
    page.click(f"#my-work tr[data-code='{code}'] a")
    page.wait_for_url(f"{base}/assignment/desk/cases/{code}")
    # a Thai page reads in words, never in keys: the manual gives receive-form's "done" no label of
    # its own, so its button shows the shared words for it
    button = page.locator("form.outcome-form[data-step='receive-form'] button[data-outcome='done']")
    assert button.inner_text().strip() == i18n.translate("outcome.done", "th")
    for step, outcome in (("receive-form", "done"), ("check-report", "done"), ("diagnose", "repair"),
                          ("repair", "done"), ("verify", "fail"), ("repair", "done"), ("verify", "pass"),
                          ("handover", "done")):
        form = page.locator(f"form.outcome-form[data-step='{step}']")
        if outcome == "fail":
            form.locator("textarea[name=note]").fill("ยังพิมพ์ไม่ออก")
        form.locator(f"button[data-outcome='{outcome}']").click()
        page.wait_for_load_state()
        assert page.locator(".flash").count() == 1, page.content()
    drain()
    assert "ปิดเรื่องแล้ว" in page.locator("#case-status").inner_text()
    timeline = page.locator("#timeline tbody tr")
    assert timeline.count() == 8
    repairs = page.locator("#timeline tr[data-step='repair']")
    assert [repairs.nth(i).locator("td").nth(1).inner_text() for i in range(2)] == ["1", "2"]  # the rounds
    with bus.session() as session:  # people by the name the directory gives them, not their username
        wipa = directory.display_names(session, ["wipa"])["wipa"]
    assert wipa in page.locator("#timeline tr[data-step='receive-form']").inner_text()
    assert page.locator("#actions").inner_text().strip() == "ปิดเรื่องแล้ว"
    # the trail, in Thai: each entry's kind in words; the outcomes chosen in words, not their keys
    trail = page.locator("#trail").inner_text()
    for kind in ("opened", "started", "action", "closed"):
        assert i18n.translate(f"desk.trail.{kind}", "th") in trail, kind
    verify = find_sop("sesao-sc/repair").step("verify")
    assert i18n.pick(verify.outcomes["fail"].label, "th") in trail
    assert i18n.translate("desk.actor.requester", "th") in trail and i18n.translate("desk.actor.sopdesk", "th") in trail
    words = set(re.findall(r"[A-Za-z][a-z_-]+", trail))
    assert words.isdisjoint({"opened", "started", "action", "closed", "resumed", "done", "pass", "fail",
                             "requester", "sopdesk"}), words


def test_someone_without_the_role_sees_no_actions_and_a_refused_post_explains(live_server, browser_page, people):
    from services.assignment.tests.conftest import PASSWORD

    page, base = browser_page, live_server
    body = {"sop": "sesao-sc/repair", "requester_name": "ครูมานี", "requester_email": "manee@school.example",
            "requester_unit": "โรงเรียน", "subject": "จอดับ", "details": "-", "consent": True,
            "asset_tag": "A-1", "location": "ห้อง 1"}
    code = page.request.post(f"{base}/intake/requests", data=json.dumps(body),
                             headers={"Content-Type": "application/json"}).json()["tracking_code"]
    drain()
    browser_sign_in(page, base, "u-director", PASSWORD)  # sees every case of the organisation; this step is an officer's
    page.goto(f"{base}/assignment/desk/cases/{code}")
    assert page.locator("form.outcome-form").count() == 0
    assert "ท่านไม่มีสิทธิ์ดำเนินการ" in page.locator("#actions").inner_text()
    # a forged post without the session's CSRF token is refused
    forged = page.request.post(f"{base}/assignment/desk/cases/{code}/act",
                               form={"step": "receive-form", "outcome": "done"})
    assert forged.status == 403


def test_the_sop_page_shows_the_manual_table_and_its_flowchart(live_server, browser_page, clean):
    page, base = browser_page, live_server
    console = []  # a Content-Security-Policy violation is a console error in Chromium
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.goto(f"{base}/assignment/sops/onesqa/equipment-support?lang=th")
    rows = page.locator("#manual tbody tr")
    assert rows.count() == 5
    assert page.locator("#manual tr[data-step='assign']").count() == 1
    assert "1-3 วันทำการ" in page.locator("body").inner_text()  # the case deadline
    svg = page.locator("#flowchart svg")
    assert svg.count() == 1 and svg.bounding_box()["height"] > 200
    assert page.locator("#flowchart svg .step").count() == 5
    english = page.goto(f"{base}/assignment/sops/onesqa/equipment-support?lang=en")
    assert english.status == 200 and "Lend" in page.locator("#manual").inner_text()
    assert "frame-ancestors 'none'" in english.headers["content-security-policy"]
    assert not [m for m in console if "Content Security Policy" in m], console  # the inline SVG within the policy
