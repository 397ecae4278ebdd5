"""What assignment tells others so that people hear of their work: whom to write to travels in
the events (notify keeps no staff directory), one summary of open work per person per working
day, and the requesters' satisfaction scores kept for the reports per SOP and per unit."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import func, select

from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import DailySummary, Outbox, SurveyScore
from services.assignment.handlers import cases as handlers, directory
from services.assignment.tests.test_engine import act, bkk, file, read
from shared import db
from shared.i18n import BANGKOK
from sopdesk import testing_events as payloads
from sopdesk.testing import drain


def emitted(event_type: str) -> list[dict]:
    with bus.session() as session:
        return [row.envelope for row in session.scalars(select(Outbox).where(Outbox.type == event_type)
                                                        .order_by(Outbox.created_at))]


def test_step_events_say_whom_to_write_to_and_whether_approval_is_asked(client, people):
    file(client, people, "sesao-sc/repair")
    [receive] = [e["payload"]["step"] for e in emitted("case.step_started")]
    assert receive["key"] == "receive-form" and receive["needs_approval"] is False
    assert receive["assignee_contact"] == {"username": receive["assignee"], "name": receive["assignee"],
                                           "email": f"{receive['assignee']}@office.example", "language": "th",
                                           "org": "sesao-sc"}

    people.join("up")  # the staff now work for the university; its director is away
    directory.add_user("manop", "correct horse battery", ["director"], display_name="นายมานพ",
                       email="manop@up.example", language="en", unit=people.unit)
    people.tokens.pop("u-director")
    with bus.unit_of_work() as uow:  # the pack's only director now is manop
        from services.assignment.adapters.models import User

        uow.session.get(User, directory.user_by_name(uow.session, "u-director").id).active = False
        uow.commit()
    code = file(client, people, "up/website-dev")
    act(client, people, code, "u-officer", {"step": "check-request", "outcome": "done"})
    [decision] = [e["payload"]["step"] for e in emitted("case.step_started")
                  if e["payload"]["step"]["key"] == "director-decision"]
    assert decision["needs_approval"] is True
    assert decision["assignee_contact"] == {"username": "manop", "name": "นายมานพ", "email": "manop@up.example",
                                            "language": "en", "org": "up"}


def test_a_breach_names_the_assignee_and_the_heads_with_their_addresses(client, people):
    directory.add_unit("web", "up", "งานเว็บ", "Web unit")
    directory.add_user("somchai", "correct horse battery", ["officer"], email="somchai@up.example", unit="web")
    directory.add_user("boss", "correct horse battery", ["head"], display_name="หัวหน้า", email="boss@up.example",
                       unit="web", language="en")
    code = file(client, people, "up/server-admin", received_at=db.utcnow() - timedelta(days=14))
    with bus.unit_of_work() as uow:  # make sure the unit's officer holds the late step
        from services.assignment.adapters.models import Case, CaseStep

        case = uow.session.scalar(select(Case).where(Case.tracking_code == code))
        row = uow.session.scalar(select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.status == "active"))
        row.assignee = "somchai"
        uow.commit()
    assert handlers.sweep_sla().steps == 1
    [breach] = [e["payload"] for e in emitted("sla.breached")]
    assert breach["step"]["assignee_contact"]["email"] == "somchai@up.example"
    assert breach["step"]["title"]["th"]
    assert breach["heads"] == ["boss"]
    assert breach["head_contacts"] == [{"username": "boss", "name": "หัวหน้า", "email": "boss@up.example",
                                        "language": "en", "org": "up"}]


def _summaries() -> list[dict]:
    return [e["payload"] for e in emitted("staff.daily_summary")]


def test_each_person_hears_of_their_open_work_once_per_working_day(client, people):
    first = file(client, people, "sesao-sc/repair")
    second = file(client, people, "sesao-sc/esaraban-account")
    assert handlers.send_daily_summaries(bkk(2026, 11, 23, 7, 0)) == 0  # Monday, before 07:30
    assert handlers.send_daily_summaries(bkk(2026, 11, 21, 9, 0)) == 0  # a Saturday
    assert handlers.send_daily_summaries(bkk(2026, 12, 7, 9, 0)) == 0  # substitution day for 5 December

    written = handlers.send_daily_summaries(bkk(2026, 11, 23, 7, 45))
    summaries = _summaries()
    assert written == len(summaries) >= 1
    by_person = {s["username"]: s for s in summaries}
    holders = {}
    for code in (first, second):
        case = read(client, people, code)
        holder = next(s["assignee"] for s in case["steps"] if not s["completed_at"])
        holders.setdefault(holder, set()).add(code)
    assert set(by_person) == set(holders)
    for username, codes in holders.items():
        summary = by_person[username]
        assert {item["tracking_code"] for item in summary["items"]} == codes
        assert summary["day"] == "2026-11-23" and summary["contact"]["email"] == f"{username}@office.example"
        assert all(item["step_title"]["th"] and item["sop_title"]["en"] for item in summary["items"])

    assert handlers.send_daily_summaries(bkk(2026, 11, 23, 15, 0)) == 0  # later that day: nothing new
    assert len(_summaries()) == written
    assert handlers.send_daily_summaries(bkk(2026, 11, 24, 7, 31)) == written  # the next working day
    with bus.session() as session:
        assert session.scalar(select(func.count()).select_from(DailySummary)) == 2 * written


def test_two_summary_runs_at_once_tell_each_person_once(client, people):
    file(client, people, "sesao-sc/repair")
    moment = bkk(2026, 11, 25, 8, 0)
    results, barrier = [], threading.Barrier(2)

    def run():
        barrier.wait()
        results.append(handlers.send_daily_summaries(moment))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    people_told = [s["username"] for s in _summaries()]
    assert sorted(results)[0] == 0 and sum(results) == len(people_told) == len(set(people_told)) == 1


def _answered(code: str, score: int, comment: str | None, when: datetime) -> dict:
    return payloads.envelope("survey.answered", payloads.survey_answered(
        code, sop="sesao-sc/repair", score=score, comment=comment, answered_at=when, requester_unit="โรงเรียนบ้านนา"))


def test_survey_scores_feed_the_report_per_sop_and_per_unit(client, people):
    directory.add_user("wipa", "correct horse battery", ["officer"], email="wipa@ict.example", unit="ict")
    code = file(client, people, "sesao-sc/repair")
    with bus.unit_of_work() as uow:
        from services.assignment.adapters.models import Case, CaseStep

        case = uow.session.scalar(select(Case).where(Case.tracking_code == code))
        for row in uow.session.scalars(select(CaseStep).where(CaseStep.case_id == case.id)):
            row.assignee = "wipa"
        uow.commit()
    envelope = _answered(code, 4, "เร็วดี", bkk(2026, 11, 20, 10, 0))
    bus.consume(envelope)
    assert bus.consume(envelope).duplicate
    bus.consume(_answered("SD-OTHER-00001", 2, None, bkk(2026, 9, 30, 10, 0)))  # fiscal year 2569
    with bus.session() as session:
        row = session.get(SurveyScore, code)
        assert (row.score, row.unit, row.comment, row.requester_unit) == (4, "ict", "เร็วดี", "โรงเรียนบ้านนา")

    head = people.headers("u-head")
    report = client.get("/assignment/reports/satisfaction", headers=head).get_json()
    assert report["answers"] == 2
    assert report["by_sop"] == [{"key": "sesao-sc/repair", "answers": 2, "mean": 3.0,
                                 "scores": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 0}}]
    assert {g["key"]: g["answers"] for g in report["by_unit"]} == {"": 1, "ict": 1}
    this_year = client.get("/assignment/reports/satisfaction?fiscal_year=2570", headers=head).get_json()
    assert this_year["answers"] == 1 and this_year["by_unit"][0]["key"] == "ict"
    assert this_year["by_sop"][0]["mean"] == 4.0

    bad = client.get("/assignment/reports/satisfaction?fiscal_year=2026", headers=head)
    assert bad.status_code == 422 and "fiscal_year" in bad.get_json()["errors"]
    assert client.get("/assignment/reports/satisfaction", headers=people.headers("u-officer")).status_code == 403
    assert client.get("/assignment/reports/satisfaction").status_code == 401


def test_the_report_counts_each_answer_in_its_bangkok_day_and_fiscal_year_as_answers_change(client, people):
    """The report sums the answers' tallies by Bangkok day (kept by the database as each answer is
    stored, changed or removed): an answer at 23:30 on 30 September (Bangkok) is of fiscal year
    2569, one at 00:10 on 1 October of 2570, though both are 30 September in UTC; each figure is
    worked here from the answers themselves, by the rule, after each change."""
    from shared.workcal import fiscal_year_bounds

    answers = [("SD-FY-00001", "sesao-sc/repair", 5, bkk(2026, 9, 30, 23, 30)),
               ("SD-FY-00002", "sesao-sc/repair", 2, bkk(2026, 10, 1, 0, 10)),
               ("SD-FY-00003", "sesao-sc/consultation", 4, bkk(2027, 3, 15, 9, 0)),
               ("SD-FY-00004", "sesao-sc/repair", 4, bkk(2027, 9, 30, 23, 59)),
               ("SD-FY-00005", "up/server-admin", 1, bkk(2027, 1, 5, 9, 0))]  # another organisation's
    for code, sop, score, when in answers:
        bus.consume(payloads.envelope("survey.answered", payloads.survey_answered(
            code, sop=sop, score=score, answered_at=when)))
    head = people.headers("u-head")

    def expected(year: int) -> dict:
        first, last = fiscal_year_bounds(year)
        with bus.session() as session:
            rows = [r for r in session.scalars(select(SurveyScore)) if r.sop.startswith("sesao-sc/")
                    and first <= r.answered_at.astimezone(BANGKOK).date() <= last]
        by_sop = {}
        for row in rows:
            by_sop.setdefault(row.sop, []).append(row.score)
        return {"answers": len(rows), "by_sop": [
            {"key": sop, "answers": len(scores), "mean": round(sum(scores) / len(scores), 2),
             "scores": {str(n): scores.count(n) for n in range(1, 6)}} for sop, scores in sorted(by_sop.items())]}

    def report(year: int) -> dict:
        got = client.get(f"/assignment/reports/satisfaction?fiscal_year={year}", headers=head).get_json()
        return {"answers": got["answers"], "by_sop": got["by_sop"]}

    assert report(2569) == expected(2569) and expected(2569)["answers"] == 1
    assert report(2570) == expected(2570) and expected(2570)["answers"] == 3
    with bus.session() as session:  # an answer corrected, another removed: the tallies follow
        session.get(SurveyScore, "SD-FY-00002").score = 3
        session.delete(session.get(SurveyScore, "SD-FY-00003"))
        session.commit()
    assert report(2570) == expected(2570) and expected(2570)["answers"] == 2
    assert report(2570)["by_sop"][0]["scores"]["3"] == 1


def test_the_requesters_answer_files_reach_the_case(client, people):
    code = file(client, people, "sesao-sc/esaraban-account")
    act(client, people, code, "u-officer", {"step": "receive-form", "outcome": "done"})
    case = act(client, people, code, "u-officer", {"step": "check-details", "outcome": "incomplete",
                                                   "note": "แนบสำเนาคำสั่งแต่งตั้ง"})
    assert case["current_step"] == "ask-requester"
    drain()
    files = [payloads.attachment("f-1", field="answer", name="order.pdf", content_type="application/pdf", size=2048)]
    bus.consume(payloads.envelope("request.answered", payloads.request_answered(
        code, step="ask-requester", round=1, note="แนบแล้ว", attachments=files, answered_at=db.utcnow())))
    drain()
    case = read(client, people, code)
    assert case["current_step"] == "check-details"
    # each file as it came, with the link the reader downloads it by (a grant for them alone)
    assert [{k: v for k, v in a.items() if k != "url"} for a in case["attachments"]] == files
    assert all(a["url"].startswith(f"/intake/requests/{code}/files/{a['id']}?grant=") for a in case["attachments"])
    [entry] = [t for t in case["trail"] if t["kind"] == "action" and t["step"] == "ask-requester"]
    assert entry["data"]["documents"] == [{"key": "answer", "name": "order.pdf", "ref": "file:f-1"}]
    assert entry["note"] == "แนบแล้ว"
