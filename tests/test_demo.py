"""The embedded default's demo data (``sopdesk.demo``): loaded through the services' use cases and
events (the queues worked by ``drain``), it gives the demo organisation's pages something in each:
assets under and out of warranty (by today's date and each one's warranty end), vendors with a
contact, a project with three quotes, a running contract with a milestone accepted, one overdue and
one due soon, and repair cases new, in progress, waiting on the vendor, waiting for the requester and
closed with a satisfaction score, in the head's unit list. Loading again makes nothing twice;
``remove`` takes all of it and nothing else; removing again is harmless. Against the real
PostgreSQL and Redis the conftest chose."""
from __future__ import annotations

from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from services.assignment.handlers import cases as assignment_cases
from services.assignment.handlers.cases import CaseFilters
from services.intake.handlers.requests import tracking
from services.procurement.handlers import assets as asset_register
from services.procurement.handlers import contracts, projects, vendors
from services.procurement.handlers.commands import OpenProject, RegisterAsset, RegisterVendor
from shared.i18n import BANGKOK
from sopdesk import demo
from sopdesk.embedded import DEMO_ORG, DEMO_UNIT, demo_accounts
from sopdesk.testing import drain, wait_for


def today() -> date:
    return datetime.now(timezone.utc).astimezone(BANGKOK).date()


@pytest.fixture
def accounts(clean, tmp_path):
    """The demo accounts, as ``sopdesk up`` makes them, their announcements handled."""
    made = demo_accounts(SimpleNamespace(data_dir=tmp_path))
    drain()
    return {username: demo._staff(username) for username, _, _ in made}


@pytest.fixture
def loaded(accounts, tmp_path):
    result = demo.load(data_dir=tmp_path, settle=drain)
    drain()
    return result


def _everything(staff) -> dict:
    """What the services' own reads show of the demo organisation, counted."""
    register = asset_register.list_assets(staff, per_page=500)
    return {
        "assets": register["total"],
        "vendors": vendors.list_vendors(staff, per_page=500)["total"],
        "projects": len(projects.list_projects(staff)),
        "contracts": len(contracts.list_contracts(staff)),
        "cases": assignment_cases.list_cases(staff, per_page=100).total,
    }


def test_the_demo_shows_every_kind_of_thing(loaded, accounts, tmp_path):
    supplies, head, director = accounts["supplies"], accounts["head"], accounts["director"]
    assert supplies.org == head.org == DEMO_ORG and head.unit == DEMO_UNIT
    t = today()

    # the register: some assets under warranty and some whose warranty ended, by today's date
    register = asset_register.list_assets(supplies, per_page=500)["items"]
    tags = {a["tag"] for a in register}
    assert tags >= set(loaded.assets) and all(tag.startswith("DEMO-") for tag in loaded.assets)
    demo_assets = [a for a in register if a["tag"] in loaded.assets]
    under = [a for a in demo_assets if a["warranty_ends_on"] and a["warranty_ends_on"] >= t]
    ended = [a for a in demo_assets if a["warranty_ends_on"] and a["warranty_ends_on"] < t]
    assert under and ended
    assert {a["tag"] for a in under} == {a["tag"] for a in
                                         asset_register.list_assets(supplies, warranty="active")["items"]} & tags
    assert any(a["ownership"] == "leased" for a in demo_assets)

    # a vendor with a contact; the project with three quotes; the contract's milestones
    main = vendors.vendor_detail(supplies, loaded.vendors["main"])
    assert demo.MARK in main["name"] and main["contacts"] and main["contacts"][0]["name"]
    project = projects.read_project(supplies, loaded.project_id)
    assert len(project["quotes"]) == 3 and project["stage"] == "contract"
    assert project["approval_status"]["principle-budget"] == "approved"
    contract = contracts.get_contract(supplies, loaded.contract_id)
    assert contract["status"] == "active" and contract["number"].startswith("DEMO-")
    states = [(m["state"], m["due_on"]) for m in contract["milestones"]]
    assert len(states) == 3
    assert any(state == "accepted" for state, _ in states)
    assert any(state == "pending" and due < t for state, due in states), "one overdue"
    assert any(state == "pending" and due >= t for state, due in states), "one still to come"

    # cases in the promised states, each in the head's unit list; none says "not in register"
    listed = assignment_cases.list_cases(head, CaseFilters(unit=DEMO_UNIT), per_page=100).cases
    by_code = {c.tracking_code: c for c in listed}
    assert set(loaded.cases.values()) <= set(by_code), "the head's unit list shows every demo case"
    codes = loaded.cases
    assert by_code[codes["demo-new"]].status == "open" and by_code[codes["demo-new"]].current_step == "receive-form"
    assert by_code[codes["demo-progress"]].current_step == "diagnose"
    assert by_code[codes["demo-vendor"]].current_step == "vendor-claim"
    assert by_code[codes["demo-waiting"]].current_step == "ask-requester"
    assert by_code[codes["demo-closed"]].status == "closed"
    for code in codes.values():
        case = assignment_cases.read_case(code, head)
        assert case.asset["found"] is True and case.asset["asset"]["tag"].startswith("DEMO-")
    waiting = tracking(codes["demo-waiting"])
    assert waiting.asked is not None, "the requester is asked to answer"
    closed = tracking(codes["demo-closed"])
    assert closed.request.status == "closed" and closed.survey is not None and closed.survey.score == 5
    # the leased notebook's case waits on its vendor: a claim is open on it
    claims = asset_register.list_claims(supplies, open=True, tracking_code=codes["demo-vendor"])
    assert len(claims) == 1 and claims[0]["reason"] == "leased"
    # a director sees the whole organisation's
    assert set(codes.values()) <= {c.tracking_code for c in assignment_cases.list_cases(director, per_page=100).cases}


def test_loading_twice_makes_nothing_twice(loaded, accounts, tmp_path):
    before = _everything(accounts["director"]) | {"supplies view": _everything(accounts["supplies"])["assets"]}
    again = demo.load(data_dir=tmp_path, settle=drain)
    drain()
    assert again.made == []
    assert again.cases == loaded.cases and again.contract_id == loaded.contract_id
    after = _everything(accounts["director"]) | {"supplies view": _everything(accounts["supplies"])["assets"]}
    assert after == before


def test_remove_takes_the_demo_and_nothing_else(loaded, accounts, tmp_path):
    supplies, director = accounts["supplies"], accounts["director"]
    # someone's own things, beside the demo's
    own_vendor = vendors.create_vendor(supplies, RegisterVendor(name="ร้านจริง จำกัด", tax_id=demo._tax_id("010555000123")))
    asset_register.create_asset(supplies, RegisterAsset(tag="7440-001-9999/69", kind="คอมพิวเตอร์",
                                                        vendor_id=own_vendor["id"]))
    from services.intake.handlers.commands import FileRequest
    from services.intake.handlers.requests import submit_request

    own_case = submit_request(FileRequest(sop="sesao-sc/repair", requester_name="ครูจริง", requester_email="real@school.example",
                                          requester_unit="โรงเรียน", subject="จอเสีย", details="จอไม่ติด", language="th",
                                          channel="web", fields={"asset_tag": "7440-001-9999/69", "location": "ห้อง 1"})).tracking_code
    own_project = projects.create_project(supplies, OpenProject(title="จัดซื้อกระดาษ A4", kind="purchase"))["id"]
    drain()
    before = _everything(director)

    removed = demo.remove(data_dir=tmp_path, settle=drain)
    assert removed.counts() == {"cases": 5, "vendors": 3, "assets": 4, "projects": 1, "contracts": 1}
    after = _everything(director)
    assert after == {"assets": before["assets"] - 4, "vendors": before["vendors"] - 3, "projects": 1,
                     "contracts": 0, "cases": before["cases"] - 5}
    assert [p["id"] for p in projects.list_projects(supplies)] == [own_project]
    # assignment's copies of procurement for the reports keep the others' project only
    from services.assignment.adapters.bus import bus
    from services.assignment.adapters.models import ProcurementContract, ProcurementMilestone, ProcurementProject

    with bus.session() as session:
        assert list(session.scalars(select(ProcurementProject.id))) == [own_project]
        assert session.scalar(select(func.count()).select_from(ProcurementContract)) == 0
        assert session.scalar(select(func.count()).select_from(ProcurementMilestone)) == 0
    assert not demo.find(tmp_path)
    # the others' things are all there
    assert [a["tag"] for a in asset_register.list_assets(supplies)["items"]] == ["7440-001-9999/69"]
    assert [v["id"] for v in vendors.list_vendors(supplies)["items"]] == [own_vendor["id"]]
    assert [c.tracking_code for c in assignment_cases.list_cases(director).cases] == [own_case]
    assert tracking(own_case) is not None
    for code in loaded.cases.values():
        assert tracking(code) is None and assignment_cases.read_case(code, director) is None
    record = demo.read_manifest(demo.manifest_path(tmp_path))
    assert record["removed_at"] is not None

    # removing again finds nothing; loading again brings it all back
    assert not demo.remove(data_dir=tmp_path, settle=drain)
    assert _everything(director) == after
    demo.load(data_dir=tmp_path, settle=drain)
    drain()
    assert _everything(director) == before


def test_the_tallies_and_statistics_lose_the_removed_cases(accounts, tmp_path):
    """The counts the databases keep by trigger (list totals, public statistics, satisfaction)
    are as they were before the demo once it is removed."""
    from services.assignment.adapters.bus import bus
    from services.assignment.adapters.models import CaseTally, CaseTallyChange
    from services.intake.handlers.statistics import service_statistics

    director = accounts["director"]

    def figures():
        statistics = {k: v for k, v in service_statistics(DEMO_ORG).items() if k != "generated_at"}
        return statistics, assignment_cases.satisfaction(director)

    before = figures()
    demo.load(data_dir=tmp_path, settle=drain)
    drain()
    loaded = figures()
    assert loaded[0] != before[0] and loaded[1] != before[1]
    demo.remove(data_dir=tmp_path, settle=drain)
    assert figures() == before
    with bus.session() as session:
        total = (session.scalar(select(func.coalesce(func.sum(CaseTally.n), 0)).where(
                    CaseTally.org == DEMO_ORG, CaseTally.dimension == "all"))
                 + session.scalar(select(func.coalesce(func.sum(CaseTallyChange.n), 0)).where(
                    CaseTallyChange.org == DEMO_ORG, CaseTallyChange.dimension == "all")))
    assert total == 0


def test_production_never_gets_the_demo(clean, capsys):
    """The tests run with production settings: the command refuses, and loads nothing."""
    from sopdesk.cli import main

    assert main(["demo", "load"]) == 2
    assert "embedded default only" in capsys.readouterr().err
    assert main(["demo", "remove"]) == 2
    assert not demo.find()


def test_sopdesk_up_loads_the_demo_unless_told_not_to():
    from sopdesk.embedded import demo_data_wanted

    assert demo_data_wanted({}) and demo_data_wanted({"SOPDESK_DEMO_DATA": "on"})
    assert not demo_data_wanted({"SOPDESK_DEMO_DATA": "off"}) and not demo_data_wanted({"SOPDESK_DEMO_DATA": "0"})


def test_the_demo_job_of_sopdesk_up_runs_once(tmp_path):
    """The loading job ends; the supervisor does not start it again (as it would a dead worker)."""
    import subprocess
    import sys

    from sopdesk.embedded import Child, Supervisor

    sup = Supervisor(tmp_path)
    job = sup.start(Child("demo", lambda: subprocess.Popen([sys.executable, "-c", "pass"]), once=True))
    wait_for(lambda: not job.running, message="the job to end")
    sup.watch()
    sup.watch()
    assert len(job.pids_seen) == 1 and job.process.returncode == 0 and sup.gave_up is None
    sup.stop()


def test_a_file_sent_to_a_demo_case_goes_with_it(loaded, tmp_path):
    """Someone trying the demo answers the case waiting for the requester, with a file: removing
    the demo removes the file too."""
    import io

    from services.intake.handlers.requests import answer
    from shared import files
    from shared.config import get_settings
    from sopdesk.testing_actions import PDF

    settings = get_settings()
    stored = files.store(io.BytesIO(PDF), "หน้าจอ.pdf", "files", ("pdf",), settings.files_dir, 1_000_000)
    answer(loaded.cases["demo-waiting"], "หมายเลขครุภัณฑ์ตามรูป", [stored])
    drain()
    path = files.open_stored(settings.files_dir, stored.storage_key)
    assert path.exists()
    demo.remove(data_dir=tmp_path, settle=drain)
    assert not path.exists()
    assert tracking(loaded.cases["demo-waiting"]) is None
