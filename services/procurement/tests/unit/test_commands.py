"""What a procurement schema loads becomes the command its use case takes, without a database
(services/procurement/handlers/commands.py, ``from_loaded``): every loaded field has its place
in the command, a field not sent takes the schema's default (or stays ``UNSET`` in a partial
change), and a body field the schema does not know is refused or ignored as the schema says."""
from __future__ import annotations

from dataclasses import fields
from datetime import date
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from services.procurement.handlers.commands import (UNSET, AddContact, AddMilestone, AddQuote, AppointCommittee,
                                                    LendAsset, OpenProject, RegisterAsset, RegisterVendor,
                                                    ReportIncident, ReturnLoan, SignContract, UpdateAsset,
                                                    UpdateProject, UpdateVendor, from_loaded)
from services.procurement.schemas.assets import (AssetInSchema, AssetPatchSchema, ContactInSchema, LoanInSchema,
                                                 LoanReturnSchema, VendorInSchema, VendorPatchSchema)
from services.procurement.schemas.contracts import ContractCreateSchema, IncidentInSchema, MilestoneAddSchema
from services.procurement.schemas.projects import (CommitteeInSchema, ProjectCreateSchema, ProjectUpdateSchema,
                                                   QuoteCreateSchema)

TAX_ID = "0105536000101"  # 13 digits, the last its check digit

# each use case's schema, its command, and the least body the schema takes
MINIMAL = [
    (ProjectCreateSchema, OpenProject, {"title": "จัดซื้อเครื่องพิมพ์"}),
    (ProjectUpdateSchema, UpdateProject, {"title": "จัดซื้อเครื่องพิมพ์ 2 เครื่อง"}),
    (QuoteCreateSchema, AddQuote, {"vendor_id": 3, "amount": "12500.00", "received_on": "2026-11-02"}),
    (CommitteeInSchema, AppointCommittee, {"appointed_on": "2026-11-02", "members": [{"name": "นายตรวจ รับ"}]}),
    (ContractCreateSchema, SignContract, {
        "project_id": 1, "number": "12/2570", "vendor_id": 3, "amount": "1000.00", "signed_on": "2026-11-02",
        "starts_on": "2026-11-02", "ends_on": "2027-01-31",
        "milestones": [{"title": "งวดเดียว", "due_on": "2027-01-15", "amount": "1000.00"}]}),
    (MilestoneAddSchema, AddMilestone, {"title": "งวดที่ 2", "due_on": "2027-01-15", "share_percent": "50"}),
    (IncidentInSchema, ReportIncident, {"description": "เซิร์ฟเวอร์ล่ม"}),
    (AssetInSchema, RegisterAsset, {"tag": "7440-001-00001/2566", "kind": "computer"}),
    (AssetPatchSchema, UpdateAsset, {"status": "in_repair"}),
    (LoanInSchema, LendAsset, {"borrower": "ครูสมชาย", "lent_on": "2026-11-02"}),
    (LoanReturnSchema, ReturnLoan, {"returned_on": "2026-11-09"}),
    (VendorInSchema, RegisterVendor, {"name": "บริษัท ตัวอย่าง จำกัด", "tax_id": TAX_ID}),
    (VendorPatchSchema, UpdateVendor, {"active": False}),
    (ContactInSchema, AddContact, {"name": "คุณวิไล"}),
]


def _field_names(command) -> set[str]:
    return {f.name for f in fields(command)}


@pytest.mark.parametrize("schema, command, body", MINIMAL, ids=[c.__name__ for _, c, _ in MINIMAL])
def test_every_field_the_schema_loads_has_its_place_in_the_command_and_no_other(schema, command, body):
    assert set(schema().fields) == _field_names(command)
    assert isinstance(from_loaded(command, schema().load(body)), command)


def test_what_was_not_sent_takes_the_schemas_defaults():
    assert from_loaded(OpenProject, ProjectCreateSchema().load({"title": "จัดซื้อ"})) == OpenProject(
        title="จัดซื้อ", purpose="", kind="purchase", budget=None, fiscal_year=None, officer=None,
        officer_contact=None, tracking_code=None, method=None)
    signing = from_loaded(SignContract, ContractCreateSchema().load(MINIMAL[4][2]))
    assert (signing.fine_rate_percent, signing.fine_basis, signing.fine_min_per_day, signing.documents) == (
        Decimal("0.1"), "milestone", Decimal("0"), ())
    assert signing.milestones == ({"title": "งวดเดียว", "deliverables": "", "due_on": date(2027, 1, 15),
                                   "amount": Decimal("1000.00"), "share_percent": None},)
    assert from_loaded(RegisterVendor, VendorInSchema().load({"name": "ก", "tax_id": TAX_ID})) == RegisterVendor(
        name="ก", tax_id=TAX_ID, address="", language="th", active=True, contacts=())
    assert from_loaded(LendAsset, LoanInSchema().load({"borrower": "ข", "lent_on": "2026-11-02"})) == LendAsset(
        borrower="ข", lent_on=date(2026, 11, 2), borrower_unit="", tracking_code=None, replaces_tag=None,
        due_back_on=None, note="")
    assert from_loaded(AddContact, ContactInSchema().load({"name": "ค"})) == AddContact(
        name="ค", email=None, phone=None, role="", emergency=False)
    assert from_loaded(ReportIncident, IncidentInSchema().load({"description": "ง"})).severity == "high"


@pytest.mark.parametrize("schema, command, body, changes", [
    (ProjectUpdateSchema, UpdateProject, {"officer": None, "budget": "5000.00"},
     {"officer": None, "budget": Decimal("5000.00")}),
    (AssetPatchSchema, UpdateAsset, {"vendor_id": None, "note": "ส่งซ่อม"}, {"vendor_id": None, "note": "ส่งซ่อม"}),
    (VendorPatchSchema, UpdateVendor, {"language": "en"}, {"language": "en"}),
])
def test_a_partial_change_changes_only_what_was_sent_and_a_null_sent_is_a_change(schema, command, body, changes):
    change = from_loaded(command, schema().load(body))
    assert change.changes() == changes
    assert all(getattr(change, name) is UNSET for name in _field_names(command) - set(changes))


def test_a_field_a_schema_does_not_know_is_refused_or_dropped_as_the_schema_says():
    with pytest.raises(ValidationError) as refused:  # the register's schemas refuse an unknown field
        VendorPatchSchema().load({"active": False, "contacts": []})
    assert "contacts" in refused.value.messages
    # the project's are lenient: the field is dropped before any command is made
    assert from_loaded(UpdateProject, ProjectUpdateSchema().load({"title": "ก", "stage": "contract"})).changes() == {
        "title": "ก"}


def test_a_loaded_field_without_a_place_in_the_command_is_our_mistake_not_the_senders():
    with pytest.raises(TypeError, match="ReturnLoan takes no borrower"):
        from_loaded(ReturnLoan, {"returned_on": date(2026, 11, 9), "borrower": "ครูสมชาย"})


def test_a_command_cannot_be_changed_once_made():
    command = AddQuote(vendor_id=3, amount=Decimal("1.00"), received_on=date(2026, 11, 2))
    with pytest.raises(AttributeError):
        command.amount = Decimal("2.00")  # type: ignore[misc]
