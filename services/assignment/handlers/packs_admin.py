"""An organisation's pack in the browser: a YAML file uploaded and checked (the errors at file:line,
the very text ``sopdesk packs check`` prints: the same ``parse_pack``), loaded as a new version,
the current version downloaded; and an SOP edited in a form (steps, who acts, targets, waits,
documents, what the requester is told, outcomes and their branches) that becomes the pack's YAML
again and is checked and loaded the same way. No Flask here.

A pack belongs to an organisation: its key is the organisation's. Its administrators (``admin``)
manage it, a system administrator any; to anyone else another organisation's pack does not exist.
Loading keeps every earlier version (``packstore``): a case already open runs on its own version.

The form works on the YAML's plain data, not on the built ``Pack``: a draft that does not pass the
check yet (the point of fixing it in the form) has no ``Pack``. What the form does not show (a
step's inputs, its register, a team, an SOP's request form, schedule and indicators) is kept as it
was, through each row's ``origin`` (the step's index in the text the form was opened on)."""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

import yaml
from sqlalchemy import select

from services.assignment.adapters import packstore
from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import PackVersion
from shared.auth import SYSADMIN, Staff
from shared.packs import KEY_PATTERN, OUTCOME_KINDS, RESULTS, ROLES, WAITS, Pack, PackError, parse_pack

MANAGERS = ("admin",)  # and a system administrator, for every organisation
# an uploaded pack, and a draft carried in a form; the largest shipped pack is ~36 kB (and
# Werkzeug reads at most 500 kB of a form's text fields)
MAX_PACK_BYTES = 400_000
# the refusals, said in the page's language as packs.refused.<code>
REFUSALS = ("no_file", "empty", "too_big", "not_utf8", "not_a_pack", "other_org", "unknown_sop", "invalid",
            "sop_key", "sop_taken")
APPROVAL_MODES = ("any", "all_of", "in_order")
NOTIFY_MODES = ("no", "yes", "message")
BRANCH_OPS = ("gt", "ge", "lt", "le", "eq")
# what a step's row of the form edits; the rest of a step is kept as it was
EDITED_STEP_KEYS = ("key", "title", "role", "target", "wait", "documents", "notify_requester", "outcomes")


class PackRefused(Exception):
    """A pack or a draft refused before any check of its content: ``code`` (``REFUSALS``) and the
    values its words take."""

    def __init__(self, code: str, **values):
        super().__init__(code)
        self.code, self.values = code, values


# ---------------------------------------------------------------------------------------------
# who may, and what there is


def may_manage(staff: Staff, org: str) -> bool:
    """An administrator of ``org``, or a system administrator."""
    if SYSADMIN in staff.roles:
        return True
    return staff.has_any(MANAGERS) and staff.org is not None and staff.org == org


@dataclass(frozen=True)
class LoadedVersion:
    version: int
    loaded_at: object
    loaded_by: str


def current(org: str) -> Pack | None:
    """The organisation's newest loaded version (None: no pack loaded yet)."""
    with bus.session() as session:
        version = packstore.latest_versions(session).get(org)
        return packstore.pack_version(org, version, session) if version else None


def versions(org: str, limit: int = 50) -> list[LoadedVersion]:
    """The versions loaded, newest first."""
    with bus.session() as session:
        rows = session.execute(select(PackVersion.version, PackVersion.loaded_at, PackVersion.loaded_by)
                               .where(PackVersion.pack == org).order_by(PackVersion.version.desc())
                               .limit(limit)).all()
    return [LoadedVersion(*row) for row in rows]


def organisations() -> list[str]:
    """Every organisation with a pack loaded (a system administrator's list)."""
    with bus.session() as session:
        return sorted(packstore.latest_versions(session))


# ---------------------------------------------------------------------------------------------
# a text: read, checked, loaded


def text_of(data: bytes | None) -> str:
    """An uploaded file's text: refused when absent, empty, too big or not UTF-8."""
    if data is None:
        raise PackRefused("no_file")
    if len(data) > MAX_PACK_BYTES:
        raise PackRefused("too_big", kb=MAX_PACK_BYTES // 1000)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PackRefused("not_utf8") from None
    if not text.strip():
        raise PackRefused("empty")
    return text


def draft_text(text: str | None) -> str:
    """A pack's text carried by a form (the draft being checked, edited or loaded)."""
    if text is None or not text.strip():
        raise PackRefused("empty")
    if len(text.encode("utf-8")) > MAX_PACK_BYTES:
        raise PackRefused("too_big", kb=MAX_PACK_BYTES // 1000)
    return text.replace("\r\n", "\n")


@dataclass(frozen=True)
class Checked:
    """A text as ``sopdesk packs check`` sees it: the pack, or the errors (``file:line: where:
    what``, one a line, as the command prints them)."""

    text: str
    source: str
    pack: Pack | None = None
    errors: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return self.pack is not None


def check(text: str, source: str) -> Checked:
    try:
        return Checked(text, source, pack=parse_pack(text, source=source))
    except PackError as exc:
        return Checked(text, source, errors=tuple(str(exc).splitlines()))


def source_name(filename: str | None, org: str) -> str:
    """The file's own name (no folder), as the errors name it; ``<org>.yaml`` for a draft."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:120] or f"{org}.yaml"


def load(staff: Staff, org: str, text: str, source: str) -> packstore.LoadResult:
    """Check ``text`` and load it as ``org``'s new version. Refused (nothing stored) when it does
    not pass the check, is another organisation's pack, or packstore refuses its version."""
    checked = check(text, source)
    if not checked.valid:
        raise PackRefused("invalid", errors=checked.errors)
    if checked.pack.key != org:
        raise PackRefused("other_org", pack=checked.pack.key, org=org)
    return packstore.load_pack_text(text, source, loaded_by=f"{staff.username} (desk)")


def next_version(org: str) -> int:
    loaded = versions(org, limit=1)
    return loaded[0].version + 1 if loaded else 1


# ---------------------------------------------------------------------------------------------
# the form: a pack's plain data, one SOP of it as rows, and back


def raw_of(text: str) -> dict:
    """A draft's plain data, for the form: a mapping with its SOPs (the check says the rest)."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError:
        raise PackRefused("not_a_pack") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("sops"), dict) or not raw["sops"]:
        raise PackRefused("not_a_pack")
    return raw


def dump(raw: dict) -> str:
    return yaml.safe_dump(raw, allow_unicode=True, sort_keys=False, width=110, default_flow_style=False)


def _one_step_sop(title: str) -> dict:
    return {"title": {"th": title}, "requester": True,
            "steps": [{"key": "do-it", "title": {"th": "ดำเนินการ"}, "role": "officer", "notify_requester": True,
                       "outcomes": {"done": None}}]}


def starter(org: str) -> str:
    """A pack to begin with, for an organisation that has none: one SOP of one step."""
    return dump({"pack": org, "version": 1, "organisation": {"th": org},
                 "sops": {"first-sop": {"number": "1", **_one_step_sop("ขั้นตอนการให้บริการ")}}})


def with_new_sop(raw: dict, key: str) -> dict:
    """The pack with one more SOP (``key``), of one step, to be edited in the form."""
    key = (key or "").strip()
    if not re.match(KEY_PATTERN, key):
        raise PackRefused("sop_key", sop=key)
    if key in raw["sops"]:
        raise PackRefused("sop_taken", sop=key)
    return {**raw, "sops": {**raw["sops"], key: _one_step_sop(key)}}


def _texts(value) -> dict:
    if isinstance(value, dict):
        return {"th": str(value.get("th") or ""), "en": str(value.get("en") or "")}
    return {"th": "" if value is None else str(value), "en": ""}


def _plain(value) -> str:
    return "" if value is None else str(value)


@dataclass
class BranchRow:
    input: str = ""
    op: str = "gt"
    value: str = ""
    to: str = ""  # "" ends the case


@dataclass
class OutcomeRow:
    key: str = ""
    to: str = ""  # "" ends the case
    label: dict = field(default_factory=lambda: {"th": "", "en": ""})
    kind: str = ""  # "" as the engine decides it (OUTCOME_KINDS)
    result: str = ""  # "" as the engine decides it (RESULTS)
    note_required: bool = False
    branches: list[BranchRow] = field(default_factory=list)


@dataclass
class DocumentRow:
    key: str = ""
    title: dict = field(default_factory=lambda: {"th": "", "en": ""})
    required: bool = False
    to_requester: bool = False


@dataclass
class StepRow:
    origin: int | None = None  # its index in the text the form was opened on (None: a new step)
    was: str = ""  # its key there (a renamed step takes the outcomes leading to it along)
    key: str = ""
    title: dict = field(default_factory=lambda: {"th": "", "en": ""})
    approval: str = "any"
    roles: list[str] = field(default_factory=list)
    target: str = ""
    wait: str = ""
    notify: str = "no"
    documents: list[DocumentRow] = field(default_factory=list)
    outcomes: list[OutcomeRow] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)  # shown, not edited here (a branch tests them)


@dataclass
class SopRows:
    key: str
    number: str = ""
    title: dict = field(default_factory=lambda: {"th": "", "en": ""})
    summary: dict = field(default_factory=lambda: {"th": "", "en": ""})
    deadline: str = ""
    steps: list[StepRow] = field(default_factory=list)
    organisation: dict = field(default_factory=lambda: {"th": "", "en": ""})  # the pack's, shown with its SOP

    @property
    def step_keys(self) -> list[str]:
        return [step.key for step in self.steps if step.key]


def _step_row(index: int, step) -> StepRow:
    step = step if isinstance(step, dict) else {}
    role = step.get("role")
    approval, roles = "any", role
    if isinstance(role, dict) and len(role) == 1:
        approval, roles = next(iter(role.items()))
        approval = approval if approval in APPROVAL_MODES else "any"
    if isinstance(roles, str):
        roles = [roles]
    roles = [str(r) for r in roles if isinstance(r, str)] if isinstance(roles, list) else []
    notify = step.get("notify_requester")
    notify = "message" if isinstance(notify, dict) and notify.get("message") == "required" else \
        "yes" if notify else "no"
    documents = [DocumentRow(key=_plain(d.get("key")), title=_texts(d.get("title")), required=bool(d.get("required")),
                             to_requester=bool(d.get("to_requester")))
                 for d in step.get("documents") or [] if isinstance(d, dict)]
    outcomes = []
    for name, outcome in (step.get("outcomes") or {}).items() if isinstance(step.get("outcomes"), dict) else ():
        if not isinstance(outcome, dict):
            outcomes.append(OutcomeRow(key=_plain(name), to=_plain(outcome)))
            continue
        branches = []
        for branch in outcome.get("branches") or []:
            cond = branch.get("if") if isinstance(branch, dict) else None
            cond = cond if isinstance(cond, dict) else {}
            op = next((o for o in BRANCH_OPS if o in cond), "gt")
            branches.append(BranchRow(input=_plain(cond.get("input")), op=op, value=_value_text(cond.get(op)),
                                      to=_plain(branch.get("to") if isinstance(branch, dict) else None)))
        outcomes.append(OutcomeRow(key=_plain(name), to=_plain(outcome.get("to")), label=_texts(outcome.get("label")),
                                   kind=_plain(outcome.get("kind")), result=_plain(outcome.get("result")),
                                   note_required=bool(outcome.get("note_required")), branches=branches))
    inputs = [_plain(i.get("name")) for i in step.get("inputs") or [] if isinstance(i, dict)]
    return StepRow(origin=index, was=_plain(step.get("key")), key=_plain(step.get("key")), title=_texts(step.get("title")),
                   approval=approval, roles=roles, target=_plain(step.get("target")), wait=_plain(step.get("wait")),
                   notify=notify, documents=documents, outcomes=outcomes, inputs=inputs)


def _value_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _plain(value)


def _value_of(text: str, op: str):
    """A branch's value as the YAML had it: a number for a comparison, a number, true/false or a
    text for ``eq``."""
    text = text.strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    if op == "eq" and text in ("true", "false"):
        return text == "true"
    return text


def sop_rows(raw: dict, sop_key: str) -> SopRows:
    sop = raw["sops"].get(sop_key)
    if not isinstance(sop, dict):
        raise PackRefused("unknown_sop", sop=sop_key)
    return SopRows(key=sop_key, number=_plain(sop.get("number")), title=_texts(sop.get("title")),
                   summary=_texts(sop.get("summary")), deadline=_plain(sop.get("deadline")),
                   steps=[_step_row(i, s) for i, s in enumerate(sop.get("steps") or [])],
                   organisation=_texts(raw.get("organisation")))


# the form's field names: s{i}.key, s{i}.o{k}.to, s{i}.o{k}.b{m}.value ... and how many rows of each


def form_fields(rows: SopRows) -> dict[str, list[str]]:
    """The rows as a browser posts them (what the form renders, one value or several a name)."""
    out: dict[str, list[str]] = {"number": [rows.number], "title.th": [rows.title["th"]],
                                 "title.en": [rows.title["en"]], "summary.th": [rows.summary["th"]],
                                 "summary.en": [rows.summary["en"]], "deadline": [rows.deadline],
                                 "n_steps": [str(len(rows.steps))], "organisation.th": [rows.organisation["th"]],
                                 "organisation.en": [rows.organisation["en"]]}
    for i, step in enumerate(rows.steps):
        s = f"s{i}."
        out.update({s + "origin": ["" if step.origin is None else str(step.origin)], s + "was": [step.was],
                    s + "key": [step.key], s + "title.th": [step.title["th"]], s + "title.en": [step.title["en"]],
                    s + "approval": [step.approval], s + "roles": list(step.roles), s + "target": [step.target],
                    s + "wait": [step.wait], s + "notify": [step.notify],
                    s + "n_docs": [str(len(step.documents))], s + "n_outcomes": [str(len(step.outcomes))]})
        for j, doc in enumerate(step.documents):
            d = f"{s}d{j}."
            out.update({d + "key": [doc.key], d + "title.th": [doc.title["th"]], d + "title.en": [doc.title["en"]]})
            if doc.required:
                out[d + "required"] = ["1"]
            if doc.to_requester:
                out[d + "to_requester"] = ["1"]
        for k, outcome in enumerate(step.outcomes):
            o = f"{s}o{k}."
            out.update({o + "key": [outcome.key], o + "to": [outcome.to], o + "label.th": [outcome.label["th"]],
                        o + "label.en": [outcome.label["en"]], o + "kind": [outcome.kind],
                        o + "result": [outcome.result], o + "n_branches": [str(len(outcome.branches))]})
            if outcome.note_required:
                out[o + "note_required"] = ["1"]
            for m, branch in enumerate(outcome.branches):
                b = f"{o}b{m}."
                out.update({b + "input": [branch.input], b + "op": [branch.op], b + "value": [branch.value],
                            b + "to": [branch.to]})
    return out


def _count(form: dict, name: str, most: int = 200) -> int:
    text = _one(form, name)
    return min(int(text), most) if text.isdigit() else 0


def _one(form: dict, name: str) -> str:
    values = form.get(name) or [""]
    value = values[0] if isinstance(values, list) else values
    return (value or "").strip()


def rows_from_form(sop_key: str, form: dict[str, list[str]]) -> SopRows:
    """The rows a form posted (blank rows dropped; a renamed step's key followed by the outcomes
    and branches that led to it)."""
    def texts(prefix: str) -> dict:
        return {"th": _one(form, prefix + ".th"), "en": _one(form, prefix + ".en")}

    steps = []
    for i in range(_count(form, "n_steps")):
        s = f"s{i}."
        origin = _one(form, s + "origin")
        step = StepRow(origin=int(origin) if origin.isdigit() else None, was=_one(form, s + "was"),
                       key=_one(form, s + "key"), title=texts(s + "title"),
                       approval=_one(form, s + "approval") if _one(form, s + "approval") in APPROVAL_MODES else "any",
                       roles=[r.strip() for r in form.get(s + "roles") or [] if r and r.strip()],
                       target=_one(form, s + "target"), wait=_one(form, s + "wait"),
                       notify=_one(form, s + "notify") if _one(form, s + "notify") in NOTIFY_MODES else "no")
        for j in range(_count(form, s + "n_docs") + 1):  # + the blank row the form offers
            d = f"{s}d{j}."
            doc = DocumentRow(key=_one(form, d + "key"), title=texts(d + "title"),
                              required=bool(_one(form, d + "required")), to_requester=bool(_one(form, d + "to_requester")))
            if doc.key or doc.title["th"] or doc.title["en"]:
                step.documents.append(doc)
        for k in range(_count(form, s + "n_outcomes") + 1):
            o = f"{s}o{k}."
            outcome = OutcomeRow(key=_one(form, o + "key"), to=_one(form, o + "to"), label=texts(o + "label"),
                                 kind=_one(form, o + "kind"), result=_one(form, o + "result"),
                                 note_required=bool(_one(form, o + "note_required")))
            for m in range(_count(form, o + "n_branches") + 1):
                b = f"{o}b{m}."
                branch = BranchRow(input=_one(form, b + "input"), op=_one(form, b + "op") or "gt",
                                   value=_one(form, b + "value"), to=_one(form, b + "to"))
                if branch.input or branch.value:
                    outcome.branches.append(branch)
            if outcome.key or outcome.label["th"] or outcome.label["en"]:
                step.outcomes.append(outcome)
        inputs = form.get(s + "inputs") or []
        step.inputs = [i for i in inputs if i]
        if step.key or step.title["th"] or step.title["en"] or step.origin is not None:
            steps.append(step)
    renamed = {step.was: step.key for step in steps if step.was and step.key and step.was != step.key}
    for step in steps:
        for outcome in step.outcomes:
            outcome.to = renamed.get(outcome.to, outcome.to)
            for branch in outcome.branches:
                branch.to = renamed.get(branch.to, branch.to)
    return SopRows(key=sop_key, number=_one(form, "number"), title=texts("title"), summary=texts("summary"),
                   deadline=_one(form, "deadline"), steps=steps, organisation=texts("organisation"))


def rearranged(rows: SopRows, intent: str) -> SopRows:
    """A step added after row i (``add:i``; ``add:-1`` first), removed (``remove:i``) or moved
    (``up:i``, ``down:i``); anything else leaves the rows as they are."""
    action, _, index = intent.partition(":")
    try:
        i = int(index)
    except ValueError:
        return rows
    steps = list(rows.steps)
    if action == "add" and -1 <= i < len(steps):
        steps.insert(i + 1, StepRow(outcomes=[OutcomeRow()]))
    elif action == "remove" and 0 <= i < len(steps):
        del steps[i]
    elif action == "up" and 0 < i < len(steps):
        steps[i - 1], steps[i] = steps[i], steps[i - 1]
    elif action == "down" and 0 <= i < len(steps) - 1:
        steps[i], steps[i + 1] = steps[i + 1], steps[i]
    return SopRows(key=rows.key, number=rows.number, title=rows.title, summary=rows.summary, deadline=rows.deadline,
                   steps=steps, organisation=rows.organisation)


def _texts_raw(texts: dict, keep_empty_th: bool = True) -> dict:
    out = {"th": texts.get("th", "")} if keep_empty_th or texts.get("th") else {}
    if texts.get("en"):
        out["en"] = texts["en"]
    return out


def _role_raw(step: StepRow):
    if step.approval in ("all_of", "in_order"):
        return {step.approval: list(step.roles)}
    if len(step.roles) == 1:
        return step.roles[0]
    return list(step.roles)


def _outcome_raw(outcome: OutcomeRow):
    to = outcome.to or None
    extra = {}
    if outcome.kind:
        extra["kind"] = outcome.kind
    if outcome.result:
        extra["result"] = outcome.result
    if outcome.label.get("th") or outcome.label.get("en"):
        extra["label"] = _texts_raw(outcome.label, keep_empty_th=False)
    if outcome.note_required:
        extra["note_required"] = True
    if outcome.branches:
        extra["branches"] = [{"if": {"input": b.input, b.op if b.op in BRANCH_OPS else "gt": _value_of(b.value, b.op)},
                              "to": b.to or None} for b in outcome.branches]
    return {"to": to, **extra} if extra else to


def _step_raw(step: StepRow, before: dict) -> dict:
    out: dict = {"key": step.key, "title": _texts_raw(step.title), "role": _role_raw(step)}
    if step.target:
        out["target"] = step.target
    if step.wait:
        out["wait"] = step.wait
    if step.documents:
        docs = []
        for doc in step.documents:
            item = {"key": doc.key, "title": _texts_raw(doc.title)}
            if doc.required:
                item["required"] = True
            if doc.to_requester:
                item["to_requester"] = True
            docs.append(item)
        out["documents"] = docs
    out.update({k: copy.deepcopy(v) for k, v in before.items() if k not in EDITED_STEP_KEYS})
    if step.notify != "no":
        out["notify_requester"] = {"message": "required"} if step.notify == "message" else True
    out["outcomes"] = {o.key: _outcome_raw(o) for o in step.outcomes}
    return out


def with_rows(raw: dict, rows: SopRows) -> dict:
    """The pack's plain data with one SOP as the form's rows say (the rest of it kept)."""
    raw = copy.deepcopy(raw)
    if rows.organisation.get("th") or rows.organisation.get("en"):
        raw["organisation"] = _texts_raw(rows.organisation)
    before = raw["sops"].get(rows.key) if isinstance(raw["sops"].get(rows.key), dict) else {}
    old_steps = before.get("steps") if isinstance(before.get("steps"), list) else []
    sop: dict = {}
    if rows.number:
        sop["number"] = rows.number
    sop["title"] = _texts_raw(rows.title)
    if rows.summary.get("th") or rows.summary.get("en"):
        sop["summary"] = _texts_raw(rows.summary)
    for name, value in before.items():
        if name not in ("number", "title", "summary", "deadline", "steps"):
            sop[name] = value
    if rows.deadline:
        sop["deadline"] = rows.deadline
    sop["steps"] = [_step_raw(step, old_steps[step.origin] if step.origin is not None and step.origin < len(old_steps)
                              and isinstance(old_steps[step.origin], dict) else {}) for step in rows.steps]
    # the SOP keeps its place among the pack's SOPs
    raw["sops"] = {key: (sop if key == rows.key else value) for key, value in raw["sops"].items()}
    return raw


@dataclass(frozen=True)
class Draft:
    """What the form's rows make: the pack's text, the check of it, and the SOP to draw (from the
    whole pack, or, when another SOP has an error, from a pack of this SOP alone)."""

    text: str
    checked: Checked
    sop: object | None


def draft_of(raw: dict, rows: SopRows, source: str) -> Draft:
    data = with_rows(raw, rows)
    text = dump(data)
    checked = check(text, source)
    sop = checked.pack.sops.get(rows.key) if checked.valid else None
    if sop is None:
        alone = parse_quietly(dump({**data, "sops": {rows.key: data["sops"][rows.key]}}))
        sop = alone.sops.get(rows.key) if alone else None
    return Draft(text, checked, sop)


def parse_quietly(text: str) -> Pack | None:
    try:
        return parse_pack(text, source="<draft>")
    except PackError:
        return None


def save(staff: Staff, org: str, raw: dict, rows: SopRows, source: str) -> packstore.LoadResult:
    """The form's rows as ``org``'s next version (whatever version the draft said)."""
    if raw.get("pack") != org:
        raise PackRefused("other_org", pack=_plain(raw.get("pack")), org=org)
    data = with_rows(raw, rows)
    data["version"] = next_version(org)
    return load(staff, org, dump(data), source)


def role_choices(rows: SopRows) -> list[str]:
    """The roles a step may name, and any unknown one the draft names (to be unticked)."""
    extra = [r for step in rows.steps for r in step.roles if r not in ROLES]
    return list(ROLES) + list(dict.fromkeys(extra))


__all__ = ["APPROVAL_MODES", "BRANCH_OPS", "Checked", "Draft", "MANAGERS", "NOTIFY_MODES", "OUTCOME_KINDS",
           "PackRefused", "REFUSALS", "RESULTS", "WAITS", "check", "current", "draft_of", "form_fields", "load",
           "may_manage", "raw_of", "rearranged", "role_choices", "rows_from_form", "save", "sop_rows",
           "source_name", "starter", "text_of", "versions", "with_new_sop", "with_rows"]
