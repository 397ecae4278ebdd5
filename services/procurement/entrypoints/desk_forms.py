"""The procurement desk's forms for what supplies, the approvers and the committees do before and
while a contract runs: vendors and their contacts; opening a project and changing it; its
documents, quotes, approvals, committees, stage moves, a purchase's delivery and cancelling;
signing the contract with its milestones and the fine rule; reporting an incident.

Every form is loaded by the API's own schema (``schemas``: the same rules, the same messages) and
handed to the same use case the API calls, which applies the same permissions
(``domain.permissions``); the page offers a form only to those whom that answer lets. A page
writes dates as its reader does (19/11/2569 on a Thai page): they are read back to ISO before the
schema sees them. A refusal shows the page again, the messages beside their fields in the page's
language (``shared.said``) with the use case's status, and nothing is stored."""
from __future__ import annotations

import io
import json
import logging
import queue
import re
import threading
from collections.abc import Callable

from flask import Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from marshmallow import ValidationError

from services.procurement.adapters.bus import bus
from services.procurement.adapters.models import COMMITTEE_KINDS, FINE_BASES, METHODS, PROJECT_KINDS, Project
from services.procurement.domain import permissions, stages
from services.procurement.entrypoints.desk import (WORDS, _active_vendors, _contract_page, _lang, _t, desk, desk_page,
                                                  render_project)
from services.procurement.entrypoints.form_input import ROW, form_data, load, on_the_form
from services.procurement.entrypoints.web import dotted
from services.procurement.handlers import assets, contracts, csvio, projects, vendors
from services.procurement.handlers.commands import (AddContact, AddQuote, AppointCommittee, LendAsset, OpenProject,
                                                    RegisterVendor, ReportIncident, ReturnLoan, SignContract,
                                                    UpdateProject, UpdateVendor, from_loaded)
from services.procurement.schemas.assets import (ContactInSchema, ImportFormSchema, LoanInSchema, LoanReturnSchema,
                                                 VendorInSchema, VendorPatchSchema)
from services.procurement.schemas.contracts import ContractCreateSchema, IncidentInSchema
from services.procurement.schemas.projects import (ApprovalCreateSchema, CommitteeInSchema, ProjectCancelSchema,
                                                   ProjectCreateSchema, ProjectDocumentUploadSchema,
                                                   ProjectStageSchema, ProjectUpdateSchema, PurchaseDeliverySchema,
                                                   QuoteCreateSchema)
from shared import said
from shared.errors import Forbidden, Invalid, NotFound, Refusal
from shared.web import STATUS_OF

log = logging.getLogger(__name__)

MILESTONE_ROWS = 3
VENDOR_PAGE = 50


# ---------------------------------------------------------------------------------------------
# what the forms' templates call


@desk.app_template_global()
def word_options(prefix: str, keys) -> list[tuple[str, str]]:
    """A select's options: each key and its word (``<prefix><key>``) in the page's language."""
    return [(key, _t(prefix + key)) for key in keys]


@desk.app_template_global()
def vendor_options(vendors_, first=()) -> list[tuple[int, str]]:
    """The active vendors, those named in ``first`` (the project's quoting vendors) first."""
    first = list(first or ())
    ordered = sorted(vendors_, key=lambda v: (v.id not in first, first.index(v.id) if v.id in first else 0))
    return [(v.id, f"{v.name} ({v.tax_id})") for v in ordered]


@desk.app_template_global()
def member_fields(rows: int) -> list[str]:
    return [f"members.{n}.{name}" for n in range(rows) for name in ("name", "username", "email", "position")]


@desk.app_template_global()
def said_all(errors: dict) -> list[str]:
    """Every message of a refusal, in the page's language, one after another."""
    return [m for messages in _said(errors).values() for m in messages]


def _said(errors: dict) -> dict[str, list[str]]:
    return said.said(on_the_form(errors), _lang(), "proc.refusal.", WORDS)


def _files(name: str = "files") -> list:
    return [f for f in request.files.getlist(name) if f and f.filename]


def attempt(run: Callable[[], object], again: Callable[[dict, int], object], done: Callable[[object], object],
            refused: dict | None = None):
    """Run a form's use case: a schema's or a use case's refusal shows the page again (``again``
    with the messages in the page's language and the status), else ``done`` with its result.
    ``refused``: the permissions' answer for this person, asked before the form is read (as the
    API's guard is, before its schema): a 403 whatever the form holds."""
    try:
        if refused:
            raise Forbidden(errors=refused)
        result = run()
    except ValidationError as exc:
        return again(_said(dotted(exc.messages)), 422)
    except NotFound:
        abort(404)
    except Refusal as exc:
        errors = exc.errors or {"_schema": [exc.message or _t("proc.refused.roles")]}
        return again(_said(errors), STATUS_OF[exc.kind])
    flash(_t("proc.saved"))
    return done(result)


# ---------------------------------------------------------------------------------------------
# vendors


def _vendors_page(staff, errors: dict | None = None, status: int = 200):
    q = (request.args.get("q") or "").strip()[:200]
    page = min(max(request.args.get("page", type=int) or 1, 1), 100_000)
    found = vendors.list_vendors(staff, q=q or None, page=page, per_page=VENDOR_PAGE)
    last = max(1, -(-found["total"] // VENDOR_PAGE))
    return render_template("procurement/vendors.html", staff=staff, found=found, q=q, page=page, last=last,
                           may_write=not permissions.register_refusal(staff), errors=errors or {},
                           failed="vendor" if errors else None, form=request.form if errors else {}), status


@desk.route("/vendors")
@desk_page
def vendors_page(staff):
    return _vendors_page(staff)


@desk.route("/vendors", methods=["POST"])
@desk_page(roles=permissions.REGISTER_WRITE_ROLES)
def vendor_create(staff):
    data = form_data()
    return attempt(lambda: vendors.create_vendor(staff, from_loaded(RegisterVendor, load(VendorInSchema(), data))),
                   lambda errors, status: _vendors_page(staff, errors, status),
                   lambda vendor: redirect(url_for("procurement_desk.vendor_page", vendor_id=vendor["id"])),
                   permissions.register_refusal(staff))


def _vendor_page(staff, vendor_id: int, errors: dict | None = None, failed: str | None = None, status: int = 200):
    try:
        vendor = vendors.vendor_detail(staff, vendor_id, purpose=f"procurement desk: vendor page {vendor_id}")
    except NotFound:
        abort(404)
    return render_template("procurement/vendor.html", staff=staff, vendor=vendor, errors=errors or {},
                           failed=failed, form=request.form if failed else {},
                           may_write=not permissions.register_refusal(staff)), status


@desk.route("/vendors/<int:vendor_id>", methods=["GET", "POST"])
@desk_page
def vendor_page(staff, vendor_id: int):
    if request.method == "GET":
        return _vendor_page(staff, vendor_id)
    again = lambda errors, status: _vendor_page(staff, vendor_id, errors, "vendor", status)  # noqa: E731
    data = form_data(checks=("active",))
    return attempt(lambda: vendors.update_vendor(staff, vendor_id,
                                                 from_loaded(UpdateVendor, load(VendorPatchSchema(), data))),
                   again, lambda _: redirect(url_for("procurement_desk.vendor_page", vendor_id=vendor_id)),
                   permissions.register_refusal(staff))


@desk.route("/vendors/<int:vendor_id>/contacts", methods=["POST"])
@desk_page
def vendor_contact_add(staff, vendor_id: int):
    again = lambda errors, status: _vendor_page(staff, vendor_id, errors, "contact", status)  # noqa: E731
    data = form_data(checks=("emergency",))
    return attempt(lambda: vendors.add_contact(staff, vendor_id, from_loaded(AddContact, load(ContactInSchema(), data))),
                   again, lambda _: redirect(url_for("procurement_desk.vendor_page", vendor_id=vendor_id)),
                   permissions.register_refusal(staff))


@desk.route("/vendors/<int:vendor_id>/contacts/<int:contact_id>/remove", methods=["POST"])
@desk_page
def vendor_contact_remove(staff, vendor_id: int, contact_id: int):
    again = lambda errors, status: _vendor_page(staff, vendor_id, errors, "contact", status)  # noqa: E731
    return attempt(lambda: vendors.delete_contact(staff, vendor_id, contact_id), again,
                   lambda _: redirect(url_for("procurement_desk.vendor_page", vendor_id=vendor_id)))


# ---------------------------------------------------------------------------------------------
# opening a project


def _new_project_page(staff, errors: dict | None = None, status: int = 200):
    return render_template("procurement/project_new.html", staff=staff, errors=errors or {},
                           failed="project" if errors else None, form=request.form if errors else {}, kinds=PROJECT_KINDS, methods=METHODS), status


@desk.route("/projects/new")
@desk_page(roles=permissions.PROJECT_WRITE_ROLES)
def project_new(staff):
    return _new_project_page(staff)


@desk.route("/projects", methods=["POST"])
@desk_page(roles=permissions.PROJECT_WRITE_ROLES)
def project_create(staff):
    data = form_data()
    return attempt(lambda: projects.create_project(staff, from_loaded(OpenProject, load(ProjectCreateSchema(), data))),
                   lambda errors, status: _new_project_page(staff, errors, status),
                   lambda project: redirect(url_for("procurement_desk.project_page", project_id=project["id"])),
                   permissions.project_refusal(staff, "create"))


# ---------------------------------------------------------------------------------------------
# a project's forms (which of them a person may use: desk.project_forms)


def _again(staff, project_id: int, failed: str):
    return lambda errors, status: render_project(staff, project_id, errors, failed, status)


def _back(project_id: int):
    return lambda _: redirect(url_for("procurement_desk.project_page", project_id=project_id))


@desk.route("/projects/<int:project_id>/edit", methods=["POST"])
@desk_page
def project_edit(staff, project_id: int):
    data = form_data()
    # a select's "none" is the field cleared (the API takes "" for these)
    for name in ("method", "officer", "tracking_code"):
        if name in request.form and not request.form[name].strip():
            data[name] = ""
    return attempt(lambda: projects.update_project(staff, project_id,
                                                   from_loaded(UpdateProject, load(ProjectUpdateSchema(), data))),
                   _again(staff, project_id, "edit"), _back(project_id))


@desk.route("/projects/<int:project_id>/documents", methods=["POST"])
@desk_page
def project_documents(staff, project_id: int):
    data = form_data()

    def run():
        cleaned = load(ProjectDocumentUploadSchema(), data)
        return projects.add_documents(staff, project_id, cleaned["kind"], _files(), name=cleaned["name"],
                                      ref=cleaned["ref"])

    return attempt(run, _again(staff, project_id, "documents"), _back(project_id))


@desk.route("/projects/<int:project_id>/quotes", methods=["POST"])
@desk_page
def project_quote(staff, project_id: int):
    data = form_data()

    def run():
        cleaned = load(QuoteCreateSchema(), data)
        files = _files("document")
        return projects.add_quote(staff, project_id, from_loaded(AddQuote, cleaned), file=files[0] if files else None)

    return attempt(run, _again(staff, project_id, "quote"), _back(project_id))


@desk.route("/projects/<int:project_id>/quotes/<int:quote_id>/remove", methods=["POST"])
@desk_page
def project_quote_remove(staff, project_id: int, quote_id: int):
    return attempt(lambda: projects.remove_quote(staff, project_id, quote_id), _again(staff, project_id, "quote"),
                   _back(project_id))


@desk.route("/projects/<int:project_id>/approvals", methods=["POST"])
@desk_page
def project_approval(staff, project_id: int):
    data = form_data()

    def run():
        cleaned = load(ApprovalCreateSchema(), data)
        files = _files("document")
        return projects.decide_approval(staff, project_id, cleaned["kind"], cleaned["decision"], cleaned["note"],
                                        file=files[0] if files else None, document_id=cleaned["document_id"])

    return attempt(run, _again(staff, project_id, "approval"), _back(project_id),
                   permissions.project_refusal(staff, "decide-approval"))


@desk.route("/projects/<int:project_id>/committees", methods=["POST"])
@desk_page
def project_committee(staff, project_id: int):
    data = form_data("members")
    kind = data.pop("kind", "")
    if kind not in COMMITTEE_KINDS:
        return _again(staff, project_id, "committee")(_said({"kind": ["Must be one of: tor, procurement, "
                                                                      "inspection."]}), 422)
    return attempt(lambda: projects.appoint_committee(staff, project_id, kind,
                                                      from_loaded(AppointCommittee, load(CommitteeInSchema(), data))),
                   _again(staff, project_id, "committee"), _back(project_id))


@desk.route("/projects/<int:project_id>/stage", methods=["POST"])
@desk_page
def project_stage(staff, project_id: int):
    data = form_data()

    def run():
        cleaned = load(ProjectStageSchema(), data)
        return projects.change_stage(staff, project_id, cleaned["stage"], cleaned["note"])

    return attempt(run, _again(staff, project_id, "stage"), _back(project_id))


@desk.route("/projects/<int:project_id>/delivery", methods=["POST"])
@desk_page
def project_delivery(staff, project_id: int):
    data = form_data()

    def run():
        cleaned = load(PurchaseDeliverySchema(), data)
        return projects.record_delivery(staff, project_id, cleaned["delivered_on"], cleaned["note"], files=_files(),
                                        ref=cleaned["ref"], ref_name=cleaned["ref_name"])

    return attempt(run, _again(staff, project_id, "delivery"), _back(project_id))


@desk.route("/projects/<int:project_id>/cancel", methods=["POST"])
@desk_page
def project_cancel(staff, project_id: int):
    data = form_data()
    return attempt(lambda: projects.cancel_project(staff, project_id, load(ProjectCancelSchema(), data)["reason"]),
                   _again(staff, project_id, "cancel"), _back(project_id))


# ---------------------------------------------------------------------------------------------
# signing the contract


def _contract_form(staff, project_id: int, errors: dict | None = None, status: int = 200):
    with bus.session() as session:
        project = session.get(Project, project_id)
        if project is None or not permissions.sees(staff, project.org):
            abort(404)
        facts = projects.project_facts(project)
        brief = {"id": project.id, "title": project.title, "stage": project.stage, "budget": project.budget,
                 "reference_price": project.reference_price,
                 "vendor_ids": [q.vendor_id for q in project.quotes]}
        blockers = stages.contract_blockers(facts)
    asked = min(max(request.args.get("rows", type=int) or 0, 0), 60)  # a contract has at most 60 milestones
    typed = max((int(m["n"]) + 1 for m in map(ROW.match, request.form) if m and m["list"] == "milestones"),
                default=0) if errors else 0
    rows = max(MILESTONE_ROWS, asked, typed)
    return render_template("procurement/contract_new.html", staff=staff, project=brief, errors=errors or {},
                           failed="contract" if errors else None,
                           today=contracts.today(),
                           form=request.form if errors else {}, vendors=_active_vendors(staff), rows=rows,
                           fine_bases=FINE_BASES, blockers=[said.say(b, _lang(), "proc.refusal.", WORDS)
                                                            for b in blockers],
                           refused=permissions.contract_refusal(staff, "sign")), status


@desk.route("/projects/<int:project_id>/contract", methods=["GET", "POST"])
@desk_page
def contract_new(staff, project_id: int):
    if request.method == "GET":
        return _contract_form(staff, project_id)  # another organisation's project: 404 there
    with bus.session() as session:
        project = session.get(Project, project_id)
        if project is None or not permissions.sees(staff, project.org):  # another organisation's: none
            abort(404)
    data = form_data("milestones", "documents")
    data["project_id"] = project_id
    for paper in data["documents"]:
        paper.setdefault("name", _t("proc.f.contract.paper_name"))
    by = request.form.get("split")  # the milestones by amount or by share of the contract's amount
    for row in data["milestones"]:
        value = row.pop("value", None)
        if value is not None:
            row["share_percent" if by == "share" else "amount"] = value
    return attempt(lambda: contracts.create_contract(staff, from_loaded(SignContract,
                                                                        load(ContractCreateSchema(), data))),
                   lambda errors, status: _contract_form(staff, project_id, _row_values(errors, by), status),
                   lambda contract: redirect(url_for("procurement_desk.contract_page", contract_id=contract["id"])),
                   permissions.contract_refusal(staff, "sign"))


def _row_values(errors: dict, by: str | None) -> dict:
    """A milestone's amount or share refused is shown under the row's one value field."""
    out: dict[str, list[str]] = {}
    for name, messages in errors.items():
        match = re.match(r"^milestones\.(\d+)\.(amount|share_percent)$", name)
        out.setdefault(f"milestones.{match[1]}.value" if match else name, []).extend(messages)
    return out


# ---------------------------------------------------------------------------------------------
# an incident on a running contract


@desk.route("/contracts/<int:contract_id>/incidents", methods=["POST"])
@desk_page
def contract_incident(staff, contract_id: int):
    data = form_data()
    return attempt(lambda: contracts.report_incident(staff, contract_id,
                                                     from_loaded(ReportIncident, load(IncidentInSchema(), data))),
                   lambda errors, status: _contract_page(staff, contract_id, errors, ("incident", 0), status),
                   lambda _: redirect(url_for("procurement_desk.contract_page", contract_id=contract_id)),
                   permissions.contract_refusal(staff, "report-incident"))


# ---------------------------------------------------------------------------------------------
# an asset: its page, its loans; the register's CSV in and out


def _asset_page(staff, tag: str, errors: dict | None = None, failed: str | None = None, status: int = 200):
    try:
        asset = assets.asset_detail(staff, tag)
        loans = assets.list_loans(staff, tag)
    except NotFound:
        abort(404)
    cases = sorted({c for c in [*(loan["tracking_code"] for loan in loans),
                                *(claim["tracking_code"] for claim in asset["claims"])] if c})
    return render_template("procurement/asset.html", staff=staff, asset=asset, loans=loans, cases=cases,
                           errors=errors or {}, failed=failed, form=request.form if failed else {},
                           today=contracts.today(), may_lend=not permissions.loan_refusal(staff)), status


@desk.route("/assets/<path:tag>")
@desk_page
def asset_page(staff, tag: str):
    return _asset_page(staff, tag)


def _to_asset(tag: str):
    return lambda _: redirect(url_for("procurement_desk.asset_page", tag=tag))


@desk.route("/assets/<path:tag>/loans", methods=["POST"])
@desk_page
def asset_lend(staff, tag: str):
    data = form_data()
    return attempt(lambda: assets.lend(staff, tag, from_loaded(LendAsset, load(LoanInSchema(), data))),
                   lambda errors, status: _asset_page(staff, tag, errors, "lend", status), _to_asset(tag),
                   permissions.loan_refusal(staff))


@desk.route("/assets/<path:tag>/loans/<int:loan_id>/return", methods=["POST"])
@desk_page
def asset_return(staff, tag: str, loan_id: int):
    data = form_data()
    return attempt(lambda: assets.return_loan(staff, tag, loan_id,
                                              from_loaded(ReturnLoan, load(LoanReturnSchema(), data))),
                   lambda errors, status: _asset_page(staff, tag, errors, "return", status), _to_asset(tag),
                   permissions.loan_refusal(staff))


def _import_page(staff, result: dict | None = None, errors: dict | None = None, status: int = 200):
    return render_template("procurement/asset_import.html", staff=staff, result=result, errors=errors or {},
                           failed="import" if errors else None, form=request.form if errors else {}), status


@desk.route("/assets/import", methods=["GET", "POST"])
@desk_page(roles=permissions.REGISTER_WRITE_ROLES)
def asset_import(staff):
    """The register's CSV in (all rows or none; each bad row by its line), as ``sopdesk assets
    import`` and the API take it. A page's script asks for the progress as it goes
    (``Accept: application/x-ndjson``: a line per step, then the result); without a script the
    form posts and the result comes back as a page."""
    if request.method == "GET":
        return _import_page(staff)
    upload = request.files.get("file")  # the route's guard let only the register's writers this far
    try:
        form = load(ImportFormSchema(), form_data())
        if upload is None or not upload.filename:
            raise Invalid(errors={"file": [said.Said("import_file", "Choose the CSV file to import.")]})
        org = csvio.org_of(staff, form.get("org"))
    except (ValidationError, Refusal) as exc:
        errors = _said(dotted(exc.messages) if isinstance(exc, ValidationError) else exc.errors)
        status = 422 if isinstance(exc, ValidationError) else STATUS_OF[exc.kind]
        if _streamed():
            return {"done": True, "status": status, "errors": errors}, status
        return _import_page(staff, errors=errors, status=status)
    if not _streamed():
        result = csvio.import_assets(upload.stream, mode=form["mode"], org=org)
        return _import_page(staff, result=_import_result(result, _lang()), status=200 if result.ok else 422)
    return Response(stream_with_context(_import_progress(upload.read(), form["mode"], org)),
                    mimetype="application/x-ndjson", headers={"Cache-Control": "no-store"})


def _streamed() -> bool:
    return request.accept_mimetypes.best == "application/x-ndjson"


def _import_result(result, lang: str) -> dict:
    return {"ok": result.ok, "mode": result.mode, "rows": result.rows, "created": result.created,
            "updated": result.updated,
            "rejected": [{"line": r.line, "tag": r.as_dict().get("tag"),
                          "errors": {field: [said.say(m, lang, "proc.refusal.", WORDS) for m in messages]
                                     for field, messages in r.as_dict().get("errors", {}).items()}}
                         for r in result.rejected]}


def _import_progress(data: bytes, mode: str, org):
    """The import run beside the answer: a JSON line for each step it reports (stage, done,
    total), then the result. The file is read before the answer starts; the import commits all
    rows or none whether or not the page is still there to hear of it."""
    steps: queue.Queue = queue.Queue()
    lang = _lang()

    def run():
        try:
            result = csvio.import_assets(io.BytesIO(data), mode=mode, org=org,
                                         progress=lambda stage, done, total: steps.put(
                                             {"stage": stage, "done": done, "total": total}))
            steps.put({"done": True, "result": _import_result(result, lang)})
        except Exception:  # noqa: BLE001  (said to the page, logged here)
            log.exception("asset import from the desk failed")
            steps.put({"done": True, "failed": True})

    worker = threading.Thread(target=run, name="asset-import", daemon=True)
    worker.start()
    while True:
        step = steps.get()
        yield json.dumps(step, ensure_ascii=False, default=str) + "\n"
        if "result" in step or step.get("failed"):
            break
    worker.join()
