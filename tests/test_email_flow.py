"""Every email of a case, caused by the real events of real cases: requests filed at intake,
steps acted on through assignment's API, the requester's answer through the tracking page, the
SLA sweep and the daily summary, all carried by the real Redis queues (``drain``) and read back
from the SMTP listener. Each language in turn: the requester's and the staff's own."""
from __future__ import annotations

import json
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from services.assignment.adapters.bus import bus as assignment_bus
from services.assignment.handlers import cases as handlers
from services.assignment.handlers.directory import add_unit, add_user, staff_of
from services.assignment.handlers.engine import calendar
from services.assignment.tests.test_sops_end_to_end import sample
from services.notify.adapters.bus import bus as notify_bus
from services.notify.adapters.models import Delivery
from shared import db
from shared.auth import issue_token
from shared.i18n import BANGKOK
from shared.packs import find_sop
from shared.tracking import tracking_token
from sopdesk.testing import drain

REQUESTER = "manee@school.example"
# staff of a unit take the work of their unit's pack
STAFF = {"wipa": (["officer"], "ict"), "boss": (["head"], "ict"),
         "somchai": (["officer"], "web"), "chief": (["head"], "web"), "dean": (["director"], "web")}
ALL_TEMPLATES = {"received", "step_done", "returned", "rejected", "waiting", "closed",
                 "assigned", "approval_needed", "overdue", "escalation", "daily_summary"}


def _tokens(language: str) -> dict[str, str]:
    add_unit("ict", "sesao-sc", "ศูนย์ ICT", "ICT centre")
    add_unit("web", "up", "งานเว็บไซต์", "Web unit")
    tokens = {}
    for username, (roles, unit) in STAFF.items():
        user = add_user(username, "correct horse battery", roles, display_name=username,
                        email=f"{username}@office.example", unit=unit, language=language)
        tokens[username] = issue_token(staff_of(user))
    return tokens


def _file(client, tokens: dict, sop: str, language: str, **extra) -> str:
    body = {"sop": sop, "requester_name": "ครูมานี มีนา", "requester_email": REQUESTER,
            "requester_unit": "โรงเรียนบ้านนา", "subject": f"คำขอ {sop}", "details": "รายละเอียด",
            "consent": True, "language": language}
    for field in find_sop(sop).form:  # whatever the pack's form asks, a plausible value
        if field.type != "file":
            body[field.name] = sample(field)
    body.update(extra)
    headers = {"Content-Type": "application/json"}
    if "received_at" in body:
        headers["Authorization"] = f"Bearer {tokens['somchai']}"
    response = client.post("/intake/requests", data=json.dumps(body), headers=headers)
    assert response.status_code == 201, response.get_json()
    drain()
    return response.get_json()["tracking_code"]


def _act(client, tokens: dict, code: str, who: str, step: str, outcome: str, **extra) -> dict:
    response = client.post(f"/assignment/cases/{code}/actions",
                           data=json.dumps({"step": step, "outcome": outcome, **extra}),
                           headers={"Content-Type": "application/json", "Authorization": f"Bearer {tokens[who]}"})
    assert response.status_code == 200, response.get_json()
    drain()
    return response.get_json()


def _next_working_morning() -> datetime:
    """09:00 Bangkok on the next working day (the summary goes out from 07:30)."""
    with assignment_bus.session() as session:
        cal = calendar(session)
    day = db.utcnow().astimezone(BANGKOK).date() + timedelta(days=1)
    while not cal.is_working_day(day):
        day += timedelta(days=1)
    return datetime.combine(day, time(9, 0), BANGKOK)


@pytest.mark.parametrize("language", ["th", "en"])
def test_every_email_comes_from_the_real_events_of_real_cases(client, mailbox, language):
    tokens = _tokens(language)

    # a repair under warranty: received, assigned, waiting on the vendor, the steps the pack marks,
    # closed with the survey
    repair = _file(client, tokens, "sesao-sc/repair", language)
    for step, outcome in (("receive-form", "done"), ("check-report", "done"), ("diagnose", "warranty"),
                          ("vendor-claim", "done"), ("verify", "pass"), ("handover", "done")):
        _act(client, tokens, repair, "wipa", step, outcome)

    # an e-saraban account returned for correction and answered on the tracking page
    account = _file(client, tokens, "sesao-sc/esaraban-account", language)
    _act(client, tokens, account, "wipa", "receive-form", "done")
    _act(client, tokens, account, "wipa", "check-details", "incomplete", note="โปรดแนบคำสั่งแต่งตั้ง")
    answer = client.post(f"/intake/track/{account}/answer?token={tracking_token(account)}",
                         data=json.dumps({"note": "แนบคำสั่งแล้ว"}), headers={"Content-Type": "application/json"})
    assert answer.status_code in (200, 201), answer.get_json()
    drain()

    # a website the director must approve, and rejects
    website = _file(client, tokens, "up/website-dev", language)
    _act(client, tokens, website, "somchai", "check-request", "done")
    _act(client, tokens, website, "dean", "director-decision", "reject", note="ซ้ำกับระบบเดิม")

    # a paper request received two weeks ago: overdue at once; then the morning summary
    late = _file(client, tokens, "up/server-admin", language,
                 received_at=(db.utcnow() - timedelta(days=14)).isoformat())
    assert handlers.sweep_sla().steps == 1
    drain()
    assert handlers.send_daily_summaries(_next_working_morning()) >= 1
    drain()

    with notify_bus.session() as session:
        deliveries = list(session.scalars(select(Delivery)))
    assert {d.template for d in deliveries} == ALL_TEMPLATES
    assert all(d.status == "sent" and d.language == language for d in deliveries)
    mails = {mail.message["Message-ID"]: mail for mail in mailbox.all()}
    assert len(mails) == len(deliveries)  # one mail per delivery row, nothing more

    by = {}
    for d in deliveries:
        by.setdefault(d.template, []).append(d)
    requester_templates = {"received", "step_done", "returned", "rejected", "waiting", "closed"}
    for template in requester_templates:
        assert {d.recipient for d in by[template]} == {REQUESTER}, template
    assert {d.recipient for d in by["approval_needed"]} == {"dean@office.example"}
    # the late step's holder reads "overdue", the head of their unit the escalation (issue 14)
    assert [d.recipient for d in by["overdue"]] == ["somchai@office.example"]
    assert [d.recipient for d in by["escalation"]] == ["chief@office.example"]
    assert {d.correlation_id for d in by["returned"]} == {account}
    assert {d.correlation_id for d in by["rejected"]} == {website}
    assert {d.correlation_id for d in by["waiting"]} == {repair}
    assert {d.correlation_id for d in by["closed"]} == {repair, website}  # the account goes on
    assert {d.correlation_id for d in by["overdue"]} == {d.correlation_id for d in by["escalation"]} == {late}

    returned = mails[f"<delivery-{by['returned'][0].id}@sopdesk>"]
    assert "โปรดแนบคำสั่งแต่งตั้ง" in returned.text() and f"/intake/track/{account}?token=" in returned.text()
    rejected = mails[f"<delivery-{by['rejected'][0].id}@sopdesk>"]
    assert "ซ้ำกับระบบเดิม" in rejected.text()
    [closed] = [d for d in by["closed"] if d.correlation_id == repair]
    closed_mail = mails[f"<delivery-{closed.id}@sopdesk>"]
    for score in range(1, 6):
        link = f"/intake/track/{repair}/survey?token={tracking_token(repair)}&score={score}"
        assert link in closed_mail.text() and link.replace("&", "&amp;") in closed_mail.html()
