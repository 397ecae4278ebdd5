"""What the desk's case page shows, in words of the page's language: the trail's entries (each
kind, outcome, wait and result in words from the pack and the catalogues, people by name, dates
and entered values as people read them, in the Buddhist era on Thai pages, files by name and size,
never an internal id), the request's form values, and the names of the people the page mentions.
Plain functions over the case as read (``handlers.read_case``); the template lays them out."""
from __future__ import annotations

from datetime import date, datetime

from services.assignment.adapters.models import SYSTEM_ACTORS
from shared import i18n
from shared.packs import FormField, Sop, Step, Target

FILE_REF = "file:"  # a document that is one of the case's files (the requester's answer): ref "file:<id>"


def people_of(case, candidates: dict[str, list[str]]) -> set[str]:
    """Every username the case page names: assignees, actors, those they stood in for, the
    assigned and the candidates of an assignment."""
    names: set = set()
    for row in case.steps:
        names |= {row.assignee, row.actor}
    for entry in case.trail:
        data = entry.data or {}
        names |= {entry.actor, entry.on_behalf_of, data.get("from"), data.get("to"), data.get("assignee"),
                  data.get("person")}
    for takers in candidates.values():
        names |= set(takers)
    return {name for name in names if name and name not in SYSTEM_ACTORS}


def person(names: dict[str, str], username: str | None, lang: str) -> str:
    """A person as the page names them: a system actor in words, staff by their display name."""
    if not username:
        return "—"
    if username in SYSTEM_ACTORS:
        return i18n.translate(f"desk.actor.{username}", lang)
    return names.get(username, username)


def outcome_words(sop: Sop | None, step_key: str | None, outcome: str, lang: str) -> str:
    """An outcome in words: the pack's label of it at that step, else the shared words for a
    common outcome (``outcome.<key>``)."""
    step = _step(sop, step_key)
    if step is not None and outcome in step.outcomes and step.outcomes[outcome].label:
        return i18n.pick(step.outcomes[outcome].label, lang)
    if f"outcome.{outcome}" in i18n.MESSAGES:
        return i18n.translate(f"outcome.{outcome}", lang)
    return outcome


def value_text(field: FormField | None, value, lang: str) -> str:
    """A value someone entered, as people read it: a date or a moment in the page's calendar
    (Buddhist era in Thai), a choice by its label, a number without a needless '.0'."""
    if value is None or value == "":
        return ""
    kind = field.type if field is not None else ""
    try:
        if kind == "date":
            return i18n.format_day(date.fromisoformat(str(value)), lang)
        if kind == "datetime":
            return i18n.format_datetime(datetime.fromisoformat(str(value)), lang)
    except ValueError:
        return str(value)
    if kind == "select":
        return field.choice_label(str(value), lang)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def form_values(case, sop: Sop, lang: str) -> list[tuple[str, str]]:
    """The request's form values, each with its label (files are the case's attachments)."""
    fields = case.fields or {}
    return [(i18n.pick(f.label, lang), value_text(f, fields.get(f.name), lang))
            for f in sop.form if f.type != "file" and fields.get(f.name) not in (None, "")]


def trail(case, sop: Sop | None, names: dict[str, str], lang: str) -> list[dict]:
    """The case's trail as the page shows it, oldest first."""
    files = {str(a.get("id")): a for a in case.attachments or []}
    # the documents handed in at steps as files (assignment keeps them): by their id in the trail
    files.update({str(d.get("id")): d for d in getattr(case, "documents", None) or []})
    # a step's action repeats the documents its own "document" entry just listed: shown once
    listed = {(e.step, e.round) for e in case.trail if e.kind == "document"}
    return [_entry(e, sop, names, files, lang, repeats=(e.step, e.round) in listed) for e in case.trail]


def _entry(e, sop: Sop | None, names: dict, files: dict, lang: str, repeats: bool = False) -> dict:
    data = e.data or {}
    step = _step(sop, e.step)
    said: list[str] = []  # what happened, in words
    if e.kind == "action" and e.outcome:
        said.append(outcome_words(sop, e.step, e.outcome, lang))
        if data.get("message"):  # what the requester was told (the note, below, is staff's own)
            said.append(f"{i18n.translate('desk.message', lang)}: {data['message']}")
        inputs = {f.name: f for f in (step.inputs if step else ())}
        for name, value in (data.get("values") or {}).items():
            field = inputs.get(name)
            label = i18n.pick(field.label, lang) if field is not None else name
            said.append(f"{label}: {value_text(field, value, lang)}")
    elif e.kind == "waiting" and data.get("on"):
        said.append(f"{i18n.translate('desk.waiting_on', lang)}: {_wait(data['on'], lang)}")
    elif e.kind == "resumed" and data.get("by") and data["by"] != "staff":
        said.append(_wait(data["by"], lang))
    elif e.kind == "assigned":
        said.append(f"{person(names, data.get('from'), lang)} → {person(names, data.get('to'), lang)}")
    elif e.kind == "started" and data.get("assignee"):
        said.append(f"{i18n.translate('desk.assignee', lang)}: {person(names, data['assignee'], lang)}")
    elif e.kind == "target":
        if data.get("target"):
            said.append(target_text(data["target"], lang))
        if data.get("due_at"):
            said.append(f"{i18n.translate('desk.due', lang)}: {_moment(data['due_at'], lang)}")
    elif e.kind == "breached" and data.get("due_at"):
        said.append(f"{i18n.translate('desk.due', lang)}: {_moment(data['due_at'], lang)}")
    elif e.kind == "closed" and data.get("result"):
        said.append(i18n.translate(f"result.{data['result']}", lang))
    elif e.kind == "approval" and data.get("role"):  # one decision on a step decided together
        said.append(f"{i18n.translate('role.' + data['role'], lang)}: {outcome_words(sop, e.step, e.outcome, lang)}")
    elif e.kind == "asked" and data.get("role"):  # someone asked to decide, in this role
        said.append(f"{i18n.translate('role.' + data['role'], lang)}: {person(names, data.get('person'), lang)}")
    elif e.kind == "procurement":
        said += news_words(data, lang)
    documents = [] if e.kind == "action" and repeats else data.get("documents") or []
    return {
        "at": e.at, "kind": e.kind, "words": i18n.translate(f"desk.trail.{e.kind}", lang),
        "step": i18n.pick(step.title, lang) if step is not None else "", "round": e.round,
        "who": person(names, e.actor, lang),
        "on_behalf_of": person(names, e.on_behalf_of, lang) if e.on_behalf_of else "",
        "said": said, "note": e.note or "",
        "documents": [_document(d, step, files, lang) for d in documents if isinstance(d, dict)],
    }


# what procurement says of the contract serving a case (``cases.on_contract_news``), by event
NEWS = ("contract_signed", "milestone_delivered", "milestone_accepted", "milestone_rejected", "milestone_paid",
        "milestone_due", "milestone_overdue", "incident_reported")


def news_words(data: dict, lang: str) -> list[str]:
    """Procurement's news in words: what happened, of which contract and milestone, how far ahead
    or late, the amount paid."""
    what = str(data.get("event") or "").removeprefix("procurement.")
    words = [i18n.translate(f"desk.news.{what}", lang)] if what in NEWS else []
    if data.get("contract"):
        words.append(i18n.translate("desk.news.contract", lang, number=data["contract"]))
    milestone = data.get("milestone") or {}
    if milestone.get("seq") is not None:
        words.append(i18n.translate("desk.news.milestone", lang, seq=milestone["seq"],
                                    title=milestone.get("title") or "").strip())
    if data.get("days_ahead") is not None:
        words.append(i18n.translate("desk.news.days_ahead", lang, days=data["days_ahead"]))
    if data.get("days_late"):
        words.append(i18n.translate("desk.news.days_late", lang, days=data["days_late"]))
    if what == "milestone_paid" and milestone.get("paid_amount"):
        words.append(i18n.translate("desk.news.amount", lang, amount=milestone["paid_amount"]))
    return words


def _document(doc: dict, step: Step | None, files: dict, lang: str) -> dict:
    """A document handed in: its title in the pack, its name, its paper reference; a file of the
    case as a link with its size (its id is the link's business, never shown)."""
    titles = {d.key: d.title for d in (step.documents if step else ())}
    ref = str(doc.get("ref") or "")
    file = files.get(ref[len(FILE_REF):]) if ref.startswith(FILE_REF) else files.get(str(doc.get("id") or ""))
    return {"title": i18n.pick(titles[doc["key"]], lang) if doc.get("key") in titles else "",
            "name": doc.get("name") or (file or {}).get("name") or "",
            "ref": "" if ref.startswith(FILE_REF) else ref,
            "url": (file or {}).get("url"), "size": i18n.format_size(file["size"], lang) if file else ""}


def _wait(on: str, lang: str) -> str:
    return i18n.translate(f"wait.{on}", lang)


def target_text(text: str, lang: str) -> str:
    """A target the assignee set, as they wrote it for the engine ('3 days', an ISO moment), in words."""
    try:
        return Target.parse(text).text(lang)
    except (TypeError, ValueError):
        pass
    return _moment(text, lang)


def _moment(value: str, lang: str) -> str:
    try:
        return i18n.format_datetime(datetime.fromisoformat(value), lang)
    except (TypeError, ValueError):
        return str(value)


def _step(sop: Sop | None, key: str | None) -> Step | None:
    if sop is None or not key:
        return None
    return next((s for s in sop.steps if s.key == key), None)
