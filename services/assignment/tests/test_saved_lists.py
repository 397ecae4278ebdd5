"""The lists of cases a person keeps under names of their own (the desk's list page): kept with
the filters they show, used from the page, renamed filters kept under the same name, removed; a
refusal says why beside the field, in the page's language, and keeps nothing; each person sees and
removes only their own."""
from __future__ import annotations

import html
import re
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import func, select

from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import SavedList
from services.assignment.handlers import saved_lists
from services.assignment.tests.conftest import PASSWORD

pytestmark = pytest.mark.org("onesqa")


class Desk:
    """One person signed in to the desk in a browser of their own (cookies, the form's token)."""

    def __init__(self, client, username: str):
        self.client = client.__class__(client.application)
        self.token = self._token("/assignment/login")
        response = self.client.post("/assignment/login", data={"username": username, "password": PASSWORD,
                                                               "csrf_token": self.token})
        assert response.status_code == 302

    def _token(self, path: str) -> str:
        page = self.client.get(path).get_data(as_text=True)
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def page(self, query: str = "", lang: str = "th") -> str:
        response = self.client.get(f"/assignment/desk/cases?{query}&lang={lang}")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    def save(self, name: str, query: str, lang: str = "th"):
        token = self._token("/assignment/desk/cases")
        return self.client.post(f"/assignment/desk/cases/saved?lang={lang}",
                                data={"name": name, "query": query, "csrf_token": token})

    def remove(self, list_id: int):
        token = self._token("/assignment/desk/cases")
        return self.client.post(f"/assignment/desk/cases/saved/{list_id}/delete", data={"csrf_token": token})


def saved_on(page: str) -> dict[str, dict]:
    """The saved lists a page offers: name -> the query of its link."""
    if 'id="saved-lists"' not in page:
        return {}
    part = page[page.index('id="saved-lists"'):]
    part = part[:part.index("</nav>")]
    return {html.unescape(name): dict(parse_qsl(html.unescape(href).partition("?")[2]))
            for href, name in re.findall(r'<a href="([^"]+)">([^<]+)</a>', part)}


def kept() -> int:
    with bus.session() as session:
        return session.scalar(select(func.count()).select_from(SavedList))


def test_a_list_is_kept_under_its_name_used_changed_and_removed(client, people):
    officer = Desk(client, "u-officer")
    filters = "q=%E0%B9%80%E0%B8%84%E0%B8%A3%E0%B8%B7%E0%B9%88%E0%B8%AD%E0%B8%87%E0%B8%9E%E0%B8%B4%E0%B8%A1%E0%B8%9E%E0%B9%8C&overdue=true&sort=due_at&page=3"
    response = officer.save("  เครื่องพิมพ์ที่เกินกำหนด ", filters)
    assert response.status_code == 302
    # the filters, not the page it was on, and the name as typed without its spaces
    expected = {"q": "เครื่องพิมพ์", "overdue": "true", "sort": "due_at"}
    assert dict(parse_qsl(response.headers["Location"].partition("?")[2])) == expected
    landed = officer.page(response.headers["Location"].partition("?")[2])
    assert "บันทึกรายการ \"เครื่องพิมพ์ที่เกินกำหนด\" แล้ว" in html.unescape(landed)
    assert saved_on(landed) == {"เครื่องพิมพ์ที่เกินกำหนด": expected}
    # the list it opens shows those filters chosen
    assert 'value="เครื่องพิมพ์"' in landed and re.search(r'<option value="true"\s+selected>', landed)
    # the same name again keeps the new filters
    assert officer.save("เครื่องพิมพ์ที่เกินกำหนด", "status=waiting").status_code == 302
    assert saved_on(officer.page()) == {"เครื่องพิมพ์ที่เกินกำหนด": {"status": "waiting"}} and kept() == 1
    [row] = saved_lists.lists_of(people_staff("u-officer"))
    assert officer.remove(row.id).status_code == 302
    assert saved_on(officer.page()) == {} and kept() == 0


def test_a_refused_list_says_why_beside_the_name_in_the_pages_language_and_keeps_nothing(client, people):
    officer = Desk(client, "u-officer")
    for name, query, thai, english in (
            ("   ", "status=open", "กรุณาตั้งชื่อรายการ", "Give the list a name"),
            ("ก" * 81, "status=open", "กรุณาตั้งชื่อรายการ", "Give the list a name"),
            ("ช่วงวันที่ผิด", "received_from=32/13/2569", "ตัวกรองของรายการนี้ไม่ถูกต้อง", "filters are not valid"),
            ("สถานะผิด", "status=lost", "ตัวกรองของรายการนี้ไม่ถูกต้อง", "filters are not valid")):
        for lang, words in (("th", thai), ("en", english)):
            response = officer.save(name, query, lang=lang)
            page = response.get_data(as_text=True)
            assert response.status_code == 422 and words in page, (name, query, lang)
            assert re.search(r'id="error-(name|query)"', page)
    assert kept() == 0
    for number in range(saved_lists.MAX_LISTS):
        assert officer.save(f"รายการ {number}", "status=open").status_code == 302
    refused = officer.save("อีกหนึ่ง", "status=open")
    assert refused.status_code == 422 and "ไม่เกิน 30 รายการ" in refused.get_data(as_text=True)
    assert kept() == saved_lists.MAX_LISTS


def test_each_person_sees_and_removes_only_their_own_lists(client, people):
    officer, head = Desk(client, "u-officer"), Desk(client, "u-head")
    assert officer.save("ของฉัน", "status=open").status_code == 302
    [mine] = saved_lists.lists_of(people_staff("u-officer"))
    assert saved_on(head.page()) == {}
    assert head.remove(mine.id).status_code == 404 and kept() == 1
    # without the form's token, nothing is removed
    assert officer.client.post(f"/assignment/desk/cases/saved/{mine.id}/delete").status_code == 403
    assert kept() == 1


def people_staff(username: str):
    from services.assignment.handlers import directory

    with bus.session() as session:
        return directory.staff_of(directory.user_by_name(session, username), session)
