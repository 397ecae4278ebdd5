"""The breach register (PDPA s.37(4)) on the real database, broker and SMTP listener: the PDPC
deadline is the awareness plus 72 calendar hours; a breach is its organisation's (another
organisation's privacy officer finds nothing); the notice reaches each affected requester once,
whatever repeats; the clock's reminders go to the privacy officers once each."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.assignment.domain import breaches as rules
from services.assignment.handlers import breaches as handlers
from services.notify.adapters.bus import bus as notify_bus
from shared import i18n
from shared.events import Event
from sopdesk.testing import drain, make_staff, queued_events

REPAIR = {"sop": "sesao-sc/repair", "requester_unit": "โรงเรียนบ้านเขา", "details": "กระดาษติด", "consent": True,
          "asset_tag": "7440-001-0001", "location": "ห้องธุรการ"}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def file_request(client, name: str, email: str, subject: str) -> str:
    response = client.post("/intake/requests", json={**REPAIR, "requester_name": name, "requester_email": email,
                                                      "subject": subject})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["tracking_code"]


def be_text(moment: datetime) -> str:
    """A moment as a Thai user types it: Bangkok time, Buddhist-era year."""
    local = moment.astimezone(i18n.BANGKOK)
    return f"{local.day:02d}/{local.month:02d}/{local.year + 543} {local:%H:%M}"


def minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


@pytest.fixture
def officers(clean):
    """Privacy officers of sesao-sc and of onesqa, an officer of sesao-sc, and a system administrator."""
    return {
        "privacy": make_staff("privacy-sc", ["privacy-officer"], "sesao-sc")[1],
        "other": make_staff("privacy-onesqa", ["privacy-officer"], "onesqa")[1],
        "officer": make_staff("officer-sc", ["officer"], "sesao-sc")[1],
        "sysadmin": make_staff("root", ["sysadmin"], None)[1],
    }


def record(client, token: str, **fields) -> dict:
    body = {"aware_at": be_text(datetime.now(timezone.utc) - timedelta(hours=2)), "risk": "high",
            "description": "แฟ้มรายชื่อผู้ยื่นคำขอถูกส่งอีเมลผิดคน", "data_concerned": "ชื่อ อีเมล",
            "people_affected": 3, "measures": "ขอให้ผู้รับลบอีเมล", **fields}
    response = client.post("/assignment/breaches", json=body, headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_the_pdpc_deadline_is_72_calendar_hours_after_awareness_given_in_the_buddhist_era(client, officers):
    aware = minute(datetime.now(timezone.utc) - timedelta(hours=5))

    breach = record(client, officers["privacy"], aware_at=be_text(aware))

    assert datetime.fromisoformat(breach["aware_at"]) == aware
    assert datetime.fromisoformat(breach["pdpc_deadline"]) == aware + timedelta(hours=72)  # the rule, calendar hours
    assert breach["org"] == "sesao-sc" and breach["status"] == "open" and breach["clock"] == "running"
    assert [(e["actor"], e["action"]) for e in breach["trail"]] == [("privacy-sc", "recorded")]


def test_a_breach_of_another_organisation_is_not_found(client, officers):
    breach = record(client, officers["privacy"])
    path = f"/assignment/breaches/{breach['id']}"

    other = bearer(officers["other"])
    assert client.get(path, headers=other).status_code == 404
    for action in ("pdpc", "notify-people", "close"):
        assert client.post(f"{path}/{action}", json={"not_needed": "x"}, headers=other).status_code == 404
    assert client.get(f"/assignment/desk/breaches/{breach['id']}", headers=other).status_code == 404
    assert client.get("/assignment/breaches", headers=other).get_json() == []
    assert client.get("/assignment/desk/breaches", headers=other).status_code == 200
    # nor may they record one for another organisation
    response = client.post("/assignment/breaches", headers=other, json={
        "aware_at": be_text(datetime.now(timezone.utc)), "risk": "none", "description": "x", "data_concerned": "x",
        "org": "sesao-sc"})
    assert response.status_code == 422 and "org" in response.get_json()["errors"]
    # an officer who is no privacy officer is refused the register; the system administrator sees it
    assert client.get(path, headers=bearer(officers["officer"])).status_code == 403
    assert client.get(path, headers=bearer(officers["sysadmin"])).get_json()["id"] == breach["id"]
    assert client.get(path, headers=bearer(officers["privacy"])).status_code == 200


def test_a_system_administrator_names_the_organisation(client, officers):
    body = {"aware_at": be_text(datetime.now(timezone.utc)), "risk": "none", "description": "x", "data_concerned": "x"}
    response = client.post("/assignment/breaches", json=body, headers=bearer(officers["sysadmin"]))
    assert response.status_code == 422 and "org" in response.get_json()["errors"]
    breach = record(client, officers["sysadmin"], org="onesqa")
    assert breach["org"] == "onesqa"
    assert client.get(f"/assignment/breaches/{breach['id']}", headers=bearer(officers["other"])).status_code == 200


def test_only_the_organisation_s_cases_may_be_named(client, officers):
    code = file_request(client, "ครูมานี มีนา", "manee@school.example", "เครื่องพิมพ์ไม่ทำงาน")
    drain()
    body = {"aware_at": be_text(datetime.now(timezone.utc)), "risk": "risk", "description": "x",
            "data_concerned": "x", "tracking_codes": [code]}
    response = client.post("/assignment/breaches", json=body, headers=bearer(officers["other"]))
    assert response.status_code == 422 and code in " ".join(response.get_json()["errors"]["tracking_codes"])


def test_the_notice_reaches_each_affected_requester_once(client, officers, mailbox):
    manee_1 = file_request(client, "ครูมานี มีนา", "manee@school.example", "เครื่องพิมพ์ไม่ทำงาน")
    manee_2 = file_request(client, "ครูมานี มีนา", "Manee@School.example", "จอภาพดับ")
    somchai = file_request(client, "สมชาย ใจดี", "somchai@school.example", "เมาส์เสีย")
    drain()
    mailbox.clear()
    breach = record(client, officers["privacy"], tracking_codes=[manee_1, manee_2, somchai])
    path = f"/assignment/breaches/{breach['id']}"

    # a high risk is not closed before the people affected are told
    assert client.post(f"{path}/close", headers=bearer(officers["privacy"])).status_code == 409

    told = client.post(f"{path}/notify-people", headers=bearer(officers["privacy"]))
    assert told.status_code == 200 and told.get_json()["notified_codes"] == [manee_1, manee_2, somchai]
    [envelope] = [e for e in queued_events("notify") if e["type"] == "breach.notice_requested"]
    drain()

    mails = {mail.envelope_to[0].lower(): mail for mail in mailbox.all()}
    assert sorted(mails) == ["manee@school.example", "somchai@school.example"] and len(mailbox.all()) == 2
    manee = mails["manee@school.example"]
    assert manee.message["Subject"] == i18n.translate("email.breach_notice.subject", "th")
    assert manee_1 in manee.text() and manee_2 in manee.text() and somchai not in manee.text()
    assert "ขอให้ผู้รับลบอีเมล" in manee.text() and "privacy-sc@office.example" in manee.text()
    assert "37 (4)" in manee.html()

    # nothing twice: the same event again, a second event of the breach, a second click
    notify_bus.consume(envelope)
    notify_bus.consume({**envelope, "id": Event(type=envelope["type"], source="assignment", payload={}).id})
    drain()
    assert client.post(f"{path}/notify-people", headers=bearer(officers["privacy"])).status_code == 409
    drain()
    assert len(mailbox.all()) == 2

    settled = client.post(f"{path}/pdpc", headers=bearer(officers["privacy"]),
                          json={"notified_at": be_text(datetime.now(timezone.utc)), "reference": "สคส. 123/2569"})
    assert settled.status_code == 200 and settled.get_json()["clock"] == "settled"
    closed = client.post(f"{path}/close", headers=bearer(officers["privacy"]))
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    assert [e["action"] for e in closed.get_json()["trail"]] == ["recorded", "people", "pdpc", "closed"]


def test_the_privacy_officers_hear_once_when_24_hours_are_left_and_once_when_they_have_passed(client, officers,
                                                                                            mailbox):
    now = datetime.now(timezone.utc)
    aware = minute(now - timedelta(hours=50))  # 22 of the 72 hours left
    breach = record(client, officers["privacy"], aware_at=be_text(aware), risk="risk")
    settled = record(client, officers["privacy"], aware_at=be_text(aware), risk="none")
    client.post(f"/assignment/breaches/{settled['id']}/pdpc", headers=bearer(officers["privacy"]),
                json={"not_needed": "ข้อมูลเข้ารหัสไว้ ไม่น่าจะมีความเสี่ยง"})
    deadline = aware + timedelta(hours=rules.PDPC_HOURS)

    assert handlers.sweep_clocks(now=deadline - timedelta(hours=30)) == 0  # more than 24 hours left then
    assert handlers.sweep_clocks() == 1
    assert handlers.sweep_clocks() == 0
    drain()
    [mail] = mailbox.all()
    assert mail.envelope_to == ("privacy-sc@office.example",)
    assert mail.message["Subject"] == i18n.translate("email.breach_deadline.subject", "th", breach_id=breach["id"],
                                                     headline=i18n.translate("email.breach_deadline.approaching", "th"))
    assert f"/assignment/desk/breaches/{breach['id']}" in mail.text()

    assert handlers.sweep_clocks(now=deadline + timedelta(minutes=1)) == 1
    assert handlers.sweep_clocks(now=deadline + timedelta(hours=5)) == 0
    drain()
    assert len(mailbox.all()) == 2
    passed = mailbox.all()[-1]
    assert i18n.translate("email.breach_deadline.passed", "th") in passed.message["Subject"]
    shown = client.get(f"/assignment/breaches/{breach['id']}", headers=bearer(officers["privacy"])).get_json()
    assert shown["clock"] == "running"  # the real clock: 22 hours left now


def test_the_clock_rules():
    aware = datetime(2026, 11, 19, 7, 30, tzinfo=timezone.utc)
    deadline = aware + timedelta(hours=72)
    assert rules.pdpc_deadline(aware) == deadline
    late = rules.clock(aware, deadline + timedelta(hours=2, minutes=5))
    assert late.state == "overdue" and late.hours_left == -2 and late.minutes_left == 5 and late.used == 1.0
    early = rules.clock(aware, aware + timedelta(hours=18))
    assert early.state == "running" and early.hours_left == 54 and early.used == 0.25
    assert rules.clock(aware, deadline + timedelta(days=1), reason_not_needed="encrypted").state == "settled"
    kw = {"status": "open", "notified_at": None, "reason_not_needed": None}
    assert rules.reminders_due(aware, deadline - timedelta(hours=25), approaching_sent=False, passed_sent=False, **kw) == []
    assert rules.reminders_due(aware, deadline - timedelta(hours=24), approaching_sent=False, passed_sent=False,
                               **kw) == ["approaching"]
    assert rules.reminders_due(aware, deadline, approaching_sent=True, passed_sent=False, **kw) == ["passed"]
    assert rules.reminders_due(aware, deadline, approaching_sent=True, passed_sent=True, **kw) == []
    assert rules.refusals_to_close("high", None, None, None) == ["pdpc", "people"]
    assert rules.refusals_to_close("risk", None, "no risk", None) == []


@pytest.mark.parametrize("typed", ["", "31/02/2569 10:00", "พรุ่งนี้", 42])
def test_a_moment_that_is_not_one_is_refused_on_its_field(client, officers, typed):
    """Found by schemathesis: an empty moment was a 500 (the field had no words for 'invalid')."""
    response = client.post("/assignment/breaches", json={"aware_at": typed, "risk": "risk", "description": "x",
                                                         "data_concerned": "y"}, headers=bearer(officers["privacy"]))
    assert response.status_code == 422 and "aware_at" in response.get_json()["errors"], response.get_json()
    assert client.get("/assignment/breaches", headers=bearer(officers["privacy"])).get_json() == []
