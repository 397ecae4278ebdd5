"""The shapes of what assignment takes and gives."""
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from services.assignment.domain import search
from shared.inputs import Day, Offset
from shared.openapi import checked


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
    """A staff list of cases: what narrows it (``handlers.cases.CaseFilters``), its order and page.
    ``limit`` and ``offset`` are the older way of asking for a page, still understood."""

    class Meta:
        unknown = EXCLUDE

    q = fields.String(validate=validate.Length(max=200),
                      metadata={"description": "words found in the tracking code, subject, details, requester or "
                                               "form values (Thai or English, any order, each anywhere)"})
    sop = fields.String(validate=validate.Length(max=100))
    step = fields.String(validate=validate.Length(max=100), metadata={"description": "the current step's key"})
    status = fields.String(validate=validate.OneOf(search.STATUSES))
    unit = fields.String(validate=validate.Length(max=100), metadata={"description": "cases whose steps the unit's people hold or held"})
    assignee = fields.String(validate=validate.Length(max=100), metadata={"description": "holds an open step"})
    overdue = fields.Boolean()
    received_from = Day(metadata={"type": "string", **checked(
        "a day as typed: 2026-11-19 or 19/11/2569 (Buddhist era)", description="received on or after this day (Bangkok)")})
    received_to = Day(metadata={"type": "string", **checked(
        "a day as typed, not before received_from", description="received on or before this day (Bangkok)")})
    sort = fields.String(load_default=search.DEFAULT_SORT, validate=validate.OneOf(search.SORTS))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=search.PER_PAGE, validate=validate.Range(min=1, max=search.MAX_PER_PAGE))
    limit = fields.Integer(validate=validate.Range(min=1, max=500), metadata={"description": "older name of per_page"})
    offset = Offset(load_default=None, metadata={"description": "rows to skip, instead of page"})

    @validates_schema
    def _dates_in_order(self, data, **_):
        if data.get("received_from") and data.get("received_to") and data["received_from"] > data["received_to"]:
            raise ValidationError("the first day is after the last", "received_to")


class ApprovalSchema(Schema):
    role = fields.String(metadata={"description": "the role the person decided in"})
    by = fields.String(metadata={"description": "who decided (username)"})
    on_behalf_of = fields.String(allow_none=True, metadata={"description": "whom a delegate stood in for"})
    outcome = fields.String()
    at = fields.AwareDateTime(allow_none=True)


class StepSchema(Schema):
    step = fields.String()
    round = fields.Integer()
    role = fields.String()
    assignee = fields.String(allow_none=True)
    status = fields.String()
    waiting_on = fields.String(allow_none=True)
    started_at = fields.AwareDateTime()
    completed_at = fields.AwareDateTime(allow_none=True)
    due_at = fields.AwareDateTime(allow_none=True)
    expected_at = fields.AwareDateTime(allow_none=True)
    target = fields.String(allow_none=True)
    late = fields.Boolean(allow_none=True)
    outcome = fields.String(allow_none=True)
    actor = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    approvals = fields.List(fields.Nested(ApprovalSchema), metadata={
        "description": "a step several roles decide together (all_of, in_order) only: the decisions of its round"})
    awaiting = fields.List(fields.String(), metadata={
        "description": "a step several roles decide together only: the roles still to decide (in_order: in turn)"})


class TrailEntrySchema(Schema):
    at = fields.AwareDateTime()
    kind = fields.String()
    step = fields.String(allow_none=True)
    round = fields.Integer(allow_none=True)
    actor = fields.String()
    on_behalf_of = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    data = fields.Dict()


class DocumentRefSchema(Schema):
    """A document handed in at a step: which of the step's expected documents (``key``), its name,
    and where it is kept (a reference: a paperless-system number, a file id, a URL)."""

    class Meta:
        unknown = EXCLUDE

    key = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]*$"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    ref = fields.String(load_default="", validate=validate.Length(max=500))


class ActionSchema(Schema):
    """An action on the case's current step: one of its outcomes, or ``assign``, ``set-target``,
    ``note``."""

    class Meta:
        unknown = EXCLUDE

    step = fields.String(required=True, validate=validate.Length(min=1, max=100))
    outcome = fields.String(required=True, validate=validate.Length(min=1, max=50))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000),
                         metadata={"description": "internal: for staff only, never shown to the requester"})
    message = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000), metadata={
        "description": "what the requester reads of this step's outcome (the tracking page, the 'step done' "
                       "email); required where the pack's step says notify_requester: {message: required}"})
    assignee = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    target = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100),
                           metadata={"description": "for steps whose target the assignee sets: '3 days', "
                                                    "'4 hours', or an ISO 8601 time"})
    values = fields.Dict(keys=fields.String(), load_default=dict,
                         metadata={"description": "the step's inputs, e.g. estimate_days"})
    team = fields.List(fields.String(validate=validate.Length(min=1, max=100)), load_default=list,
                       validate=validate.Length(max=50))
    documents = fields.List(fields.Nested(DocumentRefSchema), load_default=list, validate=validate.Length(max=20))


class CaseDocumentSchema(Schema):
    """A document handed in at a step, as a file."""
    id = fields.String()
    step = fields.String()
    round = fields.Integer()
    key = fields.String(metadata={"description": "which of the step's documents (the pack's key)"})
    name = fields.String()
    ref = fields.String(metadata={"description": "the paper's reference, if given"})
    content_type = fields.String()
    size = fields.Integer()
    to_requester = fields.Boolean(metadata={"description": "the requester may download it once the step is done"})
    uploaded_by = fields.String()
    created_at = fields.AwareDateTime()
    url = fields.String()


class CaseSummarySchema(Schema):
    tracking_code = fields.String()
    sop = fields.String()
    pack_version = fields.Integer()
    status = fields.String()
    result = fields.String(allow_none=True)
    subject = fields.String()
    current_step = fields.String(allow_none=True)
    received_at = fields.AwareDateTime()
    opened_at = fields.AwareDateTime()
    closed_at = fields.AwareDateTime(allow_none=True)
    due_at = fields.AwareDateTime(allow_none=True)


class ActionChoiceSchema(Schema):
    step = fields.String()
    outcomes = fields.List(fields.String(), metadata={"description": "the step's outcomes from its pack"})
    actions = fields.List(fields.String(), metadata={"description": "assign, set-target, note"})
    on_behalf_of = fields.String(allow_none=True)
    waiting_on = fields.String(allow_none=True)


class CaseSchema(CaseSummarySchema):
    details = fields.String()
    requester_name = fields.String()
    requester_unit = fields.String()
    fields_ = fields.Dict(data_key="fields", attribute="fields")
    channel = fields.String()
    team = fields.List(fields.String())
    values = fields.Dict()
    expected_at = fields.AwareDateTime(allow_none=True)
    paused_minutes = fields.Integer()
    attachments = fields.List(fields.Dict(), metadata={
        "description": "the requester's files: {id, field, name, content_type, size, url}; download each at "
                       "its url (/intake/requests/<code>/files/<id>?grant=...: the grant is for the caller only, "
                       "for an hour)"})
    asset = fields.Dict(allow_none=True, metadata={
        "description": "what procurement's asset register says of the asset_tag the request names "
                       "(procurement.asset_checked): {asset_tag, found, checked_at, asset: null | {tag, kind, "
                       "model, serial, location, ownership, status, acquired_on, warranty_ends_on, under_warranty "
                       "(on the day the request was received), leased, vendor: null | {id, name, tax_id, "
                       "contacts: [{name, email, phone, role, emergency}]}}}; null when no tag was checked (yet)"})
    steps = fields.List(fields.Nested(StepSchema))
    trail = fields.List(fields.Nested(TrailEntrySchema))
    documents = fields.List(fields.Nested(CaseDocumentSchema), metadata={
        "description": "the documents handed in at the steps as files; each read at its url "
                       "(/assignment/cases/<code>/documents/<id>: logged)"})
    actions = fields.List(fields.Nested(ActionChoiceSchema),
                          metadata={"description": "the actions the caller may take now"})


class SatisfactionQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    fiscal_year = fields.Integer(load_default=None, validate=validate.Range(min=2500, max=2700), metadata={
        "description": "Thai fiscal year in the Buddhist era (2570 = 1 Oct 2026 - 30 Sep 2027)"})


class ScoreGroupSchema(Schema):
    key = fields.String(metadata={"description": "the SOP key, or the unit's key ('' when unknown)"})
    answers = fields.Integer()
    mean = fields.Float()
    scores = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"description": "how many answered each score, '1' to '5'"})


class SatisfactionSchema(Schema):
    fiscal_year = fields.Integer(allow_none=True)
    answers = fields.Integer()
    by_sop = fields.List(fields.Nested(ScoreGroupSchema))
    by_unit = fields.List(fields.Nested(ScoreGroupSchema))


# ---------------------------------------------------------------------------------------------
# the breach register (PDPA s.37(4))

_TRACKING_CODE = validate.Regexp(r"^[A-Za-z0-9-]{1,32}$", error="not a tracking code")
_NO_CONTROL = validate.Regexp(r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$", error="control characters are not allowed")


class LocalMoment(fields.Field):
    """A date and time as people type it: 19/11/2569 14:30 (Buddhist era) or 2026-11-19T14:30
    (Bangkok time), or ISO 8601 with a zone (``shared.dates``). Loaded as an aware UTC datetime."""

    default_error_messages = {"invalid": "not a date and time: write 19/11/2569 14:30 or 2026-11-19T14:30"}

    def _deserialize(self, value, attr, data, **kwargs):
        from shared import dates

        try:
            return dates.parse_datetime(value)
        except (ValueError, TypeError):
            raise self.make_error("invalid") from None

    def _serialize(self, value, attr, obj, **kwargs):
        return value.isoformat() if value is not None else None


def _text(max_length: int, required: bool = True, **kwargs) -> fields.String:
    return fields.String(required=required, validate=[validate.Length(min=1 if required else 0, max=max_length),
                                                      _NO_CONTROL], **kwargs)


class BreachRecordSchema(Schema):
    """A breach as its privacy officer records it."""

    class Meta:
        unknown = EXCLUDE

    org = fields.String(load_default=None, validate=validate.Length(max=50), metadata={
        "description": "whose register: a system administrator names it; anyone else records in their own"})
    aware_at = LocalMoment(required=True, metadata={
        "type": "string", **checked("a date and time as typed: 19/11/2569 14:30 (Buddhist era) or ISO 8601",
                                    description="when the organisation became aware of it, Bangkok time")})
    description = _text(5000, metadata={"description": "what happened"})
    data_concerned = _text(2000, metadata={"description": "what personal data"})
    people_affected = fields.Integer(load_default=None, allow_none=True,
                                     validate=validate.Range(min=0, max=2**31 - 1),
                                     metadata={"description": "roughly how many people"})
    risk = fields.String(required=True, validate=validate.OneOf(("none", "risk", "high")),
                         metadata={"description": "none (unlikely to result in a risk), risk, high"})
    measures = _text(5000, required=False, load_default="")
    tracking_codes = fields.List(fields.String(validate=_TRACKING_CODE), load_default=list,
                                 validate=validate.Length(max=500),
                                 metadata={"description": "the cases concerned: their requesters are told"})


class BreachPdpcSchema(Schema):
    """The PDPC Office was told (when, its reference), or why it need not be."""

    class Meta:
        unknown = EXCLUDE

    notified_at = LocalMoment(load_default=None, allow_none=True, metadata={
        "type": "string", **checked("a date and time as typed; either it (with reference) or not_needed")})
    reference = _text(100, required=False, load_default=None, allow_none=True)
    not_needed = _text(2000, required=False, load_default=None, allow_none=True,
                       metadata={"description": "why the Office need not be told (no likely risk)"})


class BreachTrailSchema(Schema):
    at = fields.AwareDateTime()
    actor = fields.String()
    action = fields.String()
    changes = fields.Dict()


class BreachSummarySchema(Schema):
    id = fields.Integer()
    org = fields.String()
    aware_at = fields.AwareDateTime()
    description = fields.String()
    data_concerned = fields.String()
    people_affected = fields.Integer(allow_none=True)
    risk = fields.String()
    measures = fields.String()
    pdpc_deadline = fields.AwareDateTime(metadata={"description": "aware_at + 72 hours"})
    pdpc_notified_at = fields.AwareDateTime(allow_none=True)
    pdpc_reference = fields.String(allow_none=True)
    pdpc_not_needed = fields.String(allow_none=True)
    people_notified_at = fields.AwareDateTime(allow_none=True)
    tracking_codes = fields.List(fields.String())
    notified_codes = fields.List(fields.String())
    status = fields.String()
    recorded_by = fields.String()
    recorded_at = fields.AwareDateTime()
    clock = fields.String(metadata={"description": "running, overdue or settled"})


class BreachSchema(BreachSummarySchema):
    trail = fields.List(fields.Nested(BreachTrailSchema))


class BreachQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    status = fields.String(validate=validate.OneOf(("open", "closed")))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    offset = Offset()
