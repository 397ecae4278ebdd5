"""Steps several people decide together, without a database (services/assignment/domain/workflow.py:
``approvals``, ``approver_turn``, ``decide``, ``actions_now``) and in the pack format
(shared/packs: ``role: {all_of: [...]}`` and ``role: {in_order: [...]}``).

The two ONESQA steps of the manual (seeds/004) are the premises:
- ``onesqa/web-publish/verify``: "หน.ภทส. และ หน.จรส. ตรวจสอบความถูกต้องครบถ้วนของข้อมูล ... หากดำเนินการไม่ถูกต้อง
  หรือข้อมูลไม่ครบประสานและส่งบันทึกกลับต้นเรื่องเพื่อทำการแก้ไข" (both heads check; wrong: back to the originator);
  หน.ภทส. is the pack's ``head``, หน.จรส. its ``subhead`` (SOP-CATALOG.md's roles).
- ``onesqa/aqa-system-dev/approve-budget``: "ส่งเรื่องผ่านสายบังคับบัญชาถึงผู้อำนวยการเพื่อพิจารณาอนุมัติ ... เมื่อได้รับการ
  อนุมัติแล้วให้ดำเนินการทำบันทึกข้อความขออนุมัติขอบเขตของงานและราคากลาง ... ถึงรองผู้อำนวยการที่กำกับดูแลพิจารณาอนุมัติ"
  (the director, then the deputy director)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from services.assignment.domain import workflow
from services.assignment.domain.workflow import Actor, Decision, Refused
from shared.errors import Conflict, Forbidden
from shared.packs import PackError, find_sop, parse_pack

MOMENT = datetime(2026, 11, 16, 3, 0, tzinfo=timezone.utc)


def person(username: str, *roles: str, acting_for: dict | None = None) -> Actor:
    return Actor(user_id=f"id-{username}", username=username, display_name=username, unit=None,
                 roles=frozenset(roles), acting_for=acting_for or {},
                 acting_for_users=frozenset((acting_for or {}).values()))


HEAD, SUBHEAD = person("somchai", "head"), person("somsri", "subhead")
DIRECTOR, DEPUTY = person("prasert", "director"), person("wilai", "deputy-director")


def verify():
    sop = find_sop("onesqa/web-publish")
    step = sop.step("verify")
    assert (step.approval, step.roles) == ("all_of", ("head", "subhead"))  # หน.ภทส. และ หน.จรส.
    assert sop.approving_outcome("verify") == "ok" and step.outcomes["return"].to == "return-to-origin"
    return sop, step


def approve_budget():
    sop = find_sop("onesqa/aqa-system-dev")
    step = sop.step("approve-budget")
    assert (step.approval, step.roles) == ("in_order", ("director", "deputy-director"))  # ผอ. แล้วจึง รอง ผอ.
    assert sop.approving_outcome("approve-budget") == "approve" and step.outcomes["reject"].kind == "reject"
    return sop, step


def decided(*decisions: workflow.JointMove) -> list[Decision]:
    return [move.decision for move in decisions]


# ---------------------------------------------------------------------------------------------
# all_of: "หน.ภทส. และ หน.จรส."


def test_verify_needs_both_heads_the_first_approval_does_not_complete_the_step():
    """"หน.ภทส. และ หน.จรส. ตรวจสอบความถูกต้องครบถ้วนของข้อมูล": one head's "correct" leaves the other's."""
    sop, step = verify()
    first = workflow.decide(sop, step, HEAD, "ok", [], MOMENT)
    assert not first.completes and first.awaiting == ("subhead",)
    assert first.decision == Decision("head", "somchai", None, "ok", MOMENT)
    second = workflow.decide(sop, step, SUBHEAD, "ok", decided(first))
    assert second.completes and second.awaiting == ()


@pytest.mark.parametrize("first, second", [(HEAD, SUBHEAD), (SUBHEAD, HEAD)], ids=["head-first", "subhead-first"])
def test_verify_both_heads_approve_in_either_order(first, second):
    """"หน.ภทส. และ หน.จรส.": and, not then: either head may check first."""
    sop, step = verify()
    state = workflow.approvals(step, [])
    assert state.turn == state.awaiting == ("head", "subhead")  # both are asked at once
    one = workflow.decide(sop, step, first, "ok", [])
    assert not one.completes and one.asked == ()  # nobody new to ask: both were asked from the start
    assert workflow.decide(sop, step, second, "ok", decided(one)).completes


@pytest.mark.parametrize("refuser", [HEAD, SUBHEAD], ids=["head", "subhead"])
def test_verify_one_head_finding_it_wrong_sends_the_memo_back_at_once(refuser):
    """"หากดำเนินการไม่ถูกต้องหรือข้อมูลไม่ครบ ... ส่งบันทึกกลับต้นเรื่องเพื่อทำการแก้ไข": one refusal decides,
    without waiting for the other head, and even after the other approved."""
    sop, step = verify()
    at_once = workflow.decide(sop, step, refuser, "return", [])
    assert at_once.completes and at_once.decision.outcome == "return"
    other = SUBHEAD if refuser is HEAD else HEAD
    approved = workflow.decide(sop, step, other, "ok", [])
    after_approval = workflow.decide(sop, step, refuser, "return", decided(approved))
    assert after_approval.completes
    assert sop.outcome_kind("verify", step.outcomes["return"], "return-to-origin") == "return"


def test_verify_a_new_round_after_the_correction_starts_the_approvals_over():
    """The originator corrects ("ส่งบันทึกกลับต้นเรื่องเพื่อทำการแก้ไข") and the memo comes back to verify: the
    approvals of the first round do not count (the engine passes only this round's decisions)."""
    sop, step = verify()
    round_one = workflow.decide(sop, step, HEAD, "ok", [])
    workflow.decide(sop, step, SUBHEAD, "return", decided(round_one))
    fresh = workflow.approvals(step, [])
    assert fresh.awaiting == ("head", "subhead") and fresh.decided == ()
    assert not workflow.decide(sop, step, HEAD, "ok", []).completes  # the head approves again, alone: not enough


def test_the_same_person_cannot_approve_twice():
    sop, step = verify()
    one = workflow.decide(sop, step, HEAD, "ok", [])
    refused = pytest.raises(Refused, workflow.decide, sop, step, HEAD, "ok", decided(one)).value
    assert isinstance(refused, Conflict)


def test_one_person_holding_both_roles_cannot_approve_in_both():
    """หน.ภทส. and หน.จรส. are two people's word: someone holding both decides once."""
    sop, step = verify()
    both = person("boonmee", "head", "subhead")
    one = workflow.decide(sop, step, both, "ok", [])
    assert one.decision.role == "head" and not one.completes
    refused = pytest.raises(Refused, workflow.decide, sop, step, both, "ok", decided(one)).value
    assert isinstance(refused, Conflict) and "one person decides once" in str(refused)


def test_a_delegate_approves_for_the_head_away_and_is_kept_as_acting_for_them():
    """A delegate acts for the delegator (``Actor.holds``): the decision is the head's role, by the
    delegate, on the head's behalf."""
    sop, step = verify()
    delegate = person("manee", "officer", acting_for={"head": "somchai"})
    one = workflow.decide(sop, step, delegate, "ok", [], MOMENT)
    assert one.decision == Decision("head", "manee", "somchai", "ok", MOMENT)
    assert workflow.decide(sop, step, SUBHEAD, "ok", decided(one)).completes
    # the head, back, cannot approve a second time in person: their word is given
    assert isinstance(pytest.raises(Refused, workflow.decide, sop, step, HEAD, "ok", decided(one)).value, Conflict)


def test_a_subhead_standing_in_for_the_head_still_decides_only_once():
    sop, step = verify()
    stand_in = person("somsri", "subhead", acting_for={"head": "somchai"})
    one = workflow.decide(sop, step, stand_in, "ok", [])
    assert one.decision.role == "subhead" and one.decision.on_behalf_of is None  # their own role first
    refused = pytest.raises(Refused, workflow.decide, sop, step, stand_in, "ok", decided(one)).value
    assert isinstance(refused, Conflict)


def test_the_outcomes_are_offered_only_to_who_has_still_to_decide():
    sop, step = verify()
    assert workflow.actions_now(HEAD, step, []).outcomes == ("ok", "return")
    one = workflow.decide(sop, step, HEAD, "ok", [])
    after = workflow.actions_now(HEAD, step, [], decided(one))
    assert after.outcomes == () and "note" in after.builtin  # they may still write a note
    assert workflow.actions_now(SUBHEAD, step, [], decided(one)).outcomes == ("ok", "return")
    assert workflow.actions_now(person("x", "officer"), step, [], decided(one)).outcomes == ()


# ---------------------------------------------------------------------------------------------
# in_order: the director, then the deputy director


def test_approve_budget_the_deputy_cannot_act_before_the_director():
    """"ถึงผู้อำนวยการเพื่อพิจารณาอนุมัติ ... เมื่อได้รับการอนุมัติแล้ว ... ถึงรองผู้อำนวยการ": the deputy's turn
    comes after the director's approval; before it, the deputy is refused and offered nothing."""
    sop, step = approve_budget()
    assert workflow.approvals(step, []).turn == ("director",)
    refused = pytest.raises(Refused, workflow.decide, sop, step, DEPUTY, "approve", []).value
    assert isinstance(refused, Forbidden) and "director" in str(refused)
    assert workflow.actions_now(DEPUTY, step, []).outcomes == ()
    assert workflow.actions_now(DIRECTOR, step, []).outcomes == ("approve", "reject")


def test_approve_budget_the_director_approves_then_the_deputy_is_asked_and_completes_it():
    sop, step = approve_budget()
    first = workflow.decide(sop, step, DIRECTOR, "approve", [])
    assert not first.completes and first.asked == ("deputy-director",) and first.awaiting == ("deputy-director",)
    assert workflow.actions_now(DIRECTOR, step, [], decided(first)).outcomes == ()
    assert workflow.actions_now(DEPUTY, step, [], decided(first)).outcomes == ("approve", "reject")
    assert workflow.decide(sop, step, DEPUTY, "approve", decided(first)).completes


def test_approve_budget_the_directors_refusal_ends_the_step_without_the_deputy():
    """The director does not approve the principle and budget: the TOR never reaches the deputy."""
    sop, step = approve_budget()
    refused = workflow.decide(sop, step, DIRECTOR, "reject", [])
    assert refused.completes and refused.decision.outcome == "reject"
    move = workflow.complete(sop, workflow.CaseState("open", workflow.CurrentStep("approve-budget")), "reject")
    assert (move.kind, move.to) == ("reject", "inform-requester")


def test_the_deputy_may_still_refuse_after_the_directors_approval():
    sop, step = approve_budget()
    first = workflow.decide(sop, step, DIRECTOR, "approve", [])
    assert workflow.decide(sop, step, DEPUTY, "reject", decided(first)).completes


# ---------------------------------------------------------------------------------------------
# the pack format

PACK = """
pack: demo
version: 1
organisation: {th: ทดสอบ}
sops:
  one:
    title: {th: ทดสอบ}
    steps:
      - key: check
        title: {th: ตรวจ}
        role: ROLE
        outcomes:
          ok: {to: null, label: {th: ผ่าน}}
          back: {to: check, note_required: true, label: {th: แก้ไข}}
"""


def test_a_plain_list_of_roles_still_means_any_one_of_them():
    step = parse_pack(PACK.replace("ROLE", "[head, subhead]")).sops["one"].step("check")
    assert step.roles == ("head", "subhead") and step.approval is None and not step.joint
    assert workflow.actions_now(HEAD, step, []).outcomes == ("ok", "back")
    assert workflow.actions_now(SUBHEAD, step, []).outcomes == ("ok", "back")


@pytest.mark.parametrize("role, problem", [
    ("{all_of: [head]}", "two or more roles"),
    ("{all_of: [head, head]}", "appears twice"),
    ("{any_of: [head, subhead]}", "all_of"),
    ("{in_order: [requester, head]}", "cannot take part"),
    ("{all_of: [head, chief]}", "unknown role chief"),
])
def test_a_joint_role_that_does_not_make_sense_is_refused_with_its_line(role, problem):
    with pytest.raises(PackError) as error:
        parse_pack(PACK.replace("ROLE", role), source="demo.yaml")
    assert problem in str(error.value) and "demo.yaml:" in str(error.value)


def test_a_joint_step_has_exactly_one_approving_outcome():
    two = PACK.replace("ROLE", "{all_of: [head, subhead]}").replace(
        "          back:", "          also: {to: null, label: {th: ผ่านเช่นกัน}}\n          back:")
    with pytest.raises(PackError) as error:
        parse_pack(two, source="demo.yaml")
    assert "exactly one approving outcome" in str(error.value)
