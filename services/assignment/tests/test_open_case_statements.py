"""What opening a case sends to PostgreSQL, once the process has read its reference data: no
reference data again (packs, directory, calendar: ``caches``), each table written once, in one
flush, and no step counted back from the database for a case that has none yet."""
from __future__ import annotations

import re
from collections import Counter

from sqlalchemy import select

from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import Case, CaseStep, TrailEntry
from services.assignment.tests.test_asset_info import _submitted
from sopdesk.testing import statements_sent

REFERENCE_TABLES = {"pack_versions", "users", "user_roles", "units", "delegations", "calendar_days"}


def statements_of(envelope: dict) -> list[str]:
    """Every statement consuming ``envelope`` sends (``statements_sent``)."""
    outcome, sent = statements_sent(bus.engine, lambda: bus.consume(envelope))
    assert not outcome.duplicate
    return sent


def test_opening_a_case_reads_no_reference_data_and_writes_each_table_once(client, people):
    _, first = _submitted(client, people, "T-1")
    bus.consume(first)  # the process reads its packs, staff and calendar once
    code, second = _submitted(client, people, "T-2")
    sent = statements_of(second)

    tables = [set(re.findall(r"(?:FROM|JOIN|INTO|UPDATE)\s+(\w+)", s)) for s in sent]
    assert not [s for s, t in zip(sent, tables) if t & REFERENCE_TABLES]
    writes = Counter(re.match(r"(INSERT INTO|UPDATE|DELETE FROM) (\w+)", s).group(0)
                     for s in sent if re.match(r"(INSERT|UPDATE|DELETE)", s))
    assert {k: v for k, v in writes.items() if "outbox" not in k and "inbox" not in k} == {
        "INSERT INTO cases": 1, "INSERT INTO case_steps": 1, "INSERT INTO case_trail": 1,
        "INSERT INTO report_cases": 1, "DELETE FROM early_asset_checks": 1}
    reads_of_steps = [s for s in sent if s.startswith("SELECT") and "case_steps" in s]
    assert len(reads_of_steps) == 1 and "GROUP BY case_steps.assignee" in reads_of_steps[0]  # open work only

    # and the case is as it always was: opened, at its first step, with its trail in order
    with bus.session() as session:
        case = session.scalar(select(Case).where(Case.tracking_code == code))
        steps = session.scalars(select(CaseStep).where(CaseStep.case_id == case.id)).all()
        trail = session.scalars(select(TrailEntry).where(TrailEntry.case_id == case.id).order_by(TrailEntry.id)).all()
    assert (case.status, case.current_step, case.seq) == ("open", "receive-form", 2)
    assert [(s.step, s.round, s.position, s.status, s.assignee) for s in steps] == [
        ("receive-form", 1, 1, "active", "u-officer")]
    assert [t.kind for t in trail] == ["opened", "started"]
