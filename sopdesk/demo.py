"""The demo data of the embedded default: what a newcomer sees on the first ``sopdesk up``, so that
every page has something in it. Of the demo organisation (``embedded.DEMO_ORG``) and its demo
accounts: three vendors (one with a contact), assets under and out of warranty (one leased, one
with no vendor), a procurement project with three quotes, approved, with its inspection committee,
and a running contract with three milestones (the first delivered and accepted, the second
overdue, the third due within days), and repair cases in different states (new, in progress,
waiting on the vendor, waiting for the requester, closed with a satisfaction score). Dates are
counted from today, so that "under warranty" and "overdue" stay true whenever it is loaded.

Everything is made through the services' own use cases (procurement's handlers, intake's filing,
assignment's actions, intake's survey) and the events they emit, which the worker (or, in the
tests, ``settle``) carries to the other services: read models, outboxes and emails stay as they
would be for the same work done by hand. Loading waits for what it needs from other services (a
case opened by assignment, a person known to procurement), within ``timeout`` seconds.

Marked as demo, so that ``remove`` takes exactly these things and nothing else:
* visibly: names and titles carry "(ทดลอง)", asset tags and the contract's number begin with
  ``DEMO-``, the vendors have fixed tax ids of their own, the requesters' addresses are
  ``@demo.sopdesk.localhost``;
* and on record: a manifest (``demo-data.json`` in the data folder) lists what was loaded and
  when it was removed. ``sopdesk up`` loads the demo on a data folder's first start only (no
  manifest yet), so a demo someone removed stays removed; ``sopdesk demo load`` loads it again.

Loading is idempotent: each thing is looked up by its mark before it is made, and a case is moved
on only from the step where it stands, so a second load (or one resuming a load that was
stopped) makes nothing twice. Removing: nothing has a delete use case here (cases are erased by
the PDPA's rules, which keep them), so ``remove`` deletes the demo's rows service by service, each
service's in one transaction of its own, children first; the database's triggers take them off
the tallies; files someone uploaded to a demo case or project go too. It first waits (a bounded
time) until nothing is owed between the services, since an event about a demo case handled after
its removal would bring part of it back. What stays, as history rather than data: the audit
(PDPA access) and traffic logs, the outboxes' and inboxes' records of the events, the notify rows
of emails about the contract (they carry no tracking code), and the mail catcher's copies.

Only the embedded default: ``sopdesk up`` refuses production settings, and so does
``sopdesk demo``; ``SOPDESK_DEMO_DATA=off`` keeps ``sopdesk up`` from loading it."""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Callable

from sqlalchemy import delete, or_, select

from sopdesk.embedded import DEMO_ORG, DEMO_UNIT

MARK = "(ทดลอง)"
TAG_PREFIX = "DEMO-"
CONTRACT_NUMBER = "DEMO-1/2569"
REQUESTER_DOMAIN = "demo.sopdesk.localhost"
MANIFEST = "demo-data.json"
SOP = f"{DEMO_ORG}/repair"
ACTOR = "sopdesk demo"


class DemoError(RuntimeError):
    """The demo cannot be loaded or removed now (the demo accounts are missing, the worker does
    not carry the events within the time allowed); the message says why."""


def _tax_id(first12: str) -> str:
    from services.procurement.handlers.vendors import tax_id_check_digit

    return first12 + str(tax_id_check_digit(first12))


# --- the data ----------------------------------------------------------------------------------


def vendors() -> list[dict]:
    return [
        {"key": "main", "name": f"บริษัท ไอทีซัพพอร์ต จำกัด {MARK}", "tax_id": _tax_id("099990000001"),
         "address": "99 ถนนตลาดใหม่ ตำบลตลาด อำเภอเมือง จังหวัดสุราษฎร์ธานี 84000",
         "contacts": ({"name": f"คุณสมชาย บริการดี {MARK}", "email": f"support@{REQUESTER_DOMAIN}",
                       "phone": "077-000-001", "role": "ฝ่ายบริการหลังการขาย", "emergency": True},)},
        {"key": "second", "name": f"ห้างหุ้นส่วนจำกัด คอมพ์เซ็นเตอร์ {MARK}", "tax_id": _tax_id("099990000002"),
         "address": "12 ถนนกาญจนวิถี อำเภอเมือง จังหวัดสุราษฎร์ธานี 84000", "contacts": ()},
        {"key": "third", "name": f"บริษัท ดิจิทัลโซลูชัน จำกัด {MARK}", "tax_id": _tax_id("099990000003"),
         "address": "7 ถนนปรมินทรมรรคา อำเภอเมือง จังหวัดชุมพร 86000", "contacts": ()},
    ]


def assets(today: date) -> list[dict]:
    """Two under warranty (one leased), two whose warranty has ended (one without a vendor)."""
    return [
        {"tag": f"{TAG_PREFIX}7440-001-0001/69", "kind": "คอมพิวเตอร์ตั้งโต๊ะ", "model": "Demo PC 500",
         "serial": "DEMO-SN-0001", "location": "ห้องธุรการ อาคาร 1", "holder": f"ครูสมศรี ใจดี {MARK}",
         "vendor": "main", "acquired_on": today - timedelta(days=200), "price": Decimal("24500.00"),
         "warranty_ends_on": today + timedelta(days=3 * 365 - 200), "ownership": "owned"},
        {"tag": f"{TAG_PREFIX}7440-006-0002/65", "kind": "เครื่องพิมพ์เลเซอร์", "model": "Demo LaserJet 20",
         "serial": "DEMO-SN-0002", "location": "ห้องการเงิน อาคาร 2", "holder": f"คุณมานี มีทรัพย์ {MARK}",
         "vendor": "second", "acquired_on": today - timedelta(days=4 * 365), "price": Decimal("8900.00"),
         "warranty_ends_on": today - timedelta(days=3 * 365), "ownership": "owned"},
        {"tag": f"{TAG_PREFIX}7440-001-0003/68", "kind": "คอมพิวเตอร์โน้ตบุ๊ก", "model": "Demo Book 14",
         "serial": "DEMO-SN-0003", "location": "ห้องนิเทศ อาคาร 1", "holder": f"ศึกษานิเทศก์ปิติ {MARK}",
         "vendor": "main", "acquired_on": today - timedelta(days=300), "price": Decimal("0.00"),
         "warranty_ends_on": today + timedelta(days=400), "ownership": "leased"},
        {"tag": f"{TAG_PREFIX}7440-005-0004/62", "kind": "เครื่องฉายภาพ (โปรเจกเตอร์)", "model": "Demo Beam 3",
         "serial": "DEMO-SN-0004", "location": "ห้องประชุมใหญ่", "holder": None, "vendor": None,
         "acquired_on": today - timedelta(days=7 * 365), "price": Decimal("15900.00"),
         "warranty_ends_on": today - timedelta(days=6 * 365), "ownership": "owned"},
    ]


PROJECT_TITLE = f"จ้างพัฒนาระบบสารบรรณอิเล็กทรอนิกส์ {MARK}"
QUOTES = {"main": Decimal("420000.00"), "second": Decimal("445000.00"), "third": Decimal("438000.00")}


def milestones(today: date) -> tuple[dict, ...]:
    """The first delivered and accepted, the second overdue (not delivered), the third due soon."""
    return (
        {"title": "งวดที่ 1 วิเคราะห์และออกแบบระบบ", "deliverables": "เอกสารวิเคราะห์และออกแบบระบบ",
         "due_on": today - timedelta(days=30), "amount": Decimal("126000.00")},
        {"title": "งวดที่ 2 พัฒนาและติดตั้งระบบ", "deliverables": "ระบบที่ติดตั้งบนเครื่องแม่ข่าย",
         "due_on": today - timedelta(days=5), "amount": Decimal("168000.00")},
        {"title": "งวดที่ 3 อบรมและส่งมอบงาน", "deliverables": "คู่มือ ใบลงชื่อผู้เข้าอบรม",
         "due_on": today + timedelta(days=7), "amount": Decimal("126000.00")},
    )


@dataclass(frozen=True)
class Move:
    """An action on a case's step: ``outcome`` with a note or the documents it needs."""

    step: str
    outcome: str
    note: str | None = None
    documents: tuple[dict, ...] = ()


RECEIVED = Move("receive-form", "done", documents=({"key": "repair-form", "name": f"แบบฟอร์มแจ้งซ่อม {MARK}",
                                                   "ref": "DEMO-แจ้งซ่อม"},))


@dataclass(frozen=True)
class DemoCase:
    key: str  # the requester's address is <key>@demo.sopdesk.localhost: the case's mark
    requester: str
    unit: str
    subject: str
    details: str
    asset: int  # which of assets()
    moves: tuple[Move, ...] = ()
    survey: int | None = None

    @property
    def email(self) -> str:
        return f"{self.key}@{REQUESTER_DOMAIN}"


CASES = (
    DemoCase("demo-new", f"ครูสมศรี ใจดี {MARK}", "โรงเรียนบ้านดอน", f"{MARK} คอมพิวเตอร์ห้องธุรการเปิดไม่ติด",
             "กดปุ่มเปิดแล้วไฟไม่ขึ้น ไม่มีเสียงพัดลม", 0),
    DemoCase("demo-progress", f"คุณมานี มีทรัพย์ {MARK}", "กลุ่มบริหารงานการเงินและสินทรัพย์",
             f"{MARK} เครื่องพิมพ์ดึงกระดาษไม่เข้า", "พิมพ์แล้วกระดาษติดทุกแผ่น", 1,
             moves=(RECEIVED, Move("check-report", "done"))),
    DemoCase("demo-vendor", f"ศึกษานิเทศก์ปิติ {MARK}", "กลุ่มนิเทศ ติดตามและประเมินผล",
             f"{MARK} โน้ตบุ๊กจอดับเป็นระยะ", "ใช้งานไปสักพักจอดับ ต้องปิดฝาแล้วเปิดใหม่", 2,
             moves=(RECEIVED, Move("check-report", "done"),
                    Move("diagnose", "warranty", note="เครื่องเช่า ส่งเคลมร้านตามสัญญาเช่า"))),
    DemoCase("demo-waiting", f"ครูวีระ กล้าหาญ {MARK}", "โรงเรียนบ้านดอน", f"{MARK} คอมพิวเตอร์ช้ามาก",
             "ไม่ทราบหมายเลขเครื่อง", 0,
             moves=(RECEIVED, Move("check-report", "incomplete",
                                   note="ขอหมายเลขครุภัณฑ์และรูปถ่ายหน้าจอเพิ่มเติม"))),
    DemoCase("demo-closed", f"คุณชูใจ รักงาน {MARK}", "กลุ่มอำนวยการ", f"{MARK} โปรเจกเตอร์ภาพไม่ขึ้น",
             "เปิดเครื่องแล้วขึ้นว่า No signal", 3,
             moves=(RECEIVED, Move("check-report", "done"), Move("diagnose", "repair"),
                    Move("repair", "done", note="เปลี่ยนสาย HDMI"), Move("verify", "pass"), Move("handover", "done")),
             survey=5),
)


# --- the record ---------------------------------------------------------------------------------


def manifest_path(data_dir: Path | None = None) -> Path:
    if data_dir is None:
        from shared.config import get_settings

        data_dir = get_settings().data_dir
    return Path(data_dir) / MANIFEST


def read_manifest(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_manifest(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    os.replace(tmp, path)


# --- waiting for the other services ---------------------------------------------------------------


def _until(predicate, what: str, settle: Callable[[], object] | None, timeout: float):
    """``predicate()`` once it is truthy: ``settle()`` (the tests work the queues) before each
    look, else the worker's time, up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if settle is not None:
            settle()
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise DemoError(f"waited {timeout:g} s for {what}; is the worker running (sopdesk up)?")
        time.sleep(0.2)


# --- who does it ----------------------------------------------------------------------------------


def _staff(username: str):
    from services.assignment.adapters.bus import bus
    from services.assignment.handlers.directory import staff_of, user_by_name

    with bus.session() as session:
        user = user_by_name(session, username)
        if user is None or not user.active:
            raise DemoError(f"the demo account {username!r} is not there: sopdesk up makes the demo accounts "
                            "on its first start (demo-accounts.json in the data folder)")
        staff = staff_of(user, session)
    if staff.org != DEMO_ORG and "sysadmin" not in staff.roles:
        raise DemoError(f"the demo account {username!r} is not of {DEMO_ORG} (unit {DEMO_UNIT})")
    return staff


# --- loading ------------------------------------------------------------------------------------


@dataclass
class Loaded:
    vendors: dict[str, int] = field(default_factory=dict)
    assets: list[str] = field(default_factory=list)
    project_id: int | None = None
    contract_id: int | None = None
    cases: dict[str, str] = field(default_factory=dict)  # key -> tracking code
    made: list[str] = field(default_factory=list)  # what this load made (empty: it was all there)

    def as_manifest(self, loaded_at: datetime) -> dict:
        return {"org": DEMO_ORG, "loaded_at": loaded_at.isoformat(), "removed_at": None,
                "vendors": self.vendors, "assets": self.assets, "project_id": self.project_id,
                "contract_id": self.contract_id, "cases": self.cases}


def load(data_dir: Path | None = None, settle: Callable[[], object] | None = None,
         timeout: float = 120.0) -> Loaded:
    """Load the demo (what is there already is left as it is) and write the manifest. ``settle``:
    called before each look at what other services did with the events (the tests work the
    queues with it); without it the worker does, within ``timeout`` seconds per wait."""
    from services.procurement.handlers.common import bangkok_today
    from shared import db

    now = db.utcnow()
    today = bangkok_today(now)
    supplies, director, committee, officer, head = (_staff(name) for name in
                                                    ("supplies", "director", "committee", "officer", "head"))
    loaded = Loaded()
    _until(lambda: _people_known(("officer", "committee")), "procurement to know the demo accounts", settle,
           timeout)
    _load_vendors(supplies, loaded)
    _load_assets(supplies, today, loaded)
    _load_project(supplies, director, committee, today, loaded)
    for demo in CASES:
        _load_case(demo, officer, head, today, loaded, settle, timeout)
    _write_manifest(manifest_path(data_dir), loaded.as_manifest(now))
    return loaded


def _people_known(usernames) -> bool:
    from services.procurement.adapters import people

    known = people.orgs_of(list(usernames))
    return all(known.get(name) == DEMO_ORG for name in usernames)


def _load_vendors(supplies, loaded: Loaded) -> None:
    from services.procurement.adapters.bus import bus
    from services.procurement.adapters.models import Vendor
    from services.procurement.handlers import vendors as use_cases
    from services.procurement.handlers.commands import RegisterVendor

    for data in vendors():
        with bus.session() as session:
            found = session.scalar(select(Vendor.id).where(Vendor.org == DEMO_ORG, Vendor.tax_id == data["tax_id"]))
        if found is None:
            found = use_cases.create_vendor(supplies, RegisterVendor(
                name=data["name"], tax_id=data["tax_id"], address=data["address"], contacts=data["contacts"]))["id"]
            loaded.made.append(f"vendor {data['name']}")
        loaded.vendors[data["key"]] = found


def _load_assets(supplies, today: date, loaded: Loaded) -> None:
    from services.procurement.adapters.bus import bus
    from services.procurement.handlers import assets as use_cases
    from services.procurement.handlers.assets import find_asset
    from services.procurement.handlers.commands import RegisterAsset

    for data in assets(today):
        with bus.session() as session:
            there = find_asset(session, DEMO_ORG, data["tag"]) is not None
        if not there:
            use_cases.create_asset(supplies, RegisterAsset(
                tag=data["tag"], kind=data["kind"], model=data["model"], serial=data["serial"],
                location=data["location"], holder=data["holder"],
                vendor_id=loaded.vendors[data["vendor"]] if data["vendor"] else None,
                acquired_on=data["acquired_on"], price=data["price"], warranty_ends_on=data["warranty_ends_on"],
                ownership=data["ownership"], status="in_use",
                note="ข้อมูลทดลอง (demo): ลบด้วย sopdesk demo remove"))
            loaded.made.append(f"asset {data['tag']}")
        loaded.assets.append(data["tag"])


def _load_project(supplies, director, committee, today: date, loaded: Loaded) -> None:
    """The project through its stages to its contract, each move only when it is not made yet."""
    from services.procurement.adapters.bus import bus
    from services.procurement.adapters.models import Contract, Project
    from services.procurement.handlers import contracts, projects
    from services.procurement.handlers.commands import AddQuote, AppointCommittee, OpenProject, SignContract

    with bus.session() as session:
        project_id = session.scalar(select(Project.id).where(Project.org == DEMO_ORG, Project.title == PROJECT_TITLE,
                                                             Project.stage != "cancelled").order_by(Project.id))
    if project_id is None:
        project_id = projects.create_project(supplies, OpenProject(
            title=PROJECT_TITLE, purpose="ระบบรับ-ส่งหนังสือราชการของสำนักงาน (ข้อมูลทดลอง)", kind="hire",
            budget=Decimal("450000.00"), officer="officer"))["id"]
        loaded.made.append("project")
    loaded.project_id = project_id
    project = projects.read_project(supplies, project_id, purpose="demo data")
    quoted = {q["vendor"]["id"] for q in project["quotes"]} if project["quotes"] else set()
    if project["stage"] in ("draft", "quotes"):
        for key, amount in QUOTES.items():
            if loaded.vendors[key] not in quoted:
                projects.add_quote(supplies, project_id, AddQuote(
                    vendor_id=loaded.vendors[key], amount=amount, received_on=today - timedelta(days=80),
                    valid_until=today + timedelta(days=10), note=f"ใบเสนอราคา {MARK}"))
                loaded.made.append(f"quote of {key}")
        projects.change_stage(supplies, project_id, "approval", note=MARK)
        project = projects.read_project(supplies, project_id, purpose="demo data")
    if project["stage"] == "approval":
        if project["approval_status"].get("principle-budget") != "approved":
            projects.decide_approval(director, project_id, "principle-budget", "approved", note=MARK)
        if not any(c["kind"] == "inspection" and c["members"] for c in project["committees"]):
            projects.appoint_committee(supplies, project_id, "inspection", AppointCommittee(
                appointed_on=today - timedelta(days=70), order_ref="คำสั่งที่ DEMO-7/2569",
                members=({"username": "committee", "name": f"Demo committee {MARK}",
                          "email": "committee@sopdesk.localhost", "position": "chair"},)))
        projects.change_stage(supplies, project_id, "procurement", note=MARK)
        loaded.made.append("approval, committee")
    with bus.session() as session:
        contract_id = session.scalar(select(Contract.id).where(Contract.org == DEMO_ORG,
                                                               Contract.number == CONTRACT_NUMBER))
    if contract_id is None:
        contract_id = contracts.create_contract(supplies, SignContract(
            project_id=project_id, number=CONTRACT_NUMBER, vendor_id=loaded.vendors["main"],
            amount=sum((m["amount"] for m in milestones(today)), Decimal("0")),
            signed_on=today - timedelta(days=60), starts_on=today - timedelta(days=60),
            ends_on=today + timedelta(days=60), warranty_months=12, milestones=milestones(today),
            documents=({"ref": "DEMO-สัญญาจ้าง 1/2569", "name": f"สัญญาจ้าง {MARK}"},)))["id"]
        loaded.made.append("contract")
    loaded.contract_id = contract_id
    first = contracts.get_contract(supplies, contract_id)["milestones"][0]
    if first["state"] == "pending":
        contracts.record_delivery(supplies, contract_id, first["id"], today - timedelta(days=32),
                                  note=f"ส่งมอบเอกสารออกแบบ {MARK}", ref="DEMO-ใบส่งมอบงาน งวด 1",
                                  ref_name="ใบส่งมอบงาน")
        loaded.made.append("delivery of milestone 1")
    first = contracts.get_contract(supplies, contract_id)["milestones"][0]
    if first["state"] == "delivered":
        if not any(d.get("kind") == "evidence" for d in first["documents"]):
            contracts.add_evidence(supplies, contract_id, first["id"], ref="DEMO-บันทึกตรวจรับ งวด 1",
                                   ref_name="บันทึกการตรวจรับ")
        contracts.decide_acceptance(committee, contract_id, first["id"], "accepted", note=MARK,
                                    signed_on=today - timedelta(days=28))
        loaded.made.append("acceptance of milestone 1")


def _case_state(code: str) -> dict | None:
    """Where assignment's case stands: its status, current step, and the asset check it holds."""
    from services.assignment.adapters.bus import bus
    from services.assignment.adapters.models import Case

    with bus.session() as session:
        row = session.execute(select(Case.status, Case.current_step, Case.asset)
                              .where(Case.tracking_code == code)).first()
    return None if row is None else {"status": row[0], "current_step": row[1], "asset": row[2]}


def _request_status(code: str) -> str | None:
    from services.intake.adapters.bus import bus
    from services.intake.adapters.models import Request

    with bus.session() as session:
        return session.scalar(select(Request.status).where(Request.tracking_code == code))


def _filed_code(demo: DemoCase) -> str | None:
    """The demo case already filed (its requester's address is its mark), if any."""
    from services.intake.adapters.bus import bus
    from services.intake.adapters.models import Request

    with bus.session() as session:
        return session.scalar(select(Request.tracking_code).where(Request.requester_email == demo.email,
                                                                  Request.sop == SOP)
                              .order_by(Request.received_at))


def _load_case(demo: DemoCase, officer, head, today: date, loaded: Loaded, settle, timeout: float) -> None:
    from services.assignment.handlers import cases
    from services.assignment.handlers.commands import AssignStep, CompleteStep
    from services.intake.handlers.commands import FileRequest
    from services.intake.handlers.requests import Refused, answer_survey, check_survey_open, submit_request

    code = _filed_code(demo)
    if code is None:
        asset = assets(today)[demo.asset]
        code = submit_request(FileRequest(
            sop=SOP, requester_name=demo.requester, requester_email=demo.email, requester_unit=demo.unit,
            subject=demo.subject, details=demo.details, language="th", channel="web",
            fields={"asset_tag": asset["tag"], "location": asset["location"]})).tracking_code
        loaded.made.append(f"case {demo.key}")
    loaded.cases[demo.key] = code
    # assignment opens the case and keeps procurement's asset check on it (both by events)
    _until(lambda: (_case_state(code) or {}).get("asset") is not None, f"case {code} to open with its asset check",
           settle, timeout)
    people = {"officer": officer, "head": head}

    def worker(step: str):
        """Who works ``step``: its holder when a demo account of the unit holds it; else the head
        gives it to the demo officer (so that the unit's list shows the case)."""
        holder = _holder(code, step)
        if holder not in people:
            cases.act(code, head, AssignStep(step=step, assignee="officer", note=MARK))
            loaded.made.append(f"case {demo.key}: {step} to the officer")
            holder = "officer"
        return people[holder]

    state = _case_state(code)
    if not demo.moves and state["current_step"] == "receive-form" and state["status"] == "open":
        worker("receive-form")  # a new case: given to the unit, not yet worked
    for move in demo.moves:
        if _case_state(code)["current_step"] != move.step:
            continue  # done already (a second load), or not reached
        cases.act(code, worker(move.step), CompleteStep(step=move.step, outcome=move.outcome, note=move.note,
                                                        documents=move.documents))
        loaded.made.append(f"case {demo.key}: {move.step} {move.outcome}")
    if demo.survey is not None:
        _until(lambda: _request_status(code) == "closed", f"intake to hear that case {code} closed", settle, timeout)
        try:
            check_survey_open(code)
        except Refused:
            return  # answered already
        answer_survey(code, demo.survey, f"บริการรวดเร็ว เจ้าหน้าที่สุภาพ {MARK}")
        loaded.made.append(f"case {demo.key}: survey")
        if settle is not None:
            settle()


def _holder(code: str, step: str) -> str | None:
    from services.assignment.adapters.bus import bus
    from services.assignment.adapters.models import Case, CaseStep

    with bus.session() as session:
        return session.scalar(select(CaseStep.assignee).join(Case, Case.id == CaseStep.case_id)
                              .where(Case.tracking_code == code, CaseStep.step == step,
                                     CaseStep.status == "active"))


# --- finding and removing ---------------------------------------------------------------------------


@dataclass
class Found:
    """The demo's things as the databases hold them now, by their marks and the manifest's record."""

    codes: list[str] = field(default_factory=list)
    vendor_ids: list[int] = field(default_factory=list)
    asset_ids: list[int] = field(default_factory=list)
    project_ids: list[int] = field(default_factory=list)
    contract_ids: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.codes or self.vendor_ids or self.asset_ids or self.project_ids or self.contract_ids)

    def counts(self) -> dict[str, int]:
        return {"cases": len(self.codes), "vendors": len(self.vendor_ids), "assets": len(self.asset_ids),
                "projects": len(self.project_ids), "contracts": len(self.contract_ids)}


def find(data_dir: Path | None = None) -> Found:
    """What of the demo is there: things that carry the demo's marks (a thing the manifest names
    is taken only when it still carries its mark, so nothing else is ever taken)."""
    from services.intake.adapters.bus import bus as intake_bus
    from services.intake.adapters.models import Request
    from services.procurement.adapters.bus import bus as procurement_bus
    from services.procurement.adapters.models import Asset, Contract, Project, Vendor

    record = read_manifest(manifest_path(data_dir)) or {}
    recorded_codes = list((record.get("cases") or {}).values())
    found = Found()
    with intake_bus.session() as session:
        demo_email = or_(*(Request.requester_email == demo.email for demo in CASES))
        marked = Request.subject.contains(MARK)  # a recorded case whose requester was erased keeps its subject
        query = select(Request.tracking_code).where(Request.sop == SOP, or_(
            demo_email, (Request.tracking_code.in_(recorded_codes) & marked) if recorded_codes else demo_email))
        found.codes = sorted(session.scalars(query))
    tax_ids = [v["tax_id"] for v in vendors()]
    with procurement_bus.session() as session:
        found.vendor_ids = list(session.scalars(select(Vendor.id).where(
            Vendor.org == DEMO_ORG, Vendor.tax_id.in_(tax_ids), Vendor.name.contains(MARK)).order_by(Vendor.id)))
        found.asset_ids = list(session.scalars(select(Asset.id).where(
            Asset.org == DEMO_ORG, Asset.tag.startswith(TAG_PREFIX)).order_by(Asset.id)))
        found.contract_ids = list(session.scalars(select(Contract.id).where(
            Contract.org == DEMO_ORG, Contract.number.startswith(TAG_PREFIX)).order_by(Contract.id)))
        contract_projects = list(session.scalars(select(Contract.project_id).where(
            Contract.id.in_(found.contract_ids)))) if found.contract_ids else []
        by_code = [Project.tracking_code.in_(found.codes)] if found.codes else []
        found.project_ids = sorted(set(session.scalars(select(Project.id).where(
            Project.org == DEMO_ORG, or_(Project.title == PROJECT_TITLE, Project.id.in_(contract_projects),
                                         *by_code)))))
    return found


def remove(data_dir: Path | None = None, settle: Callable[[], object] | None = None,
           timeout: float = 30.0, now: datetime | None = None) -> Found:
    """Remove the demo from every service (see the module's docstring); returns what was removed.
    Removing again finds nothing and removes nothing."""
    from shared import db

    if settle is not None:
        settle()
    else:
        _wait_until_delivered(timeout)
    found = find(data_dir)
    if found:
        # in this order so that a removal stopped half-way is finished by the next one: each step
        # finds its rows by what the steps after it have not removed yet (the cases by intake's)
        _remove_procurement_figures(found)
        _remove_procurement(found)
        _remove_cases(found)
    path = manifest_path(data_dir)
    record = read_manifest(path)
    if record is not None or found:
        record = record or {"org": DEMO_ORG, "loaded_at": None}
        record["removed_at"] = (now or db.utcnow()).isoformat()
        _write_manifest(path, record)
    return found


def _wait_until_delivered(timeout: float) -> None:
    """What the services still owe each other is delivered first (within ``timeout``): an event
    about a demo case handled after its removal would bring part of it back."""
    import importlib

    from shared.config import SERVICES

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        owed = 0
        for service in SERVICES:
            bus = importlib.import_module(f"services.{service}.adapters.bus").bus
            bus.absorb_confirmations()
            owed += sum(s.count for s in bus.owed(limit=0).by_subscriber.values())
        if not owed:
            return
        time.sleep(0.5)


def _remove_procurement(found: Found) -> None:
    from services.procurement.adapters.bus import bus
    from services.procurement.adapters.models import (Acceptance, Approval, Asset, AssetLoan, Claim, Committee,
                                                      CommitteeMember, Contract, Document, Incident,
                                                      MaintenanceRun, Milestone, MilestoneNotice, Project, Quote,
                                                      Vendor, VendorContact)

    with bus.session() as session:
        projects = found.project_ids
        contracts = list(session.scalars(select(Contract.id).where(or_(
            Contract.id.in_(found.contract_ids), Contract.project_id.in_(projects)))))
        milestones = list(session.scalars(select(Milestone.id).where(Milestone.contract_id.in_(contracts))))
        committees = list(session.scalars(select(Committee.id).where(Committee.project_id.in_(projects))))
        stored = list(session.scalars(select(Document.storage_key).where(Document.storage_key.is_not(None), or_(
            Document.project_id.in_(projects), Document.contract_id.in_(contracts),
            Document.milestone_id.in_(milestones)))))
        for statement in (
            delete(Acceptance).where(Acceptance.milestone_id.in_(milestones)),
            delete(MilestoneNotice).where(MilestoneNotice.milestone_id.in_(milestones)),
            delete(Quote).where(Quote.project_id.in_(projects)),
            delete(Approval).where(Approval.project_id.in_(projects)),
            delete(Document).where(or_(Document.project_id.in_(projects), Document.contract_id.in_(contracts),
                                       Document.milestone_id.in_(milestones))),
            delete(Incident).where(Incident.contract_id.in_(contracts)),
            delete(Milestone).where(Milestone.id.in_(milestones)),
            delete(Contract).where(Contract.id.in_(contracts)),
            delete(CommitteeMember).where(CommitteeMember.committee_id.in_(committees)),
            delete(Committee).where(Committee.id.in_(committees)),
            delete(Project).where(Project.id.in_(projects)),
            delete(Claim).where(or_(Claim.asset_id.in_(found.asset_ids), Claim.vendor_id.in_(found.vendor_ids),
                                    Claim.tracking_code.in_(found.codes))),
            delete(AssetLoan).where(or_(AssetLoan.asset_id.in_(found.asset_ids),
                                        AssetLoan.tracking_code.in_(found.codes))),
            delete(MaintenanceRun).where(MaintenanceRun.asset_id.in_(found.asset_ids)),
            delete(Asset).where(Asset.id.in_(found.asset_ids)),
        ):
            session.execute(statement)
        still_used = set(session.scalars(select(Quote.vendor_id).where(Quote.vendor_id.in_(found.vendor_ids)))) | set(
            session.scalars(select(Contract.vendor_id).where(Contract.vendor_id.in_(found.vendor_ids)))) | set(
            session.scalars(select(Claim.vendor_id).where(Claim.vendor_id.in_(found.vendor_ids))))
        # a demo vendor that someone's own quote, contract or claim names stays; one that someone's
        # own asset names goes, and the asset stays without a vendor
        gone = [v for v in found.vendor_ids if v not in still_used]
        session.execute(Asset.__table__.update().where(Asset.vendor_id.in_(gone)).values(vendor_id=None))
        session.execute(delete(VendorContact).where(VendorContact.vendor_id.in_(gone)))
        session.execute(delete(Vendor).where(Vendor.id.in_(gone)))
        session.commit()
    _unlink("procurement", stored)


def _remove_cases(found: Found) -> None:
    """The demo's cases in notify, assignment and intake, intake last (the cases are found by its
    rows); each row's children go with it (the foreign keys cascade; the triggers take them off
    the tallies)."""
    if not found.codes:
        return
    from services.assignment.adapters.bus import bus as assignment_bus
    from services.assignment.adapters.models import Case, CaseDocument, EarlyAssetCheck, PlannedRun, SurveyScore
    from services.intake.adapters.bus import bus as intake_bus
    from services.intake.adapters.models import Attachment, Request
    from services.notify.adapters.bus import bus as notify_bus
    from services.notify.adapters import models as notify_models

    codes = found.codes
    with notify_bus.session() as session:
        for name in ("Delivery", "Contact", "EarlyEvent", "SeenCaseEvent"):
            model = getattr(notify_models, name)
            session.execute(delete(model).where(model.correlation_id.in_(codes)))
        session.commit()
    with assignment_bus.session() as session:
        stored = list(session.scalars(select(CaseDocument.storage_key).join(Case, Case.id == CaseDocument.case_id)
                                      .where(Case.tracking_code.in_(codes))))
        for model in (SurveyScore, EarlyAssetCheck, PlannedRun):
            session.execute(delete(model).where(model.tracking_code.in_(codes)))
        session.execute(delete(Case).where(Case.tracking_code.in_(codes)))
        session.commit()
    _unlink("assignment", stored)
    with intake_bus.session() as session:
        stored = list(session.scalars(select(Attachment.storage_key).join(Request, Request.id == Attachment.request_id)
                                      .where(Request.tracking_code.in_(codes))))
        session.execute(delete(Request).where(Request.tracking_code.in_(codes)))
        session.commit()
    _unlink("", stored)


def _unlink(folder: str, storage_keys: list[str]) -> None:
    """The files the removed rows named (uploaded to a demo case or project by someone trying it
    out), under the service's folder of ``files_dir``: after the commit, so a failed removal keeps them."""
    from shared import files
    from shared.config import get_settings

    root = Path(get_settings().files_dir) / folder
    for key in storage_keys:
        try:
            files.open_stored(root, key).unlink(missing_ok=True)
        except OSError:
            pass  # gone already; an orphan file would harm nobody


def _remove_procurement_figures(found: Found) -> None:
    """Assignment's copies of the demo's project, contract and milestones (the reports' figures)."""
    from services.assignment.adapters.bus import bus
    from services.assignment.adapters.models import ProcurementContract, ProcurementMilestone, ProcurementProject

    with bus.session() as session:
        contracts = list(session.scalars(select(ProcurementContract.id).where(
            or_(ProcurementContract.id.in_(found.contract_ids),
                ProcurementContract.project_id.in_(found.project_ids)))))
        session.execute(delete(ProcurementMilestone).where(ProcurementMilestone.contract_id.in_(contracts)))
        session.execute(delete(ProcurementContract).where(ProcurementContract.id.in_(contracts)))
        session.execute(delete(ProcurementProject).where(ProcurementProject.id.in_(found.project_ids)))
        session.commit()


def counts() -> dict[str, int]:
    """How many demo things each kind has now (``find``'s), for the command's answer and the tests."""
    return find().counts()

