"""Contracts API: sign a contract for a project, follow its milestones (งวดงาน) through delivery,
the inspection committee's acceptance and payment, and report emergencies to the vendor. Thin:
parse, call ``contracts``, answer. Bad input is a 422 with field-level messages, a wrong state a
409, a role that may not act a 403; nothing is stored on any of them."""
from __future__ import annotations

import functools

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError
from sqlalchemy.exc import IntegrityError

from services.procurement import contracts
from services.procurement.contract_schemas import (AcceptanceInSchema, ContractCreateSchema, ContractQuerySchema,
                                                   ContractSchema, ContractSummarySchema, DeliverySchema,
                                                   EvidenceSchema, IncidentInSchema, IncidentReportSchema,
                                                   MilestoneAddSchema, MilestoneSchema, PaymentSchema)
from services.procurement.errors import ProcurementError
from shared.auth import current_staff, staff_required
from shared.web import FieldErrorsSchema, error_response

blp = Blueprint("procurement_contracts", __name__, url_prefix="/procurement",
                description="Contracts and their milestones: delivery, acceptance, fines, payment, incidents")

SECURITY = [{"bearer": []}]
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def _flat(messages, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages ({"milestones": {0: {"amount": [...]}}}) as dotted field names."""
    if isinstance(messages, list):
        return {prefix or "_schema": [str(m) for m in messages]}
    out: dict[str, list[str]] = {}
    for key, value in messages.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(_flat(value, name))
        else:
            out.setdefault(name, []).extend(str(m) for m in (value if isinstance(value, list) else [value]))
    return out


def _body(schema: Schema, files_allowed: bool = False):
    """The request's fields loaded by ``schema`` (JSON, or a form with files), and its files."""
    files = []
    if request.mimetype in FORM_TYPES:
        raw = request.form.to_dict()
        if files_allowed:
            files = [f for key in request.files for f in request.files.getlist(key) if f and f.filename]
        elif request.files:
            raise ProcurementError(422, {"documents": ["This action takes no files."]})
    else:
        raw = request.get_json(silent=True)
        if not isinstance(raw, dict):
            raise ProcurementError(400, {"_schema": ["The body must be a JSON object (or a form)."]},
                                   "The body must be a JSON object (or a form).")
    try:
        return schema.load(raw), files
    except ValidationError as exc:
        raise ProcurementError(422, _flat(exc.messages), "Some fields need correcting.") from exc


def _answers(view):
    """Turn the domain's errors into field-level JSON errors."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except ProcurementError as exc:
            return error_response(exc.status, exc.errors, exc.message)
        except IntegrityError as exc:  # a race on a unique key (e.g. two contracts with one number)
            if "uq_contracts_number" in str(exc.orig) or "contracts_number" in str(exc.orig):
                return error_response(409, {"number": ["A contract with this number is recorded already."]})
            if "uq_acceptances_member_round" in str(exc.orig):
                return error_response(409, {"_schema": ["This member decided on this delivery already."]})
            raise

    return wrapper


def _doc_body(schema, files: bool = False, summary: str = "") -> dict:
    content = {"application/json": {"schema": schema}}
    if files:
        content["multipart/form-data"] = {"schema": schema}
    return {"security": SECURITY, "summary": summary, "requestBody": {"required": True, "content": content}}


ERRORS = [(401, "no valid staff token"), (403, "your roles may not do this"), (404, "no such contract or milestone"),
          (409, "not in a state that allows it"), (422, "field-level messages")]


def _alt(view):
    for status, text in ERRORS:
        view = blp.alt_response(status, schema=FieldErrorsSchema, description=text)(view)
    return view


# --- contracts --------------------------------------------------------------------------------------------


@blp.route("/contracts")
@staff_required(*contracts.READ_ROLES)
@blp.doc(security=SECURITY, summary="Contracts, newest first (filters: status, vendor_id, project_id)")
@blp.arguments(ContractQuerySchema, location="query", as_kwargs=True)
@blp.response(200, ContractSummarySchema(many=True))
@_alt
def list_contracts(**filters):
    return contracts.list_contracts(**filters)


@blp.route("/contracts", methods=["POST"])
@staff_required(*contracts.CREATE_ROLES)
@blp.doc(**_doc_body(ContractCreateSchema, summary="Sign a contract for a project at stage procurement, with its "
                                                  "milestones; the project moves to stage contract"))
@blp.response(201, ContractSchema)
@_alt
@_answers
def create_contract():
    data, _ = _body(ContractCreateSchema())
    return contracts.create_contract(current_staff(), data), 201


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
@blp.doc(**_doc_body(MilestoneAddSchema, summary="Add a milestone while none is delivered; the amounts must still "
                                                 "sum to the contract's (rebalance the others)"))
@blp.response(201, MilestoneSchema)
@_alt
@_answers
def add_milestone(contract_id: int):
    data, _ = _body(MilestoneAddSchema())
    return contracts.add_milestone(current_staff(), contract_id, data), 201


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
@blp.doc(**_doc_body(DeliverySchema, files=True,
                     summary="Record the milestone's delivery with its documents (files, or a paper reference); "
                             "days late and the fine are computed"))
@blp.response(200, MilestoneSchema)
@_alt
@_answers
def deliver(contract_id: int, milestone_id: int):
    data, files = _body(DeliverySchema(), files_allowed=True)
    return contracts.record_delivery(current_staff(), contract_id, milestone_id, data["delivered_on"], data["note"],
                                     files, ref=data.get("ref"), ref_name=data.get("ref_name"))


@blp.route("/contracts/<int:contract_id>/milestones/<int:milestone_id>/evidence", methods=["POST"])
@staff_required(*(contracts.DELIVERY_ROLES + ("inspection-committee",)))
@blp.doc(**_doc_body(EvidenceSchema, files=True,
                     summary="Add evidence for the inspection committee (e.g. the training sign-in sheet)"))
@blp.response(201, MilestoneSchema)
@_alt
@_answers
def evidence(contract_id: int, milestone_id: int):
    data, files = _body(EvidenceSchema(), files_allowed=True)
    return contracts.add_evidence(current_staff(), contract_id, milestone_id, files, ref=data.get("ref"),
                                  ref_name=data.get("ref_name")), 201


@blp.route("/contracts/<int:contract_id>/milestones/<int:milestone_id>/acceptance", methods=["POST"])
@staff_required()  # membership of the project's inspection committee decides (or supplies with member_id)
@blp.doc(**_doc_body(AcceptanceInSchema, files=True,
                     summary="An inspection committee member accepts or rejects the current delivery"))
@blp.response(200, MilestoneSchema)
@_alt
@_answers
def acceptance(contract_id: int, milestone_id: int):
    data, files = _body(AcceptanceInSchema(), files_allowed=True)
    staff = current_staff()
    contracts.decide_acceptance(staff, contract_id, milestone_id, data["decision"], data["note"], files,
                                member_id=data.get("member_id"))
    return contracts.get_milestone(staff, contract_id, milestone_id)


@blp.route("/contracts/<int:contract_id>/milestones/<int:milestone_id>/payment", methods=["POST"])
@staff_required(*contracts.PAYMENT_ROLES)
@blp.doc(**_doc_body(PaymentSchema, files=True,
                     summary="Record the payment of an accepted milestone (its amount less the fine)"))
@blp.response(200, MilestoneSchema)
@_alt
@_answers
def payment(contract_id: int, milestone_id: int):
    data, files = _body(PaymentSchema(), files_allowed=True)
    return contracts.record_payment(current_staff(), contract_id, milestone_id, data["paid_on"], data["payment_ref"],
                                    data["note"], files)


# --- incidents ------------------------------------------------------------------------------------------------


@blp.route("/contracts/<int:contract_id>/incidents", methods=["POST"])
@staff_required(*contracts.INCIDENT_ROLES)
@blp.doc(**_doc_body(IncidentInSchema, summary="Report an emergency on the contract: the vendor's contacts are told "
                                               "at once"))
@blp.response(201, IncidentReportSchema)
@_alt
@_answers
def report_incident(contract_id: int):
    data, _ = _body(IncidentInSchema())
    return contracts.report_incident(current_staff(), contract_id, data), 201
