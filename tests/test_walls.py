"""The walls between organisations, route by route: every staff route of every service, read from
the URL maps, has its wall in a table (tests/walls.py says the kinds); a staff route in none fails
here. Then one world is built in one organisation (a request with a file, its case, its emails, a
dead letter, a survey score; procurement's own things from services/procurement/tests/walls.py)
and every route is tried as the same role in another organisation and as that organisation's
administrator: a thing of the world is not found (404) and nothing changes; a list shows none of
the world's markers. The world's own administrator is the control: for them the same paths are
not 404 and the lists show the markers, so a 404 comes from the wall and not from a wrong path."""
from __future__ import annotations

import io
import json
import re

import pytest
from sqlalchemy import text

from shared.config import SERVICES
from tests.test_access import access, routes
from tests.walls import Wall, World, lst, obj, own

HOME, OTHER = "onesqa", "up"  # the world's organisation, and the one its walls keep out
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
NAME = "นางสาววอลล์ กำแพงสูง"  # only the world's requester is called this

WALLS: dict[str, Wall] = {
    "intake.staff_file": obj(),
    "assignment.cases": lst("?limit=500"),
    "assignment.case": obj(),
    "assignment.act": obj({"step": "check-request", "outcome": "note", "note": "ทดสอบกำแพง"}),
    "assignment.satisfaction": lst(),
    "reports.kpis": obj(query="?org=onesqa"),
    "reports.yearly_pdf": obj(query="?org=onesqa"),
    "desk.reports_page": obj(query="?org=onesqa"),
    "assignment.case_document": obj(),
    "registers.register": obj(),
    "desk.logout": own("ends the caller's own session"),
    "desk.work": own("the caller's own work and, for a head, their own organisation's queue"),
    "desk.cases": lst("?per_page=200"),
    "desk.save_list": own("keeps a list for the caller alone; what it shows is the list's own, walled"),
    "desk.register_page": obj(),
    "desk.drop_list": own("removes one of the caller's own saved lists only (another's: 404)"),
    "desk.case_page": obj(),
    "desk.act": obj({"step": "check-request", "outcome": "note", "note": "ทดสอบกำแพง"}),
    "notify.messages": lst("?limit=500"),
    "notify.dead_letters": lst("?include_replayed=true"),
    "notify.replay_dead_letter": obj(),
    "intake_access_log.access_log": lst(),
    "assignment_access_log.access_log": lst(),
    "notify_access_log.access_log": lst(),
    "privacy_desk.home": own("the caller's organisation's erasure requests (a retention erasure: its codes only)"),
    "privacy_desk.find": own("finds a person among the caller's organisation's requests only"),
    "privacy_desk.erase": own("erases a person's data in the caller's organisation's requests only"),
    "privacy_desk.erasure_page": obj(),
    "privacy_desk.access_log": own("the page; its rows come from each service's /access-log, walled there"),
    "privacy_desk.notice": obj({"contact": "ทดสอบกำแพง"}, query="?org=onesqa"),
    "breaches.register": lst(),
    "breaches.record": own("records a breach in the caller's own organisation's register only"),
    "breaches.page": obj(),
    "breaches.pdpc": obj({"not_needed": "ทดสอบกำแพง"}),
    "breaches.notify": obj(),
    "breaches.close": obj(),
    "breach_register.list_breaches": lst(),
    "breach_register.record_breach": own("records in the caller's own organisation (another's org or cases: 422)"),
    "breach_register.read_breach": obj(),
    "breach_register.record_pdpc": obj({"not_needed": "ทดสอบกำแพง"}),
    "breach_register.notify_people": obj(),
    "breach_register.close_breach": obj(),
    # the administration pages (services/assignment/entrypoints/admin_pages.py)
    "admin.home": obj(query="?org=onesqa"),
    "admin.people": obj(query="?org=onesqa"),
    "admin.person_new": obj({"username": "x"}, query="?org=onesqa"),
    "admin.person": obj({"language": "xx"}, query="?username=home-officer"),
    "admin.person_active": obj({"active": "x"}, query="?username=home-officer"),
    "admin.person_password": obj({"password": "short"}, query="?username=home-officer"),
    "admin.units": obj(query="?org=onesqa"),
    "admin.unit_add": obj({"key": "Not A Key"}, query="?org=onesqa"),
    "admin.unit_rename": obj({"name_th": ""}, query="?key=ict-onesqa"),
    "admin.delegations": obj(query="?org=onesqa"),
    "admin.delegation_add": obj({"delegator": "home-officer"}, query="?org=onesqa"),
    "admin.delegation_end": obj({"id": "x"}, query="?org=onesqa"),
    "admin.holidays": own("the holiday calendar every organisation shares: no organisation's data"),
    "admin.holiday_change": own("the calendar every organisation shares (the cabinet's days off): no organisation's"),
    "admin.trail": obj(query="?org=onesqa"),
    "admin.office_hours": obj({"office_hours": "08:30-16:30"}, query="?org=onesqa"),
    "admin.reminders": obj({"reminders_at": "08:30"}, query="?org=onesqa"),
    # the pack pages and editor (services/assignment/entrypoints/pack_pages.py)
    "packs.home": own("the caller's own organisation's pack (a system administrator chooses one)"),
    "packs.pack": obj(),
    "packs.download": obj(),
    "packs.check": obj(),
    "packs.load": obj(),
    "packs.editor": obj(query="?sop=web-publish"),
    "packs.preview": obj(query="?sop=web-publish"),
    "packs.yaml_page": obj(),
    "packs.yaml_check": obj(),
}
BREACH = "ข้อมูลรั่วผ่านกำแพง"  # only the world's breach says this


def _procurement():
    """Procurement's table and world builder (services/procurement/tests/walls.py)."""
    from services.procurement.tests import walls

    return walls.WALLS, walls.build_world


def all_walls() -> dict[str, Wall]:
    found = dict(WALLS)
    try:
        found.update(_procurement()[0])
    except ImportError:  # reported by the test below, route by route
        pass
    return found


STAFF_ROUTES = sorted({(service, rule.rule, method, rule.endpoint) for service, rule, method, view in routes()
                       if access(rule, view).kind == "staff"})


def test_every_staff_route_has_its_wall():
    walls = all_walls()
    missing = sorted(f"{method} {rule} ({endpoint})" for _s, rule, method, endpoint in STAFF_ROUTES
                     if endpoint not in walls)
    assert missing == [], "say in a table of tests/test_walls.py (or procurement's tests/walls.py) what the " \
                          "walls mean for these routes"
    stale = sorted(set(walls) - {endpoint for *_rest, endpoint in STAFF_ROUTES})
    assert stale == [], "these endpoints are no longer staff routes"
    for endpoint, wall in walls.items():
        assert wall.kind in ("object", "list", "own") and (wall.kind != "own" or wall.why), endpoint


# ---------------------------------------------------------------------------------------------
# the world


def _file_request(client, email: str = "wall@onesqa.example") -> str:
    """A request to onesqa with a file, filed at the form as a requester files it."""
    from services.intake.tests.conftest import csrf_from

    form = {"sop": "onesqa/web-publish", "requester_name": NAME, "requester_email": email,
            "requester_unit": "กลุ่มงานกำแพง", "subject": "ขอเผยแพร่ประกาศกำแพง", "details": "ตามบันทึกแนบ",
            "consent": "true", "memo_ref": "สมศ 0105/999", "target_menu": "ข่าวประชาสัมพันธ์"}
    token = csrf_from(client, "/intake/forms/onesqa/web-publish")
    response = client.post("/intake/requests?form=onesqa/web-publish",
                           data={**form, "csrf_token": token, "memo_file": [(io.BytesIO(PDF), "wall.pdf")]},
                           content_type="multipart/form-data", headers={"Accept": "text/html"})
    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    return response.headers["Location"].split("/submitted/", 1)[1].split("?", 1)[0]


def build_world(client) -> World:
    from services.assignment.adapters.bus import bus as assignment_bus
    from services.intake.adapters.bus import bus as intake_bus
    from services.intake.adapters.models import Attachment
    from services.notify.adapters.bus import bus as notify_bus
    from services.notify.adapters.models import Delivery
    from sopdesk import testing_events as payloads
    from sopdesk.testing import drain, make_staff

    make_staff("home-officer", ["officer"], HOME)  # the case's steps go to the organisation's people
    make_staff("home-head", ["head"], HOME)
    code = _file_request(client)
    drain()
    assignment_bus.consume(payloads.envelope("survey.answered", payloads.survey_answered(
        code, sop="onesqa/web-publish", score=4, comment="กำแพงดี"), correlation_id=code))
    with intake_bus.session() as session:
        file_id = session.scalar(text("SELECT a.id FROM attachments a JOIN requests r ON r.id = a.request_id "
                                      "WHERE r.tracking_code = :code"), {"code": code})
        assert file_id and session.get(Attachment, file_id) is not None
    with notify_bus.session() as session:
        delivery = session.scalars(text("SELECT id FROM deliveries WHERE correlation_id = :code"),
                                   {"code": code}).first()
        assert delivery is not None, "the requester's received email"
        assert session.get(Delivery, delivery).org == HOME
        letter = notify_bus.DeadLetter(task="notify.deliver", envelope={"delivery_id": delivery},
                                       error="SMTP away (the walls test)", attempts=8)
        session.add(letter)
        session.commit()
        letter_id = letter.id
    # a document handed in at a step, as a file kept with the case
    from services.assignment.adapters.models import CaseDocument
    from services.assignment.handlers import documents
    from shared import files

    with assignment_bus.session() as session:
        stored = files.store(io.BytesIO(PDF), "wall.pdf", "documents.wall", ("pdf",), documents.files_dir(), 10**6)
        doc = CaseDocument(case_id=session.scalar(text("SELECT id FROM cases WHERE tracking_code = :code"),
                                                  {"code": code}),
                           step="verify", round=1, key="wall", name=stored.name, ref="",
                           content_type=stored.content_type, size=stored.size, sha256=stored.sha256,
                           storage_key=stored.storage_key, to_requester=False, uploaded_by="home-officer")
        session.add(doc)
        session.commit()
        doc_id = doc.id
    # the organisation's staff read its data: the access logs have rows of the world's things
    _, admin = make_staff("home-admin", ["admin"], HOME)
    bearer = {"Authorization": f"Bearer {admin}"}
    assert client.get(f"/assignment/cases/{code}", headers=bearer).status_code == 200
    assert client.get(f"/intake/requests/{code}/files/{file_id}", headers=bearer).status_code == 200
    assert client.get(f"/notify/messages?correlation_id={code}", headers=bearer).status_code == 200
    # a list of cases the organisation's administrator keeps under a name
    from services.assignment.handlers import directory, saved_lists

    with assignment_bus.session() as session:
        keeper = directory.staff_of(directory.user_by_name(session, "home-admin"), session)
    kept_list = saved_lists.save(keeper, "รายการกำแพง", f"q={code}")
    # another person of the organisation asked for their data to be erased
    other = _file_request(client, email="gone@onesqa.example")
    drain()
    from services.intake.handlers import erasure

    erased = erasure.request_erasure("gone@onesqa.example", None, HOME, by="home-privacy")
    assert erased is not None and erased.tracking_codes == [other]
    # and a breach the organisation's privacy officer recorded, of the world's case
    _, privacy = make_staff("home-privacy", ["privacy-officer"], HOME)
    breach = client.post("/assignment/breaches", headers={"Authorization": f"Bearer {privacy}"},
                         json={"aware_at": "2026-12-01T09:00:00+07:00", "description": BREACH,
                               "data_concerned": "ชื่อและอีเมล", "risk": "risk", "tracking_codes": [code]})
    assert breach.status_code == 201, breach.get_json()
    return World(HOME, values={"code": code, "file_id": file_id, "letter_id": letter_id, "erasure_id": erased.id,
                               "doc_id": doc_id, "list_id": str(kept_list.id),
                               "org": HOME, "register": "service-issues",
                               "breach_id": str(breach.get_json()["id"])},
                 markers=[code, NAME, "onesqa/web-publish", "wall@onesqa.example", file_id, delivery, other, BREACH])


def fingerprint() -> dict[str, str]:
    """Every table of every service but the logs a request writes anyway (traffic, access):
    a hash of its rows."""
    from shared import db
    from shared.config import get_settings

    found = {}
    for service in SERVICES:
        engine = db.get_engine(service, get_settings().database_url(service))
        with engine.connect() as conn:
            tables = conn.execute(text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s "
                                       "AND table_type = 'BASE TABLE'"), {"s": service}).scalars().all()
            for table in tables:
                if table in ("traffic", "traffic_chain", "personal_data_access", "alembic_version"):
                    continue
                found[f"{service}.{table}"] = conn.execute(text(
                    f'SELECT md5(coalesce(string_agg(t::text, \',\' ORDER BY t::text), \'\')) FROM "{service}"."{table}" t'
                )).scalar()
    return found


def _path(rule: str, values: dict[str, str]) -> str:
    def fill(match):
        name = match.group(1)
        assert name in values, f"the world has no value for <{name}> in {rule}"
        return str(values[name])

    return re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", fill, rule)


def _call(client, method: str, url: str, token: str, wall: Wall):
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", "Accept-Language": "en"}
    if method == "GET":
        return client.get(url, headers=headers)
    if url.startswith(("/assignment/desk/", "/procurement/desk/")):  # a desk form post
        return client.open(url, method=method, headers=headers, data=dict(wall.body or {}))
    return client.open(url, method=method, headers={**headers, "Content-Type": "application/json"},
                       data=json.dumps(wall.body or {}))


def _walled(services: tuple[str, ...], world: World, walls: dict[str, Wall], client) -> list[str]:
    """Every route of ``services`` tried from the other organisation (the route's roles, and its
    administrator), then as the world's own administrator; what went wrong, one line each."""
    from sopdesk.testing import make_staff

    wrong = []
    mine = [r for r in STAFF_ROUTES if r[0] in services and r[3] in walls]  # the rest: test_every_staff_route...
    callers = {}

    def token_for(org: str, roles: tuple[str, ...]) -> str:
        key = (org, roles)
        if key not in callers:
            callers[key] = make_staff(f"w{len(callers)}-{org}", list(roles), org)[1]
        return callers[key]

    def outsiders(service: str, endpoint: str) -> list[tuple[str, ...]]:
        roles = access_roles(service, endpoint)
        return [(roles[0],) if roles else ("officer",), ("admin",)]

    for service, _rule, _method, endpoint in mine:  # everyone made before anything is compared
        for who in outsiders(service, endpoint):
            token_for(OTHER, who)
    token_for(world.org, ("admin",))
    before = fingerprint()
    for service, rule, method, endpoint in mine:
        wall = walls[endpoint]
        url = _path(rule, world.values) + wall.query
        for who in outsiders(service, endpoint):
            response = _call(client, method, url, token_for(OTHER, who), wall)
            body = response.get_data(as_text=True)
            if wall.kind == "object" and response.status_code != 404:
                wrong.append(f"{method} {rule} as {OTHER} {who}: {response.status_code}, not 404")
            if response.status_code >= 500:
                wrong.append(f"{method} {rule} as {OTHER} {who}: {response.status_code}")
            shown = [m for m in world.markers if m in body]
            if method == "GET" and shown:
                wrong.append(f"{method} {rule} as {OTHER} {who} shows {shown}")
    after = fingerprint()
    changed = sorted(table for table in before if before[table] != after.get(table))
    if changed:
        wrong.append(f"the other organisation's calls changed {changed}")

    # the control: the world's own administrator (writes last, so that they change nothing above)
    for service, rule, method, endpoint in sorted(mine, key=lambda r: r[2] != "GET"):
        wall = walls[endpoint]
        if wall.kind == "own":
            continue
        url = _path(rule, world.values) + wall.query
        response = _call(client, method, url, token_for(world.org, ("admin",)), wall)
        # found: a read answers, a change may still be refused for what it asks (403 of the
        # workflow, 409, 422) but not as not found
        if response.status_code in (401, 404) or response.status_code >= 500 or \
                (method == "GET" and response.status_code != 200):
            wrong.append(f"{method} {rule} as {world.org} admin (the control): {response.status_code}")
        if wall.kind == "list" and not any(m in response.get_data(as_text=True) for m in world.markers):
            wrong.append(f"{method} {rule} as {world.org} admin (the control) shows none of the world's markers")
    return wrong


def access_roles(service: str, endpoint: str) -> tuple[str, ...]:
    from tests.test_access import _apps
    from shared.auth import access_of

    return access_of(_apps()[service].view_functions[endpoint]).roles


def test_the_other_organisation_finds_nothing_of_a_case_its_files_its_mail_and_scores(client):
    wrong = _walled(("intake", "assignment", "notify"), build_world(client), WALLS, client)
    assert wrong == [], "\n".join(wrong)


def test_the_other_organisation_finds_nothing_of_procurement(client):
    try:
        walls, build = _procurement()
    except ImportError as exc:
        pytest.fail(f"services/procurement/tests/walls.py is missing its WALLS or build_world: {exc}")
    world = build(HOME)
    wrong = _walled(("procurement",), world, walls, client)
    assert wrong == [], "\n".join(wrong)


def test_a_system_administrator_sees_every_organisation(client):
    from sopdesk.testing import make_staff

    world = build_world(client)
    _, root = make_staff("root", ["sysadmin"], None)
    headers = {"Authorization": f"Bearer {root}"}
    assert client.get(f"/assignment/cases/{world.values['code']}", headers=headers).status_code == 200
    assert world.values["code"] in client.get("/assignment/cases", headers=headers).get_data(as_text=True)
    assert "wall@onesqa.example" in client.get(f"/notify/messages?correlation_id={world.values['code']}",
                              headers=headers).get_data(as_text=True)
    assert client.get(f"/intake/requests/{world.values['code']}/files/{world.values['file_id']}",
                      headers=headers).data == PDF


def test_the_public_statistics_count_an_organisation_s_cases_and_show_none_of_them(client):
    """GET /intake/statistics is public (no staff route, so in no table above): it answers anyone
    with an organisation's figures, which count the world's requests, but no marker of them
    (code, name, email, file, mail), and another organisation's figures do not count them."""
    world = build_world(client)
    personal = [m for m in world.markers if m != "onesqa/web-publish"]  # the SOP's key is a row of the figures
    home = client.get(f"/intake/statistics?org={HOME}", headers={"Accept": "application/json"})
    assert home.status_code == 200
    assert home.get_json()["totals"]["year"]["received"] == 2  # the world's request and the erased one
    page = client.get(f"/intake/statistics?org={HOME}&lang=th").get_data(as_text=True)
    shown = [m for m in personal if m in home.get_data(as_text=True) + page]
    assert shown == []
    other = client.get(f"/intake/statistics?org={OTHER}", headers={"Accept": "application/json"}).get_json()
    assert other["totals"]["year"]["received"] == 0


def test_staff_file_with_a_staff_s_powers_only_for_their_own_organisation(client):
    """The public may file to any organisation's form; a member of staff files paper requests
    (the day received, the channel) and planned work only for their own: to anyone else's staff
    another organisation's planned-work form does not exist, and such a filing is refused on
    ``sop``, storing nothing."""
    from services.intake.adapters.bus import bus as intake_bus
    from services.intake.adapters.models import Request
    from sopdesk.testing import make_staff

    _, outsider = make_staff("up-clerk", ["intake-clerk"], OTHER)
    _, insider = make_staff("onesqa-clerk", ["intake-clerk"], HOME)
    planned = "/intake/forms/onesqa/server-network-maintenance"
    assert client.get(planned, headers={"Authorization": f"Bearer {outsider}"}).status_code == 404
    assert client.get(planned, headers={"Authorization": f"Bearer {insider}"}).status_code == 200
    body = {"sop": "onesqa/server-network-maintenance", "requester_name": NAME, "requester_email": "w@onesqa.example",
            "requester_unit": "ฝ่ายเครือข่าย", "subject": "บำรุงรักษาประจำเดือน", "details": "ตามแผน", "consent": True,
            "received_at": "2026-11-30T09:00:00+07:00", "channel": "paper"}
    for sop in ("onesqa/server-network-maintenance", "onesqa/web-publish"):
        extra = {"memo_ref": "สมศ 1/2569", "target_menu": "ข่าว"} if sop.endswith("web-publish") else {}
        response = client.post("/intake/requests", json={**body, **extra, "sop": sop},
                               headers={"Authorization": f"Bearer {outsider}", "Accept-Language": "en"})
        assert response.status_code == 422 and "sop" in response.get_json()["errors"], response.get_json()
    with intake_bus.session() as session:
        assert session.query(Request).count() == 0
    response = client.post("/intake/requests", json=body, headers={"Authorization": f"Bearer {insider}"})
    assert response.status_code == 201, response.get_json()


def test_a_case_s_file_comes_with_a_link_for_its_reader_alone(client):
    """Whoever may see the case downloads its file by the link the case gives them; the same
    link is nothing to anyone else, of this organisation or another."""
    from sopdesk.testing import make_staff

    world = build_world(client)
    code = world.values["code"]
    case = client.get(f"/assignment/cases/{code}", headers={"Authorization": f"Bearer {_token_of('home-head')}"})
    assert case.status_code == 200, "the verify step went to the organisation's only head"
    [attachment] = case.get_json()["attachments"]
    assert client.get(attachment["url"], headers={"Authorization": f"Bearer {_token_of('home-head')}"}).data == PDF
    _, colleague = make_staff("home-officer-2", ["officer"], HOME)
    _, outsider = make_staff("up-admin", ["admin"], OTHER)
    for token in (colleague, outsider):
        assert client.get(attachment["url"], headers={"Authorization": f"Bearer {token}"}).status_code == 404


def _token_of(username: str) -> str:
    from services.assignment.adapters.bus import bus
    from services.assignment.handlers import directory
    from shared.auth import issue_token

    with bus.session() as session:
        return issue_token(directory.staff_of(directory.user_by_name(session, username), session))
