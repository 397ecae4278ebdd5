"""Procurement's shorthands for the one family of refusals (``shared.errors``): a field's wrong
value, a state that forbids it, a person not allowed, a thing not there. ``shared.web`` answers
each with its status; nothing is stored when one is raised (the unit of work rolls back)."""
from __future__ import annotations

from shared.errors import Conflict, Forbidden, Invalid, NotFound


def invalid(field: str, message: str) -> Invalid:
    return Invalid(errors={field: [message]})


def conflict(message: str, field: str = "_schema") -> Conflict:
    return Conflict(message, {field: [message]})


def forbidden(message: str) -> Forbidden:
    return Forbidden(message)


def not_found(what: str) -> NotFound:
    return NotFound(f"no such {what}")
