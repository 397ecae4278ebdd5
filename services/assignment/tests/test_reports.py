"""The reports' figures on hand-made cases of onesqa, each moved by the engine at a chosen moment:
a step done on time and one late, one across Songkran, a case returned to the requester (whose
held time is not the service's), a rejected case, a case that closes in the next fiscal year, and
surveys in two quarters. Every expected figure is worked here from the rules (``handlers.figures``)
with the Thai working calendar, never copied from the output."""
from __future__ import annotations

import csv
import io
import statistics
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from services.assignment.adapters import packstore
from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import Case, SurveyScore
from services.assignment.handlers import directory
from services.assignment.handlers.commands import CompleteStep
from services.assignment.handlers.engine import Engine, calendar
from services.assignment.tests.test_engine import bkk, case_row, engine_act, open_at
from shared.i18n import BANGKOK
from shared.workcal import fiscal_year_bounds

FY = 2569  # 1 October 2025 - 30 September 2026
pytestmark = pytest.mark.org("onesqa")


def answer(code: str, now: datetime, outcome: str | None = None) -> None:
    """The requester answers the step waiting on them (at ``now``), choosing ``outcome``."""
    with bus.unit_of_work() as uow:
        case = uow.session.scalar(select(Case).where(Case.tracking_code == code).with_for_update())
        assert Engine(uow, case, packstore.sop_for(case.sop, case.pack_version), now=now).resume_wait(
            "requester", "requester", note="แก้ไขแล้ว", outcome=outcome)
        uow.commit()


def done(code: str, who: str, step: str, outcome: str, now: datetime, **more) -> None:
    engine_act(code, who, CompleteStep(step=step, outcome=outcome, **more), now)


def scored(code: str, score: int, at: datetime, comment: str | None = None) -> None:
    with bus.unit_of_work() as uow:
        case = case_row(code)
        uow.session.add(SurveyScore(tracking_code=code, sop=case.sop, unit="ict-onesqa", requester_unit="คณะ",
                                    score=score, comment=comment, answered_at=at))
        uow.commit()


def equipment(code: str, received: datetime, assigned: datetime, repaired: datetime | None,
              closed: datetime | None = None) -> None:
    """An equipment-support case: the head gives it out, the officer repairs (target 1-3 working
    days), tells the requester and logs it (the case's deadline: 3 working days)."""
    open_at("onesqa/equipment-support", received, code)
    done(code, "u-head", "assign", "done", assigned, assignee="u-officer", values={"estimate_days": 1})
    if repaired is None:
        return
    done(code, "u-officer", "repair", "done", repaired)
    if closed is not None:
        done(code, "u-officer", "notify-done", "done", closed - timedelta(minutes=5), message="ซ่อมเสร็จแล้ว")
        done(code, "u-officer", "log-issue", "done", closed)


@pytest.fixture
def year(people):
    """The hand-made cases, and what the rules say of each (the moments they were given)."""
    with bus.session() as session:
        cal = calendar(session)
    m = {}
    # E1: received Thursday 9 April 2026; the repair runs across Songkran (Mon-Wed 13-15 April off)
    m["E1"] = dict(received=bkk(2026, 4, 9, 9, 0), assigned=bkk(2026, 4, 9, 10, 0),
                   repaired=bkk(2026, 4, 16, 16, 0), closed=bkk(2026, 4, 16, 16, 20))
    # E2: repaired a week after it was given out: late, and so is the case
    m["E2"] = dict(received=bkk(2026, 6, 1, 9, 0), assigned=bkk(2026, 6, 1, 9, 30),
                   repaired=bkk(2026, 6, 8, 9, 30), closed=bkk(2026, 6, 8, 10, 0))
    # N: received on the fiscal year's last day, repaired and closed in the next one
    m["N"] = dict(received=bkk(2026, 9, 30, 14, 0), assigned=bkk(2026, 9, 30, 15, 0),
                  repaired=bkk(2026, 10, 1, 10, 0), closed=bkk(2026, 10, 1, 10, 20))
    for code in ("E1", "E2", "N"):
        equipment(f"SD-FIG-{code}", **m[code])

    # R: a data request the head declines: rejected (first quarter)
    m["R"] = dict(received=bkk(2025, 11, 4, 9, 0), declined=bkk(2025, 11, 4, 10, 0), closed=bkk(2025, 11, 4, 11, 0))
    open_at("onesqa/eqa-data-request", m["R"]["received"], "SD-FIG-R")
    done("SD-FIG-R", "u-head", "head-review", "decline", m["R"]["declined"], note="ไม่ใช่ข้อมูลที่เปิดเผยได้")
    done("SD-FIG-R", "u-officer", "inform-requester", "done", m["R"]["closed"], message="ขออภัย")

    # W: a web page to publish, returned to the requester for correction and answered two working
    # days later; then their check of the page holds it another hour (second quarter)
    w = m["W"] = dict(received=bkk(2026, 1, 14, 9, 0), returned=bkk(2026, 1, 14, 10, 0),
                      answered=bkk(2026, 1, 16, 10, 0), head_ok=bkk(2026, 1, 16, 11, 0),
                      subhead_ok=bkk(2026, 1, 16, 11, 30), published=bkk(2026, 1, 16, 12, 0),
                      checked=bkk(2026, 1, 16, 13, 0), told=bkk(2026, 1, 16, 14, 0),
                      confirmed=bkk(2026, 1, 16, 15, 0), closed=bkk(2026, 1, 16, 15, 30))
    open_at("onesqa/web-publish", w["received"], "SD-FIG-W")
    done("SD-FIG-W", "u-head", "verify", "return", w["returned"], note="ขาดไฟล์แนบ")
    answer("SD-FIG-W", w["answered"])
    done("SD-FIG-W", "u-head", "verify", "ok", w["head_ok"])
    done("SD-FIG-W", "u-subhead", "verify", "ok", w["subhead_ok"])
    done("SD-FIG-W", "u-officer", "publish", "done", w["published"])
    done("SD-FIG-W", "u-officer", "check-display", "done", w["checked"])
    done("SD-FIG-W", "u-officer", "notify-origin", "done", w["told"], message="เผยแพร่แล้ว")
    answer("SD-FIG-W", w["confirmed"], outcome="confirmed")
    done("SD-FIG-W", "u-officer", "report", "done", w["closed"])

    # surveys in the second and third quarters, and one in the next fiscal year
    scored("SD-FIG-W", 3, bkk(2026, 1, 20, 9, 0), comment="ช้าไปหน่อย")
    scored("SD-FIG-E1", 5, bkk(2026, 4, 20, 9, 0), comment="ดีมาก")
    scored("SD-FIG-E2", 4, bkk(2026, 6, 9, 9, 0))
    scored("SD-FIG-N", 1, bkk(2026, 10, 2, 9, 0))
    return cal, m


def kpis(client, people, who: str = "u-director", **query) -> dict:
    query = {"fiscal_year": FY, "org": "onesqa", **query}
    response = client.get("/assignment/reports/kpis", query_string=query, headers=people.headers(who))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_years_figures_follow_the_rules(client, people, year):
    cal, m = year
    start, last = fiscal_year_bounds(FY)
    in_year = lambda moment: start <= moment.astimezone(BANGKOK).date() <= last  # noqa: E731

    # the cases' deadlines by the rule: 3 working days from receipt (E, R); W's 2 working days,
    # moved on by each wait on the requester that ended before it passed (domain/clock.resume)
    due = {code: cal.add_days(m[code]["received"], 3) for code in ("E1", "E2", "N", "R")}
    w = m["W"]
    held = [cal.working_minutes_between(w["returned"], w["answered"]),
            cal.working_minutes_between(w["told"], w["confirmed"])]
    due["W"] = cal.add(cal.add(cal.add_days(w["received"], 2), held[0]), held[1])
    closed = {code: m[code]["closed"] for code in m}
    on_time = {code: closed[code] <= due[code] for code in closed if in_year(closed[code])}
    assert on_time == {"E1": True, "E2": False, "R": True, "W": True}  # as the scenario meant them

    got = kpis(client, people)
    assert got["fiscal_year"] == FY and got["organisation"] == "onesqa"
    assert got["period"] == {"from": start.isoformat(), "to": last.isoformat(), "quarter": None, "month": None}
    totals = got["totals"]
    assert totals["received"] == sum(in_year(m[c]["received"]) for c in m) == 5
    assert totals["closed"] == len(on_time) == 4
    assert (totals["completed"], totals["rejected"], totals["withdrawn"]) == (3, 1, 0)
    assert totals["on_time"] == sum(on_time.values()) and totals["late"] == len(on_time) - sum(on_time.values())
    assert totals["open"] == 1  # N: received in the year, closed after it
    # returns: the staff steps whose outcome the pack's rule calls a return (back to an earlier
    # step or to the requester): W's verify (round 1) and its notify-origin (to the requester's check)
    web_sop = packstore.sop_for("onesqa/web-publish")
    returned = [(step, outcome) for step, outcome in (("verify", "return"), ("verify", "ok"), ("publish", "done"),
                                                      ("check-display", "done"), ("notify-origin", "done"),
                                                      ("report", "done"))
                if web_sop.outcome_kind(step, web_sop.step(step).outcomes[outcome],
                                        web_sop.step(step).outcomes[outcome].to) == "return"]
    assert totals["returns"] == len(returned) == 2
    assert totals["by_channel"] == {"staff": 5}

    sops = {s["sop"]: s for s in got["sops"]}
    equipment_sop = sops["onesqa/equipment-support"]
    assert (equipment_sop["received"], equipment_sop["closed"], equipment_sop["open"]) == (3, 2, 1)
    steps = {s["step"]: s for s in equipment_sop["steps"]}
    # the repair's target: 1-3 working days from its start (the assignment); due by the upper bound
    repairs = {c: cal.working_minutes_between(m[c]["assigned"], m[c]["repaired"]) for c in ("E1", "E2")}
    repair_due = {c: cal.add_days(m[c]["assigned"], 3) for c in ("E1", "E2")}
    assert m["E1"]["repaired"] <= repair_due["E1"] and m["E2"]["repaired"] > repair_due["E2"]
    # E1's repair took 6 calendar days, Songkran among them, but under 3 working days
    assert (m["E1"]["repaired"] - m["E1"]["assigned"]).days >= 6 and repairs["E1"] < 3 * cal.minutes_per_day
    values = sorted(repairs.values())
    assert steps["repair"]["done"] == 2  # N's repair was done in the next fiscal year
    assert (steps["repair"]["on_time"], steps["repair"]["late"]) == (1, 1)
    assert steps["repair"]["median_working_minutes"] == round(statistics.median(values))
    assert steps["repair"]["p90_working_minutes"] == round(values[0] + 0.9 * (values[1] - values[0]))
    assert steps["assign"]["done"] == 3 and (steps["assign"]["on_time"], steps["assign"]["late"]) == (0, 0)
    assert steps["repair"]["target"] == {"th": "1-3 วันทำการ", "en": "1-3 working days"}

    # W: the requester's steps are not the service's; the case's working time leaves their holds out
    web = sops["onesqa/web-publish"]
    web_steps = {s["step"]: s for s in web["steps"]}
    assert "return-to-origin" not in web_steps and "recheck-display" not in web_steps
    assert web_steps["verify"]["done"] == 2 and web_steps["verify"]["returns"] == 1
    assert web_steps["notify-origin"]["returns"] == 1
    assert web["median_working_minutes"] == cal.working_minutes_between(w["received"], w["closed"]) - sum(held)
    assert web["on_time"] == 1 and web["completed"] == 1

    rejected = sops["onesqa/eqa-data-request"]
    assert (rejected["rejected"], rejected["completed"], rejected["on_time"]) == (1, 0, 1)

    # by month: received and closed in each Bangkok month of the year
    months = {row["month"]: row for row in got["months"]}
    assert list(months)[0] == "2025-10" and list(months)[-1] == "2026-09" and len(months) == 12
    assert months["2026-04"]["closed"] == 1 and months["2026-04"]["on_time"] == 1
    assert months["2026-06"]["late"] == 1 and months["2026-09"]["received"] == 1
    assert sum(row["received"] for row in months.values()) == totals["received"]

    # satisfaction: the answers given within the year (W, E1, E2), not N's of the next
    satisfaction = totals["satisfaction"]
    assert satisfaction["answers"] == 3 and satisfaction["mean"] == round((3 + 5 + 4) / 3, 2)
    assert satisfaction["satisfied"] == 2 and satisfaction["satisfied_share"] == round(100 * 2 / 3, 1)
    assert [c["comment"] for c in got["comments"]] == ["ดีมาก", "ช้าไปหน่อย"]  # newest first
    assert all(set(c) == {"sop", "score", "comment", "answered_on"} for c in got["comments"])  # unnamed

    # the third quarter (April-June): E1 and E2 only
    third = kpis(client, people, quarter=3)
    assert third["period"]["from"] == "2026-04-01" and third["period"]["to"] == "2026-06-30"
    assert (third["totals"]["received"], third["totals"]["closed"]) == (2, 2)
    assert third["totals"]["satisfaction"]["answers"] == 2
    assert [row["month"] for row in third["months"]] == ["2026-04", "2026-05", "2026-06"]

    # the next fiscal year holds N's close and its repair
    following = kpis(client, people, fiscal_year=FY + 1)
    assert following["totals"]["closed"] == 1 and following["totals"]["received"] == 0
    nxt = {s["step"]: s for s in following["sops"][[s["sop"] for s in following["sops"]].index(
        "onesqa/equipment-support")]["steps"]}
    assert nxt["repair"]["done"] == 1 and nxt["repair"]["late"] == int(m["N"]["repaired"] > cal.add_days(
        m["N"]["assigned"], 3))


def test_who_reads_which_figures(client, people, year):
    # a head reads their own unit's; another unit of theirs is refused; an officer reads none
    directory.add_unit("ict-other", "onesqa", "ศูนย์อื่น", "Other centre")
    people.add("h-other", ["head"], unit="ict-other")
    own = kpis(client, people, "u-head")
    assert own["unit"] == "ict-onesqa" and own["totals"]["received"] == 5
    other = kpis(client, people, "h-other")
    assert other["unit"] == "ict-other" and other["totals"]["received"] == 0 and other["totals"]["closed"] == 0
    refused = client.get("/assignment/reports/kpis", query_string={"fiscal_year": FY, "org": "onesqa",
                                                                   "unit": "ict-onesqa"},
                         headers=people.headers("h-other"))
    assert refused.status_code == 403
    assert client.get("/assignment/reports/kpis", query_string={"fiscal_year": FY},
                      headers=people.headers("u-officer")).status_code == 403
    # another organisation is not found, nor is an SOP or unit that is not the organisation's
    for query in ({"org": "up"}, {"org": "nowhere"}, {"org": "onesqa", "sop": "up/website-dev"},
                  {"org": "onesqa", "unit": "ict-up-nowhere"}):
        assert client.get("/assignment/reports/kpis", query_string={"fiscal_year": FY, **query},
                          headers=people.headers("u-director")).status_code == 404, query
    assert client.get("/assignment/reports/kpis").status_code == 401
    # bad input: field by field, nothing else
    bad = client.get("/assignment/reports/kpis", query_string={"fiscal_year": 2026, "quarter": 5},
                     headers=people.headers("u-director"))
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) >= {"fiscal_year", "quarter"}
    both = client.get("/assignment/reports/kpis", query_string={"fiscal_year": FY, "quarter": 1, "month": 10},
                      headers=people.headers("u-director"))
    assert both.status_code == 422 and "month" in both.get_json()["errors"]
    # a system administrator reads any organisation
    people.add("root", ["sysadmin"])
    assert kpis(client, people, "root")["totals"]["received"] == 5


def test_the_tables_as_csv_and_xlsx_in_thai(client, people, year):
    got = kpis(client, people)
    response = client.get("/assignment/reports/kpis", query_string={"fiscal_year": FY, "org": "onesqa",
                                                                    "format": "csv", "table": "months", "lang": "th"},
                          headers=people.headers("u-director"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][0] == "เดือน" and rows[1][0] == "ต.ค. 2568" and rows[-1][0] == "ก.ย. 2569"
    assert [int(r[1]) for r in rows[1:]] == [row["received"] for row in got["months"]]

    response = client.get("/assignment/reports/kpis", query_string={"fiscal_year": FY, "org": "onesqa",
                                                                    "format": "xlsx", "lang": "th"},
                          headers=people.headers("u-director"))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    sheet = book[book.sheetnames[0]]
    headers = [c.value for c in sheet[1]]
    assert "รับเรื่อง" in headers
    by_sop = {row[1]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    equipment_sop = next(s for s in got["sops"] if s["sop"] == "onesqa/equipment-support")
    assert by_sop[equipment_sop["title"]["th"]][headers.index("รับเรื่อง")] == equipment_sop["received"]
    assert len(book.sheetnames) == 6


def test_the_yearly_report_is_a_pdf_whose_thai_text_reads_back(client, people, year, tmp_path):
    import shutil
    import subprocess

    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    got = kpis(client, people)
    response = client.get("/assignment/reports/yearly.pdf", query_string={"fiscal_year": FY, "org": "onesqa"},
                          headers=people.headers("u-director"))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    path = tmp_path / "yearly.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "รายงานผลการดำเนินงานประจำปีงบประมาณ" in text and str(FY) in text
    assert got["organisation_title"]["th"].split()[0] in text
    equipment_sop = next(s for s in got["sops"] if s["sop"] == "onesqa/equipment-support")
    assert equipment_sop["title"]["th"] in text.replace("\n", "")
    # an officer reads none of it; another organisation's is not found
    assert client.get("/assignment/reports/yearly.pdf", query_string={"fiscal_year": FY},
                      headers=people.headers("u-officer")).status_code == 403
    assert client.get("/assignment/reports/yearly.pdf", query_string={"fiscal_year": FY, "org": "up"},
                      headers=people.headers("u-director")).status_code == 404
