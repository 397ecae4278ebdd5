"""A project's officer is one of its own organisation's people: procurement knows each staff
account's organisation from what assignment announces (``staff.person_changed``), never by
reading assignment's tables. Made, moved, repeated, late: the newest announcement wins."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from services.assignment.handlers.directory import move_user
from services.procurement.adapters.bus import bus
from services.procurement.adapters.models import Person, Project
from sopdesk import testing_events as payloads
from sopdesk.cli import main
from sopdesk.testing import drain, make_staff


def people() -> dict[str, str | None]:
    with bus.session() as session:
        return {p.username: p.org for p in session.scalars(select(Person))}


def open_project(client, token: str, officer: str):
    return client.post("/procurement/projects", data=json.dumps({"title": "จัดซื้อเครื่องพิมพ์", "officer": officer}),
                       headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})


def test_a_project_s_officer_is_one_of_its_organisation_s_people(client, clean, capsys):
    _, supplies = make_staff("sc-supplies", ["supplies"], "sesao-sc")
    make_staff("sc-officer", ["officer"], "sesao-sc")
    make_staff("up-officer", ["officer"], "up")
    drain()  # assignment's announcements reach procurement through the broker
    assert people() == {"sc-supplies": "sesao-sc", "sc-officer": "sesao-sc", "up-officer": "up"}

    refused = open_project(client, supplies, "up-officer")
    assert refused.status_code == 422 and "officer" in refused.get_json()["errors"], refused.get_json()
    with bus.session() as session:
        assert session.scalar(select(Project)) is None  # nothing stored
    assert open_project(client, supplies, "sc-officer").status_code == 201

    # moved to a unit of sesao-sc, they are its people from the announcement on
    make_staff("placeholder", ["officer"], "sesao-sc")  # makes the unit ict-sesao-sc
    move_user("up-officer", "ict-sesao-sc")
    drain()
    assert people()["up-officer"] == "sesao-sc"
    assert open_project(client, supplies, "up-officer").status_code == 201

    # an older announcement arriving late, or a repeat, changes nothing
    stale = payloads.envelope("staff.person_changed", {
        "username": "up-officer", "org": "up", "active": True,
        "changed_at": (datetime.now(timezone.utc) - timedelta(days=1)).isoformat()}, correlation_id="person:up-officer")
    bus.consume(stale)
    assert people()["up-officer"] == "sesao-sc"

    # after an upgrade, the command says again who everyone is
    with bus.session() as session:
        session.execute(Person.__table__.delete())
        session.commit()
    assert main(["users", "announce"]) == 0 and "announced 4" in capsys.readouterr().out
    drain()
    assert people()["sc-officer"] == "sesao-sc" and len(people()) == 4
