"""Issue 14, "the case page in Thai": "Thai pages show English keys: outcome buttons done, pass;
trail words opened, started, action, waiting, resumed, → corrected; people by username, not name;
'broken since' as 2026-12-01 though entered as 01/12/2569; internal file ids in the trail; the
same file 0.2 KB on the desk and 1 KB on the tracking page." In headless Chromium: a teacher files
a repair in Thai with a photo and the day it broke, the officer sends it back, the teacher answers
with a file, and a consultation's call-back time is typed in the Buddhist era at the desk. The
words expected are worked from the pack's labels and the catalogues, never written here."""
import re
from datetime import date, datetime

import pytest

from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import TRAIL_KINDS, Case, CaseStep
from services.assignment.handlers.directory import add_unit, add_user
from services.intake.tests.test_files import PNG
from shared import i18n
from shared.i18n import BANGKOK
from shared.packs import WAITS, find_sop
from shared.tracking import tracking_token
from sopdesk.testing import drain

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
OFFICER, OFFICER_NAME = "wipa", "วิภา ใจดี"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def log_in(page, base, username):
    page.goto(f"{base}/assignment/login?lang=th")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{base}/assignment/desk")


def act(page, step, outcome, note=None, values=None):
    form = page.locator(f"form.outcome-form[data-step='{step}']")
    for name, typed in (values or {}).items():
        form.locator(f"[name='values.{name}']").fill(typed)
    if note:
        form.locator("textarea[name=note]").fill(note)
    form.locator(f"button[data-outcome='{outcome}']").click()
    page.wait_for_load_state()
    assert page.locator(".flash").count() == 1, page.locator("main").inner_text()


def english_words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z][A-Za-z_-]+", text))


@pytest.fixture
def officer(clean):
    add_unit("ict-sc", "sesao-sc", "ศูนย์บริการ ICT", "ICT service centre")
    add_user(OFFICER, PASSWORD, ["officer", "expert"], display_name=OFFICER_NAME, email="wipa@office.example",
             unit="ict-sc")
    return OFFICER


def test_a_thai_case_page_reads_in_words_names_and_buddhist_era_dates_with_no_key_username_iso_date_or_file_id(
        live_server, browser_page, officer):
    page, base = browser_page, live_server
    sop = find_sop("sesao-sc/repair")

    # the teacher files in Thai: the day it broke in the Buddhist era, and a photo
    page.goto(f"{base}/intake/forms/sesao-sc/repair?lang=th")
    for field, value in (("requester_name", "ครูมาลี ศรีสุข"), ("requester_email", "malee@school.example"),
                         ("requester_unit", "โรงเรียนบ้านหนองบัว"), ("subject", "จอคอมพิวเตอร์ห้องสมุดไม่ติด"),
                         ("asset_tag", "7440-001-0099"), ("location", "ห้องสมุด"), ("since", "01/12/2569"),
                         ("details", "เปิดเครื่องแล้วจอดำ")):
        page.fill(f"#{field}", value)
    page.set_input_files("#photos", files=[{"name": "จอดำ.png", "mimeType": "image/png", "buffer": PNG}])
    page.check("#consent")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/intake/submitted/**")
    code = page.locator("#tracking-code").inner_text()
    drain()

    # the officer sends it back for correction; the teacher answers with a file; it comes back
    log_in(page, base, officer)
    page.goto(f"{base}/assignment/desk/cases/{code}")
    # the buttons: the pack's labels of the step's outcomes (or the shared words of a common one)
    receive = page.locator("form.outcome-form[data-step='receive-form'] button[data-outcome]")
    assert receive.all_inner_texts() == [i18n.pick(o.label, "th") for o in sop.step("receive-form").outcomes.values()]
    act(page, "receive-form", "done")
    buttons = page.locator("form.outcome-form[data-step='check-report'] button[data-outcome]")
    assert [b.strip() for b in buttons.all_inner_texts()] == [
        i18n.pick(o.label, "th") for o in sop.step("check-report").outcomes.values()]
    act(page, "check-report", "incomplete", note="ขอรูปป้ายครุภัณฑ์ด้วย")
    drain()
    track = f"{base}/intake/track/{code}?token={tracking_token(code)}&lang=th"
    page.goto(track)
    page.fill("#note", "แนบรูปป้ายแล้ว")
    page.set_input_files("#files", files=[{"name": "ป้าย.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.locator("#asked button[type=submit]").click()
    page.wait_for_load_state()
    drain()

    page.goto(f"{base}/assignment/desk/cases/{code}?lang=th")
    main = page.locator("main").inner_text()
    html = page.locator("main").inner_html()  # no file id in a link's text nor anywhere else but a link
    trail = page.locator("#trail")
    kinds = set(trail.locator("tr").evaluate_all("rows => rows.map(r => r.dataset.kind)"))
    assert {"opened", "started", "action", "waiting", "resumed"} <= kinds, kinds

    # every kind in words, from the catalogue; every outcome in the pack's words
    for kind in kinds:
        assert i18n.translate(f"desk.trail.{kind}", "th") in trail.locator(f"tr[data-kind='{kind}']").first.inner_text()
    corrected = sop.step("ask-requester").outcomes["corrected"]
    assert "→ " + i18n.pick(corrected.label, "th") in page.locator("#timeline tr[data-step='ask-requester']").inner_text()
    assert i18n.pick(sop.step("check-report").outcomes["incomplete"].label, "th") in trail.inner_text()
    assert i18n.translate("wait.requester", "th") in trail.locator("tr[data-kind='waiting']").inner_text()
    keys = set(TRAIL_KINDS) | set(WAITS) | {o for s in sop.steps for o in s.outcomes} | {"requester", "sopdesk"}
    assert english_words(main).isdisjoint(keys), english_words(main) & keys

    # people by name, never by username
    assert OFFICER_NAME in page.locator("#timeline tr[data-step='receive-form']").inner_text()
    assert OFFICER_NAME in trail.locator("tr[data-kind='action']").first.inner_text()
    assert officer not in main

    # dates in the Buddhist era, the one the teacher typed too; no ISO date anywhere
    since_label = i18n.pick(next(f for f in sop.form if f.name == "since").label, "th")
    since = [row for row in page.locator("#case-facts tr").all_inner_texts() if since_label in row]
    assert since and i18n.format_day(date(2026, 12, 1), "th") in since[0]
    assert not ISO_DAY.findall(main), ISO_DAY.findall(main)

    # files by name and size, no internal id; the same size as on the tracking page
    with bus.session() as session:
        case = session.query(Case).filter_by(tracking_code=code).one()
        files = {a["name"]: a for a in case.attachments}
        step_ids = [row.id for row in session.query(CaseStep).filter_by(case_id=case.id)]
    assert set(files) == {"จอดำ.png", "ป้าย.pdf"}
    for item in files.values():
        assert str(item["id"]) not in main and f"file:{item['id']}" not in html
    assert not any(str(i) in main for i in step_ids if len(str(i)) > 4)
    answer_file = trail.locator("tr[data-kind='resumed'] a, tr[data-kind='action'] a").first
    assert answer_file.inner_text() == "ป้าย.pdf"
    desk_sizes = dict(zip(page.locator("#case-files a").all_inner_texts(),
                          page.locator("#case-files .file-size").all_inner_texts()))
    assert desk_sizes["จอดำ.png"] == f"({i18n.format_size(len(PNG), 'th')})"
    page.goto(track)
    tracked = page.locator("#documents").inner_text()
    assert i18n.format_size(len(PNG), "th") in tracked and i18n.format_size(len(PDF), "th") in tracked


def test_a_call_back_time_typed_in_the_buddhist_era_at_the_desk_reaches_the_case_and_reads_back_in_it(
        live_server, browser_page, officer):
    """sesao-sc 6.1: "แจ้งเวลาโทรกลับให้ผู้รับบริการทราบ" — the officer types the time as Thai staff
    write it (dd/mm/yyyy of the Buddhist era); the case keeps it in ISO, the page shows it in Thai."""
    page, base = browser_page, live_server
    sop = find_sop("sesao-sc/consultation")
    response = page.request.post(f"{base}/intake/requests", data={
        "sop": "sesao-sc/consultation", "requester_name": "ครูสมใจ", "requester_email": "somjai@school.example",
        "requester_unit": "โรงเรียนบ้านเขา", "subject": "ลืมรหัสผ่านอีเมล", "details": "เข้าอีเมลไม่ได้", "consent": True},
        headers={"Content-Type": "application/json"})
    assert response.status == 201
    code = response.json()["tracking_code"]
    drain()
    log_in(page, base, officer)
    page.goto(f"{base}/assignment/desk/cases/{code}")
    for step, outcome in (("receive-call", "done"), ("analyse", "done"), ("answer", "callback")):
        act(page, step, outcome)
    field = page.locator("form.outcome-form[data-step='promise-callback'] [name='values.callback_at']")
    placeholder = i18n.translate("datetime.placeholder", "th")
    assert field.get_attribute("type") == "text" and field.get_attribute("placeholder") == placeholder

    # a wrong date is refused at its field, in Thai, and nothing moves
    act_form = page.locator("form.outcome-form[data-step='promise-callback']")
    field.fill("31/02/2569 10:00")
    act_form.locator("button[data-outcome='done']").click()
    page.wait_for_load_state()
    assert i18n.translate("datetime.invalid", "th") in page.locator("#errors").inner_text()
    assert page.locator("form.outcome-form[data-step='promise-callback']").count() == 1

    act(page, "promise-callback", "done", values={"callback_at": "05/12/2569 14:30"})
    promised = datetime(2026, 12, 5, 14, 30, tzinfo=BANGKOK)
    with bus.session() as session:
        case = session.query(Case).filter_by(tracking_code=code).one()
        assert datetime.fromisoformat(case.values["callback_at"]) == promised
    row = page.locator("#trail tr[data-kind='action']").filter(has_text=i18n.pick(sop.step("promise-callback").title, "th"))
    label = i18n.pick(sop.step("promise-callback").inputs[0].label, "th")
    assert f"{label}: {i18n.format_datetime(promised, 'th')}" in row.inner_text()
    main = page.locator("main").inner_text()
    assert not ISO_DAY.findall(main) and "2026" not in main

    # the same page in English: the pack's English words, the Common Era
    page.goto(f"{base}/assignment/desk/cases/{code}?lang=en")
    row = page.locator("#trail tr[data-kind='action']").filter(has_text=i18n.pick(sop.step("promise-callback").title, "en"))
    label = i18n.pick(sop.step("promise-callback").inputs[0].label, "en")
    assert f"{label}: {i18n.format_datetime(promised, 'en')}" in row.inner_text()
    answer = page.locator("#trail tr[data-kind='action']").filter(has_text=i18n.pick(sop.step("answer").title, "en"))
    assert i18n.pick(sop.step("answer").outcomes["callback"].label, "en") in answer.inner_text()
    assert i18n.translate("nav.logout", "en") == page.locator("#logout").inner_text()


@pytest.mark.parametrize("width,height", [(390, 844), (1280, 800)])
def test_on_a_390_px_phone_no_page_is_wider_than_the_screen_and_the_header_leaves_the_logo_alone(
        live_server, chromium_browser, officer, tmp_path, width, height):
    """Issue 14: "On a 390 px phone the header covers the logo and the tables overflow." The desk,
    a case page with its timeline and trail, and the tracking page, in Thai, on a phone and on a
    desktop: the page is never wider than the window (a wide table scrolls in its own box), the
    logo is not covered by any other part of the header, and every staff page has the same menu
    with the sign-out button."""
    context = chromium_browser.new_context(locale="th-TH", viewport={"width": width, "height": height})
    page, base = context.new_page(), live_server
    try:
        response = page.request.post(f"{base}/intake/requests", data={
            "sop": "sesao-sc/repair", "requester_name": "ครูมานี มีนา", "requester_email": "manee@school.example",
            "requester_unit": "โรงเรียนบ้านเขา", "subject": "เครื่องพิมพ์ไม่ทำงาน กระดาษติดทุกครั้งที่สั่งพิมพ์เอกสารยาว",
            "details": "กระดาษติด", "consent": True, "asset_tag": "7440-001-0001", "location": "ห้องธุรการ",
            "since": "2026-12-01"}, headers={"Content-Type": "application/json"})
        code = response.json()["tracking_code"]
        drain()
        log_in(page, base, officer)
        page.goto(f"{base}/assignment/desk/cases/{code}")
        act(page, "receive-form", "done")  # the officer now holds check-report: a row on the desk
        drain()
        pages = {"desk": f"{base}/assignment/desk", "case": f"{base}/assignment/desk/cases/{code}",
                 "sops": f"{base}/assignment/sops",
                 "tracking": f"{base}/intake/track/{code}?token={tracking_token(code)}&lang=th"}
        menus = {}
        for name, url in pages.items():
            page.goto(url)
            page.screenshot(path=str(tmp_path / f"{name}-{width}.png"), full_page=True)
            widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
            assert widths[0] <= widths[1], (name, widths)
            # nothing in the header lies over the logo
            covered = page.evaluate("""() => {
                const logo = document.querySelector('#brand').getBoundingClientRect();
                return [...document.querySelectorAll('header nav a, header .session > *')].filter(el => {
                    const r = el.getBoundingClientRect();
                    return r.width && r.left < logo.right && r.right > logo.left && r.top < logo.bottom && r.bottom > logo.top;
                }).map(el => el.outerHTML);
            }""")
            assert covered == [], (name, covered)
            menus[name] = page.locator("#main-nav a").all_inner_texts()
            assert page.locator("#logout").count() == 1, name  # signed in: the sign-out button, on every page
        page.goto(pages["desk"])
        assert page.locator(f"tr[data-code='{code}']").count() >= 1  # the desk measured with the case on it
        assert len({tuple(menu) for menu in menus.values()}) == 1, menus  # the same menu everywhere
        assert i18n.translate("nav.walk_in", "th") in menus["case"]
    finally:
        context.close()
