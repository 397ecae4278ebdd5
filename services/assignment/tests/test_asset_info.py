"""What procurement's asset register says of the asset a repair request names, kept on the case
(``procurement.asset_checked``) and shown in ``GET /assignment/cases/<code>`` and on the desk's case
page, in Thai (Buddhist era) and English. Real intake, assignment and procurement, through Redis."""
from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime, timedelta, timezone
from itertools import permutations

import pytest
from sqlalchemy import func, select

from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import Case, CaseStep, EarlyAssetCheck, Inbox
from services.procurement.handlers.vendors import tax_id_check_digit
from shared.events import Event
from shared.i18n import BANGKOK, THAI_MONTHS
from sopdesk import testing_events as payloads
from sopdesk.testing import consumed_meanwhile, drain, queued, queued_events

from .conftest import PASSWORD

TODAY = datetime.now(BANGKOK).date()
WARRANTY_ENDS = TODAY + timedelta(days=100)
VENDOR_TAX_ID = "010553600031" + str(tax_id_check_digit("010553600031"))


def post(client, path: str, who: str, people, body: dict):
    response = client.post(path, data=json.dumps(body),
                           headers={"Content-Type": "application/json", **people.headers(who)})
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


@pytest.fixture
def register(client, people):
    """One computer under warranty, from a vendor with two contacts."""
    vendor = post(client, "/procurement/vendors", "u-supplies", people, {
        "name": "บริษัท ไอทีซัพพลาย จำกัด", "tax_id": VENDOR_TAX_ID,
        "contacts": [{"name": "คุณประสิทธิ์ ซ่อมไว", "phone": "02-555-0101", "email": "service@itsupply.example",
                      "role": "ศูนย์บริการ", "emergency": True},
                     {"name": "คุณขายดี", "email": "sales@itsupply.example", "role": "sales"}]})
    post(client, "/procurement/assets", "u-supplies", people, {
        "tag": "7440-001-0007/2567", "kind": "คอมพิวเตอร์", "model": "HP ProDesk 400", "serial": "CZC1234",
        "location": "ห้องธุรการ", "vendor_id": vendor["id"], "acquired_on": "2024-02-01",
        "warranty_ends_on": WARRANTY_ENDS.isoformat()})
    return vendor


def file_repair(client, people, tag: str) -> str:
    body = {"sop": "sesao-sc/repair", "requester_name": "ครูสมศรี ใจดี", "requester_email": "somsri@school.example",
            "requester_unit": "โรงเรียนบ้านดอน", "subject": "คอมพิวเตอร์เปิดไม่ติด", "details": "กดปุ่มแล้วเงียบ",
            "consent": True, "asset_tag": tag, "location": "ห้องธุรการ",
            "received_at": (datetime.now(timezone.utc) - timedelta(hours=2)).isoformat()}
    return post(client, "/intake/requests", "u-head", people, body)["tracking_code"]


def desk_page(client, code: str, lang: str) -> str:
    form = client.get("/assignment/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = client.post("/assignment/login", data={"username": "u-officer", "password": PASSWORD,
                                                      "csrf_token": token})
    assert response.status_code == 302
    page = client.get(f"/assignment/desk/cases/{code}?lang={lang}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def box(html: str) -> str:
    match = re.search(r'<section id="asset-info".*?</section>', html, re.S)
    assert match, "no asset box on the page"
    return match.group(0)


def test_a_repair_of_a_registered_asset_shows_its_warranty_and_vendor(client, people, register):
    code = file_repair(client, people, " 7440-001-0007/2567 ")
    drain()
    case = client.get(f"/assignment/cases/{code}", headers=people.headers("u-head")).get_json()
    info = case["asset"]
    assert (info["asset_tag"], info["found"]) == ("7440-001-0007/2567", True)
    asset = info["asset"]
    assert (asset["tag"], asset["kind"], asset["model"], asset["serial"]) == (
        "7440-001-0007/2567", "คอมพิวเตอร์", "HP ProDesk 400", "CZC1234")
    assert (asset["warranty_ends_on"], asset["under_warranty"], asset["leased"], asset["ownership"]) == (
        WARRANTY_ENDS.isoformat(), True, False, "owned")
    assert asset["vendor"]["id"] == register["id"] and asset["vendor"]["tax_id"] == VENDOR_TAX_ID
    assert [c["name"] for c in asset["vendor"]["contacts"]] == ["คุณประสิทธิ์ ซ่อมไว", "คุณขายดี"]

    thai = box(desk_page(client, code, "th"))
    assert 'data-found="true"' in thai and 'data-under-warranty="true"' in thai
    assert "7440-001-0007/2567" in thai and "คอมพิวเตอร์ / HP ProDesk 400" in thai
    assert "ครุภัณฑ์ของหน่วยงาน" in thai  # owned
    buddhist = f"{WARRANTY_ENDS.day} {THAI_MONTHS[WARRANTY_ENDS.month - 1]} {WARRANTY_ENDS.year + 543}"
    assert buddhist in thai and "อยู่ในประกัน ณ วันที่รับแจ้ง" in thai
    assert "บริษัท ไอทีซัพพลาย จำกัด" in thai and VENDOR_TAX_ID in thai
    assert "คุณประสิทธิ์ ซ่อมไว" in thai and "02-555-0101" in thai and "service@itsupply.example" in thai
    assert "ติดต่อกรณีเร่งด่วน" in thai
    english = box(client.get(f"/assignment/desk/cases/{code}?lang=en").get_data(as_text=True))
    assert WARRANTY_ENDS.strftime("%-d %B %Y") in english and "Under warranty when the request was received" in english
    assert "Vendor to claim from" in english and "Owned" in english


def test_an_unknown_tag_is_shown_as_not_found(client, people, register):
    code = file_repair(client, people, "NO-SUCH-TAG")
    drain()
    case = client.get(f"/assignment/cases/{code}", headers=people.headers("u-head")).get_json()
    assert case["asset"]["found"] is False and case["asset"]["asset"] is None
    assert case["asset"]["asset_tag"] == "NO-SUCH-TAG"
    html = box(desk_page(client, code, "th"))
    assert 'data-found="false"' in html and "ไม่พบหมายเลขครุภัณฑ์ NO-SUCH-TAG ในทะเบียน" in html


def _leased(model: str) -> dict:
    """Asset T-1 as procurement's register describes it: leased, no warranty date, no vendor."""
    return payloads.asset_info("T-1", model=model, ownership="leased")


def _checked(code: str, found: bool, checked_at: datetime, model: str = "x") -> dict:
    return payloads.envelope("procurement.asset_checked", payloads.asset_checked(
        code, asset_tag="T-1", asset=_leased(model) if found else None, checked_at=checked_at))


def test_a_check_before_its_case_is_kept_for_it_and_a_repeat_or_older_check_changes_nothing(client, people):
    code = file_repair(client, people, "T-1")
    # a check that is newer than the one procurement sends from this request below
    early = _checked(code, True, datetime.now(timezone.utc) + timedelta(minutes=10), model="leased one")
    # before assignment opened the case: handled now (not retried), kept for the case
    assert not bus.consume(early).duplicate
    with bus.session() as session:
        assert session.get(Inbox, early["id"]) is not None
        assert session.get(EarlyAssetCheck, code).asset["asset"]["model"] == "leased one"
    drain()  # the case opens and takes it; procurement's own check (T-1 is not registered) is older
    with bus.session() as session:
        found = session.scalar(select(Case.asset).where(Case.tracking_code == code))
        assert session.get(EarlyAssetCheck, code) is None
    assert found["found"] is True and found["asset"]["model"] == "leased one"
    assert bus.consume(early).duplicate
    older = _checked(code, False, datetime.now(timezone.utc) - timedelta(days=1))
    bus.consume(older)
    case = client.get(f"/assignment/cases/{code}", headers=people.headers("u-head")).get_json()
    assert case["asset"]["found"] is True and case["asset"]["asset"]["model"] == "leased one"
    html = box(desk_page(client, code, "th"))
    assert 'data-leased="true"' in html and "เช่าจากผู้ให้เช่า" in html and "ไม่มีข้อมูลการรับประกัน" in html
    assert "ไม่มีผู้ขายในทะเบียน" in html


def _submitted(client, people, tag: str) -> tuple[str, dict]:
    """A repair request filed at intake, and its ``request.submitted`` as it waits in assignment's
    queue (procurement's copy is never worked here: the checks below are the only ones)."""
    code = file_repair(client, people, tag)
    [envelope] = [e for e in queued_events("assignment")
                  if e["type"] == "request.submitted" and e["payload"]["tracking_code"] == code]
    return code, envelope


def _kept(code: str) -> tuple[dict | None, int]:
    """(the case's asset, how many early checks are still kept for it)."""
    with bus.session() as session:
        return (session.scalar(select(Case.asset).where(Case.tracking_code == code)),
                session.scalar(select(func.count()).select_from(EarlyAssetCheck)
                               .where(EarlyAssetCheck.tracking_code == code)))


def test_the_newest_check_wins_whether_the_case_or_the_checks_come_first(client, people):
    older_at = datetime.now(timezone.utc) - timedelta(hours=1)
    newer_at = older_at + timedelta(minutes=10)
    # what the rule gives: the newer check, as on_asset_checked writes it (from _checked's payload)
    expected = {"asset_tag": "T-1", "found": True, "checked_at": newer_at.isoformat(), "asset": _leased("leased one")}
    for order in permutations(["case", "older", "newer"]):
        code, submitted = _submitted(client, people, "T-1")
        events = {"case": submitted, "older": _checked(code, False, older_at),
                  "newer": _checked(code, True, newer_at, model="leased one")}
        for name in order:
            assert not bus.consume(events[name]).duplicate, order
        assert _kept(code) == (expected, 0), order
        for name in order:  # every delivery again: the inbox turns each away
            assert bus.consume(events[name]).duplicate, order
        bus.consume(_checked(code, False, older_at))  # the older fact again, as a new event
        assert _kept(code) == (expected, 0), order
        with bus.session() as session:  # and the case opened as any other: at its first step
            case = session.scalar(select(Case).where(Case.tracking_code == code))
            assert (case.status, case.current_step, case.seq) == ("open", "receive-form", 2), order


def test_a_check_and_its_case_in_flight_at_once_never_lose_the_check(client, people):
    """The case and a check are handled at the same moment by two workers: whichever locks the
    tracking code first, the other waits for its commit and then sees what it wrote."""
    checked_at = datetime.now(timezone.utc)
    expected = {"asset_tag": "T-1", "found": False, "asset": None, "checked_at": checked_at.isoformat()}

    # the case is being opened (not committed yet) when the check comes, then the other way round
    for first in ("request.submitted", "procurement.asset_checked"):
        code, submitted = _submitted(client, people, "T-1")
        check = _checked(code, False, checked_at)
        one, other = (submitted, check) if first == "request.submitted" else (check, submitted)
        with bus.unit_of_work() as uow:
            bus.handler(one["type"])(uow, Event.from_envelope(one))
            waiting = consumed_meanwhile(bus, other)
            uow.commit()
        waiting.join(30)
        assert _kept(code) == (expected, 0), first


def test_a_batch_of_requests_and_their_checks_is_opened_in_one_pass_and_shares_the_work(client, people, caplog):
    """A worker that has fallen behind: six requests and a check for two of them in one batch
    (one transaction, flushed once at its end). Nobody gets a third case before everyone has
    two, counting the cases opened earlier in the same batch; a check after its case in the batch
    lands on the case; and nothing needed the one-by-one pass."""
    people.add("o1", ["officer"])
    people.add("o2", ["officer"])
    for _ in range(3):  # one case each: the process has read its packs, calendar and staff, as a running worker has
        bus.consume(_submitted(client, people, "T-1")[1])
    filed = [_submitted(client, people, "T-1") for _ in range(6)]
    checked_at = datetime.now(timezone.utc)
    checks = [_checked(code, True, checked_at, model=f"model {code}") for code, _ in filed[:2]]
    with caplog.at_level("INFO", logger="shared.messaging"):
        outcome = bus.consume_batch([envelope for _, envelope in filed] + checks)
    assert outcome.failed == [] and len(outcome.results) == 8
    assert not [r for r in caplog.records if "failed together" in r.getMessage()]
    with bus.session() as session:
        cases = {c.tracking_code: c for c in session.scalars(select(Case))}
        assignees = sorted(session.scalars(select(CaseStep.assignee)).all())
    held = Counter(assignees)  # nine cases, three officers: nobody holds two more than another
    assert set(held) == {"o1", "o2", "u-officer"} and sum(held.values()) == 9
    assert max(held.values()) - min(held.values()) <= 1, held
    for code, _ in filed[:2]:
        assert cases[code].asset["asset"]["model"] == f"model {code}" and _kept(code)[1] == 0
    assert all(cases[code].asset is None for code, _ in filed[2:])


def test_a_batch_of_checks_for_open_cases_locks_them_in_one_statement(client, people):
    """Procurement's checks for several cases already open, in one batch: the cases are read and
    locked once for the batch, in the order of their codes, and each check lands on its own."""
    from sopdesk.testing import statements_sent

    filed = [_submitted(client, people, "T-1") for _ in range(3)]
    for _, envelope in filed:
        bus.consume(envelope)
    checked_at = datetime.now(timezone.utc)
    checks = [_checked(code, True, checked_at, model=f"model {code}") for code, _ in reversed(filed)]
    outcome, sent = statements_sent(bus.engine, lambda: bus.consume_batch(checks))
    reads = [s for s in sent if s.startswith("SELECT") and "FROM cases" in s and "FOR UPDATE" in s]
    assert outcome.failed == []
    assert len(reads) == 1 and "ORDER BY cases.tracking_code" in reads[0], reads
    for code, _ in filed:
        asset, kept = _kept(code)
        assert asset["asset"]["model"] == f"model {code}" and kept == 0


def test_checks_before_their_cases_in_one_batch_land_on_them_the_newest_winning(client, people, caplog):
    """A batch holding checks that come before their own requests (the newer and the older check
    of one request, in either order), and the request of a check kept in an earlier transaction:
    every case opens with the newest check it was sent, nothing is left in ``early_asset_checks``,
    and nothing needed the one-by-one pass."""
    older_at = datetime.now(timezone.utc) - timedelta(hours=1)
    newer_at = older_at + timedelta(minutes=10)
    filed = [_submitted(client, people, "T-1") for _ in range(3)]
    (first, first_env), (second, second_env), (third, third_env) = filed
    kept_before = _checked(third, True, newer_at, model="kept before")
    assert not bus.consume(kept_before).duplicate and _kept(third) == (None, 1)
    batch = [_checked(first, True, newer_at, model="newer"), _checked(first, False, older_at),
             _checked(second, False, older_at), _checked(second, True, newer_at, model="newer"),
             first_env, second_env, third_env]
    with caplog.at_level("INFO", logger="shared.messaging"):
        outcome = bus.consume_batch(batch)
    assert outcome.failed == [] and len(outcome.results) == len(batch)
    assert not [r for r in caplog.records if "failed together" in r.getMessage()]
    newer = {"asset_tag": "T-1", "found": True, "checked_at": newer_at.isoformat()}
    assert _kept(first) == ({**newer, "asset": _leased("newer")}, 0)
    assert _kept(second) == ({**newer, "asset": _leased("newer")}, 0)
    assert _kept(third) == ({**newer, "asset": _leased("kept before")}, 0)


def test_a_batch_takes_the_opening_locks_of_all_its_cases_at_once_in_one_order(client, people):
    """The opening locks of every case a batch opens or keeps a check for are taken in one
    statement before anything is written (in the locks' own order: see the next test), and no
    case takes its own again."""
    from sopdesk.testing import statements_sent

    filed = [_submitted(client, people, "T-1") for _ in range(3)]
    checks = [_checked(code, False, datetime.now(timezone.utc)) for code, _ in filed[:2]]
    batch = list(reversed(checks)) + [envelope for _, envelope in filed]
    outcome, sent = statements_sent(bus.engine, lambda: bus.consume_batch(batch))
    assert outcome.failed == []
    locks = [i for i, s in enumerate(sent) if "pg_advisory_xact_lock" in s]
    writes = [i for i, s in enumerate(sent) if re.match(r"(INSERT|UPDATE|DELETE)", s)
              and "inbox" not in s]
    assert len(locks) == 1 and locks[0] < min(writes), sent
    assert "ORDER BY lock" in sent[locks[0]]
    assert len([s for s in sent if s.startswith("DELETE FROM early_asset_checks")]) == 1


def test_two_workers_batches_in_opposite_orders_never_deadlock(client, people, caplog):
    """Two workers at once, one opening cases in one order while the other keeps checks for the
    same cases in the opposite order, round after round: neither batch ever fails (a deadlock
    would fail one, which PostgreSQL finds after a second, and send it round one by one), and
    every case ends with its check."""
    import threading

    rounds, per_round = 6, 8
    with caplog.at_level("INFO", logger="shared.messaging"):
        for _ in range(rounds):
            filed = [_submitted(client, people, "T-1") for _ in range(per_round)]
            checked_at = datetime.now(timezone.utc)
            checks = [_checked(code, True, checked_at, model=f"model {code}") for code, _ in reversed(filed)]
            start, outcomes = threading.Barrier(2), []

            def consume(batch):
                start.wait()
                outcomes.append(bus.consume_batch(batch))

            workers = [threading.Thread(target=consume, args=(batch,))
                       for batch in ([envelope for _, envelope in filed], checks)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(60)
            assert [o.failed for o in outcomes] == [[], []]
            for code, _ in filed:
                asset, kept = _kept(code)
                assert asset["asset"]["model"] == f"model {code}" and kept == 0
    assert not [r.getMessage() for r in caplog.records if "failed together" in r.getMessage()]
