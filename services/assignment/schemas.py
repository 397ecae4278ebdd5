"""The shapes of what assignment takes and gives."""
from marshmallow import EXCLUDE, Schema, fields, validate


class TokenRequestSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    username = fields.String(required=True, validate=validate.Length(min=1, max=100))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1000), load_only=True)


class TokenSchema(Schema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True)
    expires_in = fields.Integer(required=True, metadata={"description": "seconds"})
    roles = fields.List(fields.String())


class CaseQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    sop = fields.String(validate=validate.Length(max=100))
    status = fields.String(validate=validate.OneOf(("open", "closed")))
    assignee = fields.String(validate=validate.Length(max=100))
    overdue = fields.Boolean()
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class StepSchema(Schema):
    step = fields.String()
    round = fields.Integer()
    role = fields.String()
    assignee = fields.String(allow_none=True)
    status = fields.String()
    started_at = fields.AwareDateTime()
    completed_at = fields.AwareDateTime(allow_none=True)
    due_at = fields.AwareDateTime(allow_none=True)
    outcome = fields.String(allow_none=True)


class CaseSummarySchema(Schema):
    tracking_code = fields.String()
    sop = fields.String()
    status = fields.String()
    subject = fields.String()
    current_step = fields.String(allow_none=True)
    received_at = fields.AwareDateTime()
    opened_at = fields.AwareDateTime()
    closed_at = fields.AwareDateTime(allow_none=True)
    due_at = fields.AwareDateTime(allow_none=True)


class ActionChoiceSchema(Schema):
    step = fields.String()
    outcomes = fields.List(fields.String())


class CaseSchema(CaseSummarySchema):
    details = fields.String()
    requester_name = fields.String()
    requester_unit = fields.String()
    fields_ = fields.Dict(data_key="fields", attribute="fields")
    channel = fields.String()
    steps = fields.List(fields.Nested(StepSchema))
    actions = fields.List(fields.Nested(ActionChoiceSchema),
                          metadata={"description": "the actions the caller may take now"})
