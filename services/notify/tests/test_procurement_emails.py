"""Notify's three procurement emails, in Thai and in English, read back from the real SMTP
listener: a milestone falling due and overdue (to the officer and the inspection committee, in
the staff emails' layout) and an emergency on a contract (a letter to the vendor's contacts).
The events are built as procurement writes them (``sopdesk.testing_events``)."""
import pytest
from sqlalchemy import func, select

from services.notify.adapters.bus import bus
from services.notify.adapters.models import Delivery
from services.notify.tests.factory import deliveries, links, mail_of
from shared.config import get_settings
from sopdesk import testing_events as payloads

LANGUAGES = ("th", "en")
CONTRACT = {"id": 7, "number": "12/2570", "amount": "1250000.00", "vendor_name": "บริษัท ซอฟต์แวร์ไทย จำกัด"}
PROJECT = {"id": 3, "title": "จ้างพัฒนาระบบประเมินคุณภาพการศึกษา", "tracking_code": "SD-AQADV-00042"}
MILESTONE = {"id": 11, "seq": 2, "title": "ระบบต้นแบบและการอบรม", "deliverables": "ระบบต้นแบบ\nเอกสารอบรม <ฉบับร่าง>",
             "due_on": "2026-12-08", "amount": "437500.50", "state": "pending"}
DUE_TEXT = {"th": "8 ธันวาคม 2569", "en": "8 December 2026"}  # Buddhist era in Thai


def recipients(language):
    """The officer and the inspection committee's chair (procurement leaves out a member without an
    email, and an address twice)."""
    return [payloads.notice_recipient("นางสาวพัสดุ ใจดี", "officer@office.example", language, "officer"),
            payloads.notice_recipient("นายประธาน ตรวจรับ", "chair@office.example", language, "inspection-committee")]


def milestone_event(event_type, language, project=PROJECT, **facts):
    notice = {"contract": CONTRACT, "project": project, "milestone": MILESTONE, "recipients": recipients(language)}
    build = payloads.PAYLOADS[event_type]
    return payloads.envelope(event_type, build(**facts, **notice), correlation_id=project["tracking_code"])


def incident_event(language, severity="critical", contacts=None):
    return payloads.envelope("procurement.incident_reported", payloads.incident_reported(
        incident={"id": 5, "severity": severity,
                  "description": "เครื่องแม่ข่ายหลักดับ <ไม่สามารถเข้าระบบได้> & ฐานข้อมูลไม่ตอบสนอง",
                  "reported_at": "2026-11-24T01:15:00+00:00", "reported_by": "u-officer"},
        contract={"id": 7, "number": "12/2570", "vendor_name": "บริษัท ซอฟต์แวร์ไทย จำกัด"},
        project={"id": 3, "title": "จ้างบำรุงรักษาเครื่องแม่ข่ายและระบบเครือข่าย", "tracking_code": None},
        vendor={"id": 9, "name": "บริษัท ซอฟต์แวร์ไทย จำกัด"},
        recipients=contacts if contacts is not None else [
            {"name": "คุณฉุกเฉิน", "email": "oncall@vendor.example", "language": language},
            {"name": "คุณสำรอง", "email": "backup@vendor.example", "language": language}]), correlation_id=None)


def mails_of(mailbox, template):
    rows = deliveries(template)
    assert rows and all(d.status == "sent" for d in rows), [(d.status, d.last_error) for d in rows]
    return {d.recipient: (d, mail_of(mailbox, d)) for d in rows}


def desk_link():
    return f"{get_settings().public_url}/procurement/desk/contracts/7"


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_milestone_falling_due_tells_the_officer_and_the_committee(clean, mailbox, language):
    bus.consume(milestone_event("procurement.milestone_due", language, days_ahead=5))
    by_address = mails_of(mailbox, "milestone_due")
    # one mail per address
    assert set(by_address) == {"officer@office.example", "chair@office.example"}
    subject = {"th": "[sopdesk] งวดที่ 2 สัญญา 12/2570 ครบกำหนดส่งมอบในอีก 5 วันทำการ",
               "en": "[sopdesk] Milestone 2 of contract 12/2570 is due in 5 working days"}[language]
    capacity = {"officer@office.example": {"th": "ในฐานะเจ้าหน้าที่ผู้รับผิดชอบโครงการ",
                                           "en": "as the officer responsible for the project"},
                "chair@office.example": {"th": "ในฐานะกรรมการตรวจรับพัสดุ",
                                         "en": "as a member of the inspection committee"}}
    for address, (delivery, mail) in by_address.items():
        assert mail.envelope_to == (address,) and delivery.language == language
        assert delivery.correlation_id == "SD-AQADV-00042"
        assert str(mail.message["Subject"]) == subject
        for part in (mail.text(), mail.html()):
            assert DUE_TEXT[language] in part and "SD-AQADV-00042" in part
            assert "437,500.50" in part and "1,250,000.00" in part  # thousands separators
            assert "บริษัท ซอฟต์แวร์ไทย จำกัด" in part and PROJECT["title"] in part
            assert capacity[address][language] in part
        assert desk_link() in links(mail.html()) and desk_link() in mail.text()
        assert "ระบบต้นแบบ\nเอกสารอบรม <ฉบับร่าง>" in mail.text()
        assert "เอกสารอบรม &lt;ฉบับร่าง&gt;" in mail.html() and "<ฉบับร่าง>" not in mail.html()
        assert "/assignment/desk" not in mail.text() + mail.html()


@pytest.mark.parametrize("days, th, en", [
    (1, "ครบกำหนดส่งมอบในอีก 1 วันทำการ", "is due in 1 working day"),
    (0, "ครบกำหนดส่งมอบวันนี้", "is due today"),
])
def test_the_subject_says_one_day_and_today(clean, mailbox, days, th, en):
    bus.consume(milestone_event("procurement.milestone_due", "th", days_ahead=days))
    bus.consume(milestone_event("procurement.milestone_due", "en", days_ahead=days))
    subjects = sorted(str(m.message["Subject"]) for m in mailbox.all())
    assert subjects == sorted([f"[sopdesk] งวดที่ 2 สัญญา 12/2570 {th}"] * 2 +
                              [f"[sopdesk] Milestone 2 of contract 12/2570 {en}"] * 2)


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_overdue_milestone_says_how_late_and_the_fine_so_far(clean, mailbox, language):
    bus.consume(milestone_event("procurement.milestone_overdue", language, days_late=3, fine_so_far="1312.50"))
    by_address = mails_of(mailbox, "milestone_overdue")
    assert set(by_address) == {"officer@office.example", "chair@office.example"}
    subject = {"th": "[sopdesk] งวดที่ 2 สัญญา 12/2570 เลยกำหนดส่งมอบ 3 วัน",
               "en": "[sopdesk] Milestone 2 of contract 12/2570 is 3 days overdue"}[language]
    late = {"th": "ล่าช้า: 3 วัน", "en": "Days late: 3"}[language]
    fine = {"th": "ค่าปรับถึงวันนี้: 1,312.50 บาท", "en": "Fine so far: THB 1,312.50"}[language]
    for delivery, mail in by_address.values():
        assert str(mail.message["Subject"]) == subject
        assert late in mail.text() and fine in mail.text()
        assert "1,312.50" in mail.html() and DUE_TEXT[language] in mail.html()
        assert desk_link() in links(mail.html())


def test_a_project_serving_no_case_shows_no_tracking_code(clean, mailbox):
    project = {**PROJECT, "tracking_code": None}
    bus.consume(milestone_event("procurement.milestone_overdue", "th", project=project, days_late=1,
                                fine_so_far="437.50"))
    delivery, mail = mails_of(mailbox, "milestone_overdue")["officer@office.example"]
    assert delivery.correlation_id is None
    assert "รหัสติดตาม" not in mail.text() and "None" not in mail.text() + mail.html()
    assert "[sopdesk] งวดที่ 2 สัญญา 12/2570 เลยกำหนดส่งมอบ 1 วัน" == str(mail.message["Subject"])


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_emergency_is_a_letter_to_the_vendors_contacts(clean, mailbox, language):
    bus.consume(incident_event(language))
    by_address = mails_of(mailbox, "incident")
    assert set(by_address) == {"oncall@vendor.example", "backup@vendor.example"}
    subject = {"th": "[sopdesk] แจ้งเหตุฉุกเฉินตามสัญญาเลขที่ 12/2570 (ระดับวิกฤต)",
               "en": "[sopdesk] Emergency on contract 12/2570 (critical)"}[language]
    reported = {"th": "24 พฤศจิกายน 2569 08:15 น.", "en": "24 November 2026 08:15"}[language]
    severity = {"th": "ระดับความรุนแรง: วิกฤต", "en": "Severity: critical"}[language]
    for address, (delivery, mail) in by_address.items():
        assert mail.envelope_to == (address,) and str(mail.message["Subject"]) == subject
        text, html = mail.text(), mail.html()
        assert severity in text and reported in text and "u-officer" in text and "12/2570" in text
        assert "เครื่องแม่ข่ายหลักดับ <ไม่สามารถเข้าระบบได้> & ฐานข้อมูลไม่ตอบสนอง" in text
        assert "&lt;ไม่สามารถเข้าระบบได้&gt; &amp;" in html and "<ไม่สามารถ" not in html
        assert reported in html and "บริษัท ซอฟต์แวร์ไทย จำกัด" in html
        # a letter to an outsider: no staff desk, no requester links, the vendor's footer
        assert "/desk" not in text + html and "/intake/track/" not in text + html
        assert {"th": "ขอแสดงความนับถือ", "en": "Yours faithfully"}[language] in text
        assert {"th": "หน่วยงานผู้ว่าจ้าง", "en": "contracting office"}[language] in text


def test_each_email_is_written_once_per_event_and_address(clean, mailbox):
    envelope = milestone_event("procurement.milestone_due", "th", days_ahead=5)
    bus.consume(envelope)
    assert bus.consume(envelope).duplicate
    incident = incident_event("th", severity="high")
    bus.consume(incident)
    bus.consume(incident)
    with bus.session() as session:
        rows = session.execute(select(Delivery.template, Delivery.recipient, func.count())
                               .group_by(Delivery.template, Delivery.recipient)).all()
    assert sorted(rows) == [("incident", "backup@vendor.example", 1), ("incident", "oncall@vendor.example", 1),
                            ("milestone_due", "chair@office.example", 1),
                            ("milestone_due", "officer@office.example", 1)]
    assert len(mailbox.all()) == 4
    assert "(ระดับสูง)" in str(mail_of(mailbox, deliveries("incident")[0]).message["Subject"])


def test_nobody_to_write_to_writes_nothing(clean, mailbox, caplog):
    bus.consume(incident_event("th", contacts=[]))  # the vendor has no contact with an email
    assert deliveries() == [] and mailbox.all() == []
    assert "nobody is told" in caplog.text
