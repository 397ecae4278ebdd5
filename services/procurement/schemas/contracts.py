"""The shapes of what the contracts API takes and gives. Money is a string with two decimals
("12500.00"); dates are ISO dates (Bangkok calendar dates of the paper world)."""
from __future__ import annotations

from decimal import Decimal

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from services.procurement.adapters.models import FINE_BASES
from services.procurement.schemas.money import Money, two_decimals
from services.procurement.schemas.org import OrgOut
from shared.inputs import Id, Offset
from shared.openapi import checked

CONTRACT_STATUSES = ("active", "completed", "terminated")
def MoneyOut(**kwargs) -> fields.Decimal:  # noqa: N802
    """Money given out: always two decimals, as a string ("12500.00")."""
    return fields.Decimal(places=2, as_string=True, **kwargs)


def _text(max_length: int, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(max=max_length), **kwargs)


class _In(Schema):
    class Meta:
        unknown = EXCLUDE


# --- input ----------------------------------------------------------------------------------------------


class MilestoneInSchema(_In):
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    deliverables = _text(10_000, load_default="")
    due_on = fields.Date(required=True)
    amount = Money(allow_none=True, load_default=None,
                   metadata=checked("either amount or share_percent, one of them",
                                    description="the instalment's amount (or give share_percent)"))
    # the bounds again in metadata, as numbers: apispec writes a Range's Decimals as strings ("1"),
    # which makes the OpenAPI document invalid
    share_percent = fields.Decimal(allow_nan=False, allow_none=True, load_default=None,
                                   validate=[validate.Range(min=Decimal("0.01"), max=Decimal("100")), two_decimals],
                                   metadata={"minimum": 0.01, "maximum": 100, **checked(
                                       "at most two decimals; either amount or share_percent, one of them",
                                       description="% of the contract's amount (or give amount)")})


class DocumentRefSchema(_In):
    ref = fields.String(required=True, validate=validate.Length(min=1, max=500),
                        metadata={"description": "where the document is kept, e.g. a paper file's number"})
    name = _text(200, load_default=None)


class ContractCreateSchema(_In):
    project_id = Id(required=True, metadata=checked("a project of yours whose stage lets a contract be signed"))
    number = fields.String(required=True, validate=validate.Length(min=1, max=100),
                           metadata={"description": "เลขที่สัญญา, e.g. 12/2570"})
    vendor_id = Id(required=True, metadata=checked("an active vendor"))
    amount = Money(required=True, metadata=checked("the milestones' amounts add up to it"))
    signed_on = fields.Date(required=True, metadata=checked("not in the future (Bangkok)"))
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True, metadata=checked("not before starts_on"))
    warranty_months = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=0, max=600),
                                     metadata=checked("warranty_months or warranty_ends_on, at least one"))
    warranty_ends_on = fields.Date(allow_none=True, load_default=None, metadata=checked(
        "warranty_months or warranty_ends_on, at least one; not before ends_on",
        description="computed as ends_on + warranty_months when not given"))
    fine_rate_percent = fields.Decimal(allow_nan=False, load_default=Decimal("0.1"),
                                       validate=validate.Range(min=Decimal("0"), max=Decimal("1"), min_inclusive=False),
                                       metadata={"minimum": 0, "exclusiveMinimum": True, "maximum": 1, "default": 0.1,
                                                 **checked("at most three decimals", description=(
                                                     "% of the basis per calendar day late (0 < r <= 1)"))})
    fine_basis = fields.String(load_default="milestone", validate=validate.OneOf(FINE_BASES))
    fine_min_per_day = Money(positive=False, load_default=Decimal("0"))
    milestones = fields.List(fields.Nested(MilestoneInSchema), required=True, validate=validate.Length(min=1, max=60),
                             metadata=checked("their amounts (or shares of the contract's amount) sum to the "
                                              "contract's amount exactly; due dates within the contract's term"))
    documents = fields.List(fields.Nested(DocumentRefSchema), load_default=list,
                            metadata={"description": "the signed contract's paper references"})

    @validates_schema
    def _rate_places(self, data, **kwargs):
        rate = data.get("fine_rate_percent")
        if rate is not None and rate != rate.quantize(Decimal("0.001")):
            raise ValidationError("At most three decimals.", "fine_rate_percent")


class RebalanceSchema(_In):
    milestone_id = Id(required=True, metadata=checked("another milestone of this contract, not yet paid"))
    amount = Money(required=True, metadata=checked("all the milestones still add up to the contract's amount"))


class MilestoneAddSchema(MilestoneInSchema):
    rebalance = fields.List(fields.Nested(RebalanceSchema), load_default=list,
                            metadata={"description": "the other milestones' new amounts, so that all still sum to "
                                                     "the contract's amount"})


class DeliverySchema(_In):
    delivered_on = fields.Date(required=True, metadata=checked("not in the future (Bangkok)"))
    note = _text(5000, load_default="")
    ref = _text(500, load_default=None, allow_none=True,
                metadata={"description": "the paper delivery letter's reference, when no file is uploaded"})
    ref_name = _text(200, load_default=None, allow_none=True)


class EvidenceSchema(_In):
    ref = _text(500, load_default=None, allow_none=True)
    ref_name = _text(200, load_default=None, allow_none=True)


class AcceptanceInSchema(_In):
    decision = fields.String(required=True, validate=validate.OneOf(("accepted", "rejected")))
    note = _text(5000, load_default="", metadata=checked("required (not only spaces) when rejected"))
    member_id = Id(allow_none=True, load_default=None,
                   metadata=checked("a member of the contract's inspection committee",
                                    description="supplies recording a member's paper signature"))
    signed_on = fields.Date(allow_none=True, load_default=None,
                            metadata=checked("not in the future (Bangkok), not before the delivery",
                                             description="the day the member signed (default today); the milestone "
                                                         "is accepted on the latest signing day of the round"))


class PaymentSchema(_In):
    paid_on = fields.Date(required=True, metadata=checked("not in the future (Bangkok)"))
    payment_ref = fields.String(required=True, validate=validate.Length(min=1, max=200))
    note = _text(5000, load_default="")


class IncidentInSchema(_In):
    severity = fields.String(load_default="high", validate=validate.OneOf(("high", "critical")))
    description = fields.String(required=True, validate=validate.Length(min=1, max=10_000))


class ContractQuerySchema(_In):
    status = fields.String(validate=validate.OneOf(CONTRACT_STATUSES))
    vendor_id = Id()
    project_id = Id()
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    offset = Offset()


# --- output ---------------------------------------------------------------------------------------------


class AcceptanceSchema(Schema):
    id = fields.Integer()
    member_id = fields.Integer()
    member_name = fields.String(allow_none=True)
    position = fields.String(allow_none=True)
    round = fields.Integer()
    decision = fields.String()
    note = fields.String()
    signed_on = fields.Date(allow_none=True)
    decided_by = fields.String()
    decided_at = fields.AwareDateTime()


class MemberSchema(Schema):
    member_id = fields.Integer()
    name = fields.String()
    position = fields.String()
    username = fields.String(allow_none=True)


class MilestoneSchema(Schema):
    id = fields.Integer()
    contract_id = fields.Integer()
    seq = fields.Integer()
    title = fields.String()
    deliverables = fields.String()
    due_on = fields.Date()
    amount = MoneyOut()
    share_percent = fields.Decimal(as_string=True, allow_none=True)
    state = fields.String(metadata={"description": "pending, delivered, accepted or paid"})
    round = fields.Integer(metadata={"description": "the delivery round (1 + rejected deliveries)"})
    delivered_on = fields.Date(allow_none=True)
    delivery_note = fields.String()
    delivered_recorded_by = fields.String(allow_none=True)
    days_late = fields.Integer()
    fine_amount = MoneyOut()
    accepted_on = fields.Date(allow_none=True)
    paid_on = fields.Date(allow_none=True)
    paid_amount = MoneyOut(allow_none=True)
    payment_ref = fields.String()
    paid_recorded_by = fields.String(allow_none=True)
    acceptances = fields.List(fields.Nested(AcceptanceSchema))
    awaiting = fields.List(fields.Nested(MemberSchema),
                           metadata={"description": "members who have not decided on the current delivery"})
    documents = fields.List(fields.Dict())


class IncidentSchema(Schema):
    id = fields.Integer()
    contract_id = fields.Integer()
    severity = fields.String()
    description = fields.String()
    reported_by = fields.String()
    reported_at = fields.AwareDateTime()
    resolved_at = fields.AwareDateTime(allow_none=True)
    resolution = fields.String()


class RecipientSchema(Schema):
    name = fields.String()
    email = fields.String()


class IncidentReportSchema(IncidentSchema):
    recipients = fields.List(fields.Nested(RecipientSchema))
    warning = fields.String(allow_none=True)


class _Ref(Schema):
    id = fields.Integer()
    name = fields.String()


class ProjectRefSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    stage = fields.String()
    tracking_code = fields.String(allow_none=True)


class TotalsSchema(Schema):
    amount = MoneyOut()
    paid = MoneyOut()
    fines = MoneyOut()
    outstanding = MoneyOut(metadata={"description": "the amounts of the milestones not paid yet"})


class ContractSummarySchema(Schema):
    id = fields.Integer()
    org = OrgOut()
    number = fields.String()
    status = fields.String()
    project_id = fields.Integer()
    project = fields.Nested(ProjectRefSchema)
    vendor_id = fields.Integer()
    vendor = fields.Nested(_Ref)
    amount = MoneyOut()
    signed_on = fields.Date()
    starts_on = fields.Date()
    ends_on = fields.Date()
    completed_at = fields.AwareDateTime(allow_none=True)
    milestone_count = fields.Integer()
    milestones_paid = fields.Integer()
    milestones_accepted = fields.Integer()
    next_due_on = fields.Date(allow_none=True)


class ContractSchema(Schema):
    id = fields.Integer()
    org = OrgOut()
    number = fields.String()
    status = fields.String()
    project_id = fields.Integer()
    project = fields.Nested(ProjectRefSchema)
    vendor_id = fields.Integer()
    vendor = fields.Nested(_Ref)
    amount = MoneyOut()
    signed_on = fields.Date()
    starts_on = fields.Date()
    ends_on = fields.Date()
    warranty_months = fields.Integer()
    warranty_ends_on = fields.Date(allow_none=True)
    fine_rate_percent = fields.Decimal(as_string=True)
    fine_basis = fields.String()
    fine_min_per_day = MoneyOut()
    completed_at = fields.AwareDateTime(allow_none=True)
    created_by = fields.String()
    created_at = fields.AwareDateTime()
    totals = fields.Nested(TotalsSchema)
    inspection_committee = fields.List(fields.Nested(MemberSchema))
    milestones = fields.List(fields.Nested(MilestoneSchema))
    documents = fields.List(fields.Dict())
    incidents = fields.List(fields.Nested(IncidentSchema))
