"""The admin's changes to Thai working time: days off the cabinet announces (added), library
holidays the office works anyway (removed). Every service's clocks read them through
``engine.calendar``. No Flask here."""
from __future__ import annotations

from datetime import date

from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import CalendarDay
from services.assignment.handlers import admin_trail
from services.assignment.handlers.engine import calendar


def _values(row: CalendarDay | None) -> dict | None:
    return None if row is None else {"kind": row.kind, "name": row.name}


def change(verb: str, day: str, name: str, by: str, org: str | None = None) -> str:
    """Add a day off (``add``), work a library holiday (``remove``) or forget the admin's change
    of a day (``reset``). The change and its ``calendar.changed`` event (``{day, kind:
    holiday|workday|reset, name}``, for the services that count working days with it, such as
    procurement's reminders) commit together, with its entry in the administrators' trail of
    ``org``, the organisation of the administrator who made it (None: the command line's, a
    system administrator's)."""
    when = date.fromisoformat(day)
    with bus.unit_of_work() as uow:
        session = uow.session
        row = session.get(CalendarDay, when)
        before = _values(row)
        if verb == "reset":
            if row is None:
                raise ValueError(f"{when} has no admin change")
            session.delete(row)
            admin_trail.record(session, by, org, "holiday", when.isoformat(), before, None)
            uow.emit("calendar.changed", {"day": when.isoformat(), "kind": "reset", "name": ""})
            uow.commit()
            return f"{when}: back to the holiday library"
        if verb == "add" and not name:
            raise ValueError("--name: say what the day is")
        if len(name or "") > 200:
            raise ValueError("--name: at most 200 characters")
        row = row or CalendarDay(day=when)
        row.kind, row.name, row.created_by = ("holiday" if verb == "add" else "workday"), name, by
        session.add(row)
        admin_trail.record(session, by, org, "holiday", when.isoformat(), before, _values(row))
        uow.emit("calendar.changed", {"day": when.isoformat(), "kind": row.kind, "name": name or ""})
        uow.commit()
        return f"{when}: {'day off' if verb == 'add' else 'working day'} {name}".rstrip()


def year(year: int) -> list[tuple[date, str, str]]:
    with bus.session() as session:
        cal = calendar(session)
        changes = {row.day: row for row in session.query(CalendarDay)}
    rows = [(day, name, "admin" if day in changes else "library") for day, name in sorted(cal.holidays(year).items())]
    rows += [(day, f"(working day) {row.name}".strip(), "admin") for day, row in changes.items()
             if row.kind == "workday" and day.year == year]
    return sorted(rows)


def year_days(year: int) -> list[dict]:
    """The year's days off and the administrators' changes, as the administration page lists them:
    ``day``, ``name``, ``source`` (``library``: the Thai holiday library's; ``admin``: a change made
    here) and ``kind`` (``holiday``; ``workday``: a library holiday worked)."""
    with bus.session() as session:
        cal = calendar(session)
        changes = {row.day: (row.kind, row.name) for row in session.query(CalendarDay)
                   .filter(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))}
    days = [{"day": day, "name": name, "source": "admin" if day in changes else "library", "kind": "holiday"}
            for day, name in sorted(cal.holidays(year).items())]
    days += [{"day": day, "name": name, "source": "admin", "kind": "workday"}
             for day, (kind, name) in changes.items() if kind == "workday"]
    return sorted(days, key=lambda d: d["day"])
