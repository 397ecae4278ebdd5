"""The desk's forms read as the API reads a body: a form's fields (a blank one is not given, as
``shared.web.read_body`` reads a form), its repeated rows (``members-0-name``) as a list, dates
as the page writes them (19/11/2569 on a Thai page) read back to ISO for the API's own schema."""
from __future__ import annotations

import re

from flask import request
from marshmallow import Schema, fields

from shared import dates

ROW = re.compile(r"^(?P<list>[a-z_]+)-(?P<n>\d{1,2})-(?P<field>[a-z_]+)$")
SELECTS = ("position",)  # a row's choices that always hold a value: a row of nothing else is blank


def numbered_rows(form) -> dict[str, list[tuple[int, dict]]]:
    """A form's repeated rows (``members-0-name``, ``milestones-2-due_on``) as (its number on the
    form, its fields), in order; a row left blank (but for its choices) is no row."""
    found: dict[str, dict[int, dict]] = {}
    for key, value in form.items():
        match = ROW.match(key)
        if match and value.strip():
            found.setdefault(match["list"], {}).setdefault(int(match["n"]), {})[match["field"]] = value.strip()
    return {name: [(n, rows[n]) for n in sorted(rows) if set(rows[n]) - set(SELECTS)]
            for name, rows in found.items()}


def rows_of(form) -> dict[str, list[dict]]:
    return {name: [row for _, row in rows] for name, rows in numbered_rows(form).items()}


def on_the_form(errors: dict) -> dict:
    """Messages on a list's items (``members.1.email``: the second row given) put back on the
    rows of the form they came from (a blank row between two is not given)."""
    numbers = {name: [n for n, _ in rows] for name, rows in numbered_rows(request.form).items()}
    out: dict[str, list] = {}
    for key, messages in errors.items():
        match = re.match(r"^([a-z_]+)\.(\d+)\.(.+)$", key)
        if match and match[1] in numbers and int(match[2]) < len(numbers[match[1]]):
            key = f"{match[1]}.{numbers[match[1]][int(match[2])]}.{match[3]}"
        out.setdefault(key, []).extend(messages)
    return out


def _page_dates(schema: Schema, data: dict) -> dict:
    """The schema's date fields as ISO: a page writes 19/11/2569 (Thai) or 2026-11-19; a text
    that is no date is left for the schema to refuse with its own message."""
    out = dict(data)
    for name, field in schema.fields.items():
        value = out.get(name)
        if isinstance(field, fields.Date) and isinstance(value, str):
            try:
                out[name] = dates.parse_date(value).isoformat()
            except ValueError:
                pass
        elif isinstance(field, fields.List) and isinstance(field.inner, fields.Nested) and isinstance(value, list):
            inner = field.inner.schema
            out[name] = [_page_dates(inner, row) if isinstance(row, dict) else row for row in value]
    return out


def form_data(*lists: str, checks: tuple[str, ...] = ()) -> dict:
    """The posted form as the API's body: filled fields only (an empty optional field is not
    given), the repeated rows of ``lists`` as lists, each checkbox of ``checks`` true or false."""
    data = {k: v for k, v in request.form.items()
            if k not in ("csrf_token", "next") and not ROW.match(k) and k not in checks and v.strip() != ""}
    rows = rows_of(request.form)
    for name in lists:
        data[name] = rows.get(name, [])
    for name in checks:
        data[name] = request.form.get(name) in ("on", "true", "1")
    return data


def load(schema: Schema, data: dict) -> dict:
    """``data`` loaded by the API's ``schema`` (raises its ValidationError)."""
    return schema.load(_page_dates(schema, data))


