"""The pack schema: the shipped packs validate and hang together, broken packs are refused with
messages naming the file, the line and what is wrong, and `sopdesk packs check` says so."""
import textwrap

import pytest

from sopdesk.cli import main
from shared.packs import (PackError, Target, branch_values, builtin_packs, find_sop, load_pack, parse_pack,
                          walk_paths)

GOOD = """\
pack: demo
version: 1
organisation: {th: หน่วยทดลอง, en: Demo unit}
sops:
  fix:
    title: {th: ซ่อม, en: Fix}
    requester: true
    deadline: 1-3 days
    steps:
      - key: assign
        title: {th: มอบหมาย, en: Assign}
        role: head
        inputs:
          - {name: estimate_days, type: number, required: true, label: {th: ประมาณการ, en: Estimate}}
        outcomes:
          done:
            to: repair
            branches:
              - {if: {input: estimate_days, gt: 1}, to: lend}
      - key: lend
        title: {th: ให้ยืมเครื่อง, en: Lend a machine}
        role: officer
        outcomes: {done: repair}
      - key: repair
        title: {th: ซ่อม, en: Repair}
        role: [officer, head]
        target: 1-2 days
        outcomes:
          done: null
          again: {to: assign, note_required: true, label: {th: ซ่อมใหม่, en: Repair again}}
"""


def test_shipped_repair_sop_reads_from_its_pack():
    sop = find_sop("sesao-sc/repair")
    assert sop is not None and sop.requester
    assert [s.key for s in sop.steps] == ["receive-form", "check-report", "ask-requester", "diagnose",
                                          "vendor-claim", "parts-purchase", "repair", "verify", "handover"]
    # the requester's correction goes back to the check, and is their answer, not another return
    answer = sop.step("ask-requester").outcomes["corrected"]
    assert answer.to == "check-report" and sop.outcome_kind("ask-requester", answer, "check-report") == "forward"
    incomplete = sop.step("check-report").outcomes["incomplete"]
    assert sop.outcome_kind("check-report", incomplete, "ask-requester") == "return"
    assert sop.first_step.role == "officer"
    assert {k: o.to for k, o in sop.step("diagnose").outcomes.items()} == {
        "warranty": "vendor-claim", "parts": "parts-purchase", "repair": "repair"}
    assert sop.step("parts-purchase").wait == "procurement-delivery"
    assert sop.step("handover").outcomes["done"].to is None
    assert find_sop("sesao-sc/nothing") is None and find_sop("nopack/repair") is None


def test_the_five_packs_ship():
    assert set(builtin_packs()) == {"up", "rmutl", "sesao30", "sesao-sc", "onesqa"}


def test_every_outcome_of_every_shipped_sop_leads_to_a_step_or_the_end():
    for pack in builtin_packs().values():
        for sop in pack.sops.values():
            keys = {s.key for s in sop.steps}
            for step in sop.steps:
                for outcome in step.outcomes.values():
                    assert set(outcome.destinations) <= keys | {None}, (sop.full_key, step.key)


def test_every_path_of_every_shipped_sop_reaches_an_end():
    """Generated from the pack data: every outcome of every step is taken on some path, and every
    path ends (walk_paths only records a path when an outcome leads to the end)."""
    for pack in builtin_packs().values():
        for sop in pack.sops.values():
            paths = walk_paths(sop)
            assert paths, sop.full_key
            taken = {(hop[0], hop[1], hop[2]) for path in paths for hop in path}
            for step in sop.steps:
                for name, outcome in step.outcomes.items():
                    for destination in outcome.destinations:
                        assert (step.key, name, destination) in taken, (sop.full_key, step.key, name, destination)
            for path in paths:
                assert path[0][0] == sop.first_step.key and path[-1][2] is None


def test_a_full_pack_reads_into_plain_data():
    pack = parse_pack(GOOD, "demo.yaml")
    sop = pack.sops["fix"]
    assert sop.deadline == Target(kind="fixed", unit="days", low=1, high=3)
    assert sop.step("repair").roles == ("officer", "head")
    assert sop.step("repair").target.text("th") == "1-2 วันทำการ"
    done = sop.step("assign").outcomes["done"]
    assert done.next_step({"estimate_days": 2}) == "lend"
    assert done.next_step({"estimate_days": 1}) == "repair"
    assert done.next_step(branch_values(done, "lend")) == "lend"
    assert done.next_step(branch_values(done, "repair")) == "repair"
    again = sop.step("repair").outcomes["again"]
    assert again.note_required and sop.outcome_kind("repair", again, "assign") == "return"
    assert sop.outcome_kind("repair", sop.step("repair").outcomes["done"], None) == "forward"
    assert pack.checksum and len(pack.checksum) == 64


@pytest.mark.parametrize("text", ["10 minutes", "5-10 minutes", "1 hour", "1-3 hours", "2 days", "1-2 days"])
def test_targets_parse(text):
    target = Target.parse(text)
    assert target.kind == "fixed" and target.low <= target.high and target.unit in ("minutes", "hours", "days")


def test_targets_by_assignee_until_and_none():
    assert Target.parse("by-assignee").kind == "by-assignee"
    assert Target.parse("until callback_at") == Target(kind="until", input="callback_at")
    assert Target.parse(None).kind == "none"
    for bad in ("soon", "3-1 days", "2 weeks", "days"):
        with pytest.raises(ValueError):
            Target.parse(bad)


@pytest.mark.parametrize("change, marker, message", [
    (("role: [officer, head]", "role: janitor"), "role: janitor", "unknown role janitor"),
    (("target: 1-2 days", "target: soon"), "target: soon", "target 'soon'"),
    (("{done: repair}", "{done: nowhere}"), "{done: nowhere}", "leads to unknown step nowhere"),
    (("if: {input: estimate_days, gt: 1}", "if: {input: size, gt: 1}"), "done:", "tests size"),
    (("deadline: 1-3 days", "deadline: sometime"), "deadline: sometime", "target 'sometime'"),
    (("version: 1", "version: one"), "version: one", "version"),
    (("        role: head\n", "        role: head\n        colour: red\n"), "colour: red", "colour"),
    (("      - key: lend", "      - key: repair"), "- key: repair", "appears twice"),
    (("          done: null\n", ""), "outcomes", "no outcome ever reaches an end"),
    (("label: {th: ซ่อมใหม่, en: Repair again}", "label: {en: Repair again}"), "outcomes:", "give again a label"),
])
def test_broken_packs_are_refused_with_file_line_and_reason(change, marker, message):
    """The message names the file and the line of what is wrong (the field itself, or the key of
    the mapping it belongs to)."""
    old, new = change
    assert old in GOOD
    broken = GOOD.replace(old, new, 1)
    with pytest.raises(PackError) as info:
        parse_pack(broken, "demo.yaml")
    text = str(info.value)
    assert message in text, text
    first = text.splitlines()[0]
    assert first.startswith("demo.yaml:"), first
    line = int(first.split(":")[1])
    marked = [n for n, content in enumerate(broken.splitlines(), 1) if marker in content]
    assert line in marked, (line, marked, text)


def test_an_unreachable_step_is_refused():
    broken = GOOD.replace("          done:\n            to: repair\n", "          done:\n            to: repair\n", 1)
    broken = broken.replace("{if: {input: estimate_days, gt: 1}, to: lend}", "{if: {input: estimate_days, gt: 1}, to: repair}")
    with pytest.raises(PackError, match="lend cannot be reached"):
        parse_pack(broken, "demo.yaml")


def test_a_wait_on_the_requester_must_be_a_requester_step():
    broken = GOOD.replace("        role: officer\n        outcomes: {done: repair}",
                          "        role: officer\n        wait: requester\n        outcomes: {done: repair}")
    with pytest.raises(PackError, match="role: requester"):
        parse_pack(broken, "demo.yaml")


def test_a_pack_file_that_is_not_yaml_says_where(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("pack: demo\nsops: [unclosed\n")
    with pytest.raises(PackError, match=r"bad\.yaml:\d+: not valid YAML"):
        load_pack(path)


def test_packs_check_command(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(textwrap.dedent(GOOD))
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("role: head", "role: janitor"))
    assert main(["packs", "check", str(good)]) == 0
    assert "valid" in capsys.readouterr().out
    assert main(["packs", "check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:12:" in err and "janitor" in err  # line 12: the step's role


def test_an_outcome_reads_in_words_never_as_its_key():
    """A pack's own label is used as given; a common outcome (``done``) without one takes the
    shared words in both languages; a label with Thai only keeps it, and English falls back to the
    shared words where there are some."""
    from shared import i18n

    pack = parse_pack(GOOD.replace("{done: repair}", "{done: {to: repair, label: {th: รับงานแล้ว}}}", 1), "demo.yaml")
    sop = next(iter(pack.sops.values()))
    again = sop.step("repair").outcomes["again"]
    assert again.label == {"th": "ซ่อมใหม่", "en": "Repair again"}
    done = sop.step("repair").outcomes["done"]
    assert done.label == {"th": i18n.translate("outcome.done", "th"), "en": i18n.translate("outcome.done", "en")}
    assert done.label["th"] != "done" and done.label["en"] != "done"
    relabelled = [o for step in sop.steps for key, o in step.outcomes.items() if o.label.get("th") == "รับงานแล้ว"]
    assert [o.label for o in relabelled] == [{"th": "รับงานแล้ว", "en": i18n.translate("outcome.done", "en")}]


def test_every_outcome_of_the_shipped_packs_has_thai_and_english_words():
    for pack in builtin_packs().values():
        for sop in pack.sops.values():
            for step in sop.steps:
                for key, outcome in step.outcomes.items():
                    where = f"{pack.key}/{sop.key}/{step.key}/{key}"
                    assert outcome.label.get("th") and outcome.label.get("en"), where
                    assert any("\u0e00" <= ch <= "\u0e7f" for ch in outcome.label["th"]), where
