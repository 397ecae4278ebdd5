"""Procurement as the reports count it (``handlers.procurement_figures``): procurement's events,
as its handlers write them, consumed by assignment's bus in an order of their own (one delivered
twice, a contract's signing after its first milestone's delivery, a payment before the acceptance
and the delivery it follows, a cancellation before the project's creation), then the summary of
fiscal year 2570 and of 2571, and the KPI document a director reads. Every expected figure is
worked here from the rules (procurement's fine: the rate of the milestone's amount per calendar
day late, to the satang), never copied from the output."""
from __future__ import annotations

import shutil
import subprocess
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import select

from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import ProcurementContract, ProcurementMilestone, ProcurementProject
from services.assignment.handlers import procurement_figures
from services.assignment.tests.test_engine import bkk
from shared.workcal import fiscal_year_bounds
from sopdesk import testing_events as payloads

pytestmark = pytest.mark.org("onesqa")
ORG = "onesqa"
CENT = Decimal("0.01")
RATE = Decimal("0.1")  # % of the milestone's amount per day late (procurement's default)


# ---------------------------------------------------------------------------------------------
# procurement's payloads, as its handlers write them (``projects._emit``, ``contracts._emit``,
# ``reminders.notice_payload``)


def project_created(pid: int, title: str) -> dict:
    return {"project_id": pid, "org": ORG, "tracking_code": None, "title": title, "kind": "hire", "stage": "draft",
            "budget": "300000.00", "fiscal_year": 2570, "created_by": "u-officer"}


def stage_changed(pid: int, stage: str, previous: str) -> dict:
    return {"project_id": pid, "org": ORG, "tracking_code": None, "stage": stage, "previous": previous,
            "changed_by": "u-officer", "note": ""}


def project_cancelled(pid: int, previous: str) -> dict:
    return {"project_id": pid, "org": ORG, "tracking_code": None, "previous": previous, "reason": "งบประมาณไม่พอ",
            "cancelled_by": "u-officer", "case_step": None, "case_waiting_on": None}


def milestone(mid: int, seq: int, due_on: date, amount: str, *, delivered_on: date | None = None, days_late: int = 0,
              fine: str = "0.00", accepted_on: date | None = None, paid_on: date | None = None,
              paid_amount: str | None = None) -> dict:
    state = "paid" if paid_on else "accepted" if accepted_on else "delivered" if delivered_on else "pending"
    return {"id": mid, "seq": seq, "title": f"งวดที่ {seq}", "deliverables": "", "due_on": due_on.isoformat(),
            "amount": amount, "state": state, "round": 1,
            "delivered_on": delivered_on and delivered_on.isoformat(), "days_late": days_late, "fine_amount": fine,
            "accepted_on": accepted_on and accepted_on.isoformat(), "paid_on": paid_on and paid_on.isoformat(),
            "paid_amount": paid_amount}


class Contract:
    """Contract 7/2570 of project 101 and its three milestones, and the events procurement writes
    as they move."""

    id, number, amount, project = 7, "7/2570", "300000.00", 101

    def head(self, stage: str = "contract", status: str = "active") -> dict:
        return {"org": ORG,
                "contract": {"id": self.id, "number": self.number, "amount": self.amount, "vendor_id": 3,
                             "vendor_name": "บริษัท ตัวอย่าง จำกัด", "status": status},
                "project": {"id": self.project, "title": "ระบบสารสนเทศ", "tracking_code": None, "stage": stage}}

    def signed(self, signed_on: date, milestones: list[dict]) -> dict:
        return {**self.head(), "signed_on": signed_on.isoformat(), "starts_on": signed_on.isoformat(),
                "ends_on": "2027-06-30", "warranty_ends_on": "2028-06-30", "fine_rate_percent": str(RATE),
                "fine_basis": "milestone", "fine_min_per_day": "0.00", "milestones": milestones,
                "signed_by": "u-director"}

    def delivered(self, m: dict, fine_uncapped: str) -> dict:
        return {**self.head(), "milestone": m, "fine_uncapped": fine_uncapped, "recorded_by": "u-officer"}

    def accepted(self, m: dict) -> dict:
        return {**self.head(), "milestone": m, "round": 1, "members": [1],
                "acceptance": {"member_id": 1, "member_name": "กรรมการ", "position": "ประธาน",
                               "decision": "accepted", "note": "", "round": 1, "decided_by": "u-officer"}}

    def paid(self, m: dict) -> dict:
        return {**self.head(), "milestone": m, "payment_ref": f"ฎีกา {m['id']}", "note": "",
                "contract_completed": False, "recorded_by": "u-finance"}

    def overdue(self, m: dict, days_late: int, fine_so_far: str) -> dict:
        return payloads.milestone_overdue(
            days_late, fine_so_far,
            contract={"id": self.id, "number": self.number, "amount": self.amount,
                      "vendor_name": "บริษัท ตัวอย่าง จำกัด"},
            project={"id": self.project, "title": "ระบบสารสนเทศ", "tracking_code": None},
            milestone={k: m[k] for k in ("id", "seq", "title", "deliverables", "due_on", "amount", "state")},
            recipients=[payloads.notice_recipient("เจ้าหน้าที่", "officer@office.example")]) | {"org": ORG}


def fine_of(amount: str, days: int) -> Decimal:
    """Procurement's rule: the rate of the milestone's amount per day, to the satang half up, times the days."""
    per_day = (Decimal(amount) * RATE / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return (per_day * days).quantize(CENT)


def consume(event_type: str, payload: dict, at: datetime) -> dict:
    envelope = payloads.envelope(event_type, payload, correlation_id=None, occurred_at=at)
    bus.consume(envelope)
    return envelope


# ---------------------------------------------------------------------------------------------
# the story: fiscal year 2570 (1 October 2026 - 30 September 2027)

SIGNED_ON = date(2026, 11, 2)
M1_DUE, M2_DUE, M3_DUE = date(2026, 12, 15), date(2027, 2, 15), date(2027, 5, 31)
M1_DELIVERED, M1_ACCEPTED, M1_PAID = date(2026, 12, 10), date(2026, 12, 14), date(2026, 12, 20)
M2_DELIVERED, M2_ACCEPTED, M2_PAID = date(2027, 2, 20), date(2027, 2, 25), date(2027, 3, 3)


@pytest.fixture
def story(clean):
    """Project 101 moves from draft to procurement and has contract 7/2570 signed with three
    milestones of 100,000 baht: the first delivered, accepted and paid on time; the second
    delivered five days late, accepted and paid less its fine; the third never delivered (the
    overdue notice comes). Project 102 is recorded and cancelled. The events come in an order
    of their own, one of them twice."""
    c = Contract()
    m2_days = (M2_DELIVERED - M2_DUE).days
    m2_fine = fine_of("100000.00", m2_days)
    plan = [milestone(71, 1, M1_DUE, "100000.00"), milestone(72, 2, M2_DUE, "100000.00"),
            milestone(73, 3, M3_DUE, "100000.00")]
    m1_delivered = milestone(71, 1, M1_DUE, "100000.00", delivered_on=M1_DELIVERED)
    m1_accepted = milestone(71, 1, M1_DUE, "100000.00", delivered_on=M1_DELIVERED, accepted_on=M1_ACCEPTED)
    m1_paid = milestone(71, 1, M1_DUE, "100000.00", delivered_on=M1_DELIVERED, accepted_on=M1_ACCEPTED,
                        paid_on=M1_PAID, paid_amount="100000.00")
    m2 = dict(delivered_on=M2_DELIVERED, days_late=m2_days, fine=str(m2_fine))
    m2_delivered = milestone(72, 2, M2_DUE, "100000.00", **m2)
    m2_accepted = milestone(72, 2, M2_DUE, "100000.00", **m2, accepted_on=M2_ACCEPTED)
    m2_paid = milestone(72, 2, M2_DUE, "100000.00", **m2, accepted_on=M2_ACCEPTED, paid_on=M2_PAID,
                        paid_amount=str(Decimal("100000.00") - m2_fine))

    consume("procurement.project_created", project_created(101, "ระบบสารสนเทศ"), bkk(2026, 10, 5, 9, 0))
    # project 102: its cancellation comes before its creation
    consume("procurement.project_cancelled", project_cancelled(102, "draft"), bkk(2026, 10, 20, 9, 0))
    consume("procurement.project_created", project_created(102, "เครื่องพิมพ์"), bkk(2026, 10, 6, 9, 0))
    for n, (stage, previous) in enumerate((("quotes", "draft"), ("approval", "quotes"),
                                           ("procurement", "approval"))):
        consume("procurement.project_stage_changed", stage_changed(101, stage, previous), bkk(2026, 10, 10 + n, 9, 0))
    # the first milestone's delivery comes before the contract's signing
    consume("procurement.milestone_delivered", c.delivered(m1_delivered, "0.00"), bkk(2026, 12, 10, 10, 0))
    consume("procurement.contract_signed", c.signed(SIGNED_ON, plan), bkk(2026, 11, 2, 14, 0))
    consume("procurement.milestone_accepted", c.accepted(m1_accepted), bkk(2026, 12, 14, 10, 0))
    paid = consume("procurement.milestone_paid", c.paid(m1_paid), bkk(2026, 12, 20, 10, 0))
    bus.consume(paid)  # delivered twice
    # the second milestone's payment comes before its acceptance, and that before its delivery
    consume("procurement.milestone_paid", c.paid(m2_paid), bkk(2027, 3, 3, 10, 0))
    consume("procurement.milestone_accepted", c.accepted(m2_accepted), bkk(2027, 2, 25, 10, 0))
    consume("procurement.milestone_delivered", c.delivered(m2_delivered, str(m2_fine)), bkk(2027, 2, 20, 10, 0))
    # the third: the day after its due day, not delivered
    consume("procurement.milestone_overdue", c.overdue(plan[2], 1, str(fine_of("100000.00", 1))),
            bkk(2027, 6, 1, 8, 0))
    return {"m2_fine": m2_fine, "m2_paid": Decimal(m2_paid["paid_amount"]), "m1_paid": Decimal("100000.00")}


def summary(fiscal_year: int, today: date) -> dict | None:
    first, last = fiscal_year_bounds(fiscal_year)
    with bus.session() as session:
        return procurement_figures.summary(session, ORG, first, last, today=today)


def test_the_copies_keep_the_newest_state_whatever_the_order(story):
    with bus.session() as session:
        projects = {p.id: p for p in session.scalars(select(ProcurementProject))}
        contract = session.get(ProcurementContract, 7)
        milestones = {m.id: m for m in session.scalars(select(ProcurementMilestone))}
    # the stage of the newest event; recorded when created, though the creation came after the cancellation
    assert projects[101].stage == "contract" and projects[102].stage == "cancelled"
    assert projects[102].created_at == bkk(2026, 10, 6, 9, 0)
    # signed on its day, though the signing came after a newer event of the contract
    assert (contract.signed_on, contract.amount, contract.status) == (SIGNED_ON, Decimal("300000.00"), "active")
    # the signing's older "pending" did not undo the first milestone's delivery; the second's
    # acceptance and delivery, older, did not undo its payment
    assert (milestones[71].delivered_on, milestones[71].paid_on) == (M1_DELIVERED, M1_PAID)
    assert (milestones[72].state, milestones[72].paid_on, milestones[72].fine_amount) == \
        ("paid", M2_PAID, story["m2_fine"])
    assert (milestones[73].state, milestones[73].delivered_on) == ("pending", None)


def test_a_consumer_run_twice_changes_nothing(story):
    c = Contract()
    event = payloads.event("procurement.contract_signed", c.signed(SIGNED_ON, [milestone(71, 1, M1_DUE, "100000.00")]),
                           correlation_id=None, occurred_at=bkk(2026, 11, 2, 14, 0))
    before = summary(2570, date(2027, 7, 1))
    for _ in range(2):
        with bus.unit_of_work() as uow:
            procurement_figures.record(uow, event)
            uow.commit()
    assert summary(2570, date(2027, 7, 1)) == before


def test_the_summary_of_the_year_and_of_the_next(story):
    first, last = fiscal_year_bounds(2570)
    due = [M1_DUE, M2_DUE, M3_DUE]
    delivered = {M1_DUE: M1_DELIVERED, M2_DUE: M2_DELIVERED, M3_DUE: None}

    def late(today: date) -> int:
        # delivered after its due day, or not delivered and past it
        return sum(1 for d in due if first <= d <= last
                   and (delivered[d] > d if delivered[d] else today > d))

    today = date(2027, 7, 1)
    fines = Decimal("0.00") + story["m2_fine"]  # the first milestone was paid with no fine
    payments = story["m1_paid"] + story["m2_paid"]
    assert story["m2_fine"] == Decimal("500.00") and payments == Decimal("199500.00")
    assert summary(2570, today) == {
        "projects_by_stage": {"contract": 1, "cancelled": 1},
        "contracts": 1, "contract_value": "300000.00",
        "milestones_due": 3, "milestones_late": late(today),
        "fines": str(fines), "payments": str(payments),
    }
    assert late(today) == 2
    # before the third milestone's due day has passed, only the second is late
    assert summary(2570, date(2027, 5, 31))["milestones_late"] == late(date(2027, 5, 31)) == 1
    # the next year: the project still under contract, nothing signed, due or paid in it; the
    # project cancelled in 2570 is not of 2571
    assert summary(2571, today) == {
        "projects_by_stage": {"contract": 1}, "contracts": 0, "contract_value": "0.00",
        "milestones_due": 0, "milestones_late": 0, "fines": "0.00", "payments": "0.00",
    }
    # the first quarter (October-December 2026): the signing, and the first milestone due and paid
    with bus.session() as session:
        quarter = procurement_figures.summary(session, ORG, date(2026, 10, 1), date(2026, 12, 31), today=today)
    assert (quarter["contracts"], quarter["milestones_due"], quarter["milestones_late"], quarter["fines"],
            quarter["payments"]) == (1, 1, 0, "0.00", str(story["m1_paid"]))
    # an organisation procurement never told of has no procurement section
    with bus.session() as session:
        assert procurement_figures.summary(session, "up", first, last, today=today) is None


def test_the_kpis_of_a_director_carry_procurement(client, people, tmp_path):
    """Through ``GET /assignment/reports/kpis``: the director's document has the section (fiscal
    year 2569, all of it past), and the yearly PDF prints it; a head's (their unit's) and one
    SOP's leave it out."""
    c = Contract()
    first, last = fiscal_year_bounds(2569)
    due_on, delivered_on, paid_on = date(2026, 3, 31), date(2026, 4, 3), date(2026, 4, 20)
    fine = fine_of("300000.00", (delivered_on - due_on).days)
    consume("procurement.project_created", project_created(101, "ระบบสารสนเทศ"), bkk(2025, 12, 1, 9, 0))
    consume("procurement.contract_signed", c.signed(date(2026, 1, 15), [milestone(71, 1, due_on, "300000.00")]),
            bkk(2026, 1, 15, 9, 0))
    consume("procurement.milestone_paid", c.paid(milestone(
        71, 1, due_on, "300000.00", delivered_on=delivered_on, days_late=3, fine=str(fine),
        accepted_on=date(2026, 4, 10), paid_on=paid_on, paid_amount=str(Decimal("300000.00") - fine))),
        bkk(2026, 4, 20, 9, 0))

    def kpis(who: str, **query):
        response = client.get("/assignment/reports/kpis",
                              query_string={"fiscal_year": 2569, "org": ORG, **query}, headers=people.headers(who))
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    assert kpis("u-director")["procurement"] == {
        "projects_by_stage": {"contract": 1}, "contracts": 1, "contract_value": "300000.00",
        "milestones_due": 1, "milestones_late": 1, "fines": str(fine), "payments": str(Decimal("300000.00") - fine),
    }
    assert kpis("u-head")["procurement"] is None  # a unit's figures
    # the dashboard shows it too, in Thai, the paid amount in baht
    page = client.get("/assignment/desk/reports", query_string={"fiscal_year": 2569, "org": ORG, "lang": "th"},
                      headers=people.headers("u-director"))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    section = html[html.index('id="procurement"'):html.index("</table>", html.index('id="procurement"'))]
    assert f"{Decimal('300000.00') - fine:,.2f}" in section and f"{fine:,.2f}" in section
    assert kpis("u-director", sop="onesqa/equipment-support")["procurement"] is None
    # the yearly report prints the section, in English here
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    response = client.get("/assignment/reports/yearly.pdf",
                          query_string={"fiscal_year": 2569, "org": ORG, "lang": "en"},
                          headers=people.headers("u-director"))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    path = tmp_path / "yearly.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Procurement" in text and f"{Decimal('300000.00') - fine:,.2f}" in text
