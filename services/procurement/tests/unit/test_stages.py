"""A project's stages and what blocks each move, without a database
(services/procurement/domain/stages.py). Each expectation is read from the rule: draft <-> quotes,
quotes <-> approval (a quote first), approval -> procurement (the principle and budget approved, no
rejection standing), procurement -> approval while no contract, completed after a delivery or
every live contract completed; cancelling, delivering and signing have their own calls."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from services.procurement.domain import stages
from services.procurement.domain.stages import Decision, ProjectFacts

T0 = datetime(2026, 11, 16, 2, 0, tzinfo=timezone.utc)
APPROVED = {"principle-budget": "approved"}


def project(stage: str, **facts) -> ProjectFacts:
    return ProjectFacts(stage=stage, **facts)


def allowed(facts: ProjectFacts, target: str) -> bool:
    return stages.stage_errors(facts, target) == {}


# --- each move allowed ----------------------------------------------------------------------------


@pytest.mark.parametrize("facts, target", [
    (project("draft"), "quotes"),
    (project("quotes"), "draft"),
    (project("quotes", quotes=1), "approval"),
    (project("approval"), "quotes"),
    (project("approval", decisions=APPROVED), "procurement"),
    (project("procurement"), "approval"),
    (project("delivered"), "completed"),
    (project("contract", contracts=("completed",)), "completed"),
    (project("contract", contracts=("terminated", "completed")), "completed"),
], ids=["draft>quotes", "quotes>draft", "quotes>approval", "approval>quotes", "approval>procurement",
        "procurement>approval", "delivered>completed", "contract>completed", "terminated-ignored>completed"])
def test_each_move_the_rule_allows(facts, target):
    assert allowed(facts, target)


# --- each move refused, and why ---------------------------------------------------------------------


def test_a_move_to_the_stage_it_is_at_is_refused():
    assert stages.stage_errors(project("quotes", quotes=1), "quotes") == {
        "stage": ["the project is at quotes already"]}


@pytest.mark.parametrize("target, route", [("cancelled", "/cancel"), ("delivered", "/delivery"),
                                           ("contract", "/procurement/contracts")])
def test_cancelling_delivering_and_signing_have_their_own_calls(target, route):
    errors = stages.stage_errors(project("procurement", decisions=APPROVED), target)
    assert list(errors) == ["stage"] and route in errors["stage"][0]


@pytest.mark.parametrize("final", ["completed", "cancelled", "delivered"])
@pytest.mark.parametrize("target", ["draft", "quotes", "approval", "procurement"])
def test_a_final_project_moves_nowhere_back(final, target):
    assert stages.stage_errors(project(final, quotes=2, decisions=APPROVED), target) == {
        "stage": [f"the project is {final}"]}


@pytest.mark.parametrize("current", ["approval", "procurement", "contract"])
def test_only_a_project_at_quotes_goes_back_to_draft(current):
    errors = stages.stage_errors(project(current, quotes=1), "draft")
    assert list(errors) == ["stage"] and "quotes" in errors["stage"][0]


@pytest.mark.parametrize("current", ["procurement", "contract"])
def test_quotes_come_after_the_draft_or_back_from_approval_only(current):
    assert list(stages.stage_errors(project(current, quotes=1), "quotes")) == ["stage"]


def test_approval_needs_a_quote_and_the_refusal_names_the_quotes():
    errors = stages.stage_errors(project("quotes", quotes=0), "approval")
    assert list(errors) == ["quotes"]  # a 422 on quotes, not a 409 on the stage


@pytest.mark.parametrize("facts", [project("draft", quotes=1),
                                   project("procurement", contracts=("active",)),
                                   project("contract", contracts=("active",))],
                         ids=["from-draft", "procurement-with-a-contract", "from-contract"])
def test_approval_follows_the_quotes_or_procurement_without_a_contract(facts):
    assert list(stages.stage_errors(facts, "approval")) == ["stage"]


@pytest.mark.parametrize("current", ["draft", "quotes", "contract"])
def test_procurement_follows_approval_only(current):
    assert list(stages.stage_errors(project(current, quotes=1, decisions=APPROVED), "procurement")) == ["stage"]


def test_procurement_needs_the_principle_and_budget_approved():
    errors = stages.stage_errors(project("approval"), "procurement")
    assert list(errors) == ["approvals"] and len(errors["approvals"]) == 1
    assert "principle and budget" in errors["approvals"][0]


def test_a_standing_rejection_of_any_kind_stops_procurement():
    facts = project("approval", decisions={"principle-budget": "approved", "tor": "rejected"})
    errors = stages.stage_errors(facts, "procurement")
    assert list(errors) == ["approvals"] and len(errors["approvals"]) == 1
    assert errors["approvals"][0].endswith(": tor")


def test_a_rejected_principle_is_both_unapproved_and_a_standing_rejection():
    facts = project("approval", decisions={"principle-budget": "rejected", "reference-price": "rejected"})
    reasons = stages.stage_errors(facts, "procurement")["approvals"]
    assert len(reasons) == 2
    assert "principle and budget" in reasons[0]
    assert reasons[1].endswith(": principle-budget, reference-price")  # every kind, in the manual's order


@pytest.mark.parametrize("contracts", [(), ("active",), ("completed", "active"), ("terminated",)],
                         ids=["none", "active", "one-of-two-open", "only-terminated"])
def test_a_contract_project_completes_only_when_every_live_contract_is_completed(contracts):
    errors = stages.stage_errors(project("contract", contracts=contracts), "completed")
    assert errors == {"stage": ["the contract is not completed yet"]}


@pytest.mark.parametrize("current", ["draft", "quotes", "approval", "procurement"])
def test_a_project_completes_only_after_its_delivery_or_its_contract(current):
    assert list(stages.stage_errors(project(current), "completed")) == ["stage"]


def test_an_unknown_stage_is_refused():
    assert stages.stage_errors(project("draft"), "archived") == {"stage": ["unknown stage archived"]}


# --- next stages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("facts, expected", [
    (project("draft"), ["quotes"]),
    (project("quotes"), ["draft"]),
    (project("quotes", quotes=2), ["draft", "approval"]),
    (project("approval"), ["quotes"]),
    (project("approval", decisions=APPROVED), ["quotes", "procurement"]),
    (project("procurement"), ["approval"]),
    (project("procurement", contracts=("active",)), []),
    (project("contract", contracts=("active",)), []),
    (project("contract", contracts=("completed",)), ["completed"]),
    (project("delivered"), ["completed"]),
    (project("completed"), []),
    (project("cancelled"), []),
])
def test_next_stages_are_the_moves_allowed_now(facts, expected):
    assert stages.next_stages(facts) == expected


# --- the standing decision ("the director rejects") ------------------------------------------------


def test_the_latest_decision_of_each_kind_stands():
    standing = stages.standing_decisions([
        Decision("principle-budget", "rejected", T0, order=1),
        Decision("principle-budget", "approved", T0 + timedelta(days=2), order=2),
        Decision("tor", "approved", T0, order=3),
        Decision("tor", "rejected", T0 + timedelta(hours=1), order=4),
    ])
    assert standing == {"principle-budget": "approved", "tor": "rejected", "reference-price": None,
                        "vendor-selection": None}


def test_decisions_are_read_by_their_moment_not_the_order_given():
    later_first = [Decision("principle-budget", "approved", T0 + timedelta(days=1), order=9),
                   Decision("principle-budget", "rejected", T0, order=1)]
    assert stages.standing_decisions(later_first)["principle-budget"] == "approved"


def test_two_decisions_at_the_same_moment_the_later_record_stands():
    same_moment = [Decision("tor", "approved", T0, order=2), Decision("tor", "rejected", T0, order=1)]
    assert stages.standing_decisions(same_moment)["tor"] == "approved"


def test_rejected_then_approved_again_lets_the_project_go_on():
    rejected = stages.standing_decisions([Decision("principle-budget", "rejected", T0, order=1)])
    assert not allowed(project("approval", decisions=rejected), "procurement")
    assert stages.standing_rejections(project("approval", decisions=rejected)) == ["principle-budget"]
    again = stages.standing_decisions([Decision("principle-budget", "rejected", T0, order=1),
                                       Decision("principle-budget", "approved", T0 + timedelta(days=1), order=2)])
    assert stages.standing_rejections(project("approval", decisions=again)) == []
    assert allowed(project("approval", decisions=again), "procurement")


def test_approved_then_rejected_stops_it_again():
    decisions = stages.standing_decisions([Decision("principle-budget", "approved", T0, order=1),
                                           Decision("principle-budget", "rejected", T0 + timedelta(days=1), order=2)])
    assert not allowed(project("approval", decisions=decisions), "procurement")


# --- the reference price ----------------------------------------------------------------------------


def test_the_reference_price_is_the_median_of_the_quotes():
    assert stages.median_price([Decimal("300"), Decimal("100"), Decimal("250")]) == Decimal("250.00")
    assert stages.median_price(["1000"]) == Decimal("1000.00")


def test_two_quotes_give_their_mean_rounded_half_up_to_the_satang():
    assert stages.median_price(["100.00", "201.00"]) == Decimal("150.50")
    # (0.01 + 0.04) / 2 = 0.025: half up is 0.03 (half-even would say 0.02)
    assert stages.median_price(["0.01", "0.04"]) == Decimal("0.03")


def test_no_quote_no_reference_price():
    assert stages.median_price([]) is None


# --- signing a contract -----------------------------------------------------------------------------


def test_a_project_ready_for_its_contract_has_no_blocker():
    ready = project("procurement", decisions=APPROVED, inspection_members=3)
    assert stages.contract_blockers(ready) == []


def test_every_reason_a_contract_waits_is_told_at_once():
    blockers = stages.contract_blockers(project("approval"))
    assert len(blockers) == 3
    assert "stage approval" in blockers[0] and "principle and budget" in blockers[1]
    assert "inspection committee" in blockers[2]


@pytest.mark.parametrize("facts, word", [
    (project("contract", decisions=APPROVED, inspection_members=3), "stage contract"),
    (project("procurement", decisions={"principle-budget": "rejected"}, inspection_members=3), "principle"),
    (project("procurement", decisions=APPROVED, inspection_members=0), "inspection committee"),
], ids=["signed-already", "principle-rejected", "no-members"])
def test_each_blocker_alone(facts, word):
    blockers = stages.contract_blockers(facts)
    assert len(blockers) == 1 and word in blockers[0]


# --- what a stage still allows ----------------------------------------------------------------------


def test_quotes_are_added_and_removed_only_while_gathered():
    for early in ("draft", "quotes"):
        assert stages.quote_errors(early) == {} and stages.quote_errors(early, removing=True) == {}
    added, removed = stages.quote_errors("approval"), stages.quote_errors("approval", removing=True)
    assert list(added) == ["stage"] and list(removed) == ["stage"] and added != removed
    assert added["stage"][0].endswith("at approval")


def test_a_draft_moves_on_to_quotes_with_its_tor_or_first_quote():
    assert stages.moves_on_with("draft", tor_added=True) == "quotes"
    assert stages.moves_on_with("draft", quote_added=True) == "quotes"
    assert stages.moves_on_with("draft") == "draft"  # another kind of document
    assert stages.moves_on_with("approval", tor_added=True) == "approval"


def test_closed_final_and_cancelled_projects():
    assert stages.closed_errors("contract") == {} and stages.closed_errors("delivered") == {}
    assert stages.closed_errors("completed") == {"stage": ["the project is completed: nothing more to change"]}
    assert stages.final_errors("contract") == {}
    assert all(list(stages.final_errors(s)) == ["stage"] for s in ("delivered", "completed", "cancelled"))
    assert stages.documents_errors("completed") == {} and list(stages.documents_errors("cancelled")) == ["stage"]


@pytest.mark.parametrize("facts, field", [
    (project("delivered", delivered=True), "stage"),
    (project("procurement", delivered=True), "stage"),
    (project("cancelled"), "stage"),
    (project("contract", contracts=("active",)), "stage"),
    (project("procurement", contracts=("terminated",)), "stage"),
    (project("procurement", kind="hire"), "kind"),
], ids=["delivered", "recorded-already", "cancelled", "contract", "had-a-contract", "hire"])
def test_a_plain_purchase_is_delivered_once_without_a_contract(facts, field):
    assert list(stages.purchase_delivery_errors(facts)) == [field]


@pytest.mark.parametrize("stage", ["draft", "quotes", "approval", "procurement"])
def test_a_purchase_or_a_rental_is_delivered_at_any_open_stage_before_a_contract(stage):
    assert stages.purchase_delivery_errors(project(stage, kind="rent")) == {}


def test_cancelling_waits_for_an_active_contract_to_be_terminated():
    assert stages.cancel_errors(project("procurement")) == {}
    assert stages.cancel_errors(project("contract", contracts=("terminated",))) == {}
    assert "terminate" in stages.cancel_errors(project("contract", contracts=("active",)))["stage"][0]
    assert stages.cancel_errors(project("cancelled")) == {"stage": ["the project is cancelled"]}


def test_a_decision_as_given():
    assert stages.approval_errors("approval", "tor", "approved", "", has_reference_price=False) == {}
    assert list(stages.approval_errors("approval", "tor", "rejected", "  ", has_reference_price=False)) == ["note"]
    assert list(stages.approval_errors("quotes", "reference-price", "approved", "", False)) == ["kind"]
    assert stages.approval_errors("quotes", "reference-price", "approved", "", True) == {}
    assert list(stages.approval_errors("approval", "vendor-selection", "approved", "", True)) == ["kind"]
    assert stages.approval_errors("procurement", "vendor-selection", "approved", "", True) == {}
