"""The public service statistics' web edge: ``GET /intake/statistics?org=<pack>&fiscal_year=<BE>``,
a page (Thai or English, as every intake page chooses) or JSON (``Accept: application/json``),
for anyone, without a login; counts and shares only (``handlers.statistics``).

A unit links to it or embeds it in its own web site: ``embed=1`` gives the page without sopdesk's
header and menu, and only that answer may be framed, and only by sopdesk itself and the units'
own sites (``SOPDESK_ALLOWED_ORIGINS``, the sites already trusted to post their forms to sopdesk):
every other answer of every service keeps ``frame-ancestors 'none'`` (shared/headers.py). The
figures change slowly, so answers may be cached for five minutes (by shared caches too, unless
the answer is a signed-in member of staff's or sets the language cookie). Each address may read
it ``settings.track_rate_limit`` times (then 429), counted apart from the tracking pages."""
from __future__ import annotations

import re

from flask import g, make_response, render_template, request, url_for

from services.intake.domain.statistics import FIRST_YEAR, LAST_YEAR, FiscalYearOutOfRange
from services.intake.entrypoints.views import _rate_limited, blp
from services.intake.handlers import statistics as handlers
from services.intake.messages import t
from services.intake.schemas import StatisticsSchema
from shared import i18n
from shared.auth import current_staff, public
from shared.charts import PALETTE, Bar, Series, grouped_bars
from shared.config import get_settings
from shared.headers import content_security_policy
from shared.openapi import html
from shared.web import FieldErrorsSchema, error_response, wants_json

READS = "statistics-reads"
MAX_AGE = 300  # seconds an answer may be kept by a browser or a cache
YEAR = re.compile(r"[0-9]{1,6}")


def _frame_ancestors() -> str:
    return " ".join(("'self'",) + tuple(get_settings().allowed_origins))


def _cached(response, *, shared: bool):
    """Five minutes, varying with what chooses the answer (its type, its language)."""
    response.headers["Cache-Control"] = f"{'public' if shared else 'private'}, max-age={MAX_AGE}"
    response.vary.update(("Accept", "Accept-Language", "Cookie"))
    return response


def _sets_language_cookie() -> bool:
    """shared.web remembers a language chosen by ``?lang=`` in a cookie: such an answer is no one else's."""
    chosen = request.args.get("lang")
    return chosen in i18n.LANGUAGES and request.cookies.get("lang") != chosen


def _links(org: str | None, embed: bool) -> dict:
    """Where the page's own links go, keeping the embedded form and a language asked in the address."""
    keep = {}
    if embed:
        keep["embed"] = 1
    if request.args.get("lang") in i18n.LANGUAGES:
        keep["lang"] = request.args["lang"]

    def year_url(fiscal_year: int) -> str | None:
        if not FIRST_YEAR <= fiscal_year <= LAST_YEAR:
            return None
        return url_for("intake.statistics", org=org, fiscal_year=fiscal_year, **keep)

    return {"year_url": year_url,
            "org_url": lambda key: url_for("intake.statistics", org=key, **keep)}


def _chart(report: dict, lang: str):
    """Requests received and completed in the year, per SOP (its number in the manual, or its
    place in the list), as a picture beside the table."""
    received = Series(t("statistics.col.received", lang), PALETTE[0])
    completed = Series(t("statistics.col.completed", lang), PALETTE[3])
    sops = report["sops"]
    labels = [sop.get("number") or str(n) for n, sop in enumerate(sops, start=1)]
    return grouped_bars("statistics-chart", t("statistics.chart", lang), labels, [received, completed],
                        [[Bar(sop["year"]["received"], f"{i18n.pick(sop['title'], lang)} · {received.name} "
                                                       f"{sop['year']['received']:,}"),
                          Bar(sop["year"]["completed"], f"{i18n.pick(sop['title'], lang)} · {completed.name} "
                                                        f"{sop['year']['completed']:,}")] for sop in sops])


def _page(status: int, embed: bool, **context):
    lang = i18n.current_language()
    context.setdefault("report", None)
    if context["report"] is not None:
        context["chart"] = _chart(context["report"], lang)
    response = make_response(render_template(
        "intake/statistics.html", layout="intake/embed.html" if embed else "base.html", embed=embed,
        organisations=handlers.organisations(), **_links(context["report"]["organisation"] if context["report"]
                                                          else None, embed),
        number=lambda n: f"{n:,}", share=lambda value: "–" if value is None else f"{value:.1f}%",
        mean=lambda value: "–" if value is None else f"{value:.2f}",
        fiscal_year_text=lambda be: t("statistics.fiscal_year", lang, year=be if lang == "th" else be - 543),
        period_text=lambda start, end: t("statistics.period", lang, start=i18n.format_day(start, lang),
                                         end=i18n.format_day(end, lang)),
        **context), status)
    if embed:
        # the one answer a page of another site may frame (its policy otherwise shared/headers.py's)
        policy = content_security_policy(g.get("csp_nonce"))
        response.headers["Content-Security-Policy"] = policy.replace(
            "frame-ancestors 'none'", f"frame-ancestors {_frame_ancestors()}")
    return response


def _refused(status: int, errors: dict[str, list[str]], embed: bool):
    message = " ".join(m for messages in errors.values() for m in messages)
    if wants_json():
        return error_response(status, errors, message)
    return _page(status, embed, error=message)


@blp.route("/statistics")
@blp.doc(
    summary="Public service statistics of an organisation for a Thai fiscal year (HTML, or JSON with "
            "Accept: application/json); no login, no personal data",
    description="Per SOP of the organisation's pack and over all of them, for the fiscal year (1 October - "
                "30 September, Buddhist era) and each half (October-March, April-September): requests received "
                "(by the Bangkok day received), completed (closed with the result completed, by the day closed), "
                "closed on time and late (requests closed without a deadline are left out of the share), and "
                "satisfaction (answers by the day answered, mean score, share giving 4 or 5). embed=1: the page "
                "without sopdesk's header and menu, which sopdesk itself and the sites in "
                "SOPDESK_ALLOWED_ORIGINS may frame (no other page may). Answers may be cached for 5 minutes.",
    parameters=[
        {"in": "query", "name": "org", "required": True,
         "schema": {"type": "string", "enum": sorted(p.key for p in handlers.organisations())},
         "description": "the organisation (its pack's key)"},
        {"in": "query", "name": "fiscal_year", "required": False,
         "schema": {"type": "integer", "minimum": FIRST_YEAR, "maximum": LAST_YEAR},
         "description": "Thai fiscal year in the Buddhist era (2570 = 1 Oct 2026 - 30 Sep 2027); the current one "
                        "when left out"},
        {"in": "query", "name": "embed", "required": False, "schema": {"type": "string", "enum": ["0", "1"]},
         "description": "1: the page alone, to embed in another site (an iframe)"},
        {"in": "query", "name": "lang", "required": False, "schema": {"type": "string", "enum": ["th", "en"]},
         "description": "the page's language (else the browser's)"},
    ],
)
@blp.response(200, StatisticsSchema)
@blp.alt_response(400, schema=FieldErrorsSchema, description="no org, or a fiscal year that is not a Buddhist-era "
                                                             f"year from {FIRST_YEAR} to {LAST_YEAR}")
@blp.alt_response(404, schema=FieldErrorsSchema, description="no such organisation")
@blp.alt_response(429, schema=FieldErrorsSchema, description="too many reads from this address (Retry-After)")
@html(blp, 200, description="the statistics page, or its JSON", json=StatisticsSchema)
@html(blp, 400, 404, 429, json=FieldErrorsSchema)
@public("public service statistics (counts and shares, no personal data), as agencies publish them for the ITA")
def statistics():
    limited = _rate_limited(READS, get_settings().track_rate_limit)
    if limited is not None:
        return limited
    lang = i18n.current_language()
    embed = request.args.get("embed") == "1"
    org = (request.args.get("org") or "").strip()
    raw_year = (request.args.get("fiscal_year") or "").strip()
    errors: dict[str, list[str]] = {}
    status = 400
    if not org:
        errors["org"] = [t("statistics.invalid.org_missing", lang)]
    elif org not in {p.key for p in handlers.organisations()}:
        errors["org"] = [t("statistics.invalid.org_unknown", lang)]
        status = 404
    fiscal_year = None
    if raw_year:
        fiscal_year = int(raw_year) if YEAR.fullmatch(raw_year) else None
        if fiscal_year is None or not FIRST_YEAR <= fiscal_year <= LAST_YEAR:
            errors["fiscal_year"] = [t("statistics.invalid.fiscal_year", lang, first=FIRST_YEAR, last=LAST_YEAR)]
    if errors:
        return _refused(status, errors, embed)
    try:
        report = handlers.service_statistics(org, fiscal_year)
    except FiscalYearOutOfRange:  # the current year, on a clock gone wrong
        return _refused(400, {"fiscal_year": [t("statistics.invalid.fiscal_year", lang, first=FIRST_YEAR,
                                                 last=LAST_YEAR)]}, embed)
    shared = current_staff() is None and not _sets_language_cookie()
    if wants_json():
        return _cached(make_response(StatisticsSchema().dump(report)), shared=shared)
    return _cached(_page(200, embed, report=report), shared=shared)
