"""An organisation's pack on the desk, for its administrators (a system administrator: any
organisation's): the versions loaded and the current one to download; a YAML file uploaded,
checked (its errors at file:line, as ``sopdesk packs check`` prints them), previewed SOP by SOP
(the manual's table and flowchart) and loaded as a new version; and an SOP edited in a form, its
flowchart and check redrawn as one types (a small script posts the form to ``preview``), saved as
a new version. Another organisation's pack is not found (404). Thin: ``handlers.packs_admin``
decides."""
from __future__ import annotations

import functools
import re

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for

from services.assignment.handlers import packs_admin as packs
from shared import i18n
from shared.auth import page_required
from shared.packs import KEY_PATTERN, OUTCOME_KINDS, RESULTS, ROLES, WAITS, PackError
from shared.packs.flowchart import render_svg

pack_pages = Blueprint("packs", __name__, url_prefix="/assignment/desk/packs")


def _lang() -> str:
    return i18n.current_language()


def manager_page(view):
    """A page of one organisation's pack (``org`` in the path): its administrators and a system
    administrator; to anyone else it does not exist."""

    @functools.wraps(view)
    def checked(staff, org: str, *args, **kwargs):
        if not packs.may_manage(staff, org):
            abort(404)
        return view(staff, org, *args, **kwargs)

    return page_required(*packs.MANAGERS)(checked)


def _refusal(exc: packs.PackRefused) -> str:
    values = {k: v for k, v in exc.values.items() if k != "errors"}
    return i18n.translate(f"packs.refused.{exc.code}", _lang(), **values)


def _form() -> dict[str, list[str]]:
    return {key: values for key, values in request.form.to_dict(flat=False).items() if key != "csrf_token"}


@pack_pages.route("")
@page_required(*packs.MANAGERS)
def home(staff):
    """One's own organisation's pack; a system administrator chooses an organisation."""
    if not staff.sees_all and staff.org:
        return redirect(url_for("packs.pack", org=staff.org))
    chosen = request.args.get("org", "").strip()
    if chosen and re.match(KEY_PATTERN, chosen):
        return redirect(url_for("packs.pack", org=chosen))
    return render_template("assignment/packs/home.html", orgs=packs.organisations() if staff.sees_all else [],
                           staff=staff)


@pack_pages.route("/<org>")
@manager_page
def pack(staff, org: str):
    return _pack_page(staff, org)


def _pack_page(staff, org: str, error: str = "", errors=(), status: int = 200):
    current = packs.current(org)
    return render_template("assignment/packs/pack.html", org=org, current=current, versions=packs.versions(org),
                           error=error, errors=errors, max_kb=packs.MAX_PACK_BYTES // 1000, staff=staff), status


@pack_pages.route("/<org>/pack.yaml")
@manager_page
def download(staff, org: str):
    """The current version's YAML, as it was loaded."""
    current = packs.current(org)
    if current is None:
        abort(404)
    return Response(current.source, mimetype="application/yaml",
                    headers={"Content-Disposition": f'attachment; filename="{org}-v{current.version}.yaml"'})


def _checked_page(staff, org: str, checked: packs.Checked, error: str = "", status: int = 200):
    lang = _lang()
    try:
        sop_keys = list(packs.raw_of(checked.text)["sops"])
    except packs.PackRefused:
        sop_keys = []
    svgs = {key: render_svg(sop, lang) for key, sop in checked.pack.sops.items()} if checked.valid else {}
    newest = packs.versions(org, limit=1)
    return render_template("assignment/packs/checked.html", org=org, checked=checked, svgs=svgs, sop_keys=sop_keys,
                           newest=newest[0].version if newest else None, error=error, staff=staff), status


@pack_pages.route("/<org>/check", methods=["POST"])
@manager_page
def check(staff, org: str):
    """An uploaded file checked: its errors, or each SOP's table and flowchart and a button to load it."""
    upload = request.files.get("pack")
    try:
        text = packs.text_of(upload.read(packs.MAX_PACK_BYTES + 1) if upload and upload.filename else None)
    except packs.PackRefused as exc:
        return _pack_page(staff, org, error=_refusal(exc), status=422)
    checked = packs.check(text, packs.source_name(upload.filename, org))
    if not checked.valid:
        return _checked_page(staff, org, checked, status=422)
    if checked.pack.key != org:
        return _checked_page(staff, org, checked, error=_refusal(packs.PackRefused(
            "other_org", pack=checked.pack.key, org=org)), status=422)
    return _checked_page(staff, org, checked)


@pack_pages.route("/<org>/load", methods=["POST"])
@manager_page
def load(staff, org: str):
    """The checked text loaded as the organisation's new version (checked again: it came back
    from the browser)."""
    source = packs.source_name(request.form.get("filename"), org)
    try:
        text = packs.draft_text(request.form.get("source"))
        result = packs.load(staff, org, text, source)
    except packs.PackRefused as exc:
        if exc.code == "invalid":
            return _checked_page(staff, org, packs.check(text, source), status=422)
        return _pack_page(staff, org, error=_refusal(exc), status=422)
    except PackError as exc:  # packstore: the version is loaded already, or older than the newest
        return _pack_page(staff, org, errors=str(exc).splitlines(), status=422)
    flash(i18n.translate(f"packs.result.{result.status}", _lang(), version=result.version))
    return redirect(url_for("packs.pack", org=org))


# ---------------------------------------------------------------------------------------------
# the editor


def _written(org: str) -> str:
    """The name the editor's check gives the YAML its form writes (shown beside it, line by line):
    the lines of that text, not of the file the draft came from."""
    return f"{org}.yaml"


def _editor_page(staff, org: str, sop_key: str, source: str, filename: str, rows, draft, error: str = "",
                 errors=(), status: int = 200):
    lang = _lang()
    return render_template("assignment/packs/editor.html", org=org, sop_key=sop_key, source=source, filename=filename,
                           rows=rows, draft=draft, written=_written(org), svg=render_svg(draft.sop, lang) if draft.sop else "",
                           sop_keys=list(packs.raw_of(source)["sops"]), roles=packs.role_choices(rows), known_roles=ROLES,
                           waits=WAITS, results=RESULTS, kinds=OUTCOME_KINDS, ops=packs.BRANCH_OPS,
                           approvals=packs.APPROVAL_MODES, notify_modes=packs.NOTIFY_MODES, error=error,
                           errors=errors, staff=staff), status


def _opened(org: str, form: dict) -> tuple[str, str]:
    """The text the editor works on (the draft the form carries; else the current version; else a
    one-step pack to begin with) and its file name."""
    text = (form.get("source") or [""])[0]
    filename = packs.source_name((form.get("filename") or [""])[0], org)
    if text.strip():
        return packs.draft_text(text), filename
    current = packs.current(org)
    return (current.source if current else packs.starter(org)), filename


@pack_pages.route("/<org>/editor", methods=["GET", "POST"])
@manager_page
def editor(staff, org: str):
    """One SOP (``?sop=``) in a form. A post carries the draft's text it was opened on
    (``source``) and the rows as edited; ``intent`` adds, removes or moves a step, switches to
    another SOP of the draft, or saves (a new version)."""
    form = _form() if request.method == "POST" else {}
    try:
        source, filename = _opened(org, form)
        raw = packs.raw_of(source)
    except packs.PackRefused as exc:
        return _pack_page(staff, org, error=_refusal(exc), status=422)
    sop_key = request.args.get("sop") or next(iter(raw["sops"]))
    if sop_key not in raw["sops"]:
        abort(404)
    intent = (form.get("intent") or [""])[0]
    rows = packs.rows_from_form(sop_key, form) if "n_steps" in form else packs.sop_rows(raw, sop_key)
    if intent.startswith("switch:"):  # the draft as edited so far, opened on another of its SOPs
        other = intent.split(":", 1)[1]
        source = packs.draft_of(raw, rows, _written(org)).text
        raw = packs.raw_of(source)
        if other not in raw["sops"]:
            abort(404)
        rows = packs.sop_rows(raw, other)  # the draft lives in the form, not on the server: no redirect
        return _editor_page(staff, org, other, source, filename, rows, packs.draft_of(raw, rows, _written(org)))
    if intent == "new_sop":  # the draft as edited so far, with one more SOP, opened on it
        source = packs.draft_of(raw, rows, _written(org)).text
        try:
            raw = packs.with_new_sop(packs.raw_of(source), (form.get("new_sop") or [""])[0])
        except packs.PackRefused as exc:
            draft = packs.draft_of(raw, rows, _written(org))
            return _editor_page(staff, org, sop_key, draft.text, filename, packs.sop_rows(packs.raw_of(draft.text),
                                sop_key), draft, error=_refusal(exc), status=422)
        source, new_key = packs.dump(raw), list(raw["sops"])[-1]
        rows = packs.sop_rows(raw, new_key)
        return _editor_page(staff, org, new_key, source, filename, rows, packs.draft_of(raw, rows, _written(org)))
    if intent == "save":
        try:
            result = packs.save(staff, org, raw, rows, _written(org))
        except packs.PackRefused as exc:
            draft = packs.draft_of(raw, rows, _written(org))
            status_error = "" if exc.code == "invalid" else _refusal(exc)
            return _editor_page(staff, org, sop_key, source, filename, rows, draft, error=status_error, status=422)
        except PackError as exc:
            draft = packs.draft_of(raw, rows, _written(org))
            return _editor_page(staff, org, sop_key, source, filename, rows, draft, errors=str(exc).splitlines(),
                                status=422)
        flash(i18n.translate(f"packs.result.{result.status}", _lang(), version=result.version))
        return redirect(url_for("packs.pack", org=org))
    rows = packs.rearranged(rows, intent)
    return _editor_page(staff, org, sop_key, source, filename, rows, packs.draft_of(raw, rows, _written(org)))


@pack_pages.route("/<org>/editor/preview", methods=["POST"])
@manager_page
def preview(staff, org: str):
    """The form's rows checked and drawn, for the editor's script: ``{valid, errors, svg}``."""
    form = _form()
    try:
        source, filename = _opened(org, form)
        raw = packs.raw_of(source)
    except packs.PackRefused as exc:
        return jsonify(valid=False, errors=[_refusal(exc)], svg=""), 422
    sop_key = request.args.get("sop") or ""
    if sop_key not in raw["sops"]:
        abort(404)
    draft = packs.draft_of(raw, packs.rows_from_form(sop_key, form), _written(org))
    return jsonify(valid=draft.checked.valid, errors=list(draft.checked.errors), yaml=draft.text,
                   svg=render_svg(draft.sop, _lang()) if draft.sop else "")


# ---------------------------------------------------------------------------------------------
# the YAML itself, for those who write it: the same check as they type


@pack_pages.route("/<org>/yaml")
@manager_page
def yaml_page(staff, org: str):
    """The current version's YAML (a one-step pack when there is none) in a text box, checked as
    one types, loaded by the same ``load``."""
    current = packs.current(org)
    text = current.source if current else packs.starter(org)
    checked = packs.check(text, _written(org))
    return render_template("assignment/packs/yaml.html", org=org, current=current, checked=checked,
                           filename=_written(org), staff=staff)


@pack_pages.route("/<org>/yaml/check", methods=["POST"])
@manager_page
def yaml_check(staff, org: str):
    """A text checked for the YAML page's script: ``{valid, errors}`` (and another organisation's
    pack key said as a refusal)."""
    source = packs.source_name(request.form.get("filename"), org)
    try:
        checked = packs.check(packs.draft_text(request.form.get("source")), source)
    except packs.PackRefused as exc:
        return jsonify(valid=False, errors=[_refusal(exc)]), 422
    if checked.valid and checked.pack.key != org:
        return jsonify(valid=False, errors=[_refusal(packs.PackRefused("other_org", pack=checked.pack.key, org=org))])
    return jsonify(valid=checked.valid, errors=list(checked.errors))
