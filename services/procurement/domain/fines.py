"""Money as Thai contracts count it, the fine for a late delivery (ค่าปรับ) and what is paid.

Days late are calendar days after the due date (Thai contracts count calendar days, holidays
included). The fine per day is ``rate_percent`` % of the basis (the milestone's amount, or the
whole contract's when the basis is ``contract``), at least ``min_per_day``, rounded to the satang
half up; the fine is that times the days late. A milestone is paid its amount less its fine."""
from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

SATANG = Decimal("0.01")
HUNDRED = Decimal("100")


def money(value) -> Decimal:
    """Baht to the satang, half up (Thai rounding of fines and shares)."""
    return Decimal(value).quantize(SATANG, rounding=ROUND_HALF_UP)


def late_fine(due_on: date, delivered_on: date, *, amount, contract_amount, basis: str, rate_percent,
              min_per_day) -> tuple[int, Decimal]:
    """(days late, fine) of a delivery on ``delivered_on`` of a milestone due on ``due_on``."""
    days = (delivered_on - due_on).days
    if days <= 0:
        return 0, Decimal("0.00")
    base = Decimal(contract_amount) if basis == "contract" else Decimal(amount)
    per_day = max(money(base * Decimal(rate_percent) / HUNDRED), money(min_per_day or 0))
    return days, money(per_day * days)


def payable(amount, fine) -> Decimal:
    """What a milestone's payment is: its amount less its fine (none: nothing less)."""
    return money(amount) - money(fine or 0)
