"""An organisation's pack on the desk (entrypoints/pack_pages.py, handlers/packs_admin.py): an upload
checked with the very errors ``sopdesk packs check`` prints, refusals that store nothing, another
organisation's administrator kept out, a new version that leaves the cases already open on their
own, and the editor's rows that make the same YAML again."""
from __future__ import annotations

import html
import io
import re

import pytest
from sqlalchemy import func, select

from services.assignment.adapters import packstore
from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import Case, PackVersion
from services.assignment.handlers import packs_admin
from shared.packs import PACK_DIR, parse_pack
from sopdesk.testing import drain, make_staff

ORG = "onesqa"
SHIPPED = (PACK_DIR / "onesqa.yaml").read_text(encoding="utf-8")
SHIPPED_VERSION = parse_pack(SHIPPED).version


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}", "Accept-Language": "en"}


def _stored() -> list[tuple[str, int, str]]:
    with bus.session() as session:
        return session.execute(select(PackVersion.pack, PackVersion.version, PackVersion.checksum)
                               .order_by(PackVersion.pack, PackVersion.version)).all()


def _bumped(text: str, version: int) -> str:
    return re.sub(r"^version: \d+$", f"version: {version}", text, count=1, flags=re.M)


def _upload(client, token: str, data: bytes, name: str = "onesqa.yaml", org: str = ORG):
    return client.post(f"/assignment/desk/packs/{org}/check", headers=_bearer(token),
                       data={"pack": [(io.BytesIO(data), name)]}, content_type="multipart/form-data")


def _errors_shown(body: str) -> list[str]:
    return [html.unescape(line) for line in re.findall(r"<li><code>(.*?)</code></li>", body, flags=re.S)]


@pytest.fixture
def admin(clean):
    return make_staff("pack-admin", ["admin"], ORG)[1]


def test_an_upload_s_errors_are_those_of_sopdesk_packs_check_at_their_lines(client, admin, tmp_path, monkeypatch,
                                                                            capsys):
    from sopdesk import cli

    text = _bumped(SHIPPED, SHIPPED_VERSION + 1).replace("role: requester", "role: webmaster", 1)
    line = text.splitlines().index("        role: webmaster") + 1
    name = "onesqa-draft.yaml"
    (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["packs", "check", name]) == 1
    printed = capsys.readouterr().err.strip().splitlines()
    assert printed and printed[0].startswith(f"{name}:{line}: sops.web-publish.steps.0.role: unknown role webmaster")

    before = _stored()
    response = _upload(client, admin, text.encode(), name)
    assert response.status_code == 422
    assert _errors_shown(response.get_data(as_text=True)) == printed
    assert _stored() == before


@pytest.mark.parametrize("data, name, words", [
    (b"", "empty.yaml", "The file is empty."),
    (b"\xff\xfe\x00p\x00a\x00c\x00k", "utf16.yaml", "The file is not UTF-8 text"),
    (b"#" * (packs_admin.MAX_PACK_BYTES + 10), "big.yaml", f"larger than {packs_admin.MAX_PACK_BYTES // 1000} KB"),
    (b"pack: [onesqa\nversion: 2\n", "broken.yaml", "broken.yaml:2: not valid YAML"),
    (b"- just\n- a list\n", "list.yaml", "list.yaml:1: a pack is a mapping"),
])
def test_a_file_that_is_no_pack_is_refused_and_nothing_stored(client, admin, data, name, words):
    before = _stored()
    response = _upload(client, admin, data, name)
    assert response.status_code == 422
    assert words in html.unescape(response.get_data(as_text=True))
    assert _stored() == before


def test_another_organisation_s_pack_is_refused_at_the_check_and_at_the_load(client, admin):
    up = (PACK_DIR / "up.yaml").read_text(encoding="utf-8")
    before = _stored()
    response = _upload(client, admin, _bumped(up, 99).encode(), "up.yaml")
    assert response.status_code == 422
    assert "This is up's pack, not onesqa's: nothing was loaded." in html.unescape(response.get_data(as_text=True))
    assert 'id="load-pack"' not in response.get_data(as_text=True)
    loaded = client.post(f"/assignment/desk/packs/{ORG}/load", headers=_bearer(admin),
                         data={"source": _bumped(up, 99), "filename": "up.yaml"})
    assert loaded.status_code == 422
    assert "This is up's pack, not onesqa's" in html.unescape(loaded.get_data(as_text=True))
    invalid = client.post(f"/assignment/desk/packs/{ORG}/load", headers=_bearer(admin),
                          data={"source": SHIPPED.replace("role: requester", "role: webmaster", 1)})
    assert invalid.status_code == 422 and "unknown role webmaster" in invalid.get_data(as_text=True)
    stale = client.post(f"/assignment/desk/packs/{ORG}/load", headers=_bearer(admin),
                        data={"source": _bumped(SHIPPED, SHIPPED_VERSION).replace("ภารกิจ", "พันธกิจ", 1)})
    assert stale.status_code == 422 and "is loaded already with other content" in stale.get_data(as_text=True)
    assert _stored() == before


def test_another_organisation_s_administrator_can_neither_read_nor_load(client, admin):
    _, outsider = make_staff("up-admin", ["admin"], "up")
    _, officer = make_staff("onesqa-officer", ["officer"], ORG)
    new = _bumped(SHIPPED, SHIPPED_VERSION + 1)
    before = _stored()
    for method, path, data in [("GET", "", None), ("GET", "/pack.yaml", None), ("GET", "/editor?sop=web-publish", None),
                               ("POST", "/load", {"source": new}), ("POST", "/editor?sop=web-publish",
                                                                     {"source": new, "intent": "save"}),
                               ("POST", "/editor/preview?sop=web-publish", {"source": new})]:
        url = f"/assignment/desk/packs/{ORG}{path}"
        answer = client.open(url, method=method, headers=_bearer(outsider), data=data)
        assert answer.status_code == 404, (method, path)
        assert client.open(url, method=method, headers=_bearer(officer), data=data).status_code == 403
    assert _upload(client, outsider, new.encode()).status_code == 404
    assert _stored() == before
    # the organisation's own administrator reads it: the current version's text as loaded
    download = client.get(f"/assignment/desk/packs/{ORG}/pack.yaml", headers=_bearer(admin))
    assert download.status_code == 200 and download.get_data(as_text=True) == SHIPPED
    assert f'filename="{ORG}-v{SHIPPED_VERSION}.yaml"' in download.headers["Content-Disposition"]
    # and a system administrator any organisation's
    _, root = make_staff("root", ["sysadmin"], None)
    assert client.get(f"/assignment/desk/packs/{ORG}/pack.yaml", headers=_bearer(root)).status_code == 200


def _open_case(client, subject: str) -> str:
    response = client.post("/intake/requests", json={
        "sop": f"{ORG}/equipment-support", "requester_name": "นายทดสอบ ฉบับเดิม", "requester_email": "old@onesqa.example",
        "requester_unit": "กลุ่มงานทดสอบ", "subject": subject, "details": "เครื่องเปิดไม่ติด", "consent": True,
        "problem": "เครื่องเปิดไม่ติด"})
    assert response.status_code == 201, response.get_json()
    drain()
    return response.get_json()["tracking_code"]


def _case_version(code: str) -> int:
    with bus.session() as session:
        return session.scalar(select(Case.pack_version).where(Case.tracking_code == code))


def test_a_case_opened_before_a_new_version_keeps_its_version(client, admin):
    make_staff("onesqa-head", ["head"], ORG)
    make_staff("onesqa-officer", ["officer"], ORG)
    before = _open_case(client, "ก่อนฉบับใหม่")
    assert _case_version(before) == SHIPPED_VERSION
    old_first = packstore.sop_for(f"{ORG}/equipment-support").first_step

    raw = packs_admin.raw_of(SHIPPED)
    rows = packs_admin.sop_rows(raw, "equipment-support")
    form = packs_admin.form_fields(rows)
    form["s0.title.th"] = ["รับแจ้งปัญหา (ฉบับแก้ไข)"]
    response = client.post(f"/assignment/desk/packs/{ORG}/editor?sop=equipment-support", headers=_bearer(admin),
                           data={**form, "source": SHIPPED, "intent": "save"})
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    assert [version for pack, version, _ in _stored() if pack == ORG][-1] == SHIPPED_VERSION + 1

    after = _open_case(client, "หลังฉบับใหม่")
    assert _case_version(before) == SHIPPED_VERSION
    assert _case_version(after) == SHIPPED_VERSION + 1
    assert packstore.sop_for(f"{ORG}/equipment-support", SHIPPED_VERSION).first_step == old_first
    assert packstore.sop_for(f"{ORG}/equipment-support", SHIPPED_VERSION + 1).first_step.title["th"] == \
        "รับแจ้งปัญหา (ฉบับแก้ไข)"
    # the case's own page still answers from its version
    page = client.get(f"/assignment/desk/cases/{before}", headers=_bearer(admin))
    assert page.status_code == 200 and "ฉบับแก้ไข" not in page.get_data(as_text=True)


def test_the_editor_adds_and_removes_a_step_and_the_preview_checks_it(client, admin):
    url = f"/assignment/desk/packs/{ORG}/editor?sop=equipment-support"
    raw = packs_admin.raw_of(SHIPPED)
    form = {**packs_admin.form_fields(packs_admin.sop_rows(raw, "equipment-support")), "source": SHIPPED}
    steps = len(raw["sops"]["equipment-support"]["steps"])

    added = client.post(url, headers=_bearer(admin), data={**form, "intent": "add:0"})
    assert added.status_code == 200
    body = added.get_data(as_text=True)
    assert body.count('<fieldset class="step"') == steps + 1 and 'name="s1.key" value=""' in body

    # the new step, filled in and led to: valid; its flowchart shows it
    new = dict(form)
    for i in range(steps - 1, 0, -1):  # the rows after the first move down one
        for key in [k for k in form if k.startswith(f"s{i}.")]:
            new[f"s{i + 1}." + key.split(".", 1)[1]] = form[key]
    for key in [k for k in new if k.startswith("s1.")]:
        del new[key]
    second = raw["sops"]["equipment-support"]["steps"][1]["key"]
    new.update({"n_steps": [str(steps + 1)], "s1.key": ["triage"], "s1.title.th": ["คัดกรองเบื้องต้น"],
                "s1.roles": ["officer"], "s1.target": ["1 hour"], "s1.n_outcomes": ["1"], "s1.o0.key": ["done"],
                "s1.o0.to": [second], "s1.n_docs": ["0"]})
    for name, value in list(new.items()):
        if name.startswith("s0.o") and name.endswith(".to") and value == [second]:
            new[name] = ["triage"]
    preview = client.post(url.replace("/editor?", "/editor/preview?"), headers=_bearer(admin), data=new)
    answer = preview.get_json()
    assert preview.status_code == 200 and answer["valid"], answer["errors"]
    assert "คัดกรองเบื้องต้น" in answer["svg"]

    # a step removed that others still lead to: the check says where
    removed = {**new, "s1.key": [""], "s1.title.th": [""], "s1.origin": [""], "s1.was": [""], "s1.n_outcomes": ["0"],
               "s1.o0.key": [""], "s1.roles": []}
    answer = client.post(url.replace("/editor?", "/editor/preview?"), headers=_bearer(admin), data=removed).get_json()
    assert not answer["valid"]
    assert any("leads to unknown step triage" in line for line in answer["errors"])

    gone = client.post(url, headers=_bearer(admin), data={**form, "intent": "remove:0"}).get_data(as_text=True)
    assert gone.count('<fieldset class="step"') == steps - 1


def test_the_form_s_rows_make_every_shipped_sop_again():
    """Each SOP of each shipped pack, through the editor's rows and back (as a browser posts
    them), is the same SOP: nothing the form shows or hides is lost or changed."""
    for path in sorted(PACK_DIR.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        pack = parse_pack(text)
        raw = packs_admin.raw_of(text)
        for key in raw["sops"]:
            rows = packs_admin.rows_from_form(key, packs_admin.form_fields(packs_admin.sop_rows(raw, key)))
            draft = packs_admin.draft_of(raw, rows, path.name)
            assert draft.checked.valid, draft.checked.errors
            assert draft.checked.pack.sops[key] == pack.sops[key], f"{pack.key}/{key}"


def test_a_new_organisation_starts_from_a_one_step_pack(client, clean):
    _, token = make_staff("new-admin", ["admin"], "newoffice")
    page = client.get("/assignment/desk/packs/newoffice", headers=_bearer(token))
    assert page.status_code == 200 and 'id="start-pack"' in page.get_data(as_text=True)
    raw = packs_admin.raw_of(packs_admin.starter("newoffice"))
    form = packs_admin.form_fields(packs_admin.sop_rows(raw, "first-sop"))
    form["s0.title.th"] = ["รับเรื่องและดำเนินการ"]
    saved = client.post("/assignment/desk/packs/newoffice/editor?sop=first-sop", headers=_bearer(token),
                        data={**form, "intent": "save"})
    assert saved.status_code == 302
    assert packstore.sop_for("newoffice/first-sop").first_step.title["th"] == "รับเรื่องและดำเนินการ"
    with bus.session() as session:
        assert session.scalar(select(func.count()).select_from(PackVersion).where(PackVersion.pack == "newoffice")) == 1


def test_the_yaml_page_checks_a_text_as_sopdesk_packs_check_does(client, admin):
    page = client.get(f"/assignment/desk/packs/{ORG}/yaml", headers=_bearer(admin))
    assert page.status_code == 200 and html.escape(SHIPPED.splitlines()[0], quote=False) in page.get_data(as_text=True)
    broken = SHIPPED.replace("role: requester", "role: webmaster", 1)
    answer = client.post(f"/assignment/desk/packs/{ORG}/yaml/check", headers=_bearer(admin),
                         data={"source": broken, "filename": "onesqa.yaml"}).get_json()
    with pytest.raises(Exception) as raised:
        parse_pack(broken, source="onesqa.yaml")
    assert answer == {"valid": False, "errors": str(raised.value).splitlines()}
    up = (PACK_DIR / "up.yaml").read_text(encoding="utf-8")
    answer = client.post(f"/assignment/desk/packs/{ORG}/yaml/check", headers=_bearer(admin),
                         data={"source": up}).get_json()
    assert answer == {"valid": False, "errors": ["This is up's pack, not onesqa's: nothing was loaded."]}


def test_the_editor_s_errors_name_the_lines_of_the_yaml_it_shows(client, admin):
    raw = packs_admin.raw_of(SHIPPED)
    form = packs_admin.form_fields(packs_admin.sop_rows(raw, "web-publish"))
    form["s0.target"] = ["soon"]
    answer = client.post(f"/assignment/desk/packs/{ORG}/editor/preview?sop=web-publish", headers=_bearer(admin),
                         data={**form, "source": SHIPPED}).get_json()
    [error] = answer["errors"]
    where = re.match(r"onesqa\.yaml:(\d+): sops\.web-publish\.steps\.0\.target: target 'soon'", error)
    assert where, error
    assert answer["yaml"].splitlines()[int(where.group(1)) - 1].strip() == "target: soon"


@pytest.mark.parametrize("data", [
    {"source": "pack: [unclosed"},
    {"source": "- a\n- list\n"},
    {"source": "sops: {}\n"},
    {"n_steps": "999999", "s0.origin": "77", "s0.key": "x", "s0.o0.b0.op": "zz", "s0.o0.b0.input": "a",
     "s0.n_outcomes": "-3", "s0.approval": "everyone", "s0.notify": "shout"},
    {"source": SHIPPED.replace("pack: onesqa", "pack: up", 1), "intent": "save"},
    {"intent": "switch:no-such-sop"},
    {"intent": "remove:abc"},
])
def test_a_form_that_makes_no_sense_is_answered_never_with_a_500_and_stores_nothing(client, admin, data):
    before = _stored()
    for path in ("/editor?sop=web-publish", "/editor/preview?sop=web-publish", "/yaml/check", "/load"):
        answer = client.post(f"/assignment/desk/packs/{ORG}{path}", headers=_bearer(admin), data=data)
        assert answer.status_code in (200, 404, 422), (path, answer.status_code)
    assert _stored() == before


def test_an_office_adds_an_sop_and_names_itself_in_the_form_without_yaml(client, clean):
    _, token = make_staff("new-admin", ["admin"], "newoffice")
    url = "/assignment/desk/packs/newoffice/editor?sop=first-sop"
    source = packs_admin.starter("newoffice")
    form = {**packs_admin.form_fields(packs_admin.sop_rows(packs_admin.raw_of(source), "first-sop")), "source": source}
    form["organisation.th"] = ["สำนักงานทดสอบ"]
    bad = client.post(url, headers=_bearer(token), data={**form, "intent": "new_sop", "new_sop": "Repair Desk"})
    assert bad.status_code == 422
    assert 'The key Repair Desk cannot be used' in html.unescape(bad.get_data(as_text=True))
    taken = client.post(url, headers=_bearer(token), data={**form, "intent": "new_sop", "new_sop": "first-sop"})
    assert taken.status_code == 422 and "The pack has an SOP first-sop already." in taken.get_data(as_text=True)

    added = client.post(url, headers=_bearer(token), data={**form, "intent": "new_sop", "new_sop": "repair"})
    assert added.status_code == 200
    body = added.get_data(as_text=True)
    assert 'action="/assignment/desk/packs/newoffice/editor?sop=repair"' in body
    draft = html.unescape(re.search(r'<textarea name="source" hidden>\n(.*?)</textarea>', body, flags=re.S).group(1))
    raw = packs_admin.raw_of(draft)
    assert list(raw["sops"]) == ["first-sop", "repair"] and raw["organisation"] == {"th": "สำนักงานทดสอบ"}
    rows = packs_admin.sop_rows(raw, "repair")
    rows.title["th"] = "ซ่อมเครื่องคอมพิวเตอร์"
    saved = client.post("/assignment/desk/packs/newoffice/editor?sop=repair", headers=_bearer(token),
                        data={**packs_admin.form_fields(rows), "source": draft, "intent": "save"})
    assert saved.status_code == 302, saved.get_data(as_text=True)[-2000:]
    assert packstore.sop_for("newoffice/repair").title["th"] == "ซ่อมเครื่องคอมพิวเตอร์"
    assert packstore.sop_for("newoffice/first-sop") is not None
    assert packs_admin.current("newoffice").organisation == {"th": "สำนักงานทดสอบ"}


def test_a_valid_upload_is_previewed_sop_by_sop_and_loaded_as_a_new_version(client, admin):
    same = _upload(client, admin, SHIPPED.encode()).get_data(as_text=True)
    assert 'id="not-newer"' in same  # the loaded version itself: loading it again changes nothing
    new = _bumped(SHIPPED, SHIPPED_VERSION + 1)
    page = _upload(client, admin, new.encode(), "onesqa-next.yaml")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    pack = parse_pack(new)
    assert 'id="not-newer"' not in body
    for key, sop in pack.sops.items():  # each SOP's table (a row a step) and flowchart
        section = body.split(f'id="preview-{key}"', 1)[1].split("</section>", 1)[0]
        assert section.count("<tr data-step=") == len(sop.steps)
        assert "<svg" in section
    loaded = client.post(f"/assignment/desk/packs/{ORG}/load", headers=_bearer(admin),
                         data={"source": new, "filename": "onesqa-next.yaml"})
    assert loaded.status_code == 302
    assert [version for pack_key, version, _ in _stored() if pack_key == ORG] == [SHIPPED_VERSION, SHIPPED_VERSION + 1]
    follow = client.get(f"/assignment/desk/packs/{ORG}", headers=_bearer(admin)).get_data(as_text=True)
    assert f"Version {SHIPPED_VERSION + 1} loaded; cases already open keep their own version." in follow
