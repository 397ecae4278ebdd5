"""The shapes of what intake takes and gives. The request schema is built per SOP from its pack
(the SOP's own form fields) and per language (the messages next to each field).

Files are not in these schemas: they come as multipart parts and are checked by ``files`` (size,
kind from their bytes). A JSON body cannot carry files, so a file field's value in JSON is
dropped like any field the SOP does not ask for."""
from __future__ import annotations

import functools
import re

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate, validates, validates_schema

from services.intake.messages import t
from shared import dates, db
from shared.i18n import LANGUAGES, translate
from shared.inputs import Day
from shared.openapi import checked
from shared.packs import Sop, find_sop

CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
CONTROL_EXCEPT_NEWLINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
PHONE = re.compile(r"^[0-9+()\- ]{3,40}$")
STAFF_CHANNELS = ("paper", "telephone", "walk-in")
# the channels where a caller may give a phone number only (no email): they asked in person or by
# telephone, and are told by telephone; notify writes to no one
PHONE_ONLY_CHANNELS = ("telephone", "walk-in")
FUTURE_TOLERANCE_SECONDS = 600  # clocks differ a little; a paper request cannot arrive tomorrow


def msg(key: str, lang: str, **values) -> str:
    return t(f"intake.v.{key}", lang, **values)


def _no_control(lang: str, allow_newlines: bool = False):
    pattern = CONTROL_EXCEPT_NEWLINES if allow_newlines else CONTROL

    def check(value: str) -> None:
        if isinstance(value, str) and pattern.search(value):
            raise ValidationError(translate("errors.no_control_chars", lang))

    return check


def _required(lang: str) -> dict:
    return {"required": msg("required", lang), "null": msg("required", lang)}


def _text(lang: str, required: bool, max_length: int, multiline: bool = False, allow_none: bool = False):
    return fields.String(
        required=required,
        allow_none=allow_none,
        validate=[
            validate.Length(min=1 if required else 0, max=max_length, error=msg("too_long", lang, max=max_length)),
            _no_control(lang, allow_newlines=multiline),
        ],
        error_messages={**_required(lang), "invalid": msg("invalid_string", lang)},
    )


ThaiDate = Day  # a date as people type it (shared.inputs); the form gives its words per language


class ThaiDateTime(fields.Field):
    """A date and time: 19/11/2569 14:30 or 2026-11-19T14:30 (Bangkok time), or ISO 8601 with a
    zone. Loaded as an aware UTC datetime."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return dates.parse_datetime(value)
        except (ValueError, TypeError):
            raise self.make_error("invalid") from None

    def _serialize(self, value, attr, obj, **kwargs):
        return value.isoformat() if value is not None else None


class Score(fields.Field):
    """1 to 5, as a number (JSON) or its digit (a form)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or not 1 <= value <= 5:
            raise self.make_error("invalid")
        return value


class _StripStrings(Schema):
    class Meta:
        unknown = EXCLUDE  # fields a form does not need are dropped, never stored

    @pre_load
    def strip(self, data, **_):
        if not isinstance(data, dict):
            return data
        cleaned = {}
        for key, value in data.items():
            if isinstance(value, str):
                value = value.strip()
                if value == "":
                    continue  # an empty form field is a missing one
            cleaned[key] = value
        return cleaned


def _not_in_future(lang: str):
    def check(value) -> None:
        if value is not None and (value - db.utcnow()).total_seconds() > FUTURE_TOLERANCE_SECONDS:
            raise ValidationError(msg("future", lang))

    return check


def _base_fields(lang: str, staff: bool = False) -> dict:
    # staff filing a telephone or walk-in request may leave the email out (the phone is then
    # required: ``_email_or_phone``)
    email_presence = {"load_default": None, "allow_none": True} if staff else {"required": True}
    return {
        "sop": fields.String(required=True, error_messages=_required(lang)),
        "requester_name": _text(lang, True, 200),
        "requester_email": fields.Email(
            **email_presence,
            validate=[validate.Length(max=254, error=msg("too_long", lang, max=254)), _no_control(lang)],
            error_messages={**_required(lang), "invalid": msg("invalid_email", lang)},
        ),
        "requester_phone": fields.String(
            load_default=None,
            validate=validate.Regexp(PHONE, error=msg("invalid_phone", lang)),
            error_messages={"invalid": msg("invalid_phone", lang)},
        ),
        "requester_unit": _text(lang, True, 200),
        "subject": _text(lang, True, 300),
        "details": _text(lang, True, 5000, multiline=True),
        "consent": fields.Boolean(
            required=True,
            validate=validate.Equal(True, error=translate("errors.consent", lang)),
            error_messages={"required": translate("errors.consent", lang), "null": translate("errors.consent", lang),
                            "invalid": msg("invalid_boolean", lang)},
        ),
        "language": fields.String(load_default=None, validate=validate.OneOf(LANGUAGES)),
        # staff filing a paper or telephone request (the view refuses both from anyone else)
        "received_at": ThaiDateTime(load_default=None, validate=_not_in_future(lang),
                                    error_messages={"invalid": msg("invalid_datetime", lang)}),
        "channel": fields.String(load_default=None,
                                 validate=validate.OneOf(STAFF_CHANNELS, error=msg("invalid_choice", lang)),
                                 error_messages={"invalid": msg("invalid_choice", lang)}),
    }


def _sop_field(field, lang: str):
    # an optional field may be left out or empty; a required one must be there
    presence = {"required": True} if field.required else {"load_default": None, "allow_none": True}
    required = _required(lang)
    if field.type == "date":
        return ThaiDate(**presence, error_messages={**required, "invalid": msg("invalid_date", lang)})
    if field.type == "datetime":
        return ThaiDateTime(**presence, error_messages={**required, "invalid": msg("invalid_datetime", lang)})
    if field.type == "number":
        return fields.Float(**presence, allow_nan=False, error_messages={
            **required, "invalid": msg("invalid_number", lang), "special": msg("invalid_number", lang),
            "too_large": msg("invalid_number", lang)})
    if field.type == "email":
        return fields.Email(**presence, validate=[validate.Length(max=field.max_length,
                                                                  error=msg("too_long", lang, max=field.max_length)),
                                                  _no_control(lang)],
                            error_messages={**required, "invalid": msg("invalid_email", lang)})
    if field.type == "url":
        return fields.Url(**presence, schemes={"http", "https"},
                          validate=validate.Length(max=field.max_length, error=msg("too_long", lang,
                                                                                   max=field.max_length)),
                          error_messages={**required, "invalid": msg("invalid_url", lang)})
    if field.type == "select":
        return fields.String(**presence, validate=validate.OneOf(field.choices, error=msg("invalid_choice", lang)),
                             error_messages={**required, "invalid": msg("invalid_choice", lang)})
    return _text(lang, field.required, field.max_length, multiline=field.type == "textarea",
                 allow_none=not field.required)


# what a text field takes, as the OpenAPI document says it: something besides spaces, and no
# control character (a multi-line one keeps its newlines and tabs)
LINE_PATTERN = r"^[^\x00-\x1f\x7f\u2028\u2029]*[^\s\x00-\x1f\x7f\u2028\u2029][^\x00-\x1f\x7f\u2028\u2029]*$"
LINES_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*[^\s\x00-\x08\x0b\x0c\x0e-\x1f\x7f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


def _line(max_length: int, pattern: str = LINE_PATTERN, **metadata) -> fields.String:
    return fields.String(required=True, validate=validate.Length(min=1, max=max_length),
                         metadata={"pattern": pattern, **metadata})


class SubmitRequestSchema(_StripStrings):
    """What every request carries (documentation of ``POST /intake/requests``, saying what
    ``request_schema`` checks); each SOP adds its own form fields from its pack. File fields are
    multipart parts of a form post."""

    sop = fields.String(required=True, metadata=checked(
        "a catalog key of a loaded pack's SOP that takes requests (staff may file planned work too); "
        "the SOP's own form fields are then checked as its pack says (GET /intake/forms/<pack>/<sop>)",
        description="catalog key, e.g. sesao-sc/repair", example="sesao-sc/repair"))
    requester_name = _line(200, example="ครูสมชาย รักเรียน")
    requester_email = fields.Email(validate=validate.Length(max=254), metadata={**checked(
        "required, except from staff filing a telephone or walk-in request (channel) with requester_phone",
        description="where the requester's emails go; a caller with a phone only has none"),
        "example": "somchai@school.example"})
    requester_phone = fields.String(allow_none=True, metadata={"pattern": r"^[0-9+()\-][0-9+()\- ]{1,38}[0-9+()\-]$"})
    requester_unit = _line(200, example="โรงเรียนบ้านนา")
    subject = _line(300, example="เครื่องพิมพ์กระดาษติด")
    details = _line(5000, LINES_PATTERN, example="พิมพ์ไม่ออก")
    consent = fields.Boolean(required=True, metadata={"description": "PDPA consent; must be true", "enum": [True]})
    language = fields.String(validate=validate.OneOf(LANGUAGES),
                             metadata={"description": "th (default) or en: the language of the emails"})
    received_at = fields.String(metadata=checked("staff only, and not in the future", description=(
        "when a paper or telephone request arrived (ISO 8601; without a zone, Bangkok time; 19/11/2569 14:30 in "
        "the Buddhist era is read too)")))
    channel = fields.String(validate=validate.OneOf(STAFF_CHANNELS),
                            metadata=checked("staff only", description="paper, telephone or walk-in"))
    csrf_token = fields.String(metadata={
        "description": "sopdesk's own form's token; a form post without it is taken only from an allowed origin"})


@functools.lru_cache(maxsize=256)
def request_schema(sop_key: str | None, lang: str, staff: bool = False) -> Schema:
    """The validating schema for one SOP's request, messages in ``lang``. Staff may also open
    planned work (an SOP without a requester, e.g. a yearly server audit)."""
    attrs = _base_fields(lang, staff)
    sop: Sop | None = find_sop(sop_key) if sop_key else None
    if sop is not None:
        for field in sop.form:
            if field.type != "file":
                attrs[field.name] = _sop_field(field, lang)

    def check_sop(self, value, **_):
        found = find_sop(value)
        if found is None or not (found.requester or staff):
            raise ValidationError(translate("errors.unknown_sop", lang))

    attrs["_check_sop"] = validates("sop")(check_sop)

    def email_or_phone(self, data, **_):
        """A caller with no email ("077-205317": a telephone consultation) is filed by staff for a
        telephone or walk-in request, with the phone number to call back; anyone else gives an email."""
        if data.get("requester_email"):
            return
        if data.get("channel") not in PHONE_ONLY_CHANNELS:
            raise ValidationError(msg("email_unless_phone", lang), "requester_email")
        if not data.get("requester_phone"):
            raise ValidationError(msg("phone_or_email", lang), "requester_phone")

    if staff:
        attrs["_email_or_phone"] = validates_schema(email_or_phone)
    return type("RequestSchema", (_StripStrings,), attrs)()


@functools.lru_cache(maxsize=8)
def answer_schema(lang: str) -> Schema:
    return type("AnswerSchema", (_StripStrings,), {"note": _text(lang, True, 5000, multiline=True)})()


@functools.lru_cache(maxsize=8)
def survey_schema(lang: str) -> Schema:
    return type("SurveySchema", (_StripStrings,), {
        "score": Score(required=True, error_messages={"required": msg("score", lang), "null": msg("score", lang),
                                                      "invalid": msg("score", lang)}),
        "comment": _text(lang, False, 2000, multiline=True, allow_none=True),
    })()


class SubmittedSchema(Schema):
    tracking_code = fields.String(required=True)
    status_url = fields.String(required=True, metadata={"description": "the tracking page, with its token"})


class AnswerRequestSchema(Schema):
    """``POST /intake/track/<code>/answer``: the requester's answer to a return for correction."""

    note = fields.String(required=True, metadata={"description": "what was corrected, or the answer"})
    outcome = fields.String(metadata={"description": "where their step offers several outcomes (a re-check: "
                                                    "confirmed, or a correction asked): the one they choose "
                                                    "(asked.choices[].key on the tracking page's JSON)"})
    files = fields.Raw(metadata={"description": "multipart only: corrected or extra files (several allowed)"})
    csrf_token = fields.String(metadata={"description": "the tracking page's token (form posts)"})


class AnsweredSchema(Schema):
    tracking_code = fields.String()
    step = fields.String()
    round = fields.Integer()
    answered_at = fields.AwareDateTime()
    attachments = fields.List(fields.Dict())


class SurveyRequestSchema(Schema):
    score = fields.Integer(required=True, metadata={"description": "1 (very dissatisfied) to 5 (very satisfied)"})
    comment = fields.String(metadata={"description": "optional"})
    csrf_token = fields.String(metadata={"description": "the survey page's token (form posts)"})


class SurveyAnsweredSchema(Schema):
    tracking_code = fields.String()
    score = fields.Integer()
    answered_at = fields.AwareDateTime()


class AttachmentSchema(Schema):
    id = fields.String()
    field = fields.String()
    name = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    url = fields.String(metadata={"description": "download link (carries the tracking token)"})


class TrackStepSchema(Schema):
    step = fields.String()
    title = fields.String()
    role = fields.String()
    role_text = fields.String()
    round = fields.Integer()
    status = fields.String()
    started_at = fields.AwareDateTime()
    completed_at = fields.AwareDateTime(allow_none=True)
    due_at = fields.AwareDateTime(allow_none=True)
    waiting_on = fields.String(allow_none=True)
    message = fields.String(allow_none=True, metadata={"description": "what the step told the requester"})
    files = fields.List(fields.Dict(), metadata={
        "description": "files the step gave the requester: {id, key, name, content_type, size, url} (the url "
                       "carries the tracking token)"})


class ChoiceSchema(Schema):
    key = fields.String()
    label = fields.String()


class AskedSchema(Schema):
    step = fields.String()
    round = fields.Integer()
    note = fields.String(allow_none=True)
    answered = fields.Boolean()
    answer_url = fields.String()
    choices = fields.List(fields.Nested(ChoiceSchema), metadata={
        "description": "where the step offers several outcomes: the one to send as the answer's outcome"})


class SurveyStateSchema(Schema):
    available = fields.Boolean()
    score = fields.Integer(allow_none=True)
    url = fields.String(allow_none=True)


class TrackSchema(Schema):
    tracking_code = fields.String()
    sop = fields.String()
    sop_title = fields.String()
    subject = fields.String()
    status = fields.String()
    status_text = fields.String()
    result = fields.String(allow_none=True)
    result_text = fields.String(allow_none=True)
    received_at = fields.AwareDateTime()
    current_step = fields.String(allow_none=True)
    next = fields.Nested(TrackStepSchema, allow_none=True, metadata={"description": "the current step and its role"})
    due_at = fields.AwareDateTime(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    steps = fields.List(fields.Nested(TrackStepSchema))
    steps_done = fields.List(fields.Nested(TrackStepSchema))
    attachments = fields.List(fields.Nested(AttachmentSchema))
    asked = fields.Nested(AskedSchema, allow_none=True,
                          metadata={"description": "what a return for correction asks of the requester"})
    rejection = fields.String(allow_none=True, metadata={"description": "why the request was turned down"})
    survey = fields.Nested(SurveyStateSchema)


# ---------------------------------------------------------------------------------------------
# the public service statistics (GET /intake/statistics): counts and shares, no personal data


class SatisfactionFiguresSchema(Schema):
    answers = fields.Integer(metadata={"description": "satisfaction answers given in the period (by the day answered)"})
    mean = fields.Float(allow_none=True, metadata={"description": "their mean score (1-5), two decimals; null: none"})
    satisfied_share = fields.Float(allow_none=True, metadata={
        "description": "percent of the answers that gave 4 or 5, one decimal; null: no answers"})


class FiguresSchema(Schema):
    received = fields.Integer(metadata={"description": "requests received in the period (by the Bangkok day)"})
    completed = fields.Integer(metadata={"description": "requests closed in the period with the result completed"})
    closed = fields.Integer(metadata={"description": "requests closed in the period, whatever the result"})
    on_time = fields.Integer(metadata={"description": "of those closed, closed at or before their deadline"})
    late = fields.Integer(metadata={"description": "of those closed, closed after their deadline"})
    on_time_share = fields.Float(allow_none=True, metadata={
        "description": "on_time of (on_time + late) in percent, one decimal; those closed without a deadline are "
                       "left out; null when none closed with a deadline"})
    satisfaction = fields.Nested(SatisfactionFiguresSchema)


class HalfFiguresSchema(FiguresSchema):
    from_ = fields.Date(data_key="from", attribute="from", metadata={"description": "the half's first day"})
    to = fields.Date(metadata={"description": "its last day (October-March, April-September)"})


class PeriodFiguresSchema(Schema):
    year = fields.Nested(FiguresSchema)
    halves = fields.List(fields.Nested(HalfFiguresSchema), metadata={
        "description": "the fiscal year's first half (October-March) and second half (April-September)"})


class SopFiguresSchema(PeriodFiguresSchema):
    sop = fields.String(metadata={"description": "the SOP's key, pack/sop"})
    number = fields.String(metadata={"description": "its number in the organisation's manual"})
    title = fields.Dict(keys=fields.String(), values=fields.String(), metadata={"description": "{th, en}"})


class StatisticsPeriodSchema(Schema):
    from_ = fields.Date(data_key="from", attribute="from")
    to = fields.Date()


class StatisticsSchema(Schema):
    organisation = fields.String(metadata={"description": "the pack's key"})
    organisation_title = fields.Dict(keys=fields.String(), values=fields.String(), metadata={"description": "{th, en}"})
    fiscal_year = fields.Integer(metadata={"description": "Thai fiscal year in the Buddhist era"})
    period = fields.Nested(StatisticsPeriodSchema)
    generated_at = fields.AwareDateTime()
    totals = fields.Nested(PeriodFiguresSchema, metadata={"description": "over every SOP of the organisation"})
    sops = fields.List(fields.Nested(SopFiguresSchema))
