"""Email noise (issue 14, item 9): "a head gets a 'new work' email for each step he assigns to
himself and acts on at once". A step started by someone's own action and given to them says so
(``self_assigned`` in ``case.step_started``; notify then writes them nothing); a step given to
someone else does not."""
from __future__ import annotations

import pytest

from services.assignment.handlers.commands import CompleteStep
from services.assignment.tests.test_engine import bkk, engine_act, events, open_at


@pytest.mark.org("sesao30")
@pytest.mark.parametrize("team, self_assigned", [(("u-head",), True), (("u-officer",), False)])
def test_a_head_who_appoints_himself_to_the_next_step_is_not_told_of_it_as_new_work(people, team, self_assigned):
    code = f"SD-SELF{'H' if self_assigned else 'O'}-00001"
    open_at("sesao30/systems-planning", bkk(2026, 12, 14, 9, 0), code)
    [appoint] = [e for e in events(code, "case.step_started") if e["step"]["key"] == "appoint-team"]
    assert appoint["step"]["assignee"] == "u-head" and appoint["self_assigned"] is False  # given by sopdesk

    engine_act(code, "u-head", CompleteStep(step="appoint-team", outcome="done", team=team), bkk(2026, 12, 14, 10, 0))
    [study] = [e for e in events(code, "case.step_started") if e["step"]["key"] == "study-plan"]
    assert study["step"]["assignee"] == team[0]
    assert study["self_assigned"] is self_assigned
