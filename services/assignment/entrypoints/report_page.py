"""The reports' page (``GET /assignment/desk/reports``): the figures of ``handlers.reports`` with
their charts (``shared.charts``), each figure a link to the case list filtered to the cases behind
it. Bad filters get field messages in the page's language and a 422, never a 500."""
from __future__ import annotations

from datetime import date, timedelta

from flask import render_template, request, url_for

from services.assignment.adapters.bus import bus
from services.assignment.domain.report_words import PROJECT_STAGE_ORDER, baht, working_time
from services.assignment.entrypoints.reports import band
from services.assignment.handlers import directory, reports
from shared import i18n
from shared.charts import PALETTE, Bar, Series, grouped_bars, stacked_rows
from shared.errors import Invalid

FILTERS = ("fiscal_year", "quarter", "month", "org", "unit", "sop")


def render(staff):
    lang = i18n.current_language()
    args = {k: request.args.get(k, "").strip() for k in FILTERS if request.args.get(k, "").strip()}
    errors: dict[str, list[str]] = {}
    numbers = {}
    for name in ("fiscal_year", "quarter", "month"):
        if name in args:
            if args[name].isdigit():
                numbers[name] = int(args[name])
            else:
                errors[name] = [i18n.translate(f"report.invalid.{name}", lang)]
    figures = None
    if not errors:
        try:
            figures = reports.kpis(staff, numbers.get("fiscal_year"), args.get("org"), args.get("unit"),
                                   args.get("sop"), numbers.get("quarter"), numbers.get("month"))
        except Invalid as refused:
            errors = {name: [i18n.translate(f"report.invalid.{name}", lang)] for name in refused.errors}
    current = reports.period_of(None).fiscal_year
    context = {"errors": errors, "args": args, "figures": figures, "staff": staff,
               "fmt_day": lambda iso: i18n.format_day(date.fromisoformat(iso), lang),
               "years": list(range(current, current - 5, -1)), "lang": lang,
               # the months of the fiscal year shown (October first), to narrow it to one
               "months": [{"number": m.month, "label": i18n.format_month(m, lang)}
                          for m in reports.Period(figures["fiscal_year"] if figures else current).months]}
    if figures is not None:
        org = figures["organisation"]
        with bus.session() as session:
            scope_units = directory.units_of_org(session, org) if figures["unit"] is None or \
                staff.sees_org(org) else []
        links = Links(figures)
        keep = {k: v for k, v in args.items() if k in ("unit", "sop", "quarter", "month")}
        query = {"fiscal_year": figures["fiscal_year"], "org": org, **keep}
        context.update(
            units=scope_units, sops=figures["sops"], links=links,
            charts=charts(figures, links, lang),
            downloads={"csv": url_for("reports.kpis", format="csv", table="sops", lang=lang, **query),
                       "csv_steps": url_for("reports.kpis", format="csv", table="steps", lang=lang, **query),
                       "xlsx": url_for("reports.kpis", format="xlsx", lang=lang, **query),
                       "pdf": url_for("reports.yearly_pdf", lang=lang, **query),
                       "json": url_for("reports.kpis", **query)},
            working=lambda minutes: working_time(minutes, figures["minutes_per_day"], lang),
            stages=PROJECT_STAGE_ORDER, baht=lambda amount: baht(amount, lang),
            share=lambda part, whole: f"{100 * part / whole:.1f}" if whole else "–")
    return render_template("assignment/reports.html", **context), 422 if errors else 200


class Links:
    """Where each figure leads: the case list, filtered to the cases it counts."""

    def __init__(self, figures: dict):
        self.first = date.fromisoformat(figures["period"]["from"])
        self.last = date.fromisoformat(figures["period"]["to"])
        self.unit = figures["unit"]

    def _cases(self, **filters) -> str:
        if self.unit:
            filters["unit"] = self.unit
        return url_for("desk.cases", **{k: v for k, v in filters.items() if v is not None})

    def received(self, sop: str | None = None, month: str | None = None) -> str:
        first, last = self.first, self.last
        if month:
            first = date(int(month[:4]), int(month[5:7]), 1)
            last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        return self._cases(sop=sop, received_from=first.isoformat(), received_to=last.isoformat())

    def result(self, result: str, sop: str | None = None) -> str:
        return self._cases(sop=sop, status=result, received_to=self.last.isoformat())

    def open(self, sop: str | None = None, received_to: date | None = None) -> str:
        return self._cases(sop=sop, status="open", received_to=received_to.isoformat() if received_to else None)

    def overdue(self, sop: str | None = None) -> str:
        return self._cases(sop=sop, status="open", overdue="true", sort="due_at")

    def step(self, sop: str, step: str) -> str:
        return self._cases(sop=sop, step=step, status="open")


def charts(figures: dict, links: "Links", lang: str) -> dict:
    def t(key: str, **values) -> str:
        return i18n.translate(key, lang, **values)

    received, closed = Series(t("report.col.received"), PALETTE[0]), Series(t("report.col.closed"), PALETTE[1])
    months = [i18n.format_month(m["month"], lang) for m in figures["months"]]
    ticks = [label.split(" ")[0] for label in months]  # the month alone under its bars; the year in the tooltip
    volumes = grouped_bars("chart-volumes", t("report.chart.volumes"), ticks, [received, closed],
                           [[Bar(m["received"], f"{label} · {received.name} {m['received']:,}", links.received(month=m["month"])),
                             Bar(m["closed"], f"{label} · {closed.name} {m['closed']:,}")]
                            for m, label in zip(figures["months"], months)])
    on_time, late = Series(t("report.col.on_time"), PALETTE[3]), Series(t("report.col.late"), PALETTE[2])
    by_sop = stacked_rows("chart-on-time", t("report.chart.on_time"),
                          [(i18n.pick(s["title"], lang), [Bar(s["on_time"], f"{on_time.name} {s['on_time']:,}"),
                                                          Bar(s["late"], f"{late.name} {s['late']:,}")])
                           for s in figures["sops"] if s["on_time"] or s["late"]], [on_time, late])
    steps = {}
    for s in figures["sops"]:
        rows = [(i18n.pick(st["title"], lang), [Bar(st["on_time"], f"{on_time.name} {st['on_time']:,}"),
                                                Bar(st["late"], f"{late.name} {st['late']:,}")])
                for st in s["steps"] if st["on_time"] or st["late"]]
        if rows:
            steps[s["sop"]] = stacked_rows(f"chart-steps-{s['sop'].replace('/', '-')}", t("report.chart.steps"), rows,
                                           [on_time, late])
    open_series = Series(t("report.col.open"), PALETTE[4])
    bands = [band(a, lang) for a in figures["ageing"]]
    ageing = grouped_bars("chart-ageing", t("report.chart.ageing"), bands, [open_series],
                          [[Bar(a["open"], f"{label} · {open_series.name} {a['open']:,}", links.open())]
                           for a, label in zip(figures["ageing"], bands)])
    scores = figures["totals"]["satisfaction"]["scores"]
    answers = Series(t("report.col.answers"), PALETTE[0])
    satisfaction = grouped_bars("chart-satisfaction", t("report.chart.satisfaction"), [str(n) for n in range(1, 6)],
                                [answers], [[Bar(scores[str(n)], f"{t('report.col.score')} {n} · {scores[str(n)]:,}")]
                                            for n in range(1, 6)], height=180)
    return {"volumes": volumes, "on_time": by_sop, "steps": steps, "ageing": ageing, "satisfaction": satisfaction}

