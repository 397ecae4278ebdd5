"""Who may post: sopdesk's own forms carry the session's CSRF token; other sites' forms are taken
only from the allowed origins (channel external); JSON and staff bearer posts need no token; the
desk cookie counts only with the desk's token. And how often: per-address limits in Redis, with
Retry-After, never blocking filing when Redis is away."""
import logging
import re

import pytest
from sqlalchemy import select

from services.intake.adapters.bus import bus
from services.intake.adapters.models import Request
from services.intake.tests.conftest import NOTHING, counts, csrf_from, post_json
from services.intake.tests.test_requests import GOOD, REPAIR_FORM
from shared.tracking import tracking_token

SCHOOL = "https://www.school.ac.th"
FORM = {**GOOD, "consent": "on"}


def plain_form_post(client, headers: dict, data: dict | None = None):
    return client.post("/intake/requests", data=data or FORM, headers={"Accept": "text/html", **headers})


def test_a_form_post_without_the_token_from_nowhere_is_refused_and_stores_nothing(client, settings):
    settings(allowed_origins=(SCHOOL,))
    for headers in ({}, {"Origin": "https://evil.example"}, {"Referer": "https://evil.example/form.html"},
                    {"Origin": "null"}, {"Origin": "https://www.school.ac.th.evil.example"}):
        response = plain_form_post(client, headers)
        html = response.get_data(as_text=True)
        assert response.status_code == 403, headers
        assert "แบบฟอร์มหมดอายุ" in html and "ยังไม่ได้บันทึกข้อมูลใด ๆ" in html
        assert 'name="csrf_token"' in html  # the form again, with a fresh token, to send it properly
    as_json = plain_form_post(client, {"Accept": "application/json", "Accept-Language": "en"})
    assert as_json.status_code == 403 and "Nothing was stored" in as_json.get_json()["message"]
    assert counts() == NOTHING


def test_a_wrong_or_stale_token_is_refused(client):
    csrf_from(client, REPAIR_FORM)  # the session has a token...
    response = plain_form_post(client, {}, {**FORM, "csrf_token": "not-the-token"})  # ...this is not it
    assert response.status_code == 403
    assert counts() == NOTHING


def test_the_right_token_is_a_web_filing(client):
    token = csrf_from(client, REPAIR_FORM)
    response = plain_form_post(client, {}, {**FORM, "csrf_token": token})
    assert response.status_code == 303
    with bus.session() as session:
        assert session.scalar(select(Request.channel)) == "web"


@pytest.mark.parametrize("headers", [
    {"Origin": SCHOOL},
    {"Origin": "HTTPS://WWW.SCHOOL.AC.TH"},
    {"Referer": f"{SCHOOL}/services/repair.html?x=1"},  # no Origin (older browsers): the Referer's origin
])
def test_an_allowed_sites_form_is_an_external_filing(client, settings, headers):
    settings(allowed_origins=(SCHOOL,))
    response = plain_form_post(client, headers)
    assert response.status_code == 303, response.get_data(as_text=True)[-500:]
    with bus.session() as session:
        assert session.scalar(select(Request.channel)) == "external"


def test_the_origin_counts_before_the_referer(client, settings):
    settings(allowed_origins=(SCHOOL,))
    response = plain_form_post(client, {"Origin": "https://evil.example", "Referer": f"{SCHOOL}/form"})
    assert response.status_code == 403
    assert counts() == NOTHING


def test_an_external_form_with_bad_input_gets_sopdesks_form_back(client, settings):
    settings(allowed_origins=(SCHOOL,))
    response = plain_form_post(client, {"Origin": SCHOOL}, {**FORM, "requester_email": "nope"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "รูปแบบอีเมลไม่ถูกต้อง" in html and 'name="csrf_token"' in html and 'value="ห้องธุรการ"' in html
    assert counts() == NOTHING


def test_json_needs_no_token(client):
    assert post_json(client, "/intake/requests", GOOD).status_code == 201


def desk_login(client, username="tester", password="correct horse battery"):
    token = csrf_from(client, "/assignment/login")
    response = client.post("/assignment/login", data={"username": username, "password": password,
                                                      "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[-500:]


def test_the_desk_cookie_without_the_desk_token_is_no_staff_login(client, staff_token, settings):
    """A staff member's browser posting an allowed site's form (no token): taken as the public's,
    so staff-only fields are refused; a JSON post riding on the cookie likewise."""
    settings(allowed_origins=(SCHOOL,))
    desk_login(client)
    response = plain_form_post(client, {"Origin": SCHOOL}, {**FORM, "received_at": "20/11/2569 09:00",
                                                            "channel": "paper"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "เฉพาะเจ้าหน้าที่ที่ยื่นคำขอแทนผู้รับบริการเท่านั้น" in html
    riding = post_json(client, "/intake/requests", {**GOOD, "received_at": "2026-11-20T09:00:00+07:00"})
    assert riding.status_code == 422 and "received_at" in riding.get_json()["errors"]
    assert counts() == NOTHING


# ---------------------------------------------------------------------------------------------
# rate limits


def test_posts_over_the_limit_get_429_with_retry_after(client, settings):
    settings(rate_limit="2/minute")
    assert post_json(client, "/intake/requests", GOOD).status_code == 201
    assert post_json(client, "/intake/requests", {"sop": "x"}).status_code == 422  # failures count too
    refused = post_json(client, "/intake/requests", GOOD)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert re.fullmatch(r"ส่งถี่เกินไปจากที่อยู่ของท่าน โปรดลองใหม่ในอีก \d+ วินาที", refused.get_json()["message"])
    english = post_json(client, "/intake/requests", GOOD, {"Accept-Language": "en"})
    assert english.status_code == 429 and english.get_json()["message"].startswith("Too many requests")
    page = client.post("/intake/requests", data=FORM, headers={"Accept": "text/html"})
    assert page.status_code == 429 and "ส่งถี่เกินไป" in page.get_data(as_text=True)
    assert counts()["requests"] == 1
    # another address has its own count
    other = client.post("/intake/requests", data='{"sop": "x"}', content_type="application/json",
                        environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert other.status_code == 422


def test_staff_are_not_limited(client, settings, staff_token):
    settings(rate_limit="1/minute")
    for _ in range(3):
        response = post_json(client, "/intake/requests", GOOD, {"Authorization": f"Bearer {staff_token}"})
        assert response.status_code == 201


def test_tracking_reads_have_their_own_limit(client, settings):
    code = post_json(client, "/intake/requests", GOOD).get_json()["tracking_code"]
    settings(track_rate_limit="3/minute", rate_limit="1/minute")
    url = f"/intake/track/{code}?token={tracking_token(code)}"
    assert [client.get(url).status_code for _ in range(4)] == [200, 200, 200, 429]
    wrong = client.get(f"/intake/track/{code}?token=guess")  # guessing costs the same count
    assert wrong.status_code == 429 and wrong.headers["Retry-After"]


def test_when_redis_is_away_requests_go_through_with_a_warning(client, settings, caplog):
    from shared import ratelimit

    settings(rate_limit="1/minute", broker_url="redis://127.0.0.1:1/0")  # nothing listens on port 1
    ratelimit._limiters.pop("redis://127.0.0.1:1/0", None)
    with caplog.at_level(logging.WARNING, logger="shared.ratelimit"):
        first = post_json(client, "/intake/requests", GOOD)
        second = post_json(client, "/intake/requests", GOOD)
    assert (first.status_code, second.status_code) == (201, 201)
    assert any("did not answer" in r.getMessage() for r in caplog.records)
    assert counts()["requests"] == 2


def test_the_limiter_counts_in_fixed_windows():
    from shared.config import get_settings
    from shared.ratelimit import RateLimiter

    limiter = RateLimiter(get_settings().broker_url, prefix="sopdesk:test-ratelimit")
    start = 1_800_000_000.0  # the start of a minute
    decisions = [limiter.hit("b", "203.0.113.9", "2/minute", now=start + i) for i in range(3)]
    assert [d.allowed for d in decisions] == [True, True, False]
    assert decisions[2].retry_after == 58
    assert limiter.hit("b", "203.0.113.9", "2/minute", now=start + 60).allowed  # the next window
    assert limiter.hit("other", "203.0.113.9", "2/minute", now=start + 2).allowed  # another bucket
    # each window's count expires a second after the window: set with its first hit, not moved after
    key = f"sopdesk:test-ratelimit:b:60:{int(start // 60)}:203.0.113.9"
    assert 0 < limiter._client.ttl(key) <= 61
    # a Redis that forgot the counting script (restarted, flushed) is given it again
    limiter._client.script_flush()
    assert limiter.hit("b", "203.0.113.9", "2/minute", now=start + 61).allowed
    assert int(limiter._client.get(f"sopdesk:test-ratelimit:b:60:{int(start // 60) + 1}:203.0.113.9")) == 2
