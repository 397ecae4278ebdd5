"""The administration pages in headless Chromium, in Thai: an organisation's administrator adds a
new head of a unit through the form (no API), and the new head signs in with the password the
administrator gave and finds the unit's open case in the unit's queue."""
import pytest

from services.assignment.adapters.bus import bus
from services.assignment.handlers.directory import add_unit, add_user
from shared import i18n
from sopdesk import testing_events as payloads
from sopdesk.testing import browser_sign_in, make_staff

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


def test_an_administrator_adds_a_head_to_a_unit_who_then_sees_the_unit_s_queue(live_server, browser_page):
    make_staff("admin-sc", ["admin"], "sesao-sc", password=PASSWORD)
    add_unit("ict-sc", "sesao-sc", "ศูนย์บริการ ICT", "ICT service centre")
    add_user("somsak", PASSWORD, ["officer"], display_name="สมศักดิ์ ใจดี", unit="ict-sc")
    # a repair request: its first step (an officer's) goes to the unit's only officer
    code = "SD-ADMIN-00001"
    bus.consume(payloads.envelope("request.submitted", payloads.request_submitted(
        code, subject="เครื่องพิมพ์ไม่ทำงาน", fields={"asset_tag": "A-1"}), correlation_id=code))

    page, base = browser_page, live_server
    browser_sign_in(page, base, "admin-sc", PASSWORD)
    page.click("header nav >> text=" + i18n.translate("nav.admin", "th"))  # the menu has the area
    page.wait_for_url(f"{base}/assignment/desk/admin")
    page.click("#admin-people")
    page.click("#add-person")
    page.fill("#username", "wichai")
    page.fill("#display_name", "วิชัย หัวหน้าศูนย์")
    page.fill("#email", "wichai@office.example")
    page.select_option("#unit", "ict-sc")
    page.check("#role-head")
    page.fill("#password", "short")  # refused beside its field, in Thai; the rest kept as typed
    page.click("#save-person")
    page.wait_for_load_state()
    assert page.locator("#error-password").inner_text() == i18n.translate("admin.err.password", "th")
    assert page.input_value("#username") == "wichai" and page.is_checked("#role-head")
    page.fill("#password", "a new password 1")
    page.click("#save-person")
    page.wait_for_url(f"{base}/assignment/desk/admin/people?org=sesao-sc")
    assert page.locator(".flash").inner_text() == i18n.translate("admin.person.added", "th", username="wichai")
    row = page.locator("#people tr[data-username='wichai']")
    assert "ict-sc" in row.inner_text() and i18n.translate("role.head", "th") in row.inner_text()
    page.click("#admin-trail")
    entry = page.locator("#trail tbody tr").first  # the newest
    assert entry.get_attribute("data-key") == "wichai" and "admin-sc" in entry.inner_text()
    assert "วิชัย หัวหน้าศูนย์" in entry.locator(".after").inner_text()
    page.screenshot(path="/tmp/admin-trail.png", full_page=True)
    page.click("#logout")

    browser_sign_in(page, base, "wichai", "a new password 1")
    queue = page.locator(f"#unit-queue tr[data-code='{code}']")
    assert queue.count() == 1
    assert "เครื่องพิมพ์ไม่ทำงาน" in queue.inner_text()
    page.screenshot(path="/tmp/admin-new-head-queue.png", full_page=True)
