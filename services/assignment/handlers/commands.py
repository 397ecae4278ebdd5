"""What a staff member asks of a case's current step, one named command per kind of action:
finish the step with one of its pack's outcomes (``CompleteStep``), give it to someone
(``AssignStep``), set the target a manual leaves to the assignee (``SetTarget``), or write a note
on it (``AddNote``). The engine (``engine.Engine.act``) does what each asks; ``from_action`` turns
what the API and the desk load with ``ActionSchema`` into the command its ``outcome`` names."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

Document = Mapping[str, str]  # a document handed in: {key, name, ref} as ``DocumentRefSchema`` loads it


@dataclass(frozen=True)
class Upload:
    """A document of the step handed in as a file: which of the step's documents (``key``), the
    file as ``shared.files.store`` wrote it (checked by its bytes, not yet recorded: the caller
    discards it when the action is refused), and the paper's reference beside it."""

    key: str
    file: object  # shared.files.StoredFile
    ref: str = ""


@dataclass(frozen=True)
class CompleteStep:
    """Finish ``step`` with ``outcome``, one of its pack's outcomes, with what the outcome asks:
    the step's inputs (``values``), a note, the team a step appoints (or the one ``assignee``
    named instead of a team), the documents handed in (as files: ``uploads``; a paper's reference
    alone: ``documents``), and the ``message`` the requester reads (the ``note`` is internal)."""

    step: str
    outcome: str
    note: str | None = None
    values: Mapping[str, object] = field(default_factory=dict)
    team: tuple[str, ...] = ()
    assignee: str | None = None
    documents: tuple[Document, ...] = ()
    message: str | None = None
    uploads: tuple[Upload, ...] = ()


@dataclass(frozen=True)
class AssignStep:
    """Give ``step`` to ``assignee`` (nobody named: the one who asks takes it)."""

    step: str
    assignee: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class SetTarget:
    """Set the due time of a step whose manual leaves its target to the assignee: '3 days',
    '4 hours', or an ISO 8601 time."""

    step: str
    target: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class AddNote:
    """Write a note on ``step``, or hand in documents at it (one of the two at least)."""

    step: str
    note: str | None = None
    documents: tuple[Document, ...] = ()
    uploads: tuple[Upload, ...] = ()


StepAction = CompleteStep | AssignStep | SetTarget | AddNote


def from_action(data: Mapping, uploads: tuple[Upload, ...] = ()) -> StepAction:
    """The command an action body asks for (``ActionSchema``'s loaded data, and the files sent with
    it): ``outcome`` is ``assign``, ``set-target`` or ``note``, or else one of the step's outcomes.
    What the chosen command does not take is left out (sent or not, it never mattered to that
    action)."""
    step, outcome, note = data["step"], data["outcome"], data.get("note")
    if outcome == "assign":
        return AssignStep(step=step, assignee=data.get("assignee"), note=note)
    if outcome == "set-target":
        return SetTarget(step=step, target=data.get("target"), note=note)
    if outcome == "note":
        return AddNote(step=step, note=note, documents=tuple(data.get("documents") or ()), uploads=tuple(uploads))
    return CompleteStep(step=step, outcome=outcome, note=note, values=dict(data.get("values") or {}),
                        team=tuple(data.get("team") or ()), assignee=data.get("assignee"),
                        documents=tuple(data.get("documents") or ()), message=data.get("message"),
                        uploads=tuple(uploads))
