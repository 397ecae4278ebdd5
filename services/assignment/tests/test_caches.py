"""Reference data kept in process memory (``caches``: the newest pack versions, the directory, the
calendar) is never read stale: a change made here, by any ORM write, is seen at once; a change
made by another process (the ``sopdesk`` command line) is seen by the next transaction here."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from services.assignment.adapters import packstore
from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import Case, CaseStep, User
from services.assignment.handlers import directory
from services.assignment.handlers.engine import calendar
from services.assignment.tests.test_engine import _pack_v2, file
from shared.packs import find_sop

ROOT = Path(__file__).resolve().parents[3]


def sopdesk(*args: str) -> None:
    """The command line, in a process of its own."""
    done = subprocess.run([sys.executable, "-m", "sopdesk.cli", *args], cwd=ROOT, env=dict(os.environ),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def first_step(code: str) -> tuple[int, str | None]:
    """(the case's pack version, the assignee of its first step)."""
    with bus.session() as session:
        case = session.scalar(select(Case).where(Case.tracking_code == code))
        row = session.scalar(select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.position == 1))
        return case.pack_version, row.assignee


def test_a_change_made_by_another_process_is_seen_by_the_next_event(client, people, tmp_path):
    shipped = find_sop("sesao-sc/repair").pack_version
    # the caches are warm: u-officer is the only officer, the shipped pack the newest
    assert first_step(file(client, people, "sesao-sc/repair")) == (shipped, "u-officer")

    # a second officer, added by another process: with less open work, they get the next case
    sopdesk("users", "add", "--username", "o-second", "--password", "correct horse battery", "--role", "officer",
            "--unit", people.unit)
    assert first_step(file(client, people, "sesao-sc/repair")) == (shipped, "o-second")

    # a new pack version loaded by another process: the next case opens on it
    sopdesk("packs", "load", str(_pack_v2(tmp_path)))
    assert first_step(file(client, people, "sesao-sc/repair")) == (shipped + 1, "o-second")

    # a day off announced through another process: the calendar here has it
    with bus.session() as session:
        cal = calendar(session)
        day = next(d for d in (directory.today() + timedelta(days=n) for n in range(7, 40)) if cal.is_working_day(d))
    sopdesk("holidays", "add", day.isoformat(), "--name", "วันหยุดพิเศษทดสอบ")
    with bus.session() as session:
        assert calendar(session).is_working_day(day) is False


def test_a_directory_change_made_here_is_seen_at_once_whoever_writes_it(client, people):
    assert first_step(file(client, people, "sesao-sc/repair"))[1] == "u-officer"
    # not through directory.py: a plain ORM change of the user
    with bus.unit_of_work() as uow:
        uow.session.scalar(select(User).where(User.username == "u-officer")).active = False
        uow.commit()
    assert first_step(file(client, people, "sesao-sc/repair"))[1] is None  # nobody holds officer now

    # through directory.py: a new officer, then away today with u-head acting for them
    directory.add_user("o-third", "correct horse battery", ["officer"], unit=people.unit)
    assert first_step(file(client, people, "sesao-sc/repair"))[1] == "o-third"
    today = directory.today()
    directory.delegate("o-third", "u-head", today, today, created_by="test")
    assert first_step(file(client, people, "sesao-sc/repair"))[1] == "u-head"


def test_an_emptied_database_is_not_read_through_the_cache(client, people):
    """Tests empty the tables between them (TRUNCATE: no ORM event): the change tokens go with
    them, and what was kept under the old tokens is dropped."""
    with bus.session() as session:
        assert directory.holders(session, ("officer",), people.org) == ["u-officer"]
    from sopdesk.testing import empty_all

    empty_all()
    with bus.session() as session:
        assert directory.holders(session, ("officer",), people.org) == []
        assert packstore.latest_versions(session) == {}
