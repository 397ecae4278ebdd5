"""The satisfaction survey of a closed case: shown with the emailed score preselected (a GET never
records anything: mail scanners open links), answered once per case by a form with the page's
CSRF token or by JSON, announced as survey.answered in the same transaction, thanked for."""
from sqlalchemy import select

from services.intake.adapters.bus import bus
from services.intake.adapters.models import Outbox, SurveyAnswer
from services.intake.tests.conftest import act, counts, csrf_from, post_json
from services.intake.tests.test_tracking import ESARABAN
from shared.tracking import survey_url, tracking_token
from sopdesk.testing import drain


def closed_case(client, staff_token) -> str:
    code = post_json(client, "/intake/requests", ESARABAN).get_json()["tracking_code"]
    drain()
    for step, outcome in (("receive-form", "done"), ("check-details", "ok"), ("record-account", "done")):
        act(client, staff_token, code, step, outcome)
    # "แจ้งสิทธิ์เข้าใช้งาน": the step says the rights in words
    act(client, staff_token, code, "notify-access", "done", message="สิทธิ์ผู้ใช้งานระดับสารบรรณกลุ่ม")
    return code


def survey_path(code: str, **args) -> str:
    extra = "".join(f"&{k}={v}" for k, v in args.items())
    return f"/intake/track/{code}/survey?token={tracking_token(code)}{extra}"


def survey_events() -> list[dict]:
    with bus.session() as session:
        return [e.envelope for e in session.scalars(select(Outbox).where(Outbox.type == "survey.answered"))]


def test_the_survey_opens_only_once_the_case_is_closed(client):
    code = post_json(client, "/intake/requests", ESARABAN).get_json()["tracking_code"]
    drain()
    page = client.get(survey_path(code))
    assert page.status_code == 409 and "แบบประเมินเปิดให้ตอบเมื่อปิดเรื่องแล้วเท่านั้น" in page.get_data(as_text=True)
    early = post_json(client, survey_path(code), {"score": 5}, {"Accept-Language": "en"})
    assert early.status_code == 409 and "once the request is closed" in early.get_json()["message"]
    assert counts()["surveys"] == 0 and survey_events() == []


def test_the_emailed_score_is_preselected_and_a_get_records_nothing(client, staff_token):
    code = closed_case(client, staff_token)
    assert survey_url(code, 4).endswith(survey_path(code, score=4))  # the link the closing email carries
    html = client.get(survey_path(code, score=4)).get_data(as_text=True)
    assert 'value="4" checked' in html and html.count(" checked") == 1
    assert "ท่านพึงพอใจต่อการให้บริการครั้งนี้เพียงใด" in html and "5 มากที่สุด" in html
    english = client.get(survey_path(code, score=9, lang="en")).get_data(as_text=True)
    assert "How satisfied are you" in english and " checked" not in english  # 9 is no score: nothing chosen
    assert counts()["surveys"] == 0 and survey_events() == []
    # the tracking page invites to it
    track = client.get(f"/intake/track/{code}?token={tracking_token(code)}").get_data(as_text=True)
    assert f"/intake/track/{code}/survey?token={tracking_token(code)}" in track


def test_a_form_answer_is_stored_once_announced_and_thanked_for(client, staff_token):
    code = closed_case(client, staff_token)
    token = csrf_from(client, survey_path(code, score=4))
    response = client.post(survey_path(code, lang="th"), data={"score": "4", "comment": "รวดเร็ว <b>ดีมาก</b>",
                                                                "csrf_token": token})
    assert response.status_code == 303
    thanks = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "ขอบคุณสำหรับการประเมิน" in thanks and "4 จาก 5" in thanks
    [envelope] = survey_events()
    payload = envelope["payload"]
    assert envelope["correlation_id"] == code and envelope["source"] == "intake"
    assert {k: payload[k] for k in ("tracking_code", "sop", "score", "comment", "requester_unit")} == {
        "tracking_code": code, "sop": "sesao-sc/esaraban-account", "score": 4, "comment": "รวดเร็ว <b>ดีมาก</b>",
        "requester_unit": "โรงเรียนบ้านดอน"}
    assert payload["answered_at"]
    with bus.session() as session:
        row = session.scalar(select(SurveyAnswer))
    assert (row.score, row.comment) == (4, "รวดเร็ว <b>ดีมาก</b>")

    again = client.post(survey_path(code), data={"score": "1", "csrf_token": token})
    assert again.status_code == 409 and "ประเมินได้ครั้งเดียวต่อเรื่อง" in again.get_data(as_text=True)
    as_json = post_json(client, survey_path(code), {"score": 2})
    assert as_json.status_code == 409
    assert counts()["surveys"] == 1 and len(survey_events()) == 1
    track = client.get(f"/intake/track/{code}?token={tracking_token(code)}").get_data(as_text=True)
    assert "ท่านประเมินความพึงพอใจแล้ว 4 จาก 5" in track
    drain()  # assignment keeps the score for its reports
    from services.assignment.adapters.bus import bus as assignment_bus
    from services.assignment.adapters.models import SurveyScore

    with assignment_bus.session() as session:
        assert session.scalar(select(SurveyScore.score)) == 4


def test_bad_survey_answers_get_messages_and_store_nothing(client, staff_token):
    code = closed_case(client, staff_token)
    token = csrf_from(client, survey_path(code))
    for data in ({"score": "0"}, {"score": "6"}, {"score": "สี่"}, {}, {"score": "4.5"}):
        response = client.post(survey_path(code), data={**data, "comment": "<script>x</script>", "csrf_token": token})
        html = response.get_data(as_text=True)
        assert response.status_code == 422, data
        assert "เลือกคะแนน 1 ถึง 5" in html and "&lt;script&gt;x&lt;/script&gt;" in html
    for body in ({"score": True}, {"score": 4.5}, {"score": "five"}, {"score": 3, "comment": "x" * 2001},
                 {"score": 3, "comment": "a\x00b"}):
        assert post_json(client, survey_path(code), body).status_code == 422, body
    no_token = client.post(survey_path(code), data={"score": "5"})
    assert no_token.status_code == 403
    wrong = post_json(client, f"/intake/track/{code}/survey?token=guess", {"score": 5})
    assert wrong.status_code == 404
    assert counts()["surveys"] == 0 and survey_events() == []


def test_a_json_answer(client, staff_token):
    code = closed_case(client, staff_token)
    response = post_json(client, survey_path(code), {"score": 5, "comment": None})
    assert response.status_code == 201
    assert response.get_json()["score"] == 5
    assert survey_events()[0]["payload"]["comment"] is None
