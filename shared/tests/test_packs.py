"""The minimal pack reader: the shipped pack validates, broken packs are refused with a clear
message naming the file, and `sopdesk packs check` says so."""
import textwrap

import pytest

from shared.cli import main
from shared.packs import PackError, builtin_packs, find_sop, load_pack


def test_shipped_repair_sop_reads_from_its_pack():
    sop = find_sop("sesao-sc/repair")
    assert sop is not None and sop.requester
    assert [s.key for s in sop.steps] == ["receive-form", "check-report", "diagnose", "vendor-claim",
                                          "parts-purchase", "repair", "verify", "handover"]
    assert sop.first_step.role == "officer"
    assert sop.step("diagnose").outcomes == {"warranty": "vendor-claim", "parts": "parts-purchase",
                                             "repair": "repair"}
    assert {f.name for f in sop.form} == {"asset_tag", "location", "since"}
    assert find_sop("sesao-sc/nothing") is None and find_sop("nopack/repair") is None


def test_every_outcome_of_every_shipped_sop_leads_to_a_step_or_the_end():
    for pack in builtin_packs().values():
        for sop in pack.sops.values():
            keys = {s.key for s in sop.steps}
            for step in sop.steps:
                assert set(step.outcomes.values()) <= keys | {None}, (sop.full_key, step.key)


BROKEN = """
pack: demo
version: 1
sops:
  fix:
    steps:
      - key: one
        role: officer
        outcomes: {done: nowhere}
"""


def test_a_pack_leading_to_an_unknown_step_is_refused(tmp_path):
    path = tmp_path / "demo.yaml"
    path.write_text(textwrap.dedent(BROKEN))
    with pytest.raises(PackError, match="nowhere") as info:
        load_pack(path)
    assert str(path) in str(info.value)


def test_packs_check_command(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(BROKEN.replace("nowhere", "null"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("pack: [unclosed")
    assert main(["packs", "check", str(good)]) == 0
    assert "valid" in capsys.readouterr().out
    assert main(["packs", "check", str(bad)]) == 1
    assert "not valid YAML" in capsys.readouterr().err
