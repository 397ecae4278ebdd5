"""The edge that procurement's three API modules (asset_views, project_views, contract_views) share:
answering the domain's errors, documenting a body (JSON or a form, with files), and the
error answers each route lists in OpenAPI. Answers go through ``shared.web.error_response``; bodies
are read with ``shared.web.read_body``, the one reader every service uses."""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

from flask_smorest import Blueprint
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError

from shared.web import FieldErrorsSchema, error_response

SECURITY = [{"bearer": []}]


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
    """Decorator (bare, or with options) that answers what the view raises beyond the use cases'
    refusals (``shared.errors``, which the app answers for every service): a marshmallow
    ``ValidationError`` with a 422 of
    ``flatten(messages)`` and ``invalid_message`` (None: error_response's translated default); an
    ``IntegrityError`` whose text names a key of ``unique`` (constraint -> (field, message)) with a
    409 on that field — a race on a unique key; any other ``IntegrityError`` goes on up."""

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            try:
                return func(*args, **kwargs)
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


def request_body(schema, *, multipart: bool = False, form: bool = False, rule: str | None = None) -> dict:
    """OpenAPI ``requestBody`` (for ``blp.doc``): ``schema`` as JSON, as multipart/form-data when
    ``multipart`` (files), and as a urlencoded form when ``form``. The views read a form of the
    same flat fields anyway (the desk's pages post them), but a form says neither null nor a
    nested object, so the documents describe JSON unless a route's fields are all a form can say.
    ``rule``: what the server checks of the body as a whole (``x-checked``, see shared.openapi)."""
    content = {"multipart/form-data": {"schema": schema}} if multipart else {}
    content["application/json"] = {"schema": schema}
    if form:
        content["application/x-www-form-urlencoded"] = {"schema": schema}
    return {"required": True, "content": content, **({"x-checked": rule} if rule else {})}


def alt_responses(blp: Blueprint, *statuses: int | tuple[int, str]):
    """Decorator listing error answers (FieldErrorsSchema) in OpenAPI: each a status, or (status, description)."""

    def decorate(view):
        for status in statuses:
            code, description = status if isinstance(status, tuple) else (status, None)
            view = blp.alt_response(code, schema=FieldErrorsSchema, description=description)(view)
        return view

    return decorate
