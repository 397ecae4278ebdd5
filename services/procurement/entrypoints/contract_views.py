"""Contracts API: sign a contract for a project, follow its milestones (งวดงาน) through delivery,
the inspection committee's acceptance and payment, and report emergencies to the vendor. Thin:
parse, call ``contracts``, answer. Bad input is a 422 with field-level messages, a wrong state a
409, a role that may not act a 403; nothing is stored on any of them."""
from __future__ import annotations

import functools

from flask_smorest import Blueprint

from services.procurement.entrypoints.web import SECURITY, alt_responses, answers, request_body
from shared.web import read_body, uploads
from services.procurement.handlers import contracts
from services.procurement.handlers.commands import AddMilestone, ReportIncident, SignContract, from_loaded
from services.procurement.schemas.contracts import (AcceptanceInSchema, ContractCreateSchema, ContractQuerySchema,
                                                    ContractSchema, ContractSummarySchema, DeliverySchema,
                                                    EvidenceSchema, IncidentInSchema, IncidentReportSchema,
                                                    MilestoneAddSchema, MilestoneSchema, PaymentSchema)
from shared.auth import current_staff, staff_required

blp = Blueprint("procurement_contracts", __name__, url_prefix="/procurement",
                description="Contracts and their milestones: delivery, acceptance, fines, payment, incidents")

NOT_OBJECT = "The body must be a JSON object (or a form)."
# a form's fields as sent (blank ones too); a body that is neither JSON nor a form is refused
_body = functools.partial(read_body, keep_blank=True, strict=True, not_object=NOT_OBJECT,
                          not_object_message=NOT_OBJECT)
# field errors as dotted names (milestones.1.due_on); a race on a unique key is a 409 on its field
_answers = answers(invalid_message="Some fields need correcting.", unique={
    "contracts_number": ("number", "A contract with this number is recorded already."),  # uq_…, or PG's …_key
    "uq_acceptances_member_round": ("_schema", "This member decided on this delivery already."),
})
_alt = alt_responses(blp, (401, "no valid staff token"), (403, "your roles may not do this"),
                     (404, "no such contract or milestone"), (409, "not in a state that allows it"),
                     (422, "field-level messages"))


# --- contracts --------------------------------------------------------------------------------------------


@blp.route("/contracts")
@staff_required(*contracts.READ_ROLES)
@blp.doc(security=SECURITY, summary="Contracts, newest first (filters: status, vendor_id, project_id)")
@blp.arguments(ContractQuerySchema, location="query", as_kwargs=True)
@blp.response(200, ContractSummarySchema(many=True))
@_alt
def list_contracts(**filters):
    return contracts.list_contracts(current_staff(), **filters)


@blp.route("/contracts", methods=["POST"])
@staff_required(*contracts.CREATE_ROLES)
@blp.doc(security=SECURITY, requestBody=request_body(ContractCreateSchema, form=False),
         summary="Sign a contract for a project at stage procurement, with its milestones; the project moves "
                 "to stage contract")
@blp.response(201, ContractSchema)
@_alt
@_answers
def create_contract():
    data = ContractCreateSchema().load(_body(files=False))
    return contracts.create_contract(current_staff(), from_loaded(SignContract, data)), 201


@blp.route("/contracts/<int:contract_id>")
@staff_required(*contracts.READ_ROLES)
@blp.doc(security=SECURITY, summary="One contract with its milestones, each member's word, documents and incidents")
@blp.response(200, ContractSchema)
@_alt
@_answers
def read_contract(contract_id: int):
    return contracts.get_contract(current_staff(), contract_id)


# --- milestones --------------------------------------------------------------------------------------------


@blp.route("/contracts/<int:contract_id>/milestones")
@staff_required(*contracts.READ_ROLES)
@blp.doc(security=SECURITY, summary="The contract's milestones in order")
@blp.response(200, MilestoneSchema(many=True))
@_alt
@_answers
def list_milestones(contract_id: int):
    return contracts.list_milestones(current_staff(), contract_id)


@blp.route("/contracts/<int:contract_id>/milestones", methods=["POST"])
@staff_required(*contracts.CREATE_ROLES)
@blp.doc(security=SECURITY, requestBody=request_body(MilestoneAddSchema, form=False),
         summary="Add a milestone while none is delivered; the amounts must still sum to the contract's "
                 "(rebalance the others)")
@blp.response(201, MilestoneSchema)
@_alt
@_answers
def add_milestone(contract_id: int):
    data = MilestoneAddSchema().load(_body(files=False))
    return contracts.add_milestone(current_staff(), contract_id, from_loaded(AddMilestone, data)), 201


@blp.route("/contracts/<int:contract_id>/milestones/<int:milestone_id>")
@staff_required(*contracts.READ_ROLES)
@blp.doc(security=SECURITY, summary="One milestone")
@blp.response(200, MilestoneSchema)
@_alt
@_answers
def read_milestone(contract_id: int, milestone_id: int):
    return contracts.get_milestone(current_staff(), contract_id, milestone_id)


@blp.route("/contracts/<int:contract_id>/milestones/<int:milestone_id>/delivery", methods=["POST"])
@staff_required(*contracts.DELIVERY_ROLES)
@blp.doc(security=SECURITY, requestBody=request_body(DeliverySchema, multipart=True, form=False, rule=(
    "the delivery documents attached (multipart parts named documents) or the paper file's reference (ref)")),
         summary="Record the milestone's delivery with its documents (files, or a paper reference); "
                 "days late and the fine are computed")
@blp.response(200, MilestoneSchema)
@_alt
@_answers
def deliver(contract_id: int, milestone_id: int):
    data, files = DeliverySchema().load(_body()), uploads()
    return contracts.record_delivery(current_staff(), contract_id, milestone_id, data["delivered_on"], data["note"],
                                     files, ref=data.get("ref"), ref_name=data.get("ref_name"))


@blp.route("/contracts/<int:contract_id>/milestones/<int:milestone_id>/evidence", methods=["POST"])
@staff_required(*(contracts.DELIVERY_ROLES + ("inspection-committee",)))
@blp.doc(security=SECURITY, requestBody=request_body(EvidenceSchema, multipart=True, form=False, rule=(
    "the evidence files attached (multipart parts named documents) or the paper file's reference (ref)")),
         summary="Add evidence for the inspection committee (e.g. the training sign-in sheet)")
@blp.response(201, MilestoneSchema)
@_alt
@_answers
def evidence(contract_id: int, milestone_id: int):
    data, files = EvidenceSchema().load(_body()), uploads()
    return contracts.add_evidence(current_staff(), contract_id, milestone_id, files, ref=data.get("ref"),
                                  ref_name=data.get("ref_name")), 201


@blp.route("/contracts/<int:contract_id>/milestones/<int:milestone_id>/acceptance", methods=["POST"])
@staff_required()  # membership of the project's inspection committee decides (or supplies with member_id)
@blp.doc(security=SECURITY, requestBody=request_body(AcceptanceInSchema, multipart=True, form=False),
         summary="An inspection committee member accepts or rejects the current delivery")
@blp.response(200, MilestoneSchema)
@_alt
@_answers
def acceptance(contract_id: int, milestone_id: int):
    data, files = AcceptanceInSchema().load(_body()), uploads()
    staff = current_staff()
    contracts.decide_acceptance(staff, contract_id, milestone_id, data["decision"], data["note"], files,
                                member_id=data.get("member_id"), signed_on=data.get("signed_on"))
    return contracts.get_milestone(staff, contract_id, milestone_id)


@blp.route("/contracts/<int:contract_id>/milestones/<int:milestone_id>/payment", methods=["POST"])
@staff_required(*contracts.PAYMENT_ROLES)
@blp.doc(security=SECURITY, requestBody=request_body(PaymentSchema, multipart=True, form=False),
         summary="Record the payment of an accepted milestone (its amount less the fine)")
@blp.response(200, MilestoneSchema)
@_alt
@_answers
def payment(contract_id: int, milestone_id: int):
    data, files = PaymentSchema().load(_body()), uploads()
    return contracts.record_payment(current_staff(), contract_id, milestone_id, data["paid_on"], data["payment_ref"],
                                    data["note"], files)


# --- incidents ------------------------------------------------------------------------------------------------


@blp.route("/contracts/<int:contract_id>/incidents", methods=["POST"])
@staff_required(*contracts.INCIDENT_ROLES)
@blp.doc(security=SECURITY, requestBody=request_body(IncidentInSchema, form=False),
         summary="Report an emergency on the contract: the vendor's contacts are told at once")
@blp.response(201, IncidentReportSchema)
@_alt
@_answers
def report_incident(contract_id: int):
    data = IncidentInSchema().load(_body(files=False))
    return contracts.report_incident(current_staff(), contract_id, from_loaded(ReportIncident, data)), 201
