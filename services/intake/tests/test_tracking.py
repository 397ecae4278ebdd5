"""The requester's view of the case, kept from case events that travel through the real broker
from the real engine: status, what happens next and whose role holds it, steps done with their
dates (Buddhist era in Thai), the due date, their documents, what a return asks of them with the
answer form, and why a rejected case was turned down. A guessed code or token shows nothing."""
import io
import json
import re

import pytest
from sqlalchemy import select

from services.assignment.adapters.bus import bus as assignment_bus
from services.intake.adapters.bus import bus
from services.intake.adapters.models import Answer, Attachment, Outbox
from services.intake.tests.conftest import act, counts, csrf_from, files_on_disk, post_json
from services.intake.tests.test_files import EXE, PDF
from services.intake.tests.test_requests import GOOD
from shared.i18n import format_datetime
from shared.messaging import NotReady
from shared.tracking import tracking_token
from sopdesk import testing_events as payloads
from sopdesk.testing import drain

ESARABAN = {"sop": "sesao-sc/esaraban-account", "requester_name": "ครูวิไล ใจดี", "requester_email": "wilai@school.example",
            "requester_unit": "โรงเรียนบ้านดอน", "subject": "ขอบัญชีสารบรรณ", "details": "ครูย้ายมาใหม่",
            "consent": True, "position": "ครูชำนาญการ", "work_group": "กลุ่มบริหารงานบุคคล",
            "official_email": "wilai@obec.example", "account_request": "new", "access_level": "user"}


def track_url(code: str, **args) -> str:
    extra = "".join(f"&{k}={v}" for k, v in args.items())
    return f"/intake/track/{code}?token={tracking_token(code)}{extra}"


def view_json(client, code, lang="th") -> dict:
    response = client.get(track_url(code, lang=lang), headers={"Accept": "application/json"})
    assert response.status_code == 200
    return response.get_json()


def test_the_tracking_page_follows_the_case(client):
    code = post_json(client, "/intake/requests", GOOD).get_json()["tracking_code"]
    before = view_json(client, code)
    assert before["status"] == "submitted" and before["steps"] == [] and before["next"] is None
    assert "กำลังเปิดเรื่อง" in client.get(track_url(code)).get_data(as_text=True)

    drain()  # the request's event to assignment, the case's events back to intake (through Redis)
    view = view_json(client, code)
    assert view["status"] == "open" and view["current_step"] == "receive-form"
    assert view["next"]["title"] == "รับแจ้งซ่อมจากแบบฟอร์มแจ้งซ่อม" and view["next"]["role"] == "officer"
    assert view["next"]["role_text"] == "เจ้าหน้าที่ ICT"
    english = view_json(client, code, "en")
    assert english["steps"][0]["title"] == "Receive the repair form" and english["status_text"] == "In progress"
    # the English choice was remembered in a cookie; switch back to Thai
    html = client.get(track_url(code, lang="th"), headers={"Accept": "text/html"}).get_data(as_text=True)
    assert code in html and "เจ้าหน้าที่ ICT" in html and "2569" in html  # Buddhist era
    assert "somchai@school.example" not in json.dumps(view) + html  # no contacts on the page


def test_steps_done_with_buddhist_era_dates_and_what_happens_next(client, staff_token):
    code = post_json(client, "/intake/requests", {**GOOD, "subject": "<script>alert(1)</script>"}).get_json()[
        "tracking_code"]
    drain()
    act(client, staff_token, code, "receive-form", "done")
    view = view_json(client, code)
    [done] = view["steps_done"]
    assert done["step"] == "receive-form" and done["completed_at"]
    assert view["next"]["step"] == "check-report" and view["next"]["role_text"] == "เจ้าหน้าที่ ICT"
    html = client.get(track_url(code, lang="th")).get_data(as_text=True)
    steps = html[html.index('id="steps"'):]
    completed = format_datetime(_iso(done["completed_at"]), "th")
    assert completed in steps and str(int(completed.split()[2])) == str(int(done["completed_at"][:4]) + 543)
    assert "ตรวจสอบตามรายงานการแจ้งซ่อม โดยเจ้าหน้าที่ ICT" in html
    # a script in the subject shows as text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "tester" not in html  # the role, never the person
    english = client.get(track_url(code, lang="en")).get_data(as_text=True)
    assert format_datetime(_iso(done["completed_at"]), "en") in english
    assert "Check the report, by the ICT officer" in english


def _iso(text):
    from datetime import datetime

    return datetime.fromisoformat(text)


def test_the_due_date_of_a_case_with_a_deadline_shows_in_the_buddhist_era(client):
    body = {"sop": "onesqa/equipment-support", "requester_name": "นายสมชาย", "requester_email": "s@onesqa.example",
            "requester_unit": "สำนักงาน", "subject": "จอดับ", "details": "เปิดไม่ติด", "consent": True,
            "problem": "จอไม่แสดงผล"}
    code = post_json(client, "/intake/requests", body).get_json()["tracking_code"]
    drain()
    view = view_json(client, code)
    assert view["due_at"]
    html = client.get(track_url(code, lang="th")).get_data(as_text=True)
    due = html[html.index('id="due"'):][:200]
    assert format_datetime(_iso(view["due_at"]), "th") in due and " 25" in due  # 25xx: Buddhist era


def test_a_wrong_token_or_unknown_code_shows_nothing(client):
    code = post_json(client, "/intake/requests", GOOD).get_json()["tracking_code"]
    answers = []
    for url in (f"/intake/track/{code}", f"/intake/track/{code}?token=guess",
                f"/intake/track/SD-ZZZZZ-ZZZZZ?token={tracking_token('SD-ZZZZZ-ZZZZZ')}"):
        response = client.get(url, headers={"Accept": "application/json"})
        assert response.status_code == 404
        assert "สมชาย" not in response.get_data(as_text=True)
        answers.append(response.get_json())
    assert answers[0] == answers[1] == answers[2]  # a guessed code tells nothing
    for url in (f"/intake/track/{code}/answer?token=guess", f"/intake/track/{code}/survey?token=guess"):
        assert client.post(url, data={"note": "x"}).status_code == 404


def test_a_case_event_before_its_request_waits(clean):
    event = payloads.envelope("request.submitted", payloads.request_submitted("SD-ORPHN-00001"))
    assignment_bus.consume(event)
    from services.assignment.adapters.models import Outbox as AssignmentOutbox

    with assignment_bus.session() as session:
        opened = session.scalar(select(AssignmentOutbox.envelope).where(AssignmentOutbox.type == "case.opened"))
    with pytest.raises(NotReady):
        bus.consume(opened)


# ---------------------------------------------------------------------------------------------
# a return for correction, and the requester's answer


def returned_case(client, staff_token, note="อีเมลราชการสะกดผิด โปรดแก้ไขและแนบแบบฟอร์มที่ลงนามแล้ว") -> str:
    code = post_json(client, "/intake/requests", ESARABAN).get_json()["tracking_code"]
    drain()
    act(client, staff_token, code, "receive-form", "done")
    act(client, staff_token, code, "check-details", "incomplete", note=note)
    return code


def answer_post(client, code, data, lang="th", files=None, with_token=True):
    form = dict(data)
    if with_token:  # the session's token (the same on every sopdesk page of this session)
        form["csrf_token"] = csrf_from(client, "/intake/forms/sesao-sc/repair")
    if files:
        form["files"] = [(io.BytesIO(content), name) for name, content in files]
    return client.post(f"/intake/track/{code}/answer?token={tracking_token(code)}&lang={lang}", data=form,
                       content_type="multipart/form-data", headers={"Accept": "text/html"})


def test_a_return_shows_what_is_asked_and_the_answer_is_sent_once(client, staff_token, files_dir):
    code = returned_case(client, staff_token, note="<script>alert(2)</script> อีเมลผิด")
    view = view_json(client, code)
    assert view["next"]["step"] == "ask-requester" and view["next"]["waiting_on"] == "requester"
    assert view["asked"] == {"step": "ask-requester", "round": 1, "note": "<script>alert(2)</script> อีเมลผิด",
                             "answered": False, "answer_url": view["asked"]["answer_url"], "choices": []}
    html = client.get(track_url(code, lang="th")).get_data(as_text=True)
    asked = html[html.index('id="asked"'):]
    assert "&lt;script&gt;alert(2)&lt;/script&gt; อีเมลผิด" in asked and "<script>alert(2)" not in html
    assert 'action="/intake/track/' in asked and 'name="note"' in asked and 'type="file"' in asked

    response = answer_post(client, code, {"note": "แก้อีเมลเป็น wilai@obec.go.th แล้ว"},
                           files=[("แบบฟอร์มลงนาม.pdf", PDF)])
    assert response.status_code == 303
    assert response.headers["Location"].endswith("answered=1#asked")
    with bus.session() as session:
        events = session.scalars(select(Outbox).where(Outbox.type == "request.answered")).all()
        [attachment] = session.scalars(select(Attachment)).all()
        [reply] = session.scalars(select(Answer)).all()
    assert len(events) == 1
    payload = events[0].envelope["payload"]
    assert events[0].correlation_id == code
    assert (payload["tracking_code"], payload["step"], payload["round"]) == (code, "ask-requester", 1)
    assert payload["note"] == "แก้อีเมลเป็น wilai@obec.go.th แล้ว" and payload["answered_at"]
    assert payload["attachments"] == [{"id": attachment.id, "field": "files", "name": "แบบฟอร์มลงนาม.pdf",
                                       "content_type": "application/pdf", "size": len(PDF)}]
    assert (attachment.purpose, attachment.uploaded_by, attachment.answer_id) == ("answer", "requester", reply.id)
    page = client.get(track_url(code, answered=1)).get_data(as_text=True)
    assert "ได้รับคำตอบของท่านแล้ว" in page and 'name="note"' not in page
    assert "แบบฟอร์มลงนาม.pdf" in page  # their documents, with a link

    again = answer_post(client, code, {"note": "ส่งอีกครั้ง"})
    assert again.status_code == 409 and "ท่านตอบในรอบนี้แล้ว" in again.get_data(as_text=True)
    assert counts()["answers"] == 1 and len(files_on_disk(files_dir)) == 1

    drain()  # assignment resumes the case: the officer checks the details again (round 2)
    resumed = view_json(client, code)
    assert resumed["next"]["step"] == "check-details" and resumed["next"]["round"] == 2
    assert resumed["asked"] is None
    late = answer_post(client, code, {"note": "อีกครั้ง"})
    assert late.status_code == 409 and "ขณะนี้ไม่มีสิ่งใดรอคำตอบจากท่าน" in late.get_data(as_text=True)


def test_a_second_return_is_a_new_round_with_its_own_answer(client, staff_token):
    code = returned_case(client, staff_token)
    assert answer_post(client, code, {"note": "แก้แล้ว"}).status_code == 303
    drain()
    act(client, staff_token, code, "check-details", "incomplete", note="ยังขาดกลุ่มงาน")
    view = view_json(client, code)
    assert view["asked"]["round"] == 2 and view["asked"]["note"] == "ยังขาดกลุ่มงาน"
    assert answer_post(client, code, {"note": "เพิ่มกลุ่มงานแล้ว"}).status_code == 303
    with bus.session() as session:
        rounds = [e.envelope["payload"]["round"] for e in
                  session.scalars(select(Outbox).where(Outbox.type == "request.answered").order_by(Outbox.created_at))]
    assert rounds == [1, 2]


def test_a_bad_answer_gets_messages_and_stores_nothing(client, staff_token, files_dir):
    code = returned_case(client, staff_token)
    empty = answer_post(client, code, {"note": "  "})
    assert empty.status_code == 422 and "กรุณากรอกช่องนี้" in empty.get_data(as_text=True)
    bad_file = answer_post(client, code, {"note": "<b>แก้แล้ว</b>"}, files=[("form.pdf", EXE)])
    html = bad_file.get_data(as_text=True)
    assert bad_file.status_code == 422 and "form.pdf: ไม่รับไฟล์ชนิดนี้" in html
    assert "&lt;b&gt;แก้แล้ว&lt;/b&gt;" in html and "โปรดเลือกไฟล์อีกครั้ง" in html  # refilled, escaped
    no_token = answer_post(client, code, {"note": "แก้แล้ว"}, with_token=False)
    assert no_token.status_code == 403
    with bus.session() as session:
        assert session.scalars(select(Outbox).where(Outbox.type == "request.answered")).all() == []
    assert counts()["answers"] == 0 and files_on_disk(files_dir) == []


def test_json_answers_need_no_csrf_token(client, staff_token):
    code = returned_case(client, staff_token)
    response = post_json(client, f"/intake/track/{code}/answer?token={tracking_token(code)}", {"note": "แก้แล้ว"})
    assert response.status_code == 201
    assert response.get_json()["step"] == "ask-requester" and response.get_json()["round"] == 1
    again = post_json(client, f"/intake/track/{code}/answer?token={tracking_token(code)}", {"note": "อีก"},
                      {"Accept-Language": "en"})
    assert again.status_code == 409 and "answered this round already" in again.get_json()["message"]


def test_nothing_to_answer_on_a_case_that_waits_on_no_one(client):
    code = post_json(client, "/intake/requests", GOOD).get_json()["tracking_code"]
    drain()
    response = post_json(client, f"/intake/track/{code}/answer?token={tracking_token(code)}", {"note": "สวัสดี"})
    assert response.status_code == 409
    assert counts()["answers"] == 0


# ---------------------------------------------------------------------------------------------
# a rejection


def test_a_rejected_case_says_why(client, clean):
    from sopdesk.testing import make_staff

    staff_token = make_staff("onesqa-head", ["officer", "head"], "onesqa")[1]  # the case is onesqa's
    body = {"sop": "onesqa/eqa-data-request", "requester_name": "ดร.สมหญิง", "requester_email": "s@uni.example",
            "requester_unit": "มหาวิทยาลัย", "subject": "ขอข้อมูลผลประเมิน", "details": "เพื่อการวิจัย",
            "consent": True, "purpose": "วิจัย", "scope": "ทุกโรงเรียน", "affiliation": "คณะครุศาสตร์",
            "delivery_channel": "email"}
    code = post_json(client, "/intake/requests", body).get_json()["tracking_code"]
    drain()
    act(client, staff_token, code, "head-review", "decline", note="ข้อมูลรายสถานศึกษาเปิดเผยไม่ได้ตามระเบียบ")
    view = view_json(client, code)
    assert view["rejection"] == "ข้อมูลรายสถานศึกษาเปิดเผยไม่ได้ตามระเบียบ"
    act(client, staff_token, code, "inform-requester", "done", message="ขออภัย ไม่สามารถให้ข้อมูลได้")
    closed = view_json(client, code)
    assert closed["status"] == "closed" and closed["result"] == "rejected"
    assert closed["result_text"] == "ไม่อนุมัติ / ปฏิเสธ" and closed["next"] is None
    assert closed["rejection"] == "ข้อมูลรายสถานศึกษาเปิดเผยไม่ได้ตามระเบียบ"  # the closing step adds no note
    html = client.get(track_url(code, lang="th")).get_data(as_text=True)
    assert 'id="rejection"' in html and "ข้อมูลรายสถานศึกษาเปิดเผยไม่ได้ตามระเบียบ" in html
    assert re.search(r'id="closed">\d+ \S+ 25\d\d', html)  # closed, in the Buddhist era


def test_a_case_s_events_handled_in_one_batch_keep_one_row_per_step(client, staff_token, caplog):
    """The projection as a worker that has fallen behind sees it: the case's opening, a step
    done and the next step started, all in one batch (one transaction, flushed once at its end):
    each step is one row, in its order, as when the events come one by one."""
    from services.intake.adapters.models import Request, RequestStep
    from shared.messaging import flush_relays
    from sopdesk.testing import queued_events

    code = post_json(client, "/intake/requests", GOOD).get_json()["tracking_code"]
    flush_relays()
    [submitted] = [e for e in queued_events("assignment") if e["correlation_id"] == code]
    assignment_bus.consume(submitted)
    response = post_json(client, f"/assignment/cases/{code}/actions", {"step": "receive-form", "outcome": "done"},
                         {"Authorization": f"Bearer {staff_token}"})
    assert response.status_code == 200, response.get_json()
    flush_relays()
    events = [e for e in queued_events("intake") if e["correlation_id"] == code]
    assert [e["type"] for e in events] == ["case.opened", "case.step_started", "case.step_completed",
                                           "case.step_started"]
    with caplog.at_level("INFO", logger="shared.messaging"):
        outcome = bus.consume_batch(events)
    assert outcome.failed == [] and not any(r.duplicate for r in outcome.results)
    # in the one pass, not rescued by the one-by-one pass after a failure
    assert not [r for r in caplog.records if "failed together" in r.getMessage()]
    with bus.session() as session:
        rows = session.execute(select(RequestStep.position, RequestStep.step, RequestStep.status)
                               .join(Request, Request.id == RequestStep.request_id)
                               .where(Request.tracking_code == code).order_by(RequestStep.position)).all()
    assert [tuple(r) for r in rows] == [(1, "receive-form", "done"), (2, "check-report", "active")]
    view = view_json(client, code)
    assert [s["step"] for s in view["steps_done"]] == ["receive-form"] and view["next"]["step"] == "check-report"


def _opened_cases(client, count: int) -> list[str]:
    """``count`` requests filed and their cases opened by assignment: their tracking codes (their
    case events wait in intake's queue)."""
    from shared.messaging import flush_relays
    from sopdesk.testing import queued_events

    codes = [post_json(client, "/intake/requests", {**GOOD, "subject": f"เรื่องที่ {n}"}).get_json()["tracking_code"]
             for n in range(count)]
    flush_relays()
    for submitted in [e for e in queued_events("assignment") if e["correlation_id"] in codes]:
        assignment_bus.consume(submitted)
    flush_relays()
    return codes


def test_a_batch_of_several_cases_events_reads_their_requests_in_one_statement(client):
    """A worker behind takes many cases' events in one batch: the requests they are about are
    read once for the batch (``before_batch``), not once per event, and each event still lands
    on its own request."""
    from sopdesk.testing import queued_events, statements_sent

    codes = _opened_cases(client, 3)
    events = [e for e in queued_events("intake") if e["correlation_id"] in codes]
    assert sorted(e["correlation_id"] for e in events if e["type"] == "case.opened") == sorted(codes)
    outcome, sent = statements_sent(bus.engine, lambda: bus.consume_batch(events))
    reads = [s for s in sent if s.startswith("SELECT") and "FROM requests" in s]
    assert outcome.failed == []
    assert len(reads) == 1, reads
    # and their steps once for the batch too, not once per step event
    assert len([s for s in sent if s.startswith("SELECT") and "FROM request_steps" in s]) == 1, sent
    for code in codes:
        view = view_json(client, code)
        assert view["status"] == "open" and view["current_step"] == "receive-form", view


def test_a_batch_of_several_cases_moving_on_keeps_one_row_per_step_each(client, staff_token, caplog):
    """Two cases opened, their first steps done and their next steps started, all in one batch:
    the steps read for the batch count the rows the batch adds, so each step is one row, in its
    order, on its own request."""
    from services.intake.adapters.models import Request, RequestStep
    from shared.messaging import flush_relays
    from sopdesk.testing import queued_events

    codes = _opened_cases(client, 2)
    for code in codes:
        response = post_json(client, f"/assignment/cases/{code}/actions", {"step": "receive-form", "outcome": "done"},
                             {"Authorization": f"Bearer {staff_token}"})
        assert response.status_code == 200, response.get_json()
    flush_relays()
    events = [e for e in queued_events("intake") if e["correlation_id"] in codes]
    assert sorted(e["type"] for e in events) == sorted(
        ["case.opened", "case.step_started", "case.step_completed", "case.step_started"] * 2)
    with caplog.at_level("INFO", logger="shared.messaging"):
        outcome = bus.consume_batch(events)
    assert outcome.failed == [] and not [r for r in caplog.records if "failed together" in r.getMessage()]
    for code in codes:
        with bus.session() as session:
            rows = session.execute(select(RequestStep.position, RequestStep.step, RequestStep.status)
                                   .join(Request, Request.id == RequestStep.request_id)
                                   .where(Request.tracking_code == code).order_by(RequestStep.position)).all()
        assert [tuple(r) for r in rows] == [(1, "receive-form", "done"), (2, "check-report", "active")], code
