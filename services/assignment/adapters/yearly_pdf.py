"""The yearly report (รายงานผลการดำเนินงานประจำปีงบประมาณ) as an A4 PDF, Thai first, English too.

A pure rendering: ``render(figures, lang)`` turns the figures the reports handler computed (a plain
dict: the totals, the indicators against their targets, the months, each SOP with its steps, the
satisfaction survey, the comments and the procurement summary) into PDF bytes. It counts nothing
itself and reads no database. The words are the ``yearly.`` keys of the assignment catalogues; the
typeface is Sarabun (shared/fonts, SIL OFL), shaped by HarfBuzz so that Thai vowels and tone marks
sit where they belong. The charts are drawn with fpdf2's own lines and rectangles, in one colour.

Two things fpdf2 does not do for Thai are done here:
- line breaks: fpdf2 breaks a line at a space only, and Thai writes no space between words; lines
  are cut here (``_Report.wrap``) between words: libthai's dictionary tells them where the system
  has libthai0 (ctypes, optional), else the edges of syllables one can tell without one; never
  between a letter and its marks;
- text extraction: fpdf2 gives a shaped cluster's text to its first glyph, and HarfBuzz splits
  SARA AM (ำ) into NIKHAHIT, a mark of no width, and SARA AA: pdftotext then read "ดำเนิน" as
  "ดำ เนิน". The text of every mark goes with the letter it sits on (``_ThaiFont``).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import math
import re
import threading
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple

from fpdf import FPDF
from fpdf.fonts import TTFFont

import shared
from services.assignment import messages  # noqa: F401  (loads the assignment words: yearly.*, channel.*)
from shared.i18n import LANGUAGES, MESSAGES, buddhist_year, format_datetime, format_day, format_month, pick, translate
from services.assignment.domain.report_words import DASH, PROJECT_STAGE_ORDER, baht, working_time  # noqa: F401
from shared.packs import Target

FONTS = Path(shared.__file__).with_name("fonts")
FAMILY = "Sarabun"

# Sizes in points. Sarabun's letters are larger than TH Sarabun PSK's, whose 16 pt is the
# traditional body size of Thai official documents: 12 pt here reads as that does.
BODY, TABLE, SMALL, TINY = 12, 10, 8.5, 7
HEADING, SUBHEADING, COVER_TITLE, COVER_ORG = 15, 12.5, 22, 16
LINE = 1.45  # line height per font size: room for the marks above and below Thai letters
PT = 25.4 / 72

BLACK = (0, 0, 0)
GREY = (90, 90, 90)
RULE = (60, 60, 60)
GRID = (210, 210, 210)
HEAD_FILL = (232, 237, 243)
ACCENT = (31, 78, 121)  # the charts' one colour; its tint is the second series
TINT = (154, 175, 195)

THAI = re.compile("[\u0e00-\u0e7f]")
LEADING_VOWELS = "เแโใไ"
SYLLABLE_ENDS = "ะำๆฯ์"  # not า: as often as not its syllable's final consonant follows it
# What may not begin a line: the marks above and below, the vowels that follow their consonant,
# and closing punctuation.
NO_LINE_START = set("ะาำๅๆฯ" + "".join(chr(c) for c in range(0x0E31, 0x0E3B)) +
                    "".join(chr(c) for c in range(0x0E47, 0x0E4F)) + ",.;:!?)]}%”’")



def render(figures: dict, lang: str = "th") -> bytes:
    """The report of ``figures`` as the bytes of an A4 PDF, in Thai or English."""
    lang = lang if lang in LANGUAGES else "th"
    pdf = _Report(figures, lang)
    pdf.cover()
    pdf.add_page()
    pdf.indicators_part()
    pdf.overall_part()
    pdf.sops_part()
    pdf.satisfaction_part()
    if figures.get("procurement") is not None:
        pdf.procurement_part()
    return bytes(pdf.output())


# --------------------------------------------------------------------------------------------
# words and numbers


def _t(key: str, lang: str, **values) -> str:
    return translate(key, lang, **values)


def _number(value) -> str:
    """12,345 for a count; a fraction with at most two decimals (4.3, 80, 2.75)."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    text = f"{float(value):,.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _share(part: int | None, whole: int | None) -> float | None:
    return None if not whole or part is None else 100.0 * part / whole


def _percent(value: float | None, lang: str) -> str:
    return DASH if value is None else _t("yearly.percent", lang, n=f"{value:.1f}")


def _mean(value: float | None) -> str:
    return DASH if value is None else f"{value:.2f}"


def _amount(value, unit: dict | str | None, lang: str) -> str:
    """An indicator's target or result with its unit: '4.3 คะแนน', 'ร้อยละ 80', '80%'."""
    if value is None:
        return DASH
    number, unit_text = _number(value), pick(unit, lang).strip()
    if not unit_text:
        return number
    if unit_text == "%":
        return f"{number}%"
    if unit_text == "ร้อยละ":  # Thai writes the per cent before the number
        return f"ร้อยละ {number}"
    return f"{number} {unit_text}"


def _target(text: str | None, lang: str) -> str:
    """A step's target from its pack ('1-2 days', 'by-assignee') in words, as the desk shows it."""
    if text is None or str(text).strip() == "":
        return DASH
    try:
        return Target.parse(text).text(lang)
    except ValueError:
        return str(text)


def _channel(name: str, lang: str) -> str:
    key = f"channel.{name}"
    return translate(key, lang) if key in MESSAGES else name


def _stage(name: str, lang: str) -> str:
    key = f"yearly.stage.{name}"
    return translate(key, lang) if key in MESSAGES else name


def _day(text: str | None, lang: str) -> str:
    if not text:
        return DASH
    try:
        return format_day(date.fromisoformat(str(text)[:10]), lang)
    except ValueError:
        return str(text)


def _moment(text: str | None, lang: str) -> str:
    if not text:
        return DASH
    try:
        return format_datetime(datetime.fromisoformat(str(text)), lang)
    except ValueError:
        return str(text)


def _month_label(month: str, lang: str) -> tuple[str, str]:
    """'2026-10' -> ('ต.ค.', '2569') in Thai, ('Oct', '2026') in English: a bar's month, and its year."""
    try:
        name, _space, year = format_month(str(month), lang).rpartition(" ")
    except (ValueError, IndexError):
        return str(month), ""
    return name, year


def _fiscal_year(figures: dict, lang: str) -> int:
    """The fiscal year as its readers name it: 2570 in Thai, 2027 (the year it ends) in English."""
    year = int(figures.get("fiscal_year") or 0)
    if not year:
        try:
            year = date.fromisoformat(figures["period"]["to"]).year
        except (KeyError, TypeError, ValueError):
            year = date.today().year
    be = year if year >= 2400 else buddhist_year(year)
    return be if lang == "th" else be - 543


# --------------------------------------------------------------------------------------------
# fpdf2 and Thai


class _ShapedGlyph(NamedTuple):
    codepoint: int
    cluster: int


class _ThaiFont(TTFFont):
    """Sarabun as fpdf2 loads it, with each mark's text (a glyph that takes no width: a vowel
    above or below, a tone mark, the NIKHAHIT of SARA AM) given to the letter it sits on. fpdf2
    writes a cluster's text on the cluster's first glyph; with the marks in their letter's cluster,
    pdftotext reads the letter and its marks as one, in their order, and SARA AM's text lands on
    SARA AA, where its width is. Nothing drawn changes: only the glyphs' cluster numbers do."""

    __slots__ = ()

    def perform_harfbuzz_shaping(self, text, font_size_pt, text_shaping_params):
        infos, positions = super().perform_harfbuzz_shaping(text, font_size_pt, text_shaping_params)
        if not infos:
            return infos, positions
        glyphs, base = [], None
        for info, position in zip(infos, positions):
            cluster = info.cluster
            if position.x_advance == 0 and base is not None:
                cluster = base
            else:
                base = cluster
            glyphs.append(_ShapedGlyph(info.codepoint, cluster))
        return glyphs, positions


def _is_thai(char: str) -> bool:
    return "\u0e00" <= char <= "\u0e7f"


class _ThaiWords:
    """Thai word boundaries from libthai's dictionary (``th_brk``), when the system has the library
    (Debian's libthai0); ``None`` without it, and the syllable rules of _break_points decide alone.
    One breaker per process, used under a lock: libthai does not say its breaker is thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._loaded = False
        self._library = self._breaker = None

    def _load(self) -> None:
        self._loaded = True
        name = ctypes.util.find_library("thai")
        if not name:
            return
        try:
            library = ctypes.CDLL(name)
            library.th_brk_new.restype = ctypes.c_void_p
            library.th_brk_new.argtypes = [ctypes.c_char_p]
            library.th_brk_wc_find_breaks.restype = ctypes.c_int
            library.th_brk_wc_find_breaks.argtypes = [ctypes.c_void_p, ctypes.c_wchar_p,
                                                      ctypes.POINTER(ctypes.c_int), ctypes.c_size_t]
            breaker = library.th_brk_new(None)
        except (OSError, AttributeError):
            return
        if breaker:
            self._library, self._breaker = library, breaker

    def breaks(self, text: str) -> set[int] | None:
        with self._lock:
            if not self._loaded:
                self._load()
            if self._breaker is None or ctypes.sizeof(ctypes.c_wchar) != 4:
                return None
            positions = (ctypes.c_int * (len(text) + 1))()
            count = self._library.th_brk_wc_find_breaks(self._breaker, text, positions, len(text) + 1)
            return set(positions[:max(count, 0)])


THAI_WORDS = _ThaiWords()


def _break_points(text: str, words: set[int] | None = None) -> tuple[list[int], list[int]]:
    """Where a line may end in ``text`` (an index: the line is text[:i]): the good places and every
    place that does not part a letter from its marks, a leading vowel from its letter, or a Latin
    word or a number. Good are a space (but one after a number: '20 นาที' stays whole), where Thai
    meets Latin letters or digits, and between two Thai words: libthai's when ``words`` has them,
    else the syllable's edges one can tell without a dictionary (before a leading vowel, after SARA
    A, SARA AM or a silenced letter)."""
    good, anywhere = [], []
    for i in range(1, len(text)):
        before, char = text[i - 1], text[i]
        if char == " ":
            continue
        if before == " ":
            if i >= 2 and text[i - 2].isdigit():
                continue
            good.append(i)
            anywhere.append(i)
            continue
        if char in NO_LINE_START or before in LEADING_VOWELS or (before.isascii() and before.isalnum()
                                                                 and char.isascii() and char.isalnum()):
            continue
        anywhere.append(i)
        if words is not None:
            between_words = i in words
        else:
            between_words = char in LEADING_VOWELS or before in SYLLABLE_ENDS
        if (between_words or before in "/-–)"
                or (_is_thai(before) != _is_thai(char) and (before.isalnum() or char.isalnum()))):
            good.append(i)
    return good, anywhere


class Column(NamedTuple):
    heading: str
    width: float  # mm
    align: str = "L"


@dataclass
class _Bar:
    label: str
    values: tuple[float, ...]
    note: str


class _Report(FPDF):
    def __init__(self, figures: dict, lang: str):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.figures, self.language = figures, lang
        self.year = _fiscal_year(figures, lang)
        self.minutes_per_day = figures.get("minutes_per_day") or 480
        self.organisation = pick(figures.get("organisation_title"), lang) or str(figures.get("organisation") or "")
        self.sop_numbers = {sop.get("sop"): sop.get("number") or "" for sop in figures.get("sops") or []}
        self.set_margins(25, 20, 20)
        self.set_auto_page_break(False, margin=20)
        self.add_font(FAMILY, "", FONTS / "Sarabun-Regular.ttf")
        self.add_font(FAMILY, "B", FONTS / "Sarabun-Bold.ttf")
        for font in self.fonts.values():
            if type(font) is TTFFont:  # fpdf2's TTFFont keeps its fields in slots: the class can change
                font.__class__ = _ThaiFont
        self.set_text_shaping(True)
        self.set_font(FAMILY, "", BODY)
        title = _t("yearly.title", lang, year=self.year)
        self.set_title(title)
        self.set_author(self.organisation)
        self.set_creator("sopdesk")
        self.set_lang("th-TH" if lang == "th" else "en")
        created = self._generated_at()
        if created is not None:
            self.set_creation_date(created)
        self.footer_text = _t("yearly.footer", lang, year=self.year)
        self.part = 0

    def t(self, key: str, **values) -> str:
        return translate(key, self.language, **values)

    def _generated_at(self) -> datetime | None:
        try:
            value = datetime.fromisoformat(str(self.figures.get("generated_at")))
        except ValueError:
            return None
        return value if value.tzinfo else None

    # ---- page furniture -------------------------------------------------------------------

    def footer(self):
        if self.page_no() == 1:
            return
        self.set_draw_color(*GRID)
        self.set_line_width(0.2)
        self.line(self.l_margin, self.h - 14, self.w - self.r_margin, self.h - 14)
        self.set_font(FAMILY, "", SMALL)
        self.set_text_color(*GREY)
        self.set_xy(self.l_margin, self.h - 13.5)
        self.cell(self.epw * 0.75, 5, self.fit(self.footer_text, self.epw * 0.75))
        self.set_xy(self.l_margin, self.h - 13.5)
        self.cell(self.epw, 5, self.t("yearly.page", n=self.page_no()), align="R")
        self.set_text_color(*BLACK)

    def room(self, height: float) -> None:
        """A new page when ``height`` millimetres no longer fit on this one."""
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()

    def gap(self, height: float) -> None:
        if self.get_y() + height <= self.page_break_trigger:
            self.set_y(self.get_y() + height)

    # ---- text ------------------------------------------------------------------------------

    def wrap(self, text: str, width: float) -> list[str]:
        """``text`` cut into lines no wider than ``width`` in the current font (see _break_points)."""
        lines = []
        for paragraph in str(text).split("\n"):
            rest = paragraph.strip()
            while rest:
                if self.get_string_width(rest) <= width:
                    lines.append(rest)
                    break
                good, anywhere = _break_points(rest, THAI_WORDS.breaks(rest) if THAI.search(rest) else None)
                spaces = [point for point in good if rest[point - 1] == " "]
                cut = self._last_fitting(rest, spaces, width)
                if cut is None or self.get_string_width(rest[:cut].rstrip()) < 0.6 * width:
                    cut = self._last_fitting(rest, good, width) or self._last_fitting(rest, anywhere, width)
                if cut is None:  # not even one syllable fits: the first place there is
                    cut = (anywhere or [len(rest)])[0]
                lines.append(rest[:cut].rstrip())
                rest = rest[cut:].lstrip()
        return lines or [""]

    def _last_fitting(self, text: str, points: list[int], width: float) -> int | None:
        low, high, found = 0, len(points) - 1, None
        while low <= high:
            middle = (low + high) // 2
            if self.get_string_width(text[:points[middle]].rstrip()) <= width:
                found, low = points[middle], middle + 1
            else:
                high = middle - 1
        return found

    def fit(self, text: str, width: float) -> str:
        """``text`` on one line of ``width``, shortened with '…' where it would not fit."""
        if self.get_string_width(text) <= width:
            return text
        room = width - self.get_string_width("…")
        good, anywhere = _break_points(text, THAI_WORDS.breaks(text) if THAI.search(text) else None)
        cut = self._last_fitting(text, good, room)
        if cut is None or self.get_string_width(text[:cut]) < 0.75 * room:
            cut = self._last_fitting(text, anywhere, room)
        return (text[:cut].rstrip() if cut else "") + "…"

    def paragraph(self, text: str, size: float = BODY, style: str = "", align: str = "L", indent: float = 0,
                  color=BLACK, first_indent: float | None = None) -> None:
        self.set_font(FAMILY, style, size)
        self.set_text_color(*color)
        height = size * PT * LINE
        lead = indent if first_indent is None else first_indent
        lines = self.wrap(text, self.epw - max(indent, lead))
        for number, line in enumerate(lines):
            self.room(height)
            offset = lead if number == 0 else indent
            self.set_x(self.l_margin + offset)
            self.cell(self.epw - offset, height, line, align=align, new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(*BLACK)

    def heading(self, text: str) -> None:
        """A part of the report ('ส่วนที่ 2 ภาพรวมการให้บริการ'), kept with what follows it."""
        self.part += 1
        if self.get_y() > self.t_margin + 1:
            self.gap(4)
        self.room(HEADING * PT * LINE + 40)
        self.paragraph(f"{self.t('yearly.part', n=self.part)}  {text}", size=HEADING, style="B")
        y = self.get_y() + 0.5
        self.set_draw_color(*ACCENT)
        self.set_line_width(0.4)
        self.line(self.l_margin, y, self.l_margin + self.epw, y)
        self.set_y(y + 3)

    def subheading(self, text: str, keep: float = 30) -> None:
        self.gap(2)
        self.room(SUBHEADING * PT * LINE + keep)
        self.paragraph(text, size=SUBHEADING, style="B")
        self.gap(1)

    def caption(self, text: str) -> None:
        self.paragraph(text, size=BODY - 1, style="B")
        self.gap(0.5)

    # ---- tables ----------------------------------------------------------------------------

    def table(self, columns: list[Column], rows: list[list[str]], *, size: float = TABLE, header: bool = True,
              bold_first: bool = False) -> None:
        """A table with thin rules, its heading on a tint and repeated on each page it runs to;
        each cell's text wrapped to its column, a row kept on one page."""
        total = sum(column.width for column in columns)
        x0 = self.l_margin + (self.epw - total) / 2
        line_height, pad_x, pad_y = size * PT * LINE, 1.6, 0.9

        def laid_out(cells, bold):
            self.set_font(FAMILY, "B" if bold else "", size)
            return [self.wrap(text, column.width - 2 * pad_x) for text, column in zip(cells, columns)]

        def height_of(lines):
            return max(len(cell) for cell in lines) * line_height + 2 * pad_y

        def draw(lines, bold, fill, aligns):
            y, x = self.get_y(), x0
            height = height_of(lines)
            self.set_font(FAMILY, "B" if bold else "", size)
            self.set_draw_color(*RULE)
            self.set_line_width(0.15)
            self.set_fill_color(*HEAD_FILL)
            for cell, column, align in zip(lines, columns, aligns):
                self.rect(x, y, column.width, height, style="DF" if fill else "D")
                top = y + (height - len(cell) * line_height) / 2
                for number, line in enumerate(cell):
                    self.set_xy(x + pad_x, top + number * line_height)
                    self.cell(column.width - 2 * pad_x, line_height, line, align=align)
                x += column.width
            self.set_xy(self.l_margin, y + height)

        heading_lines = laid_out([column.heading for column in columns], True) if header else None
        heading_height = height_of(heading_lines) if header else 0
        body = [laid_out(row, bold_first and number == 0) for number, row in enumerate(rows)]
        self.room(heading_height + (height_of(body[0]) if body else 0))
        if header:
            draw(heading_lines, True, True, ["C"] * len(columns))
        for number, lines in enumerate(body):
            if self.get_y() + height_of(lines) > self.page_break_trigger:
                self.add_page()
                if header:
                    draw(heading_lines, True, True, ["C"] * len(columns))
            draw(lines, bold_first and number == 0, False, [column.align for column in columns])
        self.gap(3)

    def pairs(self, items: list[tuple[str, str]]) -> None:
        """Figures as 'label value' pairs, two pairs a row, in a table without heading."""
        label, value = self.epw * 0.31, self.epw * 0.19
        columns = [Column("", label), Column("", value, "R"), Column("", label), Column("", value, "R")]
        rows = []
        for first in range(0, len(items), 2):
            row = list(items[first]) + (list(items[first + 1]) if first + 1 < len(items) else ["", ""])
            rows.append(row)
        self.table(columns, rows, header=False)

    # ---- charts ----------------------------------------------------------------------------

    def _legend(self, names: list[str], colours: list[tuple], y: float) -> None:
        self.set_font(FAMILY, "", SMALL)
        x = self.l_margin + self.epw
        for name, colour in reversed(list(zip(names, colours))):
            width = self.get_string_width(name)
            x -= width + 1.5
            self.set_xy(x, y)
            self.cell(width + 1, 4, name)
            x -= 3.5
            self.set_fill_color(*colour)
            self.rect(x, y + 0.8, 2.6, 2.6, style="F")
            x -= 4

    def month_chart(self, months: list[dict]) -> None:
        """Received and closed per month, two bars a month, on a scale with round steps."""
        if not months:
            return
        axis, plot_h = 11, 48
        self.room(plot_h + 24)
        self.caption(self.t("yearly.months.title"))
        received, closed = self.t("yearly.total.received"), self.t("yearly.total.closed")
        top = self.get_y() + 7
        self._legend([received, closed], [ACCENT, TINT], top - 7)
        base = top + plot_h
        left, width = self.l_margin + axis, self.epw - axis
        largest = max([max(m.get("received") or 0, m.get("closed") or 0) for m in months] + [0])
        ceiling, step = _scale(largest)
        self.set_font(FAMILY, "", TINY)
        self.set_line_width(0.15)
        for value in range(0, ceiling + 1, step):
            y = base - plot_h * value / ceiling
            self.set_draw_color(*(RULE if value == 0 else GRID))
            self.line(left, y, left + width, y)
            self.set_xy(self.l_margin, y - 2)
            self.set_text_color(*GREY)
            self.cell(axis - 1.5, 4, _number(value), align="R")
        slot = width / len(months)
        bar = min(slot * 0.32, 7)
        previous_year = None
        for number, month in enumerate(months):
            centre = left + slot * (number + 0.5)
            for value, x, colour in ((month.get("received") or 0, centre - bar - 0.3, ACCENT),
                                     (month.get("closed") or 0, centre + 0.3, TINT)):
                height = plot_h * value / ceiling
                if height > 0:
                    self.set_fill_color(*colour)
                    self.rect(x, base - height, bar, height, style="F")
                self.set_text_color(*GREY)
                self.set_font(FAMILY, "", TINY - 0.5)
                self.set_xy(x - 2, base - height - 3.6)
                self.cell(bar + 4, 3.5, _number(value), align="C")
            name, year = _month_label(month.get("month"), self.language)
            self.set_text_color(*BLACK)
            self.set_font(FAMILY, "", SMALL)
            self.set_xy(centre - slot / 2, base + 0.8)
            self.cell(slot, 4.2, name, align="C")
            if year != previous_year:
                self.set_font(FAMILY, "", TINY)
                self.set_text_color(*GREY)
                self.set_xy(centre - slot / 2, base + 4.6)
                self.cell(slot, 3.5, year, align="C")
                previous_year = year
        self.set_text_color(*BLACK)
        self.set_xy(self.l_margin, base + 10)

    def bar_rows(self, title: str, bars: list[_Bar], names: list[str], colours: list[tuple],
                 label_width: float = 52) -> None:
        """Horizontal bars, one row each, stacked when a row has several values, its note after it."""
        if not bars:
            return
        row, thickness, note_width = 6.2, 3.8, 26
        self.room(min(len(bars), 6) * row + 14)
        self.caption(title)
        if len(names) > 1:
            below_caption = self.get_y()
            self._legend(names, colours, below_caption - 5.2)
            self.set_y(below_caption)
        largest = max([sum(bar.values) for bar in bars] + [1])
        left = self.l_margin + label_width + 2
        width = self.epw - label_width - 2 - note_width
        top = self.get_y() + 1
        axis_top = top
        for bar in bars:
            if top + row > self.page_break_trigger:
                self._axis(left, axis_top, top)
                self.add_page()
                top = axis_top = self.get_y()
            self.set_font(FAMILY, "", SMALL)
            self.set_text_color(*BLACK)
            self.set_xy(self.l_margin, top)
            self.cell(label_width, row, self.fit(bar.label, label_width), align="R")
            x = left
            for value, colour in zip(bar.values, colours):
                length = width * value / largest
                if length > 0:
                    self.set_fill_color(*colour)
                    self.rect(x, top + (row - thickness) / 2, length, thickness, style="F")
                x += length
            self.set_text_color(*GREY)
            self.set_xy(x + 1.2, top)
            self.cell(note_width, row, bar.note)
            top += row
        self._axis(left, axis_top, top)
        self.set_text_color(*BLACK)
        self.set_xy(self.l_margin, top + 3)

    def _axis(self, x: float, top: float, bottom: float) -> None:
        self.set_draw_color(*RULE)
        self.set_line_width(0.15)
        self.line(x, top, x, bottom)

    # ---- the parts of the report -----------------------------------------------------------

    def cover(self) -> None:
        self.add_page()
        figures, lang = self.figures, self.language
        self.set_draw_color(*ACCENT)
        self.set_line_width(0.8)
        self.line(self.l_margin, 32, self.l_margin + self.epw, 32)
        self.set_y(42)
        self.paragraph(self.organisation, size=COVER_ORG, style="B", align="C")
        self.set_y(100)
        self.paragraph(self.t("yearly.cover_title", year=self.year), size=COVER_TITLE, style="B", align="C")
        self.gap(4)
        period = figures.get("period") or {}
        if period.get("quarter"):
            self.paragraph(self.t("yearly.quarter", n=period["quarter"]), size=BODY + 2, align="C")
        self.paragraph(self.t("yearly.period", start=_day(period.get("from"), lang), end=_day(period.get("to"), lang)),
                       size=BODY + 2, align="C")
        unit = figures.get("unit")
        if unit:
            self.paragraph(self.t("yearly.unit", unit=pick(unit, lang) if isinstance(unit, dict) else str(unit)),
                           size=BODY + 2, align="C")
        self.set_y(self.h - 60)
        self.set_draw_color(*ACCENT)
        self.set_line_width(0.3)
        self.line(self.l_margin + self.epw / 3, self.get_y(), self.l_margin + 2 * self.epw / 3, self.get_y())
        self.gap(4)
        self.paragraph(self.t("yearly.generated", when=_moment(figures.get("generated_at"), lang)), size=BODY,
                       align="C")
        self.paragraph(self.t("yearly.made_by"), size=SMALL + 1, align="C", color=GREY)

    def indicator_table(self, indicators: list[dict], with_sop: bool) -> None:
        lang = self.language
        widths = (22, 58, 27, 30, 26) if with_sop else (0, 80, 27, 30, 26)
        scale = self.epw / sum(widths)
        columns = [Column(self.t("yearly.ind.sop"), widths[0] * scale, "C"),
                   Column(self.t("yearly.ind.indicator"), widths[1] * scale),
                   Column(self.t("yearly.ind.target"), widths[2] * scale, "R"),
                   Column(self.t("yearly.ind.actual"), widths[3] * scale, "R"),
                   Column(self.t("yearly.ind.result"), widths[4] * scale, "C")]
        rows = []
        for indicator in indicators:
            if indicator.get("target") is None:
                result = self.t("yearly.ind.no_target")
            elif indicator.get("met") is None:
                result = DASH
            else:
                result = self.t("yearly.ind.met") if indicator["met"] else self.t("yearly.ind.not_met")
            sop = indicator.get("sop")
            rows.append([self.sop_numbers.get(sop) or sop or self.t("yearly.ind.all"),
                         pick(indicator.get("title"), lang) or str(indicator.get("key") or ""),
                         _amount(indicator.get("target"), indicator.get("unit"), lang),
                         _amount(indicator.get("actual"), indicator.get("unit"), lang), result])
        if not with_sop:
            columns, rows = columns[1:], [row[1:] for row in rows]
        self.table(columns, rows)

    def indicators_part(self) -> None:
        self.heading(self.t("yearly.section.indicators"))
        indicators = self.figures.get("indicators") or []
        if not indicators:
            self.paragraph(self.t("yearly.ind.none"))
            self.gap(3)
            return
        judged = [i for i in indicators if i.get("target") is not None and i.get("met") is not None]
        self.paragraph(self.t("yearly.ind.summary", met=sum(1 for i in judged if i["met"]), total=len(judged)),
                       first_indent=10)
        self.gap(2)
        self.indicator_table(indicators, with_sop=True)

    def totals_rows(self, totals: dict) -> list[list[str]]:
        received, closed = totals.get("received"), totals.get("closed")
        timed = (totals.get("on_time") or 0) + (totals.get("late") or 0)
        rows = [(self.t("yearly.total.received"), received, None),
                (self.t("yearly.total.closed"), closed, _share(closed, received)),
                (self.t("yearly.total.completed"), totals.get("completed"), _share(totals.get("completed"), closed)),
                (self.t("yearly.total.rejected"), totals.get("rejected"), _share(totals.get("rejected"), closed)),
                (self.t("yearly.total.withdrawn"), totals.get("withdrawn"), _share(totals.get("withdrawn"), closed)),
                (self.t("yearly.total.open"), totals.get("open"), _share(totals.get("open"), received)),
                (self.t("yearly.total.on_time"), totals.get("on_time"), _share(totals.get("on_time"), timed)),
                (self.t("yearly.total.late"), totals.get("late"), _share(totals.get("late"), timed)),
                (self.t("yearly.total.returns"), totals.get("returns"), None)]
        return [[label, _number(count), DASH if share is None else f"{share:.1f}"] for label, count, share in rows]

    def overall_part(self) -> None:
        totals = self.figures.get("totals") or {}
        self.heading(self.t("yearly.section.overall"))
        self.table([Column(self.t("yearly.total.item"), 80), Column(self.t("yearly.total.count"), 32, "R"),
                    Column(self.t("yearly.total.share"), 28, "R")], self.totals_rows(totals))
        self.paragraph(self.t("yearly.total.note"), size=SMALL, color=GREY)
        self.gap(4)
        self.month_chart(self.figures.get("months") or [])
        channels = totals.get("by_channel") or {}
        if channels:
            self.subheading(self.t("yearly.channel.title"), keep=15)
            self.table([Column(self.t("yearly.channel.name"), 80), Column(self.t("yearly.total.count"), 32, "R"),
                        Column(self.t("yearly.total.share"), 28, "R")],
                       [[_channel(name, self.language), _number(count),
                         DASH if _share(count, totals.get("received")) is None
                         else f"{_share(count, totals.get('received')):.1f}"]
                        for name, count in sorted(channels.items(), key=lambda item: -(item[1] or 0))])
        ageing = self.figures.get("ageing") or []
        if ageing:
            self.subheading(self.t("yearly.ageing.title"), keep=15)
            rows = []
            for band in ageing:
                if band.get("to_days") is None:
                    span = self.t("yearly.ageing.over", low=band.get("from_days", 0))
                else:
                    span = self.t("yearly.ageing.range", low=band.get("from_days", 0), high=band["to_days"])
                rows.append([span, _number(band.get("open"))])
            self.table([Column(self.t("yearly.ageing.age"), 80), Column(self.t("yearly.total.count"), 32, "R")], rows)

    def sops_part(self) -> None:
        self.heading(self.t("yearly.section.sops"))
        sops = self.figures.get("sops") or []
        if not sops:
            self.paragraph(self.t("yearly.sop.none"))
        for number, sop in enumerate(sops):
            if number:
                self.room(110)
            self.sop_section(sop)

    def sop_section(self, sop: dict) -> None:
        lang, per_day = self.language, self.minutes_per_day
        title = pick(sop.get("title"), lang) or str(sop.get("sop") or "")
        self.subheading(f"{sop.get('number') or ''} {title}".strip(), keep=40)
        satisfaction = sop.get("satisfaction") or {}
        self.pairs([(self.t("yearly.total.received"), _number(sop.get("received"))),
                    (self.t("yearly.total.closed"), _number(sop.get("closed"))),
                    (self.t("yearly.total.completed"), _number(sop.get("completed"))),
                    (self.t("yearly.total.rejected"), _number(sop.get("rejected"))),
                    (self.t("yearly.total.withdrawn"), _number(sop.get("withdrawn"))),
                    (self.t("yearly.total.open"), _number(sop.get("open"))),
                    (self.t("yearly.total.on_time"), _number(sop.get("on_time"))),
                    (self.t("yearly.total.late"), _number(sop.get("late"))),
                    (self.t("yearly.total.returns"), _number(sop.get("returns"))),
                    (self.t("yearly.sat.mean_short"), self._mean_of(satisfaction)),
                    (self.t("yearly.sop.median"), working_time(sop.get("median_working_minutes"), per_day, lang)),
                    (self.t("yearly.sop.p90"), working_time(sop.get("p90_working_minutes"), per_day, lang))])
        channels = sop.get("by_channel") or {}
        if channels:
            said = ", ".join(self.t("yearly.channel.count", channel=_channel(name, lang), n=_number(count))
                             for name, count in sorted(channels.items(), key=lambda item: -(item[1] or 0)))
            self.paragraph(f"{self.t('yearly.channel.title')}: {said}", size=TABLE)
            self.gap(2)
        if sop.get("indicators"):
            self.caption(self.t("yearly.sop.indicators"))
            self.indicator_table(sop["indicators"], with_sop=False)
        steps = sop.get("steps") or []
        if not steps:
            self.paragraph(self.t("yearly.steps.none"), size=TABLE, color=GREY)
            self.gap(4)
            return
        self.room(30)
        self.caption(self.t("yearly.steps.title"))
        widths = (42, 23, 18, 15, 12, 14, 19, 22)
        scale = self.epw / sum(widths)
        headings = ("yearly.steps.step", "yearly.steps.target", "yearly.steps.done", "yearly.steps.on_time",
                    "yearly.steps.late", "yearly.steps.returns", "yearly.steps.median", "yearly.steps.p90")
        columns = [Column(self.t(key), width * scale, "L" if index < 2 else "R")
                   for index, (key, width) in enumerate(zip(headings, widths))]
        rows = [[pick(step.get("title"), lang) or str(step.get("step") or ""), _target(step.get("target"), lang),
                 _number(step.get("done")), _number(step.get("on_time")), _number(step.get("late")),
                 _number(step.get("returns")), working_time(step.get("median_working_minutes"), per_day, lang),
                 working_time(step.get("p90_working_minutes"), per_day, lang)] for step in steps]
        self.table(columns, rows, size=TABLE - 0.5)
        bars = [_Bar(pick(step.get("title"), lang) or str(step.get("step") or ""),
                     (step.get("on_time") or 0, step.get("late") or 0),
                     f"{_number(step.get('on_time') or 0)} / {_number(step.get('late') or 0)}") for step in steps]
        self.bar_rows(self.t("yearly.steps.chart"), bars, [self.t("yearly.steps.on_time"), self.t("yearly.steps.late")],
                      [ACCENT, TINT])
        self.gap(3)

    def _mean_of(self, satisfaction: dict) -> str:
        if not satisfaction or not satisfaction.get("answers"):
            return DASH
        return self.t("yearly.sat.mean_of", mean=_mean(satisfaction.get("mean")),
                      answers=_number(satisfaction.get("answers")))

    def satisfaction_part(self) -> None:
        lang = self.language
        satisfaction = (self.figures.get("totals") or {}).get("satisfaction") or {}
        self.heading(self.t("yearly.section.satisfaction"))
        if not satisfaction.get("answers"):
            self.paragraph(self.t("yearly.sat.none"))
            self.gap(3)
        else:
            share = satisfaction.get("satisfied_share")
            if share is None:
                share = _share(satisfaction.get("satisfied"), satisfaction.get("answers"))
            self.pairs([(self.t("yearly.sat.answers"), _number(satisfaction.get("answers"))),
                        (self.t("yearly.sat.mean"), _mean(satisfaction.get("mean"))),
                        (self.t("yearly.sat.satisfied"), _number(satisfaction.get("satisfied"))),
                        (self.t("yearly.sat.satisfied_share"), _percent(share, lang))])
            scores = satisfaction.get("scores") or {}
            answers = satisfaction.get("answers") or 0
            bars = []
            for score in ("5", "4", "3", "2", "1"):
                count = int(scores.get(score) or scores.get(int(score)) or 0)
                note = f"{_number(count)} ({_percent(_share(count, answers), lang)})"
                bars.append(_Bar(self.t(f"yearly.score.{score}"), (count,), note))
            self.bar_rows(self.t("yearly.sat.chart"), bars, [self.t("yearly.sat.answers")], [ACCENT], label_width=34)
        rated = [sop for sop in self.figures.get("sops") or [] if (sop.get("satisfaction") or {}).get("answers")]
        if rated:
            self.subheading(self.t("yearly.sat.by_sop"), keep=15)
            rows = []
            for sop in rated:
                s = sop["satisfaction"]
                share = s.get("satisfied_share")
                if share is None:
                    share = _share(s.get("satisfied"), s.get("answers"))
                rows.append([f"{sop.get('number') or ''} {pick(sop.get('title'), lang)}".strip(),
                             _number(s.get("answers")), _mean(s.get("mean")), _percent(share, lang)])
            self.table([Column(self.t("yearly.ind.sop"), self.epw - 100), Column(self.t("yearly.sat.answers"), 26, "R"),
                        Column(self.t("yearly.sat.mean"), 36, "R"),
                        Column(self.t("yearly.sat.satisfied_share"), 38, "R")], rows)
        self.subheading(self.t("yearly.comments.title"), keep=15)
        comments = self.figures.get("comments") or []
        if not comments:
            self.paragraph(self.t("yearly.comments.none"), size=TABLE, color=GREY)
        for comment in comments:
            sop = comment.get("sop")
            about = self.t("yearly.comments.meta", sop=self.sop_numbers.get(sop) or sop or DASH,
                           score=comment.get("score") if comment.get("score") is not None else DASH,
                           day=_day(comment.get("answered_on"), lang))
            self.room(2 * BODY * PT * LINE)
            self.paragraph(f"•  “{str(comment.get('comment') or '').strip()}”", size=BODY - 1, indent=5,
                           first_indent=0)
            self.paragraph(about, size=SMALL, indent=5, color=GREY)
            self.gap(1.5)

    def procurement_part(self) -> None:
        procurement = self.figures.get("procurement") or {}
        self.heading(self.t("yearly.section.procurement"))
        stages = procurement.get("projects_by_stage") or {}
        if stages:
            order = {stage: index for index, stage in enumerate(PROJECT_STAGE_ORDER)}
            self.caption(self.t("yearly.proc.stages"))
            self.table([Column(self.t("yearly.proc.stage"), 80), Column(self.t("yearly.proc.projects"), 32, "R")],
                       [[_stage(stage, self.language), _number(count)]
                        for stage, count in sorted(stages.items(), key=lambda item: order.get(item[0], 99))])
        self.pairs([(self.t("yearly.proc.contracts"), _number(procurement.get("contracts"))),
                    (self.t("yearly.proc.milestones_late"), _number(procurement.get("milestones_late"))),
                    (self.t("yearly.proc.fines"), baht(procurement.get("fines"), self.language)),
                    (self.t("yearly.proc.payments"), baht(procurement.get("payments"), self.language))])


def _scale(largest: float) -> tuple[int, int]:
    """The top of a count axis and its step: round numbers, at most about five steps."""
    if largest <= 0:
        return 1, 1
    raw = largest / 5
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(factor * magnitude for factor in (1, 2, 5, 10) if factor * magnitude >= raw)
    step = max(1, int(step))
    return step * math.ceil(largest / step), step
