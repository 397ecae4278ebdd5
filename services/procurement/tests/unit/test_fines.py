"""The late-delivery fine and the payment, without a database (services/procurement/domain/fines.py)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.procurement.domain.fines import late_fine, money, payable

DUE = date(2026, 12, 31)


def terms(**changes):
    base = dict(amount="100000.00", contract_amount="300000.00", basis="milestone", rate_percent="0.10",
                min_per_day="0")
    return {**base, **changes}


def test_on_time_or_early_costs_nothing():
    assert late_fine(DUE, DUE, **terms()) == (0, Decimal("0.00"))
    assert late_fine(DUE, date(2026, 12, 1), **terms()) == (0, Decimal("0.00"))


def test_each_calendar_day_late_costs_the_rate_of_the_basis():
    # 3 calendar days (the new year's holidays count): 0.10 % of 100,000 = 100 a day
    assert late_fine(DUE, date(2027, 1, 3), **terms()) == (3, Decimal("300.00"))
    # of the whole contract's 300,000 when the basis is the contract: 300 a day
    assert late_fine(DUE, date(2027, 1, 3), **terms(basis="contract")) == (3, Decimal("900.00"))


def test_a_minimum_per_day_and_half_up_rounding_to_the_satang():
    # 0.10 % of 1,000 is 1 baht a day, below the minimum of 100
    assert late_fine(DUE, date(2027, 1, 2), **terms(amount="1000", min_per_day="100")) == (2, Decimal("200.00"))
    # 0.10 % of 12,345.67 = 12.34567, 12.35 a day (half up), 2 days
    assert late_fine(DUE, date(2027, 1, 2), **terms(amount="12345.67")) == (2, Decimal("24.70"))
    assert money("0.005") == Decimal("0.01") and money("0.004") == Decimal("0.00")


def test_a_milestone_is_paid_its_amount_less_its_fine():
    assert payable("100000.00", "300.00") == Decimal("99700.00")
    assert payable("100000", None) == Decimal("100000.00")
