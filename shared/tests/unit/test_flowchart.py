"""The SOP flowchart: every shipped SOP draws as valid SVG with a box per step and an arrow per
outcome and destination, pack texts are escaped, both languages show, and (in Chromium) Thai
renders with a Thai font and stays inside its boxes."""
import re
import textwrap
import xml.etree.ElementTree as ET

import pytest

from shared.packs import builtin_packs, find_sop, parse_pack
from shared.packs.flowchart import FONT_FAMILY, render_svg

SVG = "{http://www.w3.org/2000/svg}"
SOPS = [sop for pack in builtin_packs().values() for sop in pack.sops.values()]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def by_class(root: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in root.iter() if name in (e.get("class") or "").split()]


def text_of(element: ET.Element) -> str:
    """The element's text with the line breaks the wrapping made taken out again."""
    return re.sub(r"\s+", "", "".join(element.itertext()))


@pytest.mark.parametrize("lang", ["th", "en"])
@pytest.mark.parametrize("sop", SOPS, ids=[sop.full_key for sop in SOPS])
def test_every_shipped_sop_draws_a_box_per_step_and_an_arrow_per_outcome(sop, lang):
    svg = render_svg(sop, lang)
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    assert float(root.get("width")) > 0 and root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    assert "<script" not in svg and "href" not in svg  # self-contained, nothing to run or fetch

    boxes = by_class(root, "step")
    assert [b.get("id") for b in boxes] == [f"step-{step.key}" for step in sop.steps]
    for box, step in zip(boxes, sop.steps):
        title = step.title.get(lang) or step.title["th"]
        assert re.sub(r"\s+", "", title) in text_of(box)
        assert box.get("data-kind") == ("requester" if step.is_requester_step else "wait" if step.wait else "step")

    expected = {(step.key, name, to) for step in sop.steps for name, outcome in step.outcomes.items()
                for to in outcome.destinations}
    edges = by_class(root, "edge")
    drawn = [(e.get("data-from"), e.get("data-outcome"), e.get("data-to") or None) for e in edges]
    assert len(drawn) == len(set(drawn)) and set(drawn) == expected

    for edge in edges:
        step = sop.step(edge.get("data-from"))
        outcome = step.outcomes[edge.get("data-outcome")]
        to = edge.get("data-to") or None
        path = edge.find(f"{SVG}path")
        dashed = path.get("stroke-dasharray") is not None
        assert dashed == (sop.outcome_kind(step.key, outcome, to) == "return"), edge.attrib
        label = outcome.label.get(lang) or outcome.label.get("th") or outcome.key
        assert re.sub(r"\s+", "", label) in text_of(edge)
        if to is None:  # to an end marker of the outcome's result, drawn once per result
            result = edge.get("data-end")
            assert result == (outcome.result or "completed")
            assert root.find(f".//*[@id='end-{result}']") is not None


def test_the_drawing_is_the_same_every_time():
    sop = find_sop("sesao-sc/repair")
    assert render_svg(sop) == render_svg(sop)


UNSAFE = textwrap.dedent("""\
    pack: unsafe
    version: 1
    organisation: {th: ทดสอบ}
    sops:
      demo:
        title: {th: "คำขอ <script>alert('x')</script> & อื่น ๆ", en: "Request <script>alert(1)</script> & co"}
        steps:
          - key: check
            title: {th: "ตรวจ <script>alert(2)</script> & \\"ลงนาม\\"", en: "Check & sign"}
            role: officer
            outcomes:
              ok: {to: null, label: {th: "ผ่าน <b>&</b>", en: "OK <b>&</b>"}}
              refuse: {to: null, result: rejected, label: {th: "ไม่ผ่าน"}}
    """)


@pytest.mark.parametrize("lang", ["th", "en"])
def test_pack_texts_are_escaped(lang):
    sop = parse_pack(UNSAFE).sops["demo"]
    svg = render_svg(sop, lang)
    assert "<script" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg and "&amp;" in svg
    root = parse(svg)  # still well-formed XML
    assert "<script>alert(" in "".join(root.itertext())  # shown as text, as written
    assert {e.get("data-end") for e in by_class(root, "edge")} == {"completed", "rejected"}
    assert root.find(f".//*[@id='end-rejected']") is not None and root.find(f".//*[@id='end-completed']") is not None


def test_repair_reads_in_thai_and_in_english():
    sop = find_sop("sesao-sc/repair")
    thai, english = parse(render_svg(sop, "th")), parse(render_svg(sop, "en"))
    assert text_of(thai.find(f".//*[@id='step-diagnose']")).count("วิเคราะห์") == 1
    for root, lang in ((thai, "th"), (english, "en")):
        text = text_of(root)
        for step in sop.steps:
            assert re.sub(r"\s+", "", step.title[lang]) in text
            for outcome in step.outcomes.values():
                if outcome.label:
                    assert re.sub(r"\s+", "", outcome.label[lang]) in text
    assert "เริ่มต้น" in text_of(thai) and "Start" in text_of(english)
    assert not re.search("[\u0e00-\u0e7f]", "".join(step.title["en"] for step in sop.steps))


@pytest.mark.browser
def test_repair_renders_thai_with_a_thai_font_inside_its_boxes(browser_page):
    page = browser_page
    svg = render_svg(find_sop("sesao-sc/repair"), "th")
    page.set_content(f'<!doctype html><html lang="th"><meta charset="utf-8"><body style="margin:0">{svg}</body></html>')

    title = page.locator("#step-diagnose text").first
    box = title.bounding_box()
    assert box and box["width"] > 50 and box["height"] > 5

    # Drawn with one of the flowchart's Thai fonts (Chromium says which fonts drew the glyphs).
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    document = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": document, "selector": "#step-diagnose text tspan"})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    families = {"Sarabun", "TH Sarabun New", "Loma", "Garuda"}
    assert fonts and {f["familyName"] for f in fonts} <= families, \
        f"Thai drawn with {fonts}, not one of {families}: install fonts-thai-tlwg"

    # Not tofu: tone marks and vowels stack on their consonant (they take no width of their own),
    # and Thai letters are not as wide as the missing-glyph boxes of an unassigned code point.
    widths = page.evaluate("""(font) => {
        const ctx = document.createElement('canvas').getContext('2d');
        ctx.font = '16px ' + font;
        const w = (text) => ctx.measureText(text).width;
        return {consonant: w('ก'), stacked: w('กิ่'), thai: w('กขคงจ'), missing: w('\\u0378\\u0378\\u0378\\u0378\\u0378')};
    }""", FONT_FAMILY)
    assert widths["consonant"] > 0 and abs(widths["stacked"] - widths["consonant"]) < 0.5, widths
    assert abs(widths["thai"] - widths["missing"]) > 1, widths

    # The wrapped texts stay inside their boxes, with the real font's widths.
    outside = page.evaluate("""() => {
        const out = [];
        for (const step of document.querySelectorAll('g.step')) {
            const r = step.querySelector('rect').getBBox();
            for (const t of step.querySelectorAll('text')) {
                const b = t.getBBox();
                if (b.width <= 0 || b.x < r.x || b.x + b.width > r.x + r.width || b.y < r.y || b.y + b.height > r.y + r.height)
                    out.push(step.id + ': ' + t.textContent);
            }
        }
        return out;
    }""")
    assert outside == []
