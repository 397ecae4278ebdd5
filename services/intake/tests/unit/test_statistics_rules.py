"""The public statistics' rules without a database: a fiscal year's halves in the Buddhist era,
and a period's figures from its counts (shares to one decimal, a mean to two, half up)."""
from datetime import date

import pytest

from services.intake.domain.statistics import (FiscalYearOutOfRange, figures, fiscal_year_halves, mean_score,
                                               percent)


def test_a_fiscal_year_and_its_halves():
    year, first, second = fiscal_year_halves(2570)
    assert (year.start, year.end) == (date(2026, 10, 1), date(2027, 9, 30))
    assert (first.start, first.end) == (date(2026, 10, 1), date(2027, 3, 31))
    assert (second.start, second.end) == (date(2027, 4, 1), date(2027, 9, 30))
    assert fiscal_year_halves(2571)[1].end == date(2028, 3, 31)  # a leap year's March ends on the 31st too


@pytest.mark.parametrize("year", [2499, 2701, 2026])
def test_a_year_outside_the_range_is_refused(year):
    with pytest.raises(FiscalYearOutOfRange):
        fiscal_year_halves(year)


def test_shares_and_means_round_half_up():
    assert percent(2, 3) == 66.7 and percent(1, 6) == 16.7 and percent(1, 8) == 12.5 and percent(1, 16) == 6.3
    assert percent(0, 0) is None and percent(0, 4) == 0.0
    assert mean_score({5: 1, 2: 1, 4: 1}) == 3.67 and mean_score({3: 1, 4: 7}) == 3.88 and mean_score({}) is None


def test_a_period_s_figures_from_its_counts():
    counts = {"received": 7, "completed": 3, "closed_on_time": 2, "closed_late": 1, "closed_no_deadline": 2}
    assert figures(counts, {5: 2, 4: 1, 1: 1}) == {
        "received": 7, "completed": 3, "closed": 5, "on_time": 2, "late": 1, "on_time_share": 66.7,
        "satisfaction": {"answers": 4, "mean": 3.75, "satisfied_share": 75.0}}
    # closed without deadlines only: no share; no answers: no mean
    assert figures({"closed_no_deadline": 2}, {})["on_time_share"] is None
    assert figures({}, {})["satisfaction"] == {"answers": 0, "mean": None, "satisfied_share": None}
