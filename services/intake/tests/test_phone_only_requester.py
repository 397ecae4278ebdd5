"""A telephone consultation for a caller with no email: sesao-sc's manual 6.1 "การรับบริการขอ
คำปรึกษาทางโทรศัพท์" (the service centre's number 077-205317) logs the call; the caller may have a
phone only. Staff filing a telephone or walk-in request may leave the email out when they give
the phone number; the case opens and is worked as usual, and notify writes no email to a
requester who has none, without failing. Anyone else, or another channel, still gives an email."""
from __future__ import annotations

from sqlalchemy import select

from services.assignment.adapters.bus import bus as assignment_bus
from services.assignment.adapters.models import Case, CaseStep
from services.intake.adapters.bus import bus
from services.intake.adapters.models import Request
from services.intake.tests.conftest import NOTHING, counts
from services.intake.tests.test_security import desk_login
from services.intake.tests.test_staff_filing import desk_post
from services.notify.adapters.bus import bus as notify_bus
from services.notify.adapters.models import Contact, Delivery
from sopdesk.testing import drain

FORM_URL = "/intake/forms/sesao-sc/consultation"
CALL = {"sop": "sesao-sc/consultation", "requester_name": "ครูสมหญิง ใจเย็น", "requester_phone": "077-205317",
        "requester_unit": "โรงเรียนบ้านควน", "subject": "เข้าระบบสารบรรณไม่ได้", "details": "ลืมรหัสผ่าน",
        "consent": "on"}


def test_a_telephone_caller_with_only_a_phone_number_is_logged_and_gets_no_email(client, staff_token):
    """"รับแจ้งปัญหาหรือขอรับบริการทางโทรศัพท์" for a caller who has a phone number and no email."""
    desk_login(client)
    page = client.get(f"{FORM_URL}?lang=th").get_data(as_text=True)
    email_input = page[page.index('id="requester_email"'):].split(">", 1)[0]
    assert " required" not in email_input  # the desk's form lets staff leave it out
    assert '<option value="walk-in">มาติดต่อด้วยตนเอง (walk-in)</option>' in page
    response = desk_post(client, {**CALL, "channel": "telephone"}, form_url=FORM_URL)
    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    with bus.session() as session:
        [request] = session.scalars(select(Request)).all()
    assert request.requester_email is None and request.requester_phone == "077-205317"
    assert request.channel == "telephone" and request.filed_by == "tester"

    drain()  # a task that failed would fail the test here
    with assignment_bus.session() as session:
        case = session.scalar(select(Case).where(Case.tracking_code == request.tracking_code))
        [step] = session.scalars(select(CaseStep).where(CaseStep.case_id == case.id)).all()
    assert case.status == "open" and step.step == "receive-call" and step.assignee == "tester"
    with notify_bus.session() as session:
        contact = session.get(Contact, request.tracking_code)
        to_requester = session.scalars(select(Delivery).where(Delivery.correlation_id == request.tracking_code,
                                                              Delivery.template == "received")).all()
    assert contact.email is None and contact.name == "ครูสมหญิง ใจเย็น"
    assert to_requester == []


def test_a_walk_in_caller_may_give_a_phone_only_too(client, staff_token):
    desk_login(client)
    response = desk_post(client, {**CALL, "channel": "walk-in"}, form_url=FORM_URL)
    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    with bus.session() as session:
        [request] = session.scalars(select(Request)).all()
    assert request.channel == "walk-in" and request.requester_email is None


def test_without_email_a_phone_number_is_asked_for_in_the_pages_language(client, staff_token):
    desk_login(client)
    for lang, words in (("th", "กรุณากรอกหมายเลขโทรศัพท์หรืออีเมล"), ("en", "Give a phone number or an email.")):
        no_phone = {k: v for k, v in CALL.items() if k != "requester_phone"}
        response = desk_post(client, {**no_phone, "channel": "telephone"}, lang=lang, form_url=FORM_URL)
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert 'id="requester_phone-error"' in page and words in page
    assert counts() == NOTHING


def test_a_paper_request_and_the_public_still_give_an_email(client, staff_token):
    """A letter is answered in writing: only a telephone or walk-in caller may have a phone only.
    The public's form and API always ask for an email."""
    desk_login(client)
    response = desk_post(client, {**CALL, "channel": "paper"}, form_url=FORM_URL)
    assert response.status_code == 422
    assert "เว้นได้เฉพาะคำขอทางโทรศัพท์หรือมาติดต่อด้วยตนเอง" in response.get_data(as_text=True)
    client.post("/assignment/logout")
    public = client.post("/intake/requests", json={**CALL, "consent": True, "channel": "telephone"})
    assert public.status_code == 422 and "requester_email" in public.get_json()["errors"]
    assert counts() == NOTHING
