"""The shapes of what the vendor and asset endpoints take and give, and of one row of an asset
CSV file. Money is a string with satang ("12500.00"); dates are ISO (``2026-11-18``), except in
CSV files, which may also write the Thai day/month/Buddhist-era year (``18/11/2569``)."""
from __future__ import annotations

import re
from datetime import date

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from services.procurement.adapters.models import ASSET_STATUSES, OWNERSHIP
from services.procurement.handlers.vendors import normalise_tax_id, valid_tax_id
from services.procurement.schemas.money import Money
from services.procurement.schemas.org import Org, OrgOut
from shared.inputs import Id
from shared.web import FieldErrorsSchema
from shared.openapi import checked

# a tag (หมายเลขครุภัณฑ์) may hold slashes (7440-001-0001/2566) but no spaces around it, no
# control characters, nothing a URL would take apart, and no path segment the routes use
TAG_PATTERN = re.compile(r"^(?!.*//)[^\s/?#%\\][^?#%\\\x00-\x1f\x7f]*(?<![\s/])$")
RESERVED_TAGS = frozenset({"import", "export.csv"})


def validate_tag(value: str) -> None:
    if not TAG_PATTERN.match(value) or value in RESERVED_TAGS or "loans" in value.split("/"):
        raise ValidationError("a tag is letters, digits and - / . _ ( ), without spaces at its ends")


TAG_DOC = checked("letters, digits and - / . _ ( ); no spaces at its ends, no control characters, no ? # % \\ "
                  "or //; not import, export.csv or a part named loans",
                  description="the asset's number (หมายเลขครุภัณฑ์)")


def validate_tax_id(value: str) -> None:
    if not valid_tax_id(normalise_tax_id(value)):
        raise ValidationError("not a valid tax id: 13 digits with the right check digit")


# the OpenAPI document says the whole rule: the digits by the pattern, the check digit by the format
TAX_ID_DOC = {"pattern": r"^[0-9]{13}$", "format": "thai-tax-id", **checked(
    "the last digit is the check digit of the first twelve: (11 - (sum of digit i times (13 - i), i = 0..11) "
    "mod 11) mod 10", description="a Thai tax id: 13 digits (dashes and spaces are ignored)")}


def TaxId(description: str = "", **kwargs) -> fields.String:  # noqa: N802
    """A tax id taken in: checked, and documented with its rule."""
    metadata = dict(TAX_ID_DOC)
    if description:
        metadata["description"] = f"{description}: {metadata['description']}"
    return fields.String(validate=validate_tax_id, metadata=metadata, **kwargs)


class PaperDate(fields.Field):
    """A date as people write it on paper: ISO ``2026-11-18``, or day/month/year
    ``18/11/2569`` where a year from 2400 on is the Buddhist era (Thai), else the Common Era."""

    default_error_messages = {"invalid": "not a date: write 2026-11-18 or 18/11/2569 (Buddhist era)"}
    _DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
    _YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")

    def _serialize(self, value, attr, obj, **kwargs):
        return value.isoformat() if value is not None else None

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, date):
            return value
        return parse_paper_date(value, lambda: self.make_error("invalid"))


def parse_paper_date(value, error=None) -> date:
    text = value.strip() if isinstance(value, str) else None
    match = PaperDate._DMY.match(text or "") or None
    try:
        if match:
            day, month, year = int(match[1]), int(match[2]), int(match[3])
        else:
            match = PaperDate._YMD.match(text or "")
            if not match:
                raise ValueError(value)
            year, month, day = int(match[1]), int(match[2]), int(match[3])
        if year >= 2400:
            year -= 543
        if not 1900 <= year <= 2200:
            raise ValueError(value)
        return date(year, month, day)
    except ValueError:
        if error is not None:
            raise error() from None
        raise


def _text(max_length: int, **kwargs):
    return fields.String(validate=validate.Length(max=max_length), **kwargs)


class PageQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


# --- vendors ------------------------------------------------------------------------------------


class ContactInSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    phone = fields.String(load_default=None, allow_none=True,
                          validate=validate.Regexp(r"^[0-9+()\-\s#.,/a-zA-Z]{0,40}$",
                                                   error="a telephone number (digits, + - ( ) and spaces)"))
    role = _text(100, load_default="")
    emergency = fields.Boolean(load_default=False, metadata={"description": "told at once of incidents"})


class VendorInSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    tax_id = TaxId(required=True)
    address = _text(2000, load_default="")
    language = fields.String(load_default="th", validate=validate.OneOf(("th", "en")),
                             metadata={"description": "of the emails sent to its contacts"})
    active = fields.Boolean(load_default=True)
    contacts = fields.List(fields.Nested(ContactInSchema), load_default=list, validate=validate.Length(max=20))
    org = Org()


class VendorPatchSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(validate=validate.Length(min=1, max=300))
    tax_id = TaxId()
    address = _text(2000)
    language = fields.String(validate=validate.OneOf(("th", "en")))
    active = fields.Boolean()


class VendorQuerySchema(PageQuerySchema):
    q = fields.String(validate=validate.Length(max=200), metadata={"description": "part of the name, or the "
                                                                                  "start of the tax id"})
    active = fields.Boolean()


class ImportRefusedSchema(FieldErrorsSchema):
    """An import refused: nothing imported, each bad row with its line and its fields' messages."""

    rejected = fields.List(fields.Dict(), metadata={"description": "line, tag and errors of each bad row"})


class VendorRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    tax_id = fields.String()


class ContactSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    role = fields.String()
    emergency = fields.Boolean()


class VendorSchema(VendorRefSchema):
    org = OrgOut()
    address = fields.String()
    language = fields.String()
    active = fields.Boolean()
    created_by = fields.String()
    created_at = fields.AwareDateTime()
    contacts_count = fields.Integer()


class VendorPageSchema(Schema):
    items = fields.List(fields.Nested(VendorSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class ClaimAssetSchema(Schema):
    id = fields.Integer()
    tag = fields.String()
    kind = fields.String()
    model = fields.String()
    ownership = fields.String()
    status = fields.String()


class ClaimSchema(Schema):
    id = fields.Integer()
    vendor = fields.Nested(VendorRefSchema)
    asset = fields.Nested(ClaimAssetSchema, allow_none=True)
    tracking_code = fields.String(allow_none=True)
    step = fields.String(allow_none=True)
    reason = fields.String(metadata={"description": "warranty | leased"})
    opened_at = fields.AwareDateTime()
    resolved_at = fields.AwareDateTime(allow_none=True)
    open = fields.Boolean()
    note = fields.String()


class VendorContractSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    project_id = fields.Integer()
    amount = fields.Decimal(as_string=True)
    signed_on = fields.Date()
    ends_on = fields.Date()
    status = fields.String()
    warranty_ends_on = fields.Date(allow_none=True)


class VendorQuoteSchema(Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    project_title = fields.String()
    amount = fields.Decimal(as_string=True)
    received_on = fields.Date()
    valid_until = fields.Date(allow_none=True)


class VendorDetailSchema(VendorSchema):
    contacts = fields.List(fields.Nested(ContactSchema))
    contracts = fields.List(fields.Nested(VendorContractSchema))
    quotes = fields.List(fields.Nested(VendorQuoteSchema))
    claims = fields.List(fields.Nested(ClaimSchema))


# --- assets -------------------------------------------------------------------------------------


class _AssetFields(Schema):
    class Meta:
        unknown = RAISE

    kind = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "e.g. computer, printer"})
    model = _text(200, allow_none=True)
    serial = _text(100, allow_none=True)
    location = _text(200, allow_none=True)
    holder = _text(200, allow_none=True, metadata={"description": "the person or unit that holds it"})
    vendor_id = Id(allow_none=True, metadata=checked("an existing vendor; not given with vendor_tax_id"))
    vendor_tax_id = TaxId("the vendor by tax id, instead of vendor_id", allow_none=True)
    acquired_on = fields.Date(allow_none=True)
    price = Money(positive=False, commas=False, allow_none=True)
    warranty_ends_on = fields.Date(allow_none=True)
    ownership = fields.String(validate=validate.OneOf(OWNERSHIP))
    status = fields.String(validate=validate.OneOf(ASSET_STATUSES),
                           metadata=checked("not on_loan, which recording a loan sets",
                                            description="on_loan is set by recording a loan"))
    note = _text(5000, allow_none=True)

    @validates_schema
    def _one_vendor(self, data, **kwargs):
        if data.get("vendor_id") is not None and data.get("vendor_tax_id"):
            raise ValidationError("give vendor_id or vendor_tax_id, not both", "vendor_id")


class AssetInSchema(_AssetFields):
    tag = fields.String(required=True, validate=[validate.Length(min=1, max=64), validate_tag], metadata=TAG_DOC)
    kind = fields.String(required=True, validate=validate.Length(min=1, max=100))
    org = Org()


class AssetPatchSchema(_AssetFields):
    pass


class AssetQuerySchema(PageQuerySchema):
    q = fields.String(validate=validate.Length(max=200),
                      metadata={"description": "part of the tag, kind, model, serial, location or holder"})
    status = fields.String(validate=validate.OneOf(ASSET_STATUSES))
    kind = fields.String(validate=validate.Length(max=100))
    ownership = fields.String(validate=validate.OneOf(OWNERSHIP))
    warranty = fields.String(validate=validate.OneOf(("active", "expired")),
                             metadata={"description": "active: ends today or later (Bangkok date); expired"})
    vendor_id = Id()


class LoanSchema(Schema):
    id = fields.Integer()
    asset_tag = fields.String()
    borrower = fields.String()
    borrower_unit = fields.String()
    tracking_code = fields.String(allow_none=True)
    replaces_tag = fields.String(allow_none=True)
    lent_on = fields.Date()
    due_back_on = fields.Date(allow_none=True)
    returned_on = fields.Date(allow_none=True)
    open = fields.Boolean()
    note = fields.String()
    created_by = fields.String()
    created_at = fields.AwareDateTime()


class AssetSchema(Schema):
    id = fields.Integer()
    org = OrgOut()
    tag = fields.String()
    kind = fields.String()
    model = fields.String()
    serial = fields.String()
    location = fields.String()
    holder = fields.String()
    vendor = fields.Nested(VendorRefSchema, allow_none=True)
    acquired_on = fields.Date(allow_none=True)
    price = fields.Decimal(as_string=True, allow_none=True)
    warranty_ends_on = fields.Date(allow_none=True)
    under_warranty = fields.Boolean(metadata={"description": "the warranty ends today or later (Bangkok date)"})
    ownership = fields.String()
    status = fields.String()
    note = fields.String()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class AssetDetailSchema(AssetSchema):
    open_loan = fields.Nested(LoanSchema, allow_none=True)
    claims = fields.List(fields.Nested(ClaimSchema))


class AssetPageSchema(Schema):
    items = fields.List(fields.Nested(AssetSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class LoanInSchema(Schema):
    class Meta:
        unknown = RAISE

    borrower = fields.String(required=True, validate=validate.Length(min=1, max=200))
    borrower_unit = _text(200, load_default="")
    tracking_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64),
                                  metadata={"description": "the case the loan serves"})
    replaces_tag = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64),
                                 metadata={"description": "the borrower's own machine, in repair"})
    lent_on = fields.Date(required=True)
    due_back_on = fields.Date(load_default=None, allow_none=True, metadata=checked("not before lent_on"))
    note = _text(2000, load_default="")

    @validates_schema
    def _dates(self, data, **kwargs):
        if data.get("due_back_on") and data.get("lent_on") and data["due_back_on"] < data["lent_on"]:
            raise ValidationError("before the day it is lent", "due_back_on")


class LoanReturnSchema(Schema):
    class Meta:
        unknown = RAISE

    returned_on = fields.Date(required=True)
    note = _text(2000, load_default="")


class ClaimQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    open = fields.Boolean()
    vendor_id = Id()
    tracking_code = fields.String(validate=validate.Length(max=64))
    tag = fields.String(validate=validate.Length(max=64))


# --- CSV import / export --------------------------------------------------------------------------


class AssetCsvRowSchema(Schema):
    """One row of an asset CSV file, as text. Empty cells are taken away before loading (so an
    empty optional cell is its default: empty text, no date, no price, ``owned``, ``in_use``)."""

    class Meta:
        unknown = RAISE

    tag = fields.String(required=True, validate=[validate.Length(min=1, max=64), validate_tag], metadata=TAG_DOC)
    kind = fields.String(required=True, validate=validate.Length(min=1, max=100))
    model = _text(200, load_default="")
    serial = _text(100, load_default="")
    location = _text(200, load_default="")
    holder = _text(200, load_default="")
    vendor_tax_id = TaxId(load_default=None)
    acquired_on = PaperDate(load_default=None)
    price = Money(positive=False, commas=False, load_default=None)
    warranty_ends_on = PaperDate(load_default=None)
    ownership = fields.String(load_default="owned", validate=validate.OneOf(OWNERSHIP))
    status = fields.String(load_default="in_use", validate=validate.OneOf(ASSET_STATUSES))

    @pre_load
    def _drop_empty(self, data, **kwargs):
        return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()
                if v is not None and (not isinstance(v, str) or v.strip())}


class ImportFormSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    mode = fields.String(load_default="create", validate=validate.OneOf(("create", "upsert")),
                         metadata={"description": "create: every row is a new asset (a registered tag is an "
                                                  "error); upsert: a registered tag is updated"})
    org = Org()


class ImportResultSchema(Schema):
    mode = fields.String()
    rows = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
