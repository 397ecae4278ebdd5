"""The desk's list of cases: every case the person may see (``handlers.cases.visible_to``),
searched in Thai or English, filtered, sorted and a page at a time, with status and overdue
colours; and the lists one click away (``presets``: my open work, my overdue work, waiting on
the requester, my unit's, overdue in the organisation). The same query the API takes
(``schemas.CaseQuerySchema``), so that a page's address is the list's, to keep or share; dates
typed in the Buddhist era on Thai pages."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import render_template, request, url_for
from marshmallow import ValidationError

from services.assignment.adapters import packstore
from services.assignment.adapters.bus import bus
from services.assignment.domain import search
from services.assignment.handlers import cases as handlers, directory, registers, saved_lists
from services.assignment.schemas import CaseQuerySchema
from shared import db, dates, i18n
from shared.auth import ORG_WIDE_ROLES, Staff

# the filters a person sets on the page, in the order the form shows them
FIELDS = ("q", "status", "sop", "step", "unit", "assignee", "overdue", "received_from", "received_to", "sort",
          "per_page")


def presets(staff: Staff, actor) -> list[dict]:
    """The lists a person most often wants, as (words, address): their open work and their
    overdue work; for a head, the unit's open and overdue work; for those who see the whole
    organisation, everything overdue; and everything waiting on the requester."""
    mine = {"assignee": staff.username, "status": "open"}
    out = [("list.preset.mine", mine), ("list.preset.my_overdue", {**mine, "overdue": "true", "sort": "due_at"})]
    if actor is not None and actor.is_head and actor.unit:
        unit = {"unit": actor.unit, "status": "open"}
        out += [("list.preset.unit", unit), ("list.preset.unit_overdue", {**unit, "overdue": "true", "sort": "due_at"})]
    if staff.sees_all or set(staff.roles) & set(ORG_WIDE_ROLES):
        out.append(("list.preset.all_overdue", {"status": "open", "overdue": "true", "sort": "due_at"}))
    out.append(("list.preset.waiting", {"status": "waiting"}))
    return [{"key": key, "url": url_for("desk.cases", **query)} for key, query in out]


def _sops(staff: Staff) -> list:
    packs = packstore.latest_packs()
    return [sop for key, pack in packs.items() if staff.sees_all or key == staff.org for sop in pack.sops.values()]


def _messages(errors: dict, lang: str) -> dict[str, list[str]]:
    """A refused filter's words in the page's language, beside its field."""
    return {name: [i18n.translate(f"list.invalid.{name}", lang)] for name in errors}


def page(staff: Staff, args: dict | None = None, form_errors: dict | None = None, list_name: str = ""):
    """The list page for the filters of its address (``args``: those of a list being saved), with
    the refusal of saving it (``form_errors``: translation keys by field) beside the name typed."""
    lang = i18n.current_language()
    given = request.args if args is None else args
    args = {key: value.strip() for key, value in given.items() if key in FIELDS + ("page",) and value.strip()}
    schema = CaseQuerySchema()
    errors: dict = {field: [i18n.translate(m, lang) for m in messages] for field, messages in (form_errors or {}).items()}
    try:
        query = schema.load(args)
    except ValidationError as exc:
        errors.update(_messages(exc.messages, lang))
        query = schema.load({k: v for k, v in args.items() if k not in exc.messages})
    found = handlers.list_cases(staff, **handlers.list_arguments(query))
    now = db.utcnow()
    with bus.session() as session:
        people = directory.people_of_org(session, None if staff.sees_all else staff.org)
        units = directory.units_of_org(session, None if staff.sees_all else staff.org)
        holders = handlers.current_holders(session, [case.id for case in found.cases])
        late = handlers.late_among(session, found.cases, now)
    names = dict(people)  # username -> name, for whoever holds a step on the page
    sops = _sops(staff)
    chosen_sop = next((s for s in sops if s.full_key == query.get("sop")), None)
    rows = []
    for case in found.cases:
        sop = packstore.sop_for(case.sop, case.pack_version)
        step = next((s for s in sop.steps if s.key == case.current_step), None) if sop and case.current_step else None
        rows.append({"case": case, "sop": sop, "step": step, "late": case.id in late,
                     "holders": [names.get(n, n) for n in holders.get(case.id, {}).get("assignees", [])],
                     "waiting_on": holders.get(case.id, {}).get("waiting_on"),
                     "status": status_of(case, holders.get(case.id, {}))})
    shown = {name: args.get(name, "") for name in FIELDS}
    for name in ("received_from", "received_to"):  # a day shows as the page's people write it
        if query.get(name):
            shown[name] = dates.date_for_input(query[name], lang)
    keep = {k: v for k, v in args.items() if k != "page"}

    def page_url(number: int) -> str:
        return url_for("desk.cases") + "?" + urlencode({**keep, "page": number})

    return render_template("assignment/cases.html", rows=rows, found=found, shown=shown, errors=errors,
                           sops=sops, chosen_sop=chosen_sop, people=people, units=units, statuses=search.STATUSES,
                           sorts=search.SORTS, default_sort=search.DEFAULT_SORT, page_url=page_url, staff=staff,
                           presets=presets(staff, directory_actor(staff)), query_string=urlencode(keep),
                           saved=saved_lists.lists_of(staff), saved_name=list_name, registers=registers_for(staff)), \
        422 if errors else 200


def registers_for(staff: Staff) -> list:
    """The registers of the person's organisation they may open (every organisation's for a
    system administrator), with their page's address."""
    if not staff.has_any(registers.READERS + ("admin", "sysadmin")):
        return []
    return [{"title": r.title, "url": url_for("desk.register_page", org=r.org, register=r.key)}
            for r in registers.registers_of(None if staff.sees_all else staff.org)]


def directory_actor(staff: Staff):
    with bus.session() as session:
        return directory.actor(session, staff.user_id)


def status_of(case, held: dict) -> str:
    """A case's status as the list colours it: open, waiting (on someone outside the staff), or
    its result once closed (completed, rejected, withdrawn)."""
    if case.status != "open":
        return case.result or "completed"
    return "waiting" if held.get("waiting_on") else "open"
