"""The shapes of what intake takes and gives. The request schema is built per SOP from its pack
(the SOP's own form fields) and per language (the messages next to each field)."""
from __future__ import annotations

import functools
import re

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate, validates

from shared.i18n import LANGUAGES, translate
from shared.packs import Sop, find_sop

CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
CONTROL_EXCEPT_NEWLINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
PHONE = re.compile(r"^[0-9+()\- ]{3,40}$")

MESSAGES = {
    "required": {"th": "กรุณากรอกช่องนี้", "en": "This field is required."},
    "null": {"th": "กรุณากรอกช่องนี้", "en": "This field is required."},
    "invalid_email": {"th": "รูปแบบอีเมลไม่ถูกต้อง", "en": "Not a valid email address."},
    "invalid_date": {"th": "รูปแบบวันที่ไม่ถูกต้อง (ปปปป-ดด-วว)", "en": "Not a valid date (YYYY-MM-DD)."},
    "invalid_datetime": {"th": "รูปแบบวันเวลาไม่ถูกต้อง (ISO 8601 พร้อมเขตเวลา)",
                         "en": "Not a valid date and time (ISO 8601 with a time zone)."},
    "too_long": {"th": "ยาวเกิน {max} ตัวอักษร", "en": "Longer than {max} characters."},
    "invalid_phone": {"th": "หมายเลขโทรศัพท์ไม่ถูกต้อง", "en": "Not a valid telephone number."},
    "invalid_choice": {"th": "ตัวเลือกไม่ถูกต้อง", "en": "Not one of the choices."},
    "invalid_boolean": {"th": "ต้องเป็นจริงหรือเท็จ", "en": "Must be true or false."},
    "invalid_string": {"th": "ต้องเป็นข้อความ", "en": "Must be text."},
    "invalid_number": {"th": "ต้องเป็นตัวเลข", "en": "Must be a number."},
    "invalid_url": {"th": "รูปแบบที่อยู่เว็บไม่ถูกต้อง (https://...)", "en": "Not a valid web address (https://...)."},
    "staff_only": {"th": "เฉพาะเจ้าหน้าที่ที่ยื่นคำขอแทนผู้รับบริการเท่านั้น",
                   "en": "Only staff filing on a requester's behalf may set this."},
}


def msg(key: str, lang: str, **values) -> str:
    text = MESSAGES[key].get(lang, MESSAGES[key]["en"])
    return text.format(**values) if values else text


def _no_control(lang: str, allow_newlines: bool = False):
    pattern = CONTROL_EXCEPT_NEWLINES if allow_newlines else CONTROL

    def check(value: str) -> None:
        if isinstance(value, str) and pattern.search(value):
            raise ValidationError(translate("errors.no_control_chars", lang))

    return check


def _text(lang: str, required: bool, max_length: int, multiline: bool = False, allow_none: bool = False):
    return fields.String(
        required=required,
        allow_none=allow_none,
        validate=[
            validate.Length(min=1 if required else 0, max=max_length, error=msg("too_long", lang, max=max_length)),
            _no_control(lang, allow_newlines=multiline),
        ],
        error_messages={"required": msg("required", lang), "null": msg("required", lang),
                        "invalid": msg("invalid_string", lang)},
    )


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


def _base_fields(lang: str) -> dict:
    required = {"required": msg("required", lang), "null": msg("required", lang)}
    return {
        "sop": fields.String(required=True, error_messages=required),
        "requester_name": _text(lang, True, 200),
        "requester_email": fields.Email(
            required=True,
            validate=[validate.Length(max=254, error=msg("too_long", lang, max=254)), _no_control(lang)],
            error_messages={**required, "invalid": msg("invalid_email", lang)},
        ),
        "requester_phone": fields.String(
            load_default=None, allow_none=True,
            validate=validate.Regexp(PHONE, error=msg("invalid_phone", lang)),
        ),
        "requester_unit": _text(lang, True, 200),
        "subject": _text(lang, True, 300),
        "details": _text(lang, True, 5000, multiline=True),
        "consent": fields.Boolean(
            required=True,
            validate=validate.Equal(True, error=translate("errors.consent", lang)),
            error_messages={"required": translate("errors.consent", lang), "invalid": msg("invalid_boolean", lang)},
        ),
        "language": fields.String(load_default=None, validate=validate.OneOf(LANGUAGES)),
        "received_at": fields.AwareDateTime(
            load_default=None,
            error_messages={"invalid": msg("invalid_datetime", lang), "invalid_awareness": msg("invalid_datetime", lang)},
        ),
    }


def _sop_field(field, lang: str):
    # an optional field may be left out or empty; a required one must be there
    presence = {"required": True} if field.required else {"load_default": None, "allow_none": True}
    required = {"required": msg("required", lang), "null": msg("required", lang)}
    if field.type == "date":
        return fields.Date(**presence, error_messages={**required, "invalid": msg("invalid_date", lang)})
    if field.type == "datetime":
        return fields.AwareDateTime(**presence, default_timezone=None, error_messages={
            **required, "invalid": msg("invalid_datetime", lang), "invalid_awareness": msg("invalid_datetime", lang)})
    if field.type == "number":
        return fields.Float(**presence, allow_nan=False, error_messages={**required,
                                                                          "invalid": msg("invalid_number", lang)})
    if field.type == "email":
        return fields.Email(**presence, validate=validate.Length(max=field.max_length),
                            error_messages={**required, "invalid": msg("invalid_email", lang)})
    if field.type == "url":
        return fields.Url(**presence, schemes={"http", "https"}, validate=validate.Length(max=field.max_length),
                          error_messages={**required, "invalid": msg("invalid_url", lang)})
    if field.type == "select":
        return fields.String(**presence, validate=validate.OneOf(field.choices, error=msg("invalid_choice", lang)),
                             error_messages=required)
    return _text(lang, field.required, field.max_length, multiline=field.type == "textarea",
                 allow_none=not field.required)


class SubmitRequestSchema(_StripStrings):
    """What every request carries (documentation of ``POST /intake/requests``); each SOP adds its
    own form fields from its pack."""

    sop = fields.String(required=True, metadata={"description": "catalog key, e.g. sesao-sc/repair"})
    requester_name = fields.String(required=True)
    requester_email = fields.Email(required=True)
    requester_phone = fields.String()
    requester_unit = fields.String(required=True)
    subject = fields.String(required=True)
    details = fields.String(required=True)
    consent = fields.Boolean(required=True, metadata={"description": "PDPA consent; must be true"})
    language = fields.String(metadata={"description": "th (default) or en: the language of the emails"})
    received_at = fields.AwareDateTime(metadata={"description": "staff only: when a paper request arrived"})


@functools.lru_cache(maxsize=256)
def request_schema(sop_key: str | None, lang: str, staff: bool = False) -> Schema:
    """The validating schema for one SOP's request, messages in ``lang``. Staff may also open
    planned work (an SOP without a requester, e.g. a yearly server audit)."""
    attrs = _base_fields(lang)
    sop: Sop | None = find_sop(sop_key) if sop_key else None
    if sop is not None:
        for field in sop.form:
            attrs[field.name] = _sop_field(field, lang)

    def check_sop(self, value, **_):
        found = find_sop(value)
        if found is None or not (found.requester or staff):
            raise ValidationError(translate("errors.unknown_sop", lang))

    attrs["_check_sop"] = validates("sop")(check_sop)
    return type("RequestSchema", (_StripStrings,), attrs)()


class SubmittedSchema(Schema):
    tracking_code = fields.String(required=True)
    status_url = fields.String(required=True, metadata={"description": "the tracking page, with its token"})


class TrackStepSchema(Schema):
    step = fields.String()
    title = fields.String()
    role = fields.String()
    round = fields.Integer()
    status = fields.String()
    started_at = fields.AwareDateTime()
    completed_at = fields.AwareDateTime(allow_none=True)
    due_at = fields.AwareDateTime(allow_none=True)


class TrackSchema(Schema):
    tracking_code = fields.String()
    sop = fields.String()
    sop_title = fields.String()
    subject = fields.String()
    status = fields.String()
    status_text = fields.String()
    received_at = fields.AwareDateTime()
    current_step = fields.String(allow_none=True)
    due_at = fields.AwareDateTime(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    steps = fields.List(fields.Nested(TrackStepSchema))
