"""Contracts (สัญญา) and their milestones (งวดงาน), from signing to the last payment.

A contract is signed for a project at stage ``procurement`` (principle and budget approved, an
inspection committee appointed), which moves the project to ``contract``. Each milestone then goes

    pending -> delivered -> accepted -> paid

Delivery is recorded with its documents (kind ``delivery``), and the days late and the late fine
(ค่าปรับ) are computed then (``fine_for``). Every member of the project's inspection committee
accepts or rejects the delivery (``Acceptance``, one per member and delivery round); a rejection
sends the milestone back to ``pending`` for a new delivery (a new round; the earlier words stay).
At least one ``evidence`` document (e.g. the training sign-in sheet) must be on the milestone before
anyone accepts it. When every member accepted in the round, the milestone is accepted; finance or
supplies record the payment (the amount less the fine). When every milestone is paid the contract
and the project are completed and, when the project serves a case waiting on the contract,
``procurement.contract_completed`` moves that case on (``projects.complete_case_if_done``).

The milestones' state machine and its guards are ``domain.milestones``, who may do each move
``domain.permissions`` (the desk offers its forms from the same answer); this module reads the
facts from the tables, asks, and records.

No Flask here. Every use case runs in one unit of work: its change and its events commit together;
a refusal (``shared.errors``) rolls everything back (uploaded files are removed again).
"""
from __future__ import annotations

import calendar as _calendar
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from services.procurement.adapters import documents, models
from services.procurement.adapters.bus import bus
from services.procurement.adapters.models import (Acceptance, Committee, CommitteeMember, Contract, Document, Incident,
                                                  Milestone, Project, Vendor)
from services.procurement.domain import fines, milestones, permissions
from services.procurement.domain.milestones import MilestoneFacts, Word
from shared.said import Said
from services.procurement.handlers import projects
from services.procurement.handlers.commands import AddMilestone, ReportIncident, SignContract
from services.procurement.handlers.common import (HUNDRED, bangkok_today, for_update, iso, known, money, money_str,
                                                  of_org, refuse, seen, utc_now, where_given)
from services.procurement.handlers.errors import conflict, forbidden, invalid, not_found
from shared.audit import log_access
from shared.auth import Staff
from shared.errors import Conflict, Forbidden, Invalid


# who may call the API's routes (``permissions``; admin may do anything): the views' first gate
CREATE_ROLES = permissions.contract_roles("sign")
DELIVERY_ROLES = permissions.contract_roles("deliver")
PAYMENT_ROLES = permissions.contract_roles("pay")
INCIDENT_ROLES = permissions.contract_roles("report-incident")
READ_ROLES = permissions.READ_ROLES
DECISIONS = milestones.DECISIONS
SEVERITIES = ("high", "critical")


# --- small rules ----------------------------------------------------------------------------------


today = bangkok_today  # today's date in Bangkok (the date of the paper world) at ``now``


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months; the 31st becomes the last day of a shorter month."""
    years, month0 = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month0 + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def whole_months_between(start: date, end: date) -> int:
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if months > 0 and add_months(start, months) > end:
        months -= 1
    return max(months, 0)


def fine_for(contract: Contract, milestone: Milestone, delivered_on: date) -> tuple[int, Decimal]:
    """(days late, fine) of a delivery on ``delivered_on``: the rule is ``domain.fines.late_fine``,
    with this contract's terms."""
    return fines.late_fine(milestone.due_on, delivered_on, amount=milestone.amount, contract_amount=contract.amount,
                           basis=contract.fine_basis, rate_percent=contract.fine_rate_percent,
                           min_per_day=contract.fine_min_per_day)


def _require(staff: Staff, action: str) -> None:
    """403 unless ``staff``'s roles may do ``action`` on a contract (``permissions.contract_refusal``)."""
    refuse(Forbidden, permissions.contract_refusal(staff, action))


def milestone_facts(milestone: Milestone) -> MilestoneFacts:
    """What the milestone rules look at, read from its row and its committee's words."""
    return MilestoneFacts(seq=milestone.seq, delivered_on=milestone.delivered_on, accepted_on=milestone.accepted_on,
                          paid_on=milestone.paid_on,
                          words=tuple(Word(member_id=a.member_id, round=a.delivery_round, decision=a.decision)
                                      for a in milestone.acceptances))


def current_round(milestone: Milestone) -> int:
    """The delivery round a milestone is in: ``milestones.current_round``."""
    return milestone_facts(milestone).round


def inspection_committee(project: Project) -> Committee | None:
    return projects.committee(project, "inspection")


def committee_members(committee: Committee | None) -> list[permissions.Member]:
    """The inspection committee as the permissions see it."""
    return [permissions.Member(id=m.id, name=m.name, username=m.username, position=m.position)
            for m in (committee.members if committee else ())]


# --- loading ----------------------------------------------------------------------------------------


def _contract(session: Session, staff: Staff, contract_id: int, lock: bool = False) -> Contract:
    """The contract, when of an organisation ``staff`` sees (else 404, as when there is none)."""
    query = (select(Contract).where(Contract.id == contract_id)
             .options(joinedload(Contract.project), joinedload(Contract.vendor)))
    if lock:
        # one change at a time per contract: two payments, or a payment and a decision, never interleave
        query = for_update(session, query, of=Contract)
    return seen(staff, session.scalars(query).unique().one_or_none(), "contract")


def _milestone(contract: Contract, milestone_id: int) -> Milestone:
    milestone = next((m for m in contract.milestones if m.id == milestone_id), None)
    if milestone is None:
        raise not_found("milestone")
    return milestone


def _documents_of(session: Session, **where) -> list[Document]:
    query = select(Document)
    for key, value in where.items():
        query = query.where(getattr(Document, key) == value)
    return list(session.scalars(query.order_by(Document.uploaded_at, Document.id)))


def _files(files: Sequence | None) -> list:
    return [f for f in files or () if f is not None and getattr(f, "filename", None)]


def _store(up: documents.Uploads, files: Sequence, kind: str, staff: Staff, contract: Contract,
           milestone: Milestone | None) -> list[Document]:
    """Keep uploaded files as documents of the contract (and milestone), removed again by ``up``
    if its transaction fails."""
    files = _files(files)
    if not files:
        return []
    return up.keep(documents.store_uploads(up.uow.session, files, kind, staff.username,
                                           project_id=contract.project_id, contract_id=contract.id,
                                           milestone_id=milestone.id if milestone else None))


def _reference(session: Session, kind: str, ref: str, name: str | None, staff: Staff, contract: Contract,
               milestone: Milestone | None) -> Document:
    """A document kept elsewhere (a paper file's number, a link), recorded by its reference."""
    return documents.add_reference(session, kind, name or ref, ref, staff.username, project_id=contract.project_id,
                                   contract_id=contract.id, milestone_id=milestone.id if milestone else None)


def _attach(up: documents.Uploads, kind: str, files: Sequence, ref: str | None, ref_name: str | None, staff: Staff,
            contract: Contract, milestone: Milestone) -> None:
    """The uploaded files and the paper reference (if any) given with a milestone's action."""
    _store(up, files, kind, staff, contract, milestone)
    if (ref or "").strip():
        _reference(up.uow.session, kind, ref.strip(), ref_name, staff, contract, milestone)


def _active_milestone(session: Session, staff: Staff, contract_id: int,
                      milestone_id: int) -> tuple[Contract, Milestone]:
    """The contract (locked) and its milestone, while the contract is active."""
    contract = _contract(session, staff, contract_id, lock=True)
    milestone = _milestone(contract, milestone_id)
    refuse(Conflict, milestones.contract_errors(contract.status))
    return contract, milestone


# --- payloads -------------------------------------------------------------------------------------


def _contract_brief(contract: Contract) -> dict:
    return {"id": contract.id, "number": contract.number, "amount": money_str(contract.amount),
            "vendor_id": contract.vendor_id, "vendor_name": contract.vendor.name if contract.vendor else None,
            "status": contract.status}


def _project_brief(project: Project) -> dict:
    return {"id": project.id, "title": project.title, "tracking_code": project.tracking_code,
            "stage": project.stage}


def _milestone_brief(milestone: Milestone) -> dict:
    return {"id": milestone.id, "seq": milestone.seq, "title": milestone.title,
            "deliverables": milestone.deliverables, "due_on": iso(milestone.due_on),
            "amount": money_str(milestone.amount), "state": milestone.state, "round": current_round(milestone),
            "delivered_on": iso(milestone.delivered_on), "days_late": milestone.days_late,
            "fine_amount": money_str(milestone.fine_amount), "accepted_on": iso(milestone.accepted_on),
            "paid_on": iso(milestone.paid_on), "paid_amount": money_str(milestone.paid_amount)}


def _emit(uow, event_type: str, contract: Contract, payload: dict) -> None:
    project = contract.project
    uow.emit(event_type, {"org": contract.org, "contract": _contract_brief(contract),
                          "project": _project_brief(project), **payload},
             correlation_id=project.tracking_code)


# --- signing ----------------------------------------------------------------------------------------


def create_contract(staff: Staff, command: SignContract, now: datetime | None = None) -> dict:
    """Sign a contract for a project (see the module's rules); the project moves to ``contract``.
    Returns the contract as ``contract_json``."""
    _require(staff, "sign")
    now = utc_now(now)
    amount = Decimal(command.amount)
    errors: dict[str, list[str]] = {}
    if amount <= 0:
        errors.setdefault("amount", []).append("The amount must be more than 0.")
    starts_on, ends_on = command.starts_on, command.ends_on
    if ends_on < starts_on:
        errors.setdefault("ends_on", []).append("The contract cannot end before it starts.")
    if command.signed_on > today(now):
        errors.setdefault("signed_on", []).append("The signing date cannot be in the future.")
    months, warranty_ends_on = command.warranty_months, command.warranty_ends_on
    if months is None and warranty_ends_on is None:
        errors.setdefault("warranty_months", []).append("Give warranty_months or warranty_ends_on.")
    elif warranty_ends_on is not None and warranty_ends_on < ends_on:
        errors.setdefault("warranty_ends_on", []).append("The warranty cannot end before the contract does.")
    rate = Decimal(command.fine_rate_percent if command.fine_rate_percent is not None else "0.1")
    if not Decimal("0") < rate <= Decimal("1"):
        errors.setdefault("fine_rate_percent", []).append("The fine rate is more than 0 and at most 1 (% per day).")
    minimum = Decimal(command.fine_min_per_day or 0)
    if minimum < 0:
        errors.setdefault("fine_min_per_day", []).append("The minimum fine per day cannot be negative.")
    if errors:
        raise Invalid(errors=errors)
    planned = milestones.plan_milestones(amount, starts_on, ends_on, command.milestones or [])
    if warranty_ends_on is None:
        warranty_ends_on = add_months(ends_on, months)
    elif months is None:
        months = whole_months_between(ends_on, warranty_ends_on)

    with documents.Uploads() as up:
        uow = up.uow
        session = uow.session
        # another organisation's project, or a vendor of another register than the project's, is none
        project = known(staff, session.get(Project, command.project_id, with_for_update=True), "project_id",
                        "There is no such project.")
        vendor = session.get(Vendor, command.vendor_id)
        if vendor is None or vendor.org != project.org:
            raise invalid("vendor_id", "There is no such vendor.")
        if not vendor.active:
            raise invalid("vendor_id", "The vendor is no longer active.")
        number = command.number.strip()
        if session.scalar(select(Contract.id).where(Contract.org == project.org,
                                                    func.lower(Contract.number) == number.lower())) is not None:
            raise conflict(Said("number_taken", f"A contract numbered {number} is recorded already.", number=number), "number")
        blockers = projects.contract_blockers(project)
        if blockers:
            raise Conflict(blockers[0], {"project_id": blockers})
        contract = Contract(project_id=project.id, org=project.org, number=number, vendor_id=vendor.id, amount=money(amount),
                            signed_on=command.signed_on, starts_on=starts_on, ends_on=ends_on,
                            warranty_months=months, warranty_ends_on=warranty_ends_on, fine_rate_percent=rate,
                            fine_basis=command.fine_basis or "milestone", fine_min_per_day=money(minimum),
                            status="active", created_by=staff.username, created_at=now)
        contract.vendor = vendor
        contract.project = project
        for item in planned:
            contract.milestones.append(Milestone(**item))
        session.add(contract)
        try:
            session.flush()
        except IntegrityError:  # signed under the same number by someone else at the same moment
            raise conflict(Said("number_taken", f"A contract numbered {number} is recorded already.", number=number), "number") from None
        for ref in command.documents or []:
            _reference(session, "contract", ref["ref"], ref.get("name"), staff, contract, None)
        project.stage = "contract"
        _emit(uow, "procurement.contract_signed", contract, {
            "signed_on": iso(contract.signed_on), "starts_on": iso(starts_on), "ends_on": iso(ends_on),
            "warranty_ends_on": iso(warranty_ends_on), "fine_rate_percent": str(rate),
            "fine_basis": contract.fine_basis, "fine_min_per_day": money_str(contract.fine_min_per_day),
            "milestones": [_milestone_brief(m) for m in contract.milestones], "signed_by": staff.username})
        result = contract_json(session, contract, staff, purpose=None)
        uow.commit()
    return result


def add_milestone(staff: Staff, contract_id: int, command: AddMilestone, now: datetime | None = None) -> dict:
    """Add a milestone to a contract while none is delivered yet. The amounts must still sum to the
    contract's: ``rebalance`` ([{milestone_id, amount}]) gives the other milestones' new amounts
    (e.g. a milestone split in two). The milestones are numbered again by due date."""
    _require(staff, "change")
    with bus.unit_of_work() as uow:
        session = uow.session
        contract = _contract(session, staff, contract_id, lock=True)
        refuse(Conflict, milestones.contract_errors(contract.status))
        refuse(Conflict, milestones.plan_change_errors(milestone_facts(m) for m in contract.milestones))
        errors: dict[str, list[str]] = {}
        due = command.due_on
        if not contract.starts_on <= due <= contract.ends_on:
            errors.setdefault("due_on", []).append(
                f"The due date must lie within the contract ({contract.starts_on.isoformat()} to "
                f"{contract.ends_on.isoformat()}).")
        elif any(m.due_on == due for m in contract.milestones):
            errors.setdefault("due_on", []).append("Another milestone falls due that day.")
        if (command.amount is None) == (command.share_percent is None):
            errors.setdefault("amount", []).append("Give either the amount or the share_percent (one of them).")
        if errors:
            raise Invalid(errors=errors)
        if command.amount is not None:
            new_amount = money(command.amount)
        else:
            new_amount = money(Decimal(contract.amount) * Decimal(command.share_percent) / HUNDRED)
        if new_amount <= 0:
            raise invalid("amount", "The amount must be more than 0.")
        amounts = {m.id: Decimal(m.amount) for m in contract.milestones}
        for n, item in enumerate(command.rebalance or []):
            if item["milestone_id"] not in amounts:
                errors.setdefault(f"rebalance.{n}.milestone_id", []).append("Not a milestone of this contract.")
            elif money(item["amount"]) <= 0:
                errors.setdefault(f"rebalance.{n}.amount", []).append("The amount must be more than 0.")
            else:
                amounts[item["milestone_id"]] = money(item["amount"])
        if errors:
            raise Invalid(errors=errors)
        total = sum(amounts.values(), Decimal("0")) + new_amount
        if total != Decimal(contract.amount):
            raise invalid("amount", f"With this milestone the amounts sum to {money(total)}; they must sum to the "
                                    f"contract's amount {money(contract.amount)} exactly (give the others' new "
                                    "amounts in rebalance).")
        by_shares = any(m.share_percent is not None for m in contract.milestones)
        for m in contract.milestones:
            if money(m.amount) != amounts[m.id]:
                m.amount = amounts[m.id]
                if by_shares:
                    m.share_percent = _share(amounts[m.id], contract.amount)
        added = Milestone(title=command.title or "", deliverables=command.deliverables or "", due_on=due,
                          amount=new_amount, seq=0,
                          share_percent=_share(new_amount, contract.amount) if by_shares else None)
        # number them again by due date: out of the way first (the (contract, seq) key is unique)
        for m in contract.milestones:
            m.seq = -m.seq
        session.flush()
        contract.milestones.append(added)
        ordered = sorted(contract.milestones, key=lambda m: m.due_on)
        for n, m in enumerate(ordered):
            m.seq = -(1000 + n)
        session.flush()
        for n, m in enumerate(ordered):
            m.seq = n + 1
        session.flush()
        contract.milestones.sort(key=lambda m: m.seq)
        _emit(uow, "procurement.milestone_added", contract, {"milestone": _milestone_brief(added),
                                                            "milestones": [_milestone_brief(m) for m in ordered],
                                                            "added_by": staff.username})
        result = milestone_json(session, contract, added)
        uow.commit()
    return result


def _share(amount, contract_amount) -> Decimal:
    return money(Decimal(amount) * HUNDRED / Decimal(contract_amount))


# --- delivery, evidence ---------------------------------------------------------------------------------


def record_delivery(staff: Staff, contract_id: int, milestone_id: int, delivered_on: date, note: str = "",
                    files: Sequence = (), ref: str | None = None, ref_name: str | None = None,
                    now: datetime | None = None) -> dict:
    """The vendor delivered a milestone on ``delivered_on`` (not in the future): keep the delivery
    documents (uploaded files, or a reference to a paper file) and compute days late and fine."""
    _require(staff, "deliver")
    now = utc_now(now)
    if delivered_on > today(now):
        raise invalid("delivered_on", Said("delivery_future", "The delivery date cannot be in the future."))
    if not _files(files) and not (ref or "").strip():
        raise invalid("documents", Said("delivery_documents", "Attach the delivery documents, or give the reference "
                                                              "(ref) of the paper file."))
    with documents.Uploads() as up:
        uow = up.uow
        session = uow.session
        contract, milestone = _active_milestone(session, staff, contract_id, milestone_id)
        refuse(Conflict, milestones.delivery_errors(milestone_facts(milestone)))
        if delivered_on < contract.signed_on:
            raise invalid("delivered_on", Said("delivery_before_signing", "The delivery date cannot be before the "
                                               "contract was signed.", signed_on=contract.signed_on))
        _attach(up, "delivery", files, ref, ref_name, staff, contract, milestone)
        days, fine = fine_for(contract, milestone, delivered_on)
        milestone.delivered_on = delivered_on
        milestone.delivery_note = note or ""
        milestone.delivered_recorded_by = staff.username
        milestone.days_late = days
        # the fine is deducted from this milestone's payment: it cannot take more than the milestone
        milestone.fine_amount = min(fine, money(milestone.amount))
        session.flush()
        _emit(uow, "procurement.milestone_delivered", contract,
              {"milestone": _milestone_brief(milestone), "fine_uncapped": money_str(fine),
               "recorded_by": staff.username})
        result = milestone_json(session, contract, milestone)
        uow.commit()
    return result


def add_evidence(staff: Staff, contract_id: int, milestone_id: int, files: Sequence = (), ref: str | None = None,
                 ref_name: str | None = None, now: datetime | None = None) -> dict:
    """Evidence for the inspection committee (e.g. the training sign-in sheet), any time before the
    milestone is accepted."""
    _require(staff, "add-evidence")
    if not _files(files) and not (ref or "").strip():
        raise invalid("documents", Said("evidence_documents", "Attach the evidence files, or give the reference "
                                                              "(ref) of the paper file."))
    with documents.Uploads() as up:
        uow = up.uow
        session = uow.session
        contract, milestone = _active_milestone(session, staff, contract_id, milestone_id)
        refuse(Conflict, milestones.evidence_errors(milestone_facts(milestone)))
        _attach(up, "evidence", files, ref, ref_name, staff, contract, milestone)
        session.flush()
        result = milestone_json(session, contract, milestone)
        uow.commit()
    return result


# --- acceptance -------------------------------------------------------------------------------------------


def decide_acceptance(staff: Staff, contract_id: int, milestone_id: int, decision: str, note: str = "",
                      files=(), member_id: int | None = None, now: datetime | None = None,
                      signed_on: date | None = None) -> Milestone:
    """One inspection committee member's word on the milestone's current delivery. The member is
    the caller (by username), or ``member_id`` when supplies (or admin) record a paper signature.
    Accepting needs at least one evidence document on the milestone; a rejection needs a note and
    sends the milestone back for a new delivery. When every member accepted in the round, the
    milestone is accepted. ``signed_on`` is the day the member signed (today, Bangkok, when not
    given; not in the future, not before the delivery); the milestone's ``accepted_on`` is the
    latest signing day of the round's words. Days late and the fine still count from the delivery."""
    now = utc_now(now)
    if decision not in DECISIONS:
        raise invalid("decision", Said("decision_choice", "The decision is accepted or rejected."))
    if decision == "rejected" and not (note or "").strip():
        raise invalid("note", Said("reject_note", "Say why the delivery is rejected."))
    signed_on = signed_on or today(now)
    if signed_on > today(now):
        raise invalid("signed_on", Said("signed_future", "The signing date cannot be in the future."))
    with documents.Uploads() as up:
        uow = up.uow
        session = uow.session
        contract = _contract(session, staff, contract_id, lock=True)
        milestone = _milestone(contract, milestone_id)
        committee = inspection_committee(contract.project)
        members = list(committee.members) if committee else []
        if member_id is not None:
            _require(staff, "sign-for-member")
            found = permissions.member_by_id(committee_members(committee), member_id)
            if found is None:
                raise invalid("member_id", Said("not_a_committee_member",
                                                "Not a member of this project's inspection committee."))
        else:
            found = permissions.inspector(staff, committee_members(committee))
            if found is None:
                raise forbidden(permissions.NOT_A_MEMBER)
        member = next(m for m in members if m.id == found.id)
        refuse(Conflict, milestones.contract_errors(contract.status))
        facts = milestone_facts(milestone)
        round_ = facts.round
        refuse(Conflict, milestones.decision_errors(facts, member.id, member.name))
        if signed_on < milestone.delivered_on:
            raise invalid("signed_on", Said("signed_before_delivery", "The signing date cannot be before the delivery "
                                            f"({milestone.delivered_on.isoformat()}).",
                                            delivered_on=milestone.delivered_on))
        _store(up, files, "evidence", staff, contract, milestone)
        session.flush()
        evidence = _documents_of(session, milestone_id=milestone.id, kind="evidence") if decision == "accepted" else []
        refuse(Conflict, milestones.evidence_needed_errors(decision, len(evidence)))
        acceptance = Acceptance(member_id=member.id, delivery_round=round_, decision=decision, note=note or "",
                                signed_on=signed_on, decided_by=staff.username, decided_at=now)
        acceptance.member = member
        milestone.acceptances.append(acceptance)
        session.flush()
        word = {"member_id": member.id, "member_name": member.name, "position": member.position,
                "decision": decision, "note": note or "", "round": round_, "decided_by": staff.username}
        if decision == "rejected":
            milestone.delivered_on = None
            milestone.delivered_recorded_by = None
            milestone.days_late = 0
            milestone.fine_amount = Decimal("0")
            _emit(uow, "procurement.milestone_rejected", contract,
                  {"milestone": _milestone_brief(milestone), "rejected_round": round_, "acceptance": word})
        elif milestones.accepted_by_all(milestone_facts(milestone), [m.id for m in members]):
            # the day the last of them signed (a word recorded before signing days were kept: its day)
            milestone.accepted_on = max(a.signed_on or today(a.decided_at)
                                        for a in milestone.acceptances
                                        if a.delivery_round == round_ and a.decision == "accepted")
            _emit(uow, "procurement.milestone_accepted", contract,
                  {"milestone": _milestone_brief(milestone), "round": round_,
                   "members": [m.id for m in members], "acceptance": word})
        uow.commit()
    return milestone


# --- payment ----------------------------------------------------------------------------------------------


def record_payment(staff: Staff, contract_id: int, milestone_id: int, paid_on: date, payment_ref: str,
                   note: str = "", files: Sequence = (), now: datetime | None = None) -> dict:
    """Pay an accepted milestone: the amount less its fine. When it is the last one, the contract and
    its project are completed, and a case waiting on the contract is told (``projects.complete_case_if_done``)."""
    _require(staff, "pay")
    now = utc_now(now)
    if not (payment_ref or "").strip():
        raise invalid("payment_ref", Said("payment_ref", "Give the payment's reference (e.g. the disbursement "
                                                         "voucher number)."))
    if paid_on > today(now):
        raise invalid("paid_on", Said("payment_future", "The payment date cannot be in the future."))
    with documents.Uploads() as up:
        uow = up.uow
        session = uow.session
        contract, milestone = _active_milestone(session, staff, contract_id, milestone_id)
        refuse(Conflict, milestones.payment_errors(milestone_facts(milestone)))
        if paid_on < milestone.accepted_on:
            raise invalid("paid_on", Said("payment_before_acceptance", "The payment cannot be before the acceptance "
                                          f"({milestone.accepted_on.isoformat()}).",
                                          accepted_on=milestone.accepted_on))
        _store(up, files, "payment", staff, contract, milestone)
        milestone.paid_on = paid_on
        milestone.paid_amount = fines.payable(milestone.amount, milestone.fine_amount)
        milestone.payment_ref = payment_ref.strip()
        milestone.paid_recorded_by = staff.username
        completed = milestones.all_paid(milestone_facts(m) for m in contract.milestones)
        if completed:
            contract.status = "completed"
            contract.completed_at = now
            contract.project.stage = "completed"
        session.flush()
        _emit(uow, "procurement.milestone_paid", contract,
              {"milestone": _milestone_brief(milestone), "payment_ref": milestone.payment_ref, "note": note or "",
               "contract_completed": completed, "recorded_by": staff.username})
        if completed:
            projects.complete_case_if_done(uow, contract.project, now=now)
        result = milestone_json(session, contract, milestone)
        uow.commit()
    return result


# --- incidents ---------------------------------------------------------------------------------------------


def incident_recipients(vendor: Vendor) -> list[dict]:
    """The vendor's emergency contacts with an email; if none, every contact with one."""
    with_email = [c for c in vendor.contacts if (c.email or "").strip()]
    chosen = [c for c in with_email if c.emergency] or with_email
    return [{"name": c.name, "email": c.email.strip(), "language": vendor.language or "th", "contact_id": c.id}
            for c in chosen]


def report_incident(staff: Staff, contract_id: int, command: ReportIncident, now: datetime | None = None) -> dict:
    """An emergency on a contract (e.g. the server is down): recorded, and the vendor's contacts are
    told at once (``procurement.incident_reported``, which notify mails). Without any contact email
    the incident is still recorded, and the answer carries a ``warning``."""
    _require(staff, "report-incident")
    now = utc_now(now)
    severity = command.severity or "high"
    if severity not in SEVERITIES:
        raise invalid("severity", "The severity is high or critical.")
    description = (command.description or "").strip()
    if not description:
        raise invalid("description", "Describe the incident.")
    with bus.unit_of_work() as uow:
        session = uow.session
        contract = _contract(session, staff, contract_id)
        if contract.status == "terminated":
            raise conflict("The contract is terminated.")
        incident = Incident(contract_id=contract.id, severity=severity, description=description,
                            reported_by=staff.username, reported_at=now)
        session.add(incident)
        session.flush()
        vendor = contract.vendor
        recipients = incident_recipients(vendor)
        project = contract.project
        uow.emit("procurement.incident_reported", {
            "org": contract.org,
            "incident": {"id": incident.id, "severity": severity, "description": description,
                         "reported_at": now.isoformat(), "reported_by": staff.username},
            "contract": {"id": contract.id, "number": contract.number, "vendor_name": vendor.name},
            "project": {"id": project.id, "title": project.title, "tracking_code": project.tracking_code},
            "vendor": {"id": vendor.id, "name": vendor.name},
            "recipients": [{k: r[k] for k in ("name", "email", "language")} for r in recipients],
        }, correlation_id=project.tracking_code)
        warning = None
        if not recipients:
            warning = ("The vendor has no contact with an email: the incident is recorded but nobody at the vendor "
                       "was told. Telephone them. / ผู้รับจ้างไม่มีอีเมลผู้ติดต่อ: บันทึกเหตุแล้วแต่ยังไม่ได้แจ้งใคร "
                       "กรุณาโทรแจ้ง")
        else:
            log_access(session, models.AccessLog, staff, "vendor_contact", [r["contact_id"] for r in recipients],
                       "incident reported: the vendor's contacts told")
        result = {"id": incident.id, "contract_id": contract.id, "severity": severity, "description": description,
                  "reported_by": staff.username, "reported_at": now, "resolved_at": None, "resolution": "",
                  "recipients": [{"name": r["name"], "email": r["email"]} for r in recipients],
                  "warning": warning}
        uow.commit()
    return result


# --- reading ----------------------------------------------------------------------------------------------


def _document_json(doc: Document) -> dict:
    return documents.as_json(doc)


def milestone_json(session: Session, contract: Contract, milestone: Milestone,
                   docs: list[Document] | None = None) -> dict:
    committee = inspection_committee(contract.project)
    members = list(committee.members) if committee else []
    facts = milestone_facts(milestone)
    round_ = facts.round
    if docs is None:
        docs = _documents_of(session, milestone_id=milestone.id)
    waiting_on = set(milestones.awaiting(facts, [m.id for m in members]))
    awaiting = [{"member_id": m.id, "name": m.name, "position": m.position, "username": m.username}
                for m in members if m.id in waiting_on]
    return {
        "id": milestone.id, "contract_id": contract.id, "seq": milestone.seq, "title": milestone.title,
        "deliverables": milestone.deliverables, "due_on": milestone.due_on, "amount": milestone.amount,
        "share_percent": milestone.share_percent, "state": milestone.state, "round": round_,
        "delivered_on": milestone.delivered_on, "delivery_note": milestone.delivery_note,
        "delivered_recorded_by": milestone.delivered_recorded_by, "days_late": milestone.days_late,
        "fine_amount": milestone.fine_amount, "accepted_on": milestone.accepted_on, "paid_on": milestone.paid_on,
        "paid_amount": milestone.paid_amount, "payment_ref": milestone.payment_ref,
        "paid_recorded_by": milestone.paid_recorded_by,
        "acceptances": [{"id": a.id, "member_id": a.member_id, "member_name": a.member.name if a.member else None,
                         "position": a.member.position if a.member else None, "round": a.delivery_round,
                         "decision": a.decision, "note": a.note, "signed_on": a.signed_on, "decided_by": a.decided_by,
                         "decided_at": a.decided_at} for a in milestone.acceptances],
        "awaiting": awaiting,
        "documents": [_document_json(d) for d in docs],
    }


def contract_json(session: Session, contract: Contract, staff: Staff | None,
                  purpose: str | None = "read a contract") -> dict:
    """A contract with its milestones (state, dates, fines, payments, each member's word, the
    documents), its committee and incidents. Logs the reading of committee members' names."""
    docs = _documents_of(session, contract_id=contract.id)
    by_milestone: dict[int | None, list[Document]] = {}
    for doc in docs:
        by_milestone.setdefault(doc.milestone_id, []).append(doc)
    committee = inspection_committee(contract.project)
    members = list(committee.members) if committee else []
    milestones = [milestone_json(session, contract, m, by_milestone.get(m.id, [])) for m in contract.milestones]
    incidents = list(session.scalars(select(Incident).where(Incident.contract_id == contract.id)
                                     .order_by(Incident.reported_at, Incident.id)))
    amount = Decimal(contract.amount)
    paid = sum((Decimal(m.paid_amount) for m in contract.milestones if m.paid_amount is not None), Decimal("0"))
    fines = sum((Decimal(m.fine_amount or 0) for m in contract.milestones), Decimal("0"))
    settled = sum((Decimal(m.amount) for m in contract.milestones if m.paid_on is not None), Decimal("0"))
    if purpose and staff is not None and members:
        log_access(session, models.AccessLog, staff, "committee_member", [m.id for m in members], purpose)
    return {
        "id": contract.id, "org": contract.org, "number": contract.number, "status": contract.status,
        "project": {"id": contract.project.id, "title": contract.project.title, "stage": contract.project.stage,
                    "tracking_code": contract.project.tracking_code},
        "project_id": contract.project_id, "vendor_id": contract.vendor_id,
        "vendor": {"id": contract.vendor.id, "name": contract.vendor.name},
        "amount": contract.amount, "signed_on": contract.signed_on, "starts_on": contract.starts_on,
        "ends_on": contract.ends_on, "warranty_months": contract.warranty_months,
        "warranty_ends_on": contract.warranty_ends_on, "fine_rate_percent": contract.fine_rate_percent,
        "fine_basis": contract.fine_basis, "fine_min_per_day": contract.fine_min_per_day,
        "completed_at": contract.completed_at, "created_by": contract.created_by, "created_at": contract.created_at,
        "totals": {"amount": amount, "paid": paid, "fines": fines, "outstanding": amount - settled},
        "inspection_committee": [{"member_id": m.id, "name": m.name, "position": m.position, "username": m.username}
                                 for m in members],
        "milestones": milestones,
        "documents": [_document_json(d) for d in by_milestone.get(None, [])],
        "incidents": [{"id": i.id, "contract_id": i.contract_id, "severity": i.severity, "description": i.description,
                       "reported_by": i.reported_by, "reported_at": i.reported_at, "resolved_at": i.resolved_at,
                       "resolution": i.resolution} for i in incidents],
    }


def get_contract(staff: Staff, contract_id: int) -> dict:
    with bus.unit_of_work() as uow:
        contract = _contract(uow.session, staff, contract_id)
        result = contract_json(uow.session, contract, staff)
        uow.commit()
    return result


def get_milestone(staff: Staff, contract_id: int, milestone_id: int) -> dict:
    with bus.unit_of_work() as uow:
        contract = _contract(uow.session, staff, contract_id)
        result = milestone_json(uow.session, contract, _milestone(contract, milestone_id))
    return result


def list_milestones(staff: Staff, contract_id: int) -> list[dict]:
    with bus.unit_of_work() as uow:
        contract = _contract(uow.session, staff, contract_id)
        docs = _documents_of(uow.session, contract_id=contract.id)
        return [milestone_json(uow.session, contract, m, [d for d in docs if d.milestone_id == m.id])
                for m in contract.milestones]


def list_contracts(staff: Staff, status: str | None = None, vendor_id: int | None = None,
                   project_id: int | None = None, limit: int = 100, offset: int = 0) -> list[dict]:
    """The contracts of ``staff``'s organisation (every one's for a system administrator), newest
    first, with their progress in numbers (no personal data)."""
    with bus.session() as session:
        query = of_org(select(Contract), Contract.org, staff)
        query = (query.options(joinedload(Contract.project), joinedload(Contract.vendor))
                 .order_by(Contract.signed_on.desc(), Contract.id.desc()))
        query = where_given(query, (Contract.status, status), (Contract.vendor_id, vendor_id),
                            (Contract.project_id, project_id))
        contracts = session.scalars(query.limit(limit).offset(offset)).unique().all()
        out = []
        for c in contracts:
            states = [m.state for m in c.milestones]
            upcoming = next((m for m in c.milestones if m.accepted_on is None), None)
            out.append({
                "id": c.id, "org": c.org, "number": c.number, "status": c.status, "project_id": c.project_id,
                "project": {"id": c.project.id, "title": c.project.title, "stage": c.project.stage,
                            "tracking_code": c.project.tracking_code},
                "vendor_id": c.vendor_id, "vendor": {"id": c.vendor.id, "name": c.vendor.name},
                "amount": c.amount, "signed_on": c.signed_on, "starts_on": c.starts_on, "ends_on": c.ends_on,
                "completed_at": c.completed_at, "milestone_count": len(states),
                "milestones_paid": states.count("paid"),
                # a paid milestone was accepted first: accepted counts both
                "milestones_accepted": sum(1 for m in c.milestones if m.accepted_on is not None),
                "next_due_on": upcoming.due_on if upcoming else None,
            })
        return out


def pending_acceptances(staff: Staff) -> list[dict]:
    """The deliveries waiting on this person's word as an inspection committee member: milestones
    delivered in their current round that they have not decided on yet, oldest due first (of the
    organisations they see)."""
    username = staff.username
    with bus.session() as session:
        rows = session.execute(
            select(Milestone, CommitteeMember)
            .join(Contract, Contract.id == Milestone.contract_id)
            .join(Committee, (Committee.project_id == Contract.project_id) & (Committee.kind == "inspection"))
            .join(CommitteeMember, CommitteeMember.committee_id == Committee.id)
            .where(CommitteeMember.username == username, Contract.status == "active",
                   *([] if permissions.seen_org(staff) is None else [Contract.org == permissions.seen_org(staff)]),
                   Milestone.delivered_on.is_not(None), Milestone.accepted_on.is_(None))
            .options(joinedload(Milestone.contract).joinedload(Contract.project),
                     joinedload(Milestone.contract).joinedload(Contract.vendor))
            .order_by(Milestone.due_on, Milestone.id)).unique().all()
        out = []
        for milestone, member in rows:
            facts = milestone_facts(milestone)
            round_ = facts.round
            if member.id in milestones.decided(facts):
                continue
            contract = milestone.contract
            evidence = session.scalar(select(func.count(Document.id)).where(
                Document.milestone_id == milestone.id, Document.kind == "evidence")) or 0
            others = [a.member.name for a in milestone.acceptances
                      if a.delivery_round == round_ and a.decision == "accepted" and a.member]
            out.append({
                "member_id": member.id,
                "contract": {"id": contract.id, "number": contract.number, "amount": contract.amount,
                             "vendor_name": contract.vendor.name},
                "project": {"id": contract.project.id, "title": contract.project.title,
                            "tracking_code": contract.project.tracking_code},
                "milestone": {"id": milestone.id, "seq": milestone.seq, "title": milestone.title,
                              "deliverables": milestone.deliverables, "due_on": milestone.due_on,
                              "amount": milestone.amount, "delivered_on": milestone.delivered_on,
                              "days_late": milestone.days_late, "fine_amount": milestone.fine_amount,
                              "round": round_, "state": milestone.state},
                "evidence_count": evidence,
                "accepted_by": others,
                "desk_path": f"/procurement/desk/contracts/{contract.id}",
            })
        return out


def due_between(start: date, end: date, staff: Staff | None = None) -> list[Milestone]:
    """Milestones of active contracts (of the organisations ``staff`` sees; None: every one, for
    the reminders) falling due from ``start`` to ``end`` (both included) and not accepted yet, by
    due date; each with its contract, vendor and project loaded."""
    with bus.session() as session:
        query = select(Milestone).join(Contract, Contract.id == Milestone.contract_id)
        if staff is not None:
            query = of_org(query, Contract.org, staff)
        return list(session.scalars(
            query
            .where(Contract.status == "active", Milestone.due_on >= start, Milestone.due_on <= end,
                   Milestone.accepted_on.is_(None))
            .options(joinedload(Milestone.contract).joinedload(Contract.project).selectinload(Project.committees),
                     joinedload(Milestone.contract).joinedload(Contract.vendor),
                     selectinload(Milestone.acceptances))
            .order_by(Milestone.due_on, Milestone.id)).unique())
