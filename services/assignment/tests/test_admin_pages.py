"""The administration pages over HTTP (real PostgreSQL and Redis): each form refuses bad input with
a message beside its field, in the page's language, and stores nothing; another organisation's
administrator finds nothing of this one (404, an empty trail); each change is in the trail with
its values before and after; the use cases keep the rules the command line keeps."""
from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import AdminChange, CalendarDay, Delegation, Unit, User
from services.assignment.handlers import directory
from services.assignment.handlers.directory import add_unit, add_user
from shared import i18n
from sopdesk.testing import make_staff

ADMIN = "/assignment/desk/admin"
PASSWORD = "correct horse battery"
ERROR = re.compile(r'<p class="error" id="error-([a-z_]+)">([^<]*)</p>')


def errors_of(response) -> dict[str, str]:
    return {field: html.unescape(text) for field, text in ERROR.findall(response.get_data(as_text=True))}


def said(message: str, lang: str = "th", **values) -> str:
    text = i18n.translate(message, lang)
    return text.format(**values) if values else text


@pytest.fixture
def home(client):
    """sesao-sc's administrator (in its unit ict-sesao-sc), a second unit, an officer; up's
    administrator and a unit of up. Returns a caller: ``call(method, path, who, data, lang)``."""
    tokens = {"admin-sc": make_staff("admin-sc", ["admin"], "sesao-sc")[1],
              "admin-up": make_staff("admin-up", ["admin"], "up")[1],
              "root": make_staff("root", ["sysadmin"], None)[1]}
    add_unit("web-sc", "sesao-sc", "งานเว็บไซต์", "Web unit")
    add_user("somsak", PASSWORD, ["officer"], display_name="สมศักดิ์", unit="ict-sesao-sc",
             email="somsak@office.example")

    global _SINCE
    with bus.session() as session:  # the trail of what the test itself does starts after this
        _SINCE = session.scalar(select(func.max(AdminChange.id))) or 0

    def call(method: str, path: str, who: str = "admin-sc", data: dict | None = None, lang: str = "th"):
        headers = {"Authorization": f"Bearer {tokens[who]}", "Accept-Language": lang}
        return client.open(ADMIN + path, method=method, headers=headers, data=data or {})

    return call


def counts() -> dict[str, int]:
    with bus.session() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (User, Unit, Delegation, CalendarDay, AdminChange)}


_SINCE = 0


def trail(key: str | None = None) -> list[AdminChange]:
    """The trail's entries written since the fixture's people and units were made, oldest first."""
    with bus.session() as session:
        query = select(AdminChange).where(AdminChange.id > _SINCE).order_by(AdminChange.id)
        if key is not None:
            query = query.where(AdminChange.key == key)
        rows = list(session.scalars(query))
        session.expunge_all()
    return rows


# ---------------------------------------------------------------------------------------------
# people

GOOD = {"username": "wipa", "display_name": "วิภา ศรีสุข", "email": "wipa@office.example", "language": "th",
        "unit": "web-sc", "roles": ["officer", "head"], "password": "a long password"}


def test_an_administrator_adds_a_person_and_the_trail_keeps_who_when_and_what(home):
    before = counts()
    response = home("POST", "/people/new?org=sesao-sc", data=GOOD)
    assert response.status_code == 302, errors_of(response)
    with bus.session() as session:
        user = directory.user_by_name(session, "wipa")
        assert (user.unit, user.role_names, user.email) == ("web-sc", ("head", "officer"), "wipa@office.example")
    assert counts()["users"] == before["users"] + 1
    [entry] = trail("wipa")
    assert (entry.actor, entry.org, entry.kind, entry.before) == ("admin-sc", "sesao-sc", "person", None)
    assert entry.after == {"display_name": "วิภา ศรีสุข", "email": "wipa@office.example", "language": "th",
                           "unit": "web-sc", "org": "sesao-sc", "roles": ["head", "officer"], "active": True,
                           "source": "local"}
    assert "password" not in entry.after
    page = home("GET", "/trail?org=sesao-sc").get_data(as_text=True)
    assert "wipa" in page and "วิภา ศรีสุข" in page  # Thai as Thai, not escaped


REFUSALS = [
    ({"username": "ว"}, "username", "admin.err.username", {}),
    ({"username": "somsak"}, "username", "admin.err.username_taken", {"username": "somsak"}),
    ({"password": "short"}, "password", "admin.err.password", {}),
    ({"email": "not an address"}, "email", "admin.err.email", {}),
    ({"language": "fr"}, "language", "admin.err.language", {}),
    ({"roles": []}, "roles", "admin.err.role_none", {}),
    ({"roles": ["sysadmin"]}, "roles", "admin.err.role_unknown", {"roles": "sysadmin"}),
    ({"unit": ""}, "unit", "admin.err.unit_required", {}),
    # another organisation's unit is, to this administrator, no unit at all
    ({"unit": "ict-up"}, "unit", "admin.err.unit_unknown", {"unit": "ict-up"}),
]


@pytest.mark.parametrize("change, field, key, values", REFUSALS, ids=[r[2] for r in REFUSALS])
@pytest.mark.parametrize("lang", ["th", "en"])
def test_the_new_person_form_refuses_bad_input_beside_its_field_and_stores_nothing(home, change, field, key,
                                                                                   values, lang):
    before = counts()
    response = home("POST", "/people/new?org=sesao-sc", data={**GOOD, **change}, lang=lang)
    assert response.status_code == 422
    assert errors_of(response) == {field: said(key, lang, **values)}
    assert counts() == before


def test_an_empty_new_person_form_says_every_field_that_is_wanted_at_once(home):
    before = counts()
    response = home("POST", "/people/new?org=sesao-sc", data={"language": "th"})
    assert response.status_code == 422
    assert errors_of(response) == {"username": said("admin.err.username"), "password": said("admin.err.password"),
                                   "roles": said("admin.err.role_none")}
    response = home("POST", "/people/new?org=sesao-sc", data={"username": "x y", "roles": ["officer"], "language": "de",
                                                              "password": "a long password", "email": "x"})
    assert errors_of(response) == {"username": said("admin.err.username"), "language": said("admin.err.language"),
                                   "email": said("admin.err.email"), "unit": said("admin.err.unit_required")}
    assert counts() == before


def test_an_administrator_changes_a_person_and_the_trail_has_before_and_after(home):
    response = home("POST", "/person?username=somsak", data={
        "display_name": "สมศักดิ์ ใจดี", "email": "", "language": "en", "unit": "web-sc", "roles": ["officer", "head"]})
    assert response.status_code == 302, errors_of(response)
    [entry] = trail("somsak")
    assert entry.actor == "admin-sc" and entry.org == "sesao-sc"
    assert {k: entry.before[k] for k in ("display_name", "email", "language", "unit", "roles")} == \
        {"display_name": "สมศักดิ์", "email": "somsak@office.example", "language": "th", "unit": "ict-sesao-sc",
         "roles": ["officer"]}
    assert {k: entry.after[k] for k in ("display_name", "email", "language", "unit", "roles")} == \
        {"display_name": "สมศักดิ์ ใจดี", "email": None, "language": "en", "unit": "web-sc",
         "roles": ["head", "officer"]}


@pytest.mark.parametrize("change, field, key", [
    ({"email": "a@b"}, "email", "admin.err.email"),
    ({"roles": []}, "roles", "admin.err.role_none"),
    ({"unit": "ict-up"}, "unit", "admin.err.unit_unknown"),
    ({"language": ""}, "language", "admin.err.language"),
    ({"display_name": "ก" * 201}, "display_name", "admin.err.display_name"),
])
def test_a_person_s_page_refuses_bad_input_beside_its_field_and_changes_nothing(home, change, field, key):
    before = counts()
    data = {"display_name": "สมศักดิ์", "email": "somsak@office.example", "language": "th", "unit": "ict-sesao-sc",
            "roles": ["officer"], **change}
    response = home("POST", "/person?username=somsak", data=data)
    assert response.status_code == 422
    assert list(errors_of(response)) == [field]
    assert errors_of(response)[field] == said(key, unit="ict-up")
    assert counts() == before
    assert directory.read_person("somsak")["unit"] == "ict-sesao-sc"


def test_a_switched_off_account_cannot_sign_in_and_is_switched_on_again(home, client):
    from services.assignment.handlers import signin

    assert home("POST", "/person/active?username=somsak", data={"active": "0"}).status_code == 302
    with pytest.raises(signin.SignInRefused):
        signin.with_password("somsak", PASSWORD, "127.0.0.1")
    assert home("POST", "/person/active?username=somsak", data={"active": "1"}).status_code == 302
    assert signin.with_password("somsak", PASSWORD, "127.0.0.1").username == "somsak"
    assert [(e.before["active"], e.after["active"]) for e in trail("somsak")] == [(True, False), (False, True)]
    # nobody switches their own account off
    response = home("POST", "/person/active?username=admin-sc", data={"active": "0"})
    assert response.status_code == 422 and errors_of(response) == {"active": said("admin.err.self_disable")}


def test_a_new_password_is_set_for_a_local_account_and_the_trail_does_not_keep_it(home):
    from services.assignment.handlers import signin

    response = home("POST", "/person/password?username=somsak", data={"password": "short", "password_again": "short"})
    assert response.status_code == 422 and errors_of(response) == {"password": said("admin.err.password")}
    response = home("POST", "/person/password?username=somsak",
                    data={"password": "another password", "password_again": "another passw0rd"})
    assert response.status_code == 422 and errors_of(response) == {"password_again": said("admin.err.password_again")}
    assert trail("somsak") == []
    response = home("POST", "/person/password?username=somsak",
                    data={"password": "another password", "password_again": "another password"})
    assert response.status_code == 302
    assert signin.with_password("somsak", "another password", "127.0.0.1").username == "somsak"
    [entry] = trail("somsak")
    assert "another password" not in str(entry.before) + str(entry.after)


def test_a_directory_account_is_said_to_sign_in_through_the_directory_and_has_no_password_here(home):
    with bus.unit_of_work() as uow:
        user = uow.session.scalar(select(User).where(User.username == "somsak"))
        user.source, user.external_id = "ldap", "uid=somsak"
        uow.commit()
    page = home("GET", "/person?username=somsak").get_data(as_text=True)
    assert html.escape(said("admin.person.password_directory"), quote=False) in page
    assert 'id="password-form"' not in page
    response = home("POST", "/person/password?username=somsak",
                    data={"password": "another password", "password_again": "another password"})
    assert response.status_code == 422
    assert errors_of(response) == {"password": said("admin.err.password_directory")}
    # its roles and unit come from the directory; its language is sopdesk's
    response = home("POST", "/person?username=somsak", data={"language": "en", "roles": ["officer"]})
    assert response.status_code == 302
    assert directory.read_person("somsak")["language"] == "en"


# ---------------------------------------------------------------------------------------------
# units


def test_units_are_added_and_renamed_with_the_trail(home):
    response = home("POST", "/units?org=sesao-sc", data={"key": "net-sc", "name_th": "งานเครือข่าย", "name_en": ""})
    assert response.status_code == 302, errors_of(response)
    response = home("POST", "/unit?key=net-sc", data={"name_th": "งานเครือข่ายและความปลอดภัย", "name_en": "Network"})
    assert response.status_code == 302
    with bus.session() as session:
        unit = session.get(Unit, "net-sc")
        assert (unit.pack, unit.name) == ("sesao-sc", {"th": "งานเครือข่ายและความปลอดภัย", "en": "Network"})
    added, renamed = trail("net-sc")
    assert added.before is None and added.after == {"pack": "sesao-sc", "name": {"th": "งานเครือข่าย",
                                                                                  "en": "งานเครือข่าย"}}
    assert renamed.before == added.after and renamed.after["name"]["en"] == "Network"


@pytest.mark.parametrize("data, field, key, values", [
    ({"key": "Net SC", "name_th": "งาน"}, "key", "admin.err.unit_key", {}),
    ({"key": "web-sc", "name_th": "งาน"}, "key", "admin.err.unit_taken", {"key": "web-sc"}),
    ({"key": "ict-up", "name_th": "งาน"}, "key", "admin.err.unit_taken", {"key": "ict-up"}),  # up's unit
    ({"key": "net-sc", "name_th": ""}, "name_th", "admin.err.unit_name", {}),
])
def test_the_unit_form_refuses_bad_input_beside_its_field_and_stores_nothing(home, data, field, key, values):
    before = counts()
    response = home("POST", "/units?org=sesao-sc", data=data, lang="en")
    assert response.status_code == 422
    assert errors_of(response) == {field: said(key, "en", **values)}
    assert counts() == before
    response = home("POST", "/unit?key=web-sc", data={"name_th": " "})
    assert response.status_code == 422 and errors_of(response) == {"name_th": said("admin.err.unit_name")}
    with bus.session() as session:
        assert session.get(Unit, "web-sc").name["th"] == "งานเว็บไซต์"


# ---------------------------------------------------------------------------------------------
# delegations


def be(day: date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year + 543}"


def test_a_delegation_is_added_with_buddhist_era_dates_and_ended(home):
    today = directory.today()
    add_user("director-sc", PASSWORD, ["director"], unit="ict-sesao-sc")
    response = home("POST", "/delegations?org=sesao-sc", data={
        "delegator": "director-sc", "delegate": "somsak", "starts_on": be(today - timedelta(days=2)),
        "ends_on": be(today + timedelta(days=5)), "note": "ไปราชการต่างจังหวัด"})
    assert response.status_code == 302, errors_of(response)
    with bus.session() as session:
        row = session.scalar(select(Delegation))
        assert (row.starts_on, row.ends_on, row.note) == (today - timedelta(days=2), today + timedelta(days=5),
                                                          "ไปราชการต่างจังหวัด")
        assert directory.actor(session, directory.user_by_name(session, "somsak").id).acting_for == \
            {"director": "director-sc"}
    # the page shows the days in the Buddhist era
    page = home("GET", "/delegations?org=sesao-sc").get_data(as_text=True)
    assert i18n.format_day(today + timedelta(days=5), "th") in page
    # ended today: it stays on record up to yesterday, and somsak no longer acts
    response = home("POST", "/delegations/end?org=sesao-sc", data={"id": str(row.id)})
    assert response.status_code == 302
    with bus.session() as session:
        assert session.get(Delegation, row.id).ends_on == today - timedelta(days=1)
        assert directory.actor(session, directory.user_by_name(session, "somsak").id).acting_for == {}
    added, ended = trail(str(row.id))
    assert added.before is None and added.after["away"] == "director-sc" and added.after["acting"] == "somsak"
    assert ended.before["ends_on"] == (today + timedelta(days=5)).isoformat()
    assert ended.after["ends_on"] == (today - timedelta(days=1)).isoformat()
    # one not yet started is removed
    response = home("POST", "/delegations?org=sesao-sc", data={
        "delegator": "director-sc", "delegate": "somsak", "starts_on": be(today + timedelta(days=10)),
        "ends_on": be(today + timedelta(days=12))})
    assert response.status_code == 302
    with bus.session() as session:
        later = session.scalar(select(Delegation).where(Delegation.id != row.id))
    assert home("POST", "/delegations/end?org=sesao-sc", data={"id": str(later.id)}).status_code == 302
    assert trail(str(later.id))[-1].after is None
    with bus.session() as session:
        assert session.get(Delegation, later.id) is None


@pytest.mark.parametrize("change, expected", [
    ({"ends_on": "01/01/2569", "starts_on": "05/01/2569"}, {"ends_on": ("admin.err.dates_order", {})}),
    ({"starts_on": "32/01/2569"}, {"starts_on": ("admin.err.day", {"example": "19/11/2569"})}),
    ({"starts_on": ""}, {"starts_on": ("admin.err.day_required", {})}),
    ({"delegate": "admin-sc", "delegator": "admin-sc"}, {"delegate": ("admin.err.delegate_self", {})}),
    ({"delegate": "admin-up"}, {"delegate": ("admin.err.person_unknown", {"username": "admin-up"})}),
    ({"delegator": ""}, {"delegator": ("admin.err.person_required", {})}),
])
def test_the_delegation_form_refuses_bad_input_beside_its_field_and_stores_nothing(home, change, expected):
    before = counts()
    data = {"delegator": "admin-sc", "delegate": "somsak", "starts_on": "01/01/2569", "ends_on": "05/01/2569",
            **change}
    response = home("POST", "/delegations?org=sesao-sc", data=data)
    assert response.status_code == 422
    assert errors_of(response) == {field: said(key, **values) for field, (key, values) in expected.items()}
    assert counts() == before


def test_ending_a_delegation_refuses_what_names_none_and_one_already_over(home):
    add_user("director-sc", PASSWORD, ["director"], unit="ict-sesao-sc")
    today = directory.today()
    over = directory.delegate("director-sc", "somsak", today - timedelta(days=10), today - timedelta(days=5),
                              created_by="admin-sc")
    before = counts()
    response = home("POST", "/delegations/end?org=sesao-sc", data={"id": "x"})
    assert response.status_code == 422 and errors_of(response) == {"id": said("admin.err.delegation_id")}
    assert home("POST", "/delegations/end?org=sesao-sc", data={"id": "999999"}).status_code == 404
    response = home("POST", "/delegations/end?org=sesao-sc", data={"id": str(over.id)})
    assert response.status_code == 422 and errors_of(response) == {"id": said("admin.err.delegation_over")}
    assert counts() == before


# ---------------------------------------------------------------------------------------------
# holidays


def test_a_cabinet_day_off_is_added_with_a_buddhist_era_date_and_undone(home):
    response = home("POST", "/holidays?year=2569", data={"verb": "add", "day": "29/12/2569",
                                                         "name": "วันหยุดพิเศษตามมติ ครม."})
    assert response.status_code == 302, errors_of(response)
    with bus.session() as session:
        assert session.get(CalendarDay, date(2026, 12, 29)).name == "วันหยุดพิเศษตามมติ ครม."
    page = home("GET", "/holidays?year=2569").get_data(as_text=True)
    assert "วันหยุดพิเศษตามมติ ครม." in page and "29 ธันวาคม 2569" in page
    assert home("POST", "/holidays?year=2026", data={"verb": "reset", "day": "2026-12-29"}).status_code == 302
    added, undone = trail("2026-12-29")
    assert (added.org, added.before, added.after) == ("sesao-sc", None, {"kind": "holiday",
                                                                         "name": "วันหยุดพิเศษตามมติ ครม."})
    assert (undone.before, undone.after) == (added.after, None)


@pytest.mark.parametrize("data, field, key", [
    ({"verb": "add", "day": "29/12/2569", "name": ""}, "name", "admin.err.holiday_name"),
    ({"verb": "add", "day": "29/13/2569", "name": "วันหยุด"}, "day", "admin.err.day"),
    ({"verb": "reset", "day": "30/12/2569"}, "day", "admin.err.day_unchanged"),
    ({"verb": "drop", "day": "30/12/2569"}, "verb", "admin.err.verb"),
])
def test_the_holiday_form_refuses_bad_input_beside_its_field_and_stores_nothing(home, data, field, key):
    before = counts()
    response = home("POST", "/holidays?year=2569", data=data)
    assert response.status_code == 422
    assert errors_of(response) == {field: said(key, example="19/11/2569")}
    assert counts() == before


# ---------------------------------------------------------------------------------------------
# the walls, the trail's pages


def test_another_organisation_s_administrator_finds_nothing_of_this_one(home):
    home("POST", "/person?username=somsak", data={"display_name": "สมศักดิ์", "email": "", "language": "th",
                                                  "unit": "web-sc", "roles": ["officer"]})
    add_user("director-sc", PASSWORD, ["director"], unit="ict-sesao-sc")
    directory.delegate("director-sc", "somsak", date(2026, 1, 1), date(2026, 1, 5), created_by="admin-sc")
    with bus.session() as session:
        delegation = session.scalar(select(Delegation.id))
    before = counts()
    for method, path, data in [
        ("GET", "/people?org=sesao-sc", None), ("GET", "/person?username=somsak", None),
        ("POST", "/person?username=somsak", {"language": "en", "roles": ["officer"], "unit": "ict-up"}),
        ("POST", "/person/active?username=somsak", {"active": "0"}),
        ("POST", "/person/password?username=somsak", {"password": "x" * 10, "password_again": "x" * 10}),
        ("GET", "/units?org=sesao-sc", None), ("GET", "/unit?key=web-sc", None),
        ("POST", "/unit?key=web-sc", {"name_th": "ถูกเปลี่ยน"}),
        ("POST", "/units?org=sesao-sc", {"key": "x-sc", "name_th": "x"}),
        ("GET", "/delegations?org=sesao-sc", None),
        ("POST", "/delegations/end?org=sesao-sc", {"id": str(delegation)}),
        ("GET", "/trail?org=sesao-sc", None),
    ]:
        assert home(method, path, "admin-up", data).status_code == 404, (method, path)
    # in their own organisation's pages, this one's things are not found either
    assert home("POST", "/delegations/end?org=up", "admin-up", {"id": str(delegation)}).status_code == 404
    response = home("POST", "/delegations?org=up", "admin-up", {"delegator": "somsak", "delegate": "admin-up",
                                                               "starts_on": "01/01/2569", "ends_on": "02/01/2569"})
    assert errors_of(response) == {"delegator": said("admin.err.person_unknown", username="somsak")}
    for path in ("/people?org=up", "/units?org=up", "/delegations?org=up", "/trail?org=up", "/trail"):
        page = home("GET", path, "admin-up").get_data(as_text=True)
        assert "somsak" not in page and "web-sc" not in page and "admin-sc" not in page, path
    assert counts() == before
    # the organisation's own administrator and the system administrator see them
    assert "somsak" in home("GET", "/trail").get_data(as_text=True)
    assert "somsak" in home("GET", "/trail", "root").get_data(as_text=True)
    assert "somsak" in home("GET", "/people?org=sesao-sc", "root").get_data(as_text=True)


def test_the_trail_is_newest_first_a_page_at_a_time(home):
    for n in range(55):
        home("POST", "/unit?key=web-sc", data={"name_th": f"งานเว็บไซต์ {n}"})
    # and before them: the units ict-sesao-sc and web-sc, admin-sc and somsak, as they were made
    first = home("GET", "/trail?org=sesao-sc").get_data(as_text=True)
    second = home("GET", "/trail?org=sesao-sc&page=2").get_data(as_text=True)
    assert first.count("<tr data-kind=") == 50 and second.count("<tr data-kind=") == 59 - 50
    assert first.index("งานเว็บไซต์ 54") < first.index("งานเว็บไซต์ 52")  # row 54 (53 → 54) before row 53 (52 → 53)
    assert 'rel="next"' in first and "งานเว็บไซต์ 54" not in second
    keys = re.findall(r'<tr data-kind="\w+" data-key="([^"]+)"', second)
    assert keys[-4:] == ["somsak", "web-sc", "admin-sc", "ict-sesao-sc"]  # the oldest last
    assert said("admin.page.of", page=2, pages=2) in second


def test_the_home_page_shows_the_settings_in_force_and_a_system_administrator_chooses_the_organisation(home):
    from shared.config import get_settings

    settings = get_settings()
    page = home("GET", "").get_data(as_text=True)
    assert re.search(f'<td id="office-hours" data-own="no">{settings.office_hours} ', page)
    assert f'<td id="reminders-at" data-own="no">{settings.reminders_at}</td>' in page
    assert '<strong id="admin-org">sesao-sc</strong>' in page
    assert home("GET", "?org=up").status_code == 404  # another organisation's, to sesao-sc's administrator
    root = home("GET", "", "root").get_data(as_text=True)
    assert '<option value="sesao-sc">' in root and '<option value="up">' in root
    response = home("GET", "/people", "root")  # which organisation's people? chosen first
    assert response.status_code == 302 and response.headers["Location"].endswith("/assignment/desk/admin")
    assert "admin-up" in home("GET", "/people?org=up", "root").get_data(as_text=True)


def test_the_command_line_keeps_using_the_same_use_cases_and_its_changes_are_in_the_trail(home, capsys):
    from sopdesk.cli import main

    assert main(["units", "add", "--key", "hr-sc", "--pack", "sesao-sc", "--name", "งานบุคคล"]) == 0
    assert main(["users", "add", "--username", "manee", "--password", "a long password", "--role", "officer",
                 "--unit", "hr-sc"]) == 0
    assert main(["users", "add", "--username", "manee", "--password", "a long password", "--role", "officer",
                 "--unit", "hr-sc"]) == 2
    assert "username: manee exists already" in capsys.readouterr().err
    assert [(e.actor, e.kind, e.key) for e in trail()] == [("sopdesk units add", "unit", "hr-sc"),
                                                           ("sopdesk users add", "person", "manee")]
    assert "manee" in home("GET", "/people?org=sesao-sc").get_data(as_text=True)


def test_an_administrator_switched_off_or_no_longer_one_is_refused_at_once_not_when_the_token_expires(home):
    add_user("admin2-sc", PASSWORD, ["admin"], unit="ict-sesao-sc")
    assert home("GET", "/people?org=sesao-sc").status_code == 200
    directory.update_user("admin-sc", "admin2-sc", roles=["officer"])
    assert home("GET", "/people?org=sesao-sc").status_code == 403
    directory.update_user("admin-sc", "admin2-sc", roles=["admin"])
    assert home("GET", "/people?org=sesao-sc").status_code == 200
    directory.set_active("admin-sc", False, "admin2-sc")
    assert home("POST", "/units?org=sesao-sc", data={"key": "x-sc", "name_th": "x"}).status_code == 403
    with bus.session() as session:
        assert session.get(Unit, "x-sc") is None


def test_an_organisation_s_own_office_hours_count_its_new_deadlines_and_no_other_s(home):
    """sesao-sc works 09:00-15:00: its working calendar counts those hours (a working day is 360
    minutes), up's keeps the configuration's; a bad value is refused beside its field and changes
    nothing; the trail keeps before and after; blank is back to the configuration's."""
    from services.assignment.handlers.engine import calendar
    from shared.config import get_settings
    from shared.workcal import parse_office_hours

    configured = get_settings().office_hours
    before = counts()
    for bad in ("9-3", "16:00-08:00", "25:00-26:00"):
        refused = home("POST", "/office-hours", data={"office_hours": bad})
        assert refused.status_code == 422
        assert errors_of(refused) == {"office_hours": said("admin.err.office_hours")}
    assert counts() == before
    assert home("POST", "/office-hours", data={"office_hours": "09:00-15:00"}).status_code == 302
    assert home("POST", "/office-hours?org=sesao-sc", "admin-up", {"office_hours": "07:00-19:00"}).status_code == 404
    with bus.session() as session:
        own, other = calendar(session, "sesao-sc"), calendar(session, "up")
        assert (own.opens.isoformat("minutes"), own.closes.isoformat("minutes"), own.minutes_per_day) == (
            "09:00", "15:00", 6 * 60)
        opens, closes = parse_office_hours(configured)
        assert (other.opens, other.closes) == (opens, closes)
    page = home("GET", "").get_data(as_text=True)
    assert '<td id="office-hours" data-own="yes">09:00-15:00</td>' in page
    assert [(e.kind, e.key, e.before, e.after) for e in trail("sesao-sc")] == [
        ("office-hours", "sesao-sc", None, {"office_hours": "09:00-15:00"})]
    assert home("POST", "/office-hours", data={"office_hours": ""}).status_code == 302
    with bus.session() as session:
        back = calendar(session, "sesao-sc")
        assert (back.opens, back.closes) == parse_office_hours(configured)
    assert trail("sesao-sc")[-1].after is None


def test_a_case_received_after_the_change_is_due_in_the_organisation_s_hours(home):
    """A web-publishing case of onesqa (two working days; onesqa working 09:00-12:00) received on
    Friday 20 November 2569 at 13:00 Bangkok time, after onesqa has closed: its two days count from
    Monday 09:00 in onesqa's hours, not from Friday 13:00 in the configuration's."""
    from datetime import datetime

    from services.assignment.adapters import packstore
    from services.assignment.adapters.models import Case
    from services.assignment.handlers.engine import calendar
    from sopdesk import testing_events as payloads

    assert home("POST", "/office-hours?org=onesqa", "root", {"office_hours": "09:00-12:00"}).status_code == 302
    sop = "onesqa/web-publish"
    received = datetime.fromisoformat("2026-11-20T06:00:00+00:00")  # 13:00 in Bangkok
    bus.consume(payloads.envelope("request.submitted", payloads.request_submitted(
        "SD-HOURS-00001", sop=sop, received_at=received.isoformat()), correlation_id="SD-HOURS-00001"))
    with bus.session() as session:
        case = session.scalars(select(Case).where(Case.tracking_code == "SD-HOURS-00001")).one()
        deadline = packstore.sop_for(sop, None, session).deadline
        own, configured = calendar(session, "onesqa"), calendar(session, None)
        assert own.minutes_per_day == 180
        expected = own.add_duration(received, deadline.high, deadline.unit)
        assert case.due_at == expected
        assert expected != configured.add_duration(received, deadline.high, deadline.unit)


def test_an_organisation_s_reminder_settings_are_set_on_the_page_with_the_trail(home):
    before = counts()
    for data, field in (({"reminders_at": "8.30", "reminder_days": "5,1"}, "reminders_at"),
                        ({"reminders_at": "08:30", "reminder_days": "0, 90"}, "reminder_days"),
                        ({"reminders_at": "", "reminder_days": "ห้า"}, "reminder_days")):
        refused = home("POST", "/reminders", data=data)
        assert refused.status_code == 422
        assert errors_of(refused) == {field: said(f"admin.err.{field}")}
    assert counts() == before
    assert home("POST", "/reminders", data={"reminders_at": "10:00", "reminder_days": "1, 3"}).status_code == 302
    assert home("POST", "/reminders?org=sesao-sc", "admin-up", {"reminders_at": "07:00"}).status_code == 404
    page = home("GET", "").get_data(as_text=True)
    assert '<td id="reminders-at" data-own="yes">10:00</td>' in page and 'value="3, 1"' in page
    assert [(e.kind, e.before, e.after) for e in trail("sesao-sc")] == [
        ("reminders", None, {"reminders_at": "10:00", "reminder_days": [3, 1]})]
