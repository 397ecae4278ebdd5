"""The public service statistics (GET /intake/statistics): per SOP of an organisation and over all
of them, for a Thai fiscal year (Buddhist era) and its two halves, requests received and completed,
the share closed on time and satisfaction, counted by the Bangkok day; for anyone, as a page (Thai,
English, or alone to embed in a unit's site) or JSON, with no personal data. The figures come from
tallies the database's triggers keep as requests and answers change, and always equal a count
made from the rows themselves."""
from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select, text, update

from services.intake.adapters.bus import bus
from services.intake.adapters.models import Request, RequestTally, SurveyAnswer, SurveyTally
from services.intake.handlers import erasure
from services.intake.handlers.commands import FileRequest
from services.intake.handlers.requests import submit_request
from services.intake.handlers.statistics import service_statistics
from sopdesk import testing_events as payloads

BKK = ZoneInfo("Asia/Bangkok")
JSON = {"Accept": "application/json"}
NAME, EMAIL, SUBJECT, COMMENT = "นายสถิติ ลับเฉพาะ", "private-person@up.example", "เรื่องลับของผู้ขอ", "ความเห็นส่วนตัว"


def bangkok(*parts) -> datetime:
    return datetime(*parts, tzinfo=BKK)


def file(sop: str, received_at: datetime, email: str = EMAIL) -> str:
    """A request filed (on paper, by staff) as received at ``received_at``: its tracking code."""
    return submit_request(FileRequest(sop=sop, requester_name=NAME, requester_email=email, requester_unit="คณะทดสอบ",
                                      subject=SUBJECT, details="รายละเอียด", language="th", channel="paper",
                                      received_at=received_at, filed_by="tester")).tracking_code


def close(code: str, sop: str, *, at: datetime, due: datetime | None, result: str = "completed", seq: int = 2) -> None:
    """assignment's ``case.closed``, as intake consumes it (the case's deadline ``due``)."""
    bus.consume(payloads.envelope("case.closed", payloads.case_closed(
        code, sop=sop, seq=seq, due_at=due, result=result, closed_at=at)))


def reopen(code: str, sop: str, *, seq: int, due: datetime | None = None) -> None:
    """A later case event that says the case is open again (a step started after it closed)."""
    bus.consume(payloads.envelope("case.step_started", payloads.step_started(
        code, sop=sop, seq=seq, case_status="open", due_at=due,
        step=payloads.case_step("check", started_at=bangkok(2027, 2, 1, 9, 0)))))


def answer(code: str, score: int, at: datetime) -> None:
    """The requester's satisfaction answer, given at ``at``."""
    with bus.session() as session:
        request_id = session.scalar(select(Request.id).where(Request.tracking_code == code))
        session.add(SurveyAnswer(request_id=request_id, score=score, comment=COMMENT, answered_at=at))
        session.commit()


def figures(received=0, completed=0, closed=0, on_time=0, late=0, on_time_share=None, answers=0, mean=None,
            satisfied_share=None) -> dict:
    return {"received": received, "completed": completed, "closed": closed, "on_time": on_time, "late": late,
            "on_time_share": on_time_share,
            "satisfaction": {"answers": answers, "mean": mean, "satisfied_share": satisfied_share}}


NOTHING = figures()
H1 = {"from": "2026-10-01", "to": "2027-03-31"}  # fiscal year 2570's first half: October-March
H2 = {"from": "2027-04-01", "to": "2027-09-30"}  # and its second: April-September


@pytest.fixture
def year_2570(clean) -> dict:
    """Requests of ``up`` around fiscal year 2570 (1 Oct 2026 - 30 Sep 2027, Bangkok days), one of
    another organisation, and their satisfaction answers."""
    dev, admin, web = "up/info-system-dev", "up/server-admin", "up/website-dev"
    codes = {}
    # received 30 Sep 2026 23:30 in Bangkok (16:30 UTC): fiscal year 2569; closed in 2570, on time
    codes["old"] = file(dev, bangkok(2026, 9, 30, 23, 30))
    close(codes["old"], dev, at=bangkok(2026, 10, 2, 10, 0), due=bangkok(2026, 10, 5, 16, 30))
    answer(codes["old"], 5, bangkok(2026, 10, 3, 9, 0))
    # received 1 Oct 2026 00:30 in Bangkok (still 30 Sep in UTC): 2570; closed late
    codes["late"] = file(dev, bangkok(2026, 10, 1, 0, 30))
    close(codes["late"], dev, at=bangkok(2026, 11, 10, 10, 0), due=bangkok(2026, 11, 5, 16, 30))
    answer(codes["late"], 2, bangkok(2026, 11, 12, 8, 0))
    # received in the first half; rejected 1 Apr 2027 00:30 in Bangkok (31 Mar in UTC): the second
    # half; before its deadline, so on time (any result counts as closed)
    codes["rejected"] = file(admin, bangkok(2027, 1, 15, 10, 0))
    close(codes["rejected"], admin, at=bangkok(2027, 4, 1, 0, 30), due=bangkok(2027, 4, 5, 16, 30),
          result="rejected")
    # its answer on 1 Oct 2027 00:30 in Bangkok: fiscal year 2571
    answer(codes["rejected"], 3, bangkok(2027, 10, 1, 0, 30))
    # the second half: completed with no deadline (left out of the on-time share)
    codes["no_deadline"] = file(admin, bangkok(2027, 5, 2, 9, 0))
    close(codes["no_deadline"], admin, at=bangkok(2027, 5, 10, 14, 0), due=None)
    answer(codes["no_deadline"], 4, bangkok(2027, 5, 11, 9, 0))
    # still open
    codes["open"] = file(web, bangkok(2027, 6, 1, 9, 0))
    # received 1 Oct 2027 00:30 in Bangkok: fiscal year 2571
    codes["next_year"] = file(web, bangkok(2027, 10, 1, 0, 30))
    # another organisation's, in the same year
    codes["rmutl"] = file("rmutl/system-dev", bangkok(2027, 2, 1, 9, 0))
    close(codes["rmutl"], "rmutl/system-dev", at=bangkok(2027, 2, 3, 9, 0), due=bangkok(2027, 2, 2, 9, 0))
    answer(codes["rmutl"], 1, bangkok(2027, 2, 4, 9, 0))
    return codes


def test_the_figures_of_each_sop_and_half_follow_the_rule(client, year_2570):
    response = client.get("/intake/statistics?org=up&fiscal_year=2570", headers=JSON)
    assert response.status_code == 200, response.get_data(as_text=True)
    report = response.get_json()
    assert report["organisation"] == "up" and report["fiscal_year"] == 2570
    assert report["organisation_title"]["th"].startswith("งานพัฒนาระบบสารสนเทศ")
    assert report["period"] == {"from": "2026-10-01", "to": "2027-09-30"}
    assert datetime.fromisoformat(report["generated_at"]).tzinfo is not None
    by_sop = {s["sop"]: s for s in report["sops"]}
    assert list(by_sop) == ["up/info-system-dev", "up/server-admin", "up/website-dev"]  # the pack's order
    assert by_sop["up/server-admin"]["title"]["en"] and by_sop["up/server-admin"]["number"] == "1.2"

    # info-system-dev: received in 2570 only "late" (the "old" one was received in 2569); both
    # closed in the first half and completed: "old" on time, "late" late (1 of 2: 50.0%); their
    # answers 5 and 2 (mean 3.50; one of two satisfied: 50.0%)
    dev_h1 = figures(received=1, completed=2, closed=2, on_time=1, late=1, on_time_share=50.0, answers=2, mean=3.5,
                     satisfied_share=50.0)
    assert by_sop["up/info-system-dev"]["halves"] == [{**dev_h1, **H1}, {**NOTHING, **H2}]
    assert by_sop["up/info-system-dev"]["year"] == dev_h1
    # server-admin: "rejected" received in the first half, closed in the second (on time, not
    # completed); "no_deadline" received, completed and closed in the second half without a
    # deadline (closed, not in the share: 1 of 1 on time); one answer in 2570, a 4
    admin_h1 = figures(received=1)
    admin_h2 = figures(received=1, completed=1, closed=2, on_time=1, late=0, on_time_share=100.0, answers=1, mean=4.0,
                       satisfied_share=100.0)
    assert by_sop["up/server-admin"]["halves"] == [{**admin_h1, **H1}, {**admin_h2, **H2}]
    assert by_sop["up/server-admin"]["year"] == figures(received=2, completed=1, closed=2, on_time=1,
                                                        on_time_share=100.0, answers=1, mean=4.0,
                                                        satisfied_share=100.0)
    # website-dev: one received in the second half, still open; the other in 2571
    assert by_sop["up/website-dev"]["year"] == figures(received=1)
    assert by_sop["up/website-dev"]["halves"] == [{**NOTHING, **H1}, {**figures(received=1), **H2}]
    # all of up's SOPs (never rmutl's): 4 received, 3 completed, 4 closed of which 2 on time and 1
    # late (2 of 3: 66.7%), answers 5, 2, 4 (mean 3.67; 2 of 3 satisfied: 66.7%)
    totals = report["totals"]
    assert totals["year"] == figures(received=4, completed=3, closed=4, on_time=2, late=1, on_time_share=66.7,
                                     answers=3, mean=3.67, satisfied_share=66.7)
    assert totals["halves"] == [
        {**figures(received=2, completed=2, closed=2, on_time=1, late=1, on_time_share=50.0, answers=2, mean=3.5,
                   satisfied_share=50.0), **H1},
        {**figures(received=2, completed=1, closed=2, on_time=1, late=0, on_time_share=100.0, answers=1, mean=4.0,
                   satisfied_share=100.0), **H2}]

    # the next year holds what crossed its Bangkok midnight: "next_year" received, the 3 given
    following = client.get("/intake/statistics?org=up&fiscal_year=2571", headers=JSON).get_json()
    assert following["totals"]["year"] == figures(received=1, answers=1, mean=3.0, satisfied_share=0.0)
    # and the year before, the request received at 23:30 on its last day
    before = client.get("/intake/statistics?org=up&fiscal_year=2569", headers=JSON).get_json()
    assert before["totals"]["year"] == figures(received=1)
    # the handler the bench calls says the same
    assert service_statistics("up", 2570)["totals"]["year"]["received"] == 4


def test_without_a_fiscal_year_it_is_the_current_one(client, clean):
    from shared.workcal import fiscal_year_be

    report = client.get("/intake/statistics?org=sesao-sc", headers=JSON).get_json()
    assert report["fiscal_year"] == fiscal_year_be(datetime.now(BKK))
    assert report["totals"]["year"] == NOTHING and all(s["year"] == NOTHING for s in report["sops"])
    assert "sesao-sc/repair" in {s["sop"] for s in report["sops"]}


def test_the_answer_holds_no_personal_data(client, year_2570):
    body = client.get("/intake/statistics?org=up&fiscal_year=2570", headers=JSON).get_data(as_text=True)
    page = client.get("/intake/statistics?org=up&fiscal_year=2570&lang=th").get_data(as_text=True)
    for secret in (NAME, EMAIL, SUBJECT, COMMENT, "คณะทดสอบ", *year_2570.values()):
        assert secret not in body and secret not in page, secret
    assert set(json.loads(body)) == {"organisation", "organisation_title", "fiscal_year", "period", "generated_at",
                                     "totals", "sops"}


def test_the_thai_page_in_the_buddhist_era_and_the_english_one(client, year_2570):
    thai = client.get("/intake/statistics?org=up&fiscal_year=2570&lang=th")
    assert thai.status_code == 200 and thai.mimetype == "text/html"
    html = thai.get_data(as_text=True)
    assert "สถิติการให้บริการ" in html and "ปีงบประมาณ พ.ศ. 2570" in html
    assert "1 ตุลาคม 2569 ถึง 30 กันยายน 2570" in html  # the year's days in the Buddhist era
    assert "ครึ่งปีแรก" in html and "1 เมษายน 2570 ถึง 30 กันยายน 2570" in html
    assert "รวมทุกกระบวนงาน" in html and "ความพึงพอใจ" in html
    assert "Fiscal year" not in html and "Received" not in html  # no English words on the Thai page
    totals = html[html.index('id="totals"'):]
    assert "2 จาก 3 (66.7%)" in totals and ">3.67<" in totals  # on time of those with a deadline; mean
    assert ">4<" in totals  # closed, whatever the result
    dev = html[html.index('id="sop-up-info-system-dev"'):html.index('id="sop-up-server-admin"')]
    assert "1.1 " in dev and "1 จาก 2 (50.0%)" in dev
    assert 'id="main-nav"' in html  # the site's own page, with its menu
    # the picture beside the table: a received and a completed bar for each of up's SOPs
    chart = html[html.index('<svg id="statistics-chart"'):html.index("</svg>", html.index('id="statistics-chart"'))]
    up_sops = json.loads(client.get("/intake/statistics?org=up&fiscal_year=2570",
                                    headers={"Accept": "application/json"}).get_data(as_text=True))["sops"]
    assert chart.count('class="bar"') == 2 * len(up_sops)
    assert "เรื่องที่รับและดำเนินการแล้วเสร็จ" in chart
    assert "ปีงบประมาณ พ.ศ. 2569" in html and "ปีงบประมาณ พ.ศ. 2571" in html  # the years either side

    english = client.get("/intake/statistics?org=up&fiscal_year=2570&lang=en").get_data(as_text=True)
    assert "Service statistics" in english and "Fiscal year 2027" in english
    assert "1 October 2026 to 30 September 2027" in english and "2 of 3 (66.7%)" in english
    assert "ปีงบประมาณ" not in english


def test_anyone_may_read_it_and_it_may_be_cached(client, clean):
    response = client.get("/intake/statistics?org=up&fiscal_year=2570", headers={**JSON, "Accept-Language": "th"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert {"Accept", "Accept-Language"} <= {v.strip() for v in response.headers["Vary"].split(",")}
    assert "Set-Cookie" not in response.headers


def test_embedded_it_is_the_page_alone_and_only_then_may_be_framed(client, clean, settings):
    settings(allowed_origins=("https://www.up.ac.th",))
    embedded = client.get("/intake/statistics?org=up&fiscal_year=2570&embed=1&lang=th")
    html = embedded.get_data(as_text=True)
    assert embedded.status_code == 200 and "สถิติการให้บริการ" in html
    assert 'id="main-nav"' not in html and "<header>" not in html  # no site chrome
    policy = embedded.headers["Content-Security-Policy"]
    ancestors = policy.split("frame-ancestors ", 1)[1].split(";")[0]
    assert ancestors == "'self' https://www.up.ac.th"
    assert "default-src 'self'" in policy and "object-src 'none'" in policy  # the rest of the policy kept
    # its links stay embedded: the years either side, the language switch
    assert re.search(r'href="/intake/statistics\?[^"]*embed=1[^"]*fiscal_year=2569', html) or \
        re.search(r'href="/intake/statistics\?[^"]*fiscal_year=2569[^"]*embed=1', html)
    assert "embed=1" in html[html.index('hreflang="en"') - 200:html.index('hreflang="en"')]
    # the page with the menu, every other page, may not be framed
    assert "frame-ancestors 'none'" in client.get("/intake/statistics?org=up").headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in client.get("/intake/").headers["Content-Security-Policy"]


@pytest.mark.parametrize("query, field", [
    ("org=nowhere&fiscal_year=2570", "org"),
    ("org=up%2Fmore&fiscal_year=2570", "org"),
])
def test_an_unknown_organisation_is_not_found(client, clean, query, field):
    response = client.get(f"/intake/statistics?{query}", headers={**JSON, "Accept-Language": "en"})
    assert response.status_code == 404 and list(response.get_json()["errors"]) == [field]
    page = client.get(f"/intake/statistics?{query}&lang=th")
    html = page.get_data(as_text=True)
    assert page.status_code == 404 and "ไม่พบหน่วยงานนี้" in html
    assert "/intake/statistics?org=up" in html  # the organisations there are, to choose from
    embedded = client.get(f"/intake/statistics?{query}&lang=en&embed=1")
    assert embedded.status_code == 404 and "No such organisation." in embedded.get_data(as_text=True)


@pytest.mark.parametrize("year", ["2026", "2499", "2701", "abc", "２５７０", "-2570", "2570.0", "99999999999999"])
def test_a_fiscal_year_not_in_the_buddhist_era_range_is_refused_by_field(client, clean, year):
    response = client.get(f"/intake/statistics?org=up&fiscal_year={year}", headers={**JSON, "Accept-Language": "en"})
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["errors"] == {
        "fiscal_year": ["The fiscal year must be a Buddhist-era year from 2500 to 2700, e.g. 2570."]}
    page = client.get(f"/intake/statistics?org=up&fiscal_year={year}&lang=th")
    assert page.status_code == 400
    assert "ปีงบประมาณต้องเป็นปี พ.ศ. ตั้งแต่ 2500 ถึง 2700" in page.get_data(as_text=True)


def test_no_organisation_is_a_bad_request_that_lists_them(client, clean):
    response = client.get("/intake/statistics", headers=JSON)
    assert response.status_code == 400 and list(response.get_json()["errors"]) == ["org"]
    page = client.get("/intake/statistics?lang=th")
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and "โปรดเลือกหน่วยงาน" in html
    assert all(f"/intake/statistics?org={org}" in html for org in ("up", "rmutl", "sesao30", "sesao-sc", "onesqa"))


def test_the_forms_index_links_each_organisation_s_statistics(client, clean):
    html = client.get("/intake/?lang=th").get_data(as_text=True)
    for org in ("up", "rmutl", "sesao30", "sesao-sc", "onesqa"):
        assert f'href="/intake/statistics?org={org}"' in html


def test_the_years_at_the_ends_of_the_range_answer(client, clean):
    for year in (2500, 2700):
        report = client.get(f"/intake/statistics?org=onesqa&fiscal_year={year}", headers=JSON).get_json()
        assert report["fiscal_year"] == year and report["totals"]["year"] == NOTHING


# ---------------------------------------------------------------------------------------------
# the tallies the triggers keep, against the rows


def counted_from_rows() -> tuple[Counter, Counter]:
    """The tallies as the rule makes them from the rows themselves (not the triggers' SQL)."""
    requests, scores = Counter(), Counter()
    with bus.session() as session:
        for r in session.scalars(select(Request)):
            org = r.sop.split("/")[0]
            requests[(org, r.received_at.astimezone(BKK).date(), r.sop, "received")] += 1
            if r.status == "closed" and r.closed_at is not None:
                day = r.closed_at.astimezone(BKK).date()
                if r.result == "completed":
                    requests[(org, day, r.sop, "completed")] += 1
                measure = ("closed_no_deadline" if r.due_at is None
                           else "closed_on_time" if r.closed_at <= r.due_at else "closed_late")
                requests[(org, day, r.sop, measure)] += 1
        for answer_row, sop in session.execute(select(SurveyAnswer, Request.sop)
                                               .join(Request, Request.id == SurveyAnswer.request_id)):
            scores[(sop.split("/")[0], answer_row.answered_at.astimezone(BKK).date(), sop, answer_row.score)] += 1
    return requests, scores


def tallied() -> tuple[Counter, Counter]:
    """The tallies as the database keeps them: a request count is the sum of its slots."""
    with bus.session() as session:
        requests = Counter()
        for t in session.scalars(select(RequestTally)):
            requests[(t.org, t.day, t.sop, t.measure)] += t.n
        requests = Counter({key: n for key, n in requests.items() if n})
        scores = Counter({(t.org, t.day, t.sop, t.score): t.n for t in session.scalars(select(SurveyTally)) if t.n})
    return requests, scores


def test_the_tallies_equal_a_count_from_the_rows_as_requests_change(client, year_2570):
    assert tallied() == counted_from_rows()
    dev = "up/info-system-dev"
    # the late case said open again by a later event (the engine opens no closed case today: this
    # moves the row's status both ways): no longer closed, nor completed
    reopen(year_2570["late"], dev, seq=3, due=bangkok(2027, 2, 20, 16, 30))
    with bus.session() as session:
        assert session.scalar(select(Request.status).where(Request.tracking_code == year_2570["late"])) == "open"
    assert tallied() == counted_from_rows()
    report = service_statistics("up", 2570)
    assert report["totals"]["year"]["completed"] == 2 and report["totals"]["year"]["late"] == 0
    # closed again later, before its new deadline: on time, on its new day (the second half)
    close(year_2570["late"], dev, at=bangkok(2027, 4, 2, 9, 0), due=bangkok(2027, 4, 20, 16, 30), seq=4)
    assert tallied() == counted_from_rows()
    report = service_statistics("up", 2570)
    assert report["totals"]["halves"][1]["completed"] == 2 and report["totals"]["year"]["on_time"] == 3
    # a deadline and a result changed on a closed request, an answer corrected and one removed
    with bus.session() as session:
        session.execute(update(Request).where(Request.tracking_code == year_2570["no_deadline"])
                        .values(due_at=bangkok(2027, 5, 9, 16, 30), result="withdrawn"))
        session.execute(update(SurveyAnswer).values(score=SurveyAnswer.score % 5 + 1))
        old_id = session.scalar(select(Request.id).where(Request.tracking_code == year_2570["old"]))
        session.execute(delete(SurveyAnswer).where(SurveyAnswer.request_id == old_id))
        session.commit()
    assert tallied() == counted_from_rows()
    # the PDPA's erasure keeps the anonymous figures: the rows stay, with their days and results
    before = service_statistics("up", 2570)
    assert erasure.request_erasure(EMAIL, None, "up", by="privacy") is not None
    assert tallied() == counted_from_rows()
    after = service_statistics("up", 2570)
    assert after["totals"] == before["totals"] and after["sops"] == before["sops"]
    # a request removed (sopdesk never does) takes its counts and its answer's with it
    with bus.session() as session:
        session.execute(delete(Request).where(Request.tracking_code == year_2570["rmutl"]))
        session.commit()
    requests, scores = tallied()
    assert (requests, scores) == counted_from_rows()
    assert not [key for key in list(requests) + list(scores) if key[0] == "rmutl"]


def test_requests_filed_at_once_for_one_sop_do_not_wait_on_one_counter(client, year_2570):
    """Two connections file for the same SOP and Bangkok day at the same moment: the second does
    not wait for the first's commit (each counts in its connection's slot; with one row per counter
    it waited on that row's lock until the first committed), and the sums still equal the rows."""
    copy = text("""
        INSERT INTO requests
        SELECT (jsonb_populate_record(NULL::requests, to_jsonb(r) || jsonb_build_object(
                    'id', CAST(:id AS text), 'tracking_code', CAST(:code AS text)))).*
        FROM requests r WHERE r.tracking_code = :of""")
    engine = bus.engine
    first = engine.connect()
    others = []
    try:
        slot = first.execute(text("SELECT mod(pg_backend_pid(), 8)")).scalar_one()
        first.execute(copy, {"id": "at-once-1", "code": "SD-ATONCE0001", "of": year_2570["old"]})
        # the first's transaction holds its counters' rows; the second is a connection of another slot
        second = None
        while second is None:
            connection = engine.connect()
            others.append(connection)
            if connection.execute(text("SELECT mod(pg_backend_pid(), 8)")).scalar_one() != slot:
                second = connection
            else:
                connection.rollback()
        second.execute(text("SET LOCAL lock_timeout = '2s'"))
        second.execute(copy, {"id": "at-once-2", "code": "SD-ATONCE0002", "of": year_2570["old"]})
        second.commit()
        first.commit()
    finally:
        for connection in [first, *others]:
            connection.close()
    requests, _ = tallied()
    with bus.session() as session:
        old = session.scalars(select(Request).where(Request.tracking_code == year_2570["old"])).one()
    received = (old.sop.split("/")[0], old.received_at.astimezone(BKK).date(), old.sop, "received")
    assert requests[received] == counted_from_rows()[0][received] == 3  # the request and its two copies
    assert tallied() == counted_from_rows()


def test_the_migration_fills_the_tallies_from_the_rows_already_there(client, year_2570):
    """The backfill (run by the migration before the triggers exist) counts as the triggers do."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "adapters/migrations/versions/7e2b5d9c1a4f_public_statistics_tallies.py"
    spec = importlib.util.spec_from_file_location("statistics_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    expected = tallied()
    with bus.session() as session:
        session.execute(text("DELETE FROM request_tallies; DELETE FROM survey_tallies"))
        session.execute(text(migration.BACKFILL))
        session.commit()
    assert tallied() == expected == counted_from_rows()
