"""The breach register on the desk in headless Chromium, in Thai: a privacy officer records a
breach through the form with a Buddhist-era date and time, and sees its 72-hour clock on its page
and in the register."""
from datetime import datetime, timedelta, timezone

import pytest

from shared import i18n
from sopdesk.testing import make_staff

pytestmark = pytest.mark.browser


def test_a_privacy_officer_records_a_breach_with_a_buddhist_era_date_and_sees_its_clock(live_server, browser_page,
                                                                                        tmp_path):
    make_staff("privacy-sc", ["privacy-officer"], "sesao-sc", password="correct horse battery")
    page, base = browser_page, live_server
    page.goto(f"{base}/assignment/login?lang=th")
    page.fill("#username", "privacy-sc")
    page.fill("#password", "correct horse battery")
    page.click("#login")
    page.wait_for_url(f"{base}/assignment/desk")

    aware = (datetime.now(timezone.utc) - timedelta(hours=30)).replace(second=0, microsecond=0)
    local = aware.astimezone(i18n.BANGKOK)
    typed = f"{local.day:02d}/{local.month:02d}/{local.year + 543} {local:%H:%M}"
    page.goto(f"{base}/assignment/desk/breaches/new")
    page.fill("#aware_at", typed)
    page.fill("#description", "แฟ้มรายชื่อผู้ยื่นคำขอถูกส่งอีเมลผิดคน")
    page.fill("#data_concerned", "ชื่อ อีเมล เบอร์โทรศัพท์")
    page.fill("#people_affected", "40")
    page.select_option("#risk", "high")
    page.fill("#measures", "ขอให้ผู้รับลบอีเมลและยืนยันเป็นหนังสือ")
    page.click("#save-breach")
    page.wait_for_url(f"{base}/assignment/desk/breaches/*")

    deadline = aware + timedelta(hours=72)
    assert page.inner_text("#aware-at") == i18n.format_datetime(aware, "th")  # Buddhist era
    assert str(local.year + 543) in page.inner_text("#aware-at")
    assert page.inner_text("#pdpc-deadline") == i18n.format_datetime(deadline, "th")
    clock = page.locator(".breach-clock")
    assert clock.get_attribute("data-state") == "running"
    assert int(clock.get_attribute("data-hours-left")) in (41, 42)
    assert "เหลือ" in clock.inner_text()

    page.click("text=" + i18n.translate("breach.register", "th"))
    page.wait_for_url(f"{base}/assignment/desk/breaches")
    row = page.locator("#breaches tbody tr")
    assert row.count() == 1 and "แฟ้มรายชื่อ" in row.inner_text()
    assert row.locator(".breach-clock svg").count() == 1
    page.screenshot(path=str(tmp_path / "breach-register.png"), full_page=True)
    page.screenshot(path="/tmp/breach-register.png", full_page=True)
