"""The registers steps record in, for staff: ``GET /assignment/registers/<org>/<register>`` (JSON),
e.g. onesqa's service-issue register (ทะเบียนบันทึกปัญหาการให้บริการสารสนเทศ), filterable by the day
the cases were logged (Buddhist-era dates are read too)."""
from __future__ import annotations

from flask import abort
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.assignment.handlers import registers as handlers
from shared.inputs import Day
from shared.openapi import checked
from shared.auth import current_staff, staff_required
from shared.web import FieldErrorsSchema

registers_api = Blueprint("registers", __name__, url_prefix="/assignment",
                          description="The registers steps record in (lists of cases)")


class RegisterQuerySchema(Schema):
    logged_from = Day(metadata={"type": "string", **checked(
        "a day as typed: 2026-11-19 or 19/11/2569 (Buddhist era)", description="logged on or after this day (Bangkok)")})
    logged_to = Day(metadata={"type": "string", **checked(
        "a day as typed, not before logged_from", description="logged on or before this day (Bangkok)")})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10_000_000))

    @validates_schema
    def _in_order(self, data, **_):
        if data.get("logged_from") and data.get("logged_to") and data["logged_from"] > data["logged_to"]:
            raise ValidationError("after logged_to", "logged_from")


class RegisterEntrySchema(Schema):
    tracking_code = fields.String()
    sop = fields.String()
    step = fields.String()
    round = fields.Integer()
    subject = fields.String()
    requester_name = fields.String()
    requester_unit = fields.String()
    channel = fields.String()
    received_at = fields.DateTime()
    logged_at = fields.DateTime(metadata={"description": "when the case was recorded (its step done)"})
    logged_by = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    case_status = fields.String()
    result = fields.String(allow_none=True)


class RegisterSchema(Schema):
    org = fields.String()
    key = fields.String()
    title = fields.Dict(keys=fields.String(), values=fields.String(), metadata={"description": "{th, en}"})
    steps = fields.List(fields.String(), metadata={"description": "the steps (pack/sop/step) that record in it"})
    total = fields.Integer(metadata={"description": "entries matching the filter, all pages"})
    items = fields.List(fields.Nested(RegisterEntrySchema))


@registers_api.route("/registers/<org>/<register>")
@staff_required(*handlers.READERS)
@registers_api.doc(security=[{"bearer": []}], summary="A register a step records in (e.g. onesqa/service-issues, "
                   "ทะเบียนบันทึกปัญหา): the cases logged at its step, newest first, by the day logged")
@registers_api.arguments(RegisterQuerySchema, location="query", as_kwargs=True)
@registers_api.response(200, RegisterSchema)
@registers_api.alt_response(401, schema=FieldErrorsSchema)
@registers_api.alt_response(403, schema=FieldErrorsSchema, description="the organisation's ICT staff only")
@registers_api.alt_response(404, schema=FieldErrorsSchema, description="no such register in the organisation's "
                            "pack, or another organisation's")
def register(org: str, register: str, logged_from=None, logged_to=None, limit: int = 100, offset: int = 0):
    found = handlers.entries(current_staff(), org, register, logged_from, logged_to, limit, offset)
    if found is None:
        abort(404)
    return found
