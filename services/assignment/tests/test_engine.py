"""The SOP engine's rules, one at a time, on the real PostgreSQL: refusals, field messages,
branches, returns for correction and rounds, the clock paused while the requester has the case,
Thai working time, assignment, delegation, SLA sweeps, pack versions and repeated news from other
services. Through the HTTP API where the rule is visible there; where a rule needs a controlled
clock, ``Engine`` is driven directly inside a unit of work with an explicit ``now``."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import func, select

from services.assignment.adapters import packstore
from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import Case, CaseStep, Outbox, TrailEntry
from services.assignment.handlers import cases as handlers, directory
from services.assignment.handlers.commands import CompleteStep, StepAction
from services.assignment.handlers.engine import Engine, calendar
from services.assignment.tests.test_sops_end_to_end import act, sample
from services.intake.adapters.bus import bus as intake_bus
from services.procurement.adapters.bus import bus as procurement_bus
from shared import db
from shared.errors import Forbidden
from shared.packs import PACK_DIR, find_sop
from shared.web import STATUS_OF
from sopdesk import testing_events as payloads
from sopdesk.cli import main
from sopdesk.testing import drain

BANGKOK = ZoneInfo("Asia/Bangkok")


def bkk(*args) -> datetime:
    return datetime(*args, tzinfo=BANGKOK)


# ---------------------------------------------------------------------------------------------
# helpers


def file(client, people, sop_key: str, received_at: datetime | None = None) -> str:
    """File a request at intake (as staff when ``received_at`` is given) and open its case; the
    staff (``people``) become the SOP's organisation's."""
    sop = find_sop(sop_key)
    people.join(sop_key.split("/")[0])
    body = {"sop": sop_key, "requester_name": "ครูสมศรี ใจดี", "requester_email": "somsri@school.example",
            "requester_unit": "โรงเรียนบ้านดอน", "subject": f"ทดสอบ {sop.key}", "details": "รายละเอียด",
            "consent": True}
    for field in sop.form:
        body[field.name] = sample(field)
    headers = {"Content-Type": "application/json"}
    if received_at is not None or not sop.requester:
        headers.update(people.headers("u-head"))
    if received_at is not None:
        body["received_at"] = received_at.isoformat()
    response = client.post("/intake/requests", data=json.dumps(body), headers=headers)
    assert response.status_code == 201, response.get_json()
    drain()
    return response.get_json()["tracking_code"]


def post(client, people, code: str, who: str, body) -> tuple[int, dict]:
    response = client.post(f"/assignment/cases/{code}/actions", data=json.dumps(body),
                           headers={"Content-Type": "application/json", **people.headers(who)})
    return response.status_code, response.get_json()


def read(client, people, code: str) -> dict:
    response = client.get(f"/assignment/cases/{code}", headers=people.headers("u-head"))
    assert response.status_code == 200
    return response.get_json()


def snapshot(code: str) -> dict:
    """Everything an action may change: the case, its steps, its trail, assignment's outbox."""
    with bus.session() as session:
        case = session.scalar(select(Case).where(Case.tracking_code == code))
        steps = [(r.id, r.step, r.round, r.status, r.assignee, r.due_at, r.outcome, r.actor, r.breached_at)
                 for r in session.scalars(select(CaseStep).where(CaseStep.case_id == case.id).order_by(CaseStep.id))]
        trail = [(t.id, t.kind, t.step, t.round, t.actor, t.outcome)
                 for t in session.scalars(select(TrailEntry).where(TrailEntry.case_id == case.id)
                                          .order_by(TrailEntry.id))]
        outbox = session.scalar(select(func.count()).select_from(Outbox))
        return {"case": (case.status, case.result, case.current_step, case.seq, case.due_at, case.paused_since,
                         case.paused_minutes, case.values, case.team, case.pack_version),
                "steps": steps, "trail": trail, "outbox": outbox}


def events(code: str, event_type: str | None = None) -> list[dict]:
    with bus.session() as session:
        query = select(Outbox).where(Outbox.correlation_id == code).order_by(Outbox.created_at)
        if event_type:
            query = query.where(Outbox.type == event_type)
        return [{"type": row.type, **row.envelope["payload"]} for row in session.scalars(query)]


def breaches() -> list[dict]:
    with bus.session() as session:
        return [row.envelope["payload"] for row in session.scalars(select(Outbox).where(Outbox.type == "sla.breached"))]


def trail_of(code: str) -> list[TrailEntry]:
    with bus.session() as session:
        case = session.scalar(select(Case).where(Case.tracking_code == code))
        return list(session.scalars(select(TrailEntry).where(TrailEntry.case_id == case.id).order_by(TrailEntry.id)))


def open_at(sop_key: str, received_at: datetime, code: str) -> None:
    """Open a case as ``handlers.open_case`` does, with the engine's clock at ``received_at``."""
    sop = packstore.sop_for(sop_key)
    with bus.unit_of_work() as uow:
        case = Case(tracking_code=code, request_event_id=db.new_id(), sop=sop.full_key, pack_version=sop.pack_version,
                    status="open", subject="ทดสอบ", details="รายละเอียด", requester_name="ครูสมศรี",
                    requester_unit="โรงเรียนบ้านดอน", fields={}, channel="staff", received_at=received_at,
                    opened_at=received_at, team=[], values={}, seq=0, paused_minutes=0)
        uow.session.add(case)
        uow.session.flush()
        Engine(uow, case, sop, now=received_at).open()
        uow.commit()


def engine_act(code: str, username: str, command: StepAction, now: datetime) -> None:
    with bus.unit_of_work() as uow:
        case = uow.session.scalar(select(Case).where(Case.tracking_code == code).with_for_update())
        actor = directory.actor(uow.session, directory.user_by_name(uow.session, username).id)
        Engine(uow, case, packstore.sop_for(case.sop, case.pack_version), now=now).act(actor, command)
        uow.commit()


def engine_answer(code: str, now: datetime) -> bool:
    with bus.unit_of_work() as uow:
        case = uow.session.scalar(select(Case).where(Case.tracking_code == code).with_for_update())
        resumed = Engine(uow, case, packstore.sop_for(case.sop, case.pack_version), now=now).resume_wait(
            "requester", "requester", note="แก้ไขแล้ว")
        uow.commit()
        return resumed


def case_row(code: str) -> Case:
    with bus.session() as session:
        return session.scalar(select(Case).where(Case.tracking_code == code))


def submitted(code: str, sop: str, received_at: datetime) -> dict:
    return payloads.envelope("request.submitted", payloads.request_submitted(
        code, sop=sop, subject="เครื่องแม่ข่ายช้า", details="ช้ามาก", channel="staff", filed_by="u-head",
        requester_unit="คณะ", received_at=received_at))


def answer_from_intake(code: str) -> None:
    with intake_bus.unit_of_work() as uow:
        uow.emit("request.answered", payloads.request_answered(code, step="ask-requester", note="แก้ไขแบบฟอร์มแล้ว"),
                 correlation_id=code)
        uow.commit()


def deliver(code: str) -> None:
    with procurement_bus.unit_of_work() as uow:
        uow.emit("procurement.delivered", payloads.delivered(code, step="parts-purchase"), correlation_id=code)
        uow.commit()


# ---------------------------------------------------------------------------------------------
# 1. refusals change nothing


def test_refusals_answer_403_409_422_and_change_nothing(client, people):
    code = file(client, people, "sesao-sc/repair")
    assert read(client, people, code)["current_step"] == "receive-form"
    refusals = [
        # the director sees every case of the organisation, but this step is an officer's
        ("u-director", {"step": "receive-form", "outcome": "done"}, 403, "_schema"),
        ("u-officer", {"step": "check-report", "outcome": "done"}, 409, "step"),
        ("u-officer", {"step": "receive-form", "outcome": "explode"}, 422, "outcome"),
    ]
    for who, body, status, field in refusals:
        before = snapshot(code)
        got, answer = post(client, people, code, who, body)
        assert got == status and field in answer["errors"], (body, answer)
        assert snapshot(code) == before, body
    # a finance officer with nothing to do with the case does not even find it
    before = snapshot(code)
    got, answer = post(client, people, code, "u-finance", {"step": "receive-form", "outcome": "done"})
    assert got == 404 and snapshot(code) == before, answer

    # a closed case refuses everything
    path = [("receive-form", "done"), ("check-report", "done"), ("diagnose", "repair"), ("repair", "done"),
            ("verify", "pass"), ("handover", "done")]
    for step, outcome in path:
        act(client, people, code, "u-officer", {"step": step, "outcome": outcome})
    assert read(client, people, code)["status"] == "closed"
    before = snapshot(code)
    for body in ({"step": "handover", "outcome": "done"}, {"step": "receive-form", "outcome": "done"},
                 {"step": "handover", "outcome": "assign", "assignee": "u-officer"}):
        got, answer = post(client, people, code, "u-officer", body)
        assert got == 409 and answer["errors"]["step"] == ["the case is closed"], answer
        assert snapshot(code) == before


# ---------------------------------------------------------------------------------------------
# 2. field messages


def test_action_errors_name_the_field(client, people):
    # a return needs a note
    code = file(client, people, "sesao-sc/esaraban-account")
    act(client, people, code, "u-officer", {"step": "receive-form", "outcome": "done"})
    got, answer = post(client, people, code, "u-officer", {"step": "check-details", "outcome": "incomplete"})
    assert got == 422 and list(answer["errors"]) == ["note"], answer
    got, answer = post(client, people, code, "u-officer", {"step": "check-details", "outcome": "incomplete",
                                                           "note": "   "})
    assert got == 422 and "note" in answer["errors"]

    # a required value, then a value of the wrong type, then a value the step does not ask for
    code = file(client, people, "onesqa/equipment-support")
    got, answer = post(client, people, code, "u-head", {"step": "assign", "outcome": "done"})
    assert got == 422 and answer["errors"]["values.estimate_days"] == ["required"], answer
    got, answer = post(client, people, code, "u-head", {"step": "assign", "outcome": "done",
                                                        "values": {"estimate_days": "abc"}})
    assert got == 422 and answer["errors"]["values.estimate_days"] == ["a number"], answer
    got, answer = post(client, people, code, "u-head", {"step": "assign", "outcome": "done",
                                                        "values": {"estimate_days": 1, "colour": "red"}})
    assert got == 422 and "colour" in answer["errors"]["values"][0], answer

    # a required document (found in the pack data, not named by hand)
    sop = find_sop("onesqa/eqa-data-request")
    step = sop.step("prepare-data")
    required = [d.key for d in step.documents if d.required]
    assert required == ["data-file"]
    code = file(client, people, sop.full_key)
    act(client, people, code, "u-head", {"step": "head-review", "outcome": "accept"})
    got, answer = post(client, people, code, "u-officer", {"step": "prepare-data", "outcome": "done"})
    assert got == 422 and answer["errors"]["documents"] == ["this step needs: data-file"], answer
    # a paper reference alone is not the document: it is a file now
    got, _ = post(client, people, code, "u-officer", {"step": "prepare-data", "outcome": "note", "note": "เลขที่เอกสาร",
                                                     "documents": [{"key": "data-file", "name": "data.xlsx",
                                                                    "ref": "P-1"}]})
    assert got == 200  # JSON without files: kept as a paper reference, as before
    got, answer = post(client, people, code, "u-officer", {"step": "prepare-data", "outcome": "done"})
    assert got == 422 and answer["errors"]["documents"] == ["this step needs: data-file"], answer
    # handing the file in with a note first counts for the round
    act(client, people, code, "u-officer", {"step": "prepare-data", "outcome": "note", "note": "แนบไฟล์",
                                            "documents": [{"key": "data-file", "name": "data.pdf", "ref": "P-1"}]})
    act(client, people, code, "u-officer", {"step": "prepare-data", "outcome": "done"})
    assert read(client, people, code)["current_step"] == "head-check"

    # a body that is not a JSON object
    for raw in ("[1, 2]", '"done"', "not json"):
        response = client.post(f"/assignment/cases/{code}/actions", data=raw,
                               headers={"Content-Type": "application/json", **people.headers("u-head")})
        assert response.status_code == 400, raw
        assert "_schema" in response.get_json()["errors"]


# ---------------------------------------------------------------------------------------------
# 3. conditional branch


@pytest.mark.parametrize("estimate, destination", [(2, "lend-replacement"), (1, "repair"), ("1.5", "lend-replacement")])
def test_estimate_over_one_day_lends_a_replacement(client, people, estimate, destination):
    code = file(client, people, "onesqa/equipment-support")
    case = act(client, people, code, "u-head", {"step": "assign", "outcome": "done",
                                                "values": {"estimate_days": estimate}})
    assert case["current_step"] == destination
    assert case["values"] == {"estimate_days": float(estimate)}
    [completed] = events(code, "case.step_completed")
    assert completed["next_step"] == destination and completed["kind"] == "forward"


# ---------------------------------------------------------------------------------------------
# 4. return for correction and rounds


def test_return_to_the_requester_and_their_answer_counts_a_round(client, people):
    code = file(client, people, "sesao-sc/esaraban-account")
    act(client, people, code, "u-officer", {"step": "receive-form", "outcome": "done"})
    case = act(client, people, code, "u-officer", {"step": "check-details", "outcome": "incomplete",
                                                   "note": "อีเมลราชการไม่ถูกต้อง"})
    assert case["current_step"] == "ask-requester"
    current = case["steps"][-1]
    assert (current["step"], current["status"], current["waiting_on"], current["assignee"]) == (
        "ask-requester", "active", "requester", None)
    types = [e["type"] for e in events(code)]
    assert "case.step_returned" in types and "case.step_waiting" in types
    [returned] = events(code, "case.step_returned")
    assert (returned["to"], returned["note"], returned["step"]["key"]) == (
        "ask-requester", "อีเมลราชการไม่ถูกต้อง", "check-details")
    assert case_row(code).paused_since is not None
    drain()

    answer_from_intake(code)
    drain()
    case = read(client, people, code)
    assert case["current_step"] == "check-details"
    assert [(s["step"], s["round"], s["status"]) for s in case["steps"]] == [
        ("receive-form", 1, "done"), ("check-details", 1, "done"), ("ask-requester", 1, "done"),
        ("check-details", 2, "active")]
    assert case["steps"][2]["actor"] == "requester"
    [resumed] = events(code, "case.step_resumed")
    assert resumed["waiting_on"] == "requester" and resumed["step"]["key"] == "ask-requester"
    assert case_row(code).paused_since is None

    # the same news again (another event id): ignored, kept in the trail only
    before = snapshot(code)
    answer_from_intake(code)
    drain()
    after = snapshot(code)
    assert (after["case"], after["steps"], after["outbox"]) == (before["case"], before["steps"], before["outbox"])
    assert after["trail"][:-1] == before["trail"]
    last = trail_of(code)[-1]
    assert (last.kind, last.actor, last.data["event"]) == ("ignored", "requester", "request.answered")

    # round 2 goes on normally
    case = act(client, people, code, "u-officer", {"step": "check-details", "outcome": "ok"})
    assert case["current_step"] == "record-account"


# ---------------------------------------------------------------------------------------------
# 5. the clock stops while the requester has the case


def test_the_case_deadline_moves_on_by_the_working_time_the_requester_held_it(people):
    with bus.session() as session:
        cal = calendar(session)
    received = bkk(2026, 8, 17, 9, 0)  # Monday
    assert received.weekday() == 0
    assert all(cal.is_working_day(received.date() + timedelta(days=i)) for i in range(5))  # Mon-Fri, no holiday
    returned, answered = bkk(2026, 8, 17, 10, 0), bkk(2026, 8, 19, 10, 0)  # answered Wednesday 10:00

    open_at("onesqa/web-publish", received, "SD-PAUSE-00001")
    case = case_row("SD-PAUSE-00001")
    assert case.current_step == "verify"  # the memo itself was the requester's first step
    assert case.due_at == cal.add_days(received, 2) == bkk(2026, 8, 19, 9, 0)  # 2 working days: Wed 09:00

    engine_act("SD-PAUSE-00001", "u-head", CompleteStep(step="verify", outcome="return", note="ขาดไฟล์แนบ"), returned)
    case = case_row("SD-PAUSE-00001")
    assert case.current_step == "return-to-origin" and case.paused_since == returned

    assert engine_answer("SD-PAUSE-00001", answered)
    case = case_row("SD-PAUSE-00001")
    waited = cal.working_minutes_between(returned, answered)
    # Mon 10:00-16:30 (390) + Tue (480) + Wed 08:30-10:00 (90) = 960 working minutes = 2 working days
    assert waited == 960
    assert case.paused_minutes == waited and case.paused_since is None
    assert case.due_at == cal.add(bkk(2026, 8, 19, 9, 0), waited)
    # the old deadline Wed 09:00 + 960 working minutes: Wed 09:00-16:30 (450), Thu (480), Fri 08:30-09:00 (30)
    assert case.due_at == bkk(2026, 8, 21, 9, 0)  # Friday 2026-08-21 09:00 Bangkok
    assert case.current_step == "verify"
    started = max(events("SD-PAUSE-00001", "case.step_started"), key=lambda e: e["seq"])
    assert (started["step"]["key"], started["step"]["round"]) == ("verify", 2)
    # what intake's tracking page ends with (after verify starts, its second head is asked: all_of)
    last = max(events("SD-PAUSE-00001"), key=lambda e: e["seq"])
    assert (last["type"], last["step"]["key"], last["step"]["round"]) == ("case.approval_asked", "verify", 2)
    assert last["due_at"] == started["due_at"] == bkk(2026, 8, 21, 9, 0).astimezone(timezone.utc).isoformat()


# ---------------------------------------------------------------------------------------------
# 6. Thai working time


def test_deadlines_skip_songkran_and_the_admins_holidays(people, capsys):
    with bus.session() as session:
        cal = calendar(session)
    received = bkk(2026, 4, 10, 10, 0)  # Friday
    open_at("onesqa/eqa-data-request", received, "SD-THAI-00001")
    # 3 working days = 1440 working minutes: Fri 10 Apr 10:00-16:30 (390); Sat-Sun 11-12 and Songkran
    # Mon-Wed 13-15 Apr are off; Thu 16 (480) and Fri 17 (480); the last 90 minutes on Mon 20 Apr,
    # 08:30-10:00. Due Monday 2026-04-20 10:00 Bangkok.
    due = case_row("SD-THAI-00001").due_at
    assert due == bkk(2026, 4, 20, 10, 0)
    assert due == cal.add_days(received, 3)

    # an admin-added day off pushes deadlines set after it by one working day
    received = bkk(2026, 12, 28, 10, 0)  # Monday
    open_at("onesqa/eqa-data-request", received, "SD-THAI-00002")
    # Tue 29, Wed 30 Dec; Thu 31 Dec (New Year's Eve) and Fri 1 Jan are holidays: Mon 2027-01-04 10:00
    assert case_row("SD-THAI-00002").due_at == bkk(2027, 1, 4, 10, 0)
    assert main(["holidays", "add", "2026-12-30", "--name", "วันหยุดพิเศษเพิ่มเติม"]) == 0
    assert "2026-12-30" in capsys.readouterr().out
    open_at("onesqa/eqa-data-request", received, "SD-THAI-00003")
    assert case_row("SD-THAI-00003").due_at == bkk(2027, 1, 5, 10, 0)
    assert case_row("SD-THAI-00002").due_at == bkk(2027, 1, 4, 10, 0)  # set before: left as it was


# ---------------------------------------------------------------------------------------------
# 7. assignment


def test_new_work_goes_to_the_least_busy_and_heads_reassign(client, people):
    people.add("o1", ["officer"])
    people.add("o2", ["officer"])
    codes = [file(client, people, "sesao-sc/repair") for _ in range(3)]
    assignees = [read(client, people, code)["steps"][-1]["assignee"] for code in codes]
    assert sorted(assignees) == ["o1", "o2", "u-officer"]  # nobody gets two before everyone has one

    code = codes[0]
    first = assignees[0]
    other = next(name for name in ("o1", "o2") if name != first)
    case = act(client, people, code, "u-head", {"step": "receive-form", "outcome": "assign", "assignee": other,
                                                "note": "รับเรื่องนี้แทน"})
    assert case["steps"][-1]["assignee"] == other and case["current_step"] == "receive-form"
    assigned = [t for t in trail_of(code) if t.kind == "assigned"]
    assert [(t.actor, t.data) for t in assigned] == [("u-head", {"from": first, "to": other})]
    [event] = events(code, "case.assigned")
    assert (event["previous_assignee"], event["assigned_by"], event["step"]["assignee"]) == (first, "u-head", other)

    # an officer who holds no step of it and is no head does not even find it (the walls)...
    third = next(name for name in ("o1", "o2", "u-officer") if name not in (first, other))
    before = snapshot(code)
    got, answer = post(client, people, code, third, {"step": "receive-form", "outcome": "assign"})
    assert got == 404, answer
    # ...and the officer who holds it, not being a head, cannot hand it to someone else
    got, answer = post(client, people, code, other, {"step": "receive-form", "outcome": "assign",
                                                      "assignee": third})
    assert got == 403, answer
    assert snapshot(code) == before
    # the head gives it to the third, who then finds it and may act
    case = act(client, people, code, "u-head", {"step": "receive-form", "outcome": "assign", "assignee": third})
    assert case["steps"][-1]["assignee"] == third
    assert client.get(f"/assignment/cases/{code}", headers=people.headers(third)).status_code == 200
    # nobody without the step's role
    got, answer = post(client, people, code, "u-head", {"step": "receive-form", "outcome": "assign",
                                                        "assignee": "u-finance"})
    assert got == 422 and "assignee" in answer["errors"], answer
    got, answer = post(client, people, code, "u-head", {"step": "receive-form", "outcome": "assign",
                                                        "assignee": "ghost"})
    assert got == 422 and answer["errors"]["assignee"] == ["no active user ghost in this organisation"]
    # a finance officer, whose step it is not, does not find it to take
    got, _ = post(client, people, code, "u-finance", {"step": "receive-form", "outcome": "assign"})
    assert got == 404


# ---------------------------------------------------------------------------------------------
# 8. delegation


def test_a_delegate_acts_for_the_director_only_within_the_dates(client, people, capsys):
    people.add("o1", ["officer"])
    people.add("o2", ["officer"])
    today = directory.today()
    assert main(["users", "delegate", "--away", "u-director", "--to", "o1", "--starts", today.isoformat(),
                 "--ends", (today + timedelta(days=3)).isoformat()]) == 0
    assert main(["users", "delegate", "--away", "u-director", "--to", "o2",
                 "--starts", (today - timedelta(days=10)).isoformat(),
                 "--ends", (today - timedelta(days=5)).isoformat()]) == 0
    assert "o1 acts for u-director" in capsys.readouterr().out

    code = file(client, people, "up/info-system-dev")
    holder = read(client, people, code)["steps"][-1]["assignee"]  # of u-officer, o1 and o2, the least busy
    act(client, people, code, holder, {"step": "check-request", "outcome": "done"})
    case = read(client, people, code)
    assert case["current_step"] == "director-decision"
    assert case["steps"][-1]["assignee"] == "o1"  # the director is away: new work goes to the delegate

    before = snapshot(code)
    got, _ = post(client, people, code, "o2", {"step": "director-decision", "outcome": "approve"})
    # that delegation is over: refused, or not even found unless o2 held the first step
    assert got == (403 if holder == "o2" else 404)
    assert snapshot(code) == before

    delegate_view = client.get(f"/assignment/cases/{code}", headers=people.headers("o1")).get_json()
    assert delegate_view["actions"][0]["on_behalf_of"] == "u-director"
    case = act(client, people, code, "o1", {"step": "director-decision", "outcome": "approve"})
    assert case["current_step"] == "assign"
    [entry] = [t for t in trail_of(code) if t.kind == "action" and t.step == "director-decision"]
    assert (entry.actor, entry.on_behalf_of, entry.outcome) == ("o1", "u-director", "approve")


# ---------------------------------------------------------------------------------------------
# 9. SLA sweeps


def test_a_missed_deadline_is_reported_once(client, people):
    two_weeks_ago = db.utcnow() - timedelta(days=14)  # always past a 5-10 minute target, holidays or not
    code = file(client, people, "up/server-admin", received_at=two_weeks_ago)
    case = read(client, people, code)
    assert case["current_step"] == "check-problem" and case["due_at"] is None

    assert handlers.sweep_sla() == handlers.SweepResult(steps=1, cases=0)
    [breach] = breaches()
    assert breach["tracking_code"] == code and breach["deadline"] == "step"
    assert breach["step"]["key"] == "check-problem" and breach["step"]["assignee"] == "u-officer"
    assert datetime.fromisoformat(breach["missed_due_at"]) == datetime.fromisoformat(case["steps"][0]["due_at"])
    assert handlers.sweep_sla() == handlers.SweepResult(steps=0, cases=0)
    assert len(breaches()) == 1
    assert [t.data["deadline"] for t in trail_of(code) if t.kind == "breached"] == ["step"]

    # a case deadline (web-publish: 2 working days from receipt)
    code = file(client, people, "onesqa/web-publish", received_at=two_weeks_ago)
    assert handlers.sweep_sla() == handlers.SweepResult(steps=0, cases=1)
    case_breaches = [b for b in breaches() if b["deadline"] == "case"]
    assert [(b["tracking_code"], b["step"]) for b in case_breaches] == [(code, None)]
    assert handlers.sweep_sla() == handlers.SweepResult(steps=0, cases=0)
    assert len(breaches()) == 2


def test_two_sweeps_at_once_report_each_deadline_once(people):
    long_ago = db.utcnow() - timedelta(days=14)
    codes = [f"SD-SWEEP-{i:05d}" for i in range(8)]
    for code in codes[:6]:
        bus.consume(submitted(code, "up/server-admin", long_ago))  # a late step each
    for code in codes[6:]:
        bus.consume(submitted(code, "onesqa/web-publish", long_ago))  # a late case deadline each

    barrier = threading.Barrier(2)
    results, errors = [], []

    def sweep():
        try:
            barrier.wait(timeout=10)
            results.append(handlers.sweep_sla(batch=1))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert sum(r.steps for r in results) == 6 and sum(r.cases for r in results) == 2
    reported = sorted((b["tracking_code"], b["deadline"]) for b in breaches())
    assert reported == sorted([(c, "step") for c in codes[:6]] + [(c, "case") for c in codes[6:]])
    assert handlers.sweep_sla() == handlers.SweepResult(0, 0)


# ---------------------------------------------------------------------------------------------
# 10. pack versions


def _pack_v2(tmp_path, version: int = 1, title_en: str | None = None):
    """The shipped sesao-sc pack ``version`` versions newer, with a triage step in repair."""
    data = yaml.safe_load((PACK_DIR / "sesao-sc.yaml").read_text(encoding="utf-8"))
    version = data["version"] + version
    data["version"] = version
    steps = data["sops"]["repair"]["steps"]
    index = next(i for i, s in enumerate(steps) if s["key"] == "check-report")
    steps[index]["outcomes"]["done"] = "triage"
    steps.insert(index + 1, {"key": "triage", "title": {"th": "คัดแยกความเร่งด่วน", "en": title_en or "Triage"},
                             "role": "officer", "outcomes": {"done": "diagnose"}})
    path = tmp_path / f"sesao-sc-v{version}-{title_en or 'triage'}.yaml".replace(" ", "-")
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_a_new_pack_version_leaves_running_cases_on_theirs(client, people, tmp_path, capsys):
    shipped = find_sop("sesao-sc/repair").pack_version
    old = file(client, people, "sesao-sc/repair")
    v2 = _pack_v2(tmp_path)
    assert main(["packs", "load", str(v2)]) == 0
    assert capsys.readouterr().out.strip() == f"sesao-sc version {shipped + 1}: upgraded"
    new = file(client, people, "sesao-sc/repair")
    assert (case_row(old).pack_version, case_row(new).pack_version) == (shipped, shipped + 1)

    for code in (old, new):
        act(client, people, code, "u-officer", {"step": "receive-form", "outcome": "done"})
        act(client, people, code, "u-officer", {"step": "check-report", "outcome": "done"})
    assert read(client, people, old)["current_step"] == "diagnose"  # the old path
    assert read(client, people, new)["current_step"] == "triage"  # the new path
    act(client, people, new, "u-officer", {"step": "triage", "outcome": "done"})
    assert read(client, people, new)["current_step"] == "diagnose"
    got, answer = post(client, people, old, "u-officer", {"step": "triage", "outcome": "done"})
    assert got == 422 and "no step triage" in answer["errors"]["step"][0]

    # the same file again: unchanged
    assert main(["packs", "load", str(v2)]) == 0
    assert capsys.readouterr().out.strip() == f"sesao-sc version {shipped + 1}: unchanged"
    # other content under the same version: refused
    assert main(["packs", "load", str(_pack_v2(tmp_path, 1, "Sort by urgency"))]) == 1
    err = capsys.readouterr().err
    assert f"sesao-sc version {shipped + 1} is loaded already with other content" in err and "raise 'version'" in err
    # an older version: refused
    assert main(["packs", "load", str(_pack_v2(tmp_path, 3))]) == 0
    assert main(["packs", "load", str(_pack_v2(tmp_path, 2))]) == 1
    captured = capsys.readouterr()
    assert f"sesao-sc version {shipped + 3}: upgraded" in captured.out
    assert f"sesao-sc version {shipped + 3} is loaded; version {shipped + 2} is older" in captured.err
    assert packstore.latest_versions()["sesao-sc"] == shipped + 3
    assert (case_row(old).pack_version, case_row(new).pack_version) == (shipped, shipped + 1)


# ---------------------------------------------------------------------------------------------
# 11. procurement's news, repeated or out of place


def test_deliveries_for_a_case_not_waiting_or_repeated_are_ignored(client, people):
    idle = file(client, people, "sesao-sc/repair")
    before = snapshot(idle)
    deliver(idle)
    drain()
    after = snapshot(idle)
    assert (after["case"], after["steps"]) == (before["case"], before["steps"])
    assert after["trail"][:-1] == before["trail"] and after["trail"][-1][1] == "ignored"

    code = file(client, people, "sesao-sc/repair")
    for step, outcome in [("receive-form", "done"), ("check-report", "done"), ("diagnose", "parts")]:
        act(client, people, code, "u-officer", {"step": step, "outcome": outcome})
    case = read(client, people, code)
    assert case["current_step"] == "parts-purchase" and case["steps"][-1]["waiting_on"] == "procurement-delivery"
    deliver(code)
    drain()
    assert read(client, people, code)["current_step"] == "repair"
    before = snapshot(code)
    deliver(code)
    drain()
    after = snapshot(code)
    assert (after["case"], after["steps"]) == (before["case"], before["steps"])
    last = trail_of(code)[-1]
    assert (last.kind, last.actor, last.step, last.data["event"]) == (
        "ignored", "procurement", "parts-purchase", "procurement.delivered")
    assert len(events(code, "case.step_resumed")) == 1


def test_engine_refusals_are_typed(people):
    """The same refusals through ``Engine`` itself are of the one family, and answer 403."""
    open_at("sesao-sc/repair", bkk(2026, 8, 17, 9, 0), "SD-TYPED-00001")
    with pytest.raises(Forbidden) as refused:
        engine_act("SD-TYPED-00001", "u-finance", CompleteStep(step="receive-form", outcome="done"),
                   bkk(2026, 8, 17, 10))
    assert STATUS_OF[refused.value.kind] == 403


# ---------------------------------------------------------------------------------------------
# known bugs: the step half of sweep_sla reads and updates the case (its ``seq``) without locking
# it first (handlers.py, ``case = uow.session.get(Case, row.case_id)``): it locks the step, then
# the case, while an action locks the case, then the step.


def _waiting_on_a_lock() -> bool:
    from sqlalchemy import text

    with bus.session() as session:
        return bool(session.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                        "AND wait_event_type = 'Lock'")))


def _late_server_case(code: str) -> None:
    bus.consume(submitted(code, "up/server-admin", db.utcnow() - timedelta(days=14)))


def _run(name: str, fn, outcome: dict) -> threading.Thread:
    def target():
        try:
            outcome[name] = fn()
        except Exception as exc:
            outcome[name] = exc

    thread = threading.Thread(target=target, name=name)
    thread.start()
    return thread


@pytest.mark.org("up")
def test_a_sweep_and_an_action_on_the_same_case_do_not_deadlock(people, monkeypatch):
    from sopdesk.testing import wait_for

    _late_server_case("SD-LOCKS-00001")
    in_act, go = threading.Event(), threading.Event()
    documents_this_round = Engine._documents_this_round

    def paused(self, *args, **kwargs):  # the action holds the case's lock, not yet the step's
        if threading.current_thread().name == "act":
            in_act.set()
            go.wait(10)
        return documents_this_round(self, *args, **kwargs)

    monkeypatch.setattr(Engine, "_documents_this_round", paused)
    with bus.session() as session:
        officer = directory.user_by_name(session, "u-officer")
        staff = directory.staff_of(officer, session)
    outcome: dict = {}
    acting = _run("act", lambda: handlers.act("SD-LOCKS-00001", staff,
                                              CompleteStep(step="check-problem", outcome="done")), outcome)
    assert in_act.wait(10)
    sweeping = _run("sweep", handlers.sweep_sla, outcome)
    wait_for(lambda: _waiting_on_a_lock() or not sweeping.is_alive(), timeout=10,
             message="the sweep to wait for the case's lock (or to pass the case by)")
    go.set()
    acting.join(20)
    sweeping.join(20)
    assert not isinstance(outcome["act"], Exception), outcome["act"]
    assert not isinstance(outcome["sweep"], Exception), outcome["sweep"]
    assert case_row("SD-LOCKS-00001").current_step == "analyse"


def test_two_sweeps_never_give_a_case_the_same_seq_twice(people, monkeypatch):
    from sopdesk.testing import wait_for

    _late_server_case("SD-LOCKS-00002")
    with bus.session() as session:
        case = session.scalar(select(Case).where(Case.tracking_code == "SD-LOCKS-00002"))
        step = session.scalar(select(CaseStep).where(CaseStep.case_id == case.id))
        case.due_at = step.due_at - timedelta(hours=1)  # the case is due before its step
        session.commit()
        step_due = step.due_at
    in_case_half, go = threading.Event(), threading.Event()
    breach = handlers._breach

    def paused(uow, case, kind, due_at, row):
        breach(uow, case, kind, due_at, row)
        if threading.current_thread().name == "early":
            in_case_half.set()  # it holds the case's lock (FOR UPDATE) and has counted its event
            go.wait(10)

    monkeypatch.setattr(handlers, "_breach", paused)
    outcome: dict = {}
    # a sweep for which only the case is late, and one for which the step is late too
    early = _run("early", lambda: handlers.sweep_sla(now=step_due - timedelta(minutes=1)), outcome)
    assert in_case_half.wait(10)
    late = _run("late", handlers.sweep_sla, outcome)
    wait_for(lambda: _waiting_on_a_lock() or not late.is_alive(), timeout=10,
             message="the late sweep to wait for the case's lock (or to pass the case by)")
    go.set()
    early.join(20)
    late.join(20)
    assert outcome["early"] == handlers.SweepResult(0, 1), outcome
    assert not isinstance(outcome["late"], Exception), outcome
    handlers.sweep_sla()  # whatever the late sweep passed by
    assert sorted(b["deadline"] for b in breaches()) == ["case", "step"]
    seqs = sorted(e["seq"] for e in events("SD-LOCKS-00002"))
    assert len(seqs) == len(set(seqs)), seqs
    assert case_row("SD-LOCKS-00002").seq == max(seqs)
