"""The requester's view of the case, kept from case events."""
import json

from services.assignment.bus import bus as assignment_bus
from services.intake.bus import bus
from shared.messaging import NotReady
from shared.testing import drain
from shared.tracking import tracking_token

import pytest

from services.assignment.tests.test_assignment import request_submitted
from services.intake.tests.test_requests import GOOD, post_json


def test_the_tracking_page_follows_the_case(client):
    code = post_json(client, GOOD).get_json()["tracking_code"]
    url = f"/intake/track/{code}?token={tracking_token(code)}"
    before = client.get(url, headers={"Accept": "application/json"}).get_json()
    assert before["status"] == "submitted" and before["steps"] == []

    drain()  # the request's event to assignment, the case's events back to intake (through Redis)
    view = client.get(url, headers={"Accept": "application/json"}).get_json()
    assert view["status"] == "open" and view["current_step"] == "receive-form"
    assert view["steps"][0]["title"] == "รับแจ้งซ่อมจากแบบฟอร์มแจ้งซ่อม" and view["steps"][0]["role"] == "officer"
    english = client.get(url + "&lang=en", headers={"Accept": "application/json"}).get_json()
    assert english["steps"][0]["title"] == "Receive the repair form" and english["status_text"] == "In progress"
    # the English choice was remembered in a cookie; switch back to Thai
    html = client.get(url + "&lang=th", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert code in html and "เจ้าหน้าที่ ICT" in html and "2569" in html  # Buddhist era
    assert "somchai@school.example" not in json.dumps(view) + html  # no contacts on the page


def test_a_wrong_token_or_unknown_code_shows_nothing(client):
    code = post_json(client, GOOD).get_json()["tracking_code"]
    for url in (f"/intake/track/{code}", f"/intake/track/{code}?token=guess",
                f"/intake/track/SD-ZZZZZ-ZZZZZ?token={tracking_token('SD-ZZZZZ-ZZZZZ')}"):
        response = client.get(url, headers={"Accept": "application/json"})
        assert response.status_code == 404
        assert "สมชาย" not in response.get_data(as_text=True)


def test_a_case_event_before_its_request_waits(clean):
    event = request_submitted("SD-ORPHN-00001")
    assignment_bus.consume(event)
    from sqlalchemy import select

    from services.assignment.models import Outbox

    with assignment_bus.session() as session:
        opened = session.scalar(select(Outbox.envelope).where(Outbox.type == "case.opened"))
    with pytest.raises(NotReady):
        bus.consume(opened)
