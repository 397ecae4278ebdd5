"""The shapes of what the procurement projects API takes and gives (marshmallow: validation with
field-level messages, and the OpenAPI document)."""
from __future__ import annotations

import re

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from services.procurement.adapters.models import (APPROVAL_KINDS, COMMITTEE_POSITIONS, DOCUMENT_KINDS, METHODS,
                                                  PROJECT_KINDS, PROJECT_STAGES)
from services.procurement.schemas.money import Money
from services.procurement.schemas.org import Org, OrgOut
from shared.inputs import Id, Offset
from shared.openapi import checked

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def one_line(value: str) -> None:
    if _CONTROL.search(value or ""):
        raise ValidationError("line breaks and control characters are not allowed")


def plain_text(value: str) -> None:
    if _CONTROL_BUT_LINES.search(value or ""):
        raise ValidationError("control characters are not allowed")


# the same rules as the documents' patterns
ONE_LINE_PATTERN = r"^[^\x00-\x1f\x7f\u2028\u2029]*$"
PLAIN_TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


def _line(max_len: int, required: bool = False, **kwargs) -> fields.String:
    checks = [validate.Length(min=1 if required else 0, max=max_len), one_line]
    kwargs["metadata"] = {"pattern": ONE_LINE_PATTERN, **kwargs.get("metadata", {})}
    return fields.String(required=required, validate=checks, **kwargs)


def _text(max_len: int, **kwargs) -> fields.String:
    kwargs["metadata"] = {"pattern": PLAIN_TEXT_PATTERN, **kwargs.get("metadata", {})}
    return fields.String(validate=[validate.Length(max=max_len), plain_text], **kwargs)


TRACKING_CODE = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$", error="not a tracking code")


# --- in ------------------------------------------------------------------------------------------


class ProjectQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    stage = fields.String(validate=validate.OneOf(PROJECT_STAGES))
    tracking_code = fields.String(validate=validate.Length(max=64))
    fiscal_year = fields.Integer(validate=validate.Range(min=2400, max=2800),
                                 metadata={"description": "Buddhist era, e.g. 2570"})
    kind = fields.String(validate=validate.OneOf(PROJECT_KINDS))
    officer = fields.String(validate=validate.Length(max=100))
    q = fields.String(validate=validate.Length(max=200), metadata={"description": "words of the title or purpose"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    offset = Offset()


class ProjectContactSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = _line(200, required=True)
    email = fields.Email(allow_none=True, load_default=None, validate=validate.Length(max=254))
    language = fields.String(load_default="th", validate=validate.OneOf(("th", "en")))


class ProjectCreateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    title = _line(300, required=True)
    purpose = _text(10000, load_default="")
    kind = fields.String(load_default="purchase", validate=validate.OneOf(PROJECT_KINDS),
                         metadata={"description": "purchase (ซื้อ), hire (จ้าง) or rent (เช่า)"})
    budget = Money(positive=True, allow_none=True, load_default=None)
    fiscal_year = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=2400, max=2800),
                                 metadata={"description": "Buddhist era; this fiscal year when absent"})
    officer = fields.String(allow_none=True, load_default=None, validate=[validate.Length(max=100), one_line],
                            metadata={"pattern": ONE_LINE_PATTERN, **checked(
                                "a person of the project's organisation", description="username of the responsible officer")})
    officer_contact = fields.Nested(ProjectContactSchema, allow_none=True, load_default=None)
    tracking_code = fields.String(allow_none=True, load_default=None, validate=TRACKING_CODE,
                                  metadata={"description": "the case the project serves, if any"})
    method = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(METHODS))
    org = Org()


class ProjectUpdateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    title = _line(300)
    purpose = _text(10000)
    kind = fields.String(validate=validate.OneOf(PROJECT_KINDS))
    budget = Money(positive=True, allow_none=True)
    fiscal_year = fields.Integer(validate=validate.Range(min=2400, max=2800))
    officer = fields.String(allow_none=True, validate=[validate.Length(max=100), one_line],
                            metadata={"pattern": ONE_LINE_PATTERN, **checked("a person of the project's organisation")})
    officer_contact = fields.Nested(ProjectContactSchema, allow_none=True)
    tracking_code = fields.String(allow_none=True, validate=lambda code: code == "" or TRACKING_CODE(code),
                                  metadata={"pattern": r"^$|^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$"})
    method = fields.String(allow_none=True, validate=validate.OneOf(METHODS))
    outcome = _text(10000)

    @validates_schema
    def something(self, data, **kwargs):
        if not data:
            raise ValidationError("nothing to change", "_schema")


class ProjectDocumentUploadSchema(Schema):
    """The form fields beside the files (``files``, several): the kind of every file sent, and
    optionally one paper document kept elsewhere (``name`` and ``ref``, no file)."""

    class Meta:
        unknown = EXCLUDE

    kind = fields.String(required=True, validate=validate.OneOf(DOCUMENT_KINDS))
    name = _line(200, load_default="", metadata=checked("given with ref, or neither"))
    ref = _line(500, load_default="", metadata=checked("given with name, or neither", description=(
        "e.g. the paper's number in the paperless system")))

    @validates_schema
    def both_or_none(self, data, **kwargs):
        if bool(data.get("name", "").strip()) != bool(data.get("ref", "").strip()):
            field = "ref" if data.get("name", "").strip() else "name"
            raise ValidationError("a paper document needs both its name and its ref", field)


class QuoteCreateSchema(Schema):
    """A quote (JSON or a form; a multipart form may carry the quote's file as ``document``)."""

    class Meta:
        unknown = EXCLUDE

    vendor_id = Id(required=True, metadata=checked("an active vendor"))
    amount = Money(positive=True, required=True)
    received_on = fields.Date(required=True)
    valid_until = fields.Date(allow_none=True, load_default=None, metadata=checked("not before received_on"))
    document_id = Id(allow_none=True, load_default=None,
                     metadata=checked("a document of this project already uploaded"))
    note = _text(2000, load_default="")

    @validates_schema
    def dates(self, data, **kwargs):
        if data.get("valid_until") and data.get("received_on") and data["valid_until"] < data["received_on"]:
            raise ValidationError("must not be before received_on", "valid_until")


class ProjectStageSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    stage = fields.String(required=True, validate=validate.OneOf(PROJECT_STAGES))
    note = _text(2000, load_default="")


class ApprovalCreateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    kind = fields.String(required=True, validate=validate.OneOf(APPROVAL_KINDS))
    decision = fields.String(required=True, validate=validate.OneOf(("approved", "rejected")))
    note = _text(5000, load_default="", metadata=checked("required (not only spaces) when rejected"))
    document_id = Id(allow_none=True, load_default=None, metadata=checked("a document of this project"))

    @validates_schema
    def why(self, data, **kwargs):
        if data.get("decision") == "rejected" and not (data.get("note") or "").strip():
            raise ValidationError("say why it is rejected", "note")


class CommitteeMemberInSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    username = fields.String(allow_none=True, load_default=None, validate=[validate.Length(max=100), one_line],
                             metadata={"description": "the member's sopdesk account, if any",
                                       "pattern": ONE_LINE_PATTERN})
    name = _line(200, required=True)
    email = fields.Email(allow_none=True, load_default=None, validate=validate.Length(max=254))
    language = fields.String(load_default="th", validate=validate.OneOf(("th", "en")))
    position = fields.String(load_default="member", validate=validate.OneOf(COMMITTEE_POSITIONS))


class CommitteeInSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    order_ref = _line(200, load_default="", metadata={"description": "the appointing order (คำสั่งแต่งตั้ง)"})
    appointed_on = fields.Date(required=True)
    members = fields.List(fields.Nested(CommitteeMemberInSchema), required=True, validate=validate.Length(min=1, max=15))


class PurchaseDeliverySchema(Schema):
    """A purchase's delivery (multipart: the delivery documents as ``files``; or a paper's ``ref``)."""

    class Meta:
        unknown = EXCLUDE

    delivered_on = fields.Date(required=True)
    note = _text(5000, load_default="")
    ref = _line(500, load_default="", metadata={"description": "the delivery note's paper reference"})
    ref_name = _line(200, load_default="")


class ProjectCancelSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    reason = fields.String(required=True, validate=[validate.Length(min=1, max=2000), plain_text],
                           metadata={"pattern": r"\S", **checked("not only spaces; no control characters")})

    @validates_schema
    def not_blank(self, data, **kwargs):
        if not (data.get("reason") or "").strip():
            raise ValidationError("say why the project is cancelled", "reason")


# --- out -----------------------------------------------------------------------------------------


class OfficerContactSchema(Schema):
    name = fields.String()
    email = fields.String(allow_none=True)
    language = fields.String()


class QuoteVendorSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class QuoteSchema(Schema):
    id = fields.Integer()
    vendor = fields.Nested(QuoteVendorSchema)
    amount = Money()
    received_on = fields.Date()
    valid_until = fields.Date(allow_none=True)
    document_id = fields.Integer(allow_none=True)
    note = fields.String()
    created_by = fields.String()
    created_at = fields.AwareDateTime()


class ApprovalSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    decision = fields.String()
    decided_by = fields.String()
    role = fields.String()
    note = fields.String()
    document_id = fields.Integer(allow_none=True)
    decided_at = fields.AwareDateTime()


class CommitteeMemberSchema(Schema):
    id = fields.Integer()
    username = fields.String(allow_none=True)
    name = fields.String()
    email = fields.String(allow_none=True)
    language = fields.String()
    position = fields.String()


class CommitteeSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    order_ref = fields.String()
    appointed_on = fields.Date(allow_none=True)
    members = fields.List(fields.Nested(CommitteeMemberSchema))


class ProcurementDocumentSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    name = fields.String()
    content_type = fields.String(allow_none=True)
    size = fields.Integer(allow_none=True)
    sha256 = fields.String(allow_none=True)
    ref = fields.String()
    has_file = fields.Boolean()
    project_id = fields.Integer(allow_none=True)
    contract_id = fields.Integer(allow_none=True)
    milestone_id = fields.Integer(allow_none=True)
    uploaded_by = fields.String()
    uploaded_at = fields.String(allow_none=True)
    download_path = fields.String(allow_none=True)


class ProjectContractSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    status = fields.String()


class CaseLinkSchema(Schema):
    tracking_code = fields.String()
    sop = fields.String(allow_none=True)
    step = fields.String(allow_none=True)
    waiting_on = fields.String(allow_none=True)
    waiting_since = fields.AwareDateTime(allow_none=True)
    notified_at = fields.AwareDateTime(allow_none=True)


class ProjectSummarySchema(Schema):
    id = fields.Integer()
    org = OrgOut()
    title = fields.String()
    kind = fields.String()
    stage = fields.String()
    method = fields.String(allow_none=True)
    budget = Money(allow_none=True)
    reference_price = Money(allow_none=True)
    fiscal_year = fields.Integer(allow_none=True)
    officer = fields.String(allow_none=True)
    tracking_code = fields.String(allow_none=True)
    case_step = fields.String(allow_none=True)
    case_waiting_on = fields.String(allow_none=True)
    quote_count = fields.Integer()
    delivered_on = fields.Date(allow_none=True)
    contracts = fields.List(fields.Nested(ProjectContractSchema))
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class ProjectSchema(Schema):
    id = fields.Integer()
    org = OrgOut()
    title = fields.String()
    purpose = fields.String()
    kind = fields.String()
    stage = fields.String()
    method = fields.String(allow_none=True)
    budget = Money(allow_none=True)
    reference_price = Money(allow_none=True, metadata={"description": "the median of the quotes' amounts"})
    outcome = fields.String()
    fiscal_year = fields.Integer(allow_none=True)
    officer = fields.String(allow_none=True)
    officer_contact = fields.Nested(OfficerContactSchema, allow_none=True)
    tracking_code = fields.String(allow_none=True)
    case = fields.Nested(CaseLinkSchema, allow_none=True)
    delivered_on = fields.Date(allow_none=True)
    delivery_note = fields.String()
    created_by = fields.String()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    quotes = fields.List(fields.Nested(QuoteSchema))
    approvals = fields.List(fields.Nested(ApprovalSchema))
    approval_status = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True),
                                  metadata={"description": "each approval kind's latest decision"})
    committees = fields.List(fields.Nested(CommitteeSchema))
    documents = fields.List(fields.Nested(ProcurementDocumentSchema))
    contracts = fields.List(fields.Nested(ProjectContractSchema))
    next_stages = fields.List(fields.String(), metadata={"description": "the stages it may move to now"})
