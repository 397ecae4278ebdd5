"""The staff desk: web pages (Thai and English) for logging in, my work and my unit's queue, a
case's timeline with the actions I may take now, and each SOP's manual table and flowchart.
A thin edge: forms are validated by the same marshmallow schemas as the API and handed to the
same use cases. Logged in by a session cookie; every form carries the session's CSRF token."""
from __future__ import annotations

import functools
from urllib.parse import parse_qsl

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from marshmallow import ValidationError

from services.assignment.adapters import packstore
from services.assignment.adapters.bus import bus
from services.assignment.domain import workflow
from services.assignment.entrypoints import report_page
from services.assignment.entrypoints import case_list, signin as signin_pages
from services.assignment.entrypoints import case_view
from services.assignment.entrypoints import action_form
from services.assignment.handlers import cases as handlers, commands, directory, registers, reports, saved_lists, signin
from services.assignment.schemas import ActionSchema, TokenRequestSchema
from shared import dates, db, i18n
from shared.auth import Access, csrf_ok, current_staff, log_in, log_out, page_required, public
from shared.config import get_settings
from shared.errors import Refusal
from shared.packs.flowchart import render_svg
from shared.web import STATUS_OF, flatten_errors

desk = Blueprint("desk", __name__, url_prefix="/assignment")


def login_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        staff = current_staff()
        if staff is None:
            return redirect(url_for("desk.login", next=request.full_path.rstrip("?")))
        # a cookie rides along with any request the browser makes: a change needs the token only
        # the desk's own pages hold (a bearer token is never sent by a browser on its own)
        if request.method == "POST" and g.get("staff_via_cookie") and not csrf_ok():
            abort(403, "The form has expired or did not come from sopdesk; reload it and try again.")
        return view(staff, *args, **kwargs)

    wrapper.__access__ = Access("staff", page=True)
    return wrapper


_safe_next = signin_pages.safe_next  # only a path on this site (no open redirect)


@desk.context_processor
def _upload_limit():
    """The action form says how large a document's file may be."""
    return {"max_upload_mb": get_settings().max_upload_mb}


@desk.route("/login", methods=["GET", "POST"])
@public("the login page")
def login():
    errors: dict = {}
    username = request.form.get("username", "")
    if request.method == "POST":
        if not csrf_ok():
            errors = {"_schema": ["The form has expired; please try again."]}
        else:
            try:
                creds = TokenRequestSchema().load(request.form.to_dict())
            except ValidationError as exc:
                errors = flatten_errors(exc.messages)
            else:
                try:
                    staff = signin.with_password(creds["username"], creds["password"], signin_pages.client_address())
                except signin.SignInRefused as refusal:
                    return signin_pages.refused_page(refusal, username)
                log_in(staff)
                return redirect(_safe_next(request.args.get("next")))
    return signin_pages.login_page(errors, username, 422 if errors else 200)


@desk.route("/logout", methods=["POST"])
@login_required
def logout(staff):
    log_out()
    return redirect(url_for("desk.login"))


def _rows(pairs):
    """(step row, case) pairs as what the work table shows."""
    now = db.utcnow()
    out = []
    for row, case in pairs:
        sop = packstore.sop_for(case.sop, case.pack_version)
        definition = sop.step(row.step) if sop else None
        out.append({"code": case.tracking_code, "subject": case.subject, "sop": sop, "step": row,
                    "title": definition.title if definition else {"th": row.step},
                    "overdue": bool(row.due_at and row.due_at < now),
                    "case_overdue": bool(case.due_at and case.due_at < now and case.paused_since is None)})
    return out


@desk.route("/desk")
@login_required
def work(staff):
    queues = handlers.my_work(staff)
    candidates = {}
    with bus.session() as session:
        for row, case in queues["unit"].rows + queues["unassigned"].rows:
            sop = packstore.sop_for(case.sop, case.pack_version)
            roles = workflow.who_may_take(sop.step(row.step), case.team or []).roles if sop else ()
            candidates[row.id] = directory.holders(session, roles, pack=case.sop.split("/")[0]) if roles else []
        # people by name, not username: those holding the steps shown and those they may go to
        names = directory.display_names(session, [row.assignee for q in ("mine", "unit", "unassigned")
                                                  for row, _ in queues[q].rows]
                                        + [n for listed in candidates.values() for n in listed])
    actor = queues["actor"]
    return render_template("assignment/work.html", mine=_rows(queues["mine"].rows), unit=_rows(queues["unit"].rows),
                           unassigned=_rows(queues["unassigned"].rows),
                           totals={name: queues[name].total for name in ("mine", "unit", "unassigned")},
                           candidates=candidates, names=names, actor=actor, staff=staff,
                           presets=case_list.presets(staff, actor))


@desk.route("/desk/cases")
@login_required
def cases(staff):
    """Every case the person may see, searched, filtered, sorted and a page at a time."""
    return case_list.page(staff)


@desk.route("/desk/cases/saved", methods=["POST"])
@login_required
def save_list(staff):
    """Keep the list now shown (its filters, the form's ``query``) under a name of the person's own."""
    query = request.form.get("query", "")
    try:
        saved = saved_lists.save(staff, request.form.get("name", ""), query)
    except Refusal as refused:
        return case_list.page(staff, args=dict(parse_qsl(query)), form_errors=refused.errors,
                              list_name=request.form.get("name", ""))
    flash(i18n.translate("saved.kept", i18n.current_language(), name=saved.name))
    return redirect(url_for("desk.cases") + (f"?{saved.query}" if saved.query else ""))


@desk.route("/desk/cases/saved/<int:list_id>/delete", methods=["POST"])
@login_required
def drop_list(staff, list_id: int):
    """Remove one of the person's own saved lists (another's is not found)."""
    if not saved_lists.remove(staff, list_id):
        abort(404)
    return redirect(url_for("desk.cases"))


REGISTER_PAGE = 50


@desk.route("/desk/registers/<org>/<register>")
@page_required(*registers.READERS)
def register_page(staff, org: str, register: str):
    """A register as its book is kept (ทะเบียน): the cases logged at its step, newest first, a page
    at a time, between two days typed in the Buddhist era on Thai pages; another organisation's
    is not found."""
    from services.assignment.entrypoints.registers import RegisterQuerySchema

    lang = i18n.current_language()
    args = {k: v.strip() for k, v in request.args.items() if k in ("logged_from", "logged_to", "page") and v.strip()}
    errors: dict = {}
    page_number = int(args["page"]) if args.get("page", "").isdigit() and int(args["page"]) > 0 else 1
    try:
        query = RegisterQuerySchema().load({k: v for k, v in args.items() if k != "page"})
    except ValidationError as exc:
        errors = {name: [i18n.translate(f"register.invalid.{name}", lang)] for name in exc.messages}
        query = {}
    found = registers.entries(staff, org, register, query.get("logged_from"), query.get("logged_to"),
                              limit=REGISTER_PAGE, offset=(page_number - 1) * REGISTER_PAGE)
    if found is None:
        abort(404)
    with bus.session() as session:
        names = directory.display_names(session, [item["logged_by"] for item in found["items"]])
    shown = {name: (dates.date_for_input(query[name], lang) if query.get(name) else args.get(name, ""))
             for name in ("logged_from", "logged_to")}
    last = max(1, -(-found["total"] // REGISTER_PAGE))
    keep = {k: v for k, v in args.items() if k != "page"}
    return render_template("assignment/register.html", register=found, errors=errors, shown=shown, names=names,
                           page=page_number, last=last, first_number=(page_number - 1) * REGISTER_PAGE + 1,
                           page_url=lambda n: url_for("desk.register_page", org=org, register=register, **keep, page=n),
                           staff=staff), 422 if errors else 200


@desk.route("/desk/cases/<code>")
@login_required
def case_page(staff, code: str, errors: dict | None = None, status: int = 200):
    case = handlers.read_case(code, staff, purpose="staff desk: case page")
    if case is None:
        abort(404)
    sop = packstore.sop_for(case.sop, case.pack_version)
    actions = handlers.allowed_actions(case, staff)
    candidates = {}
    lang = i18n.current_language()
    with bus.session() as session:
        for action in actions:
            if "assign" in action["actions"]:
                takers = workflow.who_may_take(sop.step(action["step"]), case.team or [])
                candidates[action["step"]] = sorted(set(takers.team or ()) | set(
                    directory.holders(session, takers.roles, pack=case.sop.split("/")[0]) if takers.roles else []))
        names = directory.display_names(session, case_view.people_of(case, candidates))  # one query
    return render_template("assignment/case.html", case=case, sop=sop, actions=actions, candidates=candidates,
                           errors=errors or {}, now=db.utcnow(), staff=staff,
                           person=lambda username: case_view.person(names, username, lang),
                           outcome_words=lambda step, outcome: case_view.outcome_words(sop, step, outcome, lang),
                           target_text=lambda text: case_view.target_text(text, lang),
                           form_values=case_view.form_values(case, sop, lang),
                           trail=case_view.trail(case, sop, names, lang),
                           date_input=_DATE_INPUT if lang == "th" else {}), status


# a date typed on a Thai page: in the Buddhist era, as text (the browser's own date input knows
# only the Common Era); the form says which values are such dates (``be.<name>``) and the desk
# hands them to the API as ISO (``_iso_values``)
_DATE_INPUT = {"date": "date", "datetime": "datetime"}


def _iso_values(form) -> tuple[dict, dict]:
    """The step's values from the action form: those typed as Buddhist-era dates (``be.<name>``)
    as ISO 8601, as the API takes them; with a message in the page's language for one that is not
    a date."""
    values, errors = {}, {}
    lang = i18n.current_language()
    for key, value in form.items():
        if not key.startswith("values.") or value == "":
            continue
        name = key[len("values."):]
        kind = form.get(f"be.{name}")
        try:
            if kind == "date":
                value = dates.parse_date(value).isoformat()
            elif kind == "datetime":
                value = dates.parse_datetime(value).isoformat()
        except ValueError:
            errors[f"values.{name}"] = [i18n.translate("date.invalid", lang) if kind == "date"
                                        else i18n.translate("datetime.invalid", lang)]
        values[name] = value
    return values, errors


def _iso_target(text: str | None) -> str | None:
    """A target the assignee typed: a duration as written ('3 days'), a date and time as typed on
    a Thai page (19/11/2569 14:30) as ISO 8601, as the API takes it."""
    if not text:
        return None
    try:
        return dates.parse_datetime(text).isoformat()
    except ValueError:
        return text


@desk.route("/desk/cases/<code>/act", methods=["POST"])
@login_required
def act(staff, code: str):
    form = request.form
    values, typed_wrong = _iso_values(form)
    if typed_wrong:
        return case_page.__wrapped__(staff, code, errors=typed_wrong, status=422)
    data = {"step": form.get("step", ""), "outcome": form.get("outcome", ""), "note": form.get("note") or None,
            "assignee": form.get("assignee") or None, "target": _iso_target(form.get("target")),
            "values": values,
            "team": [n.strip() for n in form.get("team", "").split(",") if n.strip()]}
    # the message the requester reads, and each expected document as a file (multipart) with its reference
    data["message"] = form.get("message") or None
    uploads, upload_errors = action_form.store_uploads(form, request.files)
    data["documents"] = action_form.paper_refs(form, {u.key for u in uploads})
    try:
        command = commands.from_action(ActionSchema().load(data), tuple(uploads))
    except ValidationError as exc:
        action_form.discard(uploads)
        return case_page.__wrapped__(staff, code, errors={**flatten_errors(exc.messages), **upload_errors},
                                     status=422)
    if upload_errors:  # a file refused by its bytes: nothing kept, the form says which and why
        return case_page.__wrapped__(staff, code, errors=upload_errors, status=422)
    try:
        handlers.act(code, staff, command)
    except LookupError:
        action_form.discard(uploads)
        abort(404)
    except Refusal as exc:
        action_form.discard(uploads)
        return case_page.__wrapped__(staff, code, errors=exc.errors, status=STATUS_OF[exc.kind])
    except BaseException:
        action_form.discard(uploads)
        raise
    flash(i18n.translate("desk.done_ok", i18n.current_language()))
    if form.get("next"):
        return redirect(_safe_next(form["next"]))
    return redirect(url_for("desk.case_page", code=code))


@desk.route("/sops")
@public("the manuals themselves, as published: no case data")
def sops():
    return render_template("assignment/sops.html", packs=packstore.latest_packs())


@desk.route("/sops/<pack>/<sop>")
@public("one manual's table and flowchart: no case data")
def sop_page(pack: str, sop: str):
    found = packstore.sop_for(f"{pack}/{sop}")
    if found is None:
        abort(404)
    lang = i18n.current_language()
    return render_template("assignment/sop.html", sop=found, svg=render_svg(found, lang))


@desk.route("/sops/<pack>/<sop>/flowchart.svg")
@public("one manual's flowchart: no case data")
def sop_flowchart(pack: str, sop: str):
    found = packstore.sop_for(f"{pack}/{sop}")
    if found is None:
        abort(404)
    return Response(render_svg(found, i18n.current_language()), mimetype="image/svg+xml")


# ---------------------------------------------------------------------------------------------
# the reports: the figures heads and directors answer for, with charts


@desk.route("/desk/reports")
@page_required(*reports.READERS)
def reports_page(staff):
    """The dashboard: the indicators against their targets, the year's volumes, on time and late by
    SOP and step, the backlog's ageing and the satisfaction results, for a head's unit or a
    director's organisation (any of its units), by fiscal year, quarter or month; every figure
    a link to the cases behind it, every table a download (CSV, XLSX), the yearly report a PDF."""
    return report_page.render(staff)
