"""What sopdesk takes as input at all, before any view reads it: text, and numbers its columns hold.

PostgreSQL stores no NUL character in text, and psycopg cannot send a string that is not Unicode
(a lone surrogate such as ``"\\ud800"``, which Python's json accepts); a whole number above
2^31 - 1 does not fit an ``integer`` column, nor one above 2^63 - 1 an ``OFFSET``. Left to the
database, each of these is a server error after the view has begun its work. So every service's
app (``shared.web.create_service_app``) refuses them first, with a 400 or a 422 that names the
field, and nothing is stored:

* ``refuse_what_is_not_text``, run before every request: a NUL in the path, the query string, a
  form's text fields or file names, or any string (key or value, at any depth) of a JSON body;
  a string of the JSON body or the query string that is not valid Unicode. Files' bytes are never
  looked at: a PDF holds NULs.
* ``TextRequest``: a form post whose fields, percent-decoded, are not UTF-8 is refused when the
  form is read (werkzeug would keep ``%FF%FE`` as those six characters, or put U+FFFD in a
  multipart field, and the view would store it).
* ``BoundedIntegerConverter``: ``<int:...>`` in a URL takes 0 to 2^31 - 1; a larger number
  matches no route (404).
* ``Id`` and ``Offset``: the marshmallow fields of ids and offsets a client sends, bounded the
  same way (422 on the field).
"""
from __future__ import annotations

import io
from collections.abc import Iterable
from urllib.parse import parse_qsl

from flask import Request, request
from marshmallow import fields, validate
from werkzeug.exceptions import BadRequest as HTTPBadRequest
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.formparser import FormDataParser, MultiPartParser
from werkzeug.routing import IntegerConverter

from shared import i18n
from shared.errors import BadRequest, Invalid

INTEGER_MAX = 2**31 - 1
"""The largest value of PostgreSQL's ``integer``, the type of every id column."""

NUL = "nul"
NOT_TEXT = "not_text"
MESSAGE_KEYS = {NUL: "errors.nul_character", NOT_TEXT: "errors.not_text"}


# ---------------------------------------------------------------------------------------------
# what is not text: pure functions over strings, JSON values and field pairs


def text_problem(value: str) -> str | None:
    """``NUL`` when the string holds a NUL character, ``NOT_TEXT`` when it is not valid Unicode
    (a lone surrogate: it has no UTF-8), else None."""
    if "\x00" in value:
        return NUL
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return NOT_TEXT
    return None


def shown(name: str) -> str:
    """A field's name as an answer can carry it: a NUL or a lone surrogate in a name written out."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def json_problems(value, where: str = "") -> dict[str, str]:
    """Each string of a JSON value (object keys too, at any depth) that is not text: its dotted
    path (``fields.asset_tag``, ``milestones.0.title``; ``_schema`` for the body itself) and the
    problem. Walked with a list, not recursion: the depth is the client's to choose."""
    found: dict[str, str] = {}
    pending = [(where, value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                found[shown(path) or "_schema"] = problem
        elif isinstance(item, dict):
            for key, child in item.items():
                name = f"{path}.{key}" if path else str(key)
                problem = text_problem(str(key))
                if problem:
                    found[shown(name)] = problem
                pending.append((name, child))
        elif isinstance(item, list):
            pending.extend((f"{path}.{index}" if path else str(index), child) for index, child in enumerate(item))
    return found


def pairs_problems(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Each (name, value) pair of a query string or a form whose name or value is not text."""
    found: dict[str, str] = {}
    for name, value in pairs:
        problem = text_problem(name) or text_problem(value)
        if problem:
            found[shown(name)] = problem
    return found


def not_utf8_fields(body: bytes) -> list[str]:
    """The names of the fields of a urlencoded body (or query string) whose name or value,
    percent-decoded, is not UTF-8 (``%FF%FE``, or raw bytes that are not UTF-8)."""
    bad = []
    # latin-1 keeps every byte as the one character of the same number: decoded for real below
    for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="latin-1"):
        name_bytes = name.encode("latin-1")
        try:
            name_bytes.decode("utf-8")
            value.encode("latin-1").decode("utf-8")
        except UnicodeDecodeError:
            bad.append(shown(name_bytes.decode("utf-8", "backslashreplace")))
    return bad


# ---------------------------------------------------------------------------------------------
# forms read as UTF-8 or refused


class NotText(HTTPBadRequest):
    """A form field that is not UTF-8 text; raised when the form is read (a 400)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__("a form field is not UTF-8 text")
        self.problems = {name: NOT_TEXT for name in names}


class _TextMultiPartParser(MultiPartParser):
    """werkzeug's multipart parser, with text fields decoded strictly: werkzeug decodes them with
    "replace" (bad bytes become U+FFFD, silently). Each field is read as latin-1 (every byte kept
    as itself) and decoded here in the part's own charset; files are untouched."""

    def get_part_charset(self, headers) -> str:
        self._charsets.append(super().get_part_charset(headers))
        return "latin-1"

    def parse(self, stream, boundary, content_length):
        self._charsets: list[str] = []  # one per text field, in order (werkzeug asks once per field)
        raw_fields, files = super().parse(stream, boundary, content_length)
        fields_, bad = [], []
        for (name, raw), charset in zip(raw_fields.items(multi=True), self._charsets, strict=True):
            if name is None:  # a part whose name werkzeug cannot read (a bare CR): it names no field
                continue
            try:
                fields_.append((name, raw.encode("latin-1").decode(charset)))
            except UnicodeDecodeError:
                bad.append(shown(name))
        if bad:
            for _, storage in files.items(multi=True):
                storage.close()
            raise NotText(bad)
        return self.cls(fields_), files


class _TextFormDataParser(FormDataParser):
    def _parse_urlencoded(self, stream, mimetype, content_length, options):
        body = stream.read()
        bad = not_utf8_fields(body)
        if bad:
            raise NotText(bad)
        return super()._parse_urlencoded(io.BytesIO(body), mimetype, content_length, options)

    def _parse_multipart(self, stream, mimetype, content_length, options):
        parser = _TextMultiPartParser(stream_factory=self.stream_factory,
                                      max_form_memory_size=self.max_form_memory_size,
                                      max_form_parts=self.max_form_parts, cls=self.cls)
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        form, files = parser.parse(stream, boundary, content_length)
        return stream, form, files


class TextRequest(Request):
    """Flask's request, reading forms as UTF-8 text or refusing them. A form that could not be read
    (not text, or too large) fails the same way each time it is asked for, wherever that is."""

    form_data_parser_class = _TextFormDataParser
    _form_failure: HTTPException | None = None

    def _load_form_data(self) -> None:
        if self._form_failure is not None:
            raise self._form_failure
        try:
            super()._load_form_data()
        except HTTPException as exc:
            self._form_failure = exc
            raise


# ---------------------------------------------------------------------------------------------
# the guard


def problems_of_request() -> dict[str, str]:
    """What in this request is not text (see the module's docstring): field -> problem."""
    found: dict[str, str] = {}
    if "\x00" in request.path:
        found["_path"] = NUL
    found.update(pairs_problems(request.args.items(multi=True)))
    for name in not_utf8_fields(request.query_string):
        found.setdefault(name, NOT_TEXT)
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        try:
            form = request.form
        except NotText as exc:
            return {**found, **exc.problems}
        except RequestEntityTooLarge:
            return found  # the view answers that as it always has (TextRequest raises it again there)
        found.update(pairs_problems(form.items(multi=True)))
        for name, storage in request.files.items(multi=True):
            if storage.filename and text_problem(storage.filename):
                found[shown(name)] = text_problem(storage.filename)
    elif request.is_json:
        body = request.get_json(silent=True)
        if body is not None:
            found.update(json_problems(body))
    return found


def refuse_what_is_not_text() -> None:
    """``before_request``: refuses naming each field that is not text, in the page's language,
    before any view runs: a wrong field value is ``Invalid`` (422, as every other field's wrong
    value is), a NUL in the path itself ``BadRequest`` (400)."""
    found = problems_of_request()
    if found:
        lang = i18n.current_language()
        errors = {name: [i18n.translate(MESSAGE_KEYS[problem], lang)] for name, problem in sorted(found.items())}
        kind = BadRequest if "_path" in found else Invalid
        raise kind(i18n.translate("errors.not_text_request", lang), errors)


# ---------------------------------------------------------------------------------------------
# numbers the columns hold


class BoundedIntegerConverter(IntegerConverter):
    """``<int:...>``: 0 to 2^31 - 1 unless the rule says otherwise; a larger number matches no
    route, so it is a 404 like any unknown id, never a value PostgreSQL refuses."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = 0, max: int | None = INTEGER_MAX,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class Id(fields.Integer):
    """A row's id as a client sends it: 1 to 2^31 - 1 (an ``integer`` column), else 422 on the field."""

    def __init__(self, **kwargs) -> None:
        extra = kwargs.pop("validate", None)
        extra = [extra] if callable(extra) else list(extra or [])
        super().__init__(validate=[validate.Range(min=1, max=INTEGER_MAX), *extra], **kwargs)


class Offset(fields.Integer):
    """How many rows of a list to skip: 0 (the default) to 2^31 - 1, else 422 on the field."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("load_default", 0)
        super().__init__(validate=validate.Range(min=0, max=INTEGER_MAX), **kwargs)


class Day(fields.Field):
    """A day as people type it: 19/11/2569 (Buddhist era), 19/11/2026 or 2026-11-19
    (``shared.dates.parse_date``); given out as ISO. Every form and filter of a day uses it."""

    default_error_messages = {"invalid": "not a date: write 2026-11-19 or 19/11/2569 (Buddhist era)"}

    def _deserialize(self, value, attr, data, **kwargs):
        from shared import dates

        try:
            return dates.parse_date(value)
        except (ValueError, TypeError):
            raise self.make_error("invalid") from None

    def _serialize(self, value, attr, obj, **kwargs):
        return value.isoformat() if value is not None else None
