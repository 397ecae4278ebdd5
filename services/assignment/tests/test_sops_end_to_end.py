"""Every path of every SOP of every shipped pack, run through the HTTP API: the request is filed at
``POST /intake/requests``, each step is acted on at ``POST /assignment/cases/<id>/actions`` by a
person holding its role, waits on procurement end with procurement's event, and the case must
close with the result its last outcome names. Events travel through the real Redis broker and
are handled against the real PostgreSQL (``drain`` works the queues in this process).

The paths are generated from the pack data (``walk_paths``), not listed by hand."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import Outbox
from services.assignment.handlers.engine import calendar
from services.procurement.adapters.bus import bus as procurement_bus
from shared.packs import WAIT_EVENTS, Sop, branch_values, builtin_packs, walk_paths
from sopdesk import testing_events as payloads
from sopdesk.testing import drain
from sopdesk.testing_actions import action_form

PATHS = [pytest.param(sop, path, id=f"{sop.full_key}#{i}")
         for pack in builtin_packs().values() for sop in pack.sops.values()
         for i, path in enumerate(walk_paths(sop, max_visits=2))]


def file_request(client, people, sop: Sop) -> str:
    body = {"sop": sop.full_key, "requester_name": "ครูสมศรี ใจดี", "requester_email": "somsri@school.example",
            "requester_unit": "โรงเรียนบ้านดอน", "subject": f"ทดสอบ {sop.key}", "details": "รายละเอียด", "consent": True}
    for field in sop.form:
        body[field.name] = sample(field)
    headers = {"Content-Type": "application/json"}
    if not sop.requester:  # planned work is opened by staff
        headers.update(people.headers("u-head"))
    response = client.post("/intake/requests", data=json.dumps(body), headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["tracking_code"]


def sample(field, outcome=None, destination=None):
    if outcome is not None:
        chosen = branch_values(outcome, destination)
        if field.name in chosen and chosen[field.name] != "__none__":
            return chosen[field.name]
    return {"number": 1, "email": "someone@school.example", "date": "2026-11-20", "url": "https://school.example/x",
            "datetime": (datetime.now(timezone.utc) + timedelta(days=2)).isoformat(),
            "select": field.choices[0] if field.choices else "x"}.get(field.type, "ข้อความ")


def actor_for(step) -> str:
    if step.is_requester_step:
        return "u-intake-clerk"  # the requester's answer, recorded on their behalf
    if "team" in step.roles:
        return "u-officer"  # the team the head appoints below
    return f"u-{step.roles[0]}"


def act(client, people, code, who, body, status=200):
    if body.get("documents"):  # documents are files: a multipart form, as the desk sends it
        response = client.post(f"/assignment/cases/{code}/actions", data=action_form(body),
                               content_type="multipart/form-data", headers=people.headers(who))
    else:
        response = client.post(f"/assignment/cases/{code}/actions", data=json.dumps(body),
                               headers={"Content-Type": "application/json", **people.headers(who)})
    assert response.status_code == status, (body, response.get_json())
    return response.get_json()


def read_case(client, people, code):
    return client.get(f"/assignment/cases/{code}", headers=people.headers("u-head")).get_json()


def publish_from_procurement(event_type: str, code: str, step: str) -> None:
    """What procurement says when the purchase or the contract a case waits on is done
    (``procurement.delivered`` or ``procurement.contract_completed``), as it writes it."""
    with procurement_bus.unit_of_work() as uow:
        uow.emit(event_type, payloads.PAYLOADS[event_type](code, step=step), correlation_id=code)
        uow.commit()


@pytest.mark.parametrize("sop, path", PATHS)
def test_every_path_runs_to_its_end(client, people, sop, path):
    people.join(sop.full_key.split("/")[0])  # the staff of the SOP's organisation work it
    code = file_request(client, people, sop)
    drain()
    hops = list(path)
    if sop.first_step.is_requester_step and not sop.first_step.wait:
        hops = hops[1:]  # the request itself was the requester's first step
    for step_key, outcome_key, destination in hops:
        step = sop.step(step_key)
        outcome = step.outcomes[outcome_key]
        case = client.get(f"/assignment/cases/{code}", headers=people.headers("u-head")).get_json()
        assert case["current_step"] == step_key, (case["current_step"], step_key)
        current = case["steps"][-1]
        assert current["step"] == step_key and current["status"] == "active"
        if step.target.kind == "fixed":  # due on Thai working time from the step's start
            started = datetime.fromisoformat(current["started_at"])
            with bus.session() as session:
                expected = calendar(session).add_duration(started, step.target.high, step.target.unit)
            assert datetime.fromisoformat(current["due_at"]) == expected
        if step.wait in ("procurement-delivery", "procurement-contract"):
            assert current["waiting_on"] == step.wait
            publish_from_procurement(WAIT_EVENTS[step.wait], code, step_key)  # no staff action: an event
            drain()
            continue
        who = actor_for(step)
        if step.target.kind == "by-assignee":
            act(client, people, code, who, {"step": step_key, "outcome": "set-target", "target": "3 days"})
        body = {"step": step_key, "outcome": outcome_key, "note": "ตรวจแล้ว", "message": "แจ้งผลให้ทราบแล้ว",
                "values": {f.name: sample(f, outcome, destination) for f in step.inputs},
                "documents": [{"key": d.key, "name": f"{d.key}.pdf", "ref": f"paperless/{d.key}"}
                              for d in step.documents]}
        if step.appoints_team:
            body["team"] = ["u-officer"]
        if step.joint and outcome_key == sop.approving_outcome(step_key):
            # every role decides (in_order: in the pack's order); the step stays until the last
            for role in step.roles[:-1]:
                act(client, people, code, f"u-{role}", body)
                drain()
                assert read_case(client, people, code)["current_step"] == step_key
            who = f"u-{step.roles[-1]}"
        act(client, people, code, who, body)
        drain()
    final = client.get(f"/assignment/cases/{code}", headers=people.headers("u-head")).get_json()
    last_outcome = sop.step(path[-1][0]).outcomes[path[-1][1]]
    assert final["status"] == "closed" and final["result"] == last_outcome.result
    assert [s["step"] for s in final["steps"]] == [hop[0] for hop in path]
    assert all(s["status"] == "done" for s in final["steps"])
    # the requester's view followed the case to its end
    with bus.session() as session:
        types = [e.type for e in session.scalars(select(Outbox).where(Outbox.correlation_id == code)
                                                 .order_by(Outbox.created_at))]
    assert types[0] == "case.opened" and types[-1] == "case.closed" and types.count("case.closed") == 1
    from services.intake.handlers.requests import find_request

    request = find_request(code)
    assert request.status == "closed" and request.result == last_outcome.result
    assert len(request.steps) == len(path)
