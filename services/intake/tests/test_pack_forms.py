"""The pack schema's side of forms: a ``file`` field with ``accept`` and ``multiple`` in an SOP's
form only, choices with Thai and English labels, names that do not clash with a request's own,
and every shipped pack valid through ``sopdesk packs check``."""
import subprocess
import sys
from pathlib import Path

import pytest

from shared.packs import PACK_DIR, PackError, parse_pack

ROOT = Path(__file__).resolve().parents[3]

PACK = """
pack: test
version: 1
organisation: {th: ทดสอบ}
sops:
  one:
    title: {th: ทดสอบ}
    requester: true
    form:
FORM
    steps:
      - key: first
        title: {th: ขั้นแรก}
        role: officer
INPUTS
        outcomes: {done: null}
"""


def pack(form: str, inputs: str = "") -> str:
    return PACK.replace("FORM", form).replace("INPUTS", inputs)


def test_a_file_field_with_its_kinds_and_multiple():
    loaded = parse_pack(pack("""      - {name: memo, type: file, required: true, accept: [pdf, word], label: {th: บันทึก}}
      - {name: photos, type: file, multiple: true, label: {th: รูป}}"""))
    memo, photos = loaded.sops["one"].form
    assert (memo.type, memo.accept, memo.multiple, memo.required) == ("file", ("pdf", "word"), False, True)
    assert photos.accept == ("pdf", "image", "word", "excel", "text") and photos.multiple


def test_choices_may_carry_thai_and_english_labels():
    loaded = parse_pack(pack("""      - name: licence
        type: select
        choices: [{value: free, label: {th: ฟรี, en: Free}}, plain]
        label: {th: ลิขสิทธิ์}"""))
    [field] = loaded.sops["one"].form
    assert field.choices == ("free", "plain")
    assert field.choice_label("free", "en") == "Free" and field.choice_label("free", "th") == "ฟรี"
    assert field.choice_label("plain", "en") == "plain"


@pytest.mark.parametrize("form, inputs, where", [
    ("      - {name: memo, type: file, accept: [exe], label: {th: x}}", "", "accept"),
    ("      - {name: memo, type: file, accept: [], label: {th: x}}", "", "accept"),
    ("      - {name: memo, type: text, accept: [pdf], label: {th: x}}", "", "accept is for a file field only"),
    ("      - {name: memo, type: text, multiple: true, label: {th: x}}", "", "multiple is for a file field only"),
    ("      - {name: details, type: text, label: {th: x}}", "", "every request has already"),
    ("      - {name: a, type: text, label: {th: x}}\n      - {name: a, type: date, label: {th: y}}", "",
     "appears twice"),
    ("      - {name: kind, type: select, choices: [a, a], label: {th: x}}", "", "appears twice"),
    ("      - {name: kind, type: select, choices: [{value: a, colour: red}], label: {th: x}}", "", "value and label"),
    ("      - {name: kind, type: text, choices: [a], label: {th: x}}", "", "only a select has choices"),
    ("      []", "        inputs:\n          - {name: scan, type: file, label: {th: สแกน}}",
     "a file is asked for only in an SOP's form"),
])
def test_what_the_schema_refuses(form, inputs, where):
    with pytest.raises(PackError) as refused:
        parse_pack(pack(form, inputs), source="test.yaml")
    assert where in str(refused.value), str(refused.value)
    assert "test.yaml:" in str(refused.value)  # with the line


def test_every_shipped_pack_passes_sopdesk_packs_check():
    files = sorted(str(p) for p in PACK_DIR.glob("*.yaml"))
    result = subprocess.run([str(Path(sys.executable).parent / "sopdesk"), "packs", "check", *files], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("valid") == len(files)
