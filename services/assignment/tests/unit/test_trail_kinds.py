"""Every kind of trail entry the code writes is one of ``TRAIL_KINDS``, the list the desk's words
(``desk.trail.<kind>``, checked in shared/tests/unit/test_translations.py) are kept for: a new kind
written without its words would show its key on a Thai page."""
from __future__ import annotations

import re
from pathlib import Path

from services.assignment.adapters.models import TRAIL_KINDS

HANDLERS = Path(__file__).resolve().parents[2] / "handlers"
# self.trail("opened", ...) in the engine; TrailEntry(..., kind="ignored", ...) where a handler writes one
WRITTEN = re.compile(r"""\.trail\(\s*["']([a-z_-]+)["']|TrailEntry\([^)]*?\bkind=["']([a-z_-]+)["']""", re.S)


def written_kinds() -> set[str]:
    kinds = set()
    for path in HANDLERS.glob("*.py"):
        for match in WRITTEN.finditer(path.read_text(encoding="utf-8")):
            kinds.add(match.group(1) or match.group(2))
    return kinds


def test_every_trail_kind_the_handlers_write_is_listed():
    written = written_kinds()
    assert {"opened", "action", "closed", "ignored", "breached"} <= written, "the scan finds both ways of writing"
    assert written - set(TRAIL_KINDS) == set()


def test_every_listed_kind_is_written_somewhere():
    assert set(TRAIL_KINDS) - written_kinds() == set()
