"""Who takes a step, without a database (services/assignment/domain/assignees.py)."""
from __future__ import annotations

from services.assignment.domain.assignees import least_open_work, present


def test_someone_away_is_replaced_by_their_delegate_and_everyone_counts_once():
    away = {"somchai": "suda"}  # somchai is away; suda acts for him
    assert present(["somchai", "anan", "suda"], away) == ["anan", "suda"]
    assert present(["somchai"], away) == ["suda"]
    assert present([], away) == []


def test_the_least_open_work_takes_it_and_a_tie_goes_to_the_first_by_name():
    assert least_open_work(["anan", "suda", "malee"], {"anan": 3, "suda": 1, "malee": 2}) == "suda"
    assert least_open_work(["suda", "anan"], {"anan": 2, "suda": 2}) == "anan"
    assert least_open_work(["suda", "anan"], {"suda": 1}) == "anan"  # nobody counted: no open work
    assert least_open_work([], {}) is None
