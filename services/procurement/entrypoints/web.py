"""The edge that procurement's three API modules (asset_views, project_views, contract_views) share:
answering the domain's errors, reading a body (JSON or a form, with files), documenting it, and the
error answers each route lists in OpenAPI. Answers go through ``shared.web.error_response``."""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

from flask import request
from flask_smorest import Blueprint
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError

from services.procurement.handlers.errors import ProcurementError
from shared.web import FieldErrorsSchema, error_response

SECURITY = [{"bearer": []}]
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
NOT_OBJECT = "the body must be a JSON object or a form"


def dotted(messages, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages ({"milestones": {1: {"due_on": [...]}}}) as dotted field names
    ({"milestones.1.due_on": [...]})."""
    if isinstance(messages, list):
        return {prefix or "_schema": [str(m) for m in messages]}
    out: dict[str, list[str]] = {}
    for key, value in messages.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(dotted(value, name))
        else:
            out.setdefault(name, []).extend(str(m) for m in (value if isinstance(value, list) else [value]))
    return out


def answers(view=None, *, flatten: Callable[[object], dict] = dotted, invalid_message: str | None = None,
            unique: Mapping[str, tuple[str, str]] | None = None):
    """Decorator (bare, or with options) that answers what the view raises: a ``ProcurementError``
    with ``error_response(status, errors, message)``; a marshmallow ``ValidationError`` with a 422 of
    ``flatten(messages)`` and ``invalid_message`` (None: error_response's translated default); an
    ``IntegrityError`` whose text names a key of ``unique`` (constraint -> (field, message)) with a
    409 on that field — a race on a unique key; any other ``IntegrityError`` goes on up."""

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except ProcurementError as exc:
                return error_response(exc.status, exc.errors, exc.message)
            except ValidationError as exc:
                return error_response(422, flatten(exc.messages), invalid_message)
            except IntegrityError as exc:
                text = str(exc.orig)
                for constraint, (field, message) in (unique or {}).items():
                    if constraint in text:
                        return error_response(409, {field: [message]})
                raise

        return wrapper

    return decorate(view) if view is not None else decorate


def read_body(*, files: bool = True, keep_blank: bool = False, strict: bool = False,
              not_object: str = NOT_OBJECT, not_object_message: str | None = None) -> dict:
    """The request's fields: a JSON object, or a form's fields (the desk posts forms, with its CSRF
    token). A form's blank fields are left out, as if not sent (an empty date box is no date), unless
    ``keep_blank``. Raises ProcurementError (so call it inside ``answers``): 400 for a body that is not
    an object (with ``strict``, also for a body neither JSON nor a form; without it such a body reads
    as an empty form), with ``not_object`` as the field message and ``not_object_message`` (None:
    error_response's translated default); 422 on ``documents`` when ``files`` is False and the form
    carries files. The files themselves: ``uploads()``."""
    if request.is_json:
        data = request.get_json(silent=True)
        if isinstance(data, dict):
            return data
    elif request.mimetype in FORM_TYPES or not strict:
        if not files and request.files:
            raise ProcurementError(422, {"documents": ["This action takes no files."]})
        return {key: value for key, value in request.form.items() if keep_blank or value.strip() != ""}
    refused = ProcurementError(400, {"_schema": [not_object]})
    refused.message = not_object_message  # None keeps error_response's own message
    raise refused


def uploads(*names: str) -> list:
    """The uploaded files (empty file inputs left out) of the named multipart fields, or of every field."""
    return [f for name in (names or request.files.keys()) for f in request.files.getlist(name) if f and f.filename]


def request_body(schema, *, multipart: bool = False, form: bool = True) -> dict:
    """OpenAPI ``requestBody`` (for ``blp.doc``): ``schema`` as JSON, and as a urlencoded form unless
    ``form`` is False, and as multipart/form-data when ``multipart``."""
    content = {"multipart/form-data": {"schema": schema}} if multipart else {}
    content["application/json"] = {"schema": schema}
    if form:
        content["application/x-www-form-urlencoded"] = {"schema": schema}
    return {"required": True, "content": content}


def alt_responses(blp: Blueprint, *statuses: int | tuple[int, str]):
    """Decorator listing error answers (FieldErrorsSchema) in OpenAPI: each a status, or (status, description)."""

    def decorate(view):
        for status in statuses:
            code, description = status if isinstance(status, tuple) else (status, None)
            view = blp.alt_response(code, schema=FieldErrorsSchema, description=description)(view)
        return view

    return decorate
