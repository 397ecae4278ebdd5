"""How a case moves through its SOP, without a database (services/assignment/domain/workflow.py).
The SOPs are the shipped manuals, read by ``shared.packs``; each test first reads the manual's
row it relies on, so that a change of the pack shows here as a changed premise, not a riddle."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from services.assignment.domain import workflow
from services.assignment.domain.workflow import Actor, CaseState, CurrentStep, Refused
from shared.packs import find_sop
from shared.workcal import WorkingCalendar

BKK = ZoneInfo("Asia/Bangkok")
CAL = WorkingCalendar()  # 08:30-16:30, Monday to Friday, Thai holidays


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BKK)  # 16 Nov 2026 is a Monday; no holiday that week


def person(username: str, *roles: str, acting_for: dict | None = None, for_users: tuple = ()) -> Actor:
    return Actor(user_id=f"id-{username}", username=username, display_name=username, unit=None,
                 roles=frozenset(roles), acting_for=acting_for or {}, acting_for_users=frozenset(for_users))


def at_step(key: str, round_: int = 1, waiting_on: str | None = None, **case) -> CaseState:
    return CaseState(status=case.pop("status", "open"), current=CurrentStep(key, round_, waiting_on), **case)


def refusal(call, *args, **kwargs) -> Refused:
    with pytest.raises(Refused) as refused:
        call(*args, **kwargs)
    return refused.value


# ---------------------------------------------------------------------------------------------
# where an outcome leads


def test_an_outcome_leads_to_the_step_the_manual_names_next():
    sop = find_sop("up/info-system-dev")
    assert sop.steps[0].outcomes["done"].to == "director-decision"  # the manual: check, then the director
    move = workflow.complete(sop, at_step("check-request"), "done")
    assert (move.to, move.kind, move.ends, move.result) == ("director-decision", "forward", False, None)
    assert move.events == ("case.step_completed",)
    assert move.waits_on is None and move.returns_to is None


def test_the_director_rejects_and_the_case_ends_rejected():
    sop = find_sop("up/info-system-dev")
    step = sop.step("director-decision")
    reject = step.outcomes["reject"]
    assert step.roles == ("director",) and (reject.to, reject.result, reject.note_required) == (None, "rejected", True)

    # the director may decide, and must say why when rejecting
    director = person("dr-kasem", "director")
    assert workflow.may_act(director, step, []) == (True, None)
    assert list(refusal(workflow.check_outcome, step, "reject", note="   ").errors) == ["note"]
    checked = workflow.check_outcome(step, "reject", note="งบประมาณปีนี้ไม่พอ")
    assert checked.outcome is reject

    move = workflow.complete(sop, at_step("director-decision"), "reject")
    assert (move.ends, move.to, move.result, move.kind) == (True, None, "rejected", "reject")
    assert move.events == ("case.step_completed", "case.step_rejected")

    # approving goes on to the assignment the manual names
    move = workflow.complete(sop, at_step("director-decision"), "approve")
    assert (move.ends, move.to, move.result, move.kind) == (False, "assign", None, "forward")
    assert move.events == ("case.step_completed",)


def test_the_last_step_done_ends_the_case_completed():
    sop = find_sop("up/info-system-dev")
    last = sop.steps[-1]
    [(key, outcome)] = last.outcomes.items()
    assert (outcome.to, outcome.result) == (None, "completed")
    move = workflow.complete(sop, at_step(last.key), key)
    assert (move.ends, move.result, move.kind, move.events) == (True, "completed", "forward", ("case.step_completed",))


def test_a_decline_that_tells_the_requester_first_ends_the_case_rejected_after():
    sop = find_sop("onesqa/eqa-data-request")
    decline = sop.step("head-review").outcomes["decline"]
    told = sop.step(decline.to)
    assert (decline.to, decline.kind) == ("inform-requester", "reject")
    assert [(o.to, o.result) for o in told.outcomes.values()] == [(None, "rejected")]

    move = workflow.complete(sop, at_step("head-review"), "decline")
    assert (move.to, move.kind, move.ends) == ("inform-requester", "reject", False)
    assert move.events == ("case.step_completed", "case.step_rejected")
    move = workflow.complete(sop, at_step("inform-requester"), "done")
    assert (move.ends, move.result) == (True, "rejected")


@pytest.mark.parametrize("entered, destination",
                         [("2", "lend-replacement"), ("1", "repair"), ("1.5", "lend-replacement")])
def test_an_estimate_over_one_day_branches_to_a_replacement(entered, destination):
    sop = find_sop("onesqa/equipment-support")
    step = sop.step("assign")
    [branch] = step.outcomes["done"].branches
    assert (branch.condition.input, branch.condition.op, branch.condition.value, branch.to) == (
        "estimate_days", "gt", 1, "lend-replacement")
    assert step.outcomes["done"].to == "repair"  # otherwise

    checked = workflow.check_outcome(step, "done", values={"estimate_days": entered})
    assert checked.values == {"estimate_days": float(entered)}
    move = workflow.complete(sop, at_step("assign"), "done", checked.values)
    assert (move.to, move.kind) == (destination, "forward")
    assert move.values == {"estimate_days": float(entered)}


def test_a_branch_reads_the_values_entered_at_earlier_steps_too():
    sop = find_sop("onesqa/equipment-support")
    move = workflow.complete(sop, at_step("assign", values={"estimate_days": 3.0}), "done", {})
    assert move.to == "lend-replacement"


# ---------------------------------------------------------------------------------------------
# a return for correction, waits and their end


def test_a_return_for_correction_hands_the_case_to_the_requester_and_stops_the_clock():
    sop = find_sop("sesao-sc/esaraban-account")
    incomplete = sop.step("check-details").outcomes["incomplete"]
    asked = sop.step(incomplete.to)
    assert (incomplete.to, incomplete.note_required, asked.wait, asked.roles) == (
        "ask-requester", True, "requester", ("requester",))

    move = workflow.complete(sop, at_step("check-details"), "incomplete")
    assert (move.kind, move.to, move.returns_to, move.waits_on) == ("return", "ask-requester", "ask-requester",
                                                                   "requester")
    assert move.events == ("case.step_completed", "case.step_returned")

    begun = workflow.start(asked, rounds_before=0, started_at=at(16, 10), values={}, cal=CAL)
    assert (begun.round, begun.waiting_on, begun.pauses_clock, begun.due_at) == (1, "requester", True, None)

    # the requester answers: the step is done with its answer, the clock runs again, and the
    # check they were returned from starts its second round
    waiting = at_step("ask-requester", waiting_on="requester", paused=True)
    resumption = workflow.resume(sop, waiting, "requester")
    assert (resumption.step, resumption.outcome, resumption.resumes_clock) == ("ask-requester", "corrected", True)
    move = workflow.complete(sop, waiting, "corrected")
    assert (move.to, move.kind, move.resumes_clock) == ("check-details", "forward", True)
    # only the requester's answer restarts the clock: staff finishing their own step do not
    assert workflow.complete(sop, at_step("check-details", paused=True), "ok").resumes_clock is False
    again = workflow.start(sop.step("check-details"), rounds_before=1, started_at=at(17, 9), values={}, cal=CAL)
    assert (again.round, again.waiting_on, again.pauses_clock) == (2, None, False)


def test_a_wait_on_procurement_ends_only_with_its_answer_about_that_step():
    sop = find_sop("sesao-sc/repair")
    parts = sop.step("parts-purchase")
    assert (sop.step("diagnose").outcomes["parts"].to, parts.wait, list(parts.outcomes)) == (
        "parts-purchase", "procurement-delivery", ["delivered"])

    move = workflow.complete(sop, at_step("diagnose"), "parts")
    assert (move.to, move.kind, move.waits_on) == ("parts-purchase", "forward", "procurement-delivery")
    begun = workflow.start(parts, rounds_before=0, started_at=at(16, 10), values={}, cal=CAL)
    assert (begun.waiting_on, begun.pauses_clock) == ("procurement-delivery", False)  # the unit's own time runs on

    waiting = at_step("parts-purchase", waiting_on="procurement-delivery")
    resumption = workflow.resume(sop, waiting, "procurement-delivery", "parts-purchase")
    assert (resumption.outcome, resumption.resumes_clock) == ("delivered", False)
    assert workflow.complete(sop, waiting, resumption.outcome).to == "repair"

    # not waiting on them there: news about another step, from someone else, a repeat, a closed case
    assert workflow.resume(sop, waiting, "procurement-delivery", "repair") is None
    assert workflow.resume(sop, waiting, "requester") is None
    assert workflow.resume(sop, at_step("repair"), "procurement-delivery", "parts-purchase") is None
    closed = CaseState(status="closed", current=None)
    assert workflow.resume(sop, closed, "procurement-delivery") is None

    # staff acting on it record that the wait is over; on the requester's answer they do not
    assert workflow.staff_end_wait(waiting.current)
    assert not workflow.staff_end_wait(CurrentStep("ask-requester", 1, "requester"))
    assert not workflow.staff_end_wait(CurrentStep("repair"))


def test_a_step_is_due_by_the_manuals_working_time_or_the_moment_entered_earlier():
    sop = find_sop("up/info-system-dev")
    target = sop.step("director-decision").target
    assert (target.kind, target.low, target.high, target.unit) == ("fixed", 1, 2, "days")
    # Monday 10:00 + 1 working day (480 min): Tuesday 10:00; + 2: Wednesday 10:00
    begun = workflow.start(sop.step("director-decision"), 0, at(16, 10), {}, CAL)
    assert (begun.round, begun.expected_at, begun.due_at) == (1, at(17, 10), at(18, 10))

    consultation = find_sop("sesao-sc/consultation")
    promise, expert = consultation.step("promise-callback"), consultation.step("consult-expert")
    assert [(i.name, i.type) for i in promise.inputs] == [("callback_at", "datetime")]
    assert (expert.target.kind, expert.target.input) == ("until", "callback_at")
    # the call-back time is typed as Thai time and kept in UTC (Bangkok is UTC+7)
    checked = workflow.check_outcome(promise, "done", values={"callback_at": "2026-11-17T14:00"})
    assert checked.values == {"callback_at": datetime(2026, 11, 17, 7, 0, tzinfo=timezone.utc).isoformat()}
    due, expected, _ = workflow.step_due(expert, checked.values, at(16, 10), CAL)
    assert (due, expected) == (at(17, 14), None)


def test_the_memo_the_requester_files_is_their_first_step_done_when_the_case_opens():
    memo = find_sop("rmutl/system-dev").first_step
    assert (memo.key, memo.roles, memo.wait, list(memo.outcomes)) == ("submit-memo", ("requester",), None, ["done"])
    assert workflow.request_outcome(memo) == "done"
    form = find_sop("sesao-sc/repair").first_step
    assert form.roles == ("officer",)
    assert workflow.request_outcome(form) is None  # the officer receives the form: staff work


# ---------------------------------------------------------------------------------------------
# who may act


def test_a_role_holder_acts_and_a_stranger_is_refused():
    sop = find_sop("sesao-sc/repair")
    step = sop.step("check-report")
    assert step.roles == ("officer",)
    assert workflow.may_act(person("malee", "officer"), step, []) == (True, None)
    stranger = person("anan", "finance")
    assert workflow.may_act(stranger, step, []) == (False, None)
    refused = refusal(workflow.require, stranger, step, workflow.may_act(stranger, step, []))
    assert refused.kind == "forbidden" and "officer" in refused.message and "finance" in refused.message
    assert workflow.actions_now(stranger, step, []).any is False


def test_a_delegate_acts_for_the_director_on_their_behalf():
    step = find_sop("up/info-system-dev").step("director-decision")
    deputy = person("suda", "officer", acting_for={"director": "dr-kasem"}, for_users=("dr-kasem",))
    assert workflow.may_act(deputy, step, []) == (True, "dr-kasem")
    actions = workflow.actions_now(deputy, step, [])
    assert (actions.outcomes, actions.on_behalf_of) == (("approve", "reject"), "dr-kasem")


def test_on_a_team_step_the_teams_members_act_and_whoever_stands_in_for_one():
    sop = find_sop("up/info-system-dev")
    assign, step = sop.step("assign"), sop.step("gather-requirements")
    assert assign.appoints_team and step.roles == ("team",)
    team = ["anan", "suda"]
    assert workflow.may_act(person("suda", "officer"), step, team) == (True, None)
    assert workflow.may_act(person("malee", "officer", for_users=("anan",)), step, team) == (True, "anan")
    assert workflow.may_act(person("somchai", "officer"), step, team) == (False, None)
    # it is theirs to take: the team, not the holders of any role
    assert workflow.who_may_take(step, team) == workflow.Takers(roles=(), team=("anan", "suda"))
    assert workflow.who_may_take(assign, team) == workflow.Takers(roles=("head",), team=None)


def test_staff_who_take_answers_record_the_requesters_step_for_them():
    step = find_sop("sesao-sc/esaraban-account").step("ask-requester")
    for role in ("intake-clerk", "officer", "head"):
        assert workflow.may_act(person("x", role), step, []) == (True, "requester"), role
    assert workflow.may_act(person("x", "director"), step, []) == (False, None)
    assert workflow.who_may_take(step, []).roles == ()  # nobody is assigned the requester's part


def test_a_head_assigns_anyone_and_others_may_only_take_a_step_themselves():
    sop = find_sop("sesao-sc/repair")
    step = sop.step("check-report")
    head, officer, finance = person("boss", "head"), person("malee", "officer"), person("anan", "finance")
    may = lambda who: workflow.may_act(who, step, [])  # noqa: E731
    assert workflow.assignee_asked(head, step, may(head), "malee") == "malee"
    assert workflow.assignee_asked(officer, step, may(officer), None) == "malee"  # takes it
    assert refusal(workflow.assignee_asked, officer, step, may(officer), "somchai").kind == "forbidden"
    assert refusal(workflow.assignee_asked, finance, step, may(finance), None).kind == "forbidden"
    # the one given the step must be able to act on it
    workflow.check_assignee(officer, step, [])
    refused = refusal(workflow.check_assignee, finance, step, [])
    assert (refused.kind, refused.errors) == ("invalid", {"assignee": ["anan holds none of officer"]})
    # nobody takes the requester's part
    asked = sop.step("ask-requester")
    assert refusal(workflow.assignee_asked, head, asked, (False, None), "malee").errors == {
        "assignee": ["the requester holds this step"]}
    # a head who holds none of the step's roles may assign it and do nothing else
    assert workflow.actions_now(head, step, []) == workflow.Actions(outcomes=(), builtin=("assign",),
                                                                     on_behalf_of=None)


def test_only_the_current_step_of_an_open_case_is_acted_on():
    sop = find_sop("sesao-sc/repair")
    assert workflow.current_step(sop, at_step("check-report"), "check-report").key == "check-report"
    refused = refusal(workflow.current_step, sop, at_step("receive-form"), "check-report")
    assert (refused.kind, refused.errors) == ("conflict", {"step": ["the current step is receive-form"]})
    closed = CaseState(status="closed", current=None)
    assert refusal(workflow.current_step, sop, closed, "handover").errors == {"step": ["the case is closed"]}
    refused = refusal(workflow.current_step, sop, at_step("repair"), "explode")
    assert (refused.kind, refused.errors) == ("invalid", {"step": ["sesao-sc/repair has no step explode"]})


# ---------------------------------------------------------------------------------------------
# what an action must carry


def test_values_are_required_typed_and_only_those_the_step_asks():
    step = find_sop("onesqa/equipment-support").step("assign")
    assert [(i.name, i.type, i.required) for i in step.inputs] == [("estimate_days", "number", True)]
    cases = [({}, {"values.estimate_days": ["required"]}),
             ({"estimate_days": ""}, {"values.estimate_days": ["required"]}),
             ({"estimate_days": "abc"}, {"values.estimate_days": ["a number"]}),
             ({"estimate_days": True}, {"values.estimate_days": ["a number"]}),
             ({"estimate_days": 1, "colour": "red", "size": 3},
              {"values": ["not asked at this step: colour, size"]})]
    for given, errors in cases:
        refused = refusal(workflow.check_outcome, step, "done", values=given)
        assert (refused.kind, refused.errors) == ("invalid", errors), given


def test_typed_values_keep_their_form_and_say_what_was_expected():
    assert workflow.coerce("date", "2026-11-16", ()) == "2026-11-16"
    assert workflow.coerce("select", "new", ("new", "change")) == "new"
    for kind, raw, choices, message in [("date", "16/11/2569", (), "a date (YYYY-MM-DD)"),
                                        ("datetime", "tomorrow", (), "a date and time (ISO 8601)"),
                                        ("select", "other", ("new", "change"), "one of new, change"),
                                        ("text", "ก" * 2001, (), "at most 2000 characters")]:
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            workflow.coerce(kind, raw, choices)


def test_an_unknown_outcome_names_the_choices():
    step = find_sop("sesao-sc/repair").step("verify")
    refused = refusal(workflow.check_outcome, step, "explode")
    [message] = refused.errors["outcome"]
    assert refused.kind == "invalid"
    for choice in [*step.outcomes, "assign", "set-target", "note"]:
        assert choice in message


def test_a_required_document_handed_in_now_or_earlier_this_round_will_do():
    step = find_sop("onesqa/eqa-data-request").step("prepare-data")
    required = [d.key for d in step.documents if d.required]
    assert required == ["data-file"]
    assert refusal(workflow.check_outcome, step, "done").errors == {"documents": ["this step needs: data-file"]}
    workflow.check_outcome(step, "done", documents=[{"key": "data-file", "name": "data.xlsx", "ref": "P-1",
                                                     "id": "d-1"}])
    workflow.check_outcome(step, "done", handed_in={"data-file"})
    assert workflow.documents_missing(step, {"cover-letter"}) == ["data-file"]


def test_a_required_document_is_a_file_a_paper_reference_alone_does_not_do():
    """Documents are files: the paper's reference is a second field beside the file, not a substitute."""
    step = find_sop("onesqa/eqa-data-request").step("prepare-data")
    typed_only = [{"key": "data-file", "name": "data.xlsx", "ref": "P-1"}]
    assert refusal(workflow.check_outcome, step, "done", documents=typed_only).errors == {
        "documents": ["this step needs: data-file"]}


def test_a_step_that_must_tell_the_requester_needs_its_message():
    """up/server-admin/report-back: "แจ้งการดำเนินการ และสรุปผลการแก้ไข" - the step is not done
    without the words the requester reads; the internal note does not stand in for them."""
    step = find_sop("up/server-admin").step("report-back")
    assert step.message_required and step.notify_requester
    assert refusal(workflow.check_outcome, step, "done", note="ภายใน").errors == {
        "message": ["write what the requester is told (the step tells them)"]}
    assert refusal(workflow.check_outcome, step, "done", message="  ").errors.keys() == {"message"}
    workflow.check_outcome(step, "done", message="เปลี่ยนดิสก์ที่เสียแล้ว ระบบกลับมาใช้งานได้")
    optional = find_sop("up/server-admin").step("analyse")
    assert not optional.message_required
    workflow.check_outcome(optional, "done")


def test_a_step_that_appoints_a_team_needs_active_users():
    step = find_sop("up/info-system-dev").step("assign")
    assert workflow.team_named([" suda ", "anan", "suda", ""], None) == ["anan", "suda"]
    assert workflow.team_named(None, "anan") == ["anan"]
    assert refusal(workflow.check_outcome, step, "done", team=[]).errors == {
        "team": ["name at least one member of the team"]}
    assert refusal(workflow.check_outcome, step, "done", team=["anan", "ghost"], active_users={"anan"}).errors == {
        "team": ["no active user ghost"]}
    assert workflow.check_outcome(step, "done", team=["anan"], active_users={"anan"}).team == ["anan"]


def test_the_assignee_sets_a_target_only_where_the_manual_leaves_it_to_them():
    sop = find_sop("up/info-system-dev")
    design, decision = sop.step("design"), sop.step("director-decision")
    assert design.target.kind == "by-assignee"
    # 3 working days from Monday 10:00: Thursday 10:00
    assert workflow.assignee_target(design, " 3 days ", at(16, 10), CAL) == (at(19, 10), "3 days")
    moment = workflow.assignee_target(design, "2026-11-20T15:00", at(16, 10), CAL)
    assert moment == (at(20, 15).astimezone(timezone.utc), "2026-11-20T15:00")
    assert refusal(workflow.assignee_target, design, "2026-11-13T15:00", at(16, 10), CAL).errors == {
        "target": ["the target must be in the future"]}
    assert "target" in refusal(workflow.assignee_target, design, "soon", at(16, 10), CAL).errors
    refused = refusal(workflow.assignee_target, decision, "3 days", at(16, 10), CAL)
    assert refused.kind == "invalid" and "from the manual" in refused.errors["target"][0]
