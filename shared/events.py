"""The event envelope every service publishes and consumes.

An event says what happened, in the past tense, to which case (``correlation_id`` is the case's
tracking code), from which service. The payload is plain JSON: never ORM objects.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

EVENT_TYPE = re.compile(r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$")


class EnvelopeSchema(Schema):
    id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.Regexp(EVENT_TYPE))
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True)
    source = fields.String(required=True, validate=validate.OneOf(("intake", "assignment", "notify", "procurement")))
    correlation_id = fields.String(required=True, allow_none=True, validate=validate.Length(max=64))
    payload = fields.Dict(keys=fields.String(), required=True)


_schema = EnvelopeSchema()


@dataclass(frozen=True)
class Event:
    type: str
    source: str
    payload: dict[str, Any]
    correlation_id: str | None = None
    version: int = 1
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def to_envelope(self) -> dict[str, Any]:
        """The wire form: validated, JSON-ready."""
        data = {
            "id": self.id,
            "type": self.type,
            "version": self.version,
            "occurred_at": self.occurred_at.astimezone(timezone.utc).isoformat(),
            "source": self.source,
            "correlation_id": self.correlation_id,
            "payload": self.payload,
        }
        errors = _schema.validate(data)
        if errors:
            raise ValidationError(errors)
        return data

    @classmethod
    def from_envelope(cls, data: dict[str, Any]) -> "Event":
        loaded = _schema.load(data)
        return cls(
            id=str(loaded["id"]),
            type=loaded["type"],
            version=loaded["version"],
            occurred_at=loaded["occurred_at"],
            source=loaded["source"],
            correlation_id=loaded["correlation_id"],
            payload=loaded["payload"],
        )
