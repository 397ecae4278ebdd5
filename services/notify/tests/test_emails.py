"""Every email of issue 4, in Thai and in English, read back from the real SMTP listener:
subject, recipient, what it says in its text and HTML parts, and its Message-ID (checked by
``mail_of``, which finds the mail by the Message-ID its delivery row gives)."""
import logging

import pytest

from services.notify.adapters.bus import bus
from services.notify.tests.factory import (CHECK, REQUESTER, SOP_TITLE, case_event, contact, daily_summary, deliveries,
                                           links, mail_of, opened, query_of, sent, step, submitted)
from shared.config import get_settings
from shared.tracking import check_tracking_token
from sopdesk.testing_events import breached_step

LANGUAGES = ("th", "en")
DUE = "2026-11-27T09:30:00+00:00"  # Friday 27 November 2026, 16:30 in Bangkok
DUE_TEXT = {"th": "27 พฤศจิกายน 2569 16:30 น.", "en": "27 November 2026 16:30"}


def requester_case(code, language):
    bus.consume(submitted(code, language=language))
    bus.consume(opened(code))


def assert_tracking_link(code, mail):
    """The text and the HTML both carry the requester's tracking link with a valid token."""
    [link] = [url for url in links(mail.html()) if f"/intake/track/{code}?" in url]
    assert check_tracking_token(code, query_of(link)["token"])
    assert link in mail.text()


# --- requester emails ---------------------------------------------------------------------------

@pytest.mark.parametrize("language", LANGUAGES)
def test_a_step_the_pack_marks_tells_the_requester(clean, mailbox, language):
    code = "SD-STEPD-00001"
    requester_case(code, language)
    bus.consume(case_event("case.step_completed", code, due_at=DUE, outcome="done", kind="forward", next_step="repair",
                           note="internal note", step=step(notify_requester=True, completed_at="2026-11-21T02:00:00+00:00")))
    delivery, mail = sent(mailbox, "step_done")
    assert mail.envelope_to == (REQUESTER,) and delivery.language == language
    subject = {"th": f"คำขอ {code}: ขั้นตอน “ตรวจสอบอาการเสีย” เสร็จแล้ว",
               "en": f"Request {code}: “Diagnose the fault” is done"}[language]
    assert str(mail.message["Subject"]) == subject
    goes_on = {"th": "ดำเนินการต่อในขั้นตอนถัดไป", "en": "goes on to its next step"}[language]
    for part in (mail.text(), mail.html()):
        assert CHECK[language] in part and DUE_TEXT[language] in part and goes_on in part
        assert SOP_TITLE[language] in part and "จอฟ้า" in part
        assert "internal note" not in part  # a staff note is not the requester's
    assert {"th": "21 พฤศจิกายน 2569 09:00 น.", "en": "21 November 2026 09:00"}[language] in mail.text()
    assert_tracking_link(code, mail)


@pytest.mark.parametrize("notify_requester, kind", [(False, "forward"), (True, "return"), (True, "reject")])
def test_other_completed_steps_write_nothing(clean, mailbox, notify_requester, kind):
    code = "SD-STEPN-00001"
    requester_case(code, "th")
    bus.consume(case_event("case.step_completed", code, outcome="x", kind=kind, next_step="y", note=None,
                           step=step(notify_requester=notify_requester)))
    assert [d.template for d in deliveries()] == ["received"]
    assert len(mailbox.all()) == 1


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_return_says_what_to_fix_and_where_to_answer(clean, mailbox, language):
    code = "SD-RETUR-00001"
    requester_case(code, language)
    note = "โปรดแนบรูปถ่ายหน้าจอ <script>alert('x')</script> & เลขครุภัณฑ์"
    bus.consume(case_event("case.step_returned", code, outcome="return", to="ask-requester", note=note,
                           step=step(completed_at="2026-11-21T02:00:00+00:00", outcome="return")))
    delivery, mail = sent(mailbox, "returned")
    assert mail.envelope_to == (REQUESTER,)
    assert str(mail.message["Subject"]) == {"th": f"คำขอ {code}: โปรดแก้ไขหรือส่งข้อมูลเพิ่มเติม",
                                            "en": f"Request {code}: please correct or add information"}[language]
    assert note in mail.text()
    html = mail.html()
    assert "<script>" not in html  # the note is text, never markup
    assert "โปรดแนบรูปถ่ายหน้าจอ &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; เลขครุภัณฑ์" in html
    assert {"th": "ตอบกลับและแนบเอกสาร", "en": "Answer and upload documents"}[language] in html
    assert_tracking_link(code, mail)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_rejection_says_why(clean, mailbox, language):
    code = "SD-REJEC-00001"
    requester_case(code, language)
    bus.consume(case_event("case.step_rejected", code, outcome="reject", note="เกินวงเงินงบประมาณปีนี้",
                           step=step(outcome="reject")))
    delivery, mail = sent(mailbox, "rejected")
    assert mail.envelope_to == (REQUESTER,)
    assert str(mail.message["Subject"]) == {"th": f"คำขอ {code} ไม่ได้รับการอนุมัติ",
                                            "en": f"Request {code} was declined"}[language]
    why = {"th": "เหตุผล", "en": "Why"}[language]
    for part in (mail.text(), mail.html()):
        assert "เกินวงเงินงบประมาณปีนี้" in part and why in part and CHECK[language] in part
    assert_tracking_link(code, mail)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("waiting_on, label", [
    ("vendor", {"th": "ผู้ขาย / บริษัท", "en": "the vendor"}),
    ("procurement-delivery", {"th": "การจัดซื้อส่งของ", "en": "the purchase's delivery"}),
    ("procurement-contract", {"th": "การส่งมอบตามสัญญา", "en": "the contract's milestones"}),
])
def test_a_wait_on_a_vendor_or_a_purchase_is_told(clean, mailbox, language, waiting_on, label):
    code = "SD-WAITS-00001"
    requester_case(code, language)
    bus.consume(case_event("case.step_waiting", code, due_at=DUE, waiting_on=waiting_on, fields={}, subject="จอฟ้า",
                           step=step(key="wait", waiting_on=waiting_on)))
    delivery, mail = sent(mailbox, "waiting")
    assert mail.envelope_to == (REQUESTER,)
    assert str(mail.message["Subject"]) == {"th": f"คำขอ {code}: อยู่ระหว่างรอ{label['th']}",
                                            "en": f"Request {code} is waiting on {label['en']}"}[language]
    for part in (mail.text(), mail.html()):
        assert label[language] in part.replace("&#39;", "'") and DUE_TEXT[language] in part
    assert_tracking_link(code, mail)


def test_a_wait_on_the_requester_is_left_to_the_return_email(clean, mailbox):
    code = "SD-WAITR-00001"
    requester_case(code, "th")
    bus.consume(case_event("case.step_waiting", code, waiting_on="requester", fields={}, subject="จอฟ้า",
                           step=step(key="ask-requester", role="requester", waiting_on="requester")))
    assert [d.template for d in deliveries()] == ["received"]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("result, said", [
    ("completed", {"th": "ดำเนินการเสร็จสิ้นแล้ว", "en": "has been carried out"}),
    ("rejected", {"th": "ไม่ได้รับการอนุมัติ", "en": "was declined"}),
    ("withdrawn", {"th": "ถูกถอนแล้ว", "en": "was withdrawn"}),
])
def test_the_close_gives_the_result_and_a_one_click_survey(clean, mailbox, language, result, said):
    code = "SD-CLOSE-00001"
    requester_case(code, language)
    bus.consume(case_event("case.closed", code, result=result, closed_at="2026-11-24T08:00:00+00:00",
                           subject="จอฟ้า", sop_title=SOP_TITLE))
    delivery, mail = sent(mailbox, "closed")
    assert mail.envelope_to == (REQUESTER,)
    label = {"completed": {"th": "ดำเนินการเสร็จสิ้น", "en": "completed"},
             "rejected": {"th": "ไม่อนุมัติ / ปฏิเสธ", "en": "rejected"},
             "withdrawn": {"th": "ถอนคำขอ", "en": "withdrawn"}}[result][language]
    assert str(mail.message["Subject"]) == {"th": f"คำขอ {code} ปิดเรื่องแล้ว ({label})",
                                            "en": f"Request {code} is closed ({label})"}[language]
    closed_text = {"th": "24 พฤศจิกายน 2569 15:00 น.", "en": "24 November 2026 15:00"}[language]
    for part in (mail.text(), mail.html()):
        assert said[language] in part and closed_text in part
    survey = f"{get_settings().public_url}/intake/track/{code}/survey?"
    one_click = [url for url in links(mail.html()) if url.startswith(survey) and "score=" in url]
    assert [int(query_of(url)["score"]) for url in one_click] == [1, 2, 3, 4, 5]
    for url in one_click:
        assert check_tracking_token(code, query_of(url)["token"])
        assert url in mail.text()
    assert not check_tracking_token(code, "not-the-token")
    assert_tracking_link(code, mail)


@pytest.mark.parametrize("event", [
    lambda code: case_event("case.step_returned", code, outcome="return", to="ask-requester", note="n", step=step()),
    lambda code: case_event("case.step_rejected", code, outcome="reject", note="n", step=step()),
    lambda code: case_event("case.closed", code, result="completed", subject="s"),
    lambda code: case_event("case.step_completed", code, outcome="done", kind="forward", next_step=None, note=None,
                            step=step(notify_requester=True)),
])
def test_a_requester_email_before_the_request_is_known_is_written_when_it_comes(clean, mailbox, event):
    early = event("SD-EARLY-00002")
    assert not bus.consume(early).duplicate
    assert deliveries() == [] and mailbox.all() == []
    bus.consume(submitted("SD-EARLY-00002"))
    [delivery] = deliveries()
    assert delivery.event_id == early["id"] and delivery.status == "sent" and len(mailbox.all()) == 1
    assert bus.consume(early).duplicate and len(deliveries()) == 1


# --- staff emails ---------------------------------------------------------------------------------

DESK = "/assignment/desk/cases/"


def assert_desk_link(code, mail):
    desk = f"{get_settings().public_url}{DESK}{code}"
    assert desk in links(mail.html()) and desk in mail.text()
    assert "/intake/track/" not in mail.text() + mail.html()  # staff mail never carries the requester's link


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_started_step_tells_its_assignee(clean, mailbox, language):
    code = "SD-ASSIG-00001"
    requester_case(code, "th")  # the requester's language does not choose the staff member's
    somchai = contact("somchai", "somchai@office.example", language, name="สมชาย ใจดี")
    bus.consume(case_event("case.step_started", code, due_at=DUE, subject="จอฟ้า",
                           step=step(assignee="somchai", assignee_contact=somchai)))
    delivery, mail = sent(mailbox, "assigned")
    assert mail.envelope_to == ("somchai@office.example",) and delivery.language == language
    assert str(mail.message["Subject"]) == {"th": f"งานใหม่ {code}: ตรวจสอบอาการเสีย · จอฟ้า",
                                            "en": f"New work {code}: Diagnose the fault · จอฟ้า"}[language]
    step_due = {"th": "21 พฤศจิกายน 2569 16:30 น.", "en": "21 November 2026 16:30"}[language]
    for part in (mail.text(), mail.html()):
        assert "สมชาย ใจดี" in part and CHECK[language] in part and step_due in part and DUE_TEXT[language] in part
    assert_desk_link(code, mail)
    assert mail.message["To"].addresses[0].display_name == "สมชาย ใจดี"


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_reassignment_tells_the_new_assignee(clean, mailbox, language):
    code = "SD-REASS-00001"
    requester_case(code, "en")
    somsri = contact("somsri", "somsri@office.example", language)
    bus.consume(case_event("case.assigned", code, previous_assignee="somchai", assigned_by="head1",
                           step=step(assignee="somsri", assignee_contact=somsri)))
    delivery, mail = sent(mailbox, "assigned")
    assert mail.envelope_to == ("somsri@office.example",)
    assert str(mail.message["Subject"]) == {"th": f"งานใหม่ {code}: ตรวจสอบอาการเสีย · จอฟ้า",
                                            "en": f"New work {code}: Diagnose the fault · จอฟ้า"}[language]
    by = {"th": "head1 มอบหมายงานนี้ให้ท่าน", "en": "head1 gave you this work"}[language]
    assert by in mail.text() and by in mail.html()
    assert_desk_link(code, mail)


def test_taking_a_step_oneself_writes_nothing(clean, mailbox):
    code = "SD-TAKEN-00001"
    bus.consume(case_event("case.assigned", code, previous_assignee=None, assigned_by="somsri",
                           step=step(assignee="somsri", assignee_contact=contact("somsri", "somsri@office.example"))))
    assert deliveries() == [] and mailbox.all() == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_step_to_approve_asks_its_assignee(clean, mailbox, language):
    code = "SD-APPRO-00001"
    director = contact("director", "director@office.example", language, name="ผอ. สมศักดิ์")
    bus.consume(case_event("case.step_started", code, subject="ขอซื้อเครื่องพิมพ์",
                           step=step(key="approve", title={"th": "ผู้อำนวยการอนุมัติ", "en": "Director approves"},
                                     role="director", assignee="director", assignee_contact=director,
                                     needs_approval=True)))
    assert [d.template for d in deliveries()] == ["approval_needed"]
    delivery, mail = sent(mailbox, "approval_needed")
    assert mail.envelope_to == ("director@office.example",)
    assert str(mail.message["Subject"]) == {
        "th": f"รอการอนุมัติจากท่าน {code}: ผู้อำนวยการอนุมัติ · ขอซื้อเครื่องพิมพ์",
        "en": f"Your approval is needed {code}: Director approves · ขอซื้อเครื่องพิมพ์"}[language]
    asks = {"th": "รอการพิจารณาอนุมัติจากท่าน", "en": "waits for your approval"}[language]
    for part in (mail.text(), mail.html()):
        assert asks in part and "ขอซื้อเครื่องพิมพ์" in part
    assert_desk_link(code, mail)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("deadline", ["step", "case"])
def test_a_missed_deadline_tells_the_assignee_and_the_heads_once_each(clean, mailbox, language, deadline):
    code = "SD-OVERD-00001"
    assignee = contact("somchai", "somchai@office.example", language)
    heads = [contact("head1", "head1@office.example", language),
             contact("head2", "SOMCHAI@office.example", language),  # the assignee is also a head
             contact("head3", None, language)]  # no address: skipped
    missed = "2026-11-20T09:30:00+00:00"
    sla_step = None
    if deadline == "step":
        sla_step = {"key": "check", "round": 1, "role": "officer", "assignee": "somchai",
                    "started_at": "2026-11-19T03:00:00+00:00", "title": CHECK, "assignee_contact": assignee}
    bus.consume(case_event("sla.breached", code, missed_due_at=missed, deadline=deadline, subject="จอฟ้า", step=sla_step,
                           heads=["head1", "head2", "head3"], head_contacts=heads))
    rows = deliveries("overdue")
    # one delivery per distinct address: head2 shares the assignee's (in other case), head3 has none
    expected = (["somchai@office.example", "head1@office.example"] if deadline == "step"
                else ["head1@office.example", "SOMCHAI@office.example"])
    assert sorted(d.recipient for d in rows) == sorted(expected)
    assert len(mailbox.all()) == len(expected)
    missed_text = {"th": "20 พฤศจิกายน 2569 16:30 น.", "en": "20 November 2026 16:30"}[language]
    label = {("th", "step"): "ของขั้นตอน", ("th", "case"): "ของทั้งเรื่อง",
             ("en", "step"): "step deadline", ("en", "case"): "case deadline"}[language, deadline]
    for delivery in rows:
        mail = mail_of(mailbox, delivery)
        assert mail.envelope_to == (delivery.recipient,)
        assert str(mail.message["Subject"]) == {"th": f"เกินกำหนด{label} {code} · จอฟ้า",
                                                "en": f"Overdue ({label}) {code} · จอฟ้า"}[language]
        for part in (mail.text(), mail.html()):
            assert missed_text in part and label in part
            assert (CHECK[language] in part) == (deadline == "step")
        assert_desk_link(code, mail)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_daily_summary_lists_open_work_and_marks_the_late(clean, mailbox, language):
    somchai = contact("somchai", "somchai@office.example", language, name="สมชาย ใจดี")
    items = [
        {"tracking_code": "SD-LATE0-00001", "sop": "sesao-sc/repair", "sop_title": SOP_TITLE, "step": "check",
         "step_title": CHECK, "subject": "จอฟ้า", "due_at": "2026-11-20T09:30:00+00:00", "late": True,
         "waiting_on": None},
        {"tracking_code": "SD-ONTIM-00002", "sop": "sesao-sc/repair", "sop_title": SOP_TITLE, "step": "repair",
         "step_title": {"th": "ซ่อม", "en": "Repair"}, "subject": "เมาส์เสีย", "due_at": DUE, "late": False,
         "waiting_on": "vendor"},
    ]
    event = daily_summary("somchai", "2026-11-23", somchai, items)
    bus.consume(event)
    delivery, mail = sent(mailbox, "daily_summary")
    assert mail.envelope_to == ("somchai@office.example",)
    assert str(mail.message["Subject"]) == {"th": "งานค้างของท่าน วันที่ 23 พฤศจิกายน 2569: 2 เรื่อง",
                                            "en": "Your open work on 23 November 2026 (2 open)"}[language]
    late = {"th": "เกินกำหนด", "en": "Overdue"}[language]
    html = mail.html()
    rows = html.split("<tr")[2:]  # after the table's header row
    assert len(rows) == 2
    assert "SD-LATE0-00001" in rows[0] and late in rows[0] and "#fdecea" in rows[0]
    assert "SD-ONTIM-00002" in rows[1] and late not in rows[1] and DUE_TEXT[language] in rows[1]
    text_lines = mail.text().splitlines()
    [first] = [line for line in text_lines if "SD-LATE0-00001" in line and "/desk/" not in line]
    [second] = [line for line in text_lines if "SD-ONTIM-00002" in line and "/desk/" not in line]
    assert late.upper() in first.upper() and late.upper() not in second.upper()
    for code in ("SD-LATE0-00001", "SD-ONTIM-00002"):
        assert f"{get_settings().public_url}{DESK}{code}" in links(html)


# --- who never gets staff mail ------------------------------------------------------------------

def test_a_staff_member_without_an_email_is_skipped_and_logged(clean, mailbox, caplog):
    code = "SD-NOADR-00001"
    caplog.set_level(logging.INFO, logger="services.notify.handlers.emails")
    bus.consume(case_event("case.step_started", code, subject="จอฟ้า",
                           step=step(assignee="somchai", assignee_contact=contact("somchai", None))))
    assert deliveries() == [] and mailbox.all() == []
    skipped = [r.getMessage() for r in caplog.records if "has no email address" in r.getMessage()]
    assert len(skipped) == 1 and "somchai" in skipped[0]
    # (no daily summary without an address: assignment's send_daily_summaries writes none)


def test_a_step_the_requester_holds_never_mails_staff_or_the_requester(clean, mailbox):
    code = "SD-REQST-00001"
    requester_case(code, "th")
    ask = step(key="ask-requester", role="requester", waiting_on="requester")
    bus.consume(case_event("case.step_started", code, subject="จอฟ้า", step=ask))
    bus.consume(case_event("sla.breached", code, deadline="step", missed_due_at=DUE, subject="จอฟ้า", heads=[],
                           head_contacts=[], step=breached_step("ask-requester", role="requester")))
    assert [d.template for d in deliveries()] == ["received"]
    assert len(mailbox.all()) == 1


def test_a_second_delivery_of_a_staff_event_sends_nothing_more(clean, mailbox):
    code = "SD-DUPST-00001"
    event = case_event("sla.breached", code, deadline="case", missed_due_at=DUE, subject="จอฟ้า", step=None,
                       heads=["head1", "head2"], head_contacts=[contact("head1", "head1@office.example"),
                                                                contact("head2", "head2@office.example")])
    assert not bus.consume(event).duplicate
    assert bus.consume(event).duplicate
    assert len(deliveries()) == 2 and len(mailbox.all()) == 2
