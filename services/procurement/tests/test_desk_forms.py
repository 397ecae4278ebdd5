"""The procurement desk's forms refuse what the API refuses, with the same messages, and store
nothing on a refusal: each case posts the same wrong input to the API (as JSON, ISO dates) and to
the desk's form (a Thai page, Buddhist-era dates) as the same person, and compares the status, the
fields refused and each message (the API's English said again in Thai by ``shared.said``: on the
Thai page no message is left in English), and that no table the form writes to has changed.
Then the forms that are allowed work: a vendor, a project, its quotes and median, a committee."""
from __future__ import annotations

import html
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from services.procurement.adapters.bus import bus
from services.procurement.adapters.models import (Approval, Committee, CommitteeMember, Contract, Document,
                                                  Incident, Milestone, Project, Quote, Vendor, VendorContact)
from services.procurement.entrypoints.desk import WORDS
from services.procurement.entrypoints.web import dotted
from services.procurement.tests.test_desk import bangkok_today, build, csrf_of, login
from shared.i18n import MESSAGES
from shared.said import say

THAI = re.compile(r"[\u0E00-\u0E7F]")
PDF = b"%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
TABLES = (Vendor, VendorContact, Project, Quote, Approval, Committee, CommitteeMember, Document, Contract,
          Milestone, Incident)


def tax_id(first12: str) -> str:
    """A Thai tax id with its check digit (weights 13 down to 2, mod 11)."""
    total = sum(int(d) * (13 - i) for i, d in enumerate(first12))
    return first12 + str((11 - total % 11) % 10)


def be_input(day) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year + 543}"


def counts() -> dict[str, int]:
    with bus.session() as session:
        return {t.__tablename__: session.scalar(select(func.count()).select_from(t)) for t in TABLES}


def page_messages(text: str) -> dict[str, list[str]]:
    """The messages a desk page shows beside (or above) its fields: ``data-field`` -> texts."""
    found: dict[str, list[str]] = {}
    for field, message in re.findall(r'<p (?:class="error" )?data-field="([^"]+)">([^<]*)</p>', text):
        found.setdefault(field, []).append(html.unescape(message))
    return found


def api_messages(body: dict) -> dict[str, list[str]]:
    return dotted(body["errors"])


def _template(text: str) -> re.Pattern:
    """A catalogue text as a pattern: each {value} any text."""
    parts = re.split(r"\{[a-z_]+\}", text)
    return re.compile("(.+)".join(re.escape(p) for p in parts))


def said_alike(api_text: str, page_text: str) -> bool:
    """The page says the API's message: a schema's or a fixed message said by its word
    (``shared.said.say``); a use case's ``Said`` (plain English over JSON) by the catalogue key
    whose English is the API's text, its Thai the page's."""
    expected = say(api_text, "th", "proc.refusal.", WORDS)
    if expected != api_text:
        return page_text == expected
    keys = [key for key, texts in MESSAGES.items()
            if key.startswith("proc.refusal.") and _template(texts["en"]).fullmatch(api_text)]
    assert keys, f"no word says {api_text!r}"
    return any(_template(MESSAGES[key]["th"]).fullmatch(page_text) for key in keys)


class Both:
    """One person posting to the API (bearer token) and to the desk (logged in, CSRF token)."""

    def __init__(self, client, people, username: str):
        self.client, self.people, self.username = client, people, username
        login(client, username)

    def api(self, method: str, path: str, body: dict | None = None, data: dict | None = None):
        headers = self.people.headers(self.username)
        if data is not None:
            return self.client.open(path, method=method, data=data, headers=headers)
        return self.client.open(path, method=method, json=body, headers=headers)

    def desk(self, page: str, action: str, form: dict):
        token = csrf_of(self.client, page)
        return self.client.post(action, data={**form, "csrf_token": token})


def same_refusal(both: Both, api_call: tuple, page: str, action: str, form: dict, status: int,
                 fields: set[str] | None = None) -> dict[str, list[str]]:
    """The API and the desk refuse alike: ``status``; the same fields (``fields`` when given, the
    desk may show a row's amount under the row's one value field); each desk message is the
    API's said in Thai, in Thai; nothing stored by either."""
    before = counts()
    api = both.api(*api_call)
    assert api.status_code == status, api.get_json()
    answer = api_messages(api.get_json()) if status == 422 or api.get_json().get("errors") else {}
    desk = both.desk(page, action, form)
    text = desk.get_data(as_text=True)
    assert desk.status_code == status, text[-600:]
    shown = page_messages(text)
    assert counts() == before
    if fields is not None:
        assert set(answer) == fields and set(shown) == fields, (answer, shown)
    else:
        assert set(shown) == set(answer), (answer, shown)
    for field, messages in answer.items():
        if field in shown:
            assert len(shown[field]) == len(messages), (field, messages, shown[field])
            for api_text, page_text in zip(messages, shown[field]):
                assert said_alike(api_text, page_text), (field, api_text, page_text)
    for messages in shown.values():
        for message in messages:
            assert THAI.search(message), f"an English message on a Thai page: {message!r}"
    return shown


@pytest.fixture
def project(procurement_people):
    """A project at the quotes stage with one vendor's quote, and two vendors more."""
    supplies = procurement_people.staff["u-supplies"]
    from services.procurement.handlers import projects, vendors
    from services.procurement.handlers.commands import AddQuote, OpenProject, RegisterVendor

    made = [vendors.create_vendor(supplies, RegisterVendor(name=f"บริษัท ทดสอบ {n} จำกัด",
                                                           tax_id=tax_id(f"01055{n}0000000"[:12])))
            for n in range(1, 4)]
    opened = projects.create_project(supplies, OpenProject(title="จัดซื้อเครื่องคอมพิวเตอร์", kind="purchase",
                                                           budget=Decimal("90000")))
    projects.add_quote(supplies, opened["id"], AddQuote(vendor_id=made[0]["id"], amount=Decimal("85000"),
                                                        received_on=bangkok_today() - timedelta(days=3)))
    return {"id": opened["id"], "vendors": [v["id"] for v in made], "tax_ids": [v["tax_id"] for v in made]}


def test_vendor_forms_refuse_as_the_api_does(client, procurement_people, project):
    both = Both(client, procurement_people, "u-supplies")
    page = "/procurement/desk/vendors"
    # the schema: a name missing, a tax id with a wrong check digit
    # (a blank field of a form is not given: the API's JSON leaves it out)
    same_refusal(both, ("POST", "/procurement/vendors", {"tax_id": "0105551234560"}), page, page,
                 {"name": "", "tax_id": "0105551234560"}, 422)
    bad_digit = tax_id("010555123456")[:-1] + str((int(tax_id("010555123456")[-1]) + 1) % 10)
    same_refusal(both, ("POST", "/procurement/vendors", {"name": "บริษัท ก", "tax_id": bad_digit}), page, page,
                 {"name": "บริษัท ก", "tax_id": bad_digit}, 422, {"tax_id"})
    # the use case: a tax id registered already (409)
    taken = project["tax_ids"][0]
    same_refusal(both, ("POST", "/procurement/vendors", {"name": "บริษัท ซ้ำ", "tax_id": taken}), page, page,
                 {"name": "บริษัท ซ้ำ", "tax_id": taken}, 409, {"tax_id"})
    vendor_page = f"/procurement/desk/vendors/{project['vendors'][0]}"
    same_refusal(both, ("POST", f"/procurement/vendors/{project['vendors'][0]}/contacts",
                        {"name": "คุณติดต่อ", "email": "not-an-address"}),
                 vendor_page, f"{vendor_page}/contacts", {"name": "คุณติดต่อ", "email": "not-an-address"}, 422,
                 {"email"})


def test_a_finance_officer_may_not_register_a_vendor_on_either(client, procurement_people, project):
    both = Both(client, procurement_people, "u-finance")
    before = counts()
    assert both.api("POST", "/procurement/vendors", {"name": "บริษัท ข", "tax_id": tax_id("010555999999")}
                    ).status_code == 403
    page = both.client.get("/procurement/desk/vendors").get_data(as_text=True)
    assert 'id="form-vendor"' not in page  # not offered
    token = csrf_of(both.client, "/procurement/desk/vendors")
    refused = both.client.post("/procurement/desk/vendors", data={"name": "บริษัท ข", "tax_id": tax_id("010555999999"),
                                                                  "csrf_token": token})
    assert refused.status_code == 403
    assert "บทบาทของท่านไม่มีสิทธิ์ทำรายการนี้" in refused.get_data(as_text=True)
    assert counts() == before


def test_project_forms_refuse_as_the_api_does(client, procurement_people, project):
    both = Both(client, procurement_people, "u-supplies")
    pid = project["id"]
    page = f"/procurement/desk/projects/{pid}"
    future = bangkok_today() + timedelta(days=2)
    # opening: a title missing, a budget not money, a fiscal year out of range
    same_refusal(both, ("POST", "/procurement/projects", {"budget": "-5", "fiscal_year": 99}),
                 "/procurement/desk/projects/new", "/procurement/desk/projects",
                 {"title": "", "budget": "-5", "fiscal_year": "99"}, 422)
    # a quote: not an amount (schema); then a day in the future (the use case)
    same_refusal(both, ("POST", f"/procurement/projects/{pid}/quotes",
                        {"vendor_id": project["vendors"][1], "amount": "แปดหมื่น", "received_on": "2026-02-30"}),
                 page, f"{page}/quotes", {"vendor_id": str(project["vendors"][1]), "amount": "แปดหมื่น",
                                          "received_on": "30/02/2569"}, 422, {"amount", "received_on"})
    same_refusal(both, ("POST", f"/procurement/projects/{pid}/quotes",
                        {"vendor_id": project["vendors"][1], "amount": "80000", "received_on": future.isoformat()}),
                 page, f"{page}/quotes", {"vendor_id": str(project["vendors"][1]), "amount": "80000",
                                          "received_on": be_input(future)}, 422, {"received_on"})
    # the same vendor twice (the use case)
    same_refusal(both, ("POST", f"/procurement/projects/{pid}/quotes",
                        {"vendor_id": project["vendors"][0], "amount": "80000",
                         "received_on": bangkok_today().isoformat()}),
                 page, f"{page}/quotes", {"vendor_id": str(project["vendors"][0]), "amount": "80000",
                                          "received_on": be_input(bangkok_today())}, 422, {"vendor_id"})
    # a committee: no member's name, a wrong email
    same_refusal(both, ("PUT", f"/procurement/projects/{pid}/committees/inspection",
                        {"appointed_on": bangkok_today().isoformat(),
                         "members": [{"email": "nope", "position": "chair"}]}),
                 page, f"{page}/committees", {"kind": "inspection", "appointed_on": be_input(bangkok_today()),
                                              "members-0-name": "", "members-0-email": "nope",
                                              "members-0-position": "chair"}, 422,
                 {"members.0.name", "members.0.email"})
    # a stage the project cannot move to now (approval needs no more than a quote: procurement needs approvals)
    same_refusal(both, ("POST", f"/procurement/projects/{pid}/stage", {"stage": "procurement"}),
                 page, f"{page}/stage", {"stage": "procurement"}, 409)
    # cancelling without a reason (only spaces in a form is no value, as the API reads a form)
    same_refusal(both, ("POST", f"/procurement/projects/{pid}/cancel", {}),
                 page, f"{page}/cancel", {"reason": "   "}, 422, {"reason"})
    # documents: neither a file nor a paper's name and ref (the use case); a name without its ref (the schema)
    same_refusal(both, ("POST", f"/procurement/projects/{pid}/documents", None, {"kind": "tor"}),
                 page, f"{page}/documents", {"kind": "tor"}, 422, {"documents"})
    same_refusal(both, ("POST", f"/procurement/projects/{pid}/documents", None, {"kind": "tor", "name": "TOR"}),
                 page, f"{page}/documents", {"kind": "tor", "name": "TOR"}, 422, {"ref"})


def test_an_approval_refused_alike_and_a_supplies_officer_may_not_approve(client, procurement_people, project):
    pid = project["id"]
    page = f"/procurement/desk/projects/{pid}"
    director = Both(client, procurement_people, "u-director")
    same_refusal(director, ("POST", f"/procurement/projects/{pid}/approvals",
                            {"kind": "principle-budget", "decision": "rejected", "note": ""}),
                 page, f"{page}/approvals", {"kind": "principle-budget", "decision": "rejected"}, 422, {"note"})
    # a vendor is selected at the procurement stage (the rule of stages, from the use case)
    same_refusal(director, ("POST", f"/procurement/projects/{pid}/approvals",
                            {"kind": "vendor-selection", "decision": "approved"}),
                 page, f"{page}/approvals", {"kind": "vendor-selection", "decision": "approved"}, 422, {"kind"})
    client.post("/assignment/logout", data={"csrf_token": csrf_of(client, page)})
    supplies = Both(client, procurement_people, "u-supplies")
    assert 'id="form-approval"' not in client.get(page).get_data(as_text=True)
    before = counts()
    assert supplies.api("POST", f"/procurement/projects/{pid}/approvals",
                        {"kind": "principle-budget", "decision": "approved"}).status_code == 403
    refused = supplies.desk(page, f"{page}/approvals", {"kind": "principle-budget", "decision": "approved"})
    assert refused.status_code == 403
    assert "การอนุมัติเป็นของผู้อำนวยการ รองผู้อำนวยการ หรือหัวหน้า" in refused.get_data(as_text=True)
    assert counts() == before


def test_signing_and_an_incident_refused_alike(client, procurement_people):
    data = build(procurement_people)  # a project with a running contract, and its inspection committee
    both = Both(client, procurement_people, "u-supplies")
    today = bangkok_today()
    with bus.session() as session:
        project = Project(org="sesao-sc", title="จ้างบำรุงรักษาระบบ", kind="hire", stage="procurement",
                          created_by="u-supplies", reference_price=Decimal("300000"))
        session.add(project)
        session.flush()
        session.add(Approval(project_id=project.id, kind="principle-budget", decision="approved",
                             decided_by="u-director", role="director"))
        committee = Committee(project_id=project.id, kind="inspection")
        committee.members = [CommitteeMember(username="u-inspect1", name="นางสาวตรวจ หนึ่ง", position="chair")]
        session.add(committee)
        vendor_id = session.scalar(select(Vendor.id).where(Vendor.org == "sesao-sc").order_by(Vendor.id))
        session.commit()
        pid = project.id
    page = f"/procurement/desk/projects/{pid}/contract"
    body = {"project_id": pid, "number": "77/2570", "vendor_id": vendor_id, "amount": "300000.00",
            "signed_on": today.isoformat(), "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=90)).isoformat(), "warranty_months": 12,
            "milestones": [{"title": "งวดที่หนึ่ง", "due_on": (today + timedelta(days=30)).isoformat(), "amount": "100000"},
                           {"title": "งวดที่สอง", "due_on": (today + timedelta(days=200)).isoformat(),
                            "amount": "150000"}]}
    form = {"number": "77/2570", "vendor_id": str(vendor_id), "amount": "300000.00", "signed_on": be_input(today),
            "starts_on": be_input(today), "ends_on": be_input(today + timedelta(days=90)), "warranty_months": "12",
            "split": "amount", "milestones-0-title": "งวดที่หนึ่ง",
            "milestones-0-due_on": be_input(today + timedelta(days=30)), "milestones-0-value": "100000",
            "milestones-1-title": "งวดที่สอง", "milestones-1-due_on": be_input(today + timedelta(days=200)),
            "milestones-1-value": "150000"}
    # a due day outside the contract's term (the rule of milestones, from the use case)
    shown = same_refusal(both, ("POST", "/procurement/contracts", body), page, page, form, 422,
                         {"milestones.1.due_on"})
    assert shown["milestones.1.due_on"] == [f"วันครบกำหนดต้องอยู่ในระยะเวลาของสัญญา ({today.day} "
                                            f"{_month(today)} {today.year + 543} ถึง "
                                            f"{(today + timedelta(days=90)).day} {_month(today + timedelta(days=90))} "
                                            f"{(today + timedelta(days=90)).year + 543})"]
    # amounts that do not add up to the contract's
    body["milestones"][1]["due_on"] = (today + timedelta(days=60)).isoformat()
    form["milestones-1-due_on"] = be_input(today + timedelta(days=60))
    shown = same_refusal(both, ("POST", "/procurement/contracts", body), page, page, form, 422, {"milestones"})
    assert shown["milestones"] == ["ยอดเงินของงวดงานรวมกันได้ 250000.00 บาท ต้องเท่ากับวงเงินตามสัญญา 300000.00 บาทพอดี"]
    # an incident without a description
    contract_page = f"/procurement/desk/contracts/{data['contract_id']}"
    same_refusal(both, ("POST", f"/procurement/contracts/{data['contract_id']}/incidents", {"severity": "high"}),
                 contract_page, f"{contract_page}/incidents", {"severity": "high", "description": ""}, 422,
                 {"description"})


def _month(day) -> str:
    from shared.i18n import THAI_MONTHS

    return THAI_MONTHS[day.month - 1]


def test_the_forms_that_are_allowed_store_what_the_api_would(client, procurement_people, project):
    both = Both(client, procurement_people, "u-supplies")
    pid = project["id"]
    page = f"/procurement/desk/projects/{pid}"
    # a vendor, in Thai, then its contact
    created = both.desk("/procurement/desk/vendors", "/procurement/desk/vendors",
                        {"name": "บริษัท ใหม่ จำกัด", "tax_id": tax_id("010555777777"), "language": "th"})
    assert created.status_code == 302
    with bus.session() as session:
        vendor = session.scalars(select(Vendor).where(Vendor.tax_id == tax_id("010555777777"))).one()
        assert (vendor.org, vendor.name, vendor.active) == ("sesao-sc", "บริษัท ใหม่ จำกัด", True)
    # two more quotes: the reference price is their median, to the satang
    for vendor_id, amount in ((project["vendors"][1], "92000"), (project["vendors"][2], "88500.50")):
        done = both.desk(page, f"{page}/quotes", {"vendor_id": str(vendor_id), "amount": amount,
                                                  "received_on": be_input(bangkok_today() - timedelta(days=1))})
        assert done.status_code == 302, done.get_data(as_text=True)[-500:]
    with bus.session() as session:
        amounts = sorted(session.scalars(select(Quote.amount).where(Quote.project_id == pid)))
        assert session.get(Project, pid).reference_price == amounts[1] == Decimal("88500.50")
    shown = client.get(page).get_data(as_text=True)
    assert re.search(r'id="median">88,500\.50<', shown)
    # the TOR, uploaded
    done = client.post(f"{page}/documents", data={"kind": "tor", "csrf_token": csrf_of(client, page),
                                                  "files": (io.BytesIO(PDF), "TOR.pdf")},
                       content_type="multipart/form-data")
    assert done.status_code == 302
    # a committee of two, one of them with an account
    done = both.desk(page, f"{page}/committees", {
        "kind": "inspection", "order_ref": "คำสั่งที่ 9/2570", "appointed_on": be_input(bangkok_today()),
        "members-0-name": "นางสาวตรวจ หนึ่ง", "members-0-username": "u-inspect1", "members-0-position": "chair",
        "members-1-name": "นายรับ สอง", "members-1-email": "rab@office.example", "members-1-position": "member",
        "members-2-position": "member"})
    assert done.status_code == 302, done.get_data(as_text=True)[-800:]
    with bus.session() as session:
        committee = session.scalars(select(Committee).where(Committee.project_id == pid)).one()
        assert committee.appointed_on == bangkok_today()
        assert [(m.name, m.username, m.position) for m in committee.members] == [
            ("นางสาวตรวจ หนึ่ง", "u-inspect1", "chair"), ("นายรับ สอง", None, "member")]


def test_a_row_s_message_shows_on_the_row_it_came_from(client, procurement_people, project):
    """Rows 1 and 3 filled, row 2 left blank: the API hears of two members, and the second one's
    wrong email is said under the third row of the form."""
    both = Both(client, procurement_people, "u-supplies")
    page = f"/procurement/desk/projects/{project['id']}"
    before = counts()
    refused = both.desk(page, f"{page}/committees", {
        "kind": "inspection", "appointed_on": be_input(bangkok_today()),
        "members-0-name": "นางสาวตรวจ หนึ่ง", "members-0-position": "chair", "members-1-position": "member",
        "members-2-name": "นายรับ สอง", "members-2-email": "ไม่ใช่อีเมล", "members-2-position": "member"})
    assert refused.status_code == 422
    assert page_messages(refused.get_data(as_text=True)) == {"members.2.email": ["ที่อยู่อีเมลไม่ถูกต้อง"]}
    assert counts() == before


@pytest.mark.parametrize("lang", ["th", "en"])
def test_every_new_page_speaks_its_language(client, procurement_people, project, lang):
    """The forms' pages in Thai and in English: each answers, and no word is left as its key."""
    from services.procurement.handlers import assets
    from services.procurement.handlers.commands import RegisterAsset

    assets.create_asset(procurement_people.staff["u-supplies"], RegisterAsset(tag="PC-001", kind="คอมพิวเตอร์"))
    login(client, "u-supplies")
    pid = project["id"]
    for path in ("/procurement/desk/vendors", f"/procurement/desk/vendors/{project['vendors'][0]}",
                 "/procurement/desk/projects/new", f"/procurement/desk/projects/{pid}",
                 f"/procurement/desk/projects/{pid}/contract", "/procurement/desk/assets/PC-001",
                 "/procurement/desk/assets/import"):
        page = client.get(f"{path}?lang={lang}")
        text = page.get_data(as_text=True)
        assert page.status_code == 200, (path, text[-300:])
        assert f'<html lang="{lang}">' in text
        assert not re.findall(r">[^<]*\b(?:proc|form)\.[a-z_]+\.[a-z_.]+", text), path


def test_an_incident_reported_on_the_contract_page(client, procurement_people):
    data = build(procurement_people)
    both = Both(client, procurement_people, "u-officer")
    page = f"/procurement/desk/contracts/{data['contract_id']}"
    assert 'id="form-incident"' in client.get(page).get_data(as_text=True)
    done = both.desk(page, f"{page}/incidents", {"severity": "critical", "description": "ระบบล่มทั้งหมด"})
    assert done.status_code == 302
    with bus.session() as session:
        incident = session.scalars(select(Incident)).one()
        assert (incident.contract_id, incident.severity, incident.description, incident.reported_by) == (
            data["contract_id"], "critical", "ระบบล่มทั้งหมด", "u-officer")
    # finance may read the contract but not report on it: no form, and a post is refused as by the API
    client.post("/assignment/logout", data={"csrf_token": csrf_of(client, page)})
    finance = Both(client, procurement_people, "u-finance")
    assert 'id="form-incident"' not in client.get(page).get_data(as_text=True)
    refused = finance.desk(page, f"{page}/incidents", {"severity": "high", "description": "ทดสอบ"})
    assert refused.status_code == 403
    assert "บทบาทของท่านไม่มีสิทธิ์ทำรายการนี้" in refused.get_data(as_text=True)
    with bus.session() as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 1


def test_more_forms_refuse_as_the_api_does(client, procurement_people, project):
    """A project's details, a purchase's delivery, a vendor's change and a loan: the same refusals."""
    from services.procurement.handlers import assets
    from services.procurement.handlers.commands import RegisterAsset

    assets.create_asset(procurement_people.staff["u-supplies"], RegisterAsset(tag="NB-9", kind="โน้ตบุ๊ก"))
    both = Both(client, procurement_people, "u-supplies")
    pid, today = project["id"], bangkok_today()
    page = f"/procurement/desk/projects/{pid}"
    same_refusal(both, ("PATCH", f"/procurement/projects/{pid}", {"fiscal_year": 1999, "title": "x" * 301}),
                 page, f"{page}/edit", {"fiscal_year": "1999", "title": "x" * 301}, 422, {"fiscal_year", "title"})
    tomorrow = today + timedelta(days=1)
    same_refusal(both, ("POST", f"/procurement/projects/{pid}/delivery",
                        {"delivered_on": tomorrow.isoformat(), "ref": "ใบส่งของ 1"}),
                 page, f"{page}/delivery", {"delivered_on": be_input(tomorrow), "ref": "ใบส่งของ 1"}, 422,
                 {"delivered_on"})
    vendor = f"/procurement/desk/vendors/{project['vendors'][0]}"
    same_refusal(both, ("PATCH", f"/procurement/vendors/{project['vendors'][0]}",
                        {"tax_id": "1234", "active": True}),
                 vendor, vendor, {"tax_id": "1234", "active": "on"}, 422, {"tax_id"})
    asset = "/procurement/desk/assets/NB-9"
    same_refusal(both, ("POST", "/procurement/assets/NB-9/loans",
                        {"borrower": "นายยืม", "lent_on": today.isoformat(),
                         "due_back_on": (today - timedelta(days=1)).isoformat()}),
                 asset, f"{asset}/loans", {"borrower": "นายยืม", "lent_on": be_input(today),
                                           "due_back_on": be_input(today - timedelta(days=1))}, 422, {"due_back_on"})
