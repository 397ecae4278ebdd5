"""The words the reports' dashboard and the yearly PDF share: working time as people count it,
baht, and the order procurement's stages are listed in. Kept apart from the PDF (``adapters.
yearly_pdf``) so that the dashboard does not load the PDF library (fpdf2 takes ~0.3 s to import).
The words are the assignment catalogue's (``yearly.*``), loaded by the service (``messages``)."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from shared.i18n import translate

DASH = "–"
PROJECT_STAGE_ORDER = ("draft", "quotes", "approval", "procurement", "contract", "delivered", "completed",
                       "cancelled")


def baht(value, lang: str) -> str:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return DASH if value is None else str(value)
    return translate("yearly.proc.baht", lang, amount=f"{amount:,.2f}")


def working_time(minutes: float | None, minutes_per_day: int | None, lang: str) -> str:
    """Working minutes as people count them: '2 วัน 3 ชม. 15 นาที', '2 d 3 h 15 min'; None is '–'."""
    if minutes is None:
        return DASH
    total = max(0, int(round(minutes)))
    per_day = minutes_per_day or 480
    days, rest = divmod(total, per_day)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(translate("yearly.duration.days", lang, n=days))
    if hours:
        parts.append(translate("yearly.duration.hours", lang, n=hours))
    if mins or not parts:
        parts.append(translate("yearly.duration.minutes", lang, n=mins))
    return " ".join(parts)
