"""The public service statistics of an organisation (GET /intake/statistics): for a Thai fiscal
year and each of its halves, per SOP of the organisation's pack and over all of them, requests
received and completed, the share closed on time, and satisfaction (the rules:
``domain.statistics``). Counts and shares only: no request, name, subject or comment is read.

Read from the tallies the database keeps by day (``RequestTally``, ``SurveyTally``, kept by the
triggers of migration 7e2b5d9c1a4f): two aggregate queries over at most a year of days of one
organisation (its key leads both tables' primary keys, then the day), whatever the number of
requests. ``service_statistics`` is what the page, the JSON and bench/ call."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import case, func, select, text

from services.intake.adapters.bus import bus
from services.intake.adapters.models import RequestTally, SurveyTally
from services.intake.domain.statistics import MEASURES, Period, figures, fiscal_year_halves
from shared import db
from shared.packs import Pack, builtin_packs
from shared.workcal import fiscal_year_be


# grouped by the selected columns' positions: the half's CASE carries a bound day, which PostgreSQL
# would not match with the same CASE bound again in GROUP BY
BY_FIRST_THREE = text("1, 2, 3")


class UnknownOrganisation(LookupError):
    """No pack has this key."""


def organisations() -> list[Pack]:
    """The organisations whose statistics may be asked for (the shipped packs), by key."""
    return list(builtin_packs().values())


def current_fiscal_year(now: datetime | None = None) -> int:
    return fiscal_year_be(now or db.utcnow())


def service_statistics(org: str, fiscal_year: int | None = None, now: datetime | None = None) -> dict:
    """The statistics of ``org`` (a pack's key) for Buddhist-era ``fiscal_year`` (None: the current
    one, in Bangkok), as the JSON answer's shape (dates as ``date``, ``generated_at`` as ``now``).
    Raises ``UnknownOrganisation``, or ``domain.statistics.FiscalYearOutOfRange``."""
    pack = builtin_packs().get(org)
    if pack is None:
        raise UnknownOrganisation(org)
    now = now or db.utcnow()
    fiscal_year = current_fiscal_year(now) if fiscal_year is None else fiscal_year
    year, first, second = fiscal_year_halves(fiscal_year)
    counts, scores = _tallies(org, year, second)

    sops = [(sop.full_key, sop.number, sop.title) for sop in pack.sops.values()]
    known = {key for key, _n, _t in sops}
    # a SOP no longer in the pack (a later version dropped it) still has its year's figures
    sops += [(key, "", {"th": key, "en": key}) for key in sorted((set(counts) | set(scores)) - known)]

    def period_figures(key: str | None) -> dict:
        halves = []
        for index, half in enumerate((first, second)):
            if key is None:  # every SOP's
                half_counts = _summed(counts[k][index] for k in counts)
                half_scores = _summed(scores[k][index] for k in scores)
            else:
                half_counts, half_scores = counts.get(key, {}).get(index, {}), scores.get(key, {}).get(index, {})
            halves.append((half, half_counts, half_scores))
        return {
            "year": figures(_summed(c for _h, c, _s in halves), _summed(s for _h, _c, s in halves)),
            "halves": [{**figures(c, s), "from": half.start, "to": half.end} for half, c, s in halves],
        }

    return {
        "organisation": pack.key,
        "organisation_title": dict(pack.organisation),
        "fiscal_year": fiscal_year,
        "period": {"from": year.start, "to": year.end},
        "generated_at": now,
        "totals": period_figures(None),
        "sops": [{"sop": key, "number": number, "title": dict(title), **period_figures(key)}
                 for key, number, title in sops],
    }


def _summed(parts) -> dict:
    total: dict = defaultdict(int)
    for part in parts:
        for key, n in part.items():
            total[key] += n
    return total


def _tallies(org: str, year: Period, second: Period) -> tuple[dict, dict]:
    """sop -> half (0, 1) -> measure -> n, and sop -> half -> score -> n, for the year's days."""
    counts: dict = defaultdict(lambda: defaultdict(dict))
    scores: dict = defaultdict(lambda: defaultdict(dict))
    request_half = case((RequestTally.day >= second.start, 1), else_=0)
    survey_half = case((SurveyTally.day >= second.start, 1), else_=0)
    with bus.session() as session:
        for sop, half, measure, n in session.execute(
                select(RequestTally.sop, request_half, RequestTally.measure, func.sum(RequestTally.n))
                .where(RequestTally.org == org, RequestTally.day >= year.start, RequestTally.day <= year.end)
                .group_by(BY_FIRST_THREE)):
            if measure in MEASURES and n:
                counts[sop][half][measure] = int(n)
        for sop, half, score, n in session.execute(
                select(SurveyTally.sop, survey_half, SurveyTally.score, func.sum(SurveyTally.n))
                .where(SurveyTally.org == org, SurveyTally.day >= year.start, SurveyTally.day <= year.end)
                .group_by(BY_FIRST_THREE)):
            if n:
                scores[sop][half][int(score)] = int(n)
    return counts, scores
