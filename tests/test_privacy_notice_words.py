"""An organisation's own words in its privacy notice, set in the browser by its administrator (or
privacy officer): whom to ask and a paragraph of its own appear beside the consent box of its
forms as a new notice version; a request filed afterwards keeps that version word for word; the
change is in the administrators' one trail (assignment, through ``admin.changed``) with its before
and after. Bad words are refused beside their field and change nothing; another organisation's
administrator finds no such page."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from sopdesk.testing import drain, make_staff
from tests.test_privacy_pages import form_token, sign_in
from tests.test_walls import HOME, OTHER, _file_request

PAGE = "/intake/privacy/notice"
CONTACT = "นางสาวคุ้มครอง ข้อมูลดี (DPO) dpo@onesqa.example โทร 02-000-0000"
EXTRA_TH = "สำนักงานไม่เปิดเผยข้อมูลของท่านแก่บุคคลภายนอก เว้นแต่กฎหมายกำหนด"


def _texts():
    from services.intake.adapters.bus import bus
    from services.intake.adapters.models import NoticeText

    with bus.session() as session:
        return session.scalar(select(func.count()).select_from(NoticeText))


def _version_on_form(client) -> str:
    page = client.get("/intake/forms/onesqa/web-publish?lang=th").get_data(as_text=True)
    return re.search(r"n1-[0-9a-f]{12}", page).group(0)


def test_an_administrator_sets_the_notice_words_and_new_requests_consent_to_them(client):
    make_staff("home-officer", ["officer"], HOME)
    make_staff("home-head", ["head"], HOME)
    make_staff("onesqa-admin", ["admin"], HOME)
    make_staff("up-admin", ["admin"], OTHER)
    make_staff("onesqa-clerk", ["intake-clerk"], HOME)
    before_version = _version_on_form(client)
    first = _file_request(client, email="first@onesqa.example")

    # someone without the role is refused; another organisation's administrator finds nothing
    sign_in(client, "onesqa-clerk")
    assert client.get(PAGE).status_code == 403
    sign_in(client, "up-admin")
    assert client.get(f"{PAGE}?org={HOME}").status_code == 404
    token = form_token(client, PAGE)
    assert client.post(f"{PAGE}?org={HOME}", data={"csrf_token": token, "contact": "x"}).status_code == 404
    assert _texts() == 0

    sign_in(client, "onesqa-admin")
    token = form_token(client, f"{PAGE}?lang=th")
    # two lines in the contact, and a control character in the paragraph: refused, nothing kept
    refused = client.post(f"{PAGE}?lang=th", data={"csrf_token": token, "contact": "บรรทัดหนึ่ง\nบรรทัดสอง",
                                                   "extra_th": "มี\x07อักขระควบคุม", "extra_en": ""})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert re.search(r'data-field="contact"[^>]*>ต้องเป็นบรรทัดเดียว ไม่มีอักขระควบคุม<', page)
    assert re.search(r'data-field="extra_th"[^>]*>ห้ามใช้อักขระควบคุม<', page)
    assert _texts() == 0

    saved = client.post(f"{PAGE}?lang=th", data={"csrf_token": token, "contact": f"  {CONTACT} ",
                                                 "extra_th": EXTRA_TH, "extra_en": ""})
    assert saved.status_code == 302
    shown = client.get(f"{PAGE}?lang=th").get_data(as_text=True)
    assert "บันทึกประกาศความเป็นส่วนตัวแล้ว" in shown and CONTACT in shown and EXTRA_TH in shown

    # the forms show the new words as a new version; an English form shows the Thai paragraph
    # when no English one is written
    form = client.get("/intake/forms/onesqa/web-publish?lang=th").get_data(as_text=True)
    assert CONTACT in form and EXTRA_TH in form
    assert _version_on_form(client) != before_version
    assert EXTRA_TH in client.get("/intake/forms/onesqa/web-publish?lang=en").get_data(as_text=True)
    client.post("/assignment/logout", data={"csrf_token": form_token(client, PAGE)})
    second = _file_request(client, email="second@onesqa.example")  # as a requester files it
    sign_in(client, "onesqa-admin")

    from services.intake.adapters.bus import bus
    from services.intake.adapters.models import PrivacyNotice, Request

    with bus.session() as session:
        old, new = (session.scalars(select(Request).where(Request.tracking_code == code)).one()
                    for code in (first, second))
        assert old.privacy_notice_version != new.privacy_notice_version
        kept = session.get(PrivacyNotice, new.privacy_notice_version).texts
        assert CONTACT in kept["th"]["contact"] and kept["th"]["extra"] == EXTRA_TH
        assert "extra" not in session.get(PrivacyNotice, old.privacy_notice_version).texts["th"]

    # the administrators' trail (assignment) has the change, once, with its before and after
    drain()  # the event reaches assignment (drain works every queue empty, what it leads to included)
    from services.assignment.adapters.bus import bus as assignment_bus
    from services.assignment.adapters.models import AdminChange

    with assignment_bus.session() as session:
        rows = session.scalars(select(AdminChange).where(AdminChange.kind == "privacy-notice")).all()
        assert [(r.org, r.actor, r.key, r.before) for r in rows] == [(HOME, "onesqa-admin", HOME, None)]
        assert rows[0].after == {"contact": CONTACT, "extra_th": EXTRA_TH, "extra_en": ""}
    trail = client.get("/assignment/desk/admin/trail?lang=th").get_data(as_text=True)
    assert "ประกาศความเป็นส่วนตัว" in trail

    # saving the same words again changes nothing and tells no one
    again = client.post(PAGE, data={"csrf_token": form_token(client, PAGE), "contact": CONTACT, "extra_th": EXTRA_TH,
                                    "extra_en": ""})
    assert again.status_code == 302
    drain()
    with assignment_bus.session() as session:
        assert session.scalar(select(func.count()).select_from(AdminChange)
                              .where(AdminChange.kind == "privacy-notice")) == 1


def test_words_changed_by_another_process_reach_this_one_within_the_time_it_keeps_them(clean, monkeypatch):
    """The form and the filing read an organisation's words from what this process read at most
    ``WORDS_KEPT_SECONDS`` ago; the page where they are changed reads them now."""
    from datetime import datetime, timezone

    from services.intake.adapters.bus import bus
    from services.intake.adapters.models import NoticeText
    from services.intake.handlers import notice_words

    clock = [1000.0]
    monkeypatch.setattr(notice_words, "_clock", lambda: clock[0])
    assert notice_words.words_of("onesqa") == notice_words.Words()  # read now, and kept
    with bus.session() as session:  # another process (another gunicorn worker) changes them
        session.add(NoticeText(org="onesqa", contact=CONTACT, extra_th="", extra_en="", updated_by="admin",
                               updated_at=datetime.now(timezone.utc)))
        session.commit()
    changed = notice_words.Words(contact=CONTACT)
    clock[0] += notice_words.WORDS_KEPT_SECONDS - 0.5
    assert notice_words.words_of("onesqa") == notice_words.Words(), "still the words it read"
    assert notice_words.words_of("onesqa", fresh=True) == changed  # the notice page reads them now
    clock[0] += notice_words.WORDS_KEPT_SECONDS  # past the time it keeps them, from that fresh read
    assert notice_words.words_of("onesqa") == changed
    # this process's own change is there at once
    notice_words.change("admin", "onesqa", "", EXTRA_TH, "")
    assert notice_words.words_of("onesqa") == notice_words.Words(extra_th=EXTRA_TH)
