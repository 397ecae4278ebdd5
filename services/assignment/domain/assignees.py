"""Who takes a step: of the people who may, the one with the least open work; someone away
today is replaced by the colleague they delegated to. The counts and the delegations are read
by the caller (``directory.choose_assignee``); the choice is made here."""
from __future__ import annotations

from collections.abc import Iterable, Mapping


def present(candidates: Iterable[str], away: Mapping[str, str]) -> list[str]:
    """Who can take it today: each candidate, or their delegate when they are away; each once,
    by name."""
    return sorted({away.get(name, name) for name in candidates})


def least_open_work(people: Iterable[str], open_work: Mapping[str, int]) -> str | None:
    """The one with the fewest open steps (nobody counted: none); a tie goes to the first by
    name, so that the same counts always choose the same person."""
    people = list(people)
    if not people:
        return None
    return min(people, key=lambda name: (open_work.get(name, 0), name))
