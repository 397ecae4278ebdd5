"""Money in procurement's schemas: baht and satang, taken in as a number or a string with at most
two decimals (never rounded silently, never a float), given out as a string ("12500.00"). One
field for every API, so that a quote, a contract and an asset's price obey the same rule."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from marshmallow import ValidationError, fields

MAX_MONEY = Decimal("999999999999.99")  # Numeric(14, 2)
SATANG = Decimal("0.01")
# what the OpenAPI documents say of money: a decimal string of at most 12 digits and 2 decimals,
# more than 0 when ``positive`` (a number is taken in too, and "12,500.00" where commas are read)
POSITIVE_PATTERN = r"^0*([1-9][0-9]{0,11}(\.[0-9]{1,2})?|\.(0[1-9]|[1-9][0-9]?))$"
AMOUNT_PATTERN = r"^0*([0-9]{1,12}(\.[0-9]{1,2})?|\.[0-9]{1,2})$"


def two_decimals(value: Decimal) -> None:
    """A validator for amounts that are not money but are kept to two decimals (a share in %)."""
    try:
        exact = value == value.quantize(SATANG)
    except InvalidOperation:  # more digits than a decimal holds (1E+26): no amount is that long
        raise ValidationError("Too large.") from None
    if not exact:
        raise ValidationError("At most two decimals (satang).")


class Money(fields.Decimal):
    """``positive``: more than 0 (else 0 is allowed; never negative). ``commas``: "12,500.00" is
    read as 12500.00 (a person typing); a machine-made file (CSV) passes ``commas=False``."""

    def __init__(self, positive: bool = True, commas: bool = True, **kwargs) -> None:
        self.positive = positive
        self.commas = commas
        metadata = {"pattern": POSITIVE_PATTERN if positive else AMOUNT_PATTERN, "example": "12500.00",
                    **kwargs.pop("metadata", {})}
        metadata["description"] = ("baht, as a string with at most two decimals (satang)"
                                   + (", more than 0" if positive else "")
                                   + (f"; {metadata['description']}" if metadata.get("description") else ""))
        super().__init__(as_string=True, allow_nan=False, metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, str):
            value = value.strip()
            if self.commas:
                value = value.replace(",", "")
        number = super()._deserialize(value, attr, data, **kwargs)
        if number is None:
            return None
        if number > MAX_MONEY:
            raise ValidationError("Too large.")
        if self.positive and number <= 0:
            raise ValidationError("Must be more than 0.")
        if number < 0:
            raise ValidationError("May not be negative.")
        two_decimals(number)
        return number.quantize(SATANG)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None:
            value = Decimal(value).quantize(SATANG)
        return super()._serialize(value, attr, obj, **kwargs)
