"""The PDPA's rights end to end, on the real PostgreSQL, Redis and SMTP listener: a teacher files
two repair requests (one with a photo, as a multipart form post), gets the emails, one case is
worked to its close and scored; ``sopdesk privacy export`` gives all of it; ``sopdesk privacy
erase`` and the events leave no copy of their name, email, phone or photo in any table of any
service (envelopes included) or in the files folder, every service confirms, and the counts the
statistics rest on are what they were. The retention job erases a case closed long ago."""
from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

import shared.config
from services.assignment.adapters.bus import bus as assignment_bus
from services.assignment.adapters.models import Case, CaseStep, SurveyScore
from services.intake.adapters.bus import bus as intake_bus
from services.intake.adapters.models import ErasureRequest, Request
from services.notify.adapters.bus import bus as notify_bus
from services.notify.adapters.models import Delivery
from shared import db
from shared.config import SERVICES, get_settings
from shared.packs import find_sop, walk_paths
from shared.privacy import ERASED
from shared.tracking import tracking_token
from sopdesk.cli import main
from sopdesk.testing import drain, make_staff

NAME = "ครูมานี ศรีสุขใจ"
EMAIL = "Manee.Srisuk@school.example"
PHONE = "081-234-5678"
PHOTO = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
         + b"\x00" * 32 + b"photo-of-the-broken-printer-7f3a9c")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
REPAIR = "sesao-sc/repair"


@pytest.fixture
def files_dir(tmp_path, monkeypatch):
    folder = tmp_path / "files"
    monkeypatch.setattr(shared.config, "_settings", get_settings().with_changes(files_dir=folder))
    return folder


def request_fields(subject: str) -> dict:
    return {"sop": REPAIR, "requester_name": NAME, "requester_email": EMAIL, "requester_phone": PHONE,
            "requester_unit": "โรงเรียนบ้านนา", "subject": subject,
            "details": f"ติดต่อ {NAME} โทร {PHONE}", "consent": "true", "asset_tag": "7440-001-0001",
            "location": "ห้องธุรการ"}


def file_with_json(client) -> str:
    response = client.post("/intake/requests", data=json.dumps(request_fields("เครื่องพิมพ์พิมพ์ไม่ออก")),
                           headers={"Content-Type": "application/json", "Accept": "application/json"})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["tracking_code"]


def file_with_photo(client) -> str:
    page = client.get(f"/intake/forms/{REPAIR}?lang=th")
    token = CSRF.search(page.get_data(as_text=True)).group(1)
    data = {**request_fields("จอคอมพิวเตอร์ดับ"), "csrf_token": token, "photos": [(io.BytesIO(PHOTO), "จอดับ.png")]}
    response = client.post(f"/intake/requests?lang=th&form={REPAIR}", data=data, content_type="multipart/form-data",
                           headers={"Accept": "text/html"})
    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    return response.headers["Location"].split("/submitted/", 1)[1].split("?", 1)[0]


def close_case(client, token: str, code: str) -> None:
    """The repair's shortest path that waits on no one outside the desk, acted on by an officer."""
    sop = find_sop(REPAIR)
    paths = [p for p in walk_paths(sop, max_visits=1)
             if not any(sop.step(step).wait or sop.step(step).is_requester_step for step, _, _ in p)]
    for step_key, outcome, _ in min(paths, key=len):
        step = sop.step(step_key)
        if step.target.kind == "by-assignee":
            act(client, token, code, {"step": step_key, "outcome": "set-target", "target": "3 days"})
        body = {"step": step_key, "outcome": outcome, "note": "ตรวจแล้ว",
                "values": {f.name: _sample(f) for f in step.inputs},
                "documents": [{"key": d.key, "name": f"{d.key}.pdf", "ref": f"paperless/{d.key}"}
                              for d in step.documents]}
        if step.appoints_team:
            body["team"] = ["sc-officer"]
        act(client, token, code, body)
    case = client.get(f"/assignment/cases/{code}", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert case["status"] == "closed", case


def _sample(field):
    return {"number": 1, "email": "x@school.example", "date": "2026-11-20", "url": "https://school.example/x",
            "datetime": "2026-12-30T09:00:00+07:00",
            "select": field.choices[0] if field.choices else "x"}.get(field.type, "ข้อความ")


def act(client, token: str, code: str, body: dict) -> None:
    response = client.post(f"/assignment/cases/{code}/actions", data=json.dumps(body),
                           headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    assert response.status_code == 200, (body, response.get_json())
    drain()


def counts() -> dict:
    with assignment_bus.session() as session:
        found = {"cases": session.scalar(select(func.count()).select_from(Case)),
                 "closed": session.scalar(select(func.count()).select_from(Case).where(Case.status == "closed")),
                 "steps": session.scalar(select(func.count()).select_from(CaseStep)),
                 "scores": session.scalar(select(func.count()).select_from(SurveyScore)),
                 "score_sum": session.scalar(select(func.sum(SurveyScore.score)))}
    with intake_bus.session() as session:
        found["requests"] = session.scalar(select(func.count()).select_from(Request))
    with notify_bus.session() as session:
        found["emails"] = session.scalar(select(func.count()).select_from(Delivery))
    return found


def copies_of(words: list[str]) -> list[str]:
    """Every row of every table of every service's schema holding one of ``words``
    (case-insensitive), the row as JSON text (json columns decoded, so Thai reads as Thai)."""
    found = []
    for service in SERVICES:
        engine = db.get_engine(service, get_settings().database_url(service))
        with engine.connect() as conn:
            tables = conn.execute(text("SELECT table_name FROM information_schema.tables "
                                       "WHERE table_schema = :s AND table_type = 'BASE TABLE'"), {"s": service}).scalars()
            for table in list(tables):
                for word in words:
                    rows = conn.execute(text(f'SELECT to_jsonb(t)::text FROM "{service}"."{table}" t '
                                             "WHERE to_jsonb(t)::text ILIKE :w"), {"w": f"%{word}%"}).scalars().all()
                    found += [f"{service}.{table} has {word!r}: {row[:300]}" for row in rows]
    return found


def files_holding(folder, content: bytes) -> list:
    return [p for p in folder.rglob("*") if p.is_file() and content in p.read_bytes()] if folder.exists() else []


def test_a_person_exports_then_erases_everything_and_the_statistics_still_count_their_cases(
        client, mailbox, files_dir, tmp_path, capsys):
    _, token = make_staff("sc-officer", ["officer", "head", "supplies", "expert"], "sesao-sc")
    first = file_with_json(client)
    second = file_with_photo(client)
    drain()
    close_case(client, token, first)
    survey = client.post(f"/intake/track/{first}/survey?token={tracking_token(first)}",
                         data=json.dumps({"score": 4, "comment": f"ขอบคุณค่ะ {NAME}"}),
                         headers={"Content-Type": "application/json", "Accept": "application/json"})
    assert survey.status_code in (200, 201), survey.get_data(as_text=True)
    drain()
    mails = [m for m in mailbox.all() if EMAIL.lower() in [a.lower() for a in m.envelope_to]]
    assert {first, second} <= {code for m in mails for code in (first, second) if code in str(m.message["Subject"])}
    assert files_holding(files_dir, PHOTO) and copies_of([EMAIL, NAME, PHONE])  # the data is there to find
    before = counts()
    assert before["closed"] == 1 and before["scores"] == 1

    # the export: every service's rows, a summary in both languages, the photo as sent
    out = tmp_path / "manee.zip"
    assert main(["privacy", "export", "--email", EMAIL.lower(), "--out", str(out)]) == 0
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        person = json.loads(archive.read("person.json"))
        summary = archive.read("summary.txt").decode()
        photos = [archive.read(n) for n in names if n.startswith(f"files/{second}/")]
    assert sorted(person["tracking_codes"]) == sorted([first, second])
    services = person["services"]
    assert {r["requester_name"] for r in services["intake"]["requests"]} == {NAME}
    assert {r["requester_phone"] for r in services["intake"]["requests"]} == {PHONE}
    assert [s["comment"] for r in services["intake"]["requests"] for s in r["survey"]] == [f"ขอบคุณค่ะ {NAME}"]
    assert {c["tracking_code"] for c in services["assignment"]["cases"]} == {first, second}
    assert [c["status"] for c in services["assignment"]["cases"] if c["tracking_code"] == first] == ["closed"]
    assert len(services["assignment"]["survey_scores"]) == 1
    assert {c["email"] for c in services["notify"]["contacts"]} == {EMAIL}
    assert len(services["notify"]["emails"]) >= 3  # two received, the close
    assert photos == [PHOTO]
    assert "ข้อมูลส่วนบุคคล" in summary and "Personal data" in summary and first in summary and second in summary

    # the erasure: intake at once, the others by event; each confirms
    assert main(["privacy", "erase", "--email", EMAIL]) == 0
    drain()
    with intake_bus.session() as session:
        [request] = session.scalars(select(ErasureRequest)).all()
    assert sorted(request.tracking_codes) == sorted([first, second]) and request.reason == "request"
    assert set(request.confirmations) == {"intake", "assignment", "notify", "procurement"}
    assert request.completed_at is not None
    assert request.due_on == (request.requested_at + timedelta(hours=7)).date() + timedelta(days=30)

    # no copy anywhere: every table of every service, envelopes included, and the files folder
    assert copies_of([EMAIL, NAME, PHONE, "0812345678", "จอดับ.png"]) == []
    assert files_holding(files_dir, PHOTO) == []
    # what is not personal stays: the statistics count the cases, steps and scores still
    assert counts() == before
    # nothing more is sent to them
    with notify_bus.session() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)
                              .where(Delivery.status.in_(("pending", "sending")))) == 0
    capsys.readouterr()
    assert main(["privacy", "requests"]) == 0
    assert "done" in capsys.readouterr().out


def test_the_retention_job_erases_a_case_closed_longer_ago_than_the_retention_period(client, mailbox, files_dir,
                                                                                      caplog):
    _, token = make_staff("sc-officer", ["officer", "head", "supplies", "expert"], "sesao-sc")
    old, recent = file_with_photo(client), file_with_json(client)
    drain()
    close_case(client, token, old)
    close_case(client, token, recent)
    years = get_settings().retention_years
    with intake_bus.session() as session:
        session.execute(update(Request).where(Request.tracking_code == old)
                        .values(closed_at=db.utcnow() - timedelta(days=365 * years + 10)))
        session.commit()
    before = counts()
    with caplog.at_level("INFO", logger="services.intake.handlers.erasure"):
        assert main(["privacy", "retention"]) == 0
    drain()
    assert any("retention" in r.getMessage() and old in r.getMessage() for r in caplog.records)
    with intake_bus.session() as session:
        [erasure] = session.scalars(select(ErasureRequest)).all()
        rows = {r.tracking_code: r for r in session.scalars(select(Request))}
    assert erasure.reason == "retention" and erasure.tracking_codes == [old] and erasure.completed_at is not None
    assert rows[old].requester_name == ERASED and rows[recent].requester_name == NAME
    with assignment_bus.session() as session:
        cases = {c.tracking_code: c for c in session.scalars(select(Case))}
    assert cases[old].requester_name == ERASED and cases[old].status == "closed"
    assert cases[recent].requester_name == NAME
    assert files_holding(files_dir, PHOTO) == []
    assert counts() == before
    # a second run finds nothing more to do
    assert main(["privacy", "retention"]) == 0
    with intake_bus.session() as session:
        assert session.scalar(select(func.count()).select_from(ErasureRequest)) == 1


def test_an_erasure_that_comes_before_its_request_waits_for_it(client):
    """The erasure of a request just filed can reach a service before the request itself (two
    events of intake's, delivered apart): that service waits (``NotReady``: retried shortly) until
    the request is there, then erases it; nothing of the person stays behind either way."""
    from services.intake.adapters.models import Outbox
    from services.intake.handlers import erasure
    from services.notify.adapters.models import Contact
    from shared.messaging import NotReady

    code = file_with_json(client)
    assert erasure.request_erasure(EMAIL, None, None, by="test") is not None
    with intake_bus.session() as session:
        sent = {row.type: row.envelope for row in session.scalars(select(Outbox))}
    early, request = sent["privacy.erasure_requested"], sent["request.submitted"]
    for bus in (assignment_bus, notify_bus):
        with pytest.raises(NotReady):
            bus.consume(early)
        bus.consume(request)  # the request arrives
        bus.consume(early)  # and the erasure, retried, erases it
    with assignment_bus.session() as session:
        case = session.scalar(select(Case).where(Case.tracking_code == code))
        assert (case.requester_name, case.subject) == (ERASED, ERASED)
    with notify_bus.session() as session:
        contact = session.get(Contact, code)
        assert NAME not in (contact.name or "") and EMAIL.lower() not in (contact.email or "").lower()
