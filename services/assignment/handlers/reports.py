"""The figures heads and directors answer for (issue 15): per organisation, unit, SOP and step, by
Thai fiscal year, quarter and month, against the pack's indicators and targets. Read from the
reports' read model (``CaseFigure``, ``StepFigure``, written by the engine: ``handlers.figures``
says what each figure means) and the satisfaction tallies (``SurveyTally``), in a handful of SQL
aggregates over their indexes; nothing here reads a case.

Who sees what: a system administrator every organisation; an organisation's director, deputies and
administrators their organisation (any unit of it); a head their own unit; anyone else nothing.
Another organisation answers 404, as its cases do."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import exists, func, select

from services.assignment.adapters import packstore
from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import CaseFigure, CaseUnit, StepFigure, SurveyScore, SurveyTally, Unit
from services.assignment.handlers import directory, procurement_figures
from services.assignment.handlers.engine import calendar as working_calendar
from shared import db
from shared.auth import Staff
from shared.errors import Forbidden, Invalid, NotFound
from shared.i18n import BANGKOK
from shared.workcal import fiscal_year_be, fiscal_year_bounds

# who sees a whole organisation's figures (besides a system administrator); a head sees their unit's
ORG_READERS = ("director", "deputy-director", "admin")
UNIT_READERS = ("head", "subhead")
READERS = ORG_READERS + UNIT_READERS
RESULTS = ("completed", "rejected", "withdrawn")
# the ageing of the open cases: working days open, from each bound to the next
AGEING_DAYS = (0, 5, 10, 20, 40)
COMMENTS = 50  # the newest comments shown


@dataclass(frozen=True)
class Period:
    """A Thai fiscal year (Buddhist era), or one quarter (1 = October-December) or one calendar
    month of it; days are Bangkok days."""

    fiscal_year: int
    quarter: int | None = None
    month: int | None = None

    @property
    def first(self) -> date:
        return self.months[0]

    @property
    def last(self) -> date:
        end = self.months[-1]
        return (end.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)

    @property
    def months(self) -> list[date]:
        """The first day of each month of the period, in order."""
        start, _ = fiscal_year_bounds(self.fiscal_year)
        every = [_add_months(start, n) for n in range(12)]
        if self.quarter:
            return every[(self.quarter - 1) * 3:self.quarter * 3]
        if self.month:
            return [m for m in every if m.month == self.month]
        return every

    def moments(self) -> tuple[datetime, datetime]:
        """[from, to) as moments: Bangkok midnight of the first day and of the day after the last."""
        return (datetime.combine(self.first, time.min, BANGKOK),
                datetime.combine(self.last + timedelta(days=1), time.min, BANGKOK))

    def as_json(self) -> dict:
        return {"from": self.first.isoformat(), "to": self.last.isoformat(), "quarter": self.quarter,
                "month": self.month}


def _add_months(day: date, n: int) -> date:
    month = day.month - 1 + n
    return date(day.year + month // 12, month % 12 + 1, 1)


def period_of(fiscal_year: int | None, quarter: int | None = None, month: int | None = None,
              now: datetime | None = None) -> Period:
    """The period asked for; without a year, the current fiscal year."""
    errors = {}
    if quarter is not None and not 1 <= quarter <= 4:
        errors["quarter"] = ["a quarter of the fiscal year: 1 (October-December) to 4 (July-September)"]
    if month is not None and not 1 <= month <= 12:
        errors["month"] = ["a month: 1 to 12"]
    if quarter is not None and month is not None:
        errors["month"] = ["a quarter or a month, not both"]
    if fiscal_year is not None and not 2500 <= fiscal_year <= 2700:
        errors["fiscal_year"] = ["a fiscal year in the Buddhist era, such as 2570"]
    if errors:
        raise Invalid(errors=errors)
    if fiscal_year is None:
        fiscal_year = fiscal_year_be((now or db.utcnow()).astimezone(BANGKOK).date())
    return Period(fiscal_year, quarter, month)


@dataclass(frozen=True)
class Scope:
    """Whose figures: an organisation, and within it one unit (or all) and one SOP (or all)."""

    org: str
    unit: str | None = None
    sop: str | None = None


def scope_for(session, staff: Staff, org: str | None, unit: str | None = None, sop: str | None = None) -> Scope:
    """What ``staff`` may read of ``org``: refused (403) for anyone but the readers, 404 for an
    organisation, unit or SOP that is not there or not theirs; a head's scope is their own unit.
    The directory is read afresh (a person moved since their token was signed reads as they are)."""
    if not org:
        if staff.sees_all:
            raise Invalid(errors={"org": ["which organisation (its pack, such as up)"]})
        org = staff.org
    packs = packstore.latest_packs()
    if org not in packs:
        raise NotFound("no such organisation")
    if sop is not None and (not sop.startswith(f"{org}/") or sop.split("/", 1)[1] not in packs[org].sops):
        raise NotFound("no such SOP in this organisation")
    if staff.sees_all:
        return Scope(org, _unit_of(session, org, unit), sop)
    actor = directory.actor(session, staff.user_id)
    if actor is None or directory.org_of_user(session, actor.username) != org:
        raise NotFound("no such organisation")
    roles = set(actor.roles) | set(actor.acting_for)
    if roles & set(ORG_READERS):
        return Scope(org, _unit_of(session, org, unit), sop)
    if roles & set(UNIT_READERS) and actor.unit:
        if unit and unit != actor.unit:
            raise Forbidden("a head reads their own unit's figures")
        return Scope(org, actor.unit, sop)
    raise Forbidden("heads, directors and administrators only")


def _unit_of(session, org: str, unit: str | None) -> str | None:
    if unit is None:
        return None
    if session.scalar(select(Unit.key).where(Unit.key == unit, Unit.pack == org)) is None:
        raise NotFound("no such unit in this organisation")
    return unit


# ---------------------------------------------------------------------------------------------
# the figures


def kpis(staff: Staff, fiscal_year: int | None, org: str | None, unit: str | None = None, sop: str | None = None,
         quarter: int | None = None, month: int | None = None, now: datetime | None = None) -> dict:
    """Everything the dashboard, the exports and the yearly report show, as one JSON document."""
    now = now or db.utcnow()
    period = period_of(fiscal_year, quarter, month, now)
    with bus.session() as session:
        scope = scope_for(session, staff, org, unit, sop)
        return figures_of(session, scope, period, now)


def figures_of(session, scope: Scope, period: Period, now: datetime) -> dict:
    pack = packstore.latest_packs()[scope.org]
    sops = [s for s in pack.sops.values() if scope.sop in (None, s.full_key)]
    cal = working_calendar(session, scope.org)
    start, end = period.moments()
    months = [m.isoformat()[:7] for m in period.months]
    received = _received(session, scope, start, end)
    closed = _closed(session, scope, start, end)
    backlog = _backlog(session, scope, min(end, max(start, now)))
    steps = _steps(session, scope, start, end)
    satisfaction = _satisfaction(session, scope, period)

    def sop_figures(key: str | None) -> dict:
        """One SOP's (or, for None, every SOP's) counts."""
        def of(rows):
            return [r for r in rows if key is None or r["sop"] == key]
        got = of(received["rows"])
        done = of(closed["rows"])
        by_channel: dict[str, int] = defaultdict(int)
        for r in got:
            by_channel[r["channel"]] += r["n"]
        results = {name: sum(r["n"] for r in done if r["result"] == name) for name in RESULTS}
        step_rows = of(steps)
        return {
            "received": sum(r["n"] for r in got), "closed": sum(r["n"] for r in done),
            "open": sum(n for s, n in backlog.items() if key is None or s == key), **results,
            "on_time": sum(r["n"] for r in done if r["on_time"] is True),
            "late": sum(r["n"] for r in done if r["on_time"] is False),
            "returns": sum(r["returns"] for r in step_rows),
            "by_channel": dict(sorted(by_channel.items())),
            "satisfaction": _scores(satisfaction, key),
        }

    out_sops = []
    for definition in sops:
        key = definition.full_key
        times = closed["times"].get(key, (None, None))
        by_step = {r["step"]: r for r in steps if r["sop"] == key}
        out_steps = []
        for step in definition.steps:
            if step.roles == ("requester",) or step.wait == "requester":
                continue  # the requester's own time is not the service's
            r = by_step.get(step.key) or {}
            out_steps.append({"step": step.key, "title": step.title, "target": _target_text(step.target),
                              "done": r.get("done", 0), "on_time": r.get("on_time", 0), "late": r.get("late", 0),
                              "returns": r.get("returns", 0),
                              "median_working_minutes": r.get("median"), "p90_working_minutes": r.get("p90")})
        figures = sop_figures(key)
        out_sops.append({"sop": key, "number": definition.number, "title": definition.title, **figures,
                         "median_working_minutes": times[0], "p90_working_minutes": times[1],
                         "steps": out_steps,
                         "indicators": _indicators(getattr(definition, "indicators", ()), figures, out_steps, key)})
    totals = sop_figures(None)
    indicators = [i for s in out_sops for i in s["indicators"]]
    if scope.sop is None:
        indicators = _indicators(getattr(pack, "indicators", ()), totals,
                                 [st for s in out_sops for st in s["steps"]], None) + indicators
    return {
        "fiscal_year": period.fiscal_year, "organisation": scope.org, "organisation_title": pack.organisation,
        "unit": scope.unit, "sop": scope.sop, "period": period.as_json(), "generated_at": now.isoformat(),
        "minutes_per_day": cal.minutes_per_day,
        "totals": totals, "indicators": indicators,
        "months": [{"month": m,
                    "received": sum(r["n"] for r in received["rows"] if r["month"] == m),
                    "closed": sum(r["n"] for r in closed["rows"] if r["month"] == m),
                    "on_time": sum(r["n"] for r in closed["rows"] if r["month"] == m and r["on_time"] is True),
                    "late": sum(r["n"] for r in closed["rows"] if r["month"] == m and r["on_time"] is False)}
                   for m in months],
        "ageing": _ageing(session, scope, cal, now),
        "sops": out_sops,
        "comments": _comments(session, scope, start, end),
        # procurement is the organisation's: a unit's or one SOP's figures leave it out
        "procurement": procurement_figures.summary(session, scope.org, period.first, period.last,
                                                   today=now.astimezone(BANGKOK).date())
        if scope.unit is None and scope.sop is None else None,
    }


def _target_text(target) -> dict | None:
    """A step's target in words ({th, en}); None where the manual gives none."""
    if target is None or not target.is_set:
        return None
    return {"th": target.text("th"), "en": target.text("en")}


def _unit_filter(scope: Scope, case_id):
    """Cases a unit took part in (its people held a step while in it: ``CaseUnit``)."""
    return exists().where(CaseUnit.unit == scope.unit, CaseUnit.case_id == case_id)


def _case_where(scope: Scope) -> list:
    where = [CaseFigure.org == scope.org]
    if scope.sop:
        where.append(CaseFigure.sop == scope.sop)
    if scope.unit:
        where.append(_unit_filter(scope, CaseFigure.case_id))
    return where


def _month(column):
    return func.to_char(func.timezone("Asia/Bangkok", column), "YYYY-MM")


def _received(session, scope: Scope, start: datetime, end: datetime) -> dict:
    month = _month(CaseFigure.received_at)
    rows = session.execute(select(CaseFigure.sop, CaseFigure.channel, month, func.count())
                           .where(*_case_where(scope), CaseFigure.received_at >= start, CaseFigure.received_at < end)
                           .group_by(CaseFigure.sop, CaseFigure.channel, month)).all()
    return {"rows": [{"sop": r[0], "channel": r[1], "month": r[2], "n": r[3]} for r in rows]}


def _closed(session, scope: Scope, start: datetime, end: datetime) -> dict:
    in_period = [*_case_where(scope), CaseFigure.closed_at.is_not(None), CaseFigure.closed_at >= start,
                 CaseFigure.closed_at < end]
    month = _month(CaseFigure.closed_at)
    rows = session.execute(select(CaseFigure.sop, CaseFigure.result, CaseFigure.on_time, month, func.count())
                           .where(*in_period)
                           .group_by(CaseFigure.sop, CaseFigure.result, CaseFigure.on_time, month)).all()
    times = session.execute(select(CaseFigure.sop, _percentile(0.5, CaseFigure.working_minutes),
                                   _percentile(0.9, CaseFigure.working_minutes))
                            .where(*in_period).group_by(CaseFigure.sop)).all()
    return {"rows": [{"sop": r[0], "result": r[1], "on_time": r[2], "month": r[3], "n": r[4]} for r in rows],
            "times": {r[0]: (_minutes(r[1]), _minutes(r[2])) for r in times}}


def _backlog(session, scope: Scope, at: datetime) -> dict[str, int]:
    """Open at ``at`` (the end of the period, or now within it): received before it and not closed
    before it. Two index ranges: open now, and closed since."""
    open_now = select(CaseFigure.sop).where(*_case_where(scope), CaseFigure.closed_at.is_(None),
                                            CaseFigure.received_at < at)
    closed_since = select(CaseFigure.sop).where(*_case_where(scope), CaseFigure.closed_at.is_not(None),
                                                CaseFigure.closed_at >= at, CaseFigure.received_at < at)
    both = open_now.union_all(closed_since).subquery()
    return {sop: n for sop, n in session.execute(select(both.c.sop, func.count()).group_by(both.c.sop))}


def _steps(session, scope: Scope, start: datetime, end: datetime) -> list[dict]:
    where = [StepFigure.org == scope.org, StepFigure.completed_at >= start, StepFigure.completed_at < end]
    if scope.sop:
        where.append(StepFigure.sop == scope.sop)
    if scope.unit:
        where.append(StepFigure.unit == scope.unit)
    rows = session.execute(select(
        StepFigure.sop, StepFigure.step, func.count(),
        func.count().filter(StepFigure.on_time.is_(True)), func.count().filter(StepFigure.on_time.is_(False)),
        func.count().filter(StepFigure.kind == "return"),
        _percentile(0.5, StepFigure.working_minutes), _percentile(0.9, StepFigure.working_minutes))
        .where(*where).group_by(StepFigure.sop, StepFigure.step)).all()
    return [{"sop": r[0], "step": r[1], "done": r[2], "on_time": r[3], "late": r[4], "returns": r[5],
             "median": _minutes(r[6]), "p90": _minutes(r[7])} for r in rows]


def _percentile(fraction: float, column):
    """The continuous percentile (the median of an even count is the mean of the middle two)."""
    return func.percentile_cont(fraction).within_group(column)


def _minutes(value) -> int | None:
    return None if value is None else int(round(float(value)))


def _satisfaction(session, scope: Scope, period: Period) -> dict[str, dict[int, int]]:
    where = [SurveyTally.org == scope.org, SurveyTally.day >= period.first, SurveyTally.day <= period.last]
    if scope.sop:
        where.append(SurveyTally.sop == scope.sop)
    if scope.unit:
        where.append(SurveyTally.unit == scope.unit)
    counts: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for sop, score, n in session.execute(select(SurveyTally.sop, SurveyTally.score, func.sum(SurveyTally.n))
                                         .where(*where).group_by(SurveyTally.sop, SurveyTally.score)):
        counts[sop][score] += int(n)
    return counts


def _scores(counts: dict[str, dict[int, int]], key: str | None) -> dict:
    by_score: dict[int, int] = defaultdict(int)
    for sop, scores in counts.items():
        if key is None or sop == key:
            for score, n in scores.items():
                by_score[score] += n
    answers = sum(by_score.values())
    satisfied = by_score.get(4, 0) + by_score.get(5, 0)
    return {"answers": answers,
            "mean": round(sum(s * n for s, n in by_score.items()) / answers, 2) if answers else None,
            "scores": {str(s): by_score.get(s, 0) for s in range(1, 6)}, "satisfied": satisfied,
            "satisfied_share": _share(satisfied, answers)}


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _ageing(session, scope: Scope, cal, now: datetime) -> list[dict]:
    """The cases open now by whole working days open (``working_minutes_between(received, now)``
    over a working day's minutes), in the bands of ``AGEING_DAYS``."""
    bounds = [cal.back(now, days * cal.minutes_per_day) for days in AGEING_DAYS]
    where = [*_case_where(scope), CaseFigure.closed_at.is_(None), CaseFigure.received_at <= now]
    # received at or before bounds[i]: open at least AGEING_DAYS[i] working days
    columns = [func.count().filter(CaseFigure.received_at <= bound) for bound in bounds]
    at_least = session.execute(select(*columns).where(*where)).one()
    out = []
    for index, days in enumerate(AGEING_DAYS):
        more = at_least[index + 1] if index + 1 < len(AGEING_DAYS) else 0
        out.append({"from_days": days, "to_days": AGEING_DAYS[index + 1] if index + 1 < len(AGEING_DAYS) else None,
                    "open": at_least[index] - more})
    return out


def _comments(session, scope: Scope, start: datetime, end: datetime) -> list[dict]:
    """The newest comments, unnamed: the SOP, the score, the words and the day only."""
    where = [SurveyScore.sop.startswith(f"{scope.org}/"), SurveyScore.answered_at >= start,
             SurveyScore.answered_at < end, SurveyScore.comment.is_not(None), SurveyScore.comment != ""]
    if scope.sop:
        where.append(SurveyScore.sop == scope.sop)
    if scope.unit:
        where.append(SurveyScore.unit == scope.unit)
    rows = session.execute(select(SurveyScore.sop, SurveyScore.score, SurveyScore.comment, SurveyScore.answered_at)
                           .where(*where).order_by(SurveyScore.answered_at.desc()).limit(COMMENTS)).all()
    return [{"sop": r[0], "score": r[1], "comment": r[2],
             "answered_on": r[3].astimezone(BANGKOK).date().isoformat()} for r in rows]


def _indicators(indicators, figures: dict, steps: list[dict], sop: str | None) -> list[dict]:
    """Each of the pack's indicators with its actual figure and whether the target is met."""
    out = []
    for indicator in indicators:
        actual = _actual(indicator, figures, steps)
        met = indicator.met(actual) if hasattr(indicator, "met") else None
        out.append({"sop": sop, "key": indicator.key, "kind": indicator.kind, "title": indicator.title,
                    "target": indicator.target, "actual": actual, "met": met, "unit": indicator.unit,
                    "step": indicator.step})
    return out


def _actual(indicator, figures: dict, steps: list[dict]):
    kind = indicator.kind
    if kind == "satisfaction_mean":
        return figures["satisfaction"]["mean"]
    if kind == "satisfied_share":
        return figures["satisfaction"]["satisfied_share"]
    if kind == "on_time_cases":
        return _share(figures["on_time"], figures["on_time"] + figures["late"])
    if kind == "on_time_steps":
        chosen = [s for s in steps if indicator.step in (None, s["step"])]
        on_time = sum(s["on_time"] for s in chosen)
        return _share(on_time, on_time + sum(s["late"] for s in chosen))
    if kind == "completed":
        return figures["completed"]
    return None

