"""Who may do what in procurement, without a database (services/procurement/domain/permissions.py),
and the forms the desk offers on each milestone from that same answer. The tables below are the
rule as the SOP gives it: supplies keeps the file; a head or subhead helps while the TOR and quotes
are gathered; the director, a deputy director or a head approves; supplies or the officer record a
delivery; the committee's members give their own word, supplies records a paper signature; finance
or supplies pay; admin may do anything."""
from __future__ import annotations

from datetime import date

import pytest

from services.procurement.domain import permissions
from services.procurement.domain.milestones import MilestoneFacts, Word
from services.procurement.domain.permissions import Actor, Member

ROLES = ("supplies", "finance", "officer", "head", "subhead", "director", "deputy-director", "tor-committee",
         "procurement-committee", "inspection-committee")


def who(role: str, username: str | None = None) -> Actor:
    return Actor(username=username or f"u-{role}", roles=(role,))


ADMIN = Actor("u-admin", ("admin",))
NOBODY = Actor("u-visitor", ())


def test_admin_may_do_anything_and_no_role_nothing():
    assert permissions.may(ADMIN, ("supplies",)) and permissions.may(ADMIN)
    assert not permissions.may(NOBODY, ROLES) and not permissions.may(who("finance"), ("supplies",))
    assert permissions.may(Actor("u-two", ("finance", "head")), ("head",))
    assert permissions.is_admin(ADMIN) and not permissions.is_admin(who("supplies"))


@pytest.mark.parametrize("role", ROLES)
def test_every_procurement_role_reads_and_uses_the_desk(role):
    assert permissions.may_read(who(role)) and permissions.may_read(ADMIN) and not permissions.may_read(NOBODY)


# --- projects ---------------------------------------------------------------------------------------

WRITERS_EARLY = {"supplies", "head", "subhead"}
WRITERS_LATE = {"supplies"}
APPROVERS = {"director", "deputy-director", "head"}


@pytest.mark.parametrize("role", ROLES)
def test_who_opens_a_project(role):
    assert (permissions.project_refusal(who(role), "create") == {}) == (role in WRITERS_EARLY)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("stage", ["draft", "quotes", "approval", "procurement", "contract"])
def test_who_changes_a_project_at_each_stage(role, stage):
    writers = WRITERS_EARLY if stage in ("draft", "quotes") else WRITERS_LATE
    refusal = permissions.project_refusal(who(role), "change", stage)
    assert (refusal == {}) == (role in writers)
    if refusal:
        assert list(refusal) == ["_schema"]
    assert permissions.project_refusal(ADMIN, "change", stage) == {}


def test_a_head_is_told_that_from_approval_on_it_is_supplies_work():
    late = permissions.project_refusal(who("head"), "change", "approval")["_schema"][0]
    other = permissions.project_refusal(who("finance"), "change", "approval")["_schema"][0]
    assert late.startswith("from the approval stage on") and other.startswith("only supplies")


@pytest.mark.parametrize("current, target, head_may", [
    ("draft", "quotes", True), ("quotes", "draft", True), ("quotes", "approval", True),
    ("approval", "quotes", True),  # sends it back to gather again
    ("approval", "procurement", False), ("procurement", "approval", False), ("procurement", "quotes", False),
])
def test_who_moves_a_project(current, target, head_may):
    for role in ("head", "subhead"):
        assert (permissions.project_refusal(who(role), "move", current, target) == {}) == head_may
    assert permissions.project_refusal(who("supplies"), "move", current, target) == {}
    assert permissions.project_refusal(who("director"), "move", current, target) != {}


@pytest.mark.parametrize("role", ROLES)
def test_who_decides_an_approval_and_under_which_role(role):
    assert (permissions.project_refusal(who(role), "decide-approval") == {}) == (role in APPROVERS)
    assert permissions.approver_role(who(role)) == (role if role in APPROVERS else "")


def test_the_role_recorded_is_the_highest_approver_role_held():
    assert permissions.approver_role(Actor("u", ("head", "director"))) == "director"
    assert permissions.approver_role(Actor("u", ("finance", "deputy-director"))) == "deputy-director"
    assert permissions.approver_role(ADMIN) == "admin"
    assert permissions.project_refusal(ADMIN, "decide-approval") == {}


@pytest.mark.parametrize("role", ROLES)
def test_only_supplies_records_a_plain_purchase_s_delivery(role):
    assert (permissions.project_refusal(who(role), "record-delivery") == {}) == (role == "supplies")


def test_an_unknown_project_action_is_a_mistake_not_a_refusal():
    with pytest.raises(ValueError):
        permissions.project_refusal(who("supplies"), "archive", "draft")


# --- contracts --------------------------------------------------------------------------------------

CONTRACT_RULE = {
    "sign": {"supplies"},
    "change": {"supplies"},
    "deliver": {"supplies", "officer"},
    "add-evidence": {"supplies", "officer", "inspection-committee"},
    "sign-for-member": {"supplies"},
    "pay": {"finance", "supplies"},
    "report-incident": {"officer", "inspection-committee", "supplies", "head", "subhead"},
}


@pytest.mark.parametrize("action", sorted(CONTRACT_RULE))
@pytest.mark.parametrize("role", ROLES)
def test_each_role_per_contract_action(action, role):
    refusal = permissions.contract_refusal(who(role), action)
    assert (refusal == {}) == (role in CONTRACT_RULE[action])
    if refusal:
        assert refusal["_schema"][0].startswith("Your roles may not ")
    assert permissions.contract_refusal(ADMIN, action) == {}
    assert set(permissions.contract_roles(action)) == CONTRACT_RULE[action]


# --- milestones: the answer, and the desk's forms ----------------------------------------------------

A = Member(id=11, name="Ms A", username="u-inspect1", position="chair")
B = Member(id=12, name="Mr B", username="u-inspect2")
PAPER = Member(id=13, name="Mrs C (no login)", username=None, position="secretary")
COMMITTEE = [A, B, PAPER]
MEMBER_A = Actor("u-inspect1", ("inspection-committee",))
OUTSIDER = Actor("u-inspect9", ("inspection-committee",))  # the role, not this project's committee
DAY = date(2026, 11, 2)


def milestone(state: str, *words: Word) -> MilestoneFacts:
    dates = {"pending": (None, None, None), "delivered": (DAY, None, None), "accepted": (DAY, DAY, None),
             "paid": (DAY, DAY, DAY)}[state]
    return MilestoneFacts(seq=1, delivered_on=dates[0], accepted_on=dates[1], paid_on=dates[2], words=words)


def actions(person, state, *words, status="active"):
    return permissions.milestone_actions(person, status, milestone(state, *words), COMMITTEE)


def offered(person, state, *words, status="active") -> set[str]:
    offer = permissions.desk_offer(person, status, milestone(state, *words), COMMITTEE)
    names = {name for name in ("deliver", "add_evidence", "pay") if getattr(offer, name)}
    if offer.accept_as is not None:
        names.add(f"accept as {offer.accept_as.name}")
    if offer.accept_for:
        names.add("for " + ", ".join(m.name for m in offer.accept_for))
    return names


def test_the_inspector_is_found_by_username_only():
    assert permissions.inspector(MEMBER_A, COMMITTEE) == A
    assert permissions.inspector(OUTSIDER, COMMITTEE) is None
    assert permissions.member_by_id(COMMITTEE, 13) == PAPER and permissions.member_by_id(COMMITTEE, 99) is None


def test_pending_supplies_and_the_officer_deliver_and_may_bring_evidence_early():
    for person in (who("supplies"), who("officer"), ADMIN):
        allowed = actions(person, "pending")
        assert allowed.deliver and allowed.add_evidence and not allowed.pay
        assert allowed.accept_as is None and allowed.accept_for == ()
    assert not actions(who("finance"), "pending")
    member = actions(MEMBER_A, "pending")  # evidence by the role, no delivery
    assert member.add_evidence and not member.deliver


def test_delivered_each_member_speaks_for_themselves_supplies_for_those_on_paper():
    assert actions(MEMBER_A, "delivered").accept_as == A
    assert actions(OUTSIDER, "delivered").accept_as is None  # the role alone is not membership
    assert actions(who("supplies"), "delivered").accept_for == (A, B, PAPER)
    after_a = actions(who("supplies"), "delivered", Word(11, 1, "accepted"))
    assert after_a.accept_for == (B, PAPER)
    assert actions(MEMBER_A, "delivered", Word(11, 1, "accepted")).accept_as is None
    assert actions(who("finance"), "delivered").accept_for == ()
    assert not actions(who("supplies"), "delivered").deliver


def test_accepted_finance_or_supplies_pay_and_nothing_else_moves():
    for person in (who("finance"), who("supplies")):
        allowed = actions(person, "accepted")
        assert allowed.pay and not allowed.deliver and not allowed.add_evidence
    assert not actions(who("officer"), "accepted") and not actions(MEMBER_A, "accepted")


def test_paid_nobody_does_anything():
    for person in (who("supplies"), who("finance"), MEMBER_A, ADMIN):
        assert not actions(person, "paid")


@pytest.mark.parametrize("status", ["completed", "terminated"])
@pytest.mark.parametrize("state", ["pending", "delivered", "accepted"])
def test_on_a_contract_not_active_nobody_does_anything(status, state):
    for person in (who("supplies"), who("finance"), MEMBER_A, ADMIN):
        assert not actions(person, state, status=status)


# the desk's contract page: each person's forms on a milestone in each state
DESK = {
    "pending": {"supplies": {"deliver"}, "officer": {"deliver"}, "finance": set(), "member": set(),
                "outsider": set(), "director": set()},
    "delivered": {"supplies": {"add_evidence", "for Ms A, Mr B, Mrs C (no login)"}, "officer": {"add_evidence"},
                  "finance": set(), "member": {"add_evidence", "accept as Ms A"}, "outsider": {"add_evidence"},
                  "director": set()},
    "accepted": {"supplies": {"pay"}, "officer": set(), "finance": {"pay"}, "member": set(), "outsider": set(),
                 "director": set()},
    "paid": {"supplies": set(), "officer": set(), "finance": set(), "member": set(), "outsider": set(),
             "director": set()},
}
PEOPLE = {"supplies": who("supplies"), "officer": who("officer"), "finance": who("finance"), "member": MEMBER_A,
          "outsider": OUTSIDER, "director": who("director")}


@pytest.mark.parametrize("state", sorted(DESK))
@pytest.mark.parametrize("person", sorted(PEOPLE))
def test_the_desk_s_forms_for_each_milestone_state(state, person):
    assert offered(PEOPLE[person], state) == DESK[state][person]


def test_the_desk_offers_evidence_only_once_delivered_though_the_rule_allows_it_before():
    assert actions(who("supplies"), "pending").add_evidence
    assert "add_evidence" not in offered(who("supplies"), "pending")


def test_after_a_member_spoke_the_desk_offers_them_nothing_but_evidence_and_supplies_the_others():
    spoke = Word(11, 1, "accepted")
    assert offered(MEMBER_A, "delivered", spoke) == {"add_evidence"}
    assert offered(who("supplies"), "delivered", spoke) == {"add_evidence", "for Mr B, Mrs C (no login)"}


def test_a_delivery_rejected_is_offered_for_delivery_again():
    rejected = Word(12, 1, "rejected")
    assert offered(who("supplies"), "pending", rejected) == {"deliver"}
    assert offered(MEMBER_A, "pending", rejected) == set()


def test_admin_sees_every_form_the_state_allows_but_speaks_for_no_member():
    assert offered(ADMIN, "pending") == {"deliver"}
    assert offered(ADMIN, "delivered") == {"add_evidence", "for Ms A, Mr B, Mrs C (no login)"}
    assert offered(ADMIN, "accepted") == {"pay"}
