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


# --- planned work: a pack's schedule, and the manual's numbers ----------------------------------

PLANNED = """\
pack: demo
version: 1
organisation: {th: หน่วยทดลอง, en: Demo unit}
sops:
  yearly:
    number: "1"
    title: {th: งานประจำปี, en: Yearly work}
    schedule: {every: year, on: {fiscal_month: 1, day: 1}}
    steps:
      - {key: plan, title: {th: วางแผน, en: Plan}, role: officer, outcomes: {done: null}}
  quarterly:
    number: "2"
    title: {th: งานรายไตรมาส, en: Quarterly work}
    schedule: {every: quarter}
    steps:
      - {key: check, title: {th: ตรวจสอบ, en: Check}, role: officer, outcomes: {done: null}}
  monthly:
    number: "3"
    title: {th: งานรายเดือน, en: Monthly work}
    schedule: {every: month, day: 31}
    steps:
      - {key: backup, title: {th: สำรองข้อมูล, en: Back up}, role: officer, outcomes: {done: null}}
  maintenance:
    number: "4"
    title: {th: บำรุงรักษาเชิงป้องกัน, en: Preventive maintenance}
    schedule: {per_asset: {kind: computer, every: year, on: {fiscal_month: 4, day: 15}}}
    steps:
      - {key: maintain, title: {th: บำรุงรักษา, en: Maintain}, role: officer, outcomes: {done: null}}
"""


def test_a_schedule_reads_in_the_thai_fiscal_year():
    """1 October - 30 September (fiscal year 2570 runs from 1 October 2026): the yearly work is
    planned for its first day, the quarterly for each quarter's (1 October, 1 January, 1 April,
    1 July), the monthly for the 31st or the month's last day; per asset names the asset's kind."""
    from datetime import date

    sops = parse_pack(PLANNED, "demo.yaml").sops
    yearly, quarterly, monthly, maintenance = (sops[k].schedule for k in ("yearly", "quarterly", "monthly",
                                                                         "maintenance"))
    year = yearly.period(date(2027, 3, 15))
    assert (year.key, year.start, year.end, year.planned_on) == ("2570", date(2026, 10, 1), date(2027, 9, 30),
                                                                 date(2026, 10, 1))
    quarter = quarterly.period(date(2027, 3, 15))  # March is the fiscal year's sixth month: quarter 2
    assert (quarter.key, quarter.start, quarter.end, quarter.planned_on) == (
        "2570-Q2", date(2027, 1, 1), date(2027, 3, 31), date(2027, 1, 1))
    month = monthly.period(date(2027, 2, 3))  # February 2027 has 28 days; it is fiscal month 5
    assert (month.key, month.planned_on) == ("2570-M05", date(2027, 2, 28))
    assert maintenance.per_asset == "computer" and maintenance.period(date(2027, 3, 15)).planned_on == date(2027, 1, 15)


def test_a_period_is_due_from_the_first_working_day_of_its_planned_day():
    """A planned day on a day off opens on the next working day; when that falls in the next
    period (30 September on a weekend), the last period's work opens then, once."""
    from datetime import date, timedelta

    sops = parse_pack(PLANNED.replace("day: 31", "day: 30"), "demo.yaml").sops
    off = {date(2026, 10, 1)}  # a day off

    def next_working_day(d):
        while d.weekday() >= 5 or d in off:
            d += timedelta(days=1)
        return d

    yearly = sops["yearly"].schedule
    assert yearly.due(date(2026, 10, 1), next_working_day) == []
    assert [p.key for p in yearly.due(date(2026, 10, 2), next_working_day)] == ["2570"]
    monthly = sops["monthly"].schedule  # the 30th of each month; 30 August 2026 is a Sunday
    assert date(2026, 8, 30).weekday() == 6
    assert [p.key for p in monthly.due(date(2026, 8, 31), next_working_day)] == ["2569-M11"]
    assert [p.key for p in monthly.due(date(2026, 9, 1), next_working_day)] == []  # September's 30th is ahead


@pytest.mark.parametrize("schedule, message", [
    ("{every: week}", "Must be one of: year, quarter, month"),
    ("{}", "say how often"),
    ("{every: month, on: {fiscal_month: 2}}", "fiscal_month is for a yearly schedule"),
    ("{every: year, on: {month: 2}}", "month (of the quarter) is for a quarterly schedule"),
    ("{every: year, on: {fiscal_month: 13}}", "fiscal_month"),
    ("{every: month, day: 1, on: {day: 2}}", "not both"),
    ("{per_asset: {kind: computer, every: year}, every: year}", "inside per_asset"),
    ("{per_asset: {every: year}}", "kind"),
])
def test_a_broken_schedule_is_refused_with_file_line_and_reason(schedule, message):
    broken = PLANNED.replace("{every: year, on: {fiscal_month: 1, day: 1}}", schedule, 1)
    with pytest.raises(PackError) as info:
        parse_pack(broken, "demo.yaml")
    text = str(info.value)
    assert message in text, text
    line = int(text.splitlines()[0].split(":")[1])
    assert "schedule:" in broken.splitlines()[line - 1], (line, text)


def test_planned_work_has_no_requester_step_first():
    broken = PLANNED.replace("{key: plan, title: {th: วางแผน, en: Plan}, role: officer",
                             "{key: plan, title: {th: วางแผน, en: Plan}, role: requester", 1)
    with pytest.raises(PackError, match="planned work has no requester"):
        parse_pack(broken, "demo.yaml")


def test_two_sops_of_one_pack_never_share_a_number():
    """sesao-sc's manual numbers two sections 6.7 (the server's security, then the e-saraban
    account): a pack that repeats a number is refused, at the second SOP's number."""
    broken = PLANNED.replace('number: "2"', 'number: "1"', 1)
    with pytest.raises(PackError) as info:
        parse_pack(broken, "demo.yaml")
    text = str(info.value)
    assert "number 1 is yearly's already" in text, text
    line = int(text.splitlines()[0].split(":")[1])
    assert broken.splitlines()[line - 1].strip() == 'number: "1"' and line > 6


def test_the_e_saraban_account_is_sesao_sc_6_8_after_the_servers_6_7():
    """"6.7.การรักษาความปลอดภัยระบบคอมพิวเตอร์แม่ข่าย (Server)" then "6.7.การให้บริการขอใช้งานระบบ
    สารบรรณอิเล็กทรอนิกส์": the second is the eighth section of chapter 6."""
    sops = builtin_packs()["sesao-sc"].sops
    assert sops["server-security"].number == "6.7" and sops["esaraban-account"].number == "6.8"
    for pack in builtin_packs().values():
        numbers = [s.number for s in pack.sops.values() if s.number]
        assert len(numbers) == len(set(numbers)), pack.key


def test_the_sesao30_yearly_processes_are_planned_work():
    """"รายงานผลการดำเนินงานในรอบปี" (งานประจำปี, งานตามแผน): the SOPs without a requester open every
    fiscal year on 1 October."""
    pack = builtin_packs()["sesao30"]
    planned = {k for k, s in pack.sops.items() if s.schedule is not None}
    assert planned == {k for k, s in pack.sops.items() if not s.requester}
    assert "mis-data-service" in planned
    for key in planned:
        schedule = pack.sops[key].schedule
        assert (schedule.every, schedule.fiscal_month, schedule.day) == ("year", 1, 1)


# --- indicators and their targets (ตัวชี้วัด / ค่าเป้าหมาย) ---------------------------------------

INDICATORS = GOOD.replace("organisation: {th: หน่วยทดลอง, en: Demo unit}\n", """\
organisation: {th: หน่วยทดลอง, en: Demo unit}
indicators:
  - key: satisfied
    kind: satisfied_share
    target: 80
    title: {th: ร้อยละผู้พึงพอใจ, en: Share satisfied}
    source: "คู่มือ ข้อ 9: ไม่น้อยกว่าร้อยละ 80"
""", 1).replace("    deadline: 1-3 days\n", """\
    deadline: 1-3 days
    indicators:
      - key: satisfaction
        kind: satisfaction_mean
        target: 4.0
        title: {th: ความพึงพอใจ, en: Satisfaction}
      - key: on-time
        kind: on_time_cases
        target: 90
        title: {th: ร้อยละงานที่เสร็จตามกำหนด, en: Cases on time}
      - key: repair-on-time
        kind: on_time_steps
        step: repair
        target: 95.5
        title: {th: ซ่อมเสร็จตามเวลา}
      - key: fixed
        kind: completed
        target: 1
        unit: {th: เครื่อง, en: machines}
        title: {th: เครื่องที่ซ่อมเสร็จ, en: Machines repaired}
      - key: named-only
        kind: satisfaction_mean
        title: {th: ความพึงพอใจในการใช้งาน}
""", 1)


def test_indicators_read_into_plain_data():
    from shared.packs import INDICATOR_KINDS, Indicator

    pack = parse_pack(INDICATORS, "demo.yaml")
    assert pack.indicators == (Indicator(key="satisfied", kind="satisfied_share", target=80.0,
                                         title={"th": "ร้อยละผู้พึงพอใจ", "en": "Share satisfied"},
                                         source="คู่มือ ข้อ 9: ไม่น้อยกว่าร้อยละ 80"),)
    sop = pack.sops["fix"]
    by_key = {i.key: i for i in sop.indicators}
    assert [i.key for i in sop.indicators] == ["satisfaction", "on-time", "repair-on-time", "fixed", "named-only"]
    assert by_key["satisfaction"].target == 4.0 and by_key["on-time"].kind == "on_time_cases"
    assert by_key["repair-on-time"].step == "repair" and by_key["repair-on-time"].target == 95.5
    fixed = by_key["fixed"]
    assert (fixed.kind, fixed.target, fixed.unit) == ("completed", 1, {"th": "เครื่อง", "en": "machines"})
    assert isinstance(fixed.target, int)
    named = by_key["named-only"]
    assert named.target is None and named.step is None and named.unit == {} and named.source == ""
    assert {i.kind for i in sop.indicators} | {i.kind for i in pack.indicators} == set(INDICATOR_KINDS)
    # a pack or an SOP without indicators has none; the lists are optional
    plain = parse_pack(GOOD, "demo.yaml")
    assert plain.indicators == () and plain.sops["fix"].indicators == ()


def test_an_indicator_is_met_at_or_above_its_target():
    from shared.packs import Indicator

    mean = Indicator(key="s", kind="satisfaction_mean", title={"th": "ความพึงพอใจ"}, target=4.0)
    assert mean.met(4.0) is True and mean.met(4.51) is True and mean.met(3.99) is False
    assert mean.met(None) is None
    count = Indicator(key="c", kind="completed", title={"th": "ระบบ"}, target=1)
    assert count.met(0) is False and count.met(1) is True and count.met(3) is True
    share = Indicator(key="o", kind="on_time_cases", title={"th": "ตรงเวลา"}, target=80.0)
    assert share.met(79.9) is False and share.met(80) is True
    unset = Indicator(key="n", kind="satisfaction_mean", title={"th": "ความพึงพอใจ"})
    assert unset.met(5) is None and unset.met(None) is None


def _indicator_error(text: str) -> tuple[str, str]:
    """The first line of the error a broken pack raises, and the line of the pack it names."""
    with pytest.raises(PackError) as info:
        parse_pack(text, "demo.yaml")
    first = str(info.value).splitlines()[0]
    assert first.startswith("demo.yaml:"), first
    return first, text.splitlines()[int(first.split(":")[1]) - 1]


@pytest.mark.parametrize("kind, good, bad", [
    ("satisfaction_mean", ["1", "4.5", "5"], ["0.9", "5.1", "80", '"4"', "true"]),
    ("satisfied_share", ["0", "80", "100", "92.5"], ["-1", "100.5", '"80%"']),
    ("on_time_cases", ["0", "90", "100"], ["-0.1", "101"]),
    ("on_time_steps", ["0", "75.5", "100"], ["-5", "120"]),
    ("completed", ["0", "1", "12"], ["-1", "1.5", '"1 ระบบ"']),
])
def test_each_kind_checks_its_target_range(kind, good, bad):
    """A mean score is 1-5, a share 0-100 percent, a count a whole number from 0; the error names
    the target's line."""
    template = INDICATORS.replace("kind: satisfaction_mean\n        target: 4.0",
                                  f"kind: {kind}\n        target: TARGET", 1)
    assert "TARGET" in template
    for value in good:
        sop = parse_pack(template.replace("TARGET", value), "demo.yaml").sops["fix"]
        assert sop.indicators[0].target == float(value)
    for value in bad:
        first, line = _indicator_error(template.replace("TARGET", value))
        assert "target" in first and f"a {kind} target is" in first, first
        assert line.strip() == f"target: {value}", (first, line)


@pytest.mark.parametrize("change, marker, message", [
    (("step: repair", "step: polish"), "step: polish", "polish is not a step of this SOP"),
    (("key: fixed", "key: on-time"), "key: on-time", "indicator on-time appears twice"),
    (("kind: completed", "kind: happiness"), "kind: happiness", "Must be one of"),
    (("        target: 95.5\n", "        target: 95.5\n        weight: 2\n"), "weight: 2", "Unknown field"),
    (("title: {th: ซ่อมเสร็จตามเวลา}", "title: {en: Repairs on time}"), "title: {en:", "needs a Thai text"),
    (("kind: on_time_cases\n", "kind: on_time_cases\n        step: repair\n"), "step: repair",
     "step is for an on_time_steps indicator only"),
    (("kind: satisfaction_mean\n        target: 4.0\n", "kind: satisfaction_mean\n        target: 4.0\n"
                                                          "        unit: {th: คน}\n"), "unit: {th: คน}",
     "unit is for a count (completed) only"),
    (("    kind: satisfied_share\n    target: 80\n", "    kind: on_time_steps\n    target: 80\n    step: repair\n"),
     "    step: repair", "a pack's indicators cover all its SOPs"),
    (("  - key: satisfied\n", "  - key: Satisfied\n"), "key: Satisfied", "lower-case"),
])
def test_a_broken_indicator_is_refused_naming_its_line(change, marker, message):
    old, new = change
    assert old in INDICATORS
    broken = INDICATORS.replace(old, new, 1)
    first, line = _indicator_error(broken)
    assert message in first, first
    assert marker in line, (first, line)


def test_a_duplicate_key_at_pack_level_is_refused():
    broken = INDICATORS.replace("    source: \"คู่มือ ข้อ 9: ไม่น้อยกว่าร้อยละ 80\"\n",
                                "    source: \"คู่มือ ข้อ 9: ไม่น้อยกว่าร้อยละ 80\"\n"
                                "  - {key: satisfied, kind: satisfaction_mean, title: {th: ความพึงพอใจ}}\n", 1)
    first, line = _indicator_error(broken)
    assert "indicator satisfied appears twice" in first and line.startswith("  - {key: satisfied"), (first, line)
    # the same key in a pack's list and an SOP's is two lists: allowed
    both = INDICATORS.replace("      - key: fixed\n", "      - key: satisfied\n", 1)
    assert parse_pack(both, "demo.yaml").sops["fix"].indicators[3].key == "satisfied"


def test_the_shipped_packs_carry_their_manuals_indicators():
    """What each manual states: up's table (ตัวชี้วัด / ค่าเป้าหมาย) names satisfaction for 1.1-1.3
    with no figure, and "1 ระบบ" / "1 เว็บไซต์" as the target outputs of 1.1 and 1.3; rmutl's SW01
    ends with its satisfaction questionnaire (no figure). sesao30, sesao-sc and onesqa name no
    indicator and no target: their packs carry none."""
    packs = builtin_packs()
    up = packs["up"].sops
    systems = {i.kind: i for i in up["info-system-dev"].indicators}
    assert set(systems) == {"satisfaction_mean", "completed"}
    assert systems["completed"].target == 1 and systems["completed"].unit == {"th": "ระบบ", "en": "systems"}
    assert "1 ระบบ" in systems["completed"].source
    satisfaction = systems["satisfaction_mean"]
    assert satisfaction.target is None and "ความพึงพอใจในการใช้งาน" in satisfaction.source
    websites = {i.kind: i for i in up["website-dev"].indicators}
    assert websites["completed"].target == 1 and websites["completed"].unit["th"] == "เว็บไซต์"
    assert websites["satisfaction_mean"].target is None
    assert [(i.kind, i.target) for i in up["server-admin"].indicators] == [("satisfaction_mean", None)]
    rmutl = packs["rmutl"].sops
    assert [(i.kind, i.target) for i in rmutl["system-dev"].indicators] == [("satisfaction_mean", None)]
    assert "แบบสอบถามความพึงพอใจ" in rmutl["system-dev"].indicators[0].source
    assert rmutl["database-care"].indicators == ()
    for key in ("sesao30", "sesao-sc", "onesqa"):
        assert packs[key].indicators == () and all(not s.indicators for s in packs[key].sops.values()), key
    for pack in packs.values():
        assert pack.indicators == ()
        for sop in pack.sops.values():
            for indicator in sop.indicators:
                assert indicator.title.get("th") and indicator.title.get("en") and indicator.source, indicator
