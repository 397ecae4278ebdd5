"""Charts as inline SVG, drawn on the server (no script): bars grouped by category and bars
stacked in rows, each bar a link to what it counts, labelled in the page's own language and font
(Thai renders with the page's fonts, as any text does). Every value is shown as text too, in a
``<title>`` (a tooltip, read by screen readers) beside the bar."""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

from markupsafe import Markup

PALETTE = ("#1f5fa8", "#8fb3de", "#c0392b", "#2e8b57", "#e6a23c", "#7f8c8d")


@dataclass(frozen=True)
class Bar:
    value: float
    label: str  # what the tooltip says: "ต.ค. 2568 · รับเรื่อง 12"
    href: str | None = None


@dataclass(frozen=True)
class Series:
    name: str
    colour: str


def _link(bar: Bar, shape: str) -> str:
    inner = f"<title>{escape(bar.label)}</title>{shape}"
    if bar.href:
        return f'<a href="{escape(bar.href)}" aria-label="{escape(bar.label)}">{inner}</a>'
    return f"<g>{inner}</g>"


def _legend(series: list[Series], x: float, y: float) -> str:
    parts = []
    for s in series:
        parts.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{s.colour}"/>'
                     f'<text x="{x + 14:.1f}" y="{y:.1f}" font-size="12">{escape(s.name)}</text>')
        x += 24 + 7.5 * len(s.name)
    return "".join(parts)


def grouped_bars(chart_id: str, title: str, categories: list[str], series: list[Series],
                 bars: list[list[Bar]], height: int = 220) -> Markup:
    """Vertical bars: for each category (``categories[i]``), one bar per series (``bars[i][j]``)."""
    width = max(420, 40 + len(categories) * (14 * len(series) + 16))
    top, bottom, left = 28, 40, 36
    plot = height - top - bottom
    peak = max([b.value for group in bars for b in group] + [1])
    step = (width - left - 10) / max(1, len(categories))
    bar_w = max(4.0, (step - 8) / max(1, len(series)))
    out = [f'<svg id="{escape(chart_id)}" class="chart" role="img" aria-label="{escape(title)}" '
           f'viewBox="0 0 {width} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">',
           f'<title>{escape(title)}</title>', _legend(series, left, 14),
           f'<line x1="{left}" y1="{top + plot}" x2="{width - 10}" y2="{top + plot}" stroke="#999"/>',
           f'<text x="{left - 4}" y="{top + 4}" font-size="11" text-anchor="end">{_number(peak)}</text>',
           f'<text x="{left - 4}" y="{top + plot}" font-size="11" text-anchor="end">0</text>']
    for i, (category, group) in enumerate(zip(categories, bars)):
        x0 = left + i * step + 4
        for j, bar in enumerate(group):
            h = plot * bar.value / peak
            x = x0 + j * bar_w
            out.append(_link(bar, f'<rect class="bar" x="{x:.1f}" y="{top + plot - h:.1f}" width="{bar_w - 1:.1f}" '
                                  f'height="{max(h, 0):.1f}" fill="{series[j].colour}"/>'))
        out.append(f'<text x="{x0 + step / 2 - 4:.1f}" y="{top + plot + 16}" font-size="11" '
                   f'text-anchor="middle">{escape(category)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def stacked_rows(chart_id: str, title: str, rows: list[tuple[str, list[Bar]]], series: list[Series],
                 width: int = 640) -> Markup:
    """Horizontal bars, one row per label, its parts (one per series) laid end to end."""
    label_w, row_h, top = 230, 24, 28
    height = top + row_h * max(1, len(rows)) + 8
    peak = max([sum(b.value for b in parts) for _, parts in rows] + [1])
    plot = width - label_w - 60
    out = [f'<svg id="{escape(chart_id)}" class="chart" role="img" aria-label="{escape(title)}" '
           f'viewBox="0 0 {width} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">',
           f'<title>{escape(title)}</title>', _legend(series, label_w, 14)]
    for i, (label, parts) in enumerate(rows):
        y = top + i * row_h
        short = label if len(label) <= 34 else label[:33] + "…"
        out.append(f'<text x="{label_w - 8}" y="{y + 15}" font-size="12" text-anchor="end"><title>{escape(label)}'
                   f'</title>{escape(short)}</text>')
        x = float(label_w)
        for j, bar in enumerate(parts):
            w = plot * bar.value / peak
            if w > 0:
                out.append(_link(bar, f'<rect class="bar" x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
                                      f'fill="{series[j].colour}"/>'))
            x += w
        out.append(f'<text x="{x + 6:.1f}" y="{y + 15}" font-size="11">'
                   f'{" / ".join(_number(b.value) for b in parts)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
