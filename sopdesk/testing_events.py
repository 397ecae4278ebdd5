"""Event payloads as their real producers write them, for tests that publish or consume an event
by hand: one builder per event type, with the keys, types and nulls of the producer named in its
docstring (``shared.event_catalogue`` checks them on publish and on consume, as in production).

A builder's keyword arguments are the payload's fields, with plausible defaults; a test names the
ones it is about. A case event's state after it (``seq``, ``case_status``, ``current_step``,
``due_at``, ``sop``, ``pack_version``) is given the same way. ``envelope`` wraps a payload in the
envelope its producer's bus writes (``source`` from the catalogue).

A test about the bus itself, with an event type no service publishes, registers that type for
the test only (the ``own_event_type`` fixture of ``sopdesk.testing``): the checks stay on."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from shared import event_catalogue
from shared.events import Event

SOP = "sesao-sc/repair"
SOP_TITLE = {"th": "การซ่อมบำรุงเครื่องคอมพิวเตอร์", "en": "Repair of computers"}
RECEIVED_AT = "2026-11-20T03:00:00+00:00"
STARTED_AT = "2026-11-20T03:00:01+00:00"


def _iso(value: datetime | date | str | None) -> str | None:
    """A moment or a day as producers write it (``isoformat``); text is taken as it is."""
    return value if value is None or isinstance(value, str) else value.isoformat()


# ---------------------------------------------------------------------------------------------
# envelopes


def event(event_type: str, payload: dict, correlation_id: str | None = "", version: int = 1,
          occurred_at: datetime | None = None) -> Event:
    """The event its producer's bus would write (``source`` the catalogue's producer; the
    correlation id the payload's tracking code unless given)."""
    spec = event_catalogue.entry(event_type, version)
    if spec is None:
        raise LookupError(f"{event_type} v{version} is not in the event catalogue")
    if correlation_id == "":
        correlation_id = payload.get("tracking_code")
    extra = {"occurred_at": occurred_at} if occurred_at is not None else {}
    return Event(type=event_type, source=spec.producer, payload=payload, correlation_id=correlation_id,
                 version=version, **extra)


def envelope(event_type: str, payload: dict, correlation_id: str | None = "", version: int = 1,
             occurred_at: datetime | None = None) -> dict:
    """``event(...)`` in its wire form, as a consumer receives it."""
    return event(event_type, payload, correlation_id, version, occurred_at).to_envelope()


# ---------------------------------------------------------------------------------------------
# intake


def request_submitted(code: str = "SD-TEST0-00001", *, sop: str = SOP, pack_version: int = 1,
                      subject: str = "จอฟ้า", details: str = "เปิดเครื่องแล้วจอเป็นสีฟ้า", fields: dict | None = None,
                      requester_name: str = "ครูมานี มีนา", requester_email: str = "manee@example.org",
                      requester_phone: str | None = None, requester_unit: str = "โรงเรียนบ้านนา",
                      language: str = "th", channel: str = "web", filed_by: str | None = None,
                      received_at: datetime | str = RECEIVED_AT, privacy_notice_version: str = "n1-0123456789ab",
                      attachments: Sequence[dict] = ()) -> dict:
    """As intake's ``submit_request`` writes it."""
    return {
        "tracking_code": code, "sop": sop, "pack_version": pack_version, "subject": subject, "details": details,
        "fields": dict(fields or {}),
        "requester": {"name": requester_name, "email": requester_email, "phone": requester_phone,
                      "unit": requester_unit},
        "language": language, "channel": channel, "filed_by": filed_by, "received_at": _iso(received_at),
        "privacy_notice_version": privacy_notice_version, "attachments": [dict(a) for a in attachments],
    }


def attachment(id: str = "f-1", *, field: str = "files", name: str = "แบบฟอร์ม.pdf",
               content_type: str = "application/pdf", size: int = 2048) -> dict:
    """A file's record as intake writes it into ``request.submitted`` and ``request.answered``."""
    return {"id": id, "field": field, "name": name, "content_type": content_type, "size": size}


def request_answered(code: str, *, step: str = "ask-requester", round: int = 1, note: str = "แก้ไขแล้ว",
                     attachments: Sequence[dict] = (), answered_at: datetime | str = "2026-11-21T03:00:00+00:00") -> dict:
    """As intake's ``answer_return`` writes it (the requester's answer to a return)."""
    return {"tracking_code": code, "step": step, "round": round, "note": note,
            "attachments": [dict(a) for a in attachments], "answered_at": _iso(answered_at)}


def survey_answered(code: str, *, sop: str = SOP, score: int = 5, comment: str | None = None,
                    answered_at: datetime | str = "2026-12-01T02:00:00+00:00",
                    requester_unit: str = "โรงเรียนบ้านนา") -> dict:
    """As intake's ``answer_survey`` writes it (an empty comment is written as null)."""
    return {"tracking_code": code, "sop": sop, "score": score, "comment": comment or None,
            "answered_at": _iso(answered_at), "requester_unit": requester_unit}


# ---------------------------------------------------------------------------------------------
# assignment


def staff_contact(username: str, email: str | None = "", language: str = "th", name: str | None = None) -> dict:
    """As ``directory.contact`` gives it (``email`` may be null: notify then writes nothing);
    ``email=""`` (the default) means ``<username>@office.example``."""
    return {"username": username, "name": name or username, "language": language,
            "email": f"{username}@office.example" if email == "" else email}


def case_step(key: str = "check", *, title: dict | None = None, role: str = "officer",
              roles: Sequence[str] | None = None, round: int = 1, assignee: str | None = None,
              assignee_contact: dict | None = None, started_at: datetime | str = STARTED_AT,
              due_at: datetime | str | None = "2026-11-21T09:30:00+00:00", expected_at: datetime | str | None = None,
              completed_at: datetime | str | None = None, outcome: str | None = None, waiting_on: str | None = None,
              notify_requester: bool = False, late: bool | None = None, needs_approval: bool = False) -> dict:
    """A step as assignment's ``Engine.step_payload`` writes it (``assignee_contact`` is the
    assignee's ``staff_contact``, or null without an assignee)."""
    return {"key": key, "title": title or {"th": "ตรวจสอบอาการเสีย", "en": "Diagnose the fault"}, "role": role,
            "roles": list(roles or [role]), "round": round, "assignee": assignee, "started_at": _iso(started_at),
            "due_at": _iso(due_at), "expected_at": _iso(expected_at), "completed_at": _iso(completed_at),
            "outcome": outcome, "waiting_on": waiting_on, "notify_requester": notify_requester, "late": late,
            "needs_approval": needs_approval, "assignee_contact": assignee_contact}


def case_state(code: str, *, sop: str = SOP, pack_version: int = 1, seq: int = 1, case_status: str = "open",
               current_step: str | None = "check", due_at: datetime | str | None = None) -> dict:
    """What ``emit_case_event`` puts in every case event: the case's state after it."""
    return {"tracking_code": code, "sop": sop, "pack_version": pack_version, "seq": seq, "case_status": case_status,
            "current_step": current_step, "due_at": _iso(due_at)}


def case_opened(code: str, *, sop_title: dict | None = None, subject: str = "จอฟ้า",
                opened_at: datetime | str = STARTED_AT, received_at: datetime | str = RECEIVED_AT,
                first_step: str = "receive-form", first_title: dict | None = None, first_role: str = "officer",
                **state) -> dict:
    """As ``Engine.open`` writes it: the case's first step, started when the request was received."""
    state.setdefault("current_step", first_step)
    return {**case_state(code, **state), "sop_title": sop_title or SOP_TITLE, "subject": subject,
            "opened_at": _iso(opened_at), "received_at": _iso(received_at),
            "step": {"key": first_step, "title": first_title or {"th": "รับแบบคำขอซ่อม", "en": "Receive the repair form"},
                     "role": first_role, "round": 1, "started_at": _iso(received_at)}}


def step_started(code: str, *, step: dict | None = None, subject: str = "จอฟ้า", **state) -> dict:
    """As ``Engine.start`` writes it."""
    step = step or case_step()
    state.setdefault("current_step", step["key"])
    return {**case_state(code, **state), "step": step, "subject": subject}


def step_waiting(code: str, *, step: dict | None = None, waiting_on: str = "vendor", fields: dict | None = None,
                 subject: str = "จอฟ้า", **state) -> dict:
    """As ``Engine.start`` writes it for a step that waits (``fields``: the request's form)."""
    step = step or case_step(waiting_on=waiting_on)
    state.setdefault("current_step", step["key"])
    return {**case_state(code, **state), "step": step, "waiting_on": waiting_on, "fields": dict(fields or {}),
            "subject": subject}


def step_resumed(code: str, *, step: dict | None = None, waiting_on: str = "vendor", **state) -> dict:
    """As ``Engine.resume_wait`` (or a staff action ending a wait) writes it."""
    step = step or case_step(waiting_on=waiting_on)
    state.setdefault("current_step", step["key"])
    return {**case_state(code, **state), "step": step, "waiting_on": waiting_on}


def step_completed(code: str, *, step: dict | None = None, outcome: str = "done", kind: str = "forward",
                   next_step: str | None = "repair", note: str | None = None, **state) -> dict:
    """As ``Engine.complete`` writes it (``kind``: forward, return, reject, end...)."""
    state.setdefault("current_step", next_step)
    return {**case_state(code, **state), "step": step or case_step(outcome=outcome), "outcome": outcome,
            "kind": kind, "next_step": next_step, "note": note}


def step_returned(code: str, *, step: dict | None = None, outcome: str = "return", to: str | None = "ask-requester",
                  note: str | None = None, **state) -> dict:
    """As ``Engine.complete`` writes it for an outcome that sends the case back."""
    state.setdefault("current_step", to)
    return {**case_state(code, **state), "step": step or case_step(outcome=outcome), "outcome": outcome, "to": to,
            "note": note}


def step_rejected(code: str, *, step: dict | None = None, outcome: str = "reject", note: str | None = None,
                  **state) -> dict:
    """As ``Engine.complete`` writes it for an outcome that turns the request down."""
    return {**case_state(code, **state), "step": step or case_step(outcome=outcome), "outcome": outcome,
            "note": note}


def case_assigned(code: str, *, step: dict | None = None, previous_assignee: str | None = None,
                  assigned_by: str = "head1", **state) -> dict:
    """As ``Engine._assign`` writes it."""
    step = step or case_step()
    state.setdefault("current_step", step["key"])
    return {**case_state(code, **state), "step": step, "previous_assignee": previous_assignee,
            "assigned_by": assigned_by}


def case_closed(code: str, *, result: str = "completed", closed_at: datetime | str = "2026-11-24T08:00:00+00:00",
                subject: str = "จอฟ้า", sop_title: dict | None = None, **state) -> dict:
    """As ``Engine.close`` writes it (the case closed, no step current)."""
    state.setdefault("case_status", "closed")
    state.setdefault("current_step", None)
    return {**case_state(code, **state), "result": result, "closed_at": _iso(closed_at), "subject": subject,
            "sop_title": sop_title or SOP_TITLE}


def breached_step(key: str = "check", *, title: dict | None = None, round: int = 1, role: str = "officer",
                  assignee: str | None = None, started_at: datetime | str = "2026-11-19T03:00:00+00:00",
                  assignee_contact: dict | None = None) -> dict:
    """The late step as ``sweep_sla`` writes it into ``sla.breached``."""
    return {"key": key, "title": title or {"th": "ตรวจสอบอาการเสีย", "en": "Diagnose the fault"}, "round": round,
            "role": role, "assignee": assignee, "started_at": _iso(started_at), "assignee_contact": assignee_contact}


def sla_breached(code: str, *, deadline: str = "case", missed_due_at: datetime | str = "2026-11-20T09:30:00+00:00",
                 subject: str = "จอฟ้า", step: dict | None = None, heads: Sequence[str] = (),
                 head_contacts: Sequence[dict] | None = None, **state) -> dict:
    """As ``sweep_sla`` writes it: ``step`` (a ``breached_step``) for a step deadline, null for the
    case's; ``head_contacts`` the heads' contacts (each head's ``staff_contact`` unless given)."""
    contacts = [staff_contact(h) for h in heads] if head_contacts is None else list(head_contacts)
    return {**case_state(code, **state), "deadline": deadline, "missed_due_at": _iso(missed_due_at),
            "subject": subject, "step": step, "heads": list(heads), "head_contacts": contacts}


def summary_item(code: str, *, sop: str = SOP, sop_title: dict | None = None, step: str = "check",
                 step_title: dict | None = None, subject: str = "จอฟ้า",
                 due_at: datetime | str | None = "2026-11-27T09:30:00+00:00", late: bool = False,
                 waiting_on: str | None = None) -> dict:
    """One open step as ``send_daily_summaries`` lists it."""
    return {"tracking_code": code, "sop": sop, "sop_title": sop_title or SOP_TITLE, "step": step,
            "step_title": step_title or {"th": "ตรวจสอบอาการเสีย", "en": "Diagnose the fault"}, "subject": subject,
            "due_at": _iso(due_at), "late": late, "waiting_on": waiting_on}


def daily_summary(username: str, *, day: date | str = "2026-11-23", contact: dict | None = None,
                  items: Sequence[dict] = ()) -> dict:
    """As ``send_daily_summaries`` writes it (correlated ``summary:<username>:<day>``)."""
    return {"username": username, "day": _iso(day), "contact": contact or staff_contact(username),
            "items": [dict(i) for i in items]}


def calendar_changed(day: date | str, kind: str = "holiday", name: str = "") -> dict:
    """As the calendar admin writes it (``kind`` holiday, workday or reset; a reset has no name)."""
    return {"day": _iso(day), "kind": kind, "name": name}


# ---------------------------------------------------------------------------------------------
# procurement


def asset_info(tag: str = "T-1", *, kind: str = "computer", model: str = "x", serial: str = "",
               location: str = "", ownership: str = "owned", status: str = "in_use",
               acquired_on: date | str | None = None, warranty_ends_on: date | str | None = None,
               under_warranty: bool = False, vendor: dict | None = None) -> dict:
    """An asset as procurement's ``assets.check_payload`` writes it (``leased`` follows
    ``ownership``)."""
    return {"tag": tag, "kind": kind, "model": model, "serial": serial, "location": location,
            "ownership": ownership, "status": status, "acquired_on": _iso(acquired_on),
            "warranty_ends_on": _iso(warranty_ends_on), "under_warranty": under_warranty,
            "leased": ownership == "leased", "vendor": vendor}


def asset_checked(code: str, *, asset_tag: str = "T-1", asset: dict | None = None,
                  checked_at: datetime | str = RECEIVED_AT) -> dict:
    """As ``check_requested_asset`` writes it: ``found`` when the register has the asset."""
    return {"tracking_code": code, "asset_tag": asset_tag, "found": asset is not None, "asset": asset,
            "checked_at": _iso(checked_at)}


def delivered(code: str, *, project_id: int = 1, step: str | None = "parts-purchase",
              delivered_on: date | str = "2026-11-25", note: str = "") -> dict:
    """As procurement's ``_notify_delivered`` writes it (a purchase for a case arrived)."""
    return {"project_id": project_id, "tracking_code": code, "step": step, "delivered_on": _iso(delivered_on),
            "note": note}


def contract_completed(code: str, *, step: str | None = "deliver-milestones", project_id: int = 1,
                       contract_id: int = 1, contract_number: str = "1/2570") -> dict:
    """As procurement's ``complete_case_if_done`` writes it."""
    return {"tracking_code": code, "step": step, "project_id": project_id, "contract_id": contract_id,
            "contract_number": contract_number,
            "note": f"สัญญาเลขที่ {contract_number}: ตรวจรับและเบิกจ่ายครบทุกงวดแล้ว / "
                    f"contract {contract_number}: every milestone accepted and paid"}


def notice_recipient(name: str, email: str, language: str = "th", role: str = "officer") -> dict:
    """One addressee of a milestone notice, as ``reminders.recipients`` writes it: only people
    with an email, each address once (the officer first)."""
    return {"name": name, "email": email, "language": language, "role": role}


def milestone_notice(*, contract: dict, project: dict, milestone: dict, recipients: Sequence[dict],
                     desk_path: str | None = None) -> dict:
    """What both milestone notices say, as ``reminders.notice_payload`` writes it (``contract``:
    id, number, amount, vendor_name; ``project``: id, title, tracking_code; ``milestone``: id,
    seq, title, deliverables, due_on, amount, state)."""
    return {"contract": dict(contract), "project": dict(project), "milestone": dict(milestone),
            "recipients": [dict(r) for r in recipients],
            "desk_path": desk_path or f"/procurement/desk/contracts/{contract['id']}"}


def milestone_due(days_ahead: int, **notice) -> dict:
    """As ``send_due_notices`` writes it: the milestone falls due in so many working days."""
    return {"days_ahead": days_ahead, **milestone_notice(**notice)}


def milestone_overdue(days_late: int, fine_so_far: str, **notice) -> dict:
    """As ``send_due_notices`` writes it: days late and the fine so far (money text)."""
    return {"days_late": days_late, "fine_so_far": fine_so_far, **milestone_notice(**notice)}


def incident_reported(*, incident: dict, contract: dict, project: dict, vendor: dict,
                      recipients: Sequence[dict]) -> dict:
    """As ``contracts.report_incident`` writes it: ``recipients`` are the vendor's contacts with
    an email (name, email, language)."""
    return {"incident": dict(incident), "contract": dict(contract), "project": dict(project), "vendor": dict(vendor),
            "recipients": [{k: r[k] for k in ("name", "email", "language")} for r in recipients]}


# every builder above by the event type it builds (for a factory that takes the type as data)
PAYLOADS: dict[str, Any] = {
    "request.submitted": request_submitted, "request.answered": request_answered,
    "survey.answered": survey_answered, "case.opened": case_opened, "case.step_started": step_started,
    "case.step_waiting": step_waiting, "case.step_resumed": step_resumed, "case.step_completed": step_completed,
    "case.step_returned": step_returned, "case.step_rejected": step_rejected, "case.assigned": case_assigned,
    "case.closed": case_closed, "sla.breached": sla_breached, "staff.daily_summary": daily_summary,
    "calendar.changed": calendar_changed, "procurement.asset_checked": asset_checked,
    "procurement.delivered": delivered, "procurement.contract_completed": contract_completed,
    "procurement.milestone_due": milestone_due, "procurement.milestone_overdue": milestone_overdue,
    "procurement.incident_reported": incident_reported,
}
