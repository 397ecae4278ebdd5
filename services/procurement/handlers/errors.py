"""The one error procurement's use cases raise: an HTTP status and field-level messages. Views
turn it into ``error_response``; nothing is stored when it is raised (the unit of work rolls back)."""
from __future__ import annotations


class ProcurementError(Exception):
    def __init__(self, status: int, errors: dict[str, list[str]] | None = None, message: str | None = None) -> None:
        self.status = status
        self.errors = errors or {"_schema": [message or "not allowed"]}
        self.message = message or next(iter(next(iter(self.errors.values()))), "not allowed")
        super().__init__(self.message)


def invalid(field: str, message: str) -> ProcurementError:
    return ProcurementError(422, {field: [message]})


def conflict(message: str, field: str = "_schema") -> ProcurementError:
    return ProcurementError(409, {field: [message]}, message)


def forbidden(message: str) -> ProcurementError:
    return ProcurementError(403, {"_schema": [message]}, message)


def not_found(what: str) -> ProcurementError:
    return ProcurementError(404, {"_schema": [f"no such {what}"]}, f"no such {what}")
