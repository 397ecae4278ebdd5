"""Milestone reminders end to end: procurement's beat body with the clock moved by the test,
its events through the outbox and the real Redis queues (``drain``), notify's delivery rows and
the mails the real SMTP listener caught, in Thai and in English (a committee member who reads
English). And an admin's day off, announced by assignment, moving a reminder that mail tells."""
from __future__ import annotations

from datetime import date

from services.notify.tests.factory import deliveries, links
from services.procurement.handlers import reminders
from services.procurement.tests.test_reminders import bkk, make_contract
from shared.config import get_settings
from sopdesk.cli import main as sopdesk
from sopdesk.testing import drain, make_staff

OFFICER, CHAIR, MEMBER_EN = "officer@office.example", "chair@office.example", "member.en@office.example"


def mails(mailbox) -> dict[str, object]:
    """The mails caught since the last ``mailbox.clear()``, by recipient (one each)."""
    caught = {}
    for mail in mailbox.all():
        [to] = mail.envelope_to
        assert to not in caught, f"two mails to {to}"
        caught[to] = mail
    return caught


def run(mailbox, *moment) -> dict[str, object]:
    mailbox.clear()
    reminders.send_due_notices(bkk(*moment))
    drain()
    return mails(mailbox)


def test_reminders_reach_the_officer_and_the_committee_by_mail(clean, mailbox, client):
    # milestone 1 due Tue 8 Dec 2026, after Sat 5, Sun 6 and the substitution day Mon 7 Dec:
    # 5-day reminder Mon 30 Nov, 1-day Fri 4 Dec, overdue Wed 9 Dec (worked out by hand)
    contract_id = make_contract([date(2026, 12, 8)])
    link = f"{get_settings().public_url}/procurement/desk/contracts/{contract_id}"

    assert run(mailbox, 2026, 11, 27, 9, 0) == {}  # Fri 27 Nov: six working days ahead
    caught = run(mailbox, 2026, 11, 30, 8, 45)
    assert set(caught) == {OFFICER, CHAIR, MEMBER_EN}  # the member without an email is not written to
    assert str(caught[OFFICER].message["Subject"]) == "[sopdesk] งวดที่ 1 สัญญา 12/2570 ครบกำหนดส่งมอบในอีก 5 วันทำการ"
    assert str(caught[CHAIR].message["Subject"]) == "[sopdesk] งวดที่ 1 สัญญา 12/2570 ครบกำหนดส่งมอบในอีก 5 วันทำการ"
    assert str(caught[MEMBER_EN].message["Subject"]) == "[sopdesk] Milestone 1 of contract 12/2570 is due in 5 working days"
    for to, due_text, amount in ((OFFICER, "8 ธันวาคม 2569", "250,000.00 บาท"),
                                 (MEMBER_EN, "8 December 2026", "THB 250,000.00")):
        mail = caught[to]
        assert due_text in mail.text() and due_text in mail.html() and amount in mail.text()
        assert link in links(mail.html()) and link in mail.text()
    assert "นางสาวพัสดุ ใจดี" in caught[OFFICER].text() and "Mr. Member English" in caught[MEMBER_EN].text()

    for day in (1, 2, 3):  # nothing more until the 1-day reminder, however often beat runs
        assert run(mailbox, 2026, 12, day, 9, 0) == {}
    caught = run(mailbox, 2026, 12, 4, 10, 0)
    assert str(caught[MEMBER_EN].message["Subject"]) == "[sopdesk] Milestone 1 of contract 12/2570 is due in 1 working day"
    assert str(caught[OFFICER].message["Subject"]) == "[sopdesk] งวดที่ 1 สัญญา 12/2570 ครบกำหนดส่งมอบในอีก 1 วันทำการ"
    assert run(mailbox, 2026, 12, 7, 9, 0) == {}  # the substitution day: nobody works, nothing is sent
    assert run(mailbox, 2026, 12, 8, 9, 0) == {}  # the due date

    caught = run(mailbox, 2026, 12, 9, 8, 30)
    assert set(caught) == {OFFICER, CHAIR, MEMBER_EN}
    assert str(caught[CHAIR].message["Subject"]) == "[sopdesk] งวดที่ 1 สัญญา 12/2570 เลยกำหนดส่งมอบ 1 วัน"
    assert str(caught[MEMBER_EN].message["Subject"]) == "[sopdesk] Milestone 1 of contract 12/2570 is 1 day overdue"
    # 0.1 % of 250,000.00 a day
    assert "ค่าปรับถึงวันนี้: 250.00 บาท" in caught[CHAIR].text()
    assert "Fine so far: THB 250.00" in caught[MEMBER_EN].text()
    # each mail carries its delivery row's Message-ID
    assert {d.recipient: d.message_id for d in deliveries("milestone_overdue")} == {
        to: mail.message["Message-ID"] for to, mail in caught.items()}
    assert run(mailbox, 2026, 12, 10, 9, 0) == {} and run(mailbox, 2026, 12, 11, 9, 0) == {}

    # nine emails in all, each its own delivery row, all sent; the mail log's reader of the
    # contract's organisation (its administrator) finds them by the case's code
    rows = deliveries()
    assert len(rows) == 9 and all(d.status == "sent" for d in rows)
    assert {d.template for d in rows} == {"milestone_due", "milestone_overdue"}
    _, reader = make_staff("mail-log-reader", ["admin"], "sesao-sc")
    response = client.get("/notify/messages?correlation_id=SD-AQADV-00042",
                          headers={"Authorization": f"Bearer {reader}"})
    assert response.status_code == 200 and len(response.get_json()) == 9


def test_a_cabinet_day_off_moves_the_reminder_mail(clean, mailbox):
    make_contract([date(2026, 11, 23)])  # Monday 23 Nov 2026: the 1-day reminder would be Fri 20 Nov
    assert sopdesk(["holidays", "add", "2026-11-20", "--name", "วันหยุดพิเศษตามมติคณะรัฐมนตรี"]) == 0
    drain()  # assignment's calendar.changed reaches procurement
    # with Fri 20 off, the 1-day reminder moves to Thu 19 Nov (and the 5-day one to Fri 13 Nov)
    assert set(run(mailbox, 2026, 11, 13, 9, 0)) == {OFFICER, CHAIR, MEMBER_EN}
    assert run(mailbox, 2026, 11, 18, 9, 0) == {}
    caught = run(mailbox, 2026, 11, 19, 9, 0)
    assert str(caught[MEMBER_EN].message["Subject"]) == "[sopdesk] Milestone 1 of contract 12/2570 is due in 1 working day"
    assert run(mailbox, 2026, 11, 20, 9, 0) == {}
