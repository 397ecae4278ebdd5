"""The one family of errors a use case raises when it refuses what it was asked: the kind of
refusal and field-level messages, nothing about HTTP. ``shared.web`` maps each kind to its HTTP
status in one table (``shared.web.STATUS_OF``) and answers every refusal a view lets through with
the same body (``error_response``); nothing is stored when one is raised inside a unit of work,
which rolls back.

    raise Invalid(errors={"due_on": ["before the signing date"]})
    raise Conflict("the contract is already signed")
    raise Forbidden("only supplies staff may sign")
    raise NotFound("no such contract")

``errors`` maps a field name (``_schema`` for the whole request) to its messages; a refusal made
with only a message files it under ``_schema``, and one made with only field messages takes the
first of them as its message.
"""
from __future__ import annotations


class Refusal(Exception):
    """A use case refused; subclasses say why. ``kind`` is what ``shared.web`` maps to HTTP."""

    kind = "invalid"

    def __init__(self, message: str | None = None, errors: dict[str, list[str]] | None = None) -> None:
        self.errors: dict[str, list[str]] = errors or {"_schema": [message or "not allowed"]}
        self.message: str | None = message or next(iter(next(iter(self.errors.values()), [])), None)
        super().__init__(self.message)


class BadRequest(Refusal):
    """The request cannot be read at all (not an object, not a form)."""

    kind = "bad_request"


class Invalid(Refusal):
    """A value is wrong: field-level messages say which and why."""

    kind = "invalid"


class Forbidden(Refusal):
    """This person may not do this."""

    kind = "forbidden"


class NotFound(Refusal):
    """What was named does not exist (or this person may not know it does)."""

    kind = "not_found"


class Conflict(Refusal):
    """Understood and allowed, but the thing's state does not allow it now."""

    kind = "conflict"
