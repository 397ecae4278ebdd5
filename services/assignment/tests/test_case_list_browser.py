"""The desk's list of cases in headless Chromium, in Thai: an officer searches for a Thai word
from the desk, narrows the list to the late cases, opens one; and the list fits a 390 px phone."""
from __future__ import annotations

import os

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import Case, CaseStep
from shared import i18n
from sopdesk import testing_events as payloads

pytestmark = [pytest.mark.browser, pytest.mark.org("onesqa")]

NOW = datetime.now(timezone.utc)
# (code, subject, received how long ago): onesqa/web-publish's case deadline is 2 working days
CASES = [("SD-BRWS0-00001", "ขอเผยแพร่ประกาศเครื่องพิมพ์ชำรุด", timedelta(days=40)),
         ("SD-BRWS0-00002", "ประกาศจัดซื้อเครื่องพิมพ์เลเซอร์", timedelta(minutes=5)),
         ("SD-BRWS0-00003", "ข่าวประชุมคณะกรรมการ", timedelta(days=30))]


def _world(officer: str) -> None:
    for code, subject, ago in CASES:
        bus.consume(payloads.envelope("request.submitted", payloads.request_submitted(
            code, sop="onesqa/web-publish", subject=subject, details="รายละเอียดตามบันทึกข้อความ",
            fields={"memo_ref": "ภทส. 1/2570"}, received_at=NOW - ago)))
    with bus.unit_of_work() as uow:  # the officer holds each case's open step
        for row in uow.session.scalars(select(CaseStep).where(CaseStep.status == "active")):
            row.assignee = officer
        uow.commit()


def _late_codes() -> set[str]:
    now = datetime.now(timezone.utc)
    with bus.session() as session:
        cases = session.scalars(select(Case)).all()
        steps = {s.case_id: s for s in session.scalars(select(CaseStep).where(CaseStep.status == "active"))}
    return {c.tracking_code for c in cases
            if (c.due_at and c.due_at < now and c.paused_since is None)
            or (steps.get(c.id) and steps[c.id].due_at and steps[c.id].due_at < now)}


def test_an_officer_searches_in_thai_narrows_to_the_late_ones_and_opens_a_case(live_server, browser_page, people):
    from services.assignment.tests.conftest import PASSWORD

    _world("u-officer")
    page, base = browser_page, live_server
    page.goto(f"{base}/assignment/login?lang=th")
    page.fill("#username", "u-officer")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{base}/assignment/desk")

    word = "เครื่องพิมพ์"
    page.fill("#desk-q", word)
    page.press("#desk-q", "Enter")
    page.wait_for_url("**/assignment/desk/cases?q=*")
    found = page.locator("#case-list tbody tr").evaluate_all("rows => rows.map(r => r.dataset.code)")
    with_word = [code for code, subject, _ in CASES if word in subject]
    assert sorted(found) == sorted(with_word)
    assert i18n.translate("list.count", "th", total=len(with_word)) in page.locator("#case-count").inner_text()

    page.select_option("#overdue", "true")
    page.click("#apply-filters")
    page.wait_for_load_state()
    late = sorted(set(with_word) & _late_codes())
    assert late, "one of the cases is past its deadline"
    rows = page.locator("#case-list tbody tr")
    assert sorted(rows.evaluate_all("rows => rows.map(r => r.dataset.code)")) == late
    assert all("overdue-row" in (rows.nth(i).get_attribute("class") or "") for i in range(rows.count()))
    assert page.locator("#case-list .overdue").first.inner_text() == i18n.translate("desk.overdue", "th")
    assert page.input_value("#q") == word  # the filters stay as they were set

    # the officer keeps this list under a name of their own, and it is one click away from then on
    page.fill("#list-name", "เครื่องพิมพ์ที่เกินกำหนด")
    page.click("#save-list-button")
    page.wait_for_load_state()
    saved = page.locator("#saved-lists a", has_text="เครื่องพิมพ์ที่เกินกำหนด")
    assert saved.count() == 1
    if os.environ.get("SOPDESK_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["SOPDESK_SCREENSHOTS"], "saved-list.png"), full_page=True)
    page.goto(f"{base}/assignment/desk/cases?lang=th")
    assert page.locator("#case-list tbody tr").count() == len(CASES)
    page.locator("#saved-lists a", has_text="เครื่องพิมพ์ที่เกินกำหนด").click()
    page.wait_for_load_state()
    assert sorted(page.locator("#case-list tbody tr").evaluate_all("rows => rows.map(r => r.dataset.code)")) == late
    assert page.input_value("#q") == word and page.input_value("#overdue") == "true"

    page.click(f"#case-list tr[data-code='{late[0]}'] a")
    page.wait_for_url(f"{base}/assignment/desk/cases/{late[0]}")
    assert late[0] in page.content()


def test_the_list_fits_a_phone(live_server, chromium_browser, people):
    from shared.auth import issue_token  # noqa: F401  (the token below is the people fixture's)

    _world("u-officer")
    context = chromium_browser.new_context(locale="th-TH", viewport={"width": 390, "height": 844},
                                           extra_http_headers={"Authorization": f"Bearer {people.tokens['u-director']}"})
    try:
        page = context.new_page()
        page.goto(f"{live_server}/assignment/desk/cases?lang=th")
        assert page.locator("#case-list tbody tr").count() == len(CASES)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        context.close()
