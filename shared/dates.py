"""Dates as people type them on sopdesk's forms (intake's request forms, the desk's filters).
Thai users write the Buddhist era (19/11/2569); everyone may write ISO (2026-11-19) or day/month/year. A year from 2400 on is read as Buddhist
era (no request is about a Gregorian year that late); times without a zone are Bangkok time.
Values are kept in the Common Era (dates) and UTC (times)."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

from shared.i18n import BANGKOK

BE_OFFSET = 543
FIRST_BE_YEAR = 2400
EARLIEST, LATEST = 1900, 2200

_DMY = re.compile(r"^(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_CLOCK = r"(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?:[:.](?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?)?"
_ISO_DT = re.compile(r"^(?P<date>\d{4}-\d{1,2}-\d{1,2})[T ]" + _CLOCK + r"\s*(?P<zone>Z|[+-]\d{2}:?\d{2})?$")
_DMY_DT = re.compile(r"^(?P<date>\d{1,2}\s*[/.\-]\s*\d{1,2}\s*[/.\-]\s*\d{4})\s+" + _CLOCK + r"\s*(?:น\.?)?$")


def _year(value: int) -> int:
    year = value - BE_OFFSET if value >= FIRST_BE_YEAR else value
    if not EARLIEST <= year <= LATEST:
        raise ValueError(f"year {value} is out of range")
    return year


def parse_date(text: str) -> date:
    """``19/11/2569``, ``19/11/2026``, ``2026-11-19`` (or ``2569-11-19``) -> date(2026, 11, 19)."""
    if not isinstance(text, str):
        raise ValueError("not text")
    text = text.strip()
    match = _DMY.match(text)
    if match:
        day, month, year = int(match[1]), int(match[2]), int(match[3])
    else:
        match = _YMD.match(text)
        if not match:
            raise ValueError(f"not a date: {text!r}")
        year, month, day = int(match[1]), int(match[2]), int(match[3])
    return date(_year(year), month, day)


def parse_datetime(text: str) -> datetime:
    """``19/11/2569 14:30``, ``2026-11-19T14:30`` (Bangkok time), or ISO 8601 with a zone
    (``2026-11-19T07:30:00+00:00``) -> an aware UTC datetime."""
    if not isinstance(text, str):
        raise ValueError("not text")
    text = text.strip()
    match = _ISO_DT.match(text) or _DMY_DT.match(text)
    if not match:
        raise ValueError(f"not a date and time: {text!r}")
    day = parse_date(match["date"])
    hour, minute = int(match["hour"]), int(match["minute"])
    second = int(match["second"] or 0)
    micro = int((match["fraction"] or "0")[:6].ljust(6, "0"))
    zone = BANGKOK
    offset = match.groupdict().get("zone")
    if offset:
        if offset == "Z":
            zone = timezone.utc
        else:
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            hours, minutes = int(digits[:2]), int(digits[2:])
            if hours > 23 or minutes > 59:
                raise ValueError("bad zone")
            zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
    local = datetime.combine(day, time(hour, minute, second, micro), tzinfo=zone)
    return local.astimezone(timezone.utc)


def date_for_input(value: date | str | None, lang: str) -> str:
    """What a date field shows: 19/11/2569 in Thai, 2026-11-19 in English."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if lang == "th":
        return f"{value.day:02d}/{value.month:02d}/{value.year + BE_OFFSET}"
    return value.isoformat()


def datetime_for_input(value: datetime | None, lang: str) -> str:
    """What a date-and-time field shows, in Bangkok time: 19/11/2569 14:30 in Thai,
    2026-11-19T14:30 in English (the browser's datetime-local)."""
    if value is None:
        return ""
    local = value.astimezone(BANGKOK)
    if lang == "th":
        return f"{date_for_input(local.date(), 'th')} {local:%H:%M}"
    return f"{local:%Y-%m-%dT%H:%M}"
