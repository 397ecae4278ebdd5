"""An SOP drawn as a flowchart: one self-contained SVG built from the pack data alone.

``render_svg(sop, lang)`` lays the steps out top to bottom in pack order, one box each (title,
roles, target, what it waits on), with an arrow for every outcome and every conditional branch:

* the arrow to the next box runs straight down the middle;
* any other arrow leaves the box at its side and runs in a lane of its own: skips forward on the
  right, arrows back to an earlier step (or to the same step) on the left. Arrows to the same step
  of the same kind share a lane (they merge into one line, like a bus); lanes whose spans overlap
  never share;
* outcomes that end the case lead to end markers under the last box, one per result, so that an
  end with ``rejected`` is drawn apart from a completed one;
* returns (``Sop.outcome_kind`` says ``return``) are dashed.

The SVG has no script, no style sheet and no external reference (it can be inlined into a page or
served as an image), and the same SOP always gives the same bytes. Every text is escaped: titles
and labels are pack data. Thai has no spaces between words, so text is wrapped by estimated width
(combining vowels and tone marks take none), never after a leading vowel nor before a following
one. Tests find the boxes by ``id="step-<key>"`` / ``class="step"`` and the arrows by
``class="edge"`` with ``data-from``, ``data-to`` (empty for an end) and ``data-outcome``.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from shared import i18n
from shared.packs import Outcome, Sop, Step

__all__ = ["FONT_FAMILY", "render_svg", "text_width", "wrap"]

FONT_FAMILY = "Sarabun, 'TH Sarabun New', Loma, Garuda, sans-serif"

# Geometry, in px.
MARGIN = 20
BOX_W = 320
BOX_PAD = 12            # inside a box, left/right and top
TITLE_SIZE, TITLE_LH = 14, 20
META_SIZE, META_LH = 12, 17
LABEL_SIZE, LABEL_LH = 12, 16
LABEL_W = 140           # an arrow's label at a box's side wraps to this width
ZONE_W = LABEL_W + 14   # between a box and its innermost lane: room for the labels
LANE_GAP = 16
ENTRY_SLOT = 14         # height of a port where an arrow comes in
PORT_PAD = 8            # above the first and below the last port of a box side
GAP_MIN = 36            # between two boxes
END_H = 32
START_W, START_H = 110, 30
HEADER_SIZE, HEADER_LH = 16, 22
MIN_WIDTH = 560
BOLD = 1.06             # bold glyphs are this much wider than regular ones

COLOURS = {
    "text": "#1f2937", "muted": "#4b5563", "line": "#374151", "return": "#7c3aed", "reject": "#b91c1c",
    "completed": "#15803d", "withdrawn": "#6b7280",
    "step.fill": "#ffffff", "step.stroke": "#1e3a8a",
    "wait.fill": "#fef3c7", "wait.stroke": "#b45309",
    "requester.fill": "#dbeafe", "requester.stroke": "#1d4ed8",
    "completed.fill": "#dcfce7", "rejected.fill": "#fee2e2", "withdrawn.fill": "#f3f4f6",
}

OPERATORS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "eq": "="}
END_ORDER = ("completed", "rejected", "withdrawn")


def _t(key: str, lang: str) -> str:
    """The flowchart's words, from the shared catalogue (``flowchart.*``)."""
    return i18n.translate(key, lang)


def _pick(texts: dict, lang: str) -> str:
    return (texts or {}).get(lang) or (texts or {}).get("th") or ""


def _role_text(role: str, lang: str) -> str:
    from shared.i18n import MESSAGES

    texts = MESSAGES.get(f"role.{role}") or {}
    return texts.get(lang) or texts.get("th") or role


def roles_text(step, lang: str) -> str:
    """Who acts on a step, in words: any one of its roles ("a, b"), every one of them in any order
    ("a and b (each approves)"), or each in turn ("a, then b (in this order)")."""
    mode = step.approval or "any_of"
    joined = _t(f"roles.joiner.{mode}", lang).join(_role_text(r, lang) for r in step.roles)
    return f"{joined} {_t(f'roles.note.{mode}', lang)}" if step.approval else joined


# ---------------------------------------------------------------------------------------------
# Text: estimated widths and wrapping

_LEADING_VOWELS = set("เแโใไ")
_FOLLOWING = set("ะาำๆฯ")


def _char_width(ch: str, size: float) -> float:
    if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0.0
    if "\u0e00" <= ch <= "\u0e7f":
        return 0.66 * size
    if ch == " ":
        return 0.30 * size
    if ch in "il.,:;'|!()[]":
        return 0.32 * size
    if ch in "mwMW@%":
        return 0.85 * size
    if ch.isupper() or ch.isdigit():
        return 0.68 * size
    if ch.isascii():
        return 0.58 * size
    return 0.70 * size


def text_width(text: str, size: float) -> float:
    """An upper estimate of the rendered width of ``text`` in the flowchart's fonts."""
    return sum(_char_width(ch, size) for ch in text)


def _clusters(text: str) -> list[str]:
    """Base characters with the combining marks (Thai upper/lower vowels, tone marks) they carry."""
    out: list[str] = []
    for ch in text:
        if out and unicodedata.category(ch) in ("Mn", "Me"):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def _is_thai(cluster: str) -> bool:
    return "\u0e00" <= cluster[0] <= "\u0e7f"


# Words of the manuals' titles: a break falls before one rather than inside it.
_THAI_WORDS = ("การ", "ความ", "ให้", "และ", "หรือ", "ของ", "ที่", "เพื่อ", "จาก", "ใน", "กับ", "ตาม", "ผู้", "ระบบ",
               "ข้อมูล", "งาน", "แบบ", "บริการ", "ตรวจ", "จัด", "ดำเนิน", "แจ้ง", "ส่ง", "เสนอ", "อนุมัติ", "พิจารณา",
               "ต่อ", "โดย", "จน", "ว่า", "แก้ไข", "คอมพิวเตอร์", "เครื่อง", "อุปกรณ์", "สารสนเทศ", "เครือข่าย",
               "ซอฟต์แวร์", "ผ่าน", "ทะเบียน", "บันทึก", "ประสาน", "ประชุม", "ผล", "คณะกรรมการ", "เว็บไซต์",
               "หน่วยงาน", "ทำ", "เป็น", "ได้", "ไม่", "ถึง", "ทาง", "ด้วย", "พัฒนา", "ติดตั้ง", "ซ่อม", "ขอ",
               "ทดลอง", "ทดสอบ", "ปรับปรุง", "ครุภัณฑ์", "อิเล็กทรอนิกส์", "สารบรรณ", "ผู้รับจ้าง", "ผู้ใช้งาน",
               "ความต้องการ", "ผู้อำนวยการ", "แผนงาน", "โครงการ", "เอกสาร", "หนังสือ", "รายงาน", "ประกาศ",
               "กว่า", "ใช้งาน", "ปรับแก้", "เกี่ยวข้อง", "นำเสนอ", "ผู้ขอ", "ซ่อมแซม", "ตรวจสอบ", "ดำเนินการ")
# What a break costs: at a space nothing, between words a little, inside a Thai word more, inside a
# Latin word most.
_BREAK_COST = {3: 0, 2: 1, 1: 4, 0: 12}


def _break_priorities(clusters: list[str]) -> list[int]:
    """For each b, how good a break between ``clusters[b - 1]`` and ``clusters[b]`` is: 3 at a space,
    2 between words or syllables we can tell, 1 between other Thai characters, 0 inside a Latin
    word, -1 never (after a leading vowel, before a following vowel, inside a known word)."""
    priorities = [-1] * (len(clusters) + 1)
    for b in range(1, len(clusters)):
        before, after = clusters[b - 1], clusters[b]
        if before == " " or after == " ":
            priorities[b] = 3
        elif _is_thai(before) and _is_thai(after):
            if before[0] in _LEADING_VOWELS or after[0] in _FOLLOWING:
                priorities[b] = -1
            elif after[0] in _LEADING_VOWELS or before.endswith("\u0e4c") or before[0] == "\u0e33":
                priorities[b] = 2
            else:
                priorities[b] = 1
        elif _is_thai(before) or _is_thai(after):
            bad = before[0] in _LEADING_VOWELS or before in "([{/" or after in ")]}.,:;" or after[0] in _FOLLOWING
            priorities[b] = -1 if bad else 2
        else:
            priorities[b] = 1 if before in "-/" else 0
    # Known words: a good break before one, none inside (the longest word found wins).
    starts = [0]
    for cluster in clusters:
        starts.append(starts[-1] + len(cluster))
    text = "".join(clusters)
    index_of = {offset: i for i, offset in enumerate(starts)}
    for word in sorted(_THAI_WORDS, key=len):
        at = text.find(word)
        while at != -1:
            first, last = index_of.get(at), index_of.get(at + len(word))
            if first is not None and last is not None:
                if 0 < first and priorities[first] == 1:
                    priorities[first] = 2
                for b in range(first + 1, last):
                    if priorities[b] in (1, 2):
                        priorities[b] = -1
            at = text.find(word, at + 1)
    return priorities


def _wrap(clusters: list[str], widths: list[float], priorities: list[int], max_width: float) -> tuple[list[str], int]:
    """Greedy lines no wider than ``max_width`` and what their breaks cost."""
    lines: list[str] = []
    cost, start = 0, 0
    while start < len(clusters):
        while start < len(clusters) and clusters[start] == " ":
            start += 1
        if start >= len(clusters):
            break
        width, end = 0.0, start
        while end < len(clusters) and (width + widths[end] <= max_width or end == start):
            width += widths[end]
            end += 1
        if end < len(clusters):
            end, priority = _line_end(widths, priorities, start, end, max_width)
            cost += _BREAK_COST.get(priority, 30)
        lines.append("".join(clusters[start:end]).strip())
        start = end
    return lines, cost


def _line_end(widths: list[float], priorities: list[int], start: int, end: int, max_width: float) -> tuple[int, int]:
    """Where to end a line that would hold ``clusters[start:end]``: at the latest good break that
    leaves the line reasonably full, else at a poorer one, else (no break at all) at ``end``."""
    for wanted, fullness in ((3, 0.4), (2, 0.5), (1, 0.0), (0, 0.0)):
        width = sum(widths[start:end])
        for b in range(end, start, -1):
            if width < fullness * max_width:
                break
            if priorities[b] >= wanted:
                return b, priorities[b]
            width -= widths[b - 1]
    return end, -1


def wrap(text: str, max_width: float, size: float) -> list[str]:
    """``text`` in lines no wider than ``max_width`` (estimated). Breaks at spaces where it can, else
    before a known word or between syllables, else between Thai characters (never after เ แ โ ใ ไ,
    never before ะ า ำ ๆ ฯ), else anywhere. Of the widths that need no more lines, the one with the
    best breaks and then the most even lines wins, so no word is left alone on the last line."""
    text = " ".join(str(text).split())
    if not text:
        return []
    clusters = _clusters(text)
    widths = [text_width(c, size) for c in clusters]
    priorities = _break_priorities(clusters)
    lines, cost = _wrap(clusters, widths, priorities, max_width)
    if len(lines) < 2:
        return lines
    best = (cost, max_width - text_width(lines[-1], size), lines)
    for step in range(1, 11):
        candidate, candidate_cost = _wrap(clusters, widths, priorities, max_width * (1 - step * 0.05))
        if len(candidate) != len(lines):
            break
        widest = max(text_width(line, size) for line in candidate)
        ragged = widest - min(text_width(line, size) for line in candidate)
        best = min(best, (candidate_cost, ragged, candidate))
    return best[2]


# ---------------------------------------------------------------------------------------------
# Layout


@dataclass
class _Box:
    step: Step
    index: int
    title: list[str]
    meta: list[tuple[str, str]]           # (line, colour)
    kind: str                             # step / wait / requester
    content_h: float
    h: float = 0.0
    y: float = 0.0
    left: list = field(default_factory=list)    # ports, top to bottom
    right: list = field(default_factory=list)


@dataclass
class _Lane:
    side: str                   # left / right
    dst: int | None             # box index, None for an end bus
    dashed: bool
    result: str | None = None   # for an end bus
    lo: int = 0
    hi: int = 0
    lane: int = 0
    entry_y: float = 0.0

    def overlaps(self, other: "_Lane") -> bool:
        return not (self.hi < other.lo or other.hi < self.lo)


@dataclass
class _Edge:
    order: int
    src: int
    step: Step
    outcome: Outcome
    to: str | None
    dst: int | None
    kind: str                   # forward / return / reject (Sop.outcome_kind)
    result: str | None          # the case's result when the edge ends it
    text: str
    route: str = ""             # straight / side / bus
    lane: _Lane | None = None
    label: list[str] = field(default_factory=list)
    exit_y: float = 0.0
    x: float = 0.0              # straight edges: where the line runs

    @property
    def dashed(self) -> bool:
        return self.kind == "return"

    @property
    def colour(self) -> str:
        if self.to is None:
            return COLOURS["reject"] if self.result == "rejected" else COLOURS[self.result or "completed"]
        if self.kind == "reject":
            return COLOURS["reject"]
        return COLOURS["return"] if self.dashed else COLOURS["line"]


def _edge_text(step: Step, outcome: Outcome, to: str | None, lang: str) -> str:
    text = _pick(outcome.label, lang) or outcome.key
    if not outcome.branches:
        return text
    for branch in outcome.branches:
        if branch.to == to:
            cond = branch.condition
            field_ = next((f for f in step.inputs if f.name == cond.input), None)
            name = _pick(field_.label, lang) if field_ else cond.input
            value = f"{cond.value:g}" if isinstance(cond.value, float) else cond.value
            return f"{text} ({_t('flowchart.if', lang)} {name} {OPERATORS[cond.op]} {value})"
    return f"{text} ({_t('flowchart.otherwise', lang)})"


def _end_result(outcome: Outcome) -> str:
    if outcome.result in END_ORDER:
        return outcome.result
    return "rejected" if outcome.kind == "reject" else "completed"


def _boxes(sop: Sop, lang: str) -> list[_Box]:
    boxes = []
    for index, step in enumerate(sop.steps):
        title = wrap(f"{index + 1}. {_pick(step.title, lang)}", BOX_W - 2 * BOX_PAD, TITLE_SIZE * BOLD)
        roles = roles_text(step, lang)
        meta = [(line, COLOURS["muted"])
                for line in wrap(f"{_t('flowchart.role', lang)}: {roles}", BOX_W - 2 * BOX_PAD, META_SIZE)]
        meta += [(line, COLOURS["muted"]) for line in
                 wrap(f"{_t('flowchart.target', lang)}: {step.target.text(lang)}", BOX_W - 2 * BOX_PAD, META_SIZE)]
        if step.wait:
            waits = _t(f"flowchart.waits.{step.wait}", lang)
            meta += [(line, COLOURS["wait.stroke"]) for line in
                     wrap(f"{_t('flowchart.wait', lang)}: {waits}", BOX_W - 2 * BOX_PAD, META_SIZE)]
        kind = "requester" if step.is_requester_step else "wait" if step.wait else "step"
        content_h = BOX_PAD + len(title) * TITLE_LH + len(meta) * META_LH + 6
        boxes.append(_Box(step=step, index=index, title=title, meta=meta, kind=kind, content_h=content_h))
    return boxes


def _edges(sop: Sop, lang: str) -> list[_Edge]:
    edges = []
    for index, step in enumerate(sop.steps):
        for outcome in step.outcomes.values():
            for to in outcome.destinations:
                edges.append(_Edge(
                    order=len(edges), src=index, step=step, outcome=outcome, to=to,
                    dst=None if to is None else sop.position(to), kind=sop.outcome_kind(step.key, outcome, to),
                    result=_end_result(outcome) if to is None else None, text=_edge_text(step, outcome, to, lang)))
    return edges


def _assign_lanes(lanes: list[_Lane], first: int = 0) -> int:
    """Give each lane-group a lane: shortest spans innermost, overlapping spans never together.
    Returns the number of lanes used."""
    used: list[list[_Lane]] = []
    for group in sorted(lanes, key=lambda g: (g.hi - g.lo, g.lo, g.hi, g.dashed)):
        for number, members in enumerate(used):
            if not any(group.overlaps(m) for m in members):
                members.append(group)
                group.lane = first + number
                break
        else:
            used.append([group])
            group.lane = first + len(used) - 1
    return len(used)


def _layout(sop: Sop, lang: str):
    boxes = _boxes(sop, lang)
    edges = _edges(sop, lang)
    last = len(boxes) - 1

    # Routes: straight to the next box (or from the last box to the completed end), else a lane.
    groups: dict[tuple, _Lane] = {}
    for edge in edges:
        if edge.dst is None:
            if edge.src == last and edge.result == "completed":
                edge.route = "straight"
                continue
            key = ("bus", edge.result)
            lane = groups.setdefault(key, _Lane(side="right", dst=None, dashed=False, result=edge.result,
                                                lo=edge.src, hi=last + 1))
            lane.lo = min(lane.lo, edge.src)
        elif edge.dst == edge.src + 1:
            edge.route = "straight"
            continue
        elif edge.dst > edge.src:
            key = ("right", edge.dst, edge.dashed)
            lane = groups.setdefault(key, _Lane(side="right", dst=edge.dst, dashed=edge.dashed, lo=edge.src, hi=edge.dst))
            lane.lo = min(lane.lo, edge.src)
        else:
            key = ("left", edge.dst, edge.dashed)
            lane = groups.setdefault(key, _Lane(side="left", dst=edge.dst, dashed=edge.dashed, lo=edge.dst, hi=edge.src))
            lane.hi = max(lane.hi, edge.src)
        edge.route = "bus" if edge.dst is None else "side"
        edge.lane = lane
    left = [g for g in groups.values() if g.side == "left"]
    right = [g for g in groups.values() if g.side == "right" and g.result is None]
    buses = sorted((g for g in groups.values() if g.result is not None), key=lambda g: END_ORDER.index(g.result))
    n_left = _assign_lanes(left)
    n_right = _assign_lanes(right)
    for number, bus in enumerate(buses):  # the ends' buses run outermost, completed innermost of them
        bus.lane = n_right + number
    n_right += len(buses)

    # Ports along each box's sides, top to bottom. A line that ends at a port must not cross the
    # lines of its neighbours on that side: on the right, arrows coming from above come in first,
    # inner lanes higher, then arrows leaving downwards, outer lanes higher; on the left, arrows
    # leaving upwards, inner lanes higher, then loops to the box itself, then arrows coming from
    # below, outer lanes higher.
    for edge in edges:
        if edge.route in ("side", "bus"):
            edge.label = wrap(edge.text, LABEL_W, LABEL_SIZE)
    for box in boxes:
        i = box.index
        mine = [e for e in edges if e.src == i and e.route in ("side", "bus")]
        right_in = sorted((g for g in right if g.dst == i), key=lambda g: g.lane)
        right_out = sorted((e for e in mine if e.lane.side == "right"), key=lambda e: (-e.lane.lane, e.order))
        box.right = [("in", g) for g in right_in] + [("out", e) for e in right_out]
        up = sorted((e for e in mine if e.lane.side == "left" and e.dst < i), key=lambda e: (e.lane.lane, e.order))
        self_out = [e for e in mine if e.lane.side == "left" and e.dst == i]
        left_in = [g for g in left if g.dst == i]
        self_in = sorted((g for g in left_in if g.hi == i), key=lambda g: g.lane)
        below_in = sorted((g for g in left_in if g.hi > i), key=lambda g: -g.lane)
        box.left = ([("out", e) for e in up] + [("out", e) for e in self_out] + [("in", g) for g in self_in]
                    + [("in", g) for g in below_in])
        box.h = max(box.content_h, _ports_height(box.left) + 2 * PORT_PAD, _ports_height(box.right) + 2 * PORT_PAD, 56)

    # Straight arrows: their x, their labels, and the gap they need below each box.
    straight: dict[int, list[_Edge]] = {}
    for edge in edges:
        if edge.route == "straight":
            straight.setdefault(edge.src, []).append(edge)
    gaps = {}
    for src, group in straight.items():
        k = len(group)
        spacing = min(BOX_W / k, 150)
        width = 150 if k == 1 else spacing - 18
        for j, edge in enumerate(group):
            edge.x = (j - (k - 1) / 2) * spacing  # relative to the box column's centre, set below
            edge.label = wrap(edge.text, width, LABEL_SIZE)
        lines = max(len(e.label) for e in group)
        bends = src == last and k > 1  # to the completed end: the arrows bend halfway, labels above
        gaps[src] = max(GAP_MIN, lines * LABEL_LH * (2 if bends else 1) + (28 if bends else 18))

    # Horizontal positions.
    any_left_out = any(e.route == "side" and e.lane.side == "left" for e in edges)
    any_right_out = any(e.route in ("side", "bus") and e.lane.side == "right" for e in edges)
    left_zone = ZONE_W if any_left_out else 0
    right_zone = ZONE_W if any_right_out else 0
    box_x = MARGIN + n_left * LANE_GAP + left_zone
    cx = box_x + BOX_W / 2

    def lane_x(lane: _Lane) -> float:
        if lane.side == "left":
            return box_x - left_zone - LANE_GAP * (lane.lane + 0.5)
        return box_x + BOX_W + right_zone + LANE_GAP * (lane.lane + 0.5)

    for group in straight.values():
        for edge in group:
            edge.x += cx

    ends = sorted({e.result for e in edges if e.to is None}, key=END_ORDER.index)
    end_boxes: dict[str, tuple[float, float]] = {}  # result -> (centre x, half width)
    for result in ends:
        half = max(55.0, text_width(_t(f"flowchart.end.{result}", lang), 13 * BOLD) / 2 + 22)
        end_boxes[result] = (cx, half)
    completed_bus = next((b for b in buses if b.result == "completed"), None)
    prev_right = (cx + end_boxes["completed"][1]) if "completed" in end_boxes else -1e9
    for bus in buses:
        if bus.result == "completed":
            continue
        half = end_boxes[bus.result][1]
        centre = max(lane_x(bus), prev_right + 16 + half)
        if completed_bus is not None:
            centre = max(centre, lane_x(completed_bus) + 12 + half)
        end_boxes[bus.result] = (centre, half)
        prev_right = centre + half
    right_edge = box_x + BOX_W + right_zone + n_right * LANE_GAP
    right_edge = max([right_edge] + [c + h for c, h in end_boxes.values()])
    width = max(MIN_WIDTH, right_edge + MARGIN)

    # Vertical positions.
    header = wrap(f"{sop.number} {_pick(sop.title, lang)}".strip(), width - 2 * MARGIN, HEADER_SIZE * BOLD)
    y = MARGIN + len(header) * HEADER_LH + 8
    start_y = y
    y += START_H + 28
    for box in boxes:
        box.y = y
        y += box.h + (gaps.get(box.index, GAP_MIN) if box.index < last else 0)
    last_bottom = y
    turning = [b for b in buses if b.result != "completed"]
    below = max(gaps.get(last, 0) if any(e.src == last and e.to is None for e in straight.get(last, [])) else 0,
                GAP_MIN, 20 + LANE_GAP * len(turning) + 12)
    end_y = last_bottom + below if ends else last_bottom
    bus_turn = {b.result: end_y - 12 - LANE_GAP * n for n, b in enumerate(turning)}
    y = end_y + (END_H if ends else 0) + 24

    # Port y positions.
    for box in boxes:
        for ports in (box.left, box.right):
            top = box.y + (box.h - _ports_height(ports)) / 2
            for direction, item in ports:
                if direction == "out":
                    item.exit_y = top + max(1, len(item.label)) * LABEL_LH + 4
                    top += _slot(direction, item)
                else:
                    item.entry_y = top + ENTRY_SLOT / 2
                    top += ENTRY_SLOT

    with_reject = any(e.colour == COLOURS["reject"] for e in edges)
    legend, legend_h = _legend(lang, width, y, with_reject)
    height = y + legend_h + MARGIN
    return dict(sop=sop, lang=lang, boxes=boxes, edges=edges, width=width, height=height, box_x=box_x, cx=cx,
                lane_x=lane_x, header=header, start_y=start_y, end_y=end_y, end_boxes=end_boxes,
                bus_turn=bus_turn, legend=legend)


def _slot(direction: str, item) -> float:
    if direction == "in":
        return ENTRY_SLOT
    return max(1, len(item.label)) * LABEL_LH + 8


def _ports_height(ports: list) -> float:
    return sum(_slot(direction, item) for direction, item in ports)


# ---------------------------------------------------------------------------------------------
# Drawing


def _n(value: float) -> str:
    return f"{round(value, 1):.1f}".rstrip("0").rstrip(".")


def _attr(value) -> str:
    return escape(str(value), {'"': "&quot;"})


def _text(x: float, y: float, lines: list[str], size: float, lh: float, *, fill: str, anchor: str = "start",
          weight: str = "normal") -> str:
    if not lines:
        return ""
    spans = "".join(f'<tspan x="{_n(x)}" y="{_n(y + i * lh)}">{escape(line)}</tspan>' for i, line in enumerate(lines))
    bold = ' font-weight="bold"' if weight == "bold" else ""
    return f'<text font-size="{_n(size)}" fill="{fill}" text-anchor="{anchor}"{bold}>{spans}</text>'


def _label(x: float, bottom: float, lines: list[str], anchor: str, colour: str) -> str:
    """A label whose last line sits just above ``bottom``, on a white halo so lines behind stay apart."""
    top = bottom - (len(lines) - 1) * LABEL_LH
    return (f'<text font-size="{LABEL_SIZE}" fill="{colour}" text-anchor="{anchor}" stroke="#ffffff" '
            f'stroke-width="3" stroke-linejoin="round" paint-order="stroke">'
            + "".join(f'<tspan x="{_n(x)}" y="{_n(top + i * LABEL_LH)}">{escape(line)}</tspan>'
                      for i, line in enumerate(lines))
            + "</text>")


def _marker_id(sop: Sop, name: str) -> str:
    return re.sub(r"[^a-z0-9-]", "-", f"fc-{sop.pack}-{sop.key}-{name}")


def _defs(sop: Sop) -> str:
    markers = []
    for name, colour in (("line", COLOURS["line"]), ("return", COLOURS["return"]), ("reject", COLOURS["reject"]),
                         ("completed", COLOURS["completed"]), ("withdrawn", COLOURS["withdrawn"])):
        markers.append(f'<marker id="{_marker_id(sop, name)}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
                       f'markerHeight="8" orient="auto-start-reverse" markerUnits="userSpaceOnUse">'
                       f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>')
    return "<defs>" + "".join(markers) + "</defs>"


def _marker_for(edge: _Edge) -> str:
    if edge.kind == "reject" and edge.to is not None:
        return "reject"
    if edge.to is None:
        return {"rejected": "reject", "withdrawn": "withdrawn"}.get(edge.result or "", "completed")
    return "return" if edge.dashed else "line"


def _box_svg(box: _Box, x: float) -> str:
    fill, stroke = COLOURS[f"{box.kind}.fill"], COLOURS[f"{box.kind}.stroke"]
    key = _attr(box.step.key)
    parts = [f'<g id="step-{key}" class="step" data-step="{key}" data-kind="{box.kind}">',
             f'<rect x="{_n(x)}" y="{_n(box.y)}" width="{BOX_W}" height="{_n(box.h)}" rx="8" fill="{fill}" '
             f'stroke="{stroke}" stroke-width="{2 if box.kind != "step" else 1.5}"/>']
    if box.kind != "step":  # a stripe down the left side, so the mark does not rest on colour alone
        parts.append(f'<rect x="{_n(x)}" y="{_n(box.y)}" width="6" height="{_n(box.h)}" rx="3" fill="{stroke}"/>')
    y = box.y + (box.h - box.content_h) / 2 + BOX_PAD + TITLE_SIZE
    parts.append(_text(x + BOX_PAD, y, box.title, TITLE_SIZE, TITLE_LH, fill=COLOURS["text"], weight="bold"))
    y += len(box.title) * TITLE_LH - TITLE_LH + META_LH + 2
    for line, colour in box.meta:
        parts.append(_text(x + BOX_PAD, y, [line], META_SIZE, META_LH, fill=colour))
        y += META_LH
    parts.append("</g>")
    return "".join(parts)


def _edge_svg(edge: _Edge, layout: dict) -> str:
    sop, boxes, box_x = layout["sop"], layout["boxes"], layout["box_x"]
    src = boxes[edge.src]
    colour = edge.colour
    dash = ' stroke-dasharray="6 4"' if edge.dashed else ""
    label_colour = colour if colour != COLOURS["line"] else COLOURS["muted"]
    if edge.route == "straight":
        y1 = src.y + src.h
        if edge.dst is None:
            end_x, half = layout["end_boxes"]["completed"]
            y2 = layout["end_y"]
            x2 = min(max(edge.x, end_x - half + 12), end_x + half - 12)
            mid = (y1 + y2) / 2
            d = f"M{_n(edge.x)},{_n(y1)} V{_n(y2)}" if x2 == edge.x else \
                f"M{_n(edge.x)},{_n(y1)} V{_n(mid)} H{_n(x2)} V{_n(y2)}"
        else:
            y2 = boxes[edge.dst].y
            d = f"M{_n(edge.x)},{_n(y1)} V{_n(y2)}"
        if d.count("H"):  # bent towards the end marker: the label goes above the bend
            bottom = (y1 + y2) / 2 - 5
        else:
            bottom = (y1 + y2) / 2 + (len(edge.label) * LABEL_LH) / 2 - 4
        label = _label(edge.x + 7, bottom, edge.label, "start", label_colour)
    else:
        lane = edge.lane
        lx = layout["lane_x"](lane)
        y1 = edge.exit_y
        side_x = box_x if lane.side == "left" else box_x + BOX_W
        if edge.route == "bus":
            centre, half = layout["end_boxes"][edge.result]
            if edge.result == "completed":
                cy = layout["end_y"] + END_H / 2
                d = f"M{_n(side_x)},{_n(y1)} H{_n(lx)} V{_n(cy)} H{_n(centre + half)}"
            else:
                turn = layout["bus_turn"][edge.result]
                d = f"M{_n(side_x)},{_n(y1)} H{_n(lx)} V{_n(turn)} H{_n(centre)} V{_n(layout['end_y'])}"
        else:
            d = f"M{_n(side_x)},{_n(y1)} H{_n(lx)} V{_n(lane.entry_y)} H{_n(side_x)}"
        if lane.side == "left":
            label = _label(box_x - 7, y1 - 5, edge.label, "end", label_colour)
        else:
            label = _label(box_x + BOX_W + 7, y1 - 5, edge.label, "start", label_colour)
    marker = _marker_id(sop, _marker_for(edge))
    return (f'<g class="edge" data-from="{_attr(edge.step.key)}" data-to="{_attr(edge.to or "")}" '
            f'data-outcome="{_attr(edge.outcome.key)}" data-kind="{_attr(edge.kind)}"'
            + (f' data-end="{_attr(edge.result)}"' if edge.to is None else "") + ">"
            f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="1.6"{dash} '
            f'marker-end="url(#{marker})"/>{label}</g>')


def _end_svg(result: str, centre: float, half: float, y: float, lang: str) -> str:
    text = _t(f"flowchart.end.{result}", lang)
    colour = COLOURS["reject"] if result == "rejected" else COLOURS[result]
    fill = COLOURS[f"{result}.fill"]
    x0, x1, y1 = centre - half, centre + half, y + END_H
    if result == "rejected":  # a stop sign's octagon, thick border
        c = 9
        points = (f"{_n(x0 + c)},{_n(y)} {_n(x1 - c)},{_n(y)} {_n(x1)},{_n(y + c)} {_n(x1)},{_n(y1 - c)} "
                  f"{_n(x1 - c)},{_n(y1)} {_n(x0 + c)},{_n(y1)} {_n(x0)},{_n(y1 - c)} {_n(x0)},{_n(y + c)}")
        shape = f'<polygon points="{points}" fill="{fill}" stroke="{colour}" stroke-width="2.5"/>'
    else:
        dash = ' stroke-dasharray="4 3"' if result == "withdrawn" else ""
        shape = (f'<rect x="{_n(x0)}" y="{_n(y)}" width="{_n(2 * half)}" height="{END_H}" rx="{END_H // 2}" '
                 f'fill="{fill}" stroke="{colour}" stroke-width="2"{dash}/>')
    return (f'<g class="end" id="end-{result}" data-result="{result}">{shape}'
            + _text(centre, y + END_H / 2 + 5, [text], 13, 16, fill=colour, anchor="middle", weight="bold") + "</g>")


def _legend(lang: str, width: float, y: float, with_reject: bool) -> tuple[list[tuple[float, float, str, str]], float]:
    """The legend: the kinds of box on one row, the kinds of arrow on the next (each row flowing
    on when the chart is narrow). Items are (x, y, kind, text); returns them and the height."""
    rows = [[("step", _t("flowchart.legend.step", lang)), ("wait", _t("flowchart.legend.wait", lang)),
             ("requester", _t("flowchart.legend.requester", lang))],
            [("forward", _t("flowchart.legend.forward", lang)), ("return", _t("flowchart.legend.return", lang))]
            + ([("reject", _t("flowchart.legend.reject", lang))] if with_reject else [])]
    out, top = [], y
    for items in rows:
        x = MARGIN
        for kind, text in items:
            item_w = 34 + text_width(text, LABEL_SIZE) + 18
            if x + item_w > width - MARGIN and x > MARGIN:
                x, top = MARGIN, top + 24
            out.append((x, top, kind, text))
            x += item_w
        top += 24
    return out, top - y


def _legend_svg(layout: dict) -> str:
    sop = layout["sop"]
    parts = ['<g class="legend">']
    for x, y, kind, text in layout["legend"]:
        if kind in ("step", "wait", "requester"):
            fill, stroke = COLOURS[f"{kind}.fill"], COLOURS[f"{kind}.stroke"]
            parts.append(f'<rect x="{_n(x)}" y="{_n(y)}" width="28" height="16" rx="3" fill="{fill}" stroke="{stroke}" '
                         f'stroke-width="1.5"/>')
            if kind != "step":
                parts.append(f'<rect x="{_n(x)}" y="{_n(y)}" width="5" height="16" rx="2" fill="{stroke}"/>')
        else:
            colour = {"return": COLOURS["return"], "reject": COLOURS["reject"]}.get(kind, COLOURS["line"])
            dash = ' stroke-dasharray="6 4"' if kind == "return" else ""
            marker = _marker_id(sop, kind if kind in ("return", "reject") else "line")
            parts.append(f'<path d="M{_n(x)},{_n(y + 8)} H{_n(x + 28)}" stroke="{colour}" stroke-width="1.6"{dash} '
                         f'marker-end="url(#{marker})"/>')
        parts.append(_text(x + 34, y + 13, [text], LABEL_SIZE, LABEL_LH, fill=COLOURS["text"]))
    parts.append("</g>")
    return "".join(parts)


def render_svg(sop: Sop, lang: str = "th") -> str:
    """The SOP's flowchart as a standalone SVG document (a string), texts in ``lang`` (Thai when
    the pack has no text in that language)."""
    layout = _layout(sop, lang)
    width, height = _n(layout["width"]), _n(layout["height"])
    cx = layout["cx"]
    title = _pick(sop.title, lang)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{_attr(title)}" '
             f'font-family="{_attr(FONT_FAMILY)}" data-sop="{_attr(sop.full_key)}">',
             f"<title>{escape(title)}</title>", _defs(sop),
             f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
             _text(MARGIN, MARGIN + HEADER_SIZE, layout["header"], HEADER_SIZE, HEADER_LH, fill=COLOURS["text"],
                   weight="bold")]
    start_y = layout["start_y"]
    parts.append(f'<g class="start"><rect x="{_n(cx - START_W / 2)}" y="{_n(start_y)}" width="{START_W}" '
                 f'height="{START_H}" rx="{START_H // 2}" fill="#e5e7eb" stroke="{COLOURS["line"]}" stroke-width="1.5"/>'
                 + _text(cx, start_y + START_H / 2 + 5, [_t("flowchart.start", lang)], 13, 16, fill=COLOURS["text"],
                         anchor="middle", weight="bold")
                 + f'<path d="M{_n(cx)},{_n(start_y + START_H)} V{_n(layout["boxes"][0].y)}" stroke="{COLOURS["line"]}" '
                   f'stroke-width="1.6" marker-end="url(#{_marker_id(sop, "line")})"/></g>')
    parts += [_box_svg(box, layout["box_x"]) for box in layout["boxes"]]
    parts += [_end_svg(result, centre, half, layout["end_y"], lang) for result, (centre, half) in layout["end_boxes"].items()]
    # Arrows after boxes: their labels' halos must not be hidden by a box.
    parts += [_edge_svg(edge, layout) for edge in layout["edges"]]
    parts.append(_legend_svg(layout))
    parts.append("</svg>")
    return "".join(parts) + "\n"
