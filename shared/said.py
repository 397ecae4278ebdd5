"""A refusal's message said in a page's language: one mechanism for every service's pages.

The use cases and the API's schemas refuse in English (what the API answers, unchanged). A page
says the same refusal in its own language:

- a use case's message made with ``Said`` is that same English text (a ``str``) that also carries
  a key and the values in it; a page says it again from its catalogue as ``<prefix><key>``, the
  values in the page's language (a date as the page writes dates, in the Buddhist era on a Thai
  page):

      invalid("paid_on", Said("payment_before_acceptance",
                              f"The payment cannot be before the acceptance ({day.isoformat()}).",
                              accepted_on=day))

- marshmallow's own messages ("Missing data for required field.", "Longer than maximum length
  300.", ...) are recognised by their pattern and said from ``form.v.*``, their numbers kept;
- a schema's fixed messages ("say why it is rejected") are registered by the service that writes
  them (``register``: English text -> key) and said from the catalogue.

An English page shows the API's own words, so that a form and the API refuse with the same
message; a message none of these knows is shown as it is (a test walks every form's refusals on
a Thai page and fails on one)."""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from shared import i18n


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


# marshmallow's messages (fields' default_error_messages, validators' templates), by pattern
BUILT_IN: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(pattern), key) for pattern, key in (
    (r"Missing data for required field\.", "form.v.required"),
    (r"Field may not be null\.", "form.v.required"),
    (r"Shorter than minimum length 1\.", "form.v.required"),
    (r"Shorter than minimum length (?P<min>\d+)\.", "form.v.too_short"),
    (r"Longer than maximum length (?P<max>\d+)\.", "form.v.too_long"),
    (r"Length must be between (?P<min>\d+) and (?P<max>\d+)\.", "form.v.length"),
    (r"Not a valid date\.", "form.v.date"),
    (r"Not a valid (integer|number|decimal)\.", "form.v.number"),
    (r"Special numeric values \(nan or infinity\) are not permitted\.", "form.v.number"),
    (r"Number too large\.", "form.v.number"),
    (r"Not a valid boolean\.", "form.v.choice"),
    (r"Not a valid email address\.", "form.v.email"),
    (r"Must be one of: .*\.", "form.v.choice"),
    (r"Must be greater than or equal to (?P<min>[\d.]+) and less than or equal to (?P<max>[\d.]+)\.", "form.v.range"),
    (r"Must be greater than (?P<min>[\d.]+) and less than or equal to (?P<max>[\d.]+)\.", "form.v.range"),
    (r"Must be greater than or equal to (?P<min>[\d.]+)\.", "form.v.at_least"),
    (r"Must be less than or equal to (?P<max>[\d.]+)\.", "form.v.at_most"),
    (r"Not a valid (string|list|mapping type)\.|Invalid (input )?type\.", "form.v.invalid"),
    (r"Unknown field\.", "form.v.unknown"),
    (r"String does not match expected pattern\.|Invalid value\.", "form.v.invalid"),
))

# the fixed messages: English text -> key; a service adds its schemas' and use cases' (``register``)
FIXED: dict[str, str] = {
    # shared.inputs.Day's, and the same rule's in procurement's schemas
    "not a date: write 2026-11-19 or 19/11/2569 (Buddhist era)": "form.v.date",
    "not a date: write 2026-11-18 or 18/11/2569 (Buddhist era)": "form.v.date",
}


def register(words: Mapping[str, str]) -> None:
    """A service's fixed English messages and the keys that say them (one text, one key)."""
    for text, key in words.items():
        if FIXED.get(text, key) != key:
            raise ValueError(f"{text!r} is said by {FIXED[text]} already")
        FIXED[text] = key


def _value(name: str, value, lang: str, words: Mapping[str, str]):
    if isinstance(value, date):
        return i18n.format_day(value, lang)
    if name in words and isinstance(value, (list, tuple)):
        return ", ".join(i18n.translate(words[name] + str(v), lang) for v in value)
    if name in words:
        return i18n.translate(words[name] + str(value), lang)
    return value


def say(message, lang: str, prefix: str = "", words: Mapping[str, str] | None = None) -> str:
    """``message`` in ``lang``: a ``Said`` from the catalogue (``<prefix><key>``; a value named in
    ``words`` is itself a word, the catalogue's prefix for it), marshmallow's and the registered
    messages from theirs (on a Thai page: an English page keeps the API's words); else as it is."""
    if isinstance(message, Said):
        values = {name: _value(name, value, lang, words or {}) for name, value in message.values.items()}
        return i18n.translate(prefix + message.key, lang, **values)
    text = str(message)
    if lang == "en":
        return text
    key = FIXED.get(text)
    if key:
        return i18n.translate(key, lang)
    for pattern, key in BUILT_IN:
        match = pattern.fullmatch(text)
        if match:
            return i18n.translate(key, lang, **match.groupdict())
    return text


def said(errors: Mapping[str, list], lang: str, prefix: str = "",
         words: Mapping[str, str] | None = None) -> dict[str, list[str]]:
    """Every field's messages said in ``lang`` (``say``)."""
    return {field: [say(m, lang, prefix, words) for m in messages] for field, messages in errors.items()}
