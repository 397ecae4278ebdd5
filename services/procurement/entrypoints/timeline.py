"""A contract's milestones (งวดงาน) drawn as a timeline: one self-contained SVG, built on the
server from the contract alone, like ``shared.packs.flowchart`` draws an SOP.

``render_svg(contract, lang, today)`` draws one row per milestone, in order: on the left its
label (``งวดที่ n`` / ``Milestone n``, what is delivered, the due date and where it stands), on the
right a time axis shared by every row, from the contract's start to its end (stretched to take in
any date of a milestone outside them), with a line at the first of every month labelled with its
abbreviation (Thai ``ม.ค.``, ``ก.พ.`` ... with the Buddhist-era year in Thai), the contract's start
and end, and today's line. Each milestone is a marker at its due date on its row; a row per
milestone keeps a contract of 36 monthly instalments as readable as one of three. The marker says
where the milestone stands:

* ``pending`` (due): a hollow blue circle;
* ``delivered`` (awaiting the committee): an amber circle;
* ``accepted`` (awaiting payment): a green circle with a tick;
* ``paid``: a teal square with ฿;
* ``late``: a red diamond with ``!`` — delivered after its due date and not yet accepted, or past
  its due date and not delivered; a red bar runs from the due date to the delivery (or today),
  labelled with the days late. A milestone accepted or paid after a late delivery keeps its own
  state, with a red ring and its bar (``data-days-late`` says how late it was).

Tests and the browser find each milestone by ``class="milestone"`` with ``data-milestone`` (its
number), ``data-state`` (above), ``data-progress`` (``Milestone.state``: pending, delivered,
accepted, paid), ``data-due``, ``data-days-late`` and ``data-x`` (the marker's x); today by
``class="today"`` with ``data-date`` (and ``data-x``, or ``data-outside`` when it lies off the
axis); months by ``class="month"`` with ``data-month``; the legend's items by
``class="legend-item"`` with ``data-state``. Every one of them carries a ``<title>`` (its
accessible name and tooltip). The SVG has no script and no external reference, the same contract
on the same day always gives the same bytes, and every text is escaped. Thai is wrapped and
measured with the flowchart's ``wrap``/``text_width`` (no spaces between Thai words).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from xml.sax.saxutils import escape

from services.procurement import messages  # noqa: F401  (registers the texts)
from shared.i18n import BANGKOK, THAI_MONTHS, THAI_MONTHS_SHORT, translate
from shared.packs.flowchart import FONT_FAMILY, text_width, wrap

__all__ = ["STATES", "format_date", "format_money", "milestone_view", "render_svg", "today_in_bangkok"]

STATES = ("pending", "delivered", "accepted", "paid", "late")

WIDTH = 960
MARGIN = 20
LABEL_W = 330            # the milestones' labels, left of the time axis
LABEL_PAD = 6
PLOT_PAD = 18            # between the labels (or the right edge) and the first (last) day of the axis
ROW_PAD = 6
ROW_MIN = 40
SEQ_SIZE, SEQ_LH = 13, 18
TEXT_SIZE, TEXT_LH = 12, 16
BOLD = 1.06              # bold glyphs are this much wider than regular ones
TODAY_BAND = 22
MONTH_BAND = 22
MARKER_R = 9
MONTH_MIN_PX = 50        # a month label needs this much room

COLOURS = {
    "text": "#1f2937", "muted": "#4b5563", "axis": "#374151", "tick": "#9ca3af", "grid": "#e5e7eb",
    "today": "#7c3aed",
    "pending": "#1d4ed8", "pending.fill": "#eff6ff",
    "delivered": "#b45309", "delivered.fill": "#fffbeb", "delivered.marker": "#f59e0b",
    "accepted": "#15803d", "accepted.fill": "#f0fdf4", "accepted.marker": "#16a34a",
    "paid": "#0f766e", "paid.fill": "#f0fdfa", "paid.marker": "#0f766e",
    "late": "#b91c1c", "late.fill": "#fef2f2", "late.marker": "#dc2626",
}


# ---------------------------------------------------------------------------------------------
# Dates and money as people read them


def today_in_bangkok(now: datetime | None = None) -> date:
    """Today's date in Bangkok, from an aware UTC ``now`` (the clock when not given)."""
    return (now or datetime.now(timezone.utc)).astimezone(BANGKOK).date()


def format_date(value: date | None, lang: str, short: bool = False) -> str:
    """'15 มกราคม 2570' / '15 ม.ค. 70' in Thai (Buddhist era), '15 January 2027' / '15 Jan 2027'
    in English. A datetime (or ISO text) is taken in Bangkok time. None gives '-'."""
    if value is None:
        return "-"
    if isinstance(value, str):  # ISO, as in a JSON shape
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(BANGKOK).date() if value.tzinfo else value.date()
    if lang == "th":
        year = value.year + 543
        if short:
            return f"{value.day} {THAI_MONTHS_SHORT[value.month - 1]} {year % 100:02d}"
        return f"{value.day} {THAI_MONTHS[value.month - 1]} {year}"
    return f"{value.day} {value.strftime('%b' if short else '%B')} {value.year}"


def format_money(value: Decimal | int | float | None) -> str:
    """12500 -> '12,500.00' (baht and satang); None gives '-'."""
    if value is None:
        return "-"
    return f"{Decimal(value):,.2f}"


# ---------------------------------------------------------------------------------------------
# Where a milestone stands


def milestone_view(milestone, today: date) -> dict:
    """What the pages and the picture say of one milestone on ``today``: its ``state`` (one of
    ``STATES``), its ``progress`` (``Milestone.state``), ``days_late`` (calendar days: delivered
    after the due date, or past it and not delivered), ``late_until`` (the delivery date, or today
    while overdue) and ``overdue`` (past due and not delivered)."""
    progress = milestone.state
    due = milestone.due_on
    delivered = milestone.delivered_on
    if delivered is not None:
        days_late = max(0, (delivered - due).days)
        late_until = delivered if days_late else None
        overdue = False
    elif today > due and progress == "pending":
        days_late = (today - due).days
        late_until = today
        overdue = True
    else:
        days_late, late_until, overdue = 0, None, False
    state = "late" if days_late and progress in ("pending", "delivered") else progress
    return {"state": state, "progress": progress, "days_late": days_late, "late_until": late_until,
            "overdue": overdue, "days_left": (due - today).days if progress == "pending" else None}


def _state_parts(milestone, view: dict, lang: str) -> list[str]:
    """['ตรวจรับแล้ว รอเบิกจ่าย', 'ส่งมอบช้า 5 วัน', 'ค่าปรับ 250.00 บาท'], ['เบิกจ่ายแล้ว'], ..."""
    parts = []
    if view["overdue"]:
        parts.append(translate("proc.ms.late.overdue", lang, n=view["days_late"]))
    else:
        parts.append(translate(f"proc.ms.state.{view['progress']}", lang))
        if view["days_late"]:
            parts.append(translate("proc.ms.late.delivered", lang, n=view["days_late"]))
    if milestone.delivered_on is not None and milestone.fine_amount:
        parts.append(translate("proc.ms.fine", lang, amount=format_money(milestone.fine_amount)))
    return parts


def _state_text(milestone, view: dict, lang: str) -> str:
    return " · ".join(_state_parts(milestone, view, lang))


def _title_text(milestone, view: dict, lang: str) -> str:
    """The milestone's accessible name: everything the marker and its label say, in full."""
    parts = [translate("proc.ms.seq", lang, n=milestone.seq)]
    if milestone.title:
        parts[0] += f": {milestone.title}"
    parts.append(translate("proc.ms.due_on", lang, date=format_date(milestone.due_on, lang)))
    parts.append(translate("proc.ms.amount", lang, amount=format_money(milestone.amount)))
    for key, value in (("proc.ms.delivered_on", milestone.delivered_on), ("proc.ms.accepted_on", milestone.accepted_on),
                       ("proc.ms.paid_on", milestone.paid_on)):
        if value is not None:
            parts.append(translate(key, lang, date=format_date(value, lang)))
    parts.append(_state_text(milestone, view, lang))
    return "; ".join(parts)


# ---------------------------------------------------------------------------------------------
# Layout: one row per milestone (its label on the left, its marker on the shared time axis)


@dataclass
class _Row:
    milestone: object
    view: dict
    x: float                        # the marker's x
    lines: list[tuple[str, int, str, bool]] = field(default_factory=list)  # (text, size, colour, bold)
    y: float = 0.0                  # top of the row
    h: float = 0.0

    @property
    def mid(self) -> float:
        return self.y + self.h / 2


def _n(value: float) -> str:
    return f"{round(value, 1):.1f}".rstrip("0").rstrip(".")


def _attr(value) -> str:
    return escape(str(value), {'"': "&quot;"})


def _ellipsis(lines: list[str], keep: int, width: float, size: float) -> list[str]:
    if len(lines) <= keep:
        return lines
    last = lines[keep - 1]
    while last and text_width(last + "…", size) > width:
        last = last[:-1]
    return lines[:keep - 1] + [last.rstrip() + "…"]


def _row_lines(milestone, view: dict, lang: str) -> list[tuple[str, int, str, bool]]:
    """The row's label: 'งวดที่ n  what is delivered' (one line), then the due date and where it
    stands (wrapped, at most two lines)."""
    inner = LABEL_W - 2 * LABEL_PAD
    colour = COLOURS[view["state"]]
    seq = translate("proc.ms.seq", lang, n=milestone.seq)
    title = milestone.title or milestone.deliverables or ""
    room = inner - text_width(seq, SEQ_SIZE * BOLD) - 8
    first = _ellipsis(wrap(title, room, SEQ_SIZE), 1, room, SEQ_SIZE) if title and room > 40 else []
    lines = [(seq, SEQ_SIZE, colour, True)]
    if first:
        lines.append((first[0], SEQ_SIZE, COLOURS["text"], False))  # drawn on the same line, after the number
    parts = [translate("proc.ms.due_on", lang, date=format_date(milestone.due_on, lang, short=True))]
    parts += _state_parts(milestone, view, lang)
    status: list[str] = []  # the parts joined by " · " while they fit, a line never starting with one
    for part in parts:
        joined = f"{status[-1]} · {part}" if status else part
        if status and text_width(joined, TEXT_SIZE) <= inner:
            status[-1] = joined
        else:
            status += wrap(part, inner, TEXT_SIZE)
    status_colour = COLOURS["late"] if view["days_late"] else colour
    lines += [(line, TEXT_SIZE, status_colour, view["state"] == "late")
              for line in _ellipsis(status, 2, inner, TEXT_SIZE)]
    return lines


def _months(lo: date, hi: date):
    """The first day of every month from ``lo``'s month to ``hi``'s."""
    year, month = lo.year, lo.month
    while date(year, month, 1) <= hi:
        yield date(year, month, 1)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _month_label(first: date, lang: str, with_year: bool) -> tuple[str, str]:
    """(short label, full name) of a month: ('ม.ค. 70', 'มกราคม 2570'), ('Jan 2027', 'January 2027')."""
    if lang == "th":
        year = first.year + 543
        short = THAI_MONTHS_SHORT[first.month - 1] + (f" {year % 100:02d}" if with_year else "")
        return short, f"{THAI_MONTHS[first.month - 1]} {year}"
    return first.strftime("%b") + (f" {first.year}" if with_year else ""), first.strftime("%B %Y")


def _layout(contract, milestones: list, lang: str, today: date) -> dict:
    views = [milestone_view(m, today) for m in milestones]
    dates = [contract.starts_on, contract.ends_on]
    for m, v in zip(milestones, views):
        dates += [d for d in (m.due_on, m.delivered_on, m.accepted_on, m.paid_on) if d is not None]
        if v["overdue"]:
            dates.append(today)  # the red bar runs to today
    lo, hi = min(dates), max(dates)
    if (hi - lo).days < 28:  # a very short contract still gets a month of axis
        hi = date.fromordinal(lo.toordinal() + 28)
    span = (hi - lo).days
    plot_l, plot_r = MARGIN + LABEL_W + PLOT_PAD, WIDTH - MARGIN - PLOT_PAD

    def x_of(d: date) -> float:
        return plot_l + (plot_r - plot_l) * (d - lo).days / span

    axis_top = MARGIN + TODAY_BAND + MONTH_BAND
    rows, y = [], axis_top
    for m, v in zip(milestones, views):
        row = _Row(m, v, x_of(m.due_on), _row_lines(m, v, lang))
        text_lines = 1 + sum(1 for _, size, _, _ in row.lines if size == TEXT_SIZE)
        row.y, row.h = y, max(ROW_MIN, 2 * ROW_PAD + SEQ_LH + (text_lines - 1) * TEXT_LH)
        rows.append(row)
        y += row.h
    axis_bottom = y

    # months: a tick and a faint line at every first of the month, labels thinned when narrow
    px_per_month = (plot_r - plot_l) * 30.44 / span
    every = max(1, math.ceil(MONTH_MIN_PX / px_per_month))
    months = []
    for i, first in enumerate(_months(lo, hi)):
        nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
        seg_l, seg_r = x_of(max(first, lo)), x_of(min(nxt, hi))
        short, full = _month_label(first, lang, with_year=(i == 0 or first.month == 1))
        shown = i % every == 0 and (seg_r - seg_l >= text_width(short, 11) + 4 or every > 1)
        months.append({"first": first, "tick": x_of(first) if first >= lo else None,
                       "at": (seg_l + seg_r) / 2 if every == 1 else seg_l + 3,
                       "anchor": "middle" if every == 1 else "start", "short": short, "full": full, "shown": shown})
    legend_y = axis_bottom + 56
    legend, legend_h = _legend(lang, legend_y)
    return {"lo": lo, "hi": hi, "x_of": x_of, "rows": rows, "axis_top": axis_top, "axis_bottom": axis_bottom,
            "plot_l": plot_l, "plot_r": plot_r, "months": months, "legend": legend, "today": today,
            "height": legend_y + legend_h + MARGIN}


def _legend(lang: str, y: float) -> tuple[list[tuple[float, float, str, str]], float]:
    items = [(state, translate(f"proc.ms.state.{state}", lang)) for state in STATES]
    items += [("late-bar", translate("proc.tl.legend.late", lang)), ("was-late", translate("proc.tl.legend.late_done", lang)),
              ("today", translate("proc.tl.today", lang))]
    out, x, top = [], MARGIN, y
    for kind, text in items:
        item_w = 28 + text_width(text, TEXT_SIZE) + 20
        if x + item_w > WIDTH - MARGIN and x > MARGIN:
            x, top = MARGIN, top + 24
        out.append((x, top, kind, text))
        x += item_w
    return out, top + 24 - y


# ---------------------------------------------------------------------------------------------
# Drawing


def _text(x: float, y: float, text: str, size: int, colour: str, anchor: str = "start", bold: bool = False) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return (f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size}" fill="{colour}" text-anchor="{anchor}"{weight}>'
            f"{escape(text)}</text>")


def _marker(state: str, x: float, y: float, was_late: bool) -> str:
    r = MARKER_R
    parts = []
    if was_late:
        parts.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{r + 4}" fill="none" stroke="{COLOURS["late"]}" '
                     f'stroke-width="2.5" class="late-ring"/>')
    if state == "pending":
        parts.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{r}" fill="#ffffff" stroke="{COLOURS["pending"]}" '
                     f'stroke-width="3" class="marker"/>')
    elif state == "delivered":
        parts.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{r}" fill="{COLOURS["delivered.marker"]}" '
                     f'stroke="{COLOURS["delivered"]}" stroke-width="2" class="marker"/>')
    elif state == "accepted":
        parts.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{r}" fill="{COLOURS["accepted.marker"]}" '
                     f'stroke="{COLOURS["accepted"]}" stroke-width="2" class="marker"/>'
                     f'<path d="M{_n(x - 4.5)},{_n(y)} L{_n(x - 1)},{_n(y + 3.5)} L{_n(x + 5)},{_n(y - 3.5)}" '
                     f'fill="none" stroke="#ffffff" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round"/>')
    elif state == "paid":
        parts.append(f'<rect x="{_n(x - r)}" y="{_n(y - r)}" width="{2 * r}" height="{2 * r}" rx="3" '
                     f'fill="{COLOURS["paid.marker"]}" class="marker"/>'
                     + _text(x, y + 4.5, "฿", 13, "#ffffff", "middle", True))
    else:  # late
        d = r + 2
        parts.append(f'<path d="M{_n(x)},{_n(y - d)} L{_n(x + d)},{_n(y)} L{_n(x)},{_n(y + d)} L{_n(x - d)},{_n(y)} Z" '
                     f'fill="{COLOURS["late.marker"]}" stroke="{COLOURS["late"]}" stroke-width="1.5" class="marker"/>'
                     + _text(x, y + 4.5, "!", 13, "#ffffff", "middle", True))
    return "".join(parts)


def _milestone_svg(row: _Row, index: int, layout: dict, lang: str, ids: str) -> str:
    m, view = row.milestone, row.view
    state, x, mid, x_of = view["state"], row.x, row.mid, layout["x_of"]
    title = _title_text(m, view, lang)
    attrs = (f'class="milestone state-{state}" id="{ids}-m{m.seq}" data-milestone="{m.seq}" data-state="{state}" '
             f'data-progress="{view["progress"]}" data-due="{m.due_on.isoformat()}" data-days-late="{view["days_late"]}" '
             f'data-x="{_n(x)}" role="img" tabindex="0"')
    parts = [f"<g {attrs}><title>{escape(title)}</title>",
             f'<rect class="row" x="{MARGIN}" y="{_n(row.y)}" width="{WIDTH - 2 * MARGIN}" height="{_n(row.h)}" '
             f'fill="{"#f9fafb" if index % 2 == 0 else "#ffffff"}"/>',
             f'<path d="M{_n(layout["plot_l"])},{_n(mid)} H{_n(layout["plot_r"])}" stroke="{COLOURS["tick"]}" '
             f'stroke-width="1" stroke-dasharray="2 3"/>']
    # the label: the number (and what is delivered) on the first line, then where it stands
    top = row.y + ROW_PAD
    seq_text, seq_size, seq_colour, _ = row.lines[0]
    label = [f'<text x="{MARGIN + LABEL_PAD}" y="{_n(top + SEQ_LH - 4)}" font-size="{seq_size}" fill="{seq_colour}">'
             f'<tspan font-weight="bold">{escape(seq_text)}</tspan>']
    rest = row.lines[1:]
    if rest and rest[0][1] == SEQ_SIZE:
        label.append(f'<tspan dx="8" fill="{rest[0][2]}">{escape(rest[0][0])}</tspan>')
        rest = rest[1:]
    label.append("</text>")
    parts += label
    y = top + SEQ_LH
    for text, size, colour, bold in rest:
        parts.append(_text(MARGIN + LABEL_PAD, y + TEXT_LH - 4, text, size, colour, bold=bold))
        y += TEXT_LH
    if view["late_until"] is not None:  # the days past due, on the row
        x2 = x_of(view["late_until"])
        parts.append(f'<rect class="late-bar" x="{_n(x)}" y="{_n(mid - 4)}" width="{_n(max(x2 - x, 2))}" height="8" '
                     f'rx="3" fill="{COLOURS["late.marker"]}" opacity="0.75"/>')
        days = translate("proc.tl.days_late", lang, n=view["days_late"])
        if x2 + 16 + text_width(days, 11) < WIDTH - MARGIN:
            parts.append(_text(max(x2, x + MARKER_R) + 16, mid + 4, days, 11, COLOURS["late"], bold=True))
        else:
            parts.append(_text(x - MARKER_R - 16, mid + 4, days, 11, COLOURS["late"], "end", True))
    parts.append(_marker(state, x, mid, was_late=bool(view["days_late"]) and state in ("accepted", "paid")))
    parts.append("</g>")
    return "".join(parts)


def _legend_svg(layout: dict) -> str:
    parts = ['<g class="legend">']
    for x, y, kind, text in layout["legend"]:
        parts.append(f'<g class="legend-item" data-state="{kind}"><title>{escape(text)}</title>')
        cx, cy = x + 12, y + 8
        if kind in STATES:
            parts.append(_marker(kind, cx, cy, False))
        elif kind == "late-bar":
            parts.append(f'<rect x="{_n(x)}" y="{_n(cy - 4)}" width="24" height="8" rx="3" '
                         f'fill="{COLOURS["late.marker"]}" opacity="0.75"/>')
        elif kind == "was-late":
            parts.append(_marker("paid", cx, cy, True))
        else:
            parts.append(f'<path d="M{_n(cx)},{_n(y - 4)} V{_n(y + 20)}" stroke="{COLOURS["today"]}" stroke-width="2" '
                         f'stroke-dasharray="5 3"/>')
        parts.append(_text(x + 28, y + 12, text, TEXT_SIZE, COLOURS["text"]))
        parts.append("</g>")
    parts.append("</g>")
    return "".join(parts)


def render_svg(contract, lang: str = "th", today: date | None = None) -> str:
    """The contract's milestones as an SVG element (a string, to inline in a page), texts in
    ``lang``, where they stand on ``today`` (Bangkok's today when not given)."""
    today = today or today_in_bangkok()
    milestones = sorted(contract.milestones, key=lambda m: m.seq)
    layout = _layout(contract, milestones, lang, today)
    height = _n(layout["height"])
    ids = f"tl-{contract.id}"
    title = translate("proc.tl.title", lang, number=contract.number)
    top, bottom, x_of, lo, hi = layout["axis_top"], layout["axis_bottom"], layout["x_of"], layout["lo"], layout["hi"]
    plot_l, plot_r = layout["plot_l"], layout["plot_r"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
             f'role="img" aria-labelledby="{ids}-title" font-family="{_attr(FONT_FAMILY)}" class="timeline" '
             f'data-contract="{contract.id}" data-start="{lo.isoformat()}" data-end="{hi.isoformat()}">',
             f'<title id="{ids}-title">{escape(title)}</title>',
             f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>',
             _text(MARGIN + LABEL_PAD, top - 8, translate("proc.milestones", lang), 13, COLOURS["text"], bold=True)]
    # the milestones' rows first: the month lines, the contract's ends and today are drawn over them
    parts += [_milestone_svg(row, i, layout, lang, ids) for i, row in enumerate(layout["rows"])]
    # the axis: at the top with the months, at the bottom with the contract's start and end
    parts.append(f'<g class="axis" data-start="{contract.starts_on.isoformat()}" data-end="{contract.ends_on.isoformat()}">'
                 f'<title>{escape(translate("proc.contract.period", lang))}: '
                 f'{escape(format_date(contract.starts_on, lang))} – {escape(format_date(contract.ends_on, lang))}</title>'
                 f'<path d="M{_n(plot_l)},{_n(top)} H{_n(plot_r)} M{_n(plot_l)},{_n(bottom)} H{_n(plot_r)}" '
                 f'stroke="{COLOURS["axis"]}" stroke-width="1.5"/></g>')
    for month in layout["months"]:
        parts.append(f'<g class="month" data-month="{month["first"]:%Y-%m}"><title>{escape(month["full"])}</title>')
        if month["tick"] is not None:
            parts.append(f'<path d="M{_n(month["tick"])},{_n(top - 5)} V{_n(bottom)}" stroke="{COLOURS["grid"]}" '
                         f'stroke-width="1"/>')
        if month["shown"]:
            parts.append(_text(month["at"], top - 8, month["short"], 11, COLOURS["muted"], month["anchor"]))
        parts.append("</g>")
    for key, day, anchor in (("proc.tl.start", contract.starts_on, "start"), ("proc.tl.end", contract.ends_on, "end")):
        x = x_of(day)
        kind = key.rsplit(".", 1)[1]
        parts.append(f'<g class="contract-{kind}" data-date="{day.isoformat()}"><title>'
                     f'{escape(translate(key, lang, date=format_date(day, lang)))}</title>'
                     f'<path d="M{_n(x)},{_n(top)} V{_n(bottom + 6)}" stroke="{COLOURS["axis"]}" stroke-width="2"/>'
                     + _text(x, bottom + 22, translate(key, lang, date=format_date(day, lang, short=True)), 11,
                             COLOURS["text"], anchor) + "</g>")
    # today
    today = layout["today"]
    today_title = escape(translate("proc.tl.today_is", lang, date=format_date(today, lang)))
    today_text = f'{translate("proc.tl.today", lang)} {format_date(today, lang, short=True)}'
    if lo <= today <= hi:
        tx = x_of(today)
        half = text_width(today_text, 12 * BOLD) / 2
        anchor = "middle" if plot_l - LABEL_W < tx - half and tx + half < WIDTH - MARGIN else (
            "start" if tx < WIDTH / 2 else "end")
        parts.append(f'<g class="today" data-date="{today.isoformat()}" data-x="{_n(tx)}"><title>{today_title}</title>'
                     f'<path d="M{_n(tx)},{_n(MARGIN + TODAY_BAND - 4)} V{_n(bottom + 6)}" stroke="{COLOURS["today"]}" '
                     f'stroke-width="2" stroke-dasharray="5 3"/>'
                     + _text(tx, MARGIN + 12, today_text, 12, COLOURS["today"], anchor, True) + "</g>")
    else:  # before the contract starts, or after everything on it: an arrow at the edge
        after = today > hi
        text = f"{today_text} →" if after else f"← {today_text}"
        parts.append(f'<g class="today" data-date="{today.isoformat()}" data-outside="{"after" if after else "before"}">'
                     f'<title>{today_title}</title>'
                     + _text(plot_r if after else plot_l, MARGIN + 12, text, 12, COLOURS["today"],
                             "end" if after else "start", True) + "</g>")
    parts.append(_legend_svg(layout))
    parts.append("</svg>")
    return "".join(parts)
