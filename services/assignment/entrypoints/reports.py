"""The reports, for heads, directors and outside tools: ``GET /assignment/reports/kpis`` (JSON, or
every table as CSV or XLSX with Thai or English headers and Buddhist-era months) and
``GET /assignment/reports/yearly.pdf`` (the yearly report). The figures are
``handlers.reports``'; this module only shapes them into files."""
from __future__ import annotations

import csv
import io

from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from services.assignment.handlers import reports as handlers
from shared import i18n
from shared.auth import current_staff, staff_required
from shared.openapi import checked
from shared.web import FieldErrorsSchema

reports_api = Blueprint("reports", __name__, url_prefix="/assignment",
                        description="Figures per SOP, step and unit by Thai fiscal year, against the pack's targets")

TABLES = ("sops", "steps", "months", "indicators", "ageing", "satisfaction")
# the tables' columns (``report.col.<name>`` are their headers)
COLUMNS = ("number", "sop", "step", "target", "received", "closed", "open", "completed", "rejected", "withdrawn",
           "on_time", "late", "returns", "done", "median_days", "p90_days", "answers", "mean", "satisfied_share",
           "score", "month", "indicator", "actual", "met", "ageing_days")


class KpiQuerySchema(Schema):
    fiscal_year = fields.Integer(load_default=None, validate=validate.Range(min=2500, max=2700), metadata={
        "description": "Thai fiscal year in the Buddhist era (2570 = 1 Oct 2026 - 30 Sep 2027); the current one "
                       "when left out"})
    org = fields.String(load_default=None, validate=validate.Length(max=50),
                        metadata=checked("required of a system administrator (who belongs to none)",
                                         description="the organisation (its pack, such as onesqa); the caller's "
                                                     "own when left out"))
    unit = fields.String(load_default=None, validate=validate.Length(max=100),
                         metadata={"description": "one unit's figures (a head always reads their own)"})
    sop = fields.String(load_default=None, validate=validate.Length(max=100),
                        metadata={"description": "one SOP's figures (pack/sop)"})
    quarter = fields.Integer(load_default=None, validate=validate.Range(min=1, max=4),
                             metadata={"description": "a quarter of the fiscal year: 1 = October-December"})
    month = fields.Integer(load_default=None, validate=validate.Range(min=1, max=12),
                           metadata=checked("not with quarter",
                                            description="a calendar month of the fiscal year (10 = October)"))
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv", "xlsx")))
    table = fields.String(load_default="sops", validate=validate.OneOf(TABLES),
                          metadata={"description": "which table a CSV holds (an XLSX holds them all)"})
    lang = fields.String(load_default=None, validate=validate.OneOf(("th", "en")),
                         metadata={"description": "the files' headers (the page's language when left out)"})


class YearlyQuerySchema(KpiQuerySchema):
    """The yearly report's query: the KPIs' without the file format and table (it is a PDF)."""

    class Meta:
        exclude = ("format", "table")


class SatisfactionFiguresSchema(Schema):
    answers = fields.Integer()
    mean = fields.Float(allow_none=True)
    scores = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "1-5 -> answers"})
    satisfied = fields.Integer(metadata={"description": "answers scoring 4 or 5"})
    satisfied_share = fields.Float(allow_none=True, metadata={"description": "percent"})


class IndicatorSchema(Schema):
    sop = fields.String(allow_none=True, metadata={"description": "the SOP's, or null for the organisation's"})
    key = fields.String()
    kind = fields.String()
    title = fields.Dict(keys=fields.String(), values=fields.String())
    target = fields.Float(allow_none=True)
    actual = fields.Float(allow_none=True)
    met = fields.Boolean(allow_none=True)
    unit = fields.Dict(keys=fields.String(), values=fields.String())
    step = fields.String(allow_none=True)


class StepFiguresSchema(Schema):
    step = fields.String()
    title = fields.Dict(keys=fields.String(), values=fields.String())
    target = fields.Dict(keys=fields.String(), values=fields.String(), allow_none=True)
    done = fields.Integer()
    on_time = fields.Integer()
    late = fields.Integer()
    returns = fields.Integer(metadata={"description": "done by returning the case for correction"})
    median_working_minutes = fields.Integer(allow_none=True)
    p90_working_minutes = fields.Integer(allow_none=True)


class CountsSchema(Schema):
    received = fields.Integer()
    closed = fields.Integer()
    open = fields.Integer(metadata={"description": "open at the end of the period (now, within it)"})
    completed = fields.Integer()
    rejected = fields.Integer()
    withdrawn = fields.Integer()
    on_time = fields.Integer(metadata={"description": "closed by their deadline"})
    late = fields.Integer()
    returns = fields.Integer()
    by_channel = fields.Dict(keys=fields.String(), values=fields.Integer())
    satisfaction = fields.Nested(SatisfactionFiguresSchema)


class SopFiguresSchema(CountsSchema):
    sop = fields.String()
    number = fields.String()
    title = fields.Dict(keys=fields.String(), values=fields.String())
    median_working_minutes = fields.Integer(allow_none=True)
    p90_working_minutes = fields.Integer(allow_none=True)
    steps = fields.List(fields.Nested(StepFiguresSchema))
    indicators = fields.List(fields.Nested(IndicatorSchema))


class MonthSchema(Schema):
    month = fields.String(metadata={"description": "YYYY-MM (Gregorian; shown in the Buddhist era)"})
    received = fields.Integer()
    closed = fields.Integer()
    on_time = fields.Integer()
    late = fields.Integer()


class AgeingSchema(Schema):
    from_days = fields.Integer()
    to_days = fields.Integer(allow_none=True)
    open = fields.Integer()


class CommentSchema(Schema):
    sop = fields.String()
    score = fields.Integer()
    comment = fields.String()
    answered_on = fields.String()


class PeriodSchema(Schema):
    from_ = fields.String(data_key="from", attribute="from")
    to = fields.String()
    quarter = fields.Integer(allow_none=True)
    month = fields.Integer(allow_none=True)


class KpiSchema(Schema):
    fiscal_year = fields.Integer()
    organisation = fields.String()
    organisation_title = fields.Dict(keys=fields.String(), values=fields.String())
    unit = fields.String(allow_none=True)
    sop = fields.String(allow_none=True)
    period = fields.Nested(PeriodSchema)
    generated_at = fields.String()
    minutes_per_day = fields.Integer(metadata={"description": "a working day's minutes (working times are in minutes)"})
    totals = fields.Nested(CountsSchema)
    indicators = fields.List(fields.Nested(IndicatorSchema))
    months = fields.List(fields.Nested(MonthSchema))
    ageing = fields.List(fields.Nested(AgeingSchema))
    sops = fields.List(fields.Nested(SopFiguresSchema))
    comments = fields.List(fields.Nested(CommentSchema))
    procurement = fields.Dict(allow_none=True)


@reports_api.route("/reports/kpis")
@staff_required(*handlers.READERS)
@reports_api.doc(security=[{"bearer": []}], summary="The figures per SOP, step and unit for a Thai fiscal year "
                 "(quarter, month), against the pack's indicators; format=csv|xlsx gives the tables as files")
@reports_api.arguments(KpiQuerySchema, location="query", as_kwargs=True)
@reports_api.response(200, KpiSchema)
@reports_api.alt_response(422, schema=FieldErrorsSchema, description="field-level messages (a quarter and a month "
                          "together, a year out of range)")
@reports_api.alt_response(401, schema=FieldErrorsSchema)
@reports_api.alt_response(403, schema=FieldErrorsSchema, description="heads (their unit), directors, deputies and "
                          "administrators (their organisation) only")
@reports_api.alt_response(404, schema=FieldErrorsSchema, description="no such organisation, unit or SOP, or "
                          "another organisation's")
def kpis(fiscal_year=None, org=None, unit=None, sop=None, quarter=None, month=None, format="json", table="sops",
         lang=None):
    figures = handlers.kpis(current_staff(), fiscal_year, org, unit, sop, quarter, month)
    if format == "json":
        return figures
    lang = lang or i18n.current_language()
    name = f"sopdesk-{figures['organisation']}-{figures['fiscal_year']}"
    if format == "csv":
        return _file(csv_of(tables(figures, lang)[table]), "text/csv; charset=utf-8", f"{name}-{table}.csv")
    return _file(xlsx_of(tables(figures, lang), lang),
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", f"{name}.xlsx")


@reports_api.route("/reports/yearly.pdf")
@staff_required(*handlers.READERS)
@reports_api.doc(security=[{"bearer": []}], summary="The yearly report (รายงานผลการดำเนินงานประจำปีงบประมาณ) of an "
                 "organisation or unit as an A4 PDF in Thai (or English with lang=en)",
                 responses={200: {"description": "the PDF", "content": {"application/pdf": {}}}})
@reports_api.arguments(YearlyQuerySchema, location="query", as_kwargs=True)
@reports_api.alt_response(401, schema=FieldErrorsSchema)
@reports_api.alt_response(403, schema=FieldErrorsSchema)
@reports_api.alt_response(404, schema=FieldErrorsSchema)
def yearly_pdf(fiscal_year=None, org=None, unit=None, sop=None, quarter=None, month=None, lang=None):
    from services.assignment.adapters import yearly_pdf as pdf  # fpdf2 takes ~0.3 s to import: not at start-up

    figures = handlers.kpis(current_staff(), fiscal_year, org, unit, sop, quarter, month)
    lang = lang or i18n.current_language()
    return _file(pdf.render(figures, lang), "application/pdf",
                 f"sopdesk-{figures['organisation']}-{figures['fiscal_year']}.pdf", inline=True)


def _file(body: bytes | str, content_type: str, filename: str, inline: bool = False) -> Response:
    if isinstance(body, str):
        body = body.encode("utf-8-sig")  # the BOM: spreadsheet programs then read Thai as UTF-8
    response = Response(body, content_type=content_type)
    response.headers["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


# ---------------------------------------------------------------------------------------------
# the tables, as people read them


def tables(figures: dict, lang: str) -> dict[str, tuple[list[str], list[list]]]:
    """Every table of the figures: headers in ``lang`` and rows; months in the Buddhist era on
    Thai headers, working times in working days (a day being the office day's minutes)."""
    def head(key: str) -> str:
        return i18n.translate(f"report.col.{key}", lang)

    day = figures["minutes_per_day"] or 480

    def days(minutes):
        return None if minutes is None else round(minutes / day, 2)

    def pick(texts):
        return i18n.pick(texts, lang) if texts else ""

    counts = ("received", "closed", "open", "completed", "rejected", "withdrawn", "on_time", "late", "returns")
    out = {}
    out["sops"] = ([head("number"), head("sop"), *[head(c) for c in counts], head("median_days"), head("p90_days"), head("answers"),
                    head("mean"), head("satisfied_share")],
                   [[s["number"], pick(s["title"]), *[s[c] for c in counts], days(s["median_working_minutes"]),
                     days(s["p90_working_minutes"]), s["satisfaction"]["answers"], s["satisfaction"]["mean"],
                     s["satisfaction"]["satisfied_share"]] for s in figures["sops"]])
    out["steps"] = ([head("sop"), head("step"), head("target"), head("done"), head("on_time"), head("late"), head("returns"),
                     head("median_days"), head("p90_days")],
                    [[pick(s["title"]), pick(st["title"]), pick(st["target"]), st["done"], st["on_time"], st["late"],
                      st["returns"], days(st["median_working_minutes"]), days(st["p90_working_minutes"])]
                     for s in figures["sops"] for st in s["steps"]])
    out["months"] = ([head("month"), head("received"), head("closed"), head("on_time"), head("late")],
                     [[i18n.format_month(m["month"], lang), m["received"], m["closed"], m["on_time"], m["late"]]
                      for m in figures["months"]])
    sops = {s["sop"]: s for s in figures["sops"]}
    out["indicators"] = ([head("sop"), head("indicator"), head("target"), head("actual"), head("met")],
                         [[pick(sops[i["sop"]]["title"]) if i["sop"] in sops else i18n.translate(
                             "report.whole_org", lang), pick(i["title"]), i["target"], i["actual"],
                           "" if i["met"] is None else i18n.translate(f"report.met.{str(i['met']).lower()}", lang)]
                          for i in figures["indicators"]])
    out["ageing"] = ([head("ageing_days"), head("open")],
                     [[band(a, lang), a["open"]] for a in figures["ageing"]])
    out["satisfaction"] = ([head("sop"), head("answers"), head("mean"), *[f"{head('score')} {n}" for n in range(1, 6)],
                            head("satisfied_share")],
                           [[pick(s["title"]), s["satisfaction"]["answers"], s["satisfaction"]["mean"],
                             *[s["satisfaction"]["scores"][str(n)] for n in range(1, 6)],
                             s["satisfaction"]["satisfied_share"]] for s in figures["sops"]])
    return out


def band(row: dict, lang: str) -> str:
    """An ageing band in words: '5-10 วัน', '40 days or more'."""
    if row["to_days"] is None:
        return i18n.translate("report.ageing.over", lang, days=row["from_days"])
    return i18n.translate("report.ageing.band", lang, low=row["from_days"], high=row["to_days"])


def csv_of(table: tuple[list[str], list[list]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table[0])
    writer.writerows([["" if v is None else v for v in row] for row in table[1]])
    return out.getvalue()


def xlsx_of(all_tables: dict[str, tuple[list[str], list[list]]], lang: str) -> bytes:
    """One sheet per table, named in ``lang``, headers bold, the header row frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for name, (headers, rows) in all_tables.items():
        sheet = book.create_sheet(i18n.translate(f"report.table.{name}", lang)[:31])
        sheet.append(headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
        sheet.freeze_panes = "A2"
        for index, header in enumerate(headers, start=1):
            width = max([len(str(header))] + [len(str(r[index - 1] or "")) for r in rows])
            sheet.column_dimensions[sheet.cell(1, index).column_letter].width = min(60, max(8, width + 2))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
