"""The request forms as people see them: every field type a pack form has, Thai first and English
too, Buddhist-era dates in Thai, choice labels, file inputs, and the privacy notice beside the
consent box. Fields come from the packs, so the checks walk the packs."""
import re

import pytest
from markupsafe import escape

from shared.packs import builtin_packs, find_sop


def page(client, url: str, lang: str = "th") -> str:
    response = client.get(f"{url}?lang={lang}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def input_tag(html: str, name: str) -> str:
    match = re.search(rf'<(input|textarea|select)[^>]*\bname="{name}"[^>]*>', html)
    assert match, f"no field {name}"
    return match.group(0)


REQUESTER_SOPS = [pytest.param(sop, id=sop.full_key) for pack in builtin_packs().values()
                  for sop in pack.sops.values() if sop.requester]


@pytest.mark.parametrize("sop", REQUESTER_SOPS)
def test_every_requester_form_renders_every_field_in_both_languages(client, sop):
    for lang in ("th", "en"):
        html = page(client, f"/intake/forms/{sop.pack}/{sop.key}", lang)
        assert f'<html lang="{lang}">' in html
        assert 'name="csrf_token"' in html and 'enctype="multipart/form-data"' in html
        for field in sop.form:
            tag = input_tag(html, field.name)
            label = field.label.get(lang) or field.label["th"]
            assert f'for="{field.name}"' in html and str(escape(label)) in html, (field.name, lang)
            if field.required:
                assert "required" in tag
            if field.type == "file":
                assert 'type="file"' in tag and ("multiple" in tag) == field.multiple
            if field.type == "select":
                for value in field.choices:
                    assert f'value="{value}"' in html and str(escape(field.choice_label(value, lang))) in html


def test_types_render_as_the_right_inputs(client):
    thai = page(client, "/intake/forms/onesqa/aqa-system-dev", "th")
    english = page(client, "/intake/forms/onesqa/aqa-system-dev", "en")
    # a date and time: a text input with a Buddhist-era placeholder in Thai, the browser's own in English
    assert 'type="text"' in input_tag(thai, "kickoff_at") and 'placeholder="วว/ดด/ปปปป ชช:นน (พ.ศ.)"' in thai
    assert 'type="datetime-local"' in input_tag(english, "kickoff_at")
    assert "<textarea" in input_tag(thai, "problem")
    date_th = page(client, "/intake/forms/sesao-sc/repair", "th")
    date_en = page(client, "/intake/forms/sesao-sc/repair", "en")
    assert 'placeholder="วว/ดด/ปปปป (พ.ศ.)"' in input_tag(date_th, "since")
    assert 'type="date"' in input_tag(date_en, "since")
    install = page(client, "/intake/forms/sesao-sc/software-install", "th")
    assert 'inputmode="decimal"' in input_tag(install, "machines")
    assert '<option value="licensed">มีลิขสิทธิ์ของหน่วยงาน</option>' in install
    install_en = page(client, "/intake/forms/sesao-sc/software-install", "en")
    assert '<option value="licensed">Licensed by the office</option>' in install_en
    esaraban = page(client, "/intake/forms/sesao-sc/esaraban-account", "th")
    assert 'type="email"' in input_tag(esaraban, "official_email")
    website = page(client, "/intake/forms/sesao-sc/website-update", "en")
    assert 'type="url"' in input_tag(website, "content_url")
    memo = input_tag(page(client, "/intake/forms/onesqa/web-publish", "th"), "memo_file")
    assert 'accept="application/pdf,.pdf,image/jpeg' in memo and "multiple" not in memo and "required" in memo
    files = input_tag(page(client, "/intake/forms/onesqa/web-publish", "th"), "content_files")
    assert "multiple" in files and "spreadsheetml" in files


def test_the_forms_ask_what_the_manuals_need(client):
    """The examples of the issue: what each SOP's form gathers (and nothing personal beyond it)."""
    def names(key):
        return {f.name: f for f in find_sop(key).form}

    repair = names("sesao-sc/repair")
    assert {"asset_tag", "location", "since"} <= set(repair) and repair["since"].type == "date"
    install = names("sesao-sc/software-install")
    assert {"software_name", "asset_tag", "licence"} <= set(install)
    for key in ("sesao-sc/website-update", "sesao-sc/news-publish", "onesqa/web-publish"):
        web = names(key)
        assert "content_text" in web and web["content_files"].type == "file" and web["content_files"].multiple
        memo = web.get("approval_memo") or web.get("memo_file")
        assert memo.type == "file" and "pdf" in memo.accept
    assert {"position", "work_group", "official_email", "access_level"} <= set(names("sesao-sc/esaraban-account"))
    data = names("onesqa/eqa-data-request")
    assert {"purpose", "scope", "affiliation", "delivery_channel", "request_letter"} <= set(data)
    for key in ("rmutl/system-dev", "up/info-system-dev", "sesao-sc/app-development", "onesqa/aqa-system-dev"):
        dev = names(key)
        assert "problem" in dev and "users" in dev
        assert any(f.type == "file" for f in dev.values())
    personal = re.compile(r"national|citizen|id_card|birth|religion|address|salary", re.I)
    for pack in builtin_packs().values():
        for sop in pack.sops.values():
            assert not [f.name for f in sop.form if personal.search(f.name)], sop.full_key


def test_the_privacy_notice_says_what_is_kept_for_how_long_and_whom_to_ask(client, settings):
    thai = page(client, "/intake/forms/sesao-sc/esaraban-account", "th")
    notice = thai[thai.index('id="privacy-notice"'):thai.index('id="consent"')]
    for label in ("ตำแหน่ง", "กลุ่มงาน / ฝ่ายที่สังกัด", "อีเมลราชการ", "ชื่อ-นามสกุล"):
        assert label in notice
    assert "5 ปีนับจากวันที่ปิดเรื่อง" in notice and "ผู้ดูแลระบบของหน่วยงาน" in notice
    assert "พระราชบัญญัติคุ้มครองข้อมูลส่วนบุคคล" in notice and "ฉบับ n1-" in notice
    english = page(client, "/intake/forms/sesao-sc/esaraban-account", "en")
    assert "5 years after the request is closed" in english and "the unit&#39;s administrator" in english
    assert "Official email" in english[english.index('id="privacy-notice"'):]
    version_before = re.search(r"ฉบับ (n1-[0-9a-f]+)", notice).group(1)

    settings(retention_years=10, privacy_contact="dpo@sesao-sc.example โทร 077-000000")
    changed = page(client, "/intake/forms/sesao-sc/esaraban-account", "th")
    assert "10 ปีนับจากวันที่ปิดเรื่อง" in changed and "dpo@sesao-sc.example โทร 077-000000" in changed
    assert re.search(r"ฉบับ (n1-[0-9a-f]+)", changed).group(1) != version_before  # new words, new version


def test_an_anonymous_visitor_sees_no_staff_section(client):
    html = page(client, "/intake/forms/sesao-sc/repair", "th")
    assert 'id="staff-section"' not in html and 'name="received_at"' not in html


def test_the_index_lists_every_requester_form_and_no_planned_work(client):
    html = page(client, "/intake/", "th")
    for param in REQUESTER_SOPS:
        sop = param.values[0]
        assert f"/intake/forms/{sop.pack}/{sop.key}" in html
    assert "/intake/forms/sesao-sc/server-security" not in html
    assert client.get("/intake/forms/sesao-sc/server-security").status_code == 404
    assert client.get("/intake/forms/sesao-sc/nothing").status_code == 404


def test_forms_render_in_thai_and_english(client):
    by_browser = client.get("/intake/forms/sesao-sc/repair", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Asset tag" in by_browser.get_data(as_text=True)  # the browser's language, no cookie yet
    thai = client.get("/intake/forms/sesao-sc/repair", headers={"Accept-Language": "th"}).get_data(as_text=True)
    english = client.get("/intake/forms/sesao-sc/repair?lang=en").get_data(as_text=True)
    assert "การซ่อมบำรุงเครื่องคอมพิวเตอร์" in thai and "หมายเลขครุภัณฑ์" in thai and "ประกาศความเป็นส่วนตัว" in thai
    assert "Repair of computers" in english and "Asset tag" in english and "Privacy notice" in english
    # the switch is remembered: the next page without ?lang is English too
    assert "Asset tag" in client.get("/intake/forms/sesao-sc/repair").get_data(as_text=True)
