"""The procurement desk's pages through the gateway, logged in through /assignment/login: who may
see them, projects by stage, a project, a contract with its milestone timeline (SVG) and its forms,
what falls due, and a committee member's pending acceptances. Thai (Buddhist era) and English.

The contract is signed and taken through its milestones with contracts' own use cases, on dates
set relative to today, so each milestone's state on the timeline follows from those dates."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from sqlalchemy import func, select

from services.procurement.adapters.bus import bus
from services.procurement.adapters.models import (Acceptance, AccessLog, Approval, Asset, Committee, CommitteeMember,
                                                  Contract, Document, Milestone, Project, Quote, Vendor)
from services.procurement.entrypoints import timeline
from services.procurement.handlers import contracts
from services.procurement.handlers.commands import SignContract
from services.procurement.tests.conftest import PASSWORD
from shared.i18n import BANGKOK, THAI_MONTHS, THAI_MONTHS_SHORT

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SVG_NS = "{http://www.w3.org/2000/svg}"


# ---------------------------------------------------------------------------------------------
# helpers


def login(client, username: str) -> None:
    page = client.get("/assignment/login")
    token = CSRF.search(page.get_data(as_text=True)).group(1)
    response = client.post("/assignment/login", data={"username": username, "password": PASSWORD,
                                                      "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[-400:]


def csrf_of(client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)[-400:]
    return CSRF.search(page.get_data(as_text=True)).group(1)


def bangkok_today() -> date:
    return datetime.now(timezone.utc).astimezone(BANGKOK).date()


def at(day: date) -> datetime:
    """Ten in the morning of ``day`` in Bangkok, as aware UTC (a use case's ``now``)."""
    return datetime.combine(day, time(10, 0), tzinfo=BANGKOK).astimezone(timezone.utc)


def be(day: date) -> str:
    """'5 มีนาคม 2570': how the Thai pages write a date (computed here, not by the code under test)."""
    return f"{day.day} {THAI_MONTHS[day.month - 1]} {day.year + 543}"


def build(people, today: date | None = None) -> dict:
    """A project serving a case, at stage procurement (three quotes, principle and budget
    approved, an inspection committee of u-inspect1 and u-inspect2), signed into a contract of
    five milestones with contracts' use cases, which then stand on ``today``:

    1. due today-70, delivered on time, accepted and paid            -> paid
    2. due today-40, delivered 5 days late (fine), accepted          -> accepted (was late)
    3. due today-20, delivered 8 days late (fine), u-inspect2 accepted -> late (awaits u-inspect1)
    4. due today-5, not delivered                                     -> late (overdue)
    5. due today+12, not delivered                                    -> pending
    """
    today = today or bangkok_today()
    with bus.session() as session:
        vendors = [Vendor(org="sesao-sc", name=name, tax_id=f"010555000{n:04d}") for n, name in
                   enumerate(("บริษัท ซอฟต์แวร์ไทย จำกัด", "Acme Systems Co., Ltd.", "หจก. โค้ดดี"))]
        session.add_all(vendors)
        project = Project(org="sesao-sc", title="พัฒนาระบบประเมินคุณภาพการศึกษา", purpose="จ้างพัฒนาระบบ AQA ระยะที่ 2", kind="hire",
                          stage="procurement", method="specific", budget=Decimal("520000"), fiscal_year=2570,
                          officer="u-officer", tracking_code="AQA-2570-0001", case_sop="onesqa/aqa-system-dev",
                          created_by="u-supplies")
        session.add(project)
        session.flush()
        for vendor, amount in zip(vendors, ("500000", "530000", "545000")):
            session.add(Quote(project_id=project.id, vendor_id=vendor.id, amount=Decimal(amount),
                              received_on=today - timedelta(days=120), created_by="u-supplies"))
        project.reference_price = Decimal("530000.00")
        session.add(Approval(project_id=project.id, kind="principle-budget", decision="approved",
                             decided_by="u-director", role="director"))
        committee = Committee(project_id=project.id, kind="inspection", order_ref="คำสั่งที่ 15/2570")
        committee.members = [CommitteeMember(username="u-inspect1", name="นางสาวตรวจ หนึ่ง", position="chair"),
                             CommitteeMember(username="u-inspect2", name="นายรับ สอง", position="member")]
        session.add(committee)
        session.add(Document(kind="tor", project_id=project.id, name="TOR ระบบ AQA.pdf", ref="ที่ ศธ 1/2570",
                             uploaded_by="u-supplies"))
        session.commit()
        project_id, vendor_id = project.id, vendors[0].id
    supplies, finance = people.staff["u-supplies"], people.staff["u-finance"]
    first, second = people.staff["u-inspect1"], people.staff["u-inspect2"]
    dues = [today - timedelta(days=d) for d in (70, 40, 20, 5, -12)]
    signed = contracts.create_contract(supplies, SignContract(
        project_id=project_id, number="12/2570", vendor_id=vendor_id, amount=Decimal("500000.00"),
        signed_on=today - timedelta(days=100), starts_on=today - timedelta(days=100),
        ends_on=today + timedelta(days=60), warranty_months=12, fine_rate_percent=Decimal("0.1"),
        fine_basis="milestone", fine_min_per_day=Decimal("0"),
        milestones=tuple({"title": title, "deliverables": "", "due_on": due, "amount": Decimal("100000.00")}
                         for title, due in zip(("แผนงานและการวิเคราะห์ระบบ", "ระบบต้นแบบ", "อบรมผู้ใช้งาน",
                                                "ระบบพร้อมใช้งานจริง", "คู่มือและการรับประกัน"), dues)),
        documents=({"ref": "สัญญาเลขที่ 12/2570", "name": "สัญญาจ้าง"},)))
    contract_id = signed["id"]
    ids = [m["id"] for m in signed["milestones"]]

    def deliver(n: int, on: date) -> None:
        contracts.record_delivery(supplies, contract_id, ids[n], on, "ส่งมอบตามสัญญา", ref=f"หนังสือส่งมอบงวดที่ {n + 1}")
        contracts.add_evidence(supplies, contract_id, ids[n], ref=f"ใบลงชื่อผู้เข้าอบรม งวดที่ {n + 1}")

    deliver(0, dues[0] - timedelta(days=2))
    for member in (first, second):
        contracts.decide_acceptance(member, contract_id, ids[0], "accepted", now=at(dues[0] + timedelta(days=5)))
    contracts.record_payment(finance, contract_id, ids[0], dues[0] + timedelta(days=10), "ฎีกา 101/2570",
                             now=at(dues[0] + timedelta(days=10)))
    deliver(1, dues[1] + timedelta(days=5))
    for member in (first, second):
        contracts.decide_acceptance(member, contract_id, ids[1], "accepted", now=at(dues[1] + timedelta(days=9)))
    deliver(2, dues[2] + timedelta(days=8))
    contracts.decide_acceptance(second, contract_id, ids[2], "accepted", now=at(dues[2] + timedelta(days=9)))
    return {"project_id": project_id, "contract_id": contract_id, "milestone_ids": ids, "dues": dues,
            "today": today, "vendor_id": vendor_id}


def svg_of(html: str) -> ElementTree.Element:
    found = re.search(r"<svg .*?</svg>", html, re.S)
    assert found, "no SVG on the page"
    return ElementTree.fromstring(found.group(0))


def markers(svg: ElementTree.Element) -> dict[int, ElementTree.Element]:
    out = {}
    for g in svg.iter(f"{SVG_NS}g"):
        if "milestone" in (g.get("class") or "").split():
            out[int(g.get("data-milestone"))] = g
    return out


def counts() -> tuple:
    with bus.session() as session:
        return (session.scalar(select(func.count(Acceptance.id))), session.scalar(select(func.count(Document.id))),
                tuple(session.execute(select(Milestone.id, Milestone.delivered_on, Milestone.accepted_on,
                                             Milestone.paid_on).order_by(Milestone.id)).all()))


@pytest.fixture
def data(procurement_people):
    return build(procurement_people)


# ---------------------------------------------------------------------------------------------
# who may come in


def test_an_anonymous_visit_goes_to_the_login_page_and_comes_back(client, data):
    path = f"/procurement/desk/contracts/{data['contract_id']}"
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/assignment/login?next={path}"
    for other in ("/procurement/desk/", "/procurement/desk/due", "/procurement/desk/acceptances"):
        assert client.get(other).status_code == 302
    with_query = client.get("/procurement/desk/?fy=2570&lang=en")
    assert with_query.headers["Location"] == "/assignment/login?next=/procurement/desk/%3Ffy%3D2570%26lang%3Den"
    # logging in on that page brings the person back to the contract
    page = client.get(response.headers["Location"])
    token = CSRF.search(page.get_data(as_text=True)).group(1)
    back = client.post(response.headers["Location"], data={"username": "u-finance", "password": PASSWORD,
                                                           "csrf_token": token})
    assert back.status_code == 302 and back.headers["Location"] == path
    assert client.get(path).status_code == 200


def test_staff_without_a_procurement_role_are_refused(client, procurement_people, data):
    procurement_people.add("u-requester", ["requester"])
    login(client, "u-requester")
    for path in ("/procurement/desk/", f"/procurement/desk/projects/{data['project_id']}",
                 f"/procurement/desk/contracts/{data['contract_id']}", "/procurement/desk/due",
                 "/procurement/desk/acceptances", "/procurement/desk/assets?q=x"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "หน้านี้สำหรับเจ้าหน้าที่พัสดุ" in response.get_data(as_text=True)
    before = counts()
    token = CSRF.search(client.get("/assignment/login").get_data(as_text=True)).group(1)
    refused = client.post(f"/procurement/desk/contracts/{data['contract_id']}/milestones/"
                          f"{data['milestone_ids'][2]}/acceptance", data={"decision": "accepted", "csrf_token": token})
    assert refused.status_code == 403
    assert counts() == before


# ---------------------------------------------------------------------------------------------
# projects


def test_projects_by_stage_with_the_fiscal_year_filter_in_thai_and_english(client, data):
    with bus.session() as session:
        session.add(Project(org="sesao-sc", title="ซื้อหมึกพิมพ์", stage="draft", fiscal_year=2569, officer="u-officer",
                            reference_price=Decimal("12500")))
        session.commit()
    login(client, "u-supplies")
    page = client.get("/procurement/desk/?lang=th")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    contract_stage = re.search(r'<section id="stage-contract".*?</section>', html, re.S).group(0)
    assert 'data-count="1"' in contract_stage and "พัฒนาระบบประเมินคุณภาพการศึกษา" in contract_stage
    assert 'href="/assignment/desk/cases/AQA-2570-0001"' in contract_stage
    assert "530,000.00" in contract_stage and "u-officer" in contract_stage
    assert "ปีงบประมาณ 2570" in contract_stage
    draft = re.search(r'<section id="stage-draft".*?</section>', html, re.S).group(0)
    assert "ซื้อหมึกพิมพ์" in draft and "12,500.00" in draft and "ปีงบประมาณ 2569" in draft
    # the project's updated time, Buddhist era
    updated = datetime.now(timezone.utc).astimezone(BANGKOK)
    assert f"{THAI_MONTHS[updated.month - 1]} {updated.year + 543}" in contract_stage
    # one fiscal year only
    only = client.get("/procurement/desk/?fy=2569").get_data(as_text=True)
    assert "ซื้อหมึกพิมพ์" in only and "พัฒนาระบบประเมินคุณภาพการศึกษา" not in only
    assert '<option value="2569" selected>' in only
    english = client.get("/procurement/desk/?lang=en").get_data(as_text=True)
    assert "Procurement projects by stage" in english and "FY 2027" in english and "FY 2026" in english
    assert "Under contract" in english


def test_the_project_page_shows_its_trail_and_logs_the_members_names(client, data):
    login(client, "u-head")
    html = client.get(f"/procurement/desk/projects/{data['project_id']}").get_data(as_text=True)
    for text in ("จ้างพัฒนาระบบ AQA ระยะที่ 2", "บริษัท ซอฟต์แวร์ไทย จำกัด", "545,000.00", "คณะกรรมการตรวจรับพัสดุ",
                 "นางสาวตรวจ หนึ่ง", "ประธานกรรมการ", "คำสั่งที่ 15/2570", "อนุมัติหลักการและงบประมาณ", "TOR ระบบ AQA.pdf",
                 'href="/assignment/desk/cases/AQA-2570-0001"', f'href="/procurement/desk/contracts/{data["contract_id"]}"'):
        assert text in html, text
    # the median of 500,000 / 530,000 / 545,000
    assert re.search(r'id="median">530,000.00<', html)
    with bus.session() as session:
        logged = session.scalars(select(AccessLog.record_id).where(AccessLog.actor == "u-head",
                                                                   AccessLog.record == "committee_member")).all()
        members = session.scalars(select(CommitteeMember.id)).all()
    assert sorted(map(int, logged)) == sorted(members)
    assert client.get("/procurement/desk/projects/999999").status_code == 404


# ---------------------------------------------------------------------------------------------
# the contract and its timeline


def test_the_contract_page_draws_each_milestone_where_it_stands(client, data):
    today, dues = data["today"], data["dues"]
    login(client, "u-officer")
    page = client.get(f"/procurement/desk/contracts/{data['contract_id']}?lang=th")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert be(today - timedelta(days=100)) in html  # signed, Buddhist era
    assert "ร้อยละ 0.1 ต่อวันของค่างานงวดนั้น" in html
    svg = svg_of(html)
    found = markers(svg)
    assert sorted(found) == [1, 2, 3, 4, 5]
    states = {n: (g.get("data-state"), g.get("data-progress"), int(g.get("data-days-late"))) for n, g in found.items()}
    assert states == {1: ("paid", "paid", 0), 2: ("accepted", "accepted", 5), 3: ("late", "delivered", 8),
                      4: ("late", "pending", 5), 5: ("pending", "pending", 0)}
    for n, g in found.items():
        assert g.get("data-due") == dues[n - 1].isoformat()
        title = g.find(f"{SVG_NS}title").text
        assert title.startswith(f"งวดที่ {n}:"), title
        assert be(dues[n - 1]) in title
    assert "ค่าปรับ 800.00 บาท" in found[3].find(f"{SVG_NS}title").text  # 8 days x 0.1% of 100,000
    assert "เกินกำหนด ยังไม่ส่งมอบ 5 วัน" in found[4].find(f"{SVG_NS}title").text
    # markers stand in the order of their due dates, today's line between the 4th and the 5th
    xs = {n: float(g.get("data-x")) for n, g in found.items()}
    today_line = next(g for g in svg.iter(f"{SVG_NS}g") if g.get("class") == "today")
    assert xs[1] < xs[2] < xs[3] < xs[4] < float(today_line.get("data-x")) < xs[5]
    assert today_line.get("data-date") == today.isoformat()
    assert be(today) in today_line.find(f"{SVG_NS}title").text
    # the months along the axis, in Thai
    month_labels = [t.text for g in svg.iter(f"{SVG_NS}g") if g.get("class") == "month"
                    for t in g.iter(f"{SVG_NS}text")]
    assert THAI_MONTHS_SHORT[today.month - 1] in " ".join(month_labels)
    assert {g.get("data-state") for g in svg.iter(f"{SVG_NS}g") if g.get("class") == "legend-item"} >= set(timeline.STATES)
    # the table
    rows = re.findall(r'<tr data-milestone="(\d)" data-id="\d+" data-state="(\w+)">', html)
    assert rows == [("1", "paid"), ("2", "accepted"), ("3", "late"), ("4", "late"), ("5", "pending")]
    assert "ฎีกา 101/2570" in html and "100,000.00" in html
    english = client.get(f"/procurement/desk/contracts/{data['contract_id']}?lang=en").get_data(as_text=True)
    english_svg = markers(svg_of(english))
    assert english_svg[3].find(f"{SVG_NS}title").text.startswith("Milestone 3:")
    signed = today - timedelta(days=100)
    assert f"{signed.day} {signed:%B} {signed.year}" in english and str(signed.year + 543) not in english


def test_the_forms_each_person_sees(client, data):
    path = f"/procurement/desk/contracts/{data['contract_id']}"

    def forms() -> set:
        return set(re.findall(r'data-action="(\w+)" data-milestone="(\d)"', client.get(path).get_data(as_text=True)))

    login(client, "u-inspect1")
    assert forms() == {("acceptance", "3"), ("evidence", "3")}
    login(client, "u-inspect2")  # decided on the 3rd already
    assert forms() == {("evidence", "3")}
    login(client, "u-finance")
    assert forms() == {("payment", "2")}
    login(client, "u-supplies")
    assert forms() == {("delivery", "4"), ("delivery", "5"), ("evidence", "3"), ("paper_acceptance", "3"),
                       ("payment", "2")}


def test_a_member_accepts_and_the_milestone_is_accepted(client, data):
    contract_id, milestone = data["contract_id"], data["milestone_ids"][2]
    login(client, "u-inspect1")
    token = csrf_of(client, "/procurement/desk/acceptances")
    response = client.post(f"/procurement/desk/contracts/{contract_id}/milestones/{milestone}/acceptance",
                           data={"decision": "accepted", "note": "ครบถ้วน", "csrf_token": token,
                                 "next": "/procurement/desk/acceptances"})
    assert response.status_code == 302 and response.headers["Location"] == "/procurement/desk/acceptances"
    assert "บันทึกแล้ว" in client.get("/procurement/desk/acceptances").get_data(as_text=True)
    with bus.session() as session:
        assert session.get(Milestone, milestone).accepted_on == data["today"]
    found = markers(svg_of(client.get(f"/procurement/desk/contracts/{contract_id}").get_data(as_text=True)))
    assert (found[3].get("data-state"), found[3].get("data-days-late")) == ("accepted", "8")


def test_the_acceptance_form_refuses_a_non_member_and_a_missing_token(client, data):
    contract_id, milestone = data["contract_id"], data["milestone_ids"][2]
    path = f"/procurement/desk/contracts/{contract_id}/milestones/{milestone}/acceptance"
    before = counts()
    login(client, "u-inspect3")  # an inspection committee member, but not of this project
    token = csrf_of(client, f"/procurement/desk/contracts/{contract_id}")
    refused = client.post(path, data={"decision": "accepted", "csrf_token": token})
    assert refused.status_code == 403
    html = refused.get_data(as_text=True)
    # the acceptance form is not on this person's page: the refusal is the short notice at the top, in Thai
    assert html.count("เฉพาะกรรมการตรวจรับพัสดุของโครงการนี้เท่านั้น") == 1 and 'id="errors"' in html
    assert "Only the members of this project" not in html
    assert counts() == before
    login(client, "u-inspect1")  # a member, without the session's token
    assert client.post(path, data={"decision": "accepted"}).status_code == 403
    assert client.post(path, data={"decision": "accepted", "csrf_token": token}).status_code == 403  # another session's
    assert counts() == before


def test_a_refused_form_comes_back_with_its_messages_and_stores_nothing(client, data):
    contract_id, ids = data["contract_id"], data["milestone_ids"]
    login(client, "u-finance")
    token = csrf_of(client, f"/procurement/desk/contracts/{contract_id}")
    before = counts()
    missing = client.post(f"/procurement/desk/contracts/{contract_id}/milestones/{ids[1]}/payment",
                          data={"paid_on": "", "csrf_token": token})
    html = missing.get_data(as_text=True)
    assert missing.status_code == 422
    assert html.count("กรุณากรอกช่องนี้") >= 2  # paid_on and payment_ref
    bad_date = client.post(f"/procurement/desk/contracts/{contract_id}/milestones/{ids[1]}/payment",
                           data={"paid_on": "31/02/2570", "payment_ref": "ฎีกา 5", "csrf_token": token})
    assert bad_date.status_code == 422 and "รูปแบบวันที่ไม่ถูกต้อง" in bad_date.get_data(as_text=True)
    future = (data["today"] + timedelta(days=3)).isoformat()
    too_early = client.post(f"/procurement/desk/contracts/{contract_id}/milestones/{ids[1]}/payment",
                            data={"paid_on": future, "payment_ref": "ฎีกา 5", "csrf_token": token})
    assert too_early.status_code == 422 and "วันที่จ่ายต้องไม่เป็นวันในอนาคต" in too_early.get_data(as_text=True)
    not_yet = client.post(f"/procurement/desk/contracts/{contract_id}/milestones/{ids[2]}/payment",
                          data={"paid_on": data["today"].isoformat(), "payment_ref": "ฎีกา 5", "csrf_token": token})
    assert not_yet.status_code == 409
    assert counts() == before
    # a Thai date in the Buddhist era is taken, and the payment is the amount less the fine
    paid_on = data["today"]
    done = client.post(f"/procurement/desk/contracts/{contract_id}/milestones/{ids[1]}/payment",
                       data={"paid_on": f"{paid_on.day:02d}/{paid_on.month:02d}/{paid_on.year + 543}",
                             "payment_ref": "ฎีกา 5/2570", "csrf_token": token})
    assert done.status_code == 302, done.get_data(as_text=True)[-600:]
    with bus.session() as session:
        milestone = session.get(Milestone, ids[1])
        assert (milestone.paid_on, milestone.paid_amount) == (paid_on, Decimal("100000.00") - Decimal("500.00"))


def form_of(html: str, action: str, seq: int) -> str:
    found = re.search(rf'<form [^>]*data-action="{action}" data-milestone="{seq}".*?</form>', html, re.S)
    assert found, f"no {action} form for milestone {seq}"
    return found.group(0)


def be_input(day: date) -> str:
    """19/11/2569: how a date field shows a day on a Thai page (worked here, not by the code under test)."""
    return f"{day.day:02d}/{day.month:02d}/{day.year + 543}"


def test_a_payment_before_the_acceptance_is_refused_once_beside_its_form_in_thai(client, data):
    contract_id, ids, dues = data["contract_id"], data["milestone_ids"], data["dues"]
    accepted = dues[1] + timedelta(days=9)  # build(): both members accepted the 2nd on that day
    login(client, "u-finance")
    token = csrf_of(client, f"/procurement/desk/contracts/{contract_id}")
    before = counts()
    response = client.post(f"/procurement/desk/contracts/{contract_id}/milestones/{ids[1]}/payment",
                           data={"paid_on": be_input(accepted - timedelta(days=1)), "payment_ref": "ฎีกา 7/2570",
                                 "csrf_token": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    said = f"วันที่จ่ายต้องไม่ก่อนวันที่ตรวจรับ ({be(accepted)})"
    assert html.count(said) == 1 and 'id="errors"' not in html
    assert "cannot be before" not in html and "<strong>paid_on</strong>" not in html
    form = form_of(html, "payment", 2)
    # under the payment date's label, before its field, which keeps what was typed
    assert form.index("วันที่จ่าย</label>") < form.index(said) < form.index('name="paid_on"')
    assert f'value="{be_input(accepted - timedelta(days=1))}"' in form
    assert counts() == before


def test_an_acceptance_signed_last_week_is_accepted_that_day(client, data):
    contract_id, ids, dues, today = data["contract_id"], data["milestone_ids"], data["dues"], data["today"]
    delivered = dues[2] + timedelta(days=8)  # build(): the 3rd, delivered 8 days late
    path = f"/procurement/desk/contracts/{contract_id}/milestones/{ids[2]}/acceptance"
    login(client, "u-inspect1")
    token = csrf_of(client, f"/procurement/desk/contracts/{contract_id}")
    before = counts()
    # not in the future, not before the delivery: refused by field, in Thai, nothing kept
    for signed_on, said in ((today + timedelta(days=1), "วันที่ลงนามต้องไม่เป็นวันในอนาคต"),
                            (delivered - timedelta(days=1), f"วันที่ลงนามต้องไม่ก่อนวันที่ส่งมอบ ({be(delivered)})")):
        refused = client.post(path, data={"decision": "accepted", "signed_on": be_input(signed_on),
                                          "csrf_token": token})
        html = refused.get_data(as_text=True)
        assert refused.status_code == 422 and html.count(said) == 1
        form = form_of(html, "acceptance", 3)
        assert form.index("วันที่ลงนามตรวจรับ</label>") < form.index(said) < form.index('name="signed_on"')
        assert counts() == before
    # signed a week ago: the milestone is accepted on that day (u-inspect2 signed the day after delivery)
    week_ago = today - timedelta(days=7)
    assert week_ago > delivered
    response = client.post(path, data={"decision": "accepted", "signed_on": be_input(week_ago), "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[-600:]
    with bus.session() as session:
        milestone = session.get(Milestone, ids[2])
        assert milestone.accepted_on == max(week_ago, dues[2] + timedelta(days=9))
        assert milestone.days_late == 8  # still counted from the delivery
        assert session.scalar(select(Acceptance.signed_on).join(CommitteeMember)
                              .where(Acceptance.milestone_id == ids[2],
                                     CommitteeMember.username == "u-inspect1")) == week_ago
    # a payment dated before it is refused
    login(client, "u-finance")
    token = csrf_of(client, f"/procurement/desk/contracts/{contract_id}")
    refused = client.post(f"/procurement/desk/contracts/{contract_id}/milestones/{ids[2]}/payment",
                          data={"paid_on": be_input(week_ago - timedelta(days=1)), "payment_ref": "ฎีกา 8/2570",
                                "csrf_token": token})
    assert refused.status_code == 422
    assert refused.get_data(as_text=True).count(f"วันที่จ่ายต้องไม่ก่อนวันที่ตรวจรับ ({be(week_ago)})") == 1
    with bus.session() as session:
        assert session.get(Milestone, ids[2]).paid_on is None


def test_the_date_fields_take_buddhist_era_dates_on_a_thai_page(client, data):
    contract_id, today = data["contract_id"], data["today"]
    login(client, "u-supplies")
    html = client.get(f"/procurement/desk/contracts/{contract_id}?lang=th").get_data(as_text=True)
    assert 'type="date"' not in html
    fields = re.findall(r'<input type="(\w+)" inputmode="numeric" id="[^"]+" name="(\w+)" value="([^"]*)" '
                        r'placeholder="([^"]*)"', html)
    assert {name for _type, name, _value, _hint in fields} == {"delivered_on", "signed_on", "paid_on"}
    assert {(kind, value, hint) for kind, _name, value, hint in fields} == \
        {("text", be_input(today), "วว/ดด/ปปปป (พ.ศ.) เช่น 19/11/2569")}
    english = client.get(f"/procurement/desk/contracts/{contract_id}?lang=en").get_data(as_text=True)
    assert f'name="paid_on" value="{today.isoformat()}"' in english and 'type="date"' not in english


def test_supplies_record_a_delivery_from_the_desk(client, data):
    contract_id, ids = data["contract_id"], data["milestone_ids"]
    login(client, "u-supplies")
    token = csrf_of(client, f"/procurement/desk/contracts/{contract_id}")
    from io import BytesIO

    delivered = data["today"] - timedelta(days=1)
    response = client.post(f"/procurement/desk/contracts/{contract_id}/milestones/{ids[3]}/delivery",
                           data={"delivered_on": delivered.isoformat(), "note": "ส่งช้า", "csrf_token": token,
                                 "files": (BytesIO(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"), "ส่งมอบ.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[-600:]
    with bus.session() as session:
        milestone = session.get(Milestone, ids[3])
        days, fine = contracts.fine_for(session.get(Contract, contract_id), milestone, delivered)
        assert (milestone.delivered_on, milestone.days_late, milestone.fine_amount) == (delivered, days, fine)
        assert session.scalar(select(Document.name).where(Document.milestone_id == ids[3],
                                                          Document.kind == "delivery")) == "ส่งมอบ.pdf"
    found = markers(svg_of(client.get(f"/procurement/desk/contracts/{contract_id}").get_data(as_text=True)))
    assert (found[4].get("data-state"), found[4].get("data-progress"), found[4].get("data-days-late")) == \
        ("late", "delivered", str(days))


# ---------------------------------------------------------------------------------------------
# what falls due, and what awaits a member


def test_what_falls_due_with_the_overdue_first_and_working_days_left(client, data):
    from services.procurement.handlers import reminders

    today = data["today"]
    login(client, "u-officer")
    html = client.get("/procurement/desk/due").get_data(as_text=True)
    overdue = re.search(r'<table id="overdue">.*?</table>', html, re.S).group(0)
    upcoming = re.search(r'<table id="upcoming">.*?</table>', html, re.S).group(0)
    rows = re.findall(r'data-milestone-id="(\d+)"[^>]*data-state="(\w+)"', overdue)
    ids = data["milestone_ids"]
    # not accepted and past due: the one not delivered first, then the one awaiting its committee
    assert rows == [(str(ids[3]), "late"), (str(ids[2]), "late")]
    assert "เกิน 5 วัน" in overdue and "500.00" in overdue  # 5 days x 100 baht so far
    assert re.findall(r'data-milestone-id="(\d+)"', upcoming) == [str(ids[4])]
    with bus.session() as session:
        cal = reminders.calendar(session)
    due = data["dues"][4]
    expected = sum(cal.is_working_day(today + timedelta(days=k)) for k in range(1, (due - today).days + 1))
    if not cal.is_working_day(due):  # counted back to the working day before it
        expected += 1
    assert f"อีก {expected} วันทำการ" in upcoming


def test_a_members_pending_acceptances(client, data):
    login(client, "u-inspect1")
    html = client.get("/procurement/desk/acceptances").get_data(as_text=True)
    forms = re.findall(r'class="acceptance-form" data-contract="(\d+)" data-milestone="(\d)"', html)
    assert forms == [(str(data["contract_id"]), "3")]
    assert "ส่งมอบช้า 8 วัน" in html and "ค่าปรับ 800.00 บาท" in html
    login(client, "u-inspect2")
    assert 'id="nothing-pending"' in client.get("/procurement/desk/acceptances").get_data(as_text=True)
    login(client, "u-inspect3")
    english = client.get("/procurement/desk/acceptances?lang=en").get_data(as_text=True)
    assert "Nothing awaits your acceptance." in english


def test_the_asset_search(client, procurement_people):
    with bus.session() as session:
        session.add_all([Asset(org="sesao-sc", tag="7440-001-0001", kind="คอมพิวเตอร์", model="Dell OptiPlex 7010",
                               warranty_ends_on=date(2027, 6, 30), ownership="leased"),
                         Asset(org="sesao-sc", tag="7440-002-0001", kind="เครื่องพิมพ์", model="HP LaserJet")])
        session.commit()
    login(client, "u-supplies")
    html = client.get("/procurement/desk/assets?q=optiplex").get_data(as_text=True)
    assert re.findall(r'<tr data-tag="([^"]+)">', html) == ["7440-001-0001"]
    assert "30 มิถุนายน 2570" in html and "เช่า" in html


# ---------------------------------------------------------------------------------------------
# the picture on its own


class _M:
    def __init__(self, seq, due_on, delivered_on=None, accepted_on=None, paid_on=None, title="", fine="0"):
        self.seq, self.due_on, self.delivered_on, self.accepted_on, self.paid_on = seq, due_on, delivered_on, \
            accepted_on, paid_on
        self.title, self.deliverables, self.amount, self.fine_amount = title, "", Decimal("1000"), Decimal(fine)

    state = Milestone.state


class _C:
    def __init__(self, milestones, starts_on=date(2026, 10, 1), ends_on=date(2027, 3, 31)):
        self.id, self.number, self.starts_on, self.ends_on, self.milestones = 3, "<b>1/2570</b>", starts_on, ends_on, \
            milestones


def test_the_timeline_is_the_same_every_time_escapes_its_texts_and_shows_today_outside():
    contract = _C([_M(2, date(2027, 2, 1), title="ระบบ <script>alert(1)</script> & คู่มือ"),
                   _M(1, date(2026, 11, 1), date(2026, 11, 3), fine="20")])
    before = timeline.render_svg(contract, "th", date(2026, 9, 1))
    assert before == timeline.render_svg(contract, "th", date(2026, 9, 1))
    root = ElementTree.fromstring(before)  # well-formed: the title's markup is escaped
    assert "<script>" not in before and "&lt;script&gt;" in before
    found = markers(root)
    assert [found[n].get("data-state") for n in (1, 2)] == ["late", "pending"]  # delivered 2 days late
    today = next(g for g in root.iter(f"{SVG_NS}g") if g.get("class") == "today")
    assert today.get("data-outside") == "before"
    months = [g.get("data-month") for g in root.iter(f"{SVG_NS}g") if g.get("class") == "month"]
    assert months == ["2026-10", "2026-11", "2026-12", "2027-01", "2027-02", "2027-03"]
    labels = " ".join(t.text for g in root.iter(f"{SVG_NS}g") if g.get("class") == "month"
                      for t in g.iter(f"{SVG_NS}text"))
    assert "ต.ค. 69" in labels and "ม.ค. 70" in labels
    # months later the second is overdue and the axis runs on to today
    after = ElementTree.fromstring(timeline.render_svg(contract, "en", date(2027, 5, 10)))
    assert markers(after)[2].get("data-state") == "late" and markers(after)[2].get("data-days-late") == "98"
    assert after.get("data-end") == "2027-05-10"
    assert "Milestone 2" in markers(after)[2].find(f"{SVG_NS}title").text


def test_the_register_lists_every_asset_a_page_at_a_time_and_narrows_by_warranty_and_ownership(
        client, procurement_people):
    from services.procurement.entrypoints.desk import ASSET_PAGE

    today = date.today()
    made = [Asset(org="sesao-sc", tag=f"7440-100-{n:04d}", kind="คอมพิวเตอร์", model=f"รุ่น {n}",
                  ownership="leased" if n % 3 == 0 else "owned",
                  warranty_ends_on=(today + timedelta(days=400)) if n % 2 == 0 else (today - timedelta(days=30)))
            for n in range(ASSET_PAGE + 12)]
    with bus.session() as session:
        session.add_all(made + [Asset(org="up", tag="7440-999-0001", kind="คอมพิวเตอร์")])  # another organisation's
        session.commit()
    login(client, "u-supplies")

    def tags(query: str) -> list[str]:
        html = client.get(f"/procurement/desk/assets{query}").get_data(as_text=True)
        return re.findall(r'<tr data-tag="([^"]+)">', html)

    ours = sorted(a.tag for a in made)
    first = client.get("/procurement/desk/assets").get_data(as_text=True)
    assert re.findall(r'<tr data-tag="([^"]+)">', first) == ours[:ASSET_PAGE]  # no search needed: the list
    assert f"ครุภัณฑ์ {len(made)} รายการ" in first and 'id="next-page"' in first
    assert tags("?page=2") == ours[ASSET_PAGE:]
    # in force: the even ones (400 days on); ended: the odd ones; leased: every third
    assert tags("?warranty=active") == [a.tag for a in sorted(made, key=lambda a: a.tag)
                                        if a.warranty_ends_on >= today][:ASSET_PAGE]
    ended = [a.tag for a in sorted(made, key=lambda a: a.tag) if a.warranty_ends_on < today]
    assert tags("?warranty=expired") == ended[:ASSET_PAGE]
    leased_ended = [a.tag for a in sorted(made, key=lambda a: a.tag)
                    if a.ownership == "leased" and a.warranty_ends_on < today]
    assert tags("?warranty=expired&ownership=leased") == leased_ended
    assert tags("?warranty=nonsense&page=-4") == ours[:ASSET_PAGE]  # an unknown filter is no filter
