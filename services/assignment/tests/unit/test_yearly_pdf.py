"""The yearly report as a PDF (adapters/yearly_pdf.py), read back with poppler: its Thai words are
text, its pages are drawn, its typeface is Sarabun. No database needed."""
from __future__ import annotations

import shutil
import subprocess

import pytest
from PIL import Image

from services.assignment.adapters.yearly_pdf import (LEADING_VOWELS, NO_LINE_START, THAI_WORDS, _break_points, render,
                                                  working_time)

POPPLER = all(shutil.which(tool) for tool in ("pdftoppm", "pdftotext", "pdfinfo", "pdffonts"))
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftoppm, pdftotext, pdfinfo, pdffonts) "
                                                       "are not installed")


def indicator(sop, key, kind, th, en, target, actual, met, unit_th, unit_en):
    return {"sop": sop, "key": key, "kind": kind, "title": {"th": th, "en": en}, "target": target,
            "actual": actual, "met": met, "unit": {"th": unit_th, "en": unit_en}}


def step(key, th, en, target, done, on_time, late, returns, median, p90):
    return {"step": key, "title": {"th": th, "en": en}, "target": target, "done": done, "on_time": on_time,
            "late": late, "returns": returns, "median_working_minutes": median, "p90_working_minutes": p90}


def satisfaction(scores: dict[str, int]) -> dict:
    answers = sum(scores.values())
    satisfied = scores["4"] + scores["5"]
    mean = sum(int(score) * count for score, count in scores.items()) / answers if answers else None
    return {"answers": answers, "mean": mean, "scores": scores, "satisfied": satisfied,
            "satisfied_share": 100.0 * satisfied / answers if answers else None}


def figures() -> dict:
    development = {
        "sop": "up/info-system-dev", "number": "1.1",
        "title": {"th": "การพัฒนาระบบสารสนเทศ", "en": "Developing an information system"},
        "received": 50, "closed": 40, "open": 10, "completed": 35, "rejected": 3, "withdrawn": 2, "on_time": 30,
        "late": 10, "returns": 4, "median_working_minutes": 2400, "p90_working_minutes": 9600,
        "by_channel": {"web": 50}, "satisfaction": satisfaction({"1": 0, "2": 0, "3": 2, "4": 6, "5": 12}),
        "indicators": [indicator("up/info-system-dev", "systems", "completed", "จำนวนระบบที่พัฒนาแล้วเสร็จ",
                                 "Systems completed", 1, 3, True, "ระบบ", "systems")],
        "steps": [step("check-request", "ตรวจสอบคำขอและความครบถ้วนของเอกสาร", "Check the request", "1-2 days",
                       40, 35, 5, 1, 300, 900),
                  step("design", "วิเคราะห์และออกแบบระบบ", "Analyse and design", "10 days", 38, 30, 8, 2, 3900, 7215),
                  step("approve", "ผู้อำนวยการพิจารณาอนุมัติ", "The director approves", "by-assignee", 36, 36, 0, 0,
                       45, None)],
    }
    repair = {
        "sop": "up/computer-repair", "number": "2.1",
        "title": {"th": "การซ่อมบำรุงเครื่องคอมพิวเตอร์", "en": "Computer repair and maintenance"},
        "received": 70, "closed": 60, "open": 10, "completed": 55, "rejected": 3, "withdrawn": 2, "on_time": 50,
        "late": 10, "returns": 3, "median_working_minutes": 610, "p90_working_minutes": 2890,
        "by_channel": {"web": 50, "paper": 20}, "satisfaction": satisfaction({"1": 0, "2": 1, "3": 2, "4": 9, "5": 18}),
        "indicators": [],
        "steps": [step("diagnose", "ตรวจวินิจฉัยอาการเสียของเครื่อง", "Diagnose the fault", "1 day", 60, 52, 8, 2,
                       200, 700),
                  step("repair", "ซ่อมหรือเปลี่ยนอะไหล่ที่ชำรุด", "Repair or replace the parts", "2-3 days", 58, 50, 8,
                       1, 960, 2400)],
    }
    months = [f"{2026 + (m < 10)}-{m:02d}" for m in (10, 11, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9)]
    return {
        "fiscal_year": 2570, "organisation": "up",
        "organisation_title": {"th": "งานพัฒนาระบบสารสนเทศ กองเทคโนโลยีสารสนเทศ มหาวิทยาลัยพะเยา",
                               "en": "Information Systems Development, Division of IT, University of Phayao"},
        "period": {"from": "2026-10-01", "to": "2027-09-30", "quarter": None, "month": None},
        "unit": None, "generated_at": "2027-10-05T03:00:00+00:00", "minutes_per_day": 480,
        "totals": {"received": 120, "closed": 100, "open": 20, "completed": 90, "rejected": 6, "withdrawn": 4,
                   "on_time": 80, "late": 20, "returns": 7, "by_channel": {"web": 100, "paper": 20},
                   "satisfaction": satisfaction({"1": 0, "2": 1, "3": 4, "4": 15, "5": 30})},
        "indicators": [
            indicator("up/info-system-dev", "satisfaction", "satisfaction_mean", "ความพึงพอใจในการใช้งานระบบ",
                      "Satisfaction with the system", 4.0, 4.3, True, "คะแนน", "points"),
            indicator(None, "on-time", "on_time_cases", "ร้อยละของเรื่องที่แล้วเสร็จทันตามกำหนด",
                      "Cases completed on time", 80.0, 75.0, False, "ร้อยละ", "%"),
            indicator("up/computer-repair", "repairs", "completed", "จำนวนเครื่องที่ซ่อมแล้วเสร็จ",
                      "Computers repaired", None, 55, None, "เครื่อง", "computers"),
        ],
        "months": [{"month": month, "received": 6 + 2 * (n % 5), "closed": 5 + (n * 3) % 7, "on_time": 4, "late": 1}
                   for n, month in enumerate(months)],
        "ageing": [{"from_days": 0, "to_days": 5, "open": 3}, {"from_days": 5, "to_days": 10, "open": 2},
                   {"from_days": 10, "to_days": 20, "open": 1}, {"from_days": 20, "to_days": None, "open": 1}],
        "sops": [development, repair],
        "comments": [{"sop": "up/info-system-dev", "score": 5, "comment": "บริการดีมาก เจ้าหน้าที่ให้คำแนะนำชัดเจน",
                      "answered_on": "2027-01-15"},
                     {"sop": "up/computer-repair", "score": 3, "comment": "อยากให้แจ้งความคืบหน้าของการซ่อมบ่อยขึ้น",
                      "answered_on": "2027-03-02"}],
        "procurement": {"projects_by_stage": {"draft": 2, "contract": 3, "completed": 1}, "contracts": 4,
                        "milestones_late": 1, "fines": "1500.00", "payments": "250000.00"},
    }


def run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=60).stdout


def words(text: str) -> str:
    """The text with every run of spaces and line ends made one space (a title may wrap)."""
    return " ".join(text.split())


def page_count(pdf) -> int:
    return int(next(line.split()[-1] for line in run("pdfinfo", str(pdf)).splitlines() if line.startswith("Pages:")))


@needs_poppler
def test_the_thai_report_reads_back_as_thai_text_on_drawn_pages_in_sarabun(tmp_path):
    data = figures()
    pdf = tmp_path / "yearly.pdf"
    pdf.write_bytes(render(data, "th"))

    text = words(run("pdftotext", "-layout", str(pdf), "-"))
    assert f"รายงานผลการดำเนินงานประจำปีงบประมาณ พ.ศ. {data['fiscal_year']}" in text
    assert data["organisation_title"]["th"] in text
    assert data["sops"][1]["title"]["th"] in text  # การซ่อมบำรุงเครื่องคอมพิวเตอร์: SARA AM and tone marks
    assert "1 ตุลาคม 2569" in text and "30 กันยายน 2570" in text  # the period in the Buddhist era
    assert f"{data['totals']['received']:,}" in text
    assert "ไม่บรรลุ" in text and "ไม่ได้กำหนด" in text
    assert working_time(data["sops"][0]["steps"][1]["median_working_minutes"], 480, "th") == "8 วัน 1 ชม."
    assert "8 วัน 1 ชม." in text
    assert data["comments"][0]["comment"] in text
    assert "หน้า 2" in text

    pages = page_count(pdf)
    run("pdftoppm", "-png", "-r", "60", str(pdf), str(tmp_path / "page"))
    pngs = sorted(tmp_path.glob("page-*.png"))
    assert len(pngs) == pages > 3
    with Image.open(pngs[0]) as first:
        darkest, _lightest = first.convert("L").getextrema()
    assert darkest < 128  # the cover has writing on it

    fonts = run("pdffonts", str(pdf))
    assert "Sarabun" in fonts and "SarabunBold" in fonts


@needs_poppler
def test_the_english_report_has_english_words_and_the_common_era(tmp_path):
    data = figures()
    pdf = tmp_path / "yearly-en.pdf"
    pdf.write_bytes(render(data, "en"))

    text = words(run("pdftotext", "-layout", str(pdf), "-"))
    assert "Annual performance report, fiscal year 2027" in text
    assert data["organisation_title"]["en"] in text
    assert data["sops"][1]["title"]["en"] in text
    assert "1 October 2026" in text and "Not met" in text and "Page 2" in text
    assert working_time(data["sops"][0]["steps"][1]["p90_working_minutes"], 480, "en") == "15 d 15 min"
    assert "15 d 15 min" in text


@needs_poppler
def test_a_report_with_nothing_in_it_still_renders(tmp_path):
    data = figures() | {"indicators": [], "months": [], "ageing": [], "sops": [], "comments": [], "procurement": None,
                        "totals": {"received": 0, "closed": 0, "open": 0, "completed": 0, "rejected": 0,
                                   "withdrawn": 0, "on_time": 0, "late": 0, "returns": 0, "by_channel": {},
                                   "satisfaction": {"answers": 0, "mean": None, "scores": {}, "satisfied": 0,
                                                    "satisfied_share": None}}}
    pdf = tmp_path / "empty.pdf"
    pdf.write_bytes(render(data, "th"))

    text = words(run("pdftotext", "-layout", str(pdf), "-"))
    assert "ไม่มีตัวชี้วัด" in text and "การจัดซื้อจัดจ้าง" not in text


def test_working_time_counts_working_days_of_the_pack_length():
    assert working_time(2 * 480 + 3 * 60 + 15, 480, "th") == "2 วัน 3 ชม. 15 นาที"
    assert working_time(2 * 420 + 3 * 60 + 15, 420, "en") == "2 d 3 h 15 min"
    assert working_time(0, 480, "en") == "0 min"
    assert working_time(None, 480, "th") == "–"


@pytest.mark.parametrize("dictionary", (True, False), ids=("libthai", "syllables"))
def test_a_thai_line_is_never_cut_between_a_letter_and_its_marks(dictionary):
    text = "ผู้อำนวยการพิจารณาอนุมัติการซ่อมบำรุงเครื่องคอมพิวเตอร์ที่ชำรุด 15 วัน 20 นาที"
    words = THAI_WORDS.breaks(text) if dictionary else None
    if dictionary and words is None:
        pytest.skip("libthai (Debian's libthai0) is not installed: the syllable rules are used")
    good, anywhere = _break_points(text, words)
    assert set(good) <= set(anywhere)
    for i in anywhere:
        assert text[i] not in NO_LINE_START and text[i - 1] not in LEADING_VOWELS
        assert not (text[i - 1].isdigit() and text[i].isdigit())
    assert text.index("นาที") not in anywhere and text.index("20") in good  # "20 นาที" stays whole


@needs_poppler
def test_without_libthai_the_report_still_reads_back(tmp_path, monkeypatch):
    monkeypatch.setattr(THAI_WORDS, "breaks", lambda text: None)
    data = figures()
    pdf = tmp_path / "syllables.pdf"
    pdf.write_bytes(render(data, "th"))

    text = words(run("pdftotext", "-layout", str(pdf), "-"))
    assert data["sops"][1]["title"]["th"] in text and data["organisation_title"]["th"] in text
