"""The procurement desk in headless Chromium (Debian's chromium, driven by Playwright), in Thai: an
inspection committee member logs in, reads the contract's milestone timeline (an inline SVG: one
marker per milestone, its state and its Thai title, Thai text really drawn), accepts the milestone
awaiting her from her pending acceptances, and sees the timeline turn it to accepted."""
from __future__ import annotations

import os

import pytest

from services.procurement.entrypoints import timeline
from services.procurement.tests.conftest import PASSWORD
from services.procurement.tests.test_desk import build

pytestmark = pytest.mark.browser


def log_in(page, base: str, username: str, next_path: str) -> None:
    page.goto(f"{base}{next_path}")
    assert page.url == f"{base}/assignment/login?next={next_path}"  # an anonymous visit goes to the login page
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{base}{next_path}")


def states(page) -> dict[str, str]:
    return page.eval_on_selector_all(
        "#timeline svg g.milestone",
        "gs => Object.fromEntries(gs.map(g => [g.dataset.milestone, g.dataset.state]))")


def test_a_committee_member_reads_the_timeline_and_accepts_a_milestone(live_server, browser_page,
                                                                       procurement_people):
    data = build(procurement_people)
    page, base = browser_page, live_server
    contract_path = f"/procurement/desk/contracts/{data['contract_id']}"
    log_in(page, base, "u-inspect1", contract_path)

    svg = page.locator("#timeline svg")
    assert svg.count() == 1
    box = svg.bounding_box()
    assert box["width"] > 600 and box["height"] > 200
    assert states(page) == {"1": "paid", "2": "accepted", "3": "late", "4": "late", "5": "pending"}
    late = page.locator("#timeline svg g.milestone[data-milestone='3']")
    assert late.get_attribute("data-progress") == "delivered" and late.get_attribute("data-days-late") == "8"
    title = late.locator("title").text_content()
    assert title.startswith("งวดที่ 3: อบรมผู้ใช้งาน") and "ส่งมอบช้า 8 วัน" in title and "ค่าปรับ 800.00 บาท" in title
    # every marker is drawn (a box on screen), with its Thai label
    for n in range(1, 6):
        marker = page.locator(f"#timeline svg g.milestone[data-milestone='{n}'] .marker")
        assert marker.count() == 1 and marker.bounding_box()["width"] > 5
    labels = page.locator("#timeline svg g.milestone text tspan[font-weight=bold]").all_text_contents()
    assert {f"งวดที่ {n}" for n in range(1, 6)} <= set(labels)
    assert page.locator("#timeline svg g.today").count() == 1
    # Thai glyphs are really drawn: a Thai label is about as wide as the layout estimated, not
    # collapsed (missing font) and not overflowing its box
    row_text = page.locator("#timeline svg g.milestone[data-milestone='3'] text", has_text="งวดที่ 3")
    drawn = row_text.bounding_box()["width"] * 960 / box["width"]  # in the SVG's own units
    estimated = timeline.text_width(row_text.text_content(), 13)
    assert 0.5 * estimated < drawn <= timeline.LABEL_W
    if os.environ.get("SOPDESK_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["SOPDESK_SCREENSHOTS"], "contract-th.png"), full_page=True)

    # her pending acceptances: the third milestone, which the other member accepted already
    page.click("#nav-acceptances")
    page.wait_for_url(f"{base}/procurement/desk/acceptances")
    forms = page.locator("form.acceptance-form")
    assert forms.count() == 1
    form = page.locator(f"form.acceptance-form[data-milestone-id='{data['milestone_ids'][2]}']")
    assert "อบรมผู้ใช้งาน" in form.inner_text()
    form.locator("textarea[name=note]").fill("ตรวจแล้วครบถ้วนตามใบลงชื่อ")
    form.locator("button[data-decision='accepted']").click()
    page.wait_for_url(f"{base}/procurement/desk/acceptances")
    assert page.locator(".flash").inner_text() == "บันทึกแล้ว"
    assert page.locator("#nothing-pending").count() == 1

    page.goto(f"{base}{contract_path}")
    assert states(page) == {"1": "paid", "2": "accepted", "3": "accepted", "4": "late", "5": "pending"}
    accepted = page.locator("#timeline svg g.milestone[data-milestone='3']")
    assert accepted.get_attribute("data-days-late") == "8"  # it was late: the red ring stays
    assert accepted.locator(".late-ring").count() == 1
    assert "ตรวจรับแล้ว" in accepted.locator("title").text_content()
    assert page.locator("#milestones tr[data-milestone='3']").get_attribute("data-state") == "accepted"
    assert page.locator("form.action-form[data-action='acceptance']").count() == 0
    if os.environ.get("SOPDESK_SCREENSHOTS"):  # for a person to look at, not checked
        for name, path in (("projects", "/procurement/desk/"), ("project", f"/procurement/desk/projects/{data['project_id']}"),
                           ("due", "/procurement/desk/due"), ("contract-en", f"{contract_path}?lang=en")):
            page.goto(f"{base}{path}")
            page.screenshot(path=os.path.join(os.environ["SOPDESK_SCREENSHOTS"], f"{name}.png"), full_page=True)
