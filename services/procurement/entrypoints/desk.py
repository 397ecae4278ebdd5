"""The procurement desk: web pages (Thai and English) for supplies, finance, heads and the
committees. Projects by stage, one project's whole trail, a contract with its milestones drawn as
a timeline (``timeline.render_svg``) and the forms for the next step (delivery, evidence, the
inspection committee's word, payment), what falls due in the next 30 days, each committee member's
pending acceptances, and a search of the asset register.

A thin edge like assignment's desk: logged in through ``/assignment/login`` (the same session
cookie; an anonymous visit is sent there with ``next=``), every form carries the session's CSRF
token, forms are validated by marshmallow and handed to the use cases of ``contracts``; a refusal
re-renders the page with the field messages and the use case's status (422, 403, 409), and
nothing is stored. The messages show once, beside the form that was refused (each under its
field's label), in the page's language: the use cases' ``Said`` messages are said again from
the catalogue (``proc.refusal.<key>``, dates in the Buddhist era on a Thai page). Who sees which page and which form is ``domain.permissions``' answer, the one
the use cases apply."""
from __future__ import annotations

import functools
from datetime import date, timedelta
from urllib.parse import quote, urlsplit

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from services.procurement import messages  # noqa: F401  (messages registers texts)
from services.procurement.adapters.bus import bus
from services.procurement.adapters.models import (APPROVAL_KINDS, ASSET_STATUSES, COMMITTEE_KINDS, COMMITTEE_POSITIONS,
                                                  DOCUMENT_KINDS, METHODS, OWNERSHIP, PROJECT_KINDS, PROJECT_STAGES,
                                                  AccessLog, Contract, Project, Vendor)
from services.procurement.domain import fines, permissions, stages
from services.procurement.domain.milestones import MilestoneFacts, Word
from services.procurement.entrypoints import timeline
from services.procurement.entrypoints.form_input import form_data, load
from services.procurement.handlers import contracts, projects, reminders
from services.procurement.handlers.common import of_org
from services.procurement.schemas.contracts import AcceptanceInSchema, DeliverySchema, EvidenceSchema, PaymentSchema
from shared import dates, i18n, said
from shared.audit import log_access
from shared.auth import Access, csrf_ok, current_staff
from shared.errors import NotFound, Refusal
from shared.inputs import INTEGER_MAX
from shared.web import STATUS_OF, flatten_errors

desk = Blueprint("procurement_desk", __name__, url_prefix="/procurement/desk")

DUE_DAYS = 30
LOGIN_PATH = "/assignment/login"


def _lang() -> str:
    return i18n.current_language()


def _t(key: str, **values) -> str:
    return i18n.translate(key, _lang(), **values)


def _refused(message_key: str, status: int = 403):
    return render_template("procurement/refused.html", message=_t(message_key), staff=current_staff()), status


def desk_page(view=None, *, roles: tuple[str, ...] | None = None):
    """Logged-in staff with a procurement role only (``roles``: one of these, for a page only
    they may use); a POST needs the session's CSRF token."""
    if view is None:
        return functools.partial(desk_page, roles=roles)

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        staff = current_staff()
        if staff is None:
            return redirect(f"{LOGIN_PATH}?next={quote(request.full_path.rstrip('?'), safe='/')}")
        if not permissions.may_read(staff):
            return _refused("proc.refused.roles")
        if roles is not None and not permissions.may(staff, roles):
            return _refused("proc.refusal.roles")  # "your roles may not do this", as the use cases say
        # a cookie session's post carries the session's CSRF token (a bearer token is never sent
        # by a browser on its own)
        if request.method == "POST" and g.get("staff_via_cookie") and not csrf_ok():
            return _refused("proc.refused.csrf")
        return view(staff, *args, **kwargs)

    wrapper.__access__ = Access("staff", permissions.READ_ROLES if roles is None else roles, page=True)
    return wrapper


@desk.errorhandler(404)
def _not_found(exc):
    # the language links lead to the desk's home: a path naming a thing not found (an asset's
    # tag) is not written back on the page
    return render_template("procurement/refused.html", message=_t("proc.not_found"), staff=current_staff(),
                           lang_base=url_for("procurement_desk.index")), 404


@desk.app_template_global()
def fmt_day(value, short: bool = False) -> str:
    return timeline.format_date(value, _lang(), short)


@desk.app_template_global()
def date_input(value) -> str:
    """A date as a date field shows it: 19/11/2569 on a Thai page, 2026-11-19 on an English one."""
    return dates.date_for_input(value, _lang())


@desk.app_template_global()
def fmt_money(value) -> str:
    return timeline.format_money(value)


@desk.app_template_global()
def fiscal_year_text(be: int | None) -> str:
    if not be:
        return "-"
    return _t("proc.fiscal_year.value", be=be, ce=be - 543)


def _safe_next(target: str | None, fallback: str) -> str:
    """Only a path of this desk (no open redirect)."""
    if target and target.startswith("/procurement/desk") and not urlsplit(target).netloc and "//" not in target:
        return target
    return fallback


def _today() -> date:
    return contracts.today()


# ---------------------------------------------------------------------------------------------
# Forms: a contract page's forms are read by the API's own schemas (``desk_forms.load``)

FORM_SCHEMAS = {"delivery": DeliverySchema, "evidence": EvidenceSchema, "acceptance": AcceptanceInSchema,
                "payment": PaymentSchema}


# ---------------------------------------------------------------------------------------------
# Projects


@desk.route("/")
@desk_page
def index(staff):
    fy = request.args.get("fy", type=int)
    if fy is not None and not 0 < fy <= INTEGER_MAX:
        fy = None  # not a year any project can have: the page of every year, not a value the column refuses
    with bus.session() as session:
        # the caller's organisation's projects only (every one's for a system administrator)
        years = sorted((y for y in session.scalars(of_org(select(Project.fiscal_year), Project.org, staff).distinct())
                        if y), reverse=True)
        query = of_org(select(Project), Project.org, staff).order_by(Project.updated_at.desc(), Project.id.desc())
        if fy:
            query = query.where(Project.fiscal_year == fy)
        found = session.scalars(query.limit(2000)).all()
        by_stage: dict[str, list[dict]] = {stage: [] for stage in PROJECT_STAGES}
        for p in found:
            by_stage.setdefault(p.stage, []).append({
                "id": p.id, "title": p.title, "tracking_code": p.tracking_code, "reference_price": p.reference_price,
                "budget": p.budget, "officer": p.officer, "updated_at": p.updated_at, "fiscal_year": p.fiscal_year,
                "kind": p.kind, "contracts": [{"id": c.id, "number": c.number} for c in p.contracts]})
    return render_template("procurement/projects.html", staff=staff, by_stage=by_stage, years=years, fy=fy,
                           total=len(found), may_open=not permissions.project_refusal(staff, "create"))


MEMBER_ROWS = 5  # a committee form's rows


def _active_vendors(staff) -> list[Vendor]:
    with bus.session() as session:
        return list(session.scalars(of_org(select(Vendor), Vendor.org, staff).where(Vendor.active.is_(True))
                                    .order_by(Vendor.name, Vendor.id).limit(2000)))


def project_forms(staff, project: dict) -> dict[str, bool]:
    """The project page's forms this person may use now (the use cases refuse the rest anyway)."""
    stage = project["stage"]
    change = not permissions.project_refusal(staff, "change", stage) and stage not in stages.CLOSED_STAGES
    final = stage in stages.FINAL_STAGES
    return {
        "edit": change,
        "documents": change and stage != "cancelled",
        "quote": change and stage in stages.EARLY_STAGES,
        "approval": not permissions.project_refusal(staff, "decide-approval", stage) and not final,
        "committee": change and not final,
        "stage": bool([s for s in project["next_stages"]
                       if not permissions.project_refusal(staff, "move", stage, s)]),
        "delivery": (not permissions.project_refusal(staff, "record-delivery", stage) and project["kind"] != "hire"
                     and stage not in ("contract", "delivered", *stages.CLOSED_STAGES) and not project["contracts"]),
        "cancel": change and not final and not any(c["status"] == "active" for c in project["contracts"]),
        "contract": (not permissions.contract_refusal(staff, "sign") and stage == "procurement"
                     and not project["contracts"]),
    }


def project_choices(staff) -> dict:
    return {"vendors": _active_vendors(staff), "document_kinds": DOCUMENT_KINDS, "approval_kinds": APPROVAL_KINDS,
            "committee_kinds": COMMITTEE_KINDS, "positions": COMMITTEE_POSITIONS, "methods": METHODS,
            "kinds": PROJECT_KINDS, "member_rows": MEMBER_ROWS}


@desk.route("/projects/<int:project_id>")
@desk_page
def project_page(staff, project_id: int):
    return render_project(staff, project_id)


def render_project(staff, project_id: int, errors: dict | None = None, failed: str | None = None,
                   status: int = 200):
    """The project's page, with the forms this person may use (``desk_forms.project_forms``); a
    refused form (``failed``) shows again with its messages (already in the page's language)."""
    with bus.unit_of_work() as uow:
        project = uow.session.get(Project, project_id)
        if project is None or not permissions.sees(staff, project.org):  # another organisation's: none
            abort(404)
        data = projects.project_json(uow.session, project, None)
        purpose = f"procurement desk: project page {project.id}"
        members = [m["id"] for c in data["committees"] for m in c["members"]]
        if members:  # the members' names are shown
            log_access(uow.session, AccessLog, staff, "committee_member", members, purpose)
        if project.officer_contact:
            log_access(uow.session, AccessLog, staff, "project_officer", str(project.id), purpose)
        uow.commit()
    quotes = data["quotes"]
    median = data["reference_price"]
    if median is None and quotes:
        median = stages.median_price([q["amount"] for q in quotes])
    contracts_ = []
    if data["contracts"]:
        contracts_ = contracts.list_contracts(staff, project_id=project_id)
    forms = project_forms(staff, data)
    moves = [s for s in data["next_stages"] if not permissions.project_refusal(staff, "move", data["stage"], s)]
    return render_template("procurement/project.html", staff=staff, project=data, median=median,
                           contracts=contracts_, forms=forms, moves=moves, errors=errors or {}, failed=failed,
                           form=request.form if failed else {}, today=_today(),
                           **project_choices(staff)), status


# ---------------------------------------------------------------------------------------------
# A contract and its milestones


def _milestone_facts(m: dict) -> MilestoneFacts:
    """A milestone as ``contracts.contract_json`` gives it, as the rules see it."""
    return MilestoneFacts(seq=m["seq"], delivered_on=m["delivered_on"], accepted_on=m["accepted_on"],
                          paid_on=m["paid_on"], words=tuple(Word(member_id=a["member_id"], round=a["round"],
                                                                 decision=a["decision"]) for a in m["acceptances"]))


def _actions(staff, contract: dict) -> dict[int, dict]:
    """For each milestone, the forms this person may use now: ``permissions.desk_offer``."""
    members = [permissions.Member(id=m["member_id"], name=m["name"], username=m["username"], position=m["position"])
               for m in contract["inspection_committee"]]
    out = {}
    for m in contract["milestones"]:
        offer = permissions.desk_offer(staff, contract["status"], _milestone_facts(m), members)
        forms = {}
        if offer.deliver:
            forms["delivery"] = True
        if offer.add_evidence:
            forms["evidence"] = True
        if offer.accept_as is not None:
            forms["acceptance"] = {"member_id": None}
        if offer.accept_for:
            forms["paper_acceptance"] = [{"member_id": a.id, "name": a.name, "position": a.position,
                                          "username": a.username} for a in offer.accept_for]
        if offer.pay:
            forms["payment"] = {"amount": fines.payable(m["amount"], m["fine_amount"])}
        if forms:
            out[m["id"]] = forms
    return out


# the fields of each form that show their own messages, under their label; the others' messages
# (and the whole form's, ``_schema``) show at the top of the form
FORM_FIELDS = {"delivery": ("delivered_on", "documents", "ref", "note"), "evidence": ("documents", "ref"),
               "acceptance": ("member_id", "signed_on", "documents", "note"),
               "payment": ("paid_on", "payment_ref", "documents", "note")}
# values a refusal's words name that are words themselves: the catalogue's prefix for them
WORDS = {"state": "proc.ms.state.", "status": "proc.contract_status.", "stage": "proc.stage.",
         "kinds": "proc.approval_kind."}


def _said(errors: dict, lang: str) -> dict[str, list[str]]:
    """The use case's or the schema's messages in the page's language (``shared.said``)."""
    return said.said(errors, lang, "proc.refusal.", WORDS)


def _failed_form(failed: tuple | None, actions: dict, form) -> tuple | None:
    """(the form, milestone id) the refused post came from, when that form is on the page again
    (an acceptance recorded for a member is the paper acceptance form); else None."""
    if not failed:
        return None
    kind, milestone_id = failed
    forms = actions.get(milestone_id, {})
    if kind == "acceptance":
        paper = bool(form.get("member_id")) or "acceptance" not in forms
        kind = "paper_acceptance" if paper and forms.get("paper_acceptance") else "acceptance"
    return (kind, milestone_id) if forms.get(kind) else None


def _contract_page(staff, contract_id: int, errors: dict | None = None, failed: tuple | None = None,
                   status: int = 200):
    lang, today = _lang(), _today()
    with bus.unit_of_work() as uow:
        contract = uow.session.scalars(
            select(Contract).where(Contract.id == contract_id)
            .options(joinedload(Contract.project), joinedload(Contract.vendor))).unique().one_or_none()
        if contract is None or not permissions.sees(staff, contract.org):  # another organisation's: none
            abort(404)
        data = contracts.contract_json(uow.session, contract, staff,
                                       purpose=f"procurement desk: contract page {contract.id}")
        svg = timeline.render_svg(contract, lang, today)
        views = {m.id: timeline.milestone_view(m, today) for m in contract.milestones}
        uow.commit()
    actions = _actions(staff, data)
    form = request.form if failed else {}
    failed_at = _failed_form(failed, actions, form)
    may_report = not permissions.contract_refusal(staff, "report-incident")
    if failed is not None and failed[0] == "incident":  # its form shows its messages (when it is offered)
        failed_at = ("incident", 0) if may_report and data["status"] == "active" else None
    return render_template("procurement/contract.html", staff=staff, contract=data, svg=svg, views=views,
                           actions=actions, errors=_said(errors or {}, lang), failed=failed, failed_at=failed_at,
                           may_report=may_report,
                           fields_of=FORM_FIELDS, today=today, form=form), status


@desk.route("/contracts/<int:contract_id>")
@desk_page
def contract_page(staff, contract_id: int):
    return _contract_page(staff, contract_id)


def _act(staff, contract_id: int, milestone_id: int, kind: str, run):
    """Validate the form, run the use case; on a refusal show the contract page again with the
    messages (and the use case's status), else go back where the form came from."""
    try:
        data = load(FORM_SCHEMAS[kind](), form_data())
    except ValidationError as exc:
        return _contract_page(staff, contract_id, flatten_errors(exc.messages), (kind, milestone_id), 422)
    files = [f for f in request.files.getlist("files") if f and f.filename]
    try:
        run(data, files)
    except Refusal as exc:
        if isinstance(exc, NotFound):
            abort(404)
        return _contract_page(staff, contract_id, exc.errors, (kind, milestone_id), STATUS_OF[exc.kind])
    flash(_t("proc.saved"))
    return redirect(_safe_next(request.form.get("next"),
                               url_for("procurement_desk.contract_page", contract_id=contract_id)))


@desk.route("/contracts/<int:contract_id>/milestones/<int:milestone_id>/delivery", methods=["POST"])
@desk_page
def deliver(staff, contract_id: int, milestone_id: int):
    return _act(staff, contract_id, milestone_id, "delivery", lambda data, files: contracts.record_delivery(
        staff, contract_id, milestone_id, data["delivered_on"], data["note"], files, ref=data.get("ref"),
        ref_name=data.get("ref_name")))


@desk.route("/contracts/<int:contract_id>/milestones/<int:milestone_id>/evidence", methods=["POST"])
@desk_page
def evidence(staff, contract_id: int, milestone_id: int):
    return _act(staff, contract_id, milestone_id, "evidence", lambda data, files: contracts.add_evidence(
        staff, contract_id, milestone_id, files, ref=data.get("ref"), ref_name=data.get("ref_name")))


@desk.route("/contracts/<int:contract_id>/milestones/<int:milestone_id>/acceptance", methods=["POST"])
@desk_page
def acceptance(staff, contract_id: int, milestone_id: int):
    return _act(staff, contract_id, milestone_id, "acceptance", lambda data, files: contracts.decide_acceptance(
        staff, contract_id, milestone_id, data["decision"], data["note"], files, member_id=data.get("member_id"),
        signed_on=data.get("signed_on")))


@desk.route("/contracts/<int:contract_id>/milestones/<int:milestone_id>/payment", methods=["POST"])
@desk_page
def payment(staff, contract_id: int, milestone_id: int):
    return _act(staff, contract_id, milestone_id, "payment", lambda data, files: contracts.record_payment(
        staff, contract_id, milestone_id, data["paid_on"], data["payment_ref"], data["note"], files))


# ---------------------------------------------------------------------------------------------
# What falls due, and what awaits my word


def _due_row(m, today: date, cal) -> dict:
    contract, project = m.contract, m.contract.project
    view = timeline.milestone_view(m, today)
    row = {"milestone": m, "contract": contract, "project": project, "view": view, "fine_so_far": None,
           "working_days": None}
    if view["overdue"]:
        row["fine_so_far"] = contracts.fine_for(contract, m, today)[1]
    elif m.due_on >= today:
        row["working_days"] = reminders.days_ahead(cal, today, m.due_on)
    return row


@desk.route("/due")
@desk_page
def due(staff):
    today = _today()
    upcoming = contracts.due_between(today, today + timedelta(days=DUE_DAYS), staff)
    overdue = contracts.due_between(date(1900, 1, 1), today - timedelta(days=1), staff)
    with bus.session() as session:
        cal = reminders.calendar(session)
    overdue_rows = [_due_row(m, today, cal) for m in overdue]
    overdue_rows.sort(key=lambda r: (not r["view"]["overdue"], r["milestone"].due_on, r["milestone"].id))
    return render_template("procurement/due.html", staff=staff, today=today, days=DUE_DAYS,
                           overdue=overdue_rows, upcoming=[_due_row(m, today, cal) for m in upcoming])


@desk.route("/acceptances")
@desk_page
def acceptances(staff):
    return render_template("procurement/acceptances.html", staff=staff,
                           items=contracts.pending_acceptances(staff))


# ---------------------------------------------------------------------------------------------
# The asset register


ASSET_PAGE = 50
WARRANTIES = ("active", "expired")  # handlers.assets.list_assets: in force today (Bangkok), or ended


@desk.route("/assets")
@desk_page
def assets_page(staff):
    """The register, a page at a time by tag: every asset of the organisation, narrowed by a search
    (tag, kind, model, serial, place, holder), status, ownership and warranty (in force, ended)."""
    from services.procurement.handlers import assets

    q = (request.args.get("q") or "").strip()[:200]
    status = request.args.get("status") if request.args.get("status") in ASSET_STATUSES else None
    ownership = request.args.get("ownership") if request.args.get("ownership") in OWNERSHIP else None
    warranty = request.args.get("warranty") if request.args.get("warranty") in WARRANTIES else None
    page = request.args.get("page", type=int) or 1
    page = min(max(page, 1), 100_000)
    found = assets.list_assets(staff, q=q or None, status=status, ownership=ownership, warranty=warranty,
                               page=page, per_page=ASSET_PAGE)
    last = max(1, -(-found["total"] // ASSET_PAGE))
    keep = {k: v for k, v in (("q", q), ("status", status), ("ownership", ownership), ("warranty", warranty)) if v}
    return render_template("procurement/assets.html", staff=staff, q=q, status=status, ownership=ownership,
                           warranty=warranty, found=found, page=page, last=last, statuses=ASSET_STATUSES,
                           ownerships=OWNERSHIP, warranties=WARRANTIES,
                           page_url=lambda n: url_for("procurement_desk.assets_page", **keep, page=n))

