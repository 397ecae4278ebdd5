"""Results the requester reads, and documents that are files (issue 14, items 3 and 4), across the
four services: a request filed at intake, steps acted on through assignment's API (JSON, or
multipart with the documents' files), the events carried by the real Redis queues (``drain``),
the tracking page's JSON and HTML, and the "step done" email read back from the SMTP listener.

The manual's words: up/server-admin report-back "แจ้งการดำเนินการ และสรุปผลการแก้ไข ให้หน่วยงาน
ได้รับทราบ" (the message is required), onesqa/web-publish notify-origin "ส่งกลับต้นเรื่องเพื่อแจ้ง
ผลการดำเนินงาน และให้ตรวจสอบการแสดงผลอีกครั้ง" (the originator re-checks)."""
from __future__ import annotations

import io
import json
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

import shared.config
from services.assignment.adapters.bus import bus as assignment_bus
from services.assignment.adapters.models import AccessLog, CaseDocument
from services.assignment.handlers.directory import add_unit, add_user, staff_of
from services.assignment.tests.test_sops_end_to_end import sample
from services.intake.tests.conftest import csrf_from
from shared.auth import issue_token
from shared.config import get_settings
from shared.packs import find_sop
from shared.tracking import tracking_token
from sopdesk.testing import drain
from sopdesk.testing_actions import PDF

REQUESTER = "manee@school.example"
LINK = re.compile(r"https?://\S+")
INTERNAL = "บันทึกภายใน: เครื่องนี้เคยเสียแล้วสองครั้ง"


@pytest.fixture
def files_here(tmp_path, monkeypatch):
    """Kept files go to this test's own folder (so that what is kept can be counted)."""
    monkeypatch.setattr(shared.config, "_settings", get_settings().with_changes(files_dir=tmp_path / "files"))
    return tmp_path / "files"


@pytest.fixture
def staff(client, files_here):
    tokens = {}
    for org in ("up", "onesqa", "sesao-sc"):
        add_unit(f"ict-{org}", org, f"ศูนย์ ICT {org}", f"ICT {org}")
        for role in ("officer", "head", "subhead"):
            user = add_user(f"{role}-{org}", "correct horse battery", [role], display_name=f"{role} {org}",
                            email=f"{role}-{org}@office.example", unit=f"ict-{org}")
            tokens[f"{role}-{org}"] = issue_token(staff_of(user))
    return tokens


def file_request(client, sop: str) -> str:
    body = {"sop": sop, "requester_name": "ครูมานี มีนา", "requester_email": REQUESTER,
            "requester_unit": "โรงเรียนบ้านนา", "subject": f"คำขอ {sop}", "details": "รายละเอียด",
            "consent": True, "language": "th"}
    for field in find_sop(sop).form:
        if field.type != "file":
            body[field.name] = sample(field)
    data = {k: (json.dumps(v) if isinstance(v, bool) else v) for k, v in body.items()}
    files = {f.name: (io.BytesIO(PDF), "memo.pdf") for f in find_sop(sop).form if f.type == "file" and f.required}
    if files:  # a form with its files, as the browser posts it (with the form's CSRF token)
        token = csrf_from(client, f"/intake/forms/{sop}")
        response = client.post("/intake/requests", data={**data, "consent": "true", "csrf_token": token, **files},
                               content_type="multipart/form-data", headers={"Accept": "application/json"})
    else:
        response = client.post("/intake/requests", data=json.dumps(body), headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.get_data(as_text=True)
    drain()
    return response.get_json()["tracking_code"]


def act(client, token: str, code: str, body: dict, files: dict | None = None):
    """An action as JSON, or as multipart with ``files`` ({document key: (bytes, name)})."""
    headers = {"Authorization": f"Bearer {token}"}
    if files is None:
        return client.post(f"/assignment/cases/{code}/actions", data=json.dumps(body),
                           headers={**headers, "Content-Type": "application/json"})
    data = {k: v for k, v in body.items() if v is not None}
    for key, (content, name) in files.items():
        data[f"documents.{key}"] = (io.BytesIO(content), name)
    return client.post(f"/assignment/cases/{code}/actions", data=data, content_type="multipart/form-data",
                       headers=headers)


def ok(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    drain()
    return response.get_json()


def to_report_back(client, staff) -> str:
    code = file_request(client, "up/server-admin")
    officer = staff["officer-up"]
    ok(act(client, officer, code, {"step": "check-problem", "outcome": "done"}))
    for step in ("analyse", "coordinate-network"):
        ok(act(client, officer, code, {"step": step, "outcome": "set-target", "target": "3 days"}))
        ok(act(client, officer, code, {"step": step, "outcome": "done"}))
    return code


def track(client, code: str) -> dict:
    response = client.get(f"/intake/track/{code}?token={tracking_token(code)}", headers={"Accept": "application/json"})
    assert response.status_code == 200
    return response.get_json()


def kept_files(folder) -> list:
    return [p for p in (folder / "assignment").rglob("*") if p.is_file()] if (folder / "assignment").exists() else []


def test_report_back_is_not_done_without_the_summary_the_requester_reads(client, staff, mailbox):
    """up/server-admin report-back: "แจ้งการดำเนินการ และสรุปผลการแก้ไข" - the message is required;
    the internal note does not stand in for it."""
    code = to_report_back(client, staff)
    refused = act(client, staff["officer-up"], code, {"step": "report-back", "outcome": "done", "note": INTERNAL})
    assert refused.status_code == 422
    assert list(refused.get_json()["errors"]) == ["message"]
    blank = act(client, staff["officer-up"], code, {"step": "report-back", "outcome": "done", "message": "   "})
    assert blank.status_code == 422 and "message" in blank.get_json()["errors"]
    case = client.get(f"/assignment/cases/{code}", headers={"Authorization": f"Bearer {staff['officer-up']}"}).get_json()
    assert case["current_step"] == "report-back"  # nothing moved


def test_the_message_and_the_file_reach_the_requester_and_the_note_never_does(client, staff, mailbox, files_here):
    """The summary of the fix and the result file: in the trail and the event, on the tracking page
    (JSON and HTML) and in the "step done" email, with a download link that gives back the same
    bytes with the tracking token and nothing without it. The internal note reaches neither."""
    code = to_report_back(client, staff)
    summary = "เปลี่ยนฮาร์ดดิสก์ที่เสียแล้ว เซิร์ฟเวอร์กลับมาใช้งานได้ตามปกติ"
    report = PDF + b"% the fix, as a report\n"
    mailbox.clear()
    ok(act(client, staff["officer-up"], code,
           {"step": "report-back", "outcome": "done", "note": INTERNAL, "message": summary,
            "documents.result-report.ref": "บันทึก ทส. 12/2569"},
           files={"result-report": (report, "รายงานผล.pdf")}))

    # assignment keeps the file with the case, its reference beside it, and says so in the trail
    case = client.get(f"/assignment/cases/{code}", headers={"Authorization": f"Bearer {staff['head-up']}"}).get_json()
    [doc] = case["documents"]
    assert (doc["key"], doc["name"], doc["ref"], doc["size"], doc["to_requester"]) == (
        "result-report", "รายงานผล.pdf", "บันทึก ทส. 12/2569", len(report), True)
    [action] = [e for e in case["trail"] if e["kind"] == "action" and e["step"] == "report-back"]
    assert action["data"]["message"] == summary and action["note"] == INTERNAL
    assert [d["id"] for d in action["data"]["documents"]] == [doc["id"]]

    # the tracking page: the message and the file, never the note
    view = track(client, code)
    [done] = [s for s in view["steps"] if s["step"] == "report-back"]
    assert done["message"] == summary
    [given] = done["files"]
    assert given["name"] == "รายงานผล.pdf" and given["url"].startswith(f"/assignment/track/{code}/files/{doc['id']}?token=")
    page = client.get(f"/intake/track/{code}?token={tracking_token(code)}", headers={"Accept": "text/html"})
    html = page.get_data(as_text=True)
    assert summary in html and "รายงานผล.pdf" in html and INTERNAL not in html
    assert INTERNAL not in json.dumps(view, ensure_ascii=False)

    # the email: the message and the link, never the note
    [mail] = [m for m in mailbox.all() if REQUESTER in m.envelope_to and summary in m.text()]
    assert INTERNAL not in mail.text() and INTERNAL not in mail.html()
    [link] = [url for url in LINK.findall(mail.text()) if "/assignment/track/" in url]
    path = urlsplit(link)
    downloaded = client.get(f"{path.path}?{path.query}")
    assert downloaded.status_code == 200 and downloaded.data == report
    assert downloaded.headers["Content-Disposition"].startswith("attachment")
    # without the token, or with another case's, nothing is found
    assert client.get(path.path).status_code == 404
    assert client.get(f"{path.path}?token={tracking_token('SD-AAAAA-BBBBB')}").status_code == 404

    # staff who may see the case preview it inline; the read is logged
    staff_read = client.get(doc["url"], headers={"Authorization": f"Bearer {staff['head-up']}"})
    assert staff_read.status_code == 200 and staff_read.data == report
    assert staff_read.headers["Content-Disposition"].startswith("inline")
    with assignment_bus.session() as session:
        reads = session.scalar(select(func.count()).select_from(AccessLog).where(AccessLog.record == "document",
                                                                                AccessLog.record_id == doc["id"]))
    assert reads == 1
    # another organisation's staff find nothing
    assert client.get(doc["url"], headers={"Authorization": f"Bearer {staff['head-onesqa']}"}).status_code == 404


def test_a_pdf_that_is_not_a_pdf_is_refused_by_its_bytes_and_nothing_is_kept(client, staff, files_here):
    """Checked by its bytes, as intake's files are: a program named .pdf is refused on its field,
    in the page's language, and neither a file nor a row is kept; the step does not move."""
    code = to_report_back(client, staff)
    fake = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200  # a Windows program's first bytes
    refused = act(client, staff["officer-up"], code, {"step": "report-back", "outcome": "done", "message": "สรุปผล"},
                  files={"result-report": (fake, "report.pdf")})
    assert refused.status_code == 422
    errors = refused.get_json()["errors"]
    assert list(errors) == ["documents.result-report"]
    assert errors["documents.result-report"][0].startswith("report.pdf: ไม่รับไฟล์ชนิดนี้")  # Thai by default
    with assignment_bus.session() as session:
        assert session.scalar(select(func.count()).select_from(CaseDocument)) == 0
    assert kept_files(files_here) == []
    case = client.get(f"/assignment/cases/{code}", headers={"Authorization": f"Bearer {staff['officer-up']}"}).get_json()
    assert case["current_step"] == "report-back"
    # refused for the action itself (no message) after the file passed: the file is not kept either
    refused = act(client, staff["officer-up"], code, {"step": "report-back", "outcome": "done"},
                  files={"result-report": (PDF, "report.pdf")})
    assert refused.status_code == 422 and list(refused.get_json()["errors"]) == ["message"]
    assert kept_files(files_here) == []


def test_a_required_document_must_come_as_a_file(client, staff, files_here):
    """onesqa/eqa-data-request prepare-data needs its data file: missing, or only a paper reference
    typed as JSON, the step is not done; the file itself (multipart) does it."""
    sop = find_sop("onesqa/eqa-data-request")
    required = [d.key for d in sop.step("prepare-data").documents if d.required]
    code = file_request(client, sop.full_key)
    ok(act(client, staff["head-onesqa"], code, {"step": "head-review", "outcome": "accept"}))
    officer = staff["officer-onesqa"]
    missing = act(client, officer, code, {"step": "prepare-data", "outcome": "done"})
    assert missing.status_code == 422
    assert missing.get_json()["errors"] == {"documents": [f"this step needs: {', '.join(required)}"]}
    typed = act(client, officer, code, {"step": "prepare-data", "outcome": "done",
                                        "documents": [{"key": required[0], "name": "data.xlsx", "ref": "P-1"}]})
    assert typed.status_code == 422 and "documents" in typed.get_json()["errors"]
    ok(act(client, officer, code, {"step": "prepare-data", "outcome": "done"},
           files={required[0]: (PDF, "ข้อมูล.pdf")}))
    case = client.get(f"/assignment/cases/{code}", headers={"Authorization": f"Bearer {officer}"}).get_json()
    assert case["current_step"] != "prepare-data"
    assert [d["key"] for d in case["documents"]] == required
    assert len(kept_files(files_here)) == 1


def test_a_message_is_optional_where_the_pack_does_not_ask_for_one(client, staff, mailbox):
    """A step that does not tell the requester in words (up/server-admin check-problem) is done
    without a message; one written anyway still reaches the requester, the note does not."""
    code = file_request(client, "up/server-admin")
    assert not find_sop("up/server-admin").step("check-problem").message_required
    ok(act(client, staff["officer-up"], code, {"step": "check-problem", "outcome": "done", "note": INTERNAL,
                                                 "message": "รับเรื่องและตรวจสอบแล้ว"}))
    [done] = [s for s in track(client, code)["steps"] if s["step"] == "check-problem"]
    assert done["message"] == "รับเรื่องและตรวจสอบแล้ว"
    mails = [m for m in mailbox.all() if REQUESTER in m.envelope_to and "รับเรื่องและตรวจสอบแล้ว" in m.text()]
    assert len(mails) == 1 and INTERNAL not in mails[0].text()
    ok(act(client, staff["officer-up"], code, {"step": "analyse", "outcome": "set-target", "target": "1 day"}))
    ok(act(client, staff["officer-up"], code, {"step": "analyse", "outcome": "done"}))  # no message at all
    [analysed] = [s for s in track(client, code)["steps"] if s["step"] == "analyse"]
    assert analysed["message"] is None and analysed["files"] == []


def test_the_originator_rechecks_the_published_page_and_may_ask_for_a_correction(client, staff, mailbox):
    """onesqa/web-publish: "ส่งกลับต้นเรื่องเพื่อแจ้งผลการดำเนินงาน และให้ตรวจสอบการแสดงผลอีกครั้ง" -
    after notify-origin the requester re-checks on the tracking page: a correction sends the case
    back to check-display, a confirmation on to the report."""
    code = file_request(client, "onesqa/web-publish")
    head, officer = staff["head-onesqa"], staff["officer-onesqa"]
    verify = find_sop("onesqa/web-publish").step("verify")
    # "หน.ภทส. และ หน.จรส.": where the pack has both heads decide, each does
    for role in (verify.roles if getattr(verify, "approval", None) else ("head",)):
        ok(act(client, staff[f"{role}-onesqa"], code, {"step": "verify", "outcome": "ok"}))
    ok(act(client, officer, code, {"step": "publish", "outcome": "done"}))

    def notify_origin(message):
        ok(act(client, officer, code, {"step": "check-display", "outcome": "done"}))
        ok(act(client, officer, code, {"step": "notify-origin", "outcome": "done", "message": message}))

    notify_origin("เผยแพร่แล้วที่เมนูข่าวประชาสัมพันธ์")
    view = track(client, code)
    assert view["current_step"] == "recheck-display"
    assert [c["key"] for c in view["asked"]["choices"]] == ["confirmed", "correction"]
    page = client.get(f"/intake/track/{code}?token={tracking_token(code)}", headers={"Accept": "text/html"})
    html = page.get_data(as_text=True)  # in Thai: the re-check asked in words, its two answers by their labels
    assert "โปรดตรวจสอบผลการดำเนินงานอีกครั้ง" in html
    assert 'value="correction"' in html and "ขอให้แก้ไขการแสดงผล" in html and "แสดงผลถูกต้องแล้ว" in html
    answer_url = f"/intake/track/{code}/answer?token={tracking_token(code)}"
    # no choice: a field error, nothing stored
    missing = client.post(answer_url, data=json.dumps({"note": "ตรวจแล้ว"}),
                          headers={"Content-Type": "application/json", "Accept": "application/json"})
    assert missing.status_code == 422 and "outcome" in missing.get_json()["errors"]
    asked = client.post(answer_url, data=json.dumps({"note": "ภาพที่สองไม่แสดง", "outcome": "correction"}),
                        headers={"Content-Type": "application/json", "Accept": "application/json"})
    assert asked.status_code == 201, asked.get_json()
    drain()
    case = client.get(f"/assignment/cases/{code}", headers={"Authorization": f"Bearer {officer}"}).get_json()
    assert case["current_step"] == "check-display"
    notify_origin("แก้ไขภาพที่สองแล้ว")
    confirmed = client.post(answer_url, data=json.dumps({"note": "ถูกต้องแล้ว", "outcome": "confirmed"}),
                            headers={"Content-Type": "application/json", "Accept": "application/json"})
    assert confirmed.status_code == 201
    drain()
    case = client.get(f"/assignment/cases/{code}", headers={"Authorization": f"Bearer {officer}"}).get_json()
    assert case["current_step"] == "report"
    messages = [s["message"] for s in track(client, code)["steps"] if s["step"] == "notify-origin"]
    assert messages == ["เผยแพร่แล้วที่เมนูข่าวประชาสัมพันธ์", "แก้ไขภาพที่สองแล้ว"]
