"""Files with a request: kinds judged by their bytes, sizes, names made safe, kept under a random
name outside anything served, recorded with their metadata, announced in request.submitted, and
handed back only to the requester (token) or staff (logged). A refused post keeps no file."""
import io
import zipfile

import pytest
from sqlalchemy import delete, select

from services.intake.adapters.bus import bus
from services.intake.adapters.models import AccessLog, Attachment, Outbox, Request
from services.intake.tests.conftest import NOTHING, counts, csrf_from, files_on_disk
from shared.auth import file_grant_subject, grant
from shared.tracking import tracking_token
from sopdesk.testing import drain, make_staff

PDF = b"%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"This program cannot be run in DOS mode."
HTML = b"<html><script>alert(document.cookie)</script></html>"


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.exe", EXE)
    return buffer.getvalue()


PUBLISH = {"sop": "onesqa/web-publish", "requester_name": "นางสาวกานดา ใจงาม", "requester_email": "kanda@onesqa.example",
           "requester_unit": "กลุ่มงานประชาสัมพันธ์", "subject": "ขอเผยแพร่ประกาศรับสมัคร", "details": "ตามบันทึกแนบ",
           "consent": "true", "memo_ref": "สมศ 0105/123", "target_menu": "ข่าวประชาสัมพันธ์"}
FORM_URL = "/intake/forms/onesqa/web-publish"


def upload(client, fields: dict, files: dict, lang: str = "th"):
    token = csrf_from(client, f"{FORM_URL}?lang={lang}")
    data = {**fields, "csrf_token": token}
    for name, items in files.items():
        data[name] = [(io.BytesIO(content), filename) for filename, content in items]
    return client.post(f"/intake/requests?lang={lang}&form=onesqa/web-publish", data=data,
                       content_type="multipart/form-data", headers={"Accept": "text/html"})


def filed_code(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[-3000:]
    return response.headers["Location"].split("/submitted/", 1)[1].split("?", 1)[0]


def test_files_are_kept_under_random_names_recorded_and_announced(client, files_dir):
    response = upload(client, PUBLISH, {"memo_file": [("บันทึกขอเผยแพร่.pdf", PDF)],
                                        "content_files": [("ภาพ1.png", PNG), ("photo.JPG", JPEG),
                                                          ("ประกาศ.docx", docx())]})
    code = filed_code(response)
    with bus.session() as session:
        rows = session.scalars(select(Attachment).order_by(Attachment.original_name)).all()
        [event] = session.scalars(select(Outbox)).all()
        request = session.scalar(select(Request))
    assert request.channel == "web"
    by_name = {r.original_name: r for r in rows}
    assert set(by_name) == {"บันทึกขอเผยแพร่.pdf", "ภาพ1.png", "photo.JPG", "ประกาศ.docx"}
    memo = by_name["บันทึกขอเผยแพร่.pdf"]
    assert (memo.field, memo.content_type, memo.size, memo.uploaded_by, memo.purpose) == (
        "memo_file", "application/pdf", len(PDF), "requester", "form")
    import hashlib

    assert memo.sha256 == hashlib.sha256(PDF).hexdigest()
    assert by_name["photo.JPG"].content_type == "image/jpeg"
    assert by_name["ประกาศ.docx"].content_type.endswith("wordprocessingml.document")
    # on disk under files_dir, by a random name that is not the requester's
    on_disk = files_on_disk(files_dir)
    assert len(on_disk) == 4 and all(p.name not in by_name for p in on_disk)
    assert (files_dir / memo.storage_key).read_bytes() == PDF
    assert oct((files_dir / memo.storage_key).stat().st_mode & 0o777) == "0o600"
    attachments = event.envelope["payload"]["attachments"]
    assert sorted(a["name"] for a in attachments) == sorted(by_name)
    assert all(set(a) == {"id", "field", "name", "content_type", "size"} for a in attachments)
    assert {a["id"] for a in attachments} == {r.id for r in rows}
    assert code == request.tracking_code


@pytest.mark.parametrize("files, field, thai", [
    ({"memo_file": [("memo.pdf", EXE)]}, "memo_file", "ไม่รับไฟล์ชนิดนี้"),  # a program renamed .pdf
    ({"memo_file": [("memo.pdf", HTML)]}, "memo_file", "ไม่รับไฟล์ชนิดนี้"),  # text where only pdf, image, word go
    ({"memo_file": [("memo.pdf", plain_zip())]}, "memo_file", "ไม่รับไฟล์ชนิดนี้"),
    ({"memo_file": [("memo.exe", PDF)]}, "memo_file", "ไม่ตรงกับเนื้อไฟล์"),  # the name's ending lies
    ({"memo_file": [("memo.pdf", b"")]}, "memo_file", "ไฟล์ว่างเปล่า"),
    ({"memo_file": [("a.pdf", PDF), ("b.pdf", PDF)]}, "memo_file", "แนบได้ไฟล์เดียว"),
    ({}, "memo_file", "กรุณาแนบไฟล์"),  # required in a requester's form post
    ({"memo_file": [("memo.pdf", PDF)], "content_files": [("ok.png", PNG), ("virus.png", EXE)]},
     "content_files", "virus.png: ไม่รับไฟล์ชนิดนี้"),  # one bad file: the good ones are not kept either
])
def test_a_bad_file_gets_a_message_and_nothing_is_kept(client, files_dir, files, field, thai):
    response = upload(client, PUBLISH, files)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert thai in html, html[html.find('class="error"') - 200:][:1500]
    assert 'id="memo_file-again"' in html  # files must be chosen again: the form says so
    assert 'value="สมศ 0105/123"' in html  # the rest is refilled
    assert counts() == NOTHING and files_on_disk(files_dir) == []


def test_a_file_over_the_size_limit_is_refused(client, files_dir, settings):
    settings(max_upload_mb=1)
    big = PDF + b"0" * (1024 * 1024)
    response = upload(client, PUBLISH, {"memo_file": [("big.pdf", big)]}, lang="en")
    assert response.status_code == 422
    assert "big.pdf: The file is larger than 1 MB." in response.get_data(as_text=True)
    assert counts() == NOTHING and files_on_disk(files_dir) == []


def test_a_body_over_the_cap_gets_a_clear_413(client, gateway, files_dir):
    gateway.apps["intake"].config["MAX_CONTENT_LENGTH"] = 200 * 1024
    response = upload(client, PUBLISH, {"memo_file": [("memo.pdf", PDF + b"0" * 300 * 1024)]})
    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "ข้อมูลที่ส่งมีขนาดรวมเกิน" in html and 'name="memo_file"' in html  # the form again, with the message
    as_json = client.post("/intake/requests", data={"memo_file": (io.BytesIO(b"0" * 300 * 1024), "x.pdf")},
                          content_type="multipart/form-data", headers={"Accept": "application/json"})
    assert as_json.status_code == 413
    assert "ยังไม่ได้บันทึกข้อมูลใด ๆ" in as_json.get_json()["errors"]["_schema"][0]
    assert counts() == NOTHING and files_on_disk(files_dir) == []


def test_names_are_made_safe(client):
    """A crafted client can send any name (RFC 5987 ``filename*`` carries CR/LF, quotes, paths):
    what is kept and sent back has none of them."""
    token = csrf_from(client, FORM_URL)
    parts = [f'--XX\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in {**PUBLISH, "csrf_token": token}.items()]
    parts.append(b"--XX\r\nContent-Disposition: form-data; name=\"memo_file\"; "
                 b"filename*=UTF-8''..%5C..%5Cetc%2F%22memo%22%0D%0AX-Evil%3A%201%3B%E0%B8%81.pdf\r\n"
                 b"Content-Type: application/pdf\r\n\r\n" + PDF + b"\r\n--XX--\r\n")
    body = b"".join(parts)
    response = client.post("/intake/requests", data=body, content_type="multipart/form-data; boundary=XX",
                           headers={"Accept": "text/html"})
    code = filed_code(response)
    with bus.session() as session:
        row = session.scalar(select(Attachment))
    assert row.original_name == "_memo___X-Evil_ 1_ก.pdf"
    download = client.get(f"/intake/track/{code}/files/{row.id}?token={tracking_token(code)}")
    disposition = download.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition and disposition.startswith("attachment;")
    assert "X-Evil" not in download.headers


def test_the_requester_downloads_with_the_token_and_nobody_else(client):
    code = filed_code(upload(client, PUBLISH, {"memo_file": [("บันทึก.pdf", PDF)]}))
    other = filed_code(upload(client, PUBLISH, {"memo_file": [("other.pdf", PDF)]}))
    with bus.session() as session:
        mine = session.scalar(select(Attachment).join(Request).where(Request.tracking_code == code))
    url = f"/intake/track/{code}/files/{mine.id}"
    response = client.get(f"{url}?token={tracking_token(code)}")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E0%B8%9A" in response.headers["Content-Disposition"]  # the Thai name, encoded
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert "no-store" in response.headers["Cache-Control"]
    for bad in (f"{url}", f"{url}?token=guess", f"{url}?token={tracking_token(other)}",
                f"/intake/track/{other}/files/{mine.id}?token={tracking_token(other)}"):  # another case's token
        refused = client.get(bad)
        assert refused.status_code == 404 and refused.data != PDF
    # the tracking page lists it with a link carrying the token
    page = client.get(f"/intake/track/{code}?token={tracking_token(code)}").get_data(as_text=True)
    assert f"{url}?token={tracking_token(code)}" in page and "บันทึก.pdf" in page


def test_staff_download_with_a_login_and_every_read_is_logged(client, staff_token):
    code = filed_code(upload(client, PUBLISH, {"memo_file": [("memo.pdf", PDF)]}))
    with bus.session() as session:
        row = session.scalar(select(Attachment))
    url = f"/intake/requests/{code}/files/{row.id}"
    assert client.get(url).status_code == 401  # no login (and a tracking token is no staff login)
    assert client.get(f"{url}?token={tracking_token(code)}").status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer forged"}).status_code == 401
    # the walls: the request is onesqa's. Its administrator needs nothing more; an officer needs
    # the grant the case's page gives those who may see it (assignment decides), for that file and
    # that person; another organisation's administrator finds nothing
    onesqa_admin, admin_token = make_staff("onesqa-admin", ["admin"], "onesqa")
    officer, officer_token = make_staff("onesqa-officer", ["officer"], "onesqa")
    other_admin, other_token = make_staff("sc-admin", ["admin"], "sesao-sc")
    assert client.get(url, headers={"Authorization": f"Bearer {officer_token}"}).status_code == 404
    assert client.get(url, headers={"Authorization": f"Bearer {other_token}"}).status_code == 404
    theirs = grant(officer, file_grant_subject(code, row.id))
    for token, given in ((other_token, theirs), (officer_token, grant(officer, file_grant_subject(code, "nope"))),
                         (officer_token, grant(other_admin, file_grant_subject(code, row.id)))):
        assert client.get(f"{url}?grant={given}", headers={"Authorization": f"Bearer {token}"}).status_code == 404
    assert client.get(f"{url}?grant={theirs}", headers={"Authorization": f"Bearer {officer_token}"}).data == PDF
    with bus.session() as session:
        assert [log.actor for log in session.scalars(select(AccessLog))] == ["onesqa-officer"]
        session.execute(delete(AccessLog))
        session.commit()
    staff_token = admin_token
    response = client.get(url, headers={"Authorization": f"Bearer {staff_token}"})
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    with bus.session() as session:
        [log] = session.scalars(select(AccessLog)).all()
    assert (log.actor, log.record, log.record_id) == ("onesqa-admin", "attachment", row.id)
    assert code in log.purpose
    assert client.get(f"/intake/requests/{code}/files/nope",
                      headers={"Authorization": f"Bearer {staff_token}"}).status_code == 404
    from services.intake.tests.test_security import desk_login

    desk_login(client, "onesqa-admin")  # the desk's session cookie is a staff login too
    assert client.get(url).data == PDF
    with bus.session() as session:
        assert len(session.scalars(select(AccessLog)).all()) == 2


def test_staff_filing_on_paper_need_not_attach_the_required_file(client, files_dir):
    """A required file is required of requesters' form posts; staff filing a paper request hold the
    paper (they may attach a scan), and JSON filers cannot send files at all."""
    staff_token = make_staff("onesqa-clerk", ["intake-clerk"], "onesqa")[1]  # the form is onesqa's
    data = {**PUBLISH, "memo_file": (io.BytesIO(PDF), "scan.pdf")}
    response = client.post("/intake/requests", data=data, content_type="multipart/form-data",
                           headers={"Authorization": f"Bearer {staff_token}", "Accept": "application/json"})
    assert response.status_code == 201, response.get_json()
    with bus.session() as session:
        row = session.scalar(select(Attachment))
    assert row.uploaded_by == "staff" and row.original_name == "scan.pdf"
    without = client.post("/intake/requests", data=dict(PUBLISH), content_type="multipart/form-data",
                          headers={"Authorization": f"Bearer {staff_token}", "Accept": "application/json"})
    assert without.status_code == 201


def _ole2(stream_name: str) -> bytes:
    """The start of an OLE2 compound file whose directory names ``stream_name`` (UTF-16)."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    return header + stream_name.encode("utf-16-le") + b"\x00" * 200


def _odf(mimetype: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", mimetype)
        archive.writestr("content.xml", "<office:document-content/>")
    return buffer.getvalue()


def _xlsx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


@pytest.mark.parametrize("name, content, expected", [
    ("a.pdf", PDF, "application/pdf"),
    ("a.png", PNG, "image/png"),
    ("a.jpg", JPEG, "image/jpeg"),
    ("a.gif", b"GIF89a" + b"\x00" * 20, "image/gif"),
    ("a.webp", b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 20, "image/webp"),
    ("a.docx", docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("a.xlsx", _xlsx(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("a.odt", _odf("application/vnd.oasis.opendocument.text"), "application/vnd.oasis.opendocument.text"),
    ("a.ods", _odf("application/vnd.oasis.opendocument.spreadsheet"), "application/vnd.oasis.opendocument.spreadsheet"),
    ("a.doc", _ole2("WordDocument"), "application/msword"),
    ("a.xls", _ole2("Workbook"), "application/vnd.ms-excel"),
    ("a.txt", "บันทึก\nบรรทัดที่สอง\t".encode(), "text/plain"),
    ("a.csv", b"\xef\xbb\xbfcode,score\nSD-1,5\n", "text/csv"),
    ("a.exe", EXE, None),
    ("a.zip", plain_zip(), None),
    ("a.odp", _odf("application/vnd.oasis.opendocument.presentation"), None),
    ("a.msi", _ole2("SummaryInformation"), None),
    ("a.txt", b"text\x00with a NUL", None),
    ("a.txt", "ภาษาไทย".encode("cp874"), None),  # not UTF-8: not taken as text
    ("a.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "text/plain"),
])
def test_kinds_are_judged_by_their_bytes(tmp_path, name, content, expected):
    from shared.files import sniff

    path = tmp_path / "upload"
    path.write_bytes(content)
    assert sniff(path, name) == expected


def test_an_svg_is_not_an_image_and_is_refused_where_only_images_go(tmp_path):
    from shared.files import UploadError, store

    svg = io.BytesIO(b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>")
    with pytest.raises(UploadError) as refused:
        store(svg, "drawing.svg", "photos", ("image",), tmp_path, 1024 * 1024)
    assert refused.value.code == "wrong_type"
    assert list(tmp_path.rglob("*.*")) == [] and [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("raw, clean", [
    ("C:\\Users\\ครู\\Desktop\\บันทึก.pdf", "บันทึก.pdf"),
    ("../../etc/passwd", "passwd"),
    ("  .hidden.pdf  ", "hidden.pdf"),
    ("a\u2028b<>:\"|?*.pdf", "a_b_______.pdf"),
    ("", "file"),
    ("ก" * 300 + ".pdf", "ก" * 146 + ".pdf"),
])
def test_clean_filename(raw, clean):
    from shared.files import clean_filename

    assert clean_filename(raw) == clean



def test_the_case_at_assignment_knows_the_files(client):
    code = filed_code(upload(client, PUBLISH, {"memo_file": [("memo.pdf", PDF)]}))
    drain()
    from services.assignment.adapters.bus import bus as assignment_bus
    from services.assignment.adapters.models import Case

    with assignment_bus.session() as session:
        case = session.scalar(select(Case).where(Case.tracking_code == code))
    with bus.session() as session:
        row = session.scalar(select(Attachment))
    assert case.attachments == [{"id": row.id, "field": "memo_file", "name": "memo.pdf",
                                 "content_type": "application/pdf", "size": len(PDF)}]
