"""A milestone's way from pending to paid and the guards of each step, without a database
(services/procurement/domain/milestones.py): delivered while pending; every inspection committee
member's word once per delivery round, a rejection sends it back for a new round; evidence until
acceptance, and accepting needs some; paid once accepted; nothing on a contract not active."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.procurement.domain import milestones
from services.procurement.domain.milestones import MilestoneFacts, Word
from shared.errors import Invalid

DELIVERED, ACCEPTED, PAID = date(2026, 11, 2), date(2026, 11, 5), date(2026, 11, 20)
COMMITTEE = [11, 12, 13]


def pending(**kw) -> MilestoneFacts:
    return MilestoneFacts(seq=2, **kw)


def delivered(*words: Word) -> MilestoneFacts:
    return MilestoneFacts(seq=2, delivered_on=DELIVERED, words=words)


def accepted() -> MilestoneFacts:
    words = tuple(Word(m, 1, "accepted") for m in COMMITTEE)
    return MilestoneFacts(seq=2, delivered_on=DELIVERED, accepted_on=ACCEPTED, words=words)


def paid() -> MilestoneFacts:
    return MilestoneFacts(seq=2, delivered_on=DELIVERED, accepted_on=ACCEPTED, paid_on=PAID,
                          words=accepted().words)


def test_the_state_is_how_far_it_has_gone():
    assert milestones.state_of(None, None, None) == "pending"
    assert milestones.state_of(DELIVERED, None, None) == "delivered"
    assert milestones.state_of(DELIVERED, ACCEPTED, None) == "accepted"
    assert milestones.state_of(DELIVERED, ACCEPTED, PAID) == "paid"
    assert [m.state for m in (pending(), delivered(), accepted(), paid())] == list(milestones.STATES)


# --- rounds and the committee's word ---------------------------------------------------------------


def test_each_rejection_opens_a_new_round():
    assert milestones.current_round([]) == 1
    assert milestones.current_round([Word(11, 1, "accepted"), Word(12, 1, "accepted")]) == 1
    assert milestones.current_round([Word(11, 1, "accepted"), Word(12, 1, "rejected")]) == 2
    assert milestones.current_round([Word(12, 1, "rejected"), Word(13, 2, "rejected")]) == 3


def test_the_delivery_waits_on_the_members_who_have_not_spoken_in_this_round():
    assert milestones.awaiting(delivered(), COMMITTEE) == [11, 12, 13]
    assert milestones.awaiting(delivered(Word(12, 1, "accepted")), COMMITTEE) == [11, 13]
    # member 12 accepted the first delivery, 13 rejected it; delivered again, everyone speaks anew
    again = MilestoneFacts(seq=2, delivered_on=DELIVERED, words=(Word(12, 1, "accepted"), Word(13, 1, "rejected")))
    assert again.round == 2 and milestones.awaiting(again, COMMITTEE) == [11, 12, 13]


@pytest.mark.parametrize("facts", [pending(), accepted(), paid()], ids=["pending", "accepted", "paid"])
def test_nobody_is_awaited_unless_it_is_delivered(facts):
    assert milestones.awaiting(facts, COMMITTEE) == []


def test_it_is_accepted_when_every_member_accepted_this_round():
    two = delivered(Word(11, 1, "accepted"), Word(12, 1, "accepted"))
    assert not milestones.accepted_by_all(two, COMMITTEE)
    assert milestones.accepted_by_all(delivered(*two.words, Word(13, 1, "accepted")), COMMITTEE)
    # an acceptance of an earlier round does not count
    earlier = MilestoneFacts(seq=2, delivered_on=DELIVERED, words=(
        Word(11, 1, "accepted"), Word(12, 1, "rejected"), Word(12, 2, "accepted"), Word(13, 2, "accepted")))
    assert not milestones.accepted_by_all(earlier, COMMITTEE)


def test_the_contract_is_completed_when_every_milestone_is_paid():
    assert milestones.all_paid([paid(), paid()])
    assert not milestones.all_paid([paid(), accepted()])


# --- the guards of each step ------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["completed", "terminated"])
def test_nothing_moves_on_a_contract_not_active(status):
    assert milestones.contract_errors("active") == {}
    assert milestones.contract_errors(status) == {"_schema": [f"The contract is {status}."]}


def test_a_delivery_is_recorded_while_pending_only():
    assert milestones.delivery_errors(pending()) == {}
    for facts in (delivered(), accepted(), paid()):
        message = milestones.delivery_errors(facts)["_schema"][0]
        assert message.startswith(f"Milestone 2 is {facts.state} already")


def test_a_delivery_rejected_is_pending_again_and_delivered_anew():
    # the rejection clears the delivery: the milestone is pending in round 2
    back = MilestoneFacts(seq=2, words=(Word(11, 1, "rejected"),))
    assert back.state == "pending" and back.round == 2
    assert milestones.delivery_errors(back) == {}


def test_evidence_is_added_until_acceptance():
    assert milestones.evidence_errors(pending()) == {} and milestones.evidence_errors(delivered()) == {}
    for facts in (accepted(), paid()):
        assert "accepted already" in milestones.evidence_errors(facts)["_schema"][0]


def test_a_member_speaks_on_a_delivered_milestone_once_a_round():
    assert milestones.decision_errors(delivered(), 11, "Ms A") == {}
    assert milestones.decision_errors(delivered(Word(11, 1, "accepted")), 11, "Ms A") == {
        "_schema": ["Ms A decided on this delivery already."]}
    assert milestones.decision_errors(delivered(Word(11, 1, "accepted")), 12, "Mr B") == {}
    for facts in (pending(), accepted(), paid()):
        assert f"is {facts.state};" in milestones.decision_errors(facts, 11, "Ms A")["_schema"][0]


def test_accepting_needs_evidence_rejecting_does_not():
    assert list(milestones.evidence_needed_errors("accepted", 0)) == ["documents"]
    assert milestones.evidence_needed_errors("accepted", 1) == {}
    assert milestones.evidence_needed_errors("rejected", 0) == {}


def test_a_payment_follows_the_acceptance_once():
    assert milestones.payment_errors(accepted()) == {}
    assert milestones.payment_errors(paid()) == {"_schema": ["Milestone 2 is paid already."]}
    for facts in (pending(), delivered()):
        assert f"Milestone 2 is {facts.state};" in milestones.payment_errors(facts)["_schema"][0]


def test_the_plan_changes_only_before_any_delivery():
    assert milestones.plan_change_errors([pending(), MilestoneFacts(seq=3)]) == {}
    assert list(milestones.plan_change_errors([pending(), delivered()])) == ["_schema"]
    # a delivery rejected leaves words behind: the plan is fixed all the same
    rejected_once = MilestoneFacts(seq=2, words=(Word(11, 1, "rejected"),))
    assert list(milestones.plan_change_errors([rejected_once])) == ["_schema"]


# --- a new contract's plan ----------------------------------------------------------------------

START, END = date(2026, 10, 1), date(2027, 3, 31)


def item(due: date, **how) -> dict:
    return {"title": f"งวด {due.isoformat()}", "deliverables": "", "due_on": due, **how}


def test_a_plan_by_amounts_keeps_them_when_they_make_up_the_contract():
    planned = milestones.plan_milestones(Decimal("150000.00"), START, END, [
        item(date(2026, 11, 30), amount="50000"), item(date(2027, 1, 31), amount="100000.00")])
    assert [(p["seq"], p["amount"], p["share_percent"]) for p in planned] == [
        (1, Decimal("50000.00"), None), (2, Decimal("100000.00"), None)]


def test_a_plan_by_shares_rounds_each_to_the_satang_half_up_and_the_last_takes_the_remainder():
    # 1000.01 baht in halves: 500.005 rounds half up to 500.01, so the last is 1000.01 - 500.01
    planned = milestones.plan_milestones(Decimal("1000.01"), START, END, [
        item(date(2026, 11, 30), share_percent="50"), item(date(2027, 1, 31), share_percent="50")])
    assert [p["amount"] for p in planned] == [Decimal("500.01"), Decimal("500.00")]
    assert sum(p["amount"] for p in planned) == Decimal("1000.01")


@pytest.mark.parametrize("items, field", [
    ([], "milestones"),
    ([item(date(2026, 11, 30), amount="1", share_percent="100")], "milestones.0.amount"),
    ([item(date(2026, 11, 30), amount="500"), item(date(2027, 1, 31), share_percent="50")], "milestones"),
    ([item(date(2026, 11, 30), amount="400"), item(date(2027, 1, 31), amount="500")], "milestones"),  # 900 of 1000
    ([item(date(2026, 11, 30), share_percent="60"), item(date(2027, 1, 31), share_percent="60")], "milestones"),
    ([item(date(2027, 1, 31), amount="500"), item(date(2026, 11, 30), amount="500")], "milestones.1.due_on"),
    ([item(date(2027, 4, 1), amount="1000")], "milestones.0.due_on"),  # after the contract ends
    ([item(date(2026, 11, 30), amount="0"), item(date(2027, 1, 31), amount="1000")], "milestones.0.amount"),
])
def test_a_plan_that_does_not_hold_together_is_refused_on_its_field(items, field):
    with pytest.raises(Invalid) as refused:
        milestones.plan_milestones(Decimal("1000.00"), START, END, items)
    assert field in refused.value.errors, refused.value.errors
