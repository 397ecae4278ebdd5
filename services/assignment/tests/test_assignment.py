"""Opening cases from requests, staff login and the staff reads, on real PostgreSQL."""
import json

from sqlalchemy import select

from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import AccessLog, Case, Outbox, User
from shared.auth import verify_token
from sopdesk import testing_events as payloads
from sopdesk.cli import main


def request_submitted(code="SD-AAAAA-00001"):
    return payloads.envelope("request.submitted", payloads.request_submitted(
        code, subject="จอฟ้า", details="เปิดแล้วจอฟ้า", fields={"asset_tag": "A-1"}, requester_name="ครูมานี",
        requester_unit="โรงเรียนบ้านเขา"))


def test_a_request_opens_a_case_at_the_first_step_and_says_so(clean):
    bus.consume(request_submitted())
    with bus.session() as session:
        case = session.scalar(select(Case))
        events = session.scalars(select(Outbox).order_by(Outbox.created_at)).all()
    assert [e.type for e in events] == ["case.opened", "case.step_started"]
    event = events[0]
    assert (case.tracking_code, case.sop, case.status, case.current_step) == (
        "SD-AAAAA-00001", "sesao-sc/repair", "open", "receive-form")
    assert event.type == "case.opened" and event.correlation_id == "SD-AAAAA-00001"
    assert event.envelope["payload"]["step"]["key"] == "receive-form"
    assert event.envelope["payload"]["step"]["role"] == "officer"
    assert event.envelope["payload"]["subject"] == "จอฟ้า"


def test_users_add_stores_a_hash_and_login_gives_a_token(clean, client, capsys):
    assert main(["units", "add", "--key", "web", "--pack", "up", "--name", "งานเว็บไซต์"]) == 0
    assert main(["users", "add", "--username", "somying", "--password", "s3cret-pass", "--role", "officer",
                 "--role", "head", "--name", "สมหญิง", "--unit", "web"]) == 0
    assert "added somying (head, officer)" in capsys.readouterr().out
    with bus.session() as session:
        user = session.scalar(select(User).where(User.username == "somying"))
    assert user.password_hash != "s3cret-pass" and "s3cret" not in user.password_hash
    assert user.role_names == ("head", "officer")

    ok = client.post("/assignment/auth/token", json={"username": "somying", "password": "s3cret-pass"})
    assert ok.status_code == 200 and ok.get_json()["token_type"] == "bearer"
    # the token carries the person's unit and its organisation, which the walls go by
    staff = verify_token(ok.get_json()["access_token"])
    assert (staff.username, staff.unit, staff.org) == ("somying", "web", "up")
    wrong = client.post("/assignment/auth/token", json={"username": "somying", "password": "nope"})
    nobody = client.post("/assignment/auth/token", json={"username": "ghost", "password": "nope"})
    assert wrong.status_code == nobody.status_code == 401
    missing = client.post("/assignment/auth/token", json={"username": "somying"})
    assert missing.status_code == 422 and "password" in missing.get_json()["errors"]
    form = client.post("/assignment/auth/token", data={"username": "somying", "password": "s3cret-pass"})
    assert form.status_code == 200


def test_users_add_refuses_bad_input(clean, capsys):
    assert main(["units", "add", "--key", "web", "--pack", "up", "--name", "งานเว็บไซต์"]) == 0
    assert main(["users", "add", "--username", "x y", "--password", "long-enough", "--role", "officer",
                 "--unit", "web"]) == 2
    assert main(["users", "add", "--username", "okname", "--password", "short", "--role", "officer",
                 "--unit", "web"]) == 2
    assert main(["users", "add", "--username", "okname", "--password", "long-enough", "--role", "wizard",
                 "--unit", "web"]) == 2
    err = capsys.readouterr().err
    assert "username" in err and "password" in err and "wizard" in err
    # every account but a system administrator's belongs to a unit, and a sysadmin to none
    assert main(["users", "add", "--username", "okname", "--password", "long-enough", "--role", "officer"]) == 2
    assert main(["users", "add", "--username", "okname", "--password", "long-enough", "--role", "sysadmin",
                 "--unit", "web"]) == 2
    assert main(["users", "add", "--username", "okname", "--password", "long-enough", "--role", "sysadmin",
                 "--role", "officer"]) == 2
    assert main(["users", "add", "--username", "okname", "--password", "long-enough", "--role", "officer",
                 "--unit", "nowhere"]) == 2
    err = capsys.readouterr().err
    assert err.count("unit") >= 3 and "sysadmin" in err
    with bus.session() as session:
        assert session.scalar(select(User)) is None


def test_staff_reads_need_a_token_and_log_the_access(client, staff_token):
    bus.consume(request_submitted())
    assert client.get("/assignment/cases").status_code == 401
    assert client.get("/assignment/cases/SD-AAAAA-00001").status_code == 401
    headers = {"Authorization": f"Bearer {staff_token}"}
    [summary] = client.get("/assignment/cases?sop=sesao-sc/repair&status=open", headers=headers).get_json()
    assert summary["tracking_code"] == "SD-AAAAA-00001" and "requester_name" not in summary
    assert client.get("/assignment/cases?status=closed", headers=headers).get_json() == []
    assert client.get("/assignment/cases?status=lost", headers=headers).status_code == 422
    case = client.get("/assignment/cases/SD-AAAAA-00001", headers=headers).get_json()
    assert case["requester_name"] == "ครูมานี" and case["fields"] == {"asset_tag": "A-1"}
    assert case["steps"][0]["step"] == "receive-form"
    assert case["actions"] == [{"step": "receive-form", "outcomes": ["done"], "actions": ["assign", "note"],
                                "on_behalf_of": None, "waiting_on": None}]
    assert client.get("/assignment/cases/SD-NOPE", headers=headers).status_code == 404
    with bus.session() as session:
        entries = session.scalars(select(AccessLog).order_by(AccessLog.at)).all()
    # the list that showed the case (the empty one showed nobody's data), then the case itself
    assert [(e.actor, e.record, e.record_id, e.purpose) for e in entries] == [
        ("tester", "case", "SD-AAAAA-00001", "staff list of cases"),
        ("tester", "case", "SD-AAAAA-00001", "staff read of a case")]


def test_a_role_without_the_step_gets_no_actions(client, clean):
    from services.assignment.handlers.directory import add_unit, add_user, staff_of
    from shared.auth import issue_token

    bus.consume(request_submitted())
    add_unit("office", "sesao-sc", "สำนักงาน")
    user = add_user("dir", "director-pass", ["director"], unit="office")
    token = issue_token(staff_of(user))
    case = client.get("/assignment/cases/SD-AAAAA-00001", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert case["actions"] == []
    assert json.dumps(case, ensure_ascii=False).count("ครูมานี") == 1
