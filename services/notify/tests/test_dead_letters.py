"""Dead letters an admin can see and replay: from the command line (`sopdesk dead-letters list`
and `replay`) and over HTTP (`GET /notify/dead-letters`, `POST /notify/dead-letters/<id>/replay`).
A replayed dead email goes through the broker (the `notify.deliver` task) and out again with the
Message-ID of its delivery row."""
import json

import pytest
from sqlalchemy import select

from services.notify.adapters.bus import bus
from services.notify.adapters.models import AccessLog
from services.notify.tests.factory import deliveries, exhaust_retries, mail_of, opened, submitted
from shared.celery_app import celery
from shared.config import set_settings
from sopdesk import cli
from sopdesk.testing import drain, queued


def dead_delivery(code, smtp_away):
    """The received email of a case, dead after every attempt while SMTP was away; SMTP is back."""
    bus.consume(submitted(code))
    bus.consume(opened(code))
    exhaust_retries()
    [delivery] = deliveries()
    assert delivery.status == "dead"
    set_settings(smtp_away)
    return delivery


@pytest.fixture
def admin_token(clean):
    from services.assignment.handlers.directory import add_user, staff_of
    from shared.auth import issue_token

    user = add_user("admin1", "correct horse battery", ["sysadmin"])
    drain()  # the new account's announcement (staff.person_changed) is not what these tests count
    return issue_token(staff_of(user))


def test_the_command_line_lists_and_replays_a_dead_email(clean, mailbox, smtp_away, capsys):
    delivery = dead_delivery("SD-CLIDL-00001", smtp_away)
    assert cli.main(["dead-letters", "list", "--service", "notify"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["task"] == "notify.deliver" and row["event_type"] == "case.opened"
    assert "Connection" in row["error"] and row["replayed_at"] is None

    assert cli.main(["dead-letters", "replay", "--service", "notify", row["id"]]) == 0
    assert [m["task"] for m in queued("notify")] == ["notify.deliver"]
    assert mailbox.all() == []  # queued, not sent inside the command
    assert drain() == ["notify.deliver"]
    [mail] = mailbox.all()
    assert mail.message["Message-ID"] == f"<delivery-{delivery.id}@sopdesk>"
    [delivery] = deliveries()
    assert delivery.status == "sent" and delivery.attempts == 1 and delivery.last_error is None

    assert cli.main(["dead-letters", "replay", "--service", "notify", row["id"]]) == 2  # once only
    capsys.readouterr()
    assert cli.main(["dead-letters", "list", "--service", "notify"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_a_replayed_email_that_was_sent_meanwhile_is_not_sent_twice(clean, mailbox, smtp_away):
    delivery = dead_delivery("SD-TWICE-00001", smtp_away)
    [letter] = bus.dead_letters()
    bus.replay_dead_letter(letter.id)
    [message] = queued("notify")
    assert drain() == ["notify.deliver"]
    assert celery.tasks["notify.deliver"].run(*message["args"]) == "sent"  # the task delivered again
    assert mail_of(mailbox, delivery) and len(mailbox.all()) == 1


def test_admins_see_and_replay_dead_letters_over_http(client, mailbox, smtp_away, admin_token, staff_token):
    delivery = dead_delivery("SD-HTTPD-00001", smtp_away)
    admin = {"Authorization": f"Bearer {admin_token}"}
    officer = {"Authorization": f"Bearer {staff_token}"}
    assert client.get("/notify/dead-letters").status_code == 401
    assert client.get("/notify/dead-letters", headers=officer).status_code == 403

    response = client.get("/notify/dead-letters", headers=admin)
    assert response.status_code == 200
    [row] = response.get_json()
    assert row["task"] == "notify.deliver" and row["attempts"] == delivery.attempts
    assert row["delivery"]["id"] == delivery.id and row["delivery"]["status"] == "dead"
    assert row["delivery"]["message_id"] == delivery.message_id and row["delivery"]["to"] == "manee@example.org"
    with bus.session() as session:  # the addresses and errors are personal data: the read is logged
        [access] = session.scalars(select(AccessLog).where(AccessLog.record == "dead_letter")).all()
    assert access.actor == "admin1" and access.record_id == row["id"]

    replay = f"/notify/dead-letters/{row['id']}/replay"
    assert client.post(replay, headers=officer).status_code == 403
    response = client.post(replay, headers=admin)
    assert response.status_code == 202 and response.get_json()["replayed_at"]
    assert drain() == ["notify.deliver"]
    [mail] = mailbox.all()
    assert mail.message["Message-ID"] == delivery.message_id
    assert client.get("/notify/dead-letters", headers=admin).get_json() == []
    [replayed] = client.get("/notify/dead-letters?all=true", headers=admin).get_json()
    assert replayed["id"] == row["id"] and replayed["delivery"]["status"] == "sent"

    assert client.post(replay, headers=admin).status_code == 409
    assert client.post("/notify/dead-letters/no-such-letter/replay", headers=admin).status_code == 404
    bad = client.get("/notify/dead-letters?all=perhaps", headers=admin)
    assert bad.status_code == 422 and "all" in json.dumps(bad.get_json())


def test_a_dead_event_is_replayed_over_http_too(client, mailbox, admin_token):
    code = "SD-HTTPE-00001"
    bus.consume(submitted(code))
    envelope = opened(code)  # as if its handler had failed every attempt
    letter_id = bus.record_dead_letter("notify.handle_event", envelope, "OperationalError: db away", 4)
    admin = {"Authorization": f"Bearer {admin_token}"}
    [row] = client.get("/notify/dead-letters", headers=admin).get_json()
    assert row["task"] == "notify.handle_event" and row["delivery"] is None and row["event_id"] == envelope["id"]
    assert client.post(f"/notify/dead-letters/{letter_id}/replay", headers=admin).status_code == 202
    assert drain() == ["notify.handle_event"]
    [delivery] = deliveries()
    assert mail_of(mailbox, delivery).envelope_to == ("manee@example.org",)


def test_the_dead_letter_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/notify/openapi.json").get_json()["paths"]
    assert set(paths["/notify/dead-letters"]) == {"get"}
    assert "post" in paths["/notify/dead-letters/{letter_id}/replay"]
    assert "202" in paths["/notify/dead-letters/{letter_id}/replay"]["post"]["responses"]
