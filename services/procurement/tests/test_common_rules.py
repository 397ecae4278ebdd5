"""The rules procurement's modules share (``common``) and the one readiness rule for signing a
contract (``projects.contract_blockers``, which ``contracts.create_contract`` applies)."""
from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text

from services.procurement.adapters.bus import bus
from services.procurement.adapters.models import Contract
from services.procurement.handlers import common, contracts
from services.procurement.handlers.commands import SignContract
from services.procurement.tests.test_contracts import contract_body, count, events, make_project, make_vendor, post
from shared.auth import Staff
from shared.errors import Conflict
from shared.i18n import BANGKOK


def test_the_paper_date_is_bangkok_s_and_now_must_be_aware():
    # 17:30 UTC is already half past midnight of the next day in Bangkok (UTC+7)
    late_evening_utc = datetime(2026, 12, 31, 17, 30, tzinfo=timezone.utc)
    assert common.bangkok_today(late_evening_utc) == date(2027, 1, 1)
    assert common.bangkok_today(late_evening_utc - timedelta(hours=1)) == date(2026, 12, 31)
    # a Bangkok wall-clock moment is the same instant, given as UTC
    assert common.utc_now(datetime(2027, 1, 1, 0, 30, tzinfo=BANGKOK)) == late_evening_utc
    with pytest.raises(ValueError):
        common.utc_now(datetime(2026, 12, 31, 17, 30))  # naive: whose clock?


def test_money_rounds_half_up_to_the_satang():
    assert common.money(Decimal("0.005")) == Decimal("0.01")  # half-even would give 0.00
    assert common.money(Decimal("2.345")) == Decimal("2.35")
    assert common.money_str(Decimal("12500")) == "12500.00"
    assert common.money_str(None) is None


def test_a_project_not_ready_is_told_every_reason_at_once(client, procurement_people):
    vendor_id = make_vendor()
    project = make_project(stage="approval", approved=False, members=())
    response = post(client, procurement_people, "u-supplies", "/procurement/contracts",
                    contract_body(project["id"], vendor_id))
    assert response.status_code == 409, response.get_json()
    reasons = response.get_json()["errors"]["project_id"]
    assert len(reasons) == 3, reasons
    assert any("stage" in r for r in reasons) and any("principle" in r for r in reasons)
    assert any("inspection committee" in r for r in reasons)
    assert count(Contract) == 0 and events("procurement.contract_signed") == []


def test_a_project_with_its_contract_signs_no_second_one(client, procurement_people):
    vendor_id = make_vendor()
    project = make_project()
    first = post(client, procurement_people, "u-supplies", "/procurement/contracts",
                 contract_body(project["id"], vendor_id))
    assert first.status_code == 201, first.get_json()
    second = post(client, procurement_people, "u-supplies", "/procurement/contracts",
                  contract_body(project["id"], vendor_id, number="16/2570"))
    assert second.status_code == 409, second.get_json()
    assert "project_id" in second.get_json()["errors"]
    assert count(Contract) == 1


def test_a_contract_number_taken_at_the_same_moment_is_a_conflict_not_a_crash(procurement_people):
    """The number check reads committed rows only: when another signing of the same number is
    still in its transaction, the unique key decides, and the loser hears 409 on ``number``."""
    vendor_id = make_vendor()
    first, second = make_project(), make_project()
    holder = bus.session()  # a first signing of 77/2570, not committed yet
    try:
        holder.add(Contract(org="sesao-sc", project_id=first["id"], number="77/2570", vendor_id=vendor_id,
                            amount=Decimal("1000.00"), signed_on=date(2026, 1, 5), starts_on=date(2026, 1, 5),
                            ends_on=date(2026, 3, 31), status="active", created_by="test"))
        holder.flush()
        signing = SignContract(project_id=second["id"], vendor_id=vendor_id, number="77/2570",
                               amount=Decimal("1000.00"), signed_on=date(2026, 1, 5), starts_on=date(2026, 1, 5),
                               ends_on=date(2026, 3, 31), warranty_months=12,
                               milestones=({"title": "งวดเดียว", "due_on": date(2026, 3, 1),
                                            "amount": Decimal("1000.00")},))
        outcome: dict = {}

        def sign():
            try:
                outcome["result"] = contracts.create_contract(
                    Staff(user_id="1", username="u-supplies", roles=("supplies",), org="sesao-sc"), signing)
            except Exception as exc:  # noqa: BLE001 - the test looks at what came out
                outcome["error"] = exc

        thread = threading.Thread(target=sign)
        thread.start()
        # the second signing waits on the first one's unique key
        with bus.session() as watcher:
            waiting = False
            for _ in range(600):
                waiting = bool(watcher.scalar(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query ILIKE 'INSERT INTO contracts%'")))
                if waiting or not thread.is_alive():
                    break
                watcher.rollback()
                threading.Event().wait(0.05)
        assert waiting, outcome
        holder.commit()
        thread.join(60)
    finally:
        holder.close()
    error = outcome.get("error")
    assert isinstance(error, Conflict), outcome
    assert "number" in error.errors
    assert count(Contract) == 1
