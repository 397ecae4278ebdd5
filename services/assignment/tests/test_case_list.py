"""The staff list of cases (``GET /assignment/cases`` and the desk's list): a search that finds
Thai words inside Thai text, filters, orders, and pages with their total, on real PostgreSQL.
Each expected answer is worked here from the rule over the cases the test made, not written in."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import Case, CaseStep
from services.assignment.domain import search
from shared.dates import BE_OFFSET
from shared.i18n import BANGKOK
from sopdesk import testing_events as payloads

pytestmark = pytest.mark.org("onesqa")

NOW = datetime.now(timezone.utc)
# (code, SOP, subject, details, requester, received how long ago)
CASES = [
    ("SD-LIST0-00001", "onesqa/web-publish", "ขอเผยแพร่ประกาศรับสมัครงาน", "ประกาศรับสมัครพนักงานเครื่องพิมพ์ดีด",
     "สมชาย ใจดี", timedelta(days=40)),
    ("SD-LIST0-00002", "onesqa/web-publish", "เผยแพร่ข่าวประชาสัมพันธ์", "ข่าวการประชุมคณะกรรมการ", "มานี มีนา",
     timedelta(days=20)),
    ("SD-LIST0-00003", "onesqa/web-publish", "แก้ไขหน้าเว็บไซต์ เมนูติดต่อเรา", "เปลี่ยนเบอร์โทรศัพท์", "ปิติ รักเรียน",
     timedelta(hours=1)),
    ("SD-LIST0-00004", "onesqa/web-publish", "Printer notice for staff", "เครื่องพิมพ์ชั้น 3 เสีย แจ้งบนเว็บไซต์",
     "Somsri Dee", timedelta(hours=2)),
    ("SD-LIST0-00005", "onesqa/web-publish", "ประกาศผลการประเมินคุณภาพ", "ผลการประเมินรอบสี่", "สมชาย ใจดี",
     timedelta(days=3)),
]


def _open_all(extra_fields=None):
    for i, (code, sop, subject, details, requester, ago) in enumerate(CASES):
        fields = {"memo_ref": f"ภทส. {i + 1}/2570", **(extra_fields or {}).get(code, {})}
        bus.consume(payloads.envelope("request.submitted", payloads.request_submitted(
            code, sop=sop, subject=subject, details=details, requester_name=requester, fields=fields,
            received_at=NOW - ago)))


def _codes(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return [c["tracking_code"] for c in response.get_json()]


def _cases() -> list[Case]:
    with bus.session() as session:
        return list(session.scalars(select(Case).order_by(Case.received_at.desc(), Case.id.desc())))  # the default order


def test_a_thai_word_finds_every_case_that_has_it_anywhere_in_its_text(client, people):
    """Thai is written without spaces: "เครื่องพิมพ์" must be found inside "พนักงานเครื่องพิมพ์ดีด"
    and "เครื่องพิมพ์ชั้น 3"; each word of a search must appear, in any order, in the code, subject,
    details, requester or a form's value."""
    _open_all()
    headers = people.headers("u-director")
    cases = _cases()
    for query in ("เครื่องพิมพ์", "สมชาย", "ประกาศ สมชาย", "สมชาย ประกาศ", "printer", "PRINTER ชั้น",
                  "sd-list0-00003", "ภทส. 2/2570", "ไม่มีคำนี้"):
        found = _codes(client.get("/assignment/cases", query_string={"q": query}, headers=headers))
        expected = [c.tracking_code for c in cases if search.matches(search.document(
            c.tracking_code, c.subject, c.details, c.requester_name, c.requester_unit, c.fields), query)]
        assert found == expected, query
    # and the rule itself is what a person means: the first case's details hold the word
    assert "SD-LIST0-00001" in _codes(client.get("/assignment/cases", query_string={"q": "เครื่องพิมพ์"},
                                                 headers=headers))


def test_a_search_takes_its_special_characters_literally(client, people):
    _open_all({"SD-LIST0-00002": {"memo_ref": "100%_done"}})
    headers = people.headers("u-director")
    assert _codes(client.get("/assignment/cases", query_string={"q": "100%_"}, headers=headers)) == ["SD-LIST0-00002"]
    assert _codes(client.get("/assignment/cases", query_string={"q": "%"}, headers=headers)) == ["SD-LIST0-00002"]
    assert _codes(client.get("/assignment/cases", query_string={"q": "_"}, headers=headers)) == ["SD-LIST0-00002"]


def test_the_list_comes_a_page_at_a_time_with_its_total_and_links(client, people):
    _open_all()
    headers = people.headers("u-director")
    everything = [c.tracking_code for c in _cases()]
    per_page = 2
    pages = -(-len(everything) // per_page)
    seen = []
    for number in range(1, pages + 1):
        response = client.get("/assignment/cases", query_string={"per_page": per_page, "page": number, "q": ""},
                              headers=headers)
        seen += _codes(response)
        assert response.headers["X-Total-Count"] == str(len(everything))
        links = dict((rel, url) for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers["Link"]))
        assert f"page={pages}" in links["last"] and "page=1" in links["first"]
        assert ("next" in links) == (number < pages) and ("prev" in links) == (number > 1)
        if number < pages:
            assert f"page={number + 1}" in links["next"] and f"per_page={per_page}" in links["next"]
    assert seen == everything  # every case once, newest first
    beyond = client.get("/assignment/cases", query_string={"per_page": per_page, "page": pages + 1}, headers=headers)
    assert _codes(beyond) == [] and beyond.headers["X-Total-Count"] == str(len(everything))
    oldest = _codes(client.get("/assignment/cases", query_string={"sort": "received_at"}, headers=headers))
    by_received = sorted(CASES, key=lambda c: -c[5].total_seconds())
    assert oldest == [c[0] for c in by_received]


def test_filters_narrow_the_list_as_their_rules_say(client, people):
    _open_all()
    headers = people.headers("u-director")
    cases = _cases()
    now = datetime.now(timezone.utc)
    with bus.session() as session:
        active = {row.case_id: row for row in session.scalars(select(CaseStep).where(CaseStep.status == "active"))}

    def late(case):  # past the case's deadline with its clock running, or an open step past due
        row = active.get(case.id)
        return case.status == "open" and (bool(case.due_at and case.due_at < now and case.paused_since is None)
                                          or bool(row and row.due_at and row.due_at < now))

    def listed(**query):
        return _codes(client.get("/assignment/cases", query_string=query, headers=headers))

    overdue = [c.tracking_code for c in cases if late(c)]
    assert overdue and len(overdue) < len(cases), "the world has cases on both sides of the deadline"
    assert listed(overdue="true") == overdue
    for query in ({"overdue": "true", "per_page": 1}, {"overdue": "true", "page": 99}):  # counted with the page, or past it
        response = client.get("/assignment/cases", query_string=query, headers=headers)
        assert response.headers["X-Total-Count"] == str(len(overdue))
        assert _codes(response) == overdue[:1 if "per_page" in query else 0]
    assert listed(overdue="false") == [c.tracking_code for c in cases if not late(c)]
    step = cases[0].current_step
    assert listed(step=step) == [c.tracking_code for c in cases if c.current_step == step]
    assert listed(status="open") == [c.tracking_code for c in cases]
    assert listed(status="closed") == []
    waiting = [c.tracking_code for c in cases if active.get(c.id) is not None and active[c.id].waiting_on]
    assert listed(status="waiting") == waiting
    # received between two days, inclusive, as Bangkok days; typed in the Buddhist era or ISO
    first = (NOW - timedelta(days=21)).astimezone(BANGKOK).date()
    last = (NOW - timedelta(days=2)).astimezone(BANGKOK).date()
    between = [c.tracking_code for c in cases if first <= c.received_at.astimezone(BANGKOK).date() <= last]
    assert between, "the days hold some cases"
    thai = lambda d: f"{d.day:02d}/{d.month:02d}/{d.year + BE_OFFSET}"  # noqa: E731
    assert listed(received_from=thai(first), received_to=thai(last)) == between
    assert listed(received_from=first.isoformat(), received_to=last.isoformat()) == between


@pytest.mark.parametrize("query,field", [
    ({"received_from": "32/13/2569"}, "received_from"),
    ({"received_from": "20/11/2569", "received_to": "19/11/2569"}, "received_to"),
    ({"status": "lost"}, "status"),
    ({"sort": "subject"}, "sort"),
    ({"page": "0"}, "page"),
    ({"per_page": "201"}, "per_page"),
    ({"q": "ก" * 201}, "q"),
])
def test_a_filter_that_makes_no_sense_is_refused_on_its_field(client, people, query, field):
    response = client.get("/assignment/cases", query_string=query, headers=people.headers("u-director"))
    assert response.status_code == 422 and field in response.get_json()["errors"]


def test_an_erased_requester_is_no_longer_found_by_name(client, people):
    """The PDPA's erasure changes what a case is found by: the name searched for finds nothing."""
    from services.assignment.handlers import privacy

    _open_all()
    headers = people.headers("u-director")
    assert _codes(client.get("/assignment/cases", query_string={"q": "ปิติ"}, headers=headers)) == ["SD-LIST0-00003"]
    with bus.unit_of_work() as uow:
        privacy.erase(uow, ["SD-LIST0-00003"])
        uow.commit()
    assert _codes(client.get("/assignment/cases", query_string={"q": "ปิติ"}, headers=headers)) == []
    assert _codes(client.get("/assignment/cases", query_string={"q": "SD-LIST0-00003"}, headers=headers)) == [
        "SD-LIST0-00003"]


def test_an_officer_lists_only_the_cases_they_hold_or_held(client, people):
    """The wall inside an organisation: an officer's list (and its total) holds the cases whose
    steps they hold, not the organisation's other cases."""
    _open_all()
    code = CASES[2][0]
    with bus.unit_of_work() as uow:
        case = uow.session.scalar(select(Case).where(Case.tracking_code == code))
        row = uow.session.scalar(select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.status == "active"))
        row.assignee = "u-officer"
        uow.commit()
    response = client.get("/assignment/cases", headers=people.headers("u-officer"))
    assert _codes(response) == [code] and response.headers["X-Total-Count"] == "1"
    assert _codes(client.get("/assignment/cases", query_string={"assignee": "u-officer"},
                             headers=people.headers("u-director"))) == [code]


def test_the_desk_list_shows_thai_dates_and_words_and_keeps_the_filters(client, people):
    """The desk's list in Thai: the dates typed in the Buddhist era come back as typed, the
    statuses in Thai words, and a bad date is refused beside its field, in Thai."""
    from shared.i18n import translate

    _open_all()
    token = people.tokens["u-director"]
    first = (NOW - timedelta(days=21)).astimezone(BANGKOK).date()
    typed = f"{first.day:02d}/{first.month:02d}/{first.year + BE_OFFSET}"
    page = client.get("/assignment/desk/cases", query_string={"received_from": typed, "lang": "th"},
                      headers={"Authorization": f"Bearer {token}"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f'value="{typed}"' in html
    assert translate("list.status.open", "th") in html and ">open<" not in html
    shown = [c.tracking_code for c in _cases() if c.received_at.astimezone(BANGKOK).date() >= first]
    assert re.findall(r'<tr data-code="([^"]+)"', html) == shown
    bad = client.get("/assignment/desk/cases", query_string={"received_from": "31/02/2569", "lang": "th"},
                     headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 422 and translate("list.invalid.received_from", "th") in bad.get_data(as_text=True)


def test_a_search_that_finds_more_than_it_counts_says_at_least_and_pages_on(client, people, monkeypatch):
    """A search counts its cases up to search.COUNT_CAP and up to the page asked for: past that,
    the answer says how many at least (X-Total-Count-At-Least), with a next page and no last one;
    a page that reaches the end counts exactly again."""
    _open_all()
    headers = people.headers("u-director")
    monkeypatch.setattr(search, "COUNT_CAP", 2)
    per_page = 2
    matching = [c.tracking_code for c in _cases() if search.matches(c.search_text, "sd-list0")]
    assert len(matching) == len(CASES) > search.COUNT_CAP + 1
    first = client.get("/assignment/cases", query_string={"q": "sd-list0", "per_page": per_page}, headers=headers)
    assert _codes(first) == matching[:per_page]
    counted_to = max(search.COUNT_CAP, per_page)  # count_limit(1, 2) - 1
    assert "X-Total-Count" not in first.headers
    assert first.headers["X-Total-Count-At-Least"] == str(counted_to + 1)
    rels = dict((rel, url) for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', first.headers["Link"]))
    assert "page=2" in rels["next"] and "last" not in rels
    last_page = -(-len(matching) // per_page)
    final = client.get("/assignment/cases", query_string={"q": "sd-list0", "per_page": per_page, "page": last_page},
                       headers=headers)
    assert _codes(final) == matching[(last_page - 1) * per_page:]
    assert final.headers["X-Total-Count"] == str(len(matching))
    assert "next" not in final.headers["Link"]


def _total(client, people, who: str, **query) -> tuple[int, list[str]]:
    response = client.get("/assignment/cases", query_string={**query, "per_page": 200}, headers=people.headers(who))
    return int(response.headers["X-Total-Count"]), _codes(response)


def test_every_total_read_from_the_tallies_is_what_its_list_holds_as_cases_move(client, people):
    """The totals kept as tallies by the database (an organisation's cases in all, by status,
    result, SOP and unit; an officer's and a head's whole lists) are what the lists hold, counted
    here by the rule from the cases themselves: as cases open, as they close (each result), and
    before and after the tallies' changes are folded (twice: a second fold changes nothing)."""
    from services.assignment.adapters.models import CaseTallyChange
    from services.assignment.handlers import cases as handlers

    _open_all()
    first, second, third = CASES[0][0], CASES[1][0], CASES[2][0]
    with bus.unit_of_work() as uow:  # the officer holds one case's step (steps held make the unit's too)
        case = uow.session.scalar(select(Case).where(Case.tracking_code == third))
        row = uow.session.scalar(select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.status == "active"))
        row.assignee = "u-officer"
        uow.commit()

    def check():
        cases = _cases()
        expected = {
            (): len(cases),
            (("status", "open"),): sum(c.status == "open" for c in cases),
            (("status", "closed"),): sum(c.status == "closed" for c in cases),
            (("status", "completed"),): sum(c.result == "completed" for c in cases),
            (("status", "rejected"),): sum(c.result == "rejected" for c in cases),
            (("status", "withdrawn"),): sum(c.result == "withdrawn" for c in cases),
            (("sop", "onesqa/web-publish"),): sum(c.sop == "onesqa/web-publish" for c in cases),
        }
        for query, count in expected.items():
            total, codes = _total(client, people, "u-director", **dict(query))
            assert total == count == len(codes), query
        with bus.session() as session:
            held = {c.tracking_code for c in cases for s in session.scalars(
                select(CaseStep).where(CaseStep.case_id == c.id)) if s.assignee in ("u-officer", "u-head")}
        total, codes = _total(client, people, "u-director", unit=people.unit)
        assert total == len(codes) and set(codes) == held
        for who in ("u-officer", "u-head"):
            total, codes = _total(client, people, who)
            assert total == len(codes) and third in codes, who

    check()
    with bus.unit_of_work() as uow:  # two cases close, each with its own result
        for code, result in ((first, "completed"), (second, "withdrawn")):
            case = uow.session.scalar(select(Case).where(Case.tracking_code == code))
            case.status, case.result, case.closed_at = "closed", result, datetime.now(timezone.utc)
        uow.commit()
    check()
    with bus.session() as session:
        assert session.scalar(select(func.count()).select_from(CaseTallyChange)) > 0
        assert handlers.fold_tallies(session) > 0
        session.commit()
        assert session.scalar(select(func.count()).select_from(CaseTallyChange)) == 0
    check()
    with bus.session() as session:
        assert handlers.fold_tallies(session) == 0
        session.commit()
    check()


def test_a_head_sees_the_cases_their_units_people_took_part_in_while_in_it(client, people):
    """Who took part in a case is kept with it (``CasePerson``, ``CaseUnit``): a head sees the cases
    whose steps their unit's people held while in the unit; someone who moves to another unit
    leaves those cases with the unit they did them in and brings the next ones to the new one.
    Anyone named on the trail or on the team sees the case too."""
    from services.assignment.adapters.models import TrailEntry
    from services.assignment.handlers import directory

    _open_all()  # (the organisation's heads decide on each case's first step, so u-head took part in all)
    directory.add_unit("web-onesqa", "onesqa", "งานเว็บไซต์", "Web team")
    directory.add_unit("net-onesqa", "onesqa", "งานเครือข่าย", "Network team")
    people.add("web-head", ["head"], unit="web-onesqa")
    people.add("net-head", ["head"], unit="net-onesqa")
    people.add("web-officer", ["officer"], unit="web-onesqa")
    people.add("u-helper", ["officer"])
    first, second, third = CASES[0][0], CASES[1][0], CASES[3][0]

    def give(code: str, to: str):
        with bus.unit_of_work() as uow:
            case = uow.session.scalar(select(Case).where(Case.tracking_code == code))
            row = uow.session.scalar(select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.status == "active"))
            row.assignee = to
            uow.commit()

    def sees(who: str) -> set[str]:
        total, codes = _total(client, people, who)
        assert total == len(codes)
        return set(codes)

    give(first, "web-officer")
    assert first in sees("web-head") and first not in sees("net-head")
    directory.move_user("web-officer", "net-onesqa")
    give(second, "web-officer")  # now in the network team
    assert first in sees("web-head") and first not in sees("net-head")
    assert second in sees("net-head") and second not in sees("web-head")
    assert {first, second} <= sees("web-officer")
    # on the trail (a note), on the team: they see it
    assert third not in sees("u-helper") and third not in sees("u-officer")
    with bus.unit_of_work() as uow:
        case = uow.session.scalar(select(Case).where(Case.tracking_code == third))
        uow.session.add(TrailEntry(case_id=case.id, kind="note", actor="u-helper", note="ดูให้แล้ว"))
        case.team = ["u-officer"]
        uow.commit()
    assert third in sees("u-helper") and third in sees("u-officer")
