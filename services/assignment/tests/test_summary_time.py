"""The daily summary goes once per working day at the set time (SOPDESK_DAILY_SUMMARY_AT, 07:30
Bangkok) to the people who had open work then (issue 14, item 9: it went out "the moment someone
is first assigned after 07:30", right after their "new work" email). Driven with a clock."""
from __future__ import annotations

from sqlalchemy import select

from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import Case, CaseStep
from services.assignment.handlers import cases as handlers, directory
from services.assignment.tests.test_engine import bkk, file
from services.assignment.tests.test_staff_news import _summaries


def test_someone_first_given_work_after_the_set_time_is_summarised_the_next_working_day_not_at_once(client, people):
    file(client, people, "sesao-sc/repair")
    monday_0745 = bkk(2026, 12, 14, 7, 45)
    first = handlers.send_daily_summaries(monday_0745)
    told_monday = {s["username"] for s in _summaries()}
    assert first == len(told_monday) >= 1

    # 09:00: a new officer is given their first work (and has had its "new work" email)
    directory.add_user("newbie", "correct horse battery", ["officer"], email="newbie@office.example",
                       unit=people.unit)
    code = file(client, people, "sesao-sc/esaraban-account")
    with bus.unit_of_work() as uow:
        case = uow.session.scalar(select(Case).where(Case.tracking_code == code))
        row = uow.session.scalar(select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.status == "active"))
        row.assignee = "newbie"
        uow.commit()
    for later in (bkk(2026, 12, 14, 9, 1), bkk(2026, 12, 14, 15, 0)):
        assert handlers.send_daily_summaries(later) == 0
    assert "newbie" not in {s["username"] for s in _summaries()}
    assert len(_summaries()) == first

    # the next working day at the set time: everyone holding work then, the newcomer too, once
    tuesday = handlers.send_daily_summaries(bkk(2026, 12, 15, 7, 30))
    tuesday_people = [s["username"] for s in _summaries() if s["day"] == "2026-12-15"]
    assert "newbie" in tuesday_people and tuesday == len(tuesday_people) == len(set(tuesday_people))
    assert handlers.send_daily_summaries(bkk(2026, 12, 15, 7, 31)) == 0
