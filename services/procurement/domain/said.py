"""A refusal's message that a page can say in its own language.

The use cases refuse in English (what the API answers, unchanged); a message made with ``Said``
is that same English text (a ``str``) that also carries a key and the values in it, so the desk
says it again from its catalogue as ``proc.refusal.<key>``, the values in the page's language
(a date in the Buddhist era on a Thai page).

    invalid("paid_on", Said("payment_before_acceptance",
                            f"The payment cannot be before the acceptance ({day.isoformat()}).", accepted_on=day))
"""
from __future__ import annotations


class Said(str):
    """English text, plus ``key`` and ``values`` to say it in another language."""

    key: str
    values: dict

    def __new__(cls, key: str, text: str, **values) -> "Said":
        said = super().__new__(cls, text)
        said.key = key
        said.values = values
        return said

    def __reduce__(self):
        return (_said, (self.key, str(self), self.values))


def _said(key: str, text: str, values: dict) -> Said:
    return Said(key, text, **values)
