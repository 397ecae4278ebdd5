"""An action body becomes the command its ``outcome`` names, without a database
(services/assignment/handlers/commands.py, from what ``ActionSchema`` loads)."""
from __future__ import annotations

import pytest
from marshmallow import ValidationError

from services.assignment.handlers.commands import AddNote, AssignStep, CompleteStep, SetTarget, from_action
from services.assignment.schemas import ActionSchema

DOCUMENT = {"key": "memo", "name": "บันทึกข้อความ", "ref": "สพป.123"}
EVERYTHING = {"note": "ด่วน", "assignee": "suda", "target": "3 days", "values": {"estimate_days": "2"},
              "team": ["anan", "suda"], "documents": [DOCUMENT]}


def command_for(body: dict):
    return from_action(ActionSchema().load(body))


def test_each_built_in_action_is_its_own_command_and_takes_only_what_it_uses():
    """Sent with every field an action body may carry, each built-in keeps only its own (the others
    never mattered to it)."""
    body = {"step": "check-problem", **EVERYTHING}
    assert command_for({**body, "outcome": "assign"}) == AssignStep(step="check-problem", assignee="suda",
                                                                   note="ด่วน")
    assert command_for({**body, "outcome": "set-target"}) == SetTarget(step="check-problem", target="3 days",
                                                                       note="ด่วน")
    assert command_for({**body, "outcome": "note"}) == AddNote(step="check-problem", note="ด่วน",
                                                               documents=(DOCUMENT,))


def test_any_other_outcome_completes_the_step_with_what_was_entered():
    completed = command_for({"step": "approve", "outcome": "reject", **EVERYTHING})
    assert completed == CompleteStep(step="approve", outcome="reject", note="ด่วน", values={"estimate_days": "2"},
                                     team=("anan", "suda"), assignee="suda", documents=(DOCUMENT,))


def test_what_was_not_sent_takes_the_schemas_defaults():
    assert command_for({"step": "approve", "outcome": "approve"}) == CompleteStep(step="approve", outcome="approve")
    assert command_for({"step": "approve", "outcome": "assign"}) == AssignStep(step="approve")
    assert command_for({"step": "approve", "outcome": "set-target"}) == SetTarget(step="approve")
    assert command_for({"step": "approve", "outcome": "note"}) == AddNote(step="approve")


def test_a_document_without_a_ref_has_an_empty_one():
    note = command_for({"step": "approve", "outcome": "note", "documents": [{"key": "memo", "name": "m"}]})
    assert note.documents == ({"key": "memo", "name": "m", "ref": ""},)


@pytest.mark.parametrize("body, field", [
    ({"outcome": "assign"}, "step"),
    ({"step": "approve"}, "outcome"),
    ({"step": "approve", "outcome": "approve", "values": ["2"]}, "values"),
    ({"step": "approve", "outcome": "note", "documents": [{"key": "Memo!", "name": "m"}]}, "documents"),
])
def test_a_body_the_schema_refuses_makes_no_command(body, field):
    with pytest.raises(ValidationError) as refused:
        command_for(body)
    assert field in refused.value.messages


def test_commands_are_values_that_cannot_be_changed_after_they_are_made():
    command = AssignStep(step="approve", assignee="suda")
    with pytest.raises(AttributeError):
        command.assignee = "anan"  # type: ignore[misc]
