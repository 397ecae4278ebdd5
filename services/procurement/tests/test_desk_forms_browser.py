"""Procurement from the first vendor to the last payment in headless Chromium, in Thai, with no API
call for any of it: supplies registers the vendors and opens the project for an outsourced
development's case, uploads the TOR, adds three quotes (the page shows their median), and sends it
for approval; the director approves in the browser; supplies appoints the inspection committee and
signs a contract of three milestones (dates typed in the Buddhist era); the deliveries are
recorded, the second one late; the evidence is uploaded, one member accepts in the browser and
supplies records the two others' paper signatures; finance pays each milestone the amount the
page offers, net of the fine worked here from the contract's rule; and the case that waited on the
contract moves on to the handover.

The case itself is taken to its wait by its own staff through the assignment API (that is not
procurement's work, and tests/test_procurement_outsourced.py covers it)."""
from __future__ import annotations

import os
import re
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from statistics import median

import pytest
from sqlalchemy import select

from services.procurement.adapters.bus import bus
from services.procurement.adapters.models import Contract, Project
from services.procurement.tests.conftest import PASSWORD
from services.procurement.tests.test_desk import bangkok_today
from services.procurement.tests.test_desk_forms import PDF, be_input, tax_id
from sopdesk.testing import browser_sign_in, drain
from tests.test_procurement_outsourced import Desk, walk_case_to

pytestmark = pytest.mark.browser

CENT = Decimal("0.01")
VENDORS = [("บริษัท โค้ดดี จำกัด", "450000"), ("บริษัท ระบบไทย จำกัด", "420000.50"),
           ("บริษัท ดิจิทัลพลัส จำกัด", "470000")]
MEMBERS = [("u-inspect1", "นางสาวตรวจ หนึ่ง", "chair"), ("u-inspect2", "นายรับ สอง", "member"),
           ("u-inspect3", "นางพัสดุ สาม", "member")]


def sign_in(page, base: str, username: str, path: str) -> None:
    browser_sign_in(page, base, username, PASSWORD, then=path)


def submit(page, form: str) -> None:
    """Submit ``form`` and wait for the page it leads to; a refusal fails the test with its messages."""
    with page.expect_navigation():
        page.locator(f"{form} button[type=submit]").first.click()
    errors = page.locator(".error, .errors").all_inner_texts()
    assert not errors, errors
    assert page.locator(".flash").inner_text() == "บันทึกแล้ว"


def choose(page, select: str, starts: str) -> None:
    """Choose the option of ``select`` whose text starts with ``starts``."""
    value = page.eval_on_selector(select, "(s, starts) => [...s.options].find(o => o.text.startsWith(starts)).value",
                                  starts)
    page.select_option(select, value)


def money(text: str) -> Decimal:
    return Decimal(text.replace(",", "").strip())


def shot(page, name: str) -> None:
    if os.environ.get("SOPDESK_SCREENSHOTS"):  # for a person to look at, not checked
        page.screenshot(path=os.path.join(os.environ["SOPDESK_SCREENSHOTS"], f"{name}.png"), full_page=True)


@pytest.mark.org("onesqa")  # the outsourced development's organisation
def test_procurement_from_vendor_to_payment_in_the_browser(live_server, browser_page, client, procurement_people):
    page, base = browser_page, live_server
    desk = Desk(client, procurement_people)
    code = desk.file_request()
    drain()
    today = bangkok_today()

    # --- supplies: the vendors --------------------------------------------------------------------------
    sign_in(page, base, "u-supplies", "/procurement/desk/vendors")
    for n, (name, _) in enumerate(VENDORS):
        page.fill("#vendor-name", name)
        page.fill("#vendor-tax_id", tax_id(f"01055{n + 1}2345678"[:12]))
        page.fill("#vendor-address", f"{n + 1} ถนนราชดำเนิน กรุงเทพมหานคร")
        submit(page, "#form-vendor")
        assert page.locator("h1").inner_text() == name  # the vendor's own page
        page.goto(f"{base}/procurement/desk/vendors")
    assert page.locator("#vendors tbody tr").count() == 3

    # --- the project, its TOR and three quotes -----------------------------------------------------------
    page.goto(f"{base}/procurement/desk/")
    page.click("#new-project")
    page.fill("#project-title", "จ้างพัฒนาระบบติดตามผลการประเมินภายนอก")
    page.fill("#project-purpose", f"ตามคำขอ {code}")
    page.select_option("#project-kind", "hire")
    page.fill("#project-budget", "480000")
    page.fill("#project-tracking_code", code)
    submit(page, "#form-project")
    pid = int(re.search(r"/projects/(\d+)$", page.url)[1])
    assert page.locator("#project-stage").get_attribute("data-stage") == "draft"
    page.select_option("#documents-kind", "tor")
    page.set_input_files("#documents-files", files=[{"name": "TOR ระบบติดตามผล.pdf", "mimeType": "application/pdf",
                                                     "buffer": PDF}])
    submit(page, "#form-documents")
    assert page.locator("#project-stage").get_attribute("data-stage") == "quotes"  # the first TOR moves it on
    for name, amount in VENDORS:
        choose(page, "#quote-vendor_id", name)
        page.fill("#quote-amount", amount)
        page.fill("#quote-received_on", be_input(today - timedelta(days=120)))
        submit(page, "#form-quote")
    assert page.locator("#quotes tbody tr").count() == 3
    reference = median(Decimal(a) for _, a in VENDORS)  # the middle amount
    assert money(page.locator("#median").inner_text()) == reference
    page.select_option("#stage-stage", "approval")
    submit(page, "#form-stage")
    assert page.locator("#project-stage").get_attribute("data-stage") == "approval"
    assert page.locator("#form-approval").count() == 0  # supplies does not approve
    shot(page, "procurement-project-quotes")

    # --- the director approves ---------------------------------------------------------------------------
    project_path = f"/procurement/desk/projects/{pid}"
    sign_in(page, base, "u-director", project_path)
    for kind, note in (("principle-budget", "อนุมัติหลักการและงบประมาณ"), ("tor", ""), ("reference-price", "")):
        page.select_option("#approval-kind", kind)
        page.select_option("#approval-decision", "approved")
        page.fill("#approval-note", note)
        submit(page, "#form-approval")
    decided = page.locator("#approvals tbody tr")
    assert decided.count() == 3
    assert {decided.nth(i).get_attribute("data-decision") for i in range(3)} == {"approved"}
    assert page.locator("#form-quote").count() == 0  # a director does not change the project

    # --- supplies: the stage, the committee, the contract -------------------------------------------------
    sign_in(page, base, "u-supplies", project_path)
    page.select_option("#stage-stage", "procurement")
    submit(page, "#form-stage")
    page.select_option("#committee-kind", "inspection")
    page.fill("#committee-order_ref", "คำสั่งที่ 12/2570")
    page.fill("#committee-appointed_on", be_input(today - timedelta(days=110)))
    for n, (username, name, position) in enumerate(MEMBERS):
        page.fill(f"input[name='members-{n}-name']", name)
        page.fill(f"input[name='members-{n}-username']", username)
        page.select_option(f"select[name='members-{n}-position']", position)
    submit(page, "#form-committee")
    assert page.locator("section.committee[data-kind='inspection'] li").count() == 3
    page.click("#sign-contract")
    page.fill("#contract-number", "21/2570")
    choose(page, "#contract-vendor_id", VENDORS[0][0])
    page.fill("#contract-amount", "450000")
    for field, day in (("signed_on", today - timedelta(days=100)), ("starts_on", today - timedelta(days=100)),
                       ("ends_on", today + timedelta(days=30))):
        page.fill(f"#contract-{field}", be_input(day))
    page.fill("#contract-document-ref", "สัญญาจ้างเลขที่ 21/2570 (แฟ้มพัสดุ)")
    dues = [today - timedelta(days=60), today - timedelta(days=30), today - timedelta(days=5)]
    amounts = ["135000", "180000", "135000"]
    titles = ["วิเคราะห์และออกแบบระบบ", "พัฒนาและทดสอบระบบ", "ติดตั้ง อบรม และส่งมอบ"]
    for n in range(3):
        page.fill(f"input[name='milestones-{n}-title']", titles[n])
        page.fill(f"input[name='milestones-{n}-due_on']", be_input(dues[n]))
        page.fill(f"input[name='milestones-{n}-value']", amounts[n])
    submit(page, "#form-contract")
    contract_path = page.url.removeprefix(base)
    assert re.fullmatch(r"/procurement/desk/contracts/\d+", contract_path)
    assert page.locator("#timeline svg g.milestone").count() == 3
    with bus.session() as session:
        contract = session.scalars(select(Contract).where(Contract.project_id == pid)).one()
        assert [(m.due_on, m.amount) for m in contract.milestones] == [
            (d, Decimal(a)) for d, a in zip(dues, amounts)]
        assert session.get(Project, pid).stage == "contract"
    assert "สัญญาจ้างเลขที่ 21/2570 (แฟ้มพัสดุ)" in page.locator("table.documents").inner_text()

    # --- the case reaches its wait on the contract (its own staff, through the assignment API) ------------
    walk_case_to(desk, code, "contract")
    assert desk.case(code)["current_step"] == "deliver-milestones"

    # --- deliveries (the second five days late) and their evidence ---------------------------------------
    page.goto(f"{base}{contract_path}")
    delivered = [dues[0] - timedelta(days=1), dues[1] + timedelta(days=5), dues[2]]
    for seq, day in enumerate(delivered, start=1):
        form = f"form.action-form[data-action='delivery'][data-milestone='{seq}']"
        page.fill(f"{form} input[name=delivered_on]", be_input(day))
        page.fill(f"{form} input[name=ref]", f"หนังสือส่งมอบงวดที่ {seq}")
        submit(page, form)
        form = f"form.action-form[data-action='evidence'][data-milestone='{seq}']"
        page.set_input_files(f"{form} input[type=file]", files=[{
            "name": f"บันทึกการตรวจรับงวด {seq}.pdf", "mimeType": "application/pdf", "buffer": PDF}])
        submit(page, form)
    # --- the committee's word: the chair in the browser, the two others on paper, recorded by supplies ----
    sign_in(page, base, "u-inspect1", contract_path)
    for seq in (1, 2, 3):
        form = f"form.action-form[data-action='acceptance'][data-milestone='{seq}']"
        page.fill(f"{form} textarea[name=note]", "ตรวจแล้วครบถ้วน")
        with page.expect_navigation():
            page.click(f"{form} button[data-decision='accepted']")
        assert page.locator(".flash").inner_text() == "บันทึกแล้ว"
    sign_in(page, base, "u-supplies", contract_path)
    for seq, day in zip((1, 2, 3), delivered):
        for username, name, _ in MEMBERS[1:]:
            form = f"form.action-form[data-action='paper_acceptance'][data-milestone='{seq}']"
            choose(page, f"{form} select[name=member_id]", name)
            page.fill(f"{form} input[name=signed_on]", be_input(day + timedelta(days=2)))
            with page.expect_navigation():
                page.click(f"{form} button[data-decision='accepted']")
            assert page.locator(".flash").inner_text() == "บันทึกแล้ว", page.locator(".error").all_inner_texts()
    assert [page.locator(f"#milestones tr[data-milestone='{seq}']").get_attribute("data-state")
            for seq in (1, 2, 3)] == ["accepted"] * 3

    # --- finance pays each, net of its fine ---------------------------------------------------------------
    sign_in(page, base, "u-finance", contract_path)
    for seq, (due, day, amount) in enumerate(zip(dues, delivered, amounts), start=1):
        # the contract's rule: 0.1% of the milestone's amount per calendar day late, in satang
        late = max((day - due).days, 0)
        fine = (Decimal(amount) * Decimal("0.1") / 100).quantize(CENT, rounding=ROUND_HALF_UP) * late
        form = f"form.action-form[data-action='payment'][data-milestone='{seq}']"
        assert money(page.locator(f"{form} .pay-amount").inner_text()) == Decimal(amount) - fine
        page.fill(f"{form} input[name=paid_on]", be_input(today))
        page.fill(f"{form} input[name=payment_ref]", f"ฎีกา {seq}/2570")
        submit(page, form)
    assert [page.locator(f"#milestones tr[data-milestone='{seq}']").get_attribute("data-state")
            for seq in (1, 2, 3)] == ["paid"] * 3
    assert late == 0 and fine == 0  # the last was on time; the second's fine was checked above
    shot(page, "procurement-contract-paid")

    # --- the case moves on ----------------------------------------------------------------------------------
    drain()
    assert desk.case(code)["current_step"] == "handover"
    page.goto(f"{base}{project_path}")
    assert page.locator("#project-stage").get_attribute("data-stage") == "completed"


def test_the_register_imported_in_the_browser_an_asset_lent_and_returned(live_server, browser_page,
                                                                           procurement_people):
    """A CSV with a bad row: the bar runs, the bad row is named by its line in Thai, nothing is
    imported. Fixed: every row imported, the list shows them, an asset's page says whether its
    warranty runs (worked from today here), a replacement machine is lent and returned."""
    page, base = browser_page, live_server
    today = bangkok_today()
    running, ended = today + timedelta(days=200), today - timedelta(days=3)
    header = "tag,kind,model,serial,location,warranty_ends_on,status\n"
    rows = [f"NB-001,โน้ตบุ๊ก,ThinkPad T14,SN1,ห้อง 201,{be_input(running)},in_use",
            f"NB-002,โน้ตบุ๊ก,ThinkPad T14,SN2,ห้อง 202,{be_input(ended)},in_use",
            "PR-001,เครื่องพิมพ์,LaserJet,SN3,ห้อง 203,31/02/2569,in_use"]  # no 31 February: line 4

    sign_in(page, base, "u-supplies", "/procurement/desk/assets")
    page.click("#import-link")
    page.set_input_files("#import-file", files=[{"name": "assets.csv", "mimeType": "text/csv",
                                                 "buffer": (header + "\n".join(rows) + "\n").encode()}])
    page.click("#form-import button[type=submit]")
    page.wait_for_selector("#import-result[data-finished=yes]")
    assert page.locator("#import-bar").get_attribute("data-stage") == "validating"
    bad = page.locator("#bad-rows tbody tr")
    assert bad.count() == 1 and bad.first.get_attribute("data-line") == "4"
    assert bad.first.locator(".bad-field").inner_text() == "warranty_ends_on: รูปแบบวันที่ไม่ถูกต้อง ใช้ วว/ดด/ปปปป (พ.ศ.) เช่น 19/11/2569"
    page.goto(f"{base}/procurement/desk/assets")
    assert page.locator("#assets tbody tr").count() == 0  # all or none

    rows[2] = rows[2].replace("31/02/2569", be_input(running))
    page.goto(f"{base}/procurement/desk/assets/import")
    page.set_input_files("#import-file", files=[{"name": "assets.csv", "mimeType": "text/csv",
                                                 "buffer": (header + "\n".join(rows) + "\n").encode()}])
    page.click("#form-import button[type=submit]")
    page.wait_for_selector("#import-result[data-finished=yes]")
    assert page.locator("#import-done").inner_text() == "นำเข้าแล้ว 3 แถว: เพิ่มใหม่ 3 ปรับปรุง 0"
    assert page.locator("#import-bar").get_attribute("data-stage") == "writing"
    page.goto(f"{base}/procurement/desk/assets")
    assert page.locator("#assets tbody tr").count() == 3
    page.click("#assets a:text('NB-002')")
    assert page.locator("#asset-warranty").get_attribute("data-under") == "no"  # ended three days ago
    page.goto(f"{base}/procurement/desk/assets")
    page.click("#assets a:text('NB-001')")
    assert page.locator("#asset-warranty").get_attribute("data-under") == "yes"

    # a replacement machine lent while another is in repair, then returned
    page.fill("#lend-borrower", "นายสมชาย ใจดี")
    page.fill("#lend-replaces_tag", "NB-002")
    page.fill("#lend-due_back_on", be_input(today + timedelta(days=14)))
    submit(page, "#form-lend")
    assert page.locator("#asset-status").get_attribute("data-status") == "on_loan"
    assert page.locator("#loans tbody tr[data-open=yes]").count() == 1
    submit(page, "#form-return")
    assert page.locator("#asset-status").get_attribute("data-status") == "in_use"
    assert page.locator("#loans tbody tr[data-open=no]").count() == 1
    shot(page, "procurement-asset")
