"""Escalation emails (issue 14, item 5) and less noise (item 9), read back from the real SMTP
listener: the heads hear of a missed deadline, then the director, in Thai and English, naming
the case, its SOP and step, how late in working days, with a link to the case on the desk; a
step someone gave themselves by their own action brings them no "new work" email."""
import pytest

from services.notify.adapters.bus import bus
from services.notify.tests.factory import CHECK, SOP, SOP_TITLE, contact, deliveries, mail_of, step
from services.notify.tests.test_emails import assert_desk_link
from sopdesk import testing_events as payloads

LANGUAGES = ("th", "en")
MISSED = "2026-12-16T03:00:00+00:00"  # Wednesday 16 December 2026, 10:00 in Bangkok
MISSED_TEXT = {"th": "16 ธันวาคม 2569 10:00 น.", "en": "16 December 2026 10:00"}
DIRECTOR_AT = "2026-12-18T03:01:00+00:00"


def case_event(event_type, code, **fields):
    """A case event as assignment writes it: the case's state, then the event's own fields."""
    return payloads.envelope(event_type, {**payloads.case_state(code, sop=SOP), **fields})


def breached_step(assignee=None, assignee_contact=None):
    return {"key": "check", "round": 1, "role": "officer", "assignee": assignee, "title": CHECK,
            "started_at": "2026-12-14T03:00:00+00:00", "assignee_contact": assignee_contact}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_late_step_nobody_holds_tells_the_heads_in_their_language_how_late_and_when_the_director_hears(
        clean, mailbox, language):
    code = "SD-ESCEM-00001"
    heads = [contact("boss", "boss@office.example", language, name="หัวหน้าสมหญิง")]
    bus.consume(case_event("sla.breached", code, deadline="step", missed_due_at=MISSED, subject="เว็บไซต์",
                           step=breached_step(), heads=["boss"], head_contacts=heads, level=1,
                           heads_from="role-units", sop_title=SOP_TITLE, working_days_late=2,
                           escalate_at=DIRECTOR_AT))
    [delivery] = deliveries("escalation")
    assert delivery.recipient == "boss@office.example" and delivery.language == language
    mail = mail_of(mailbox, delivery)
    assert str(mail.message["Subject"]) == {
        "th": f"[แจ้งหัวหน้า] เกินกำหนดของขั้นตอน เลยกำหนด 2 วันทำการ: {code} · เว็บไซต์",
        "en": f"[to the heads] Overdue (step deadline), 2 working days late: {code} · เว็บไซต์"}[language]
    nobody = {"th": "ยังไม่มีผู้รับผิดชอบ", "en": "nobody holds it"}[language]
    director = {"th": "18 ธันวาคม 2569 10:01 น.", "en": "18 December 2026 10:01"}[language]
    for part in (mail.text(), mail.html()):
        assert SOP_TITLE[language] in part and CHECK[language] in part and MISSED_TEXT[language] in part
        assert nobody in part and director in part and "หัวหน้าสมหญิง" in part
    assert_desk_link(code, mail)


def test_the_holder_reads_overdue_and_a_head_who_holds_it_is_not_written_twice(clean, mailbox):
    code = "SD-ESCEM-00002"
    somchai = contact("somchai", "somchai@office.example")
    bus.consume(case_event("sla.breached", code, deadline="step", missed_due_at=MISSED, subject="จอฟ้า",
                           step=breached_step("somchai", somchai), heads=["somchai", "boss"],
                           head_contacts=[somchai, contact("boss", "boss@office.example")], level=1,
                           heads_from="holder-unit", sop_title=SOP_TITLE, working_days_late=0, escalate_at=None))
    assert sorted((d.template, d.recipient) for d in deliveries()) == [
        ("escalation", "boss@office.example"), ("overdue", "somchai@office.example")]
    assert len(mailbox.all()) == 2


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_director_hears_when_the_case_is_still_late_after_the_working_days_given(clean, mailbox, language):
    """ONESQA: "ภายใน 2 วันทำการ" missed and still open one working day after the heads heard."""
    code = "SD-ESCEM-00003"
    bus.consume(case_event("sla.escalated", code, deadline="case", missed_due_at=MISSED, subject="เว็บไซต์",
                           sop_title=SOP_TITLE, step=None, told_heads_at="2026-12-16T03:01:00+00:00",
                           escalate_after=1, working_days_late=1, directors=["director"], current_step_title=CHECK,
                           director_contacts=[contact("director", "director@office.example", language)]))
    [delivery] = deliveries("escalation")
    mail = mail_of(mailbox, delivery)
    assert mail.envelope_to == ("director@office.example",)
    assert str(mail.message["Subject"]) == {
        "th": f"[แจ้งผู้อำนวยการ] เกินกำหนดของทั้งเรื่อง เลยกำหนด 1 วันทำการ: {code} · เว็บไซต์",
        "en": f"[to the director] Overdue (case deadline), 1 working day late: {code} · เว็บไซต์"}[language]
    heads_told = {"th": "16 ธันวาคม 2569 10:01 น.", "en": "16 December 2026 10:01"}[language]
    for part in (mail.text(), mail.html()):
        assert SOP_TITLE[language] in part and MISSED_TEXT[language] in part and heads_told in part
        assert CHECK[language] in part  # the step the case is at
    assert_desk_link(code, mail)


def test_a_step_a_head_gave_himself_by_his_own_action_brings_him_no_new_work_email(clean, mailbox):
    """Email noise: "a head gets a 'new work' email for each step he assigns to himself and acts on
    at once"; someone else's step still does."""
    boss = contact("boss", "boss@office.example")
    bus.consume(case_event("case.step_started", "SD-SELFA-00001", subject="จอฟ้า", self_assigned=True,
                           step=step(assignee="boss", assignee_contact=boss)))
    assert deliveries() == [] and mailbox.all() == []
    bus.consume(case_event("case.step_started", "SD-SELFA-00002", subject="จอฟ้า", self_assigned=False,
                           step=step(assignee="boss", assignee_contact=boss)))
    assert [d.template for d in deliveries()] == ["assigned"]
