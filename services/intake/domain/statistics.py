"""The public service statistics' rules, as agencies publish them for the ITA: a Thai fiscal year
(1 October - 30 September, named in the Buddhist era) and its two halves (October-March,
April-September), and the figures of a period from its counts.

A period's figures, from the requests' counts by measure and the satisfaction answers by score:
* ``received``: requests received in it (by the Bangkok day received);
* ``completed``: requests closed in it with the result ``completed`` (by the day closed);
* ``closed``: requests closed in it, whatever the result; of those, ``on_time`` closed at or
  before their deadline and ``late`` after it; those without a deadline are in ``closed`` only;
* ``on_time_share``: on_time of (on_time + late), a percent to one decimal; None when nothing
  with a deadline closed;
* ``satisfaction``: the answers given in it (by the day answered), their mean score (two
  decimals) and the share satisfied (scores 4 and 5, a percent to one decimal); None for no answers.

Pure: no Flask, no database. The counts come from the tallies the database keeps
(``adapters.models.RequestTally``, ``SurveyTally``)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from shared.workcal import fiscal_year_bounds

FIRST_YEAR, LAST_YEAR = 2500, 2700  # the fiscal years (Buddhist era) one may ask for
RECEIVED, COMPLETED = "received", "completed"
ON_TIME, LATE, NO_DEADLINE = "closed_on_time", "closed_late", "closed_no_deadline"
MEASURES = (RECEIVED, COMPLETED, ON_TIME, LATE, NO_DEADLINE)
SATISFIED_SCORES = (4, 5)
SCORES = (1, 2, 3, 4, 5)


class FiscalYearOutOfRange(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    start: date  # its first day
    end: date  # its last day (inclusive)

    def holds(self, day: date) -> bool:
        return self.start <= day <= self.end


def fiscal_year_halves(fiscal_year: int) -> tuple[Period, Period, Period]:
    """(the whole year, October-March, April-September) of Buddhist-era ``fiscal_year``:
    2570 -> 2026-10-01..2027-09-30, 2026-10-01..2027-03-31, 2027-04-01..2027-09-30."""
    if not FIRST_YEAR <= fiscal_year <= LAST_YEAR:
        raise FiscalYearOutOfRange(fiscal_year)
    start, end = fiscal_year_bounds(fiscal_year)
    second = date(end.year, 4, 1)
    return Period(start, end), Period(start, second - timedelta(days=1)), Period(second, end)


def percent(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in percent, to one decimal (half up); None when ``whole`` is 0."""
    if not whole:
        return None
    return float((Decimal(100 * part) / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def mean_score(scores: Mapping[int, int]) -> float | None:
    answers = sum(scores.values())
    if not answers:
        return None
    total = sum(score * n for score, n in scores.items())
    return float((Decimal(total) / Decimal(answers)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def figures(counts: Mapping[str, int], scores: Mapping[int, int]) -> dict:
    """A period's figures (the module's docstring) from its counts by measure and answers by score."""
    on_time, late = counts.get(ON_TIME, 0), counts.get(LATE, 0)
    answers = sum(scores.values())
    return {
        "received": counts.get(RECEIVED, 0),
        "completed": counts.get(COMPLETED, 0),
        "closed": on_time + late + counts.get(NO_DEADLINE, 0),
        "on_time": on_time,
        "late": late,
        "on_time_share": percent(on_time, on_time + late),
        "satisfaction": {
            "answers": answers,
            "mean": mean_score(scores),
            "satisfied_share": percent(sum(scores.get(s, 0) for s in SATISFIED_SCORES), answers),
        },
    }
