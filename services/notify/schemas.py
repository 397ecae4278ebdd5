"""The shapes of what notify gives."""
from marshmallow import EXCLUDE, Schema, fields, validate

from shared.inputs import Offset


class MessageQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    to = fields.Email(validate=validate.Length(max=254))
    correlation_id = fields.String(validate=validate.Length(max=64))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    offset = Offset()


class MessageSchema(Schema):
    id = fields.String()
    message_id = fields.String(metadata={"description": "the Message-ID header, derived from the delivery row"})
    to = fields.String(attribute="recipient")
    template = fields.String()
    language = fields.String()
    subject = fields.String()
    event_id = fields.String()
    event_type = fields.String()
    correlation_id = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "pending, sending, sent or dead"})
    attempts = fields.Integer()
    created_at = fields.AwareDateTime()
    sent_at = fields.AwareDateTime(allow_none=True)
    last_error = fields.String(allow_none=True)


class DeadLetterQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    include_replayed = fields.Boolean(data_key="all", load_default=False,
                                      metadata={"description": "also those replayed already"})


class DeadLetterSchema(Schema):
    id = fields.String(attribute="letter.id")
    task = fields.String(attribute="letter.task",
                         metadata={"description": "notify.handle_event (an event) or notify.deliver (an email)"})
    event_id = fields.String(attribute="letter.event_id", allow_none=True)
    event_type = fields.String(attribute="letter.event_type", allow_none=True)
    error = fields.String(attribute="letter.error")
    attempts = fields.Integer(attribute="letter.attempts")
    created_at = fields.AwareDateTime(attribute="letter.created_at")
    replayed_at = fields.AwareDateTime(attribute="letter.replayed_at", allow_none=True)
    delivery = fields.Nested(MessageSchema, allow_none=True,
                             metadata={"description": "the email, for a dead notify.deliver"})
