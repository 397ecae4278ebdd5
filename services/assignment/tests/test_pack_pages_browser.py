"""A pack fixed and loaded in headless Chromium, in Thai, by the organisation's administrator: the
upload's error shown at its line, the SOP fixed in the editor's form while its flowchart is
redrawn, saved as a new version that the SOP's own page then shows."""
import re

import pytest

from shared.packs import PACK_DIR, parse_pack
from sopdesk.testing import browser_sign_in, make_staff

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


def test_an_administrator_uploads_a_pack_with_an_error_fixes_it_in_the_editor_and_loads_it(live_server, browser_page,
                                                                                           tmp_path):
    shipped = (PACK_DIR / "onesqa.yaml").read_text(encoding="utf-8")
    version = parse_pack(shipped).version
    text = re.sub(r"^version: \d+$", f"version: {version + 1}", shipped, count=1, flags=re.M)
    text = text.replace("role: requester", "role: webmaster", 1)  # web-publish's first step
    line = text.splitlines().index("        role: webmaster") + 1
    make_staff("onesqa-admin", ["admin"], "onesqa", password=PASSWORD)
    page, base = browser_page, live_server
    browser_sign_in(page, base, "onesqa-admin", PASSWORD)

    page.click("#nav-packs")
    page.wait_for_url(f"{base}/assignment/desk/packs/onesqa")
    assert f"ฉบับที่ {version}" in page.inner_text("#current")
    page.set_input_files("#pack-file", files=[{"name": "onesqa-draft.yaml", "mimeType": "application/yaml",
                                               "buffer": text.encode("utf-8")}])
    page.click("#check-pack")
    page.wait_for_url(f"{base}/assignment/desk/packs/onesqa/check")
    errors = page.inner_text("#check-errors")
    assert f"onesqa-draft.yaml:{line}: sops.web-publish.steps.0.role: unknown role webmaster" in errors
    assert page.locator("#load-pack").count() == 0  # nothing to load until it passes

    page.click("#edit-web-publish")
    page.wait_for_url(f"{base}/assignment/desk/packs/onesqa/editor?sop=web-publish")
    assert page.get_attribute("#check-state", "data-state") == "errors"
    assert page.locator("#flowchart svg").count() == 0  # a pack that does not pass draws nothing
    step = page.locator("#step-0")
    step.locator('input[name="s0.roles"][value="webmaster"]').uncheck()
    step.locator('input[name="s0.roles"][value="requester"]').check()
    step.locator('input[name="s0.title.th"]').fill("ยื่นบันทึกขอเผยแพร่")
    page.wait_for_selector('#check-state[data-state="valid"]')
    page.wait_for_function("t => document.querySelector('#flowchart').textContent.includes(t)",
                           arg="ยื่นบันทึกขอเผยแพร่")
    assert page.inner_text("#check-errors").strip() == ""
    page.screenshot(path=str(tmp_path / "pack-editor.png"), full_page=True)

    page.click("#save-pack")
    page.wait_for_url(f"{base}/assignment/desk/packs/onesqa")
    assert f"ฉบับที่ {version + 1}" in page.inner_text("#flash")
    assert f"ฉบับที่ {version + 1}" in page.inner_text("#current")

    page.goto(f"{base}/assignment/sops/onesqa/web-publish")
    assert f"onesqa/web-publish v{version + 1}" in page.inner_text("h1")
    first = page.locator('#manual tr[data-step="submit-memo"]')
    assert "ยื่นบันทึกขอเผยแพร่" in first.inner_text()
    assert "ยื่นบันทึกขอเผยแพร่" in page.inner_text("#flowchart")


def test_an_administrator_adds_a_step_in_the_editor_and_the_lists_of_steps_follow(live_server, browser_page):
    version = parse_pack((PACK_DIR / "onesqa.yaml").read_text(encoding="utf-8")).version
    make_staff("onesqa-admin", ["admin"], "onesqa", password=PASSWORD)
    page, base = browser_page, live_server
    browser_sign_in(page, base, "onesqa-admin", PASSWORD)
    page.goto(f"{base}/assignment/desk/packs/onesqa")
    page.click("#edit-equipment-support")
    page.wait_for_url(f"{base}/assignment/desk/packs/onesqa/editor?sop=equipment-support")
    assert page.get_attribute("#check-state", "data-state") == "valid"

    page.click("#add-after-2")  # after repair
    page.wait_for_selector('#step-3 input[name="s3.key"]')
    assert page.input_value('#step-3 input[name="s3.key"]') == ""
    assert page.input_value('#step-4 input[name="s4.key"]') == "notify-done"
    page.fill('input[name="s3.key"]', "test-fix")  # every "leads to" list now offers it
    page.fill('input[name="s3.title.th"]', "ทดสอบหลังซ่อม")
    page.check('#step-3 input[name="s3.roles"][value="officer"]')
    page.fill('input[name="s3.o0.key"]', "done")
    page.select_option('select[name="s3.o0.to"]', "notify-done")
    page.select_option('select[name="s2.o0.to"]', "test-fix")
    page.wait_for_function("t => document.querySelector('#flowchart').textContent.includes(t)", arg="ทดสอบหลังซ่อม")
    page.wait_for_selector('#check-state[data-state="valid"]')

    page.click("#save-pack")
    page.wait_for_url(f"{base}/assignment/desk/packs/onesqa")
    assert f"ฉบับที่ {version + 1}" in page.inner_text("#current")
    page.goto(f"{base}/assignment/sops/onesqa/equipment-support")
    steps = page.locator("#manual tbody tr").evaluate_all("rows => rows.map(r => r.dataset.step)")
    assert steps == ["assign", "lend-replacement", "repair", "test-fix", "notify-done", "log-issue"]
