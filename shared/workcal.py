"""Thai working time: the one place that knows when a Thai government office is open.

This module owns:

* which days are working days: Monday to Friday, except Thai public holidays (with their
  substitution days, "ชดเชย…" / "… (in lieu)") and the government-only days off (the Royal
  Ploughing Ceremony), as published by the ``holidays`` library, adjusted by the admin:
  days the cabinet announces later are *added*, library holidays the office works anyway
  (e.g. Labour Day, which the library lists but government offices usually keep open) are
  *removed*;
* office hours (``SOPDESK_OFFICE_HOURS``, default 08:30-16:30), counted in Asia/Bangkok local
  time whatever zone a caller's datetimes are in;
* working-time arithmetic for SLA deadlines: adding working minutes/hours/days to a moment,
  and counting the working minutes between two moments;
* the Thai fiscal year (1 October - 30 September, named after the year it ends in), in CE and BE.

Conventions:

* Office time on a working day is the half-open interval [opens, closes). A moment outside it
  (before opening, at or after closing, on a weekend or holiday) counts from the next opening.
* ``add(start, m)`` returns the *earliest* moment by which ``m`` working minutes have elapsed
  since ``start``. So a deadline that uses up a day ends at closing time (16:30) on that day,
  not at 08:30 on the next working day: ``add_days(Mon 08:30, 1) == Mon 16:30``. For ``m == 0``
  it returns the next working moment (``start`` itself when inside office hours).
  Consequently ``add(add(s, a), b) == add(s, a + b)`` for every ``b >= 1``; for ``b == 0`` the
  left side is the right side moved on to the next working moment.
* Every datetime given must be timezone-aware; every datetime returned is UTC-aware.
  Sub-minute parts of a start are kept; ``working_minutes_between`` rounds down to whole minutes.

Pure Python (zoneinfo + ``holidays``); no Flask or SQLAlchemy here.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

BANGKOK = "Asia/Bangkok"
DEFAULT_OFFICE_HOURS = "08:30-16:30"
# Public holidays, plus the days off of government offices only (Royal Ploughing Ceremony).
DEFAULT_CATEGORIES: tuple[str, ...] = ("public", "government")
ADDED_HOLIDAY_NAME = "วันหยุดพิเศษ"
BE_OFFSET = 543  # Buddhist era year = CE year + 543

_LANGUAGES = {"th": "th", "en": "en_US", "en_US": "en_US"}
_UNITS = {"minute": 1, "minutes": 1, "hour": 60, "hours": 60, "day": None, "days": None}
_ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=256)
def _library_holidays(year: int, language: str, categories: tuple[str, ...]) -> dict[date, str]:
    """The ``holidays`` library's Thai holidays of one year (substitution days included)."""
    import holidays as holidays_lib  # imported lazily: shared.config imports this module

    found = holidays_lib.country_holidays(
        "TH", years=year, language=language, categories=categories, observed=True)
    return {d: name for d, name in found.items() if d.year == year}


def _language(lang: str) -> str:
    try:
        return _LANGUAGES[lang]
    except KeyError:
        raise ValueError(f"unsupported language {lang!r}; use 'th' or 'en'") from None


def _aware(moment: datetime, what: str = "datetime") -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    return moment


class WorkingCalendar:
    """Working days and office hours of one office, and deadline arithmetic over them."""

    def __init__(
        self,
        opens: time = time(8, 30),
        closes: time = time(16, 30),
        tz: str = BANGKOK,
        added_holidays: Mapping[date, str] | Iterable[date] | None = None,
        removed_holidays: Iterable[date] | None = None,
        categories: Iterable[str] = DEFAULT_CATEGORIES,
    ) -> None:
        if opens.tzinfo is not None or closes.tzinfo is not None:
            raise ValueError("office hours are local wall-clock times; give naive times")
        if closes <= opens:
            raise ValueError(f"office hours must close after they open, got {opens:%H:%M}-{closes:%H:%M}")
        try:
            self.tz = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {tz!r}") from exc
        self.opens = opens
        self.closes = closes
        if added_holidays is None:
            added: dict[date, str] = {}
        elif isinstance(added_holidays, Mapping):
            added = {d: (name or ADDED_HOLIDAY_NAME) for d, name in added_holidays.items()}
        else:
            added = {d: ADDED_HOLIDAY_NAME for d in added_holidays}
        self.added_holidays: dict[date, str] = added
        self.removed_holidays: frozenset[date] = frozenset(removed_holidays or ())
        self.categories: tuple[str, ...] = tuple(categories)
        self._span = datetime.combine(date.min, closes) - datetime.combine(date.min, opens)

    def __repr__(self) -> str:
        return (f"WorkingCalendar(opens={self.opens:%H:%M}, closes={self.closes:%H:%M}, tz={self.tz.key!r}, "
                f"added={len(self.added_holidays)}, removed={len(self.removed_holidays)})")

    # -- days -------------------------------------------------------------------------------------

    @property
    def minutes_per_day(self) -> int:
        """Length of an office day in minutes (480 for 08:30-16:30)."""
        return int(self._span.total_seconds() // 60)

    def holiday_name(self, d: date, lang: str = "th") -> str | None:
        """The name of the day off ``d`` is, or None (weekends are not named)."""
        if isinstance(d, datetime):
            d = d.date()
        if d in self.added_holidays:
            return self.added_holidays[d]
        if d in self.removed_holidays:
            return None
        return _library_holidays(d.year, _language(lang), self.categories).get(d)

    def holidays(self, year: int, lang: str = "th") -> dict[date, str]:
        """Every day off of ``year`` but weekends, by date: the library's, plus added, minus removed."""
        days = {d: name for d, name in _library_holidays(year, _language(lang), self.categories).items()
                if d not in self.removed_holidays}
        days.update({d: name for d, name in self.added_holidays.items() if d.year == year})
        return dict(sorted(days.items()))

    def is_working_day(self, d: date) -> bool:
        """Monday to Friday and not a day off (an added day is off even if also listed as removed)."""
        if isinstance(d, datetime):
            d = d.date()
        if d.weekday() >= 5 or d in self.added_holidays:
            return False
        if d in self.removed_holidays:
            return True
        return d not in _library_holidays(d.year, "th", self.categories)

    def next_working_day(self, d: date) -> date:
        """The first working day on or after ``d``."""
        while not self.is_working_day(d):
            d += _ONE_DAY
        return d

    # -- moments ----------------------------------------------------------------------------------

    def _window(self, d: date) -> tuple[datetime, datetime]:
        return (datetime.combine(d, self.opens, tzinfo=self.tz),
                datetime.combine(d, self.closes, tzinfo=self.tz))

    def is_working_moment(self, t: datetime) -> bool:
        """Whether ``t`` falls within office hours [opens, closes) of a working day."""
        local = _aware(t).astimezone(self.tz)
        return self.is_working_day(local.date()) and self.opens <= local.time() < self.closes

    def next_working_moment(self, t: datetime) -> datetime:
        """``t`` itself if inside office hours, else the next opening; UTC-aware."""
        return self.add(t, 0)

    def add(self, start: datetime, minutes: int) -> datetime:
        """The earliest moment by which ``minutes`` working minutes have passed since ``start``."""
        if minutes < 0:
            raise ValueError(f"minutes must not be negative, got {minutes}")
        remaining = timedelta(minutes=minutes)
        local = _aware(start, "start").astimezone(self.tz)
        d = local.date()
        while True:
            if self.is_working_day(d):
                opening, closing = self._window(d)
                current = max(local, opening)
                if current < closing:
                    available = closing - current
                    if remaining <= available:  # == : the deadline ends the day, at closing time
                        return (current + remaining).astimezone(timezone.utc)
                    remaining -= available
            d += _ONE_DAY
            local = datetime.combine(d, time.min, tzinfo=self.tz)

    def back(self, end: datetime, minutes: int) -> datetime:
        """The latest moment from which ``minutes`` working minutes pass by ``end`` (``add`` run
        backwards): ``working_minutes_between(back(end, m), end) == m``. The reports' ageing
        (open cases by working days open) counts the cases received before it."""
        if minutes < 0:
            raise ValueError(f"minutes must not be negative, got {minutes}")
        remaining = timedelta(minutes=minutes)
        local = _aware(end, "end").astimezone(self.tz)
        d = local.date()
        while True:
            if self.is_working_day(d):
                opening, closing = self._window(d)
                current = min(local, closing)
                if current > opening:
                    available = current - opening
                    if remaining <= available:
                        return (current - remaining).astimezone(timezone.utc)
                    remaining -= available
                elif remaining == timedelta(0):
                    return local.astimezone(timezone.utc)
            d -= _ONE_DAY
            local = datetime.combine(d + _ONE_DAY, time.min, tzinfo=self.tz)

    def add_days(self, start: datetime, days: int) -> datetime:
        """``days`` full office days later: 2 working days from Mon 10:00 is Wed 10:00."""
        return self.add(start, days * self.minutes_per_day)

    def add_duration(self, start: datetime, amount: int, unit: str) -> datetime:
        """Add ``amount`` working ``unit`` ("minutes", "hours" or "days") to ``start``."""
        try:
            factor = _UNITS[unit]
        except KeyError:
            raise ValueError(f"unit must be 'minutes', 'hours' or 'days', got {unit!r}") from None
        return self.add(start, amount * (self.minutes_per_day if factor is None else factor))

    def working_minutes_between(self, a: datetime, b: datetime) -> int:
        """Whole working minutes in [a, b); 0 if ``b <= a``."""
        a = _aware(a, "a").astimezone(self.tz)
        b = _aware(b, "b").astimezone(self.tz)
        if b <= a:
            return 0
        total = timedelta(0)
        d, last = a.date(), b.date()
        while d <= last:
            if self.is_working_day(d):
                opening, closing = self._window(d)
                lo, hi = max(a, opening), min(b, closing)
                if lo < hi:
                    total += hi - lo
            d += _ONE_DAY
        return int(total // timedelta(minutes=1))


# -- fiscal year ----------------------------------------------------------------------------------

def _local_date(d: date | datetime) -> date:
    if isinstance(d, datetime):
        if d.tzinfo is not None and d.utcoffset() is not None:
            d = d.astimezone(ZoneInfo(BANGKOK))
        return d.date()
    return d


def fiscal_year(d: date | datetime) -> int:
    """Thai government fiscal year in CE: 1 Oct 2025 - 30 Sep 2026 is 2026.
    An aware datetime is taken in Bangkok time, a naive one as it is."""
    d = _local_date(d)
    return d.year + 1 if d.month >= 10 else d.year


def fiscal_year_be(d: date | datetime) -> int:
    """Thai fiscal year in the Buddhist era: 1 Oct 2025 - 30 Sep 2026 is 2569."""
    return fiscal_year(d) + BE_OFFSET


def fiscal_year_bounds(fy_be: int) -> tuple[date, date]:
    """First and last day of Buddhist-era fiscal year ``fy_be``: 2569 -> (2025-10-01, 2026-09-30)."""
    if fy_be < 2400:
        raise ValueError(f"fiscal year {fy_be} looks like a CE year; give it in the Buddhist era "
                         f"(e.g. {fy_be + BE_OFFSET})")
    ce = fy_be - BE_OFFSET
    return date(ce - 1, 10, 1), date(ce, 9, 30)


# -- office hours setting -------------------------------------------------------------------------

_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")


def parse_office_hours(text: str) -> tuple[time, time]:
    """``"08:30-16:30"`` -> ``(time(8, 30), time(16, 30))``; ValueError with the reason otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"office hours must be text like '08:30-16:30', got {text!r}")
    match = _HOURS.match(text)
    if not match:
        raise ValueError(f"office hours must look like '08:30-16:30' (HH:MM-HH:MM), got {text!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    for h, m in ((h1, m1), (h2, m2)):
        if h > 23 or m > 59:
            raise ValueError(f"{h:02d}:{m:02d} is not a time of day (in office hours {text!r})")
    opens, closes = time(h1, m1), time(h2, m2)
    if closes <= opens:
        raise ValueError(f"office hours must close after they open, got {text!r}")
    return opens, closes


def format_office_hours(opens: time, closes: time) -> str:
    """The canonical text of office hours: ``"08:30-16:30"``."""
    return f"{opens:%H:%M}-{closes:%H:%M}"


def calendar_for(settings: Any, added_holidays: Mapping[date, str] | Iterable[date] | None = None,
                 removed_holidays: Iterable[date] | None = None) -> WorkingCalendar:
    """The working calendar of these settings (``settings.office_hours``), in Bangkok time, with
    the admin's added and removed holidays (which live in a service's database, not here)."""
    opens, closes = parse_office_hours(getattr(settings, "office_hours", DEFAULT_OFFICE_HOURS))
    return WorkingCalendar(opens=opens, closes=closes, tz=BANGKOK,
                           added_holidays=added_holidays, removed_holidays=removed_holidays)


def calendar_from_days(settings: Any, days: Iterable[Any]) -> WorkingCalendar:
    """The working calendar of these settings with an admin's changes, given as rows with
    ``day``, ``kind`` and ``name`` (each service keeps its own table of them): ``holiday`` adds a
    holiday, ``workday`` makes a holiday a working day, ``reset`` leaves the holiday library's
    word. One reading of those rows for every service."""
    added, removed = {}, set()
    for row in days:
        if row.kind == "holiday":
            added[row.day] = row.name
        elif row.kind == "workday":
            removed.add(row.day)
    return calendar_for(settings, added_holidays=added, removed_holidays=removed)
