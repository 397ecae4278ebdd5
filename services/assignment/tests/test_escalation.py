"""Escalation of missed deadlines on the real PostgreSQL (issue 14, item 5): ONESQA's case
deadlines ("ภายใน 2 วันทำการ") and a late step nobody holds tell the unit's heads; the
organisation's director hears when it is still late the pack's ``escalate_after`` working days
later (one by default); each level once, also with two sweeps side by side. Expected times are
worked from the working calendar (holidays and the admin's days off) in the test."""
from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import Case, CaseStep, Outbox
from services.assignment.handlers import cases as handlers, directory
from services.assignment.handlers.engine import calendar
from services.assignment.tests.test_engine import BANGKOK, bkk, open_at, trail_of
from sopdesk.cli import main


def told(event_type: str, code: str | None = None) -> list[dict]:
    with bus.session() as session:
        query = select(Outbox).where(Outbox.type == event_type).order_by(Outbox.created_at)
        rows = [row.envelope["payload"] for row in session.scalars(query)]
    return [p for p in rows if code is None or p["tracking_code"] == code]


def working_days_after(start: datetime, days: int) -> datetime:
    """The rule worked here, from the calendar's days alone: the same office time of day ``days``
    working days later (weekends, holidays and the admin's days off skipped)."""
    with bus.session() as session:
        cal = calendar(session)
    local = start.astimezone(BANGKOK)
    day = local.date()
    for _ in range(days):
        day += timedelta(days=1)
        while not cal.is_working_day(day):
            day += timedelta(days=1)
    return datetime.combine(day, local.time(), BANGKOK)


def case_row(code: str) -> Case:
    with bus.session() as session:
        return session.scalar(select(Case).where(Case.tracking_code == code))


@pytest.mark.org("onesqa")
def test_onesqa_web_publish_within_2_working_days_missed_tells_the_heads_then_the_director_once_each(people,
                                                                                                     capsys):
    """"เผยแพร่บนเว็บไซต์สำนักงานภายใน 2 วันทำการ": missed, the heads of the unit serving the case
    hear at once; the director one working day later (the default), a day off in between not
    counted; each once, however often the sweep runs."""
    code = "SD-ESCAL-00001"
    open_at("onesqa/web-publish", bkk(2026, 12, 14, 10, 0), code)  # Monday
    due = case_row(code).due_at
    assert due == working_days_after(bkk(2026, 12, 14, 10, 0), 2)  # Wednesday 16 December, 10:00

    # the admin makes Thursday 17 December a day off: the director's day moves past it
    assert main(["holidays", "add", "2026-12-17", "--name", "วันหยุดพิเศษ"]) == 0
    capsys.readouterr()
    first_sweep = due + timedelta(minutes=1)
    handlers.sweep_sla(now=first_sweep)
    [level1] = [b for b in told("sla.breached", code) if b["deadline"] == "case"]
    assert level1["level"] == 1 and level1["heads"] == ["u-head"] and level1["heads_from"] == "holder-unit"
    assert level1["head_contacts"][0]["email"] == "u-head@office.example"
    assert level1["sop_title"]["th"].startswith("การเผยแพร่ข้อมูล") and level1["working_days_late"] == 0
    from shared.packs import find_sop
    at = case_row(code).current_step
    assert level1["current_step_title"] == find_sop("onesqa/web-publish").step(at).title  # the step it is at
    director_at = working_days_after(first_sweep, 1)
    assert director_at.date() == date(2026, 12, 18)  # Friday: the day off did not count
    assert datetime.fromisoformat(level1["escalate_at"]) == director_at
    assert case_row(code).deadline_escalate_at == director_at

    # nothing more until the director's time, then once
    assert handlers.sweep_sla(now=director_at - timedelta(minutes=1)).escalated_cases == 0
    assert told("sla.escalated", code) == []
    assert handlers.sweep_sla(now=director_at).escalated_cases == 1
    [level2] = told("sla.escalated", code)
    assert level2["directors"] == ["u-director"] and level2["deadline"] == "case"
    assert level2["director_contacts"][0]["email"] == "u-director@office.example"
    assert level2["escalate_after"] == 1 and datetime.fromisoformat(level2["told_heads_at"]) == first_sweep
    with bus.session() as session:
        late_by = calendar(session).working_minutes_between(due, director_at) // calendar(session).minutes_per_day
    assert level2["working_days_late"] == late_by == 1
    assert handlers.sweep_sla(now=director_at + timedelta(days=10)).escalated_cases == 0
    assert len([b for b in told("sla.breached", code) if b["deadline"] == "case"]) == 1
    assert len(told("sla.escalated", code)) == 1
    kinds = [(t.kind, t.data.get("level")) for t in trail_of(code) if t.kind in ("breached", "escalated")
             and t.data.get("deadline") == "case"]
    assert kinds == [("breached", 1), ("escalated", 2)]


@pytest.mark.org("onesqa")
def test_a_late_step_nobody_holds_tells_the_heads_of_the_unit_whose_people_could_take_it(people):
    """"a late step that nobody holds": the heads of the unit of the officers who may take it
    hear (not a head of a unit with no such officer); the director after one working day."""
    directory.add_unit("other", "onesqa", "หน่วยอื่น", "Another unit")
    directory.add_user("boss-other", "correct horse battery", ["head"], unit="other")
    code = "SD-UNHLD-00001"
    received = bkk(2026, 12, 14, 9, 0)
    open_at("onesqa/web-publish", received, code)
    # the case as it stands at "publish" (an officer's step) held by nobody, due an hour after receipt
    with bus.unit_of_work() as uow:
        case = uow.session.scalar(select(Case).where(Case.tracking_code == code))
        row = uow.session.scalar(select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.status == "active"))
        row.step, row.role, case.current_step = "publish", "officer", "publish"
        row.assignee, row.due_at = None, received + timedelta(hours=1)
        step_key, role, due = row.step, row.role, row.due_at
        uow.commit()
    assert role != "requester"
    sweep_at = due + timedelta(minutes=5)
    assert handlers.sweep_sla(now=sweep_at).steps == 1
    [level1] = [b for b in told("sla.breached", code) if b["deadline"] == "step"]
    with bus.session() as session:  # who could take it, and their units' heads
        takers = directory.holders(session, (role,), "onesqa")
        units = {directory.user_by_name(session, name).unit for name in takers}
        expected = sorted({h for unit in units for h in directory.heads_of_unit(session, unit)})
    assert expected == ["u-head"] and "boss-other" not in expected
    assert level1["step"]["key"] == step_key and level1["step"]["assignee"] is None
    assert level1["heads"] == expected and level1["heads_from"] == "role-units"

    director_at = working_days_after(sweep_at, 1)
    assert datetime.fromisoformat(level1["escalate_at"]) == director_at
    assert handlers.sweep_sla(now=director_at - timedelta(seconds=1)).escalated_steps == 0
    assert handlers.sweep_sla(now=director_at).escalated_steps == 1
    [level2] = told("sla.escalated", code)
    assert level2["step"]["key"] == step_key and level2["directors"] == ["u-director"]
    assert handlers.sweep_sla(now=director_at + timedelta(days=3)).escalated_steps == 0


@pytest.mark.org("onesqa")
def test_two_sweeps_side_by_side_tell_the_director_once_per_deadline(people):
    received = bkk(2026, 12, 14, 10, 0)
    codes = [f"SD-TWOSW-{i:05d}" for i in range(5)]
    for code in codes:
        open_at("onesqa/web-publish", received, code)
    due = case_row(codes[0]).due_at
    first_sweep = due + timedelta(minutes=1)
    handlers.sweep_sla(now=first_sweep)
    assert sorted(b["tracking_code"] for b in told("sla.breached") if b["deadline"] == "case") == codes
    director_at = working_days_after(first_sweep, 1)

    barrier, results, errors = threading.Barrier(2), [], []

    def sweep():
        try:
            barrier.wait(timeout=10)
            results.append(handlers.sweep_sla(now=director_at, batch=1))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sum(r.escalated_cases for r in results) == len(codes)
    escalated = [e["tracking_code"] for e in told("sla.escalated") if e["deadline"] == "case"]
    assert sorted(escalated) == codes  # each once
    assert handlers.sweep_sla(now=director_at).escalated_cases == 0


@pytest.mark.org("onesqa")
def test_a_pack_that_gives_its_heads_two_working_days_tells_the_director_then_and_not_before(people, tmp_path,
                                                                                             capsys):
    """``escalate_after: "2 days"`` on the pack (a newer version of onesqa): the director hears two
    working days after the heads, the library's holidays and the admin's day off not counted;
    a case opened on the version before keeps its one day."""
    import yaml

    from shared.packs import PACK_DIR, find_sop

    old_code = "SD-NDAYS-00001"
    open_at("onesqa/web-publish", bkk(2026, 12, 21, 10, 0), old_code)  # on the shipped version
    data = yaml.safe_load((PACK_DIR / "onesqa.yaml").read_text(encoding="utf-8"))
    data["version"] = find_sop("onesqa/web-publish").pack_version + 1
    data["escalate_after"] = "2 days"
    path = tmp_path / "onesqa-escalate-after-2.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert main(["packs", "load", str(path)]) == 0
    capsys.readouterr()
    code = "SD-NDAYS-00002"
    open_at("onesqa/web-publish", bkk(2026, 12, 21, 10, 0), code)  # Monday 21 December 2026
    assert case_row(code).pack_version == data["version"] == case_row(old_code).pack_version + 1
    assert main(["holidays", "add", "2026-12-24", "--name", "วันหยุดพิเศษ"]) == 0  # Thursday
    capsys.readouterr()

    due = case_row(code).due_at
    first_sweep = due + timedelta(minutes=1)
    handlers.sweep_sla(now=first_sweep)
    two_days = working_days_after(first_sweep, 2)
    one_day = working_days_after(first_sweep, 1)
    assert case_row(code).deadline_escalate_at == two_days and case_row(old_code).deadline_escalate_at == one_day
    assert two_days.date() not in (date(2026, 12, 24),) and two_days - first_sweep > timedelta(days=2)

    handlers.sweep_sla(now=two_days - timedelta(minutes=1))  # the old case's day has come, not this one's
    assert [e["tracking_code"] for e in told("sla.escalated")] == [old_code]
    handlers.sweep_sla(now=two_days)
    assert sorted(e["tracking_code"] for e in told("sla.escalated")) == [old_code, code]
    [level2] = told("sla.escalated", code)
    assert level2["escalate_after"] == 2
