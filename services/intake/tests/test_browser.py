"""A teacher files a repair request in headless Chromium (Debian's chromium, through Playwright),
in Thai: a Buddhist-era date, a photo, a forgotten consent box (the form comes back filled in,
asking for the photo again), then the confirmation, and the tracking page with the photo."""
import pytest

from services.intake.tests.conftest import counts, files_on_disk
from services.intake.tests.test_files import PNG

pytestmark = pytest.mark.browser


def test_a_teacher_files_a_repair_request_with_a_photo(live_server, browser_page, files_dir):
    page, base = browser_page, live_server
    console = []  # a Content-Security-Policy violation is a console error in Chromium
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.goto(f"{base}/intake/forms/sesao-sc/repair?lang=th")
    assert page.locator("#since").get_attribute("placeholder") == "วว/ดด/ปปปป (พ.ศ.)"
    page.fill("#requester_name", "ครูมาลี <b>ศรีสุข</b>")
    page.fill("#requester_email", "malee@school.example")
    page.fill("#requester_unit", "โรงเรียนบ้านหนองบัว")
    page.fill("#subject", "จอคอมพิวเตอร์ห้องสมุดไม่ติด")
    page.fill("#asset_tag", "7440-001-0099")
    page.fill("#location", "ห้องสมุด")
    page.fill("#since", "18/11/2569")
    page.fill("#details", "เปิดเครื่องแล้วจอดำ")
    page.set_input_files("#photos", files=[{"name": "จอดำ.png", "mimeType": "image/png", "buffer": PNG}])
    page.click("button[type=submit]")  # consent not ticked

    assert page.locator("#consent-error").inner_text().startswith("ต้องยินยอม")
    assert page.locator("#photos-again").is_visible()  # the photo must be chosen again, and it says so
    assert page.input_value("#since") == "18/11/2569" and page.input_value("#requester_name") == "ครูมาลี <b>ศรีสุข</b>"
    assert counts()["requests"] == 0 and files_on_disk(files_dir) == []
    page.screenshot(path=str(files_dir.parent / "form-errors.png"), full_page=True)

    page.set_input_files("#photos", files=[{"name": "จอดำ.png", "mimeType": "image/png", "buffer": PNG}])
    page.check("#consent")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/intake/submitted/**")
    code = page.locator("#tracking-code").inner_text()
    assert code.startswith("SD-")
    page.click("#track-link")
    assert page.locator("#subject").inner_text() == "จอคอมพิวเตอร์ห้องสมุดไม่ติด"
    assert page.locator("#documents a").inner_text() == "จอดำ.png"
    assert "2569" in page.locator("#received").inner_text()
    assert counts()["requests"] == 1 and counts()["attachments"] == 1 and len(files_on_disk(files_dir)) == 1
    page.screenshot(path=str(files_dir.parent / "tracking.png"), full_page=True)

    # the form's own script (with its nonce) runs: it tells at once that a file is over the limit...
    page.goto(f"{base}/intake/forms/sesao-sc/repair?lang=en")
    page.evaluate("() => { document.querySelector('#photos').dataset.maxBytes = '10'; }")
    page.set_input_files("#photos", files=[{"name": "big.png", "mimeType": "image/png", "buffer": PNG}])
    assert "big.png" in page.evaluate("() => document.querySelector('#photos').validationMessage")
    # ...and nothing on these pages broke the policy...
    assert not [m for m in console if "Content Security Policy" in m], console
    # ...which is enforced: a script put in the page without the nonce is refused, and said so
    page.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.injected = 1';"
                  " document.body.appendChild(s); }")
    page.wait_for_timeout(100)
    assert page.evaluate("() => window.injected") is None
    assert [m for m in console if "Content Security Policy" in m]
