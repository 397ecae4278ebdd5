"""Escalation of missed deadlines: who hears, and when the next level does.

A late step or a missed case deadline (ONESQA's "ภายใน 2 วันทำการ", "1-3 วันทำการ", "3 วันทำการ"
of a whole case: an SOP's ``deadline``) is told in two levels, each once:

1. at once, the heads of the unit the work is with (``heads_to_tell``);
2. when it is still late ``escalate_after`` working days after level 1 was told (per SOP, else
   per pack, else ``DEFAULT_ESCALATE_AFTER``; ``shared.packs``), the organisation's director
   (``DIRECTOR_ROLES``; the deputies when it has no director).

Which unit's heads hear of it, the first of these that has heads:

- a step someone holds: the unit of its holder; a step nobody holds: the units of the people who
  hold the step's roles (those who could take it); then the units of the case's staff so far
  (the latest first); then every head of the organisation;
- a case: the unit of whoever holds its active step, then the units of its staff so far, then
  the units of those who could take its active step; then every head of the organisation.

Pure: no Flask, SQLAlchemy or Celery. The handler reads the directory and asks."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.workcal import WorkingCalendar

DEFAULT_ESCALATE_AFTER = 1  # working days from level 1 to level 2
DIRECTOR_ROLES = ("director",)
DEPUTY_ROLES = ("deputy-director",)  # the director's level when the organisation has no director
# where level 1's heads came from (the email says so): the holder's unit, the units of those who
# could take the step, the units of the case's staff so far, the whole organisation
SOURCES = ("holder-unit", "role-units", "staff-units", "organisation")


@dataclass(frozen=True)
class LateWork:
    """What is late, as the directory places it. ``deadline``: ``step`` or ``case``;
    ``holder_unit``: the unit of who holds the late step (a case: its active step), None when
    nobody does; ``role_units``: the units of the people holding the step's roles in the
    organisation; ``staff_units``: the units of the case's staff so far, the latest first."""

    deadline: str
    holder_unit: str | None
    role_units: tuple[str, ...] = ()
    staff_units: tuple[str, ...] = ()


@dataclass(frozen=True)
class Audience:
    heads: tuple[str, ...]
    source: str  # one of SOURCES


def heads_to_tell(late: LateWork, heads_of: Callable[[str], Sequence[str]],
                  organisation_heads: Sequence[str]) -> Audience:
    """Level 1: the heads of the first group of units (in the order the module's rule gives)
    that has any; each head once, by name."""
    holder = (late.holder_unit,) if late.holder_unit else ()
    if late.deadline == "step":
        order = [("holder-unit", holder), ("role-units", () if holder else late.role_units),
                 ("staff-units", late.staff_units)]
    else:
        order = [("holder-unit", holder), ("staff-units", late.staff_units), ("role-units", late.role_units)]
    for source, units in order:
        heads = sorted({head for unit in _once(units) for head in heads_of(unit)})
        if heads:
            return Audience(tuple(heads), source)
    return Audience(tuple(sorted(set(organisation_heads))), "organisation")


def directors_to_tell(directors: Sequence[str], deputies: Sequence[str]) -> tuple[str, ...]:
    """Level 2: the organisation's director(s); its deputies when it has none."""
    return tuple(sorted(set(directors))) or tuple(sorted(set(deputies)))


def escalate_at(told_at: datetime, after_days: int, cal: WorkingCalendar) -> datetime:
    """When level 2 is due: ``after_days`` full working days after level 1 was told (a day off
    in between does not count; told outside office hours, the days count from the next opening)."""
    if after_days < 1:
        raise ValueError(f"escalate after at least one working day, got {after_days}")
    return cal.add_days(told_at, after_days)


def working_days_late(due_at: datetime, now: datetime, cal: WorkingCalendar) -> int:
    """Whole working days between the missed deadline and ``now`` (0: less than one)."""
    return cal.working_minutes_between(due_at, now) // cal.minutes_per_day


def _once(units: Sequence[str]) -> list[str]:
    seen, out = set(), []
    for unit in units:
        if unit and unit not in seen:
            seen.add(unit)
            out.append(unit)
    return out
