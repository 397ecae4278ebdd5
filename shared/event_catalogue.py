"""The event catalogue: every event type a service publishes, by (type, version), with the
service that publishes it, the services that hear it (``shared.routing``), a marshmallow schema of
its payload and one line on what happened.

The schemas are the declaration, written to match what each producer puts in its payload today:
a key the producer always writes is ``required`` (``allow_none`` when its value may be null); an
undeclared key is refused (``unknown = RAISE``), so a producer that adds a field without declaring
it here fails its own tests. ``shared.messaging`` checks every payload when it is published (a
programming error: it raises inside the unit of work, and nothing commits) and when it is consumed
(a dead letter, as for a malformed envelope). The checks are on unless ``SOPDESK_EVENT_CHECKS=off``,
an operator's switch for an emergency (see ``ENFORCED``); every test runs with them on.

Every event crosses the check twice, so the check is not marshmallow's ``Schema.validate`` (about
ten times slower on ``request.submitted``): each schema is compiled once, at import, into plain
functions over precomputed field sets and type predicates (``payload_errors``), which give the
same errors as ``Schema.validate`` (``marshmallow_errors``, kept for the tests that say so).
Markdown of the whole catalogue (``render_markdown``) is committed as ``docs/events.md``.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from shared.routing import subscribers

# ---------------------------------------------------------------------------------------------
# field types: each checks its value with one predicate, which marshmallow and the compiled check
# share (what differs between the two is the walk: required, null, unknown keys, lists, nesting)


class _Typed(fields.Field):
    """A field whose value is valid when ``accepts`` says so; ``type_name`` is what the rendered
    catalogue calls it."""

    type_name = "any"
    default_error_messages = {"invalid": "Not a valid value."}

    @staticmethod
    def accepts(value: Any) -> bool:
        return True

    def _deserialize(self, value, attr, data, **kwargs):
        if not self.accepts(value):
            raise self.make_error("invalid")
        return value


class Text(_Typed):
    type_name = "text"
    default_error_messages = {"invalid": "Not a valid string."}

    @staticmethod
    def accepts(value: Any) -> bool:
        return isinstance(value, str)


class Whole(_Typed):
    type_name = "integer"
    default_error_messages = {"invalid": "Not a valid integer."}

    @staticmethod
    def accepts(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)


class Flag(_Typed):
    type_name = "boolean"
    default_error_messages = {"invalid": "Not a valid boolean."}

    @staticmethod
    def accepts(value: Any) -> bool:
        return isinstance(value, bool)


class Moment(_Typed):
    """A moment as ISO 8601 text with its zone (every producer writes aware UTC times)."""

    type_name = "date-time (ISO 8601, with zone)"
    default_error_messages = {"invalid": "Not a valid ISO 8601 date-time with a zone."}

    @staticmethod
    def accepts(value: Any) -> bool:
        if not isinstance(value, str):
            return False
        try:
            return datetime.fromisoformat(value).utcoffset() is not None
        except ValueError:
            return False


_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Day(_Typed):
    type_name = "date (YYYY-MM-DD)"
    default_error_messages = {"invalid": "Not a valid date (YYYY-MM-DD)."}

    @staticmethod
    def accepts(value: Any) -> bool:
        if not (isinstance(value, str) and _DAY.match(value)):
            return False
        try:
            date.fromisoformat(value)
            return True
        except ValueError:
            return False


_MONEY = re.compile(r"^-?\d+\.\d{2}$")


class Money(_Typed):
    """Baht as text with two decimals ("12500.00"), as procurement writes money into events."""

    type_name = "money (text, 2 decimals)"
    default_error_messages = {"invalid": "Not a valid amount (text with two decimals)."}

    @staticmethod
    def accepts(value: Any) -> bool:
        return isinstance(value, str) and _MONEY.match(value) is not None


_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")


class DecimalText(_Typed):
    type_name = "decimal (text)"
    default_error_messages = {"invalid": "Not a valid decimal number as text."}

    @staticmethod
    def accepts(value: Any) -> bool:
        return isinstance(value, str) and _DECIMAL.match(value) is not None


class Texts(_Typed):
    """A text in Thai and English, as the packs give titles: ``{th, en}`` (either may be absent)."""

    type_name = "texts {th, en}"
    default_error_messages = {"invalid": "Not a valid text in Thai and English (th, en)."}

    @staticmethod
    def accepts(value: Any) -> bool:
        return isinstance(value, dict) and all(
            (key == "th" or key == "en") and isinstance(text, str) for key, text in value.items())


class Mapping(_Typed):
    """A JSON object with text keys whose values this catalogue does not describe (form fields)."""

    type_name = "object (free form)"
    default_error_messages = {"invalid": "Not a valid mapping type."}

    @staticmethod
    def accepts(value: Any) -> bool:
        return isinstance(value, dict) and all(isinstance(key, str) for key in value)


def _f(kind: type[fields.Field], *args, nullable: bool = False, optional: bool = False, **kwargs) -> fields.Field:
    """A field as the catalogue declares it: required unless ``optional`` (the key may be absent),
    never null unless ``nullable``."""
    return kind(*args, required=not optional, allow_none=nullable, **kwargs)


def _list(inner: fields.Field, **kwargs) -> fields.Field:
    return _f(fields.List, inner, **kwargs)


def _nested(schema: type[Schema], **kwargs) -> fields.Field:
    return _f(fields.Nested, schema, **kwargs)


def _items(schema: type[Schema]) -> fields.Field:
    """The inner field of a list of objects (an item is never null)."""
    return fields.Nested(schema, allow_none=False)


class Payload(Schema):
    """Every payload and every object in one: undeclared keys are refused."""

    class Meta:
        unknown = RAISE


# ---------------------------------------------------------------------------------------------
# shapes shared by several events


class StaffContact(Payload):
    """Whom notify writes to for a staff member (``assignment.directory.contact``)."""
    username = _f(Text)
    name = _f(Text)
    email = _f(Text, nullable=True)
    language = _f(Text)
    # their organisation (the pack key of their unit; null for a system administrator): whose
    # administrators may read the mail sent to them (notify's mail log)
    org = _f(Text, nullable=True, optional=True)


class CaseState(Payload):
    """What every case event carries: the case's state after it, numbered in the case's sequence."""
    tracking_code = _f(Text)
    sop = _f(Text)
    pack_version = _f(Whole)
    seq = _f(Whole)
    case_status = _f(Text)
    current_step = _f(Text, nullable=True)
    due_at = _f(Moment, nullable=True)


class CaseStep(Payload):
    """A step of a case as assignment's engine describes it (``Engine.step_payload``)."""
    key = _f(Text)
    title = _f(Texts)
    role = _f(Text)
    roles = _list(Text())
    round = _f(Whole)
    assignee = _f(Text, nullable=True)
    started_at = _f(Moment)
    due_at = _f(Moment, nullable=True)
    expected_at = _f(Moment, nullable=True)
    completed_at = _f(Moment, nullable=True)
    outcome = _f(Text, nullable=True)
    waiting_on = _f(Text, nullable=True)
    notify_requester = _f(Flag)
    late = _f(Flag, nullable=True)
    needs_approval = _f(Flag)
    assignee_contact = _nested(StaffContact, nullable=True)


class FirstStep(Payload):
    key = _f(Text)
    title = _f(Texts)
    role = _f(Text)
    round = _f(Whole)
    started_at = _f(Moment)


class BreachedStep(Payload):
    key = _f(Text)
    title = _f(Texts)
    round = _f(Whole)
    role = _f(Text)
    assignee = _f(Text, nullable=True)
    started_at = _f(Moment)
    assignee_contact = _nested(StaffContact, nullable=True)


class SummaryItem(Payload):
    tracking_code = _f(Text)
    sop = _f(Text)
    sop_title = _f(Texts)
    step = _f(Text)
    step_title = _f(Texts)
    subject = _f(Text)
    due_at = _f(Moment, nullable=True)
    late = _f(Flag)
    waiting_on = _f(Text, nullable=True)


class Requester(Payload):
    name = _f(Text)
    email = _f(Text, nullable=True)  # none: a telephone or walk-in caller with a phone only, or planned work
    phone = _f(Text, nullable=True)
    unit = _f(Text)


class Attachment(Payload):
    """A file's record as intake keeps it (the file itself stays with intake)."""
    id = _f(Text)
    field = _f(Text)
    name = _f(Text)
    content_type = _f(Text)
    size = _f(Whole)


class VendorContactCard(Payload):
    name = _f(Text)
    email = _f(Text, nullable=True)
    phone = _f(Text, nullable=True)
    role = _f(Text)
    emergency = _f(Flag)


class AssetVendor(Payload):
    id = _f(Whole)
    name = _f(Text)
    tax_id = _f(Text)
    contacts = _list(_items(VendorContactCard))


class AssetInfo(Payload):
    tag = _f(Text)
    kind = _f(Text)
    model = _f(Text)
    serial = _f(Text)
    location = _f(Text)
    ownership = _f(Text)
    status = _f(Text)
    acquired_on = _f(Day, nullable=True)
    warranty_ends_on = _f(Day, nullable=True)
    under_warranty = _f(Flag)
    leased = _f(Flag)
    vendor = _nested(AssetVendor, nullable=True)


class ContractBrief(Payload):
    id = _f(Whole)
    number = _f(Text)
    amount = _f(Money)
    vendor_id = _f(Whole)
    vendor_name = _f(Text, nullable=True)
    status = _f(Text)


class ProjectBrief(Payload):
    id = _f(Whole)
    title = _f(Text)
    tracking_code = _f(Text, nullable=True)
    stage = _f(Text)


class MilestoneBrief(Payload):
    id = _f(Whole)
    seq = _f(Whole)
    title = _f(Text)
    deliverables = _f(Text)
    due_on = _f(Day)
    amount = _f(Money)
    state = _f(Text)
    round = _f(Whole)
    delivered_on = _f(Day, nullable=True)
    days_late = _f(Whole)
    fine_amount = _f(Money)
    accepted_on = _f(Day, nullable=True)
    paid_on = _f(Day, nullable=True)
    paid_amount = _f(Money, nullable=True)


class Acceptance(Payload):
    """One inspection committee member's word on a delivery."""
    member_id = _f(Whole)
    member_name = _f(Text)
    position = _f(Text)
    decision = _f(Text)
    note = _f(Text)
    round = _f(Whole)
    decided_by = _f(Text)


class NoticeContract(Payload):
    id = _f(Whole)
    number = _f(Text)
    amount = _f(Money)
    vendor_name = _f(Text)


class NoticeProject(Payload):
    id = _f(Whole)
    title = _f(Text)
    tracking_code = _f(Text, nullable=True)


class NoticeMilestone(Payload):
    id = _f(Whole)
    seq = _f(Whole)
    title = _f(Text)
    deliverables = _f(Text)
    due_on = _f(Day)
    amount = _f(Money)
    state = _f(Text)


class NoticeRecipient(Payload):
    name = _f(Text)
    email = _f(Text)
    language = _f(Text)
    role = _f(Text)


class ProcurementProject(Payload):
    """What every project event of procurement starts with."""
    # the organisation it is of (the pack key): whose administrators see the mail it causes
    org = _f(Text, optional=True)
    project_id = _f(Whole)
    tracking_code = _f(Text, nullable=True)


class WithContract(Payload):
    """What every contract event of procurement starts with."""
    # the organisation it is of (the pack key): whose administrators see the mail it causes
    org = _f(Text, optional=True)
    contract = _nested(ContractBrief)
    project = _nested(ProjectBrief)


class MilestoneNotice(Payload):
    """What both milestone notices say (``reminders.notice_payload``)."""
    # the organisation it is of (the pack key): whose administrators see the mail it causes
    org = _f(Text, optional=True)
    contract = _nested(NoticeContract)
    project = _nested(NoticeProject)
    milestone = _nested(NoticeMilestone)
    recipients = _list(_items(NoticeRecipient))
    desk_path = _f(Text)


# ---------------------------------------------------------------------------------------------
# the payloads, one per event type and version


class RequestSubmitted(Payload):
    tracking_code = _f(Text)
    sop = _f(Text)
    pack_version = _f(Whole)
    subject = _f(Text)
    details = _f(Text)
    form_fields = _f(Mapping, data_key="fields")
    requester = _nested(Requester)
    language = _f(Text)
    channel = _f(Text)
    filed_by = _f(Text, nullable=True)
    received_at = _f(Moment)
    privacy_notice_version = _f(Text)
    attachments = _list(_items(Attachment))


class RequestAnswered(Payload):
    tracking_code = _f(Text)
    step = _f(Text)
    round = _f(Whole)
    note = _f(Text)
    # the requester's choice among their step's outcomes, where it has more than one (a re-check:
    # confirmed, or a correction asked); absent: the step's first outcome
    outcome = _f(Text, optional=True)
    attachments = _list(_items(Attachment))
    answered_at = _f(Moment)


class SurveyAnswered(Payload):
    tracking_code = _f(Text)
    sop = _f(Text)
    score = _f(Whole, validate=validate.Range(min=1, max=5))
    comment = _f(Text, nullable=True)
    answered_at = _f(Moment)
    requester_unit = _f(Text)


class CaseOpened(CaseState):
    sop_title = _f(Texts)
    subject = _f(Text)
    opened_at = _f(Moment)
    received_at = _f(Moment)
    step = _nested(FirstStep)


class StepStarted(CaseState):
    step = _nested(CaseStep)
    subject = _f(Text)
    # the step went to the person whose own action started it (a head who named himself): no
    # "new work" email to them
    self_assigned = _f(Flag, optional=True)


class AnswerChoice(Payload):
    """One of the outcomes a requester's step offers them (its key and its words)."""
    key = _f(Text)
    label = _f(Texts)


class StepWaiting(CaseState):
    step = _nested(CaseStep)
    waiting_on = _f(Text)
    form_fields = _f(Mapping, data_key="fields")
    subject = _f(Text)
    # a step that waits on the requester with more than one outcome: what they choose from
    choices = _list(_items(AnswerChoice), optional=True)


class StepFile(Payload):
    """A document handed in at a step that the pack gives to the requester (``to_requester``):
    its record as assignment keeps it; the requester downloads it from assignment with their
    tracking token (``shared.tracking.step_file_url``)."""
    id = _f(Text)
    key = _f(Text)
    name = _f(Text)
    content_type = _f(Text)
    size = _f(Whole)


class StepCompleted(CaseState):
    step = _nested(CaseStep)
    outcome = _f(Text)
    kind = _f(Text)
    next_step = _f(Text, nullable=True)
    note = _f(Text, nullable=True)  # internal: for staff only, never shown to the requester
    # what the step tells the requester, and the files it gives them (absent before issue 14)
    message = _f(Text, nullable=True, optional=True)
    files = _list(_items(StepFile), optional=True)


class StepReturned(CaseState):
    step = _nested(CaseStep)
    outcome = _f(Text)
    to = _f(Text, nullable=True)
    note = _f(Text, nullable=True)
    message = _f(Text, nullable=True, optional=True)
    files = _list(_items(StepFile), optional=True)


class StepRejected(CaseState):
    step = _nested(CaseStep)
    outcome = _f(Text)
    note = _f(Text, nullable=True)
    message = _f(Text, nullable=True, optional=True)
    files = _list(_items(StepFile), optional=True)


class StepResumed(CaseState):
    step = _nested(CaseStep)
    waiting_on = _f(Text)


class CaseAssigned(CaseState):
    step = _nested(CaseStep)
    previous_assignee = _f(Text, nullable=True)
    assigned_by = _f(Text)


class ApprovalGiven(Payload):
    """One person's decision on a step several people decide together."""
    role = _f(Text)
    by = _f(Text)
    on_behalf_of = _f(Text, nullable=True)
    outcome = _f(Text)
    at = _f(Moment, nullable=True)


class ApproverAsked(Payload):
    role = _f(Text)
    username = _f(Text)
    contact = _nested(StaffContact, nullable=True)


class ApprovalAsked(CaseState):
    step = _nested(CaseStep)
    subject = _f(Text)
    asked = _list(_items(ApproverAsked))
    approvals = _list(_items(ApprovalGiven))
    awaiting = _list(Text())


class StepTargetSet(CaseState):
    step = _nested(CaseStep)
    set_by = _f(Text)


class AssetLent(CaseState):
    """A step lent the requester a machine (the pack's ``lends``): procurement records the loan."""
    org = _f(Text)
    step = _f(Text)
    asset_tag = _f(Text)
    borrower = _f(Text)
    borrower_unit = _f(Text)
    replaces_tag = _f(Text, nullable=True)
    lent_on = _f(Day)
    lent_by = _f(Text)


class CaseClosed(CaseState):
    result = _f(Text)
    closed_at = _f(Moment)
    subject = _f(Text)
    sop_title = _f(Texts)


class SlaBreached(CaseState):
    deadline = _f(Text, validate=validate.OneOf(("step", "case")))
    missed_due_at = _f(Moment)
    subject = _f(Text)
    step = _nested(BreachedStep, nullable=True)
    heads = _list(Text())
    head_contacts = _list(_items(StaffContact))
    # escalation (``assignment/domain/escalation``): level 1, where the heads came from (the
    # holder's unit, the units of those who could take the step, of the case's staff, the whole
    # organisation), the SOP, whole working days late when told, and when the director is to hear
    # if it is still late (null: never, a step the requester holds)
    level = _f(Whole, optional=True, validate=validate.OneOf((1,)))
    heads_from = _f(Text, optional=True, nullable=True,
                    validate=validate.OneOf(("holder-unit", "role-units", "staff-units", "organisation")))
    sop_title = _f(Texts, optional=True)
    working_days_late = _f(Whole, optional=True)
    escalate_at = _f(Moment, optional=True, nullable=True)
    current_step_title = _f(Texts, optional=True)  # the step the case is at (a case deadline names it)


class SlaEscalated(CaseState):
    """Level 2 of a missed deadline: still late ``escalate_after`` working days after the heads
    were told; the organisation's director (its deputies when it has none) hears."""
    deadline = _f(Text, validate=validate.OneOf(("step", "case")))
    missed_due_at = _f(Moment)
    subject = _f(Text)
    sop_title = _f(Texts)
    step = _nested(BreachedStep, nullable=True)
    told_heads_at = _f(Moment)
    escalate_after = _f(Whole)
    working_days_late = _f(Whole)
    directors = _list(Text())
    director_contacts = _list(_items(StaffContact))
    current_step_title = _f(Texts, optional=True)  # the step the case is at (a case deadline names it)


class DailySummary(Payload):
    username = _f(Text)
    day = _f(Day)
    contact = _nested(StaffContact)
    items = _list(_items(SummaryItem))


class PersonChanged(Payload):
    """A staff account as other services may know it: its organisation (that of its unit; null
    for a system administrator) and whether it is active."""
    username = _f(Text)
    org = _f(Text, nullable=True)
    active = _f(Flag)
    changed_at = _f(Moment)


class PlannedDue(Payload):
    """Planned work whose day has come (the pack's ``schedule``), for intake to file as a request
    with no requester (channel ``planned``) under the tracking code given."""
    org = _f(Text)
    tracking_code = _f(Text)
    sop = _f(Text)
    pack_version = _f(Whole)
    period = _f(Text)
    planned_on = _f(Day)
    subject = _f(Text)
    details = _f(Text)
    form_fields = _f(Mapping, data_key="fields")


class MaintenanceDue(PlannedDue):
    """Preventive maintenance of one asset of the register whose day has come (a pack's per-asset
    ``schedule``): intake files it like planned work, the asset's tag in its form."""
    asset_tag = _f(Text)


class CalendarChanged(Payload):
    day = _f(Day)
    kind = _f(Text, validate=validate.OneOf(("holiday", "workday", "reset")))
    name = _f(Text)


class AssetChecked(Payload):
    # the organisation it is of (the pack key): whose administrators see the mail it causes
    org = _f(Text, optional=True)
    tracking_code = _f(Text)
    asset_tag = _f(Text)
    found = _f(Flag)
    asset = _nested(AssetInfo, nullable=True)
    checked_at = _f(Moment)


class ContractSigned(WithContract):
    signed_on = _f(Day)
    starts_on = _f(Day)
    ends_on = _f(Day)
    warranty_ends_on = _f(Day, nullable=True)
    fine_rate_percent = _f(DecimalText)
    fine_basis = _f(Text)
    fine_min_per_day = _f(Money)
    milestones = _list(_items(MilestoneBrief))
    signed_by = _f(Text)


class MilestoneAdded(WithContract):
    milestone = _nested(MilestoneBrief)
    milestones = _list(_items(MilestoneBrief))
    added_by = _f(Text)


class MilestoneDelivered(WithContract):
    milestone = _nested(MilestoneBrief)
    fine_uncapped = _f(Money)
    recorded_by = _f(Text)


class MilestoneRejected(WithContract):
    milestone = _nested(MilestoneBrief)
    rejected_round = _f(Whole)
    acceptance = _nested(Acceptance)


class MilestoneAccepted(WithContract):
    milestone = _nested(MilestoneBrief)
    round = _f(Whole)
    members = _list(Whole())
    acceptance = _nested(Acceptance)


class MilestonePaid(WithContract):
    milestone = _nested(MilestoneBrief)
    payment_ref = _f(Text)
    note = _f(Text)
    contract_completed = _f(Flag)
    recorded_by = _f(Text)


class MilestoneDue(MilestoneNotice):
    days_ahead = _f(Whole)


class MilestoneOverdue(MilestoneNotice):
    days_late = _f(Whole)
    fine_so_far = _f(Money)


class Incident(Payload):
    id = _f(Whole)
    severity = _f(Text)
    description = _f(Text)
    reported_at = _f(Moment)
    reported_by = _f(Text)


class IncidentContract(Payload):
    id = _f(Whole)
    number = _f(Text)
    vendor_name = _f(Text)


class VendorRef(Payload):
    id = _f(Whole)
    name = _f(Text)


class IncidentRecipient(Payload):
    name = _f(Text)
    email = _f(Text)
    language = _f(Text)


class IncidentReported(Payload):
    # the organisation it is of (the pack key): whose administrators see the mail it causes
    org = _f(Text, optional=True)
    incident = _nested(Incident)
    contract = _nested(IncidentContract)
    project = _nested(NoticeProject)
    vendor = _nested(VendorRef)
    recipients = _list(_items(IncidentRecipient))


class ProjectCreated(ProcurementProject):
    title = _f(Text)
    kind = _f(Text)
    stage = _f(Text)
    budget = _f(Money, nullable=True)
    fiscal_year = _f(Whole, nullable=True)
    created_by = _f(Text)


class ProjectUpdated(ProcurementProject):
    changed = _list(Text(), data_key="fields")
    updated_by = _f(Text)


class ProjectStageChanged(ProcurementProject):
    stage = _f(Text)
    previous = _f(Text)
    changed_by = _f(Text)
    note = _f(Text)


class ProjectDocument(Payload):
    id = _f(Whole)
    name = _f(Text)
    ref = _f(Text)


class DocumentsAdded(ProcurementProject):
    kind = _f(Text)
    documents = _list(_items(ProjectDocument))
    added_by = _f(Text)


class QuoteAdded(ProcurementProject):
    quote_id = _f(Whole)
    vendor = _nested(VendorRef)
    amount = _f(Money)
    received_on = _f(Day)
    valid_until = _f(Day, nullable=True)
    reference_price = _f(Money, nullable=True)
    quote_count = _f(Whole)
    added_by = _f(Text)


class QuoteRemoved(ProcurementProject):
    quote_id = _f(Whole)
    vendor_id = _f(Whole)
    reference_price = _f(Money, nullable=True)
    quote_count = _f(Whole)
    removed_by = _f(Text)


class ApprovalDecided(ProcurementProject):
    approval_id = _f(Whole)
    kind = _f(Text)
    decision = _f(Text)
    decided_by = _f(Text)
    role = _f(Text)
    note = _f(Text)
    reference_price = _f(Money, nullable=True)


class CommitteeMember(Payload):
    id = _f(Whole)
    username = _f(Text, nullable=True)
    name = _f(Text)
    position = _f(Text)


class CommitteeAppointed(ProcurementProject):
    committee_id = _f(Whole)
    kind = _f(Text)
    order_ref = _f(Text)
    appointed_on = _f(Day, nullable=True)
    replaced = _f(Flag)
    members = _list(_items(CommitteeMember))
    appointed_by = _f(Text)


class Delivered(ProcurementProject):
    step = _f(Text, nullable=True)
    delivered_on = _f(Day)
    note = _f(Text)


class ProjectCancelled(ProcurementProject):
    previous = _f(Text)
    reason = _f(Text)
    cancelled_by = _f(Text)
    case_step = _f(Text, nullable=True)
    case_waiting_on = _f(Text, nullable=True)


class PurchaseOpened(ProcurementProject):
    step = _f(Text)
    title = _f(Text)


class ContractCompleted(Payload):
    # the organisation it is of (the pack key): whose administrators see the mail it causes
    org = _f(Text, optional=True)
    tracking_code = _f(Text)
    step = _f(Text, nullable=True)
    project_id = _f(Whole)
    contract_id = _f(Whole)
    contract_number = _f(Text)
    note = _f(Text)


class ErasureRequested(Payload):
    """What every service is to erase of a person: their cases, by tracking code (nothing
    personal travels: each service finds the person's data under the codes)."""
    request_id = _f(Text)
    reason = _f(Text, validate=validate.OneOf(("request", "retention")))
    org = _f(Text, nullable=True)
    tracking_codes = _list(Text())
    requested_at = _f(Moment)


class Erased(Payload):
    """A service's confirmation that it erased its part of an erasure request."""
    request_id = _f(Text)
    service = _f(Text)
    rows = _f(Whole)
    erased_at = _f(Moment)


class AdminChanged(Payload):
    """A setting an organisation's administrator changed in a service other than assignment (the
    privacy notice's words, kept by intake): for the administrators' one trail, which assignment
    keeps. ``before``/``after``: the values (None: none set)."""
    org = _f(Text, nullable=True)
    actor = _f(Text)
    kind = _f(Text, validate=validate.OneOf(("privacy-notice",)))
    key = _f(Text)
    before = _f(Mapping, nullable=True)
    after = _f(Mapping, nullable=True)
    changed_at = _f(Moment)


class RemindersChanged(Payload):
    """An organisation's milestone reminder settings, as its administrators set them: when they go
    out (``HH:MM``, Bangkok time) and how many working days ahead; None: the configuration's."""
    org = _f(Text)
    reminders_at = _f(Text, nullable=True)
    reminder_days = _f(fields.List, Whole(), nullable=True)
    changed_at = _f(Moment)


class BreachContact(Payload):
    """Whom the people affected may ask: the privacy officer who had them told."""
    name = _f(Text)
    email = _f(Text, nullable=True)


class BreachNoticeRequested(Payload):
    """The people affected by a personal-data breach are to be told (PDPA s.37(4)): the requesters
    of these cases (notify has their contacts), what happened and what was done."""
    breach_id = _f(Whole)
    org = _f(Text)
    tracking_codes = _list(Text())
    aware_at = _f(Moment)
    description = _f(Text)
    data_concerned = _f(Text)
    measures = _f(Text)
    contact = _nested(BreachContact)


class BreachDeadline(Payload):
    """A breach's 72 hours for telling the PDPC Office are nearly gone, or gone, with the Office
    neither told nor a reason recorded: the organisation's privacy officers are told."""
    breach_id = _f(Whole)
    org = _f(Text)
    aware_at = _f(Moment)
    pdpc_deadline = _f(Moment)
    description = _f(Text)
    risk = _f(Text, validate=validate.OneOf(("none", "risk", "high")))
    recipients = _list(_items(StaffContact))


# ---------------------------------------------------------------------------------------------
# the catalogue


@dataclass(frozen=True)
class EventType:
    """One event type at one version: who publishes it, its payload and what it says happened."""

    type: str
    version: int
    producer: str
    schema: type[Schema]
    description: str

    @property
    def consumers(self) -> tuple[str, ...]:
        return tuple(subscribers(self.type))


_ENTRIES = (
    # intake
    ("request.submitted", 1, "intake", RequestSubmitted,
     "A requester (or staff on their behalf) filed a request for an SOP; it is stored with its files' records."),
    ("request.answered", 1, "intake", RequestAnswered,
     "The requester answered a return for correction on the tracking page, with a note and any files."),
    ("survey.answered", 1, "intake", SurveyAnswered,
     "The requester scored a closed case (1-5) in the satisfaction survey."),
    # assignment: cases
    ("case.opened", 1, "assignment", CaseOpened,
     "A case was opened for a submitted request, its deadline set and its first step named."),
    ("case.step_started", 1, "assignment", StepStarted,
     "A step of a case started, with its assignee (if any) and due time."),
    ("case.step_waiting", 1, "assignment", StepWaiting,
     "A step that waits on someone outside the desk started (the requester, a vendor, a purchase, a contract)."),
    ("case.step_resumed", 1, "assignment", StepResumed,
     "A waiting step's wait ended (the awaited party answered, or staff went on by hand)."),
    ("case.step_completed", 1, "assignment", StepCompleted,
     "A step was finished with an outcome; says where the case goes next."),
    ("case.step_returned", 1, "assignment", StepReturned,
     "A step's outcome sent the case back (to an earlier step, or to the requester for correction)."),
    ("case.step_rejected", 1, "assignment", StepRejected,
     "A step's outcome turned the request down."),
    ("case.assigned", 1, "assignment", CaseAssigned,
     "A step was given to someone (by a head), or taken by someone who may act on it."),
    ("case.approval_asked", 1, "assignment", ApprovalAsked,
     "On a step several roles decide together (all_of, in_order): who is asked to decide now (each is "
     "mailed an approval needed), the decisions so far and the roles still to decide."),
    ("case.step_target_set", 1, "assignment", StepTargetSet,
     "The assignee set the target of a step whose target the assignee sets."),
    ("case.asset_lent", 1, "assignment", AssetLent,
     "A step lent the requester a machine from the asset register (e.g. a replacement while theirs is in "
     "repair); procurement records the loan, and its return when the case closes."),
    ("case.closed", 1, "assignment", CaseClosed,
     "A case was closed, completed or rejected."),
    ("sla.breached", 1, "assignment", SlaBreached,
     "A step's or a case's deadline passed with the work still open: its holder and the heads of the unit "
     "the work is with are told (escalation's level 1, once per deadline)."),
    ("sla.escalated", 1, "assignment", SlaEscalated,
     "A missed deadline is still open the pack's escalate_after working days after the heads were told: "
     "the organisation's director is told (escalation's level 2, once per deadline)."),
    ("staff.daily_summary", 1, "assignment", DailySummary,
     "A staff member's open work of the day was summed up for them (once a working day)."),
    ("staff.person_changed", 1, "assignment", PersonChanged,
     "A staff account was made, moved to another unit (and so perhaps another organisation), or had its "
     "roles or unit refreshed at sign-in; sopdesk users announce says it again of every account."),
    ("planned.due", 1, "assignment", PlannedDue,
     "Planned work's day came (a yearly, quarterly or monthly SOP of a pack's schedule): once per SOP and "
     "period, the first working day from the planned day; intake files it as a request with no requester."),
    ("calendar.changed", 1, "assignment", CalendarChanged,
     "An admin added a day off, made a library holiday a working day, or reset a day."),
    # procurement
    ("procurement.maintenance_due", 1, "procurement", MaintenanceDue,
     "Preventive maintenance of an asset of the register came due (a pack's per-asset schedule): once per SOP, "
     "period and asset; intake files it as a request with no requester, the asset's tag in its form."),
    ("procurement.asset_checked", 1, "procurement", AssetChecked,
     "The asset a request names was looked up in the register (found or not, warranty, lease, vendor)."),
    ("procurement.project_created", 1, "procurement", ProjectCreated,
     "A procurement project was created, by staff or for a case waiting on a contract."),
    ("procurement.project_updated", 1, "procurement", ProjectUpdated,
     "Fields of a procurement project were changed."),
    ("procurement.project_stage_changed", 1, "procurement", ProjectStageChanged,
     "A procurement project moved to another stage."),
    ("procurement.documents_added", 1, "procurement", DocumentsAdded,
     "Documents were added to a procurement project."),
    ("procurement.quote_added", 1, "procurement", QuoteAdded,
     "A vendor's quote was recorded on a project; the reference price was recomputed."),
    ("procurement.quote_removed", 1, "procurement", QuoteRemoved,
     "A quote was removed from a project; the reference price was recomputed."),
    ("procurement.approval_decided", 1, "procurement", ApprovalDecided,
     "An approver approved or rejected something of a project (its principle, budget, reference price...)."),
    ("procurement.committee_appointed", 1, "procurement", CommitteeAppointed,
     "A committee of a project was appointed (or replaced), with its members."),
    ("procurement.purchase_opened", 1, "procurement", PurchaseOpened,
     "A purchase project was opened for a case waiting on a procurement delivery."),
    ("procurement.delivered", 1, "procurement", Delivered,
     "What a case waited on was delivered: the case may go on (told once)."),
    ("procurement.project_cancelled", 1, "procurement", ProjectCancelled,
     "A procurement project was cancelled, with the reason."),
    ("procurement.contract_signed", 1, "procurement", ContractSigned,
     "A contract was signed with its milestones, terms and late-delivery fine."),
    ("procurement.milestone_added", 1, "procurement", MilestoneAdded,
     "A milestone was added to a contract (the milestones renumbered by due date)."),
    ("procurement.milestone_delivered", 1, "procurement", MilestoneDelivered,
     "The vendor's delivery of a milestone was recorded, with days late and the fine."),
    ("procurement.milestone_rejected", 1, "procurement", MilestoneRejected,
     "An inspection committee member rejected a milestone's delivery; the milestone is pending again."),
    ("procurement.milestone_accepted", 1, "procurement", MilestoneAccepted,
     "Every inspection committee member accepted a milestone's delivery."),
    ("procurement.milestone_paid", 1, "procurement", MilestonePaid,
     "An accepted milestone was paid, less its fine; says whether the contract is now completed."),
    ("procurement.contract_completed", 1, "procurement", ContractCompleted,
     "Every milestone of the contract a case waits on is accepted and paid: the case may go on (told once)."),
    ("procurement.milestone_due", 1, "procurement", MilestoneDue,
     "A milestone not yet delivered falls due in so many working days (a reminder)."),
    ("procurement.milestone_overdue", 1, "procurement", MilestoneOverdue,
     "A milestone was not delivered by its due date: days late and the fine so far."),
    ("procurement.incident_reported", 1, "procurement", IncidentReported,
     "An emergency on a contract was reported; the vendor's contacts are to be told at once."),
    # the PDPA's erasure: intake asks, every other service confirms its part
    ("privacy.erasure_requested", 1, "intake", ErasureRequested,
     "A person's data is to be erased (their request, or the retention period after their case closed): their cases' codes."),
    ("privacy.assignment_erased", 1, "assignment", Erased,
     "Assignment anonymised the cases of an erasure request (names, free text, files' names, envelopes)."),
    ("privacy.notify_erased", 1, "notify", Erased,
     "Notify anonymised the contacts and emails of an erasure request's cases, and their envelopes."),
    ("privacy.procurement_erased", 1, "procurement", Erased,
     "Procurement anonymised what it kept of an erasure request's cases (claims' notes, envelopes)."),
    # an organisation's settings that another service applies
    ("org.reminders_changed", 1, "assignment", RemindersChanged,
     "An organisation's administrators changed when its milestone reminders go out and how many working days ahead."),
    # the administrators' trail of what they change outside assignment
    ("admin.changed", 1, "intake", AdminChanged,
     "An organisation's administrator changed the words of its requesters' privacy notice (before, after)."),
    # the breach register (PDPA s.37(4)): the people affected told, and the 72-hour clock
    ("breach.notice_requested", 1, "assignment", BreachNoticeRequested,
     "A privacy officer had the people affected by a personal-data breach told: the requesters of its cases."),
    ("breach.pdpc_deadline_approaching", 1, "assignment", BreachDeadline,
     "24 hours are left of a breach's 72 for telling the PDPC Office, which is neither told nor excused."),
    ("breach.pdpc_deadline_passed", 1, "assignment", BreachDeadline,
     "A breach's 72 hours for telling the PDPC Office have passed with the Office neither told nor excused."),
)

CATALOGUE: dict[tuple[str, int], EventType] = {
    (type_, version): EventType(type_, version, producer, schema, description)
    for type_, version, producer, schema, description in _ENTRIES
}


def entry(event_type: str, version: int = 1) -> EventType | None:
    return CATALOGUE.get((event_type, version))


# ---------------------------------------------------------------------------------------------
# the checks

UNKNOWN_TYPE = "No such event type and version in the catalogue (shared/event_catalogue.py)."

# Whether ``shared.messaging`` checks payloads: ``SOPDESK_EVENT_CHECKS=enforce`` (the default, in
# production and in every test) or ``off``, an operator's emergency switch (say, to let a
# producer's unforeseen payload through until its fix is deployed); read once, at import. Any other
# value than ``off`` enforces: a typo must not turn the checks off.
ENFORCED = os.environ.get("SOPDESK_EVENT_CHECKS", "enforce").strip().lower() != "off"


class EventPayloadError(ValidationError):
    """A payload that does not match its event type's schema, or an event type the catalogue does
    not know. ``messages`` are by field, as marshmallow's."""


Check = Callable[[Any], Any]  # a value (not null) -> its errors (a list or dict), or None


def _compile_field(field: fields.Field) -> Check:
    """The check of one field's (non-null) value, giving the errors marshmallow would."""
    validators = list(field.validators)
    if isinstance(field, fields.Nested):
        nested = field.nested
        inner = _compile_schema(nested if isinstance(nested, type) else type(nested))

        def check(value):
            errors = inner(value)
            return errors or None
    elif isinstance(field, fields.List):
        item = field.inner
        item_check, item_null = _compile_field(item), item.error_messages["null"]
        item_allows_none = item.allow_none
        not_a_list = field.error_messages["invalid"]

        def check(value):
            if not isinstance(value, list):
                return [not_a_list]
            errors = {}
            for index, element in enumerate(value):
                if element is None:
                    if not item_allows_none:
                        errors[index] = [item_null]
                    continue
                found = item_check(element)
                if found is not None:
                    errors[index] = found
            return errors or None
    elif isinstance(field, _Typed):
        accepts, invalid = field.accepts, field.error_messages["invalid"]

        def check(value):
            return None if accepts(value) else [invalid]
    else:
        raise TypeError(f"the catalogue declares fields with its own types, List and Nested; not {field!r}")
    if not validators:
        return check

    def check_then_validate(value):
        errors = check(value)
        if errors is not None:
            return errors
        messages = []
        for validator in validators:
            try:
                validator(value)
            except ValidationError as exc:
                messages.extend(exc.messages if isinstance(exc.messages, list) else [exc.messages])
        return messages or None

    return check_then_validate


_compiled: dict[type[Schema], Callable[[Any], dict]] = {}


def _compile_schema(schema: type[Schema]) -> Callable[[Any], dict]:
    """A function giving a payload's errors by field (empty when it is valid), as
    ``schema().validate`` would, from the schema's fields read once."""
    found = _compiled.get(schema)
    if found is not None:
        return found
    declared = schema().fields
    specs = []
    for name, field in declared.items():
        specs.append((field.data_key or name, field.required, field.allow_none, field.error_messages["required"],
                      field.error_messages["null"], None))
    allowed = frozenset(key for key, *_ in specs)
    invalid_type = schema.error_messages.get("type") or Schema._default_error_messages["type"]
    unknown = Schema._default_error_messages["unknown"]

    def errors_of(payload: Any) -> dict:
        if not isinstance(payload, dict):
            return {"_schema": [invalid_type]}
        errors = {}
        for key, required, allows_none, missing, null, check in specs:
            if key not in payload:
                if required:
                    errors[key] = [missing]
                continue
            value = payload[key]
            if value is None:
                if not allows_none:
                    errors[key] = [null]
                continue
            found = check(value)
            if found is not None:
                errors[key] = found
        if not allowed.issuperset(payload):
            for key in payload:
                if key not in allowed:
                    errors[key] = [unknown]
        return errors

    _compiled[schema] = errors_of  # before compiling the fields: a schema may nest itself
    specs[:] = [(key, required, allows_none, missing, null, _compile_field(declared_field))
                for (key, required, allows_none, missing, null, _), declared_field in zip(specs, declared.values())]
    return errors_of


_CHECKS: dict[tuple[str, int], Callable[[Any], dict]] = {
    key: _compile_schema(spec.schema) for key, spec in CATALOGUE.items()
}


def register(event_type: str, version: int, producer: str, schema: type[Schema], description: str) -> EventType:
    """Add an event type to the catalogue, with its compiled check, until ``unregister``. For tests
    of the bus's own mechanics (retries, batches) with a type no service publishes, so that they
    run with the checks on; the product's events are declared in ``_ENTRIES`` above, never here.
    A type and version the catalogue has already is refused."""
    key = (event_type, version)
    if key in CATALOGUE:
        raise ValueError(f"{event_type} v{version} is in the catalogue already")
    spec = CATALOGUE[key] = EventType(event_type, version, producer, schema, description)
    _CHECKS[key] = _compile_schema(schema)
    _REGISTERED.add(key)
    return spec


def unregister(event_type: str, version: int = 1) -> None:
    """Remove what ``register`` added (never an entry of ``_ENTRIES``)."""
    key = (event_type, version)
    if key not in _REGISTERED:
        raise LookupError(f"{event_type} v{version} was not added by register")
    _REGISTERED.discard(key)
    del CATALOGUE[key], _CHECKS[key]


_REGISTERED: set[tuple[str, int]] = set()


def payload_errors(event_type: str, version: int, payload: Any) -> dict:
    """What is wrong with an event's payload, by field (empty when nothing is); an event type and
    version the catalogue does not know is wrong as a whole (``_schema``)."""
    check = _CHECKS.get((event_type, version))
    if check is None:
        return {"_schema": [UNKNOWN_TYPE]}
    return check(payload)


def marshmallow_errors(event_type: str, version: int, payload: Any) -> dict:
    """The same answer from marshmallow itself (``Schema.validate``): the reference the compiled
    check is tested against, and the slower way to the same result."""
    spec = CATALOGUE.get((event_type, version))
    if spec is None:
        return {"_schema": [UNKNOWN_TYPE]}
    return spec.schema().validate(payload)


def check_payload(event_type: str, version: int, payload: Any) -> None:
    """Raise ``EventPayloadError`` unless the payload matches its (type, version) in the catalogue
    (an unknown type or version is refused)."""
    check = _CHECKS.get((event_type, version))
    errors = {"_schema": [UNKNOWN_TYPE]} if check is None else check(payload)
    if errors:
        raise EventPayloadError({"type": event_type, "version": version, "payload": errors})


# ---------------------------------------------------------------------------------------------
# the rendered catalogue


def _type_name(field: fields.Field) -> str:
    if isinstance(field, fields.Nested):
        return "object"
    if isinstance(field, fields.List):
        inner = field.inner
        return "list of objects" if isinstance(inner, fields.Nested) else f"list of {_type_name(inner)}"
    extra = ""
    for validator in field.validators:
        if isinstance(validator, validate.OneOf):
            extra = f": one of {', '.join(map(str, validator.choices))}"
        elif isinstance(validator, validate.Range):
            extra = f": {validator.min} to {validator.max}"
    return f"{getattr(field, 'type_name', type(field).__name__)}{extra}"


def _rows(schema: type[Schema], prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(field, type, required, nullable) of a schema's fields, nested objects spelled out as
    ``parent.child`` (``parent[].child`` for the objects of a list)."""
    rows = []
    for name, field in schema().fields.items():
        path = f"{prefix}{field.data_key or name}"
        rows.append((f"`{path}`", _type_name(field), "yes" if field.required else "no",
                     "yes" if field.allow_none else "no"))
        if isinstance(field, fields.Nested):
            rows.extend(_rows(_schema_class(field.nested), f"{path}."))
        elif isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
            rows.extend(_rows(_schema_class(field.inner.nested), f"{path}[]."))
    return rows


def _schema_class(nested) -> type[Schema]:
    return nested if isinstance(nested, type) else type(nested)


def render_markdown() -> str:
    """The whole catalogue as Markdown: an index, then every event type and version with its
    producer, consumers, description and payload fields."""
    ordered = sorted(CATALOGUE.values(), key=lambda e: (e.type, e.version))
    out = [
        "# Events",
        "",
        "Every event type a sopdesk service publishes, its payload and who hears it. Generated from",
        "`shared/event_catalogue.py` (the schemas) and `shared/routing.py` (the subscriptions) by",
        "`sopdesk events catalogue`; do not edit it by hand (a test compares it with the generator).",
        "",
        "Every event travels in the envelope of `shared/events.py` (`id`, `type`, `version`, `occurred_at`,",
        "`source`, `correlation_id`, `payload`). Its payload is checked against the schema of its type and",
        "version when it is published (a payload that does not match, or a type and version not listed here,",
        "raises in the producer, and nothing commits) and when it is consumed (a payload that does not match",
        "is a dead letter); `SOPDESK_EVENT_CHECKS=off` turns both checks off, for an emergency only. A",
        "payload key not listed here is refused. Times are ISO 8601 with their zone (UTC); money is text",
        "with two decimals. Consumers `(none)`: the event is kept in its producer's outbox (history) and",
        "sent to nobody.",
        "",
        f"{len(ordered)} event types.",
        "",
        "| Event | Version | Producer | Consumers | What happened |",
        "| --- | --- | --- | --- | --- |",
    ]
    for spec in ordered:
        out.append(f"| [`{spec.type}`](#{_anchor(spec)}) | {spec.version} | {spec.producer} | "
                   f"{', '.join(spec.consumers) or '(none)'} | {spec.description} |")
    for spec in ordered:
        out += [
            "",
            f"## {spec.type} v{spec.version}",
            "",
            spec.description,
            "",
            f"- Producer: {spec.producer}",
            f"- Consumers: {', '.join(spec.consumers) or '(none)'}",
            "",
            "| Field | Type | Required | Nullable |",
            "| --- | --- | --- | --- |",
        ]
        out += [f"| {path} | {kind} | {required} | {nullable} |" for path, kind, required, nullable in _rows(spec.schema)]
    return "\n".join(out) + "\n"


def _anchor(spec: EventType) -> str:
    """GitHub's anchor of the heading ``<type> v<version>``."""
    return re.sub(r"[^a-z0-9 _-]", "", f"{spec.type} v{spec.version}".lower()).replace(" ", "-")
