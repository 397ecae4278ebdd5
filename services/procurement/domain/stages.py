"""A procurement project's stages (ขั้นตอนโครงการ) and what blocks each move, over plain values.

    draft -> quotes -> approval -> procurement -> contract -> completed
                                              (a plain purchase: -> delivered -> completed)
    any stage but a final one -> cancelled

A draft goes to quotes (its TOR or its first quote moves it on) and back; approval follows the
quotes (at least one quote, hence a reference price) and procurement may go back to it while no
contract is signed; approval goes back to quotes. Procurement follows approval once the principle
and budget are approved and no approval stands rejected: "the director rejects" stops the project
until the same kind is approved again (the latest decision of each kind stands). A contract is
signed at procurement (``contract_blockers``) and moves the project to contract; it completes when
every live contract is completed, or after a plain purchase's delivery. Cancelling and recording
a delivery have their own calls. The reference price is the median of the quotes.

Every refusal is a field-keyed list of messages (``{"stage": ["..."]}``), empty when allowed: the
API answers them as they are. A project is described by ``ProjectFacts``; the handler reads them
from the tables."""
from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from shared.said import Said
from services.procurement.domain.fines import money

# ร่าง TOR -> ใบเสนอราคา -> ขออนุมัติ -> จัดซื้อจัดจ้าง -> สัญญา -> ส่งมอบครบ / ปิด
PROJECT_STAGES = ("draft", "quotes", "approval", "procurement", "contract", "delivered", "completed", "cancelled")
APPROVAL_KINDS = ("principle-budget", "tor", "reference-price", "vendor-selection")
EARLY_STAGES = ("draft", "quotes")  # the TOR and the quotes are gathered
OPEN_STAGES = ("draft", "quotes", "approval", "procurement", "contract")
FINAL_STAGES = ("delivered", "completed", "cancelled")
CLOSED_STAGES = ("completed", "cancelled")  # nothing more to change
MOVES = ("draft", "quotes", "approval", "procurement", "completed")  # the stages ``change_stage`` moves to
MAX_QUOTES = 3

Errors = dict[str, list[str]]


@dataclass(frozen=True)
class Decision:
    """One approval decision as recorded: ``order`` breaks a tie of moments (the record's id)."""
    kind: str
    decision: str  # approved or rejected
    decided_at: datetime
    order: int = 0


@dataclass(frozen=True)
class ProjectFacts:
    """What the stage rules look at: the stage, the kind (purchase, hire, rent), how many quotes,
    the standing decision of each approval kind (``standing_decisions``), the status of each of its
    contracts, the members of its inspection committee, and whether a delivery is recorded."""
    stage: str
    kind: str = "purchase"
    quotes: int = 0
    decisions: Mapping[str, str | None] = field(default_factory=dict)
    contracts: tuple[str, ...] = ()
    inspection_members: int = 0
    delivered: bool = False


def _no(message: str, field_: str = "stage") -> Errors:
    return {field_: [message]}


# --- approvals -------------------------------------------------------------------------------------


def standing_decisions(decisions: Iterable[Decision]) -> dict[str, str | None]:
    """Each approval kind's standing decision: the latest one's word (approved, rejected), or None."""
    standing: dict[str, str | None] = {kind: None for kind in APPROVAL_KINDS}
    for decision in sorted(decisions, key=lambda d: (d.decided_at, d.order)):
        standing[decision.kind] = decision.decision
    return standing


def approved(project: ProjectFacts, kind: str) -> bool:
    return project.decisions.get(kind) == "approved"


def standing_rejections(project: ProjectFacts) -> list[str]:
    """The kinds whose latest decision is a rejection (a rejection approved again no longer stands)."""
    return [kind for kind in APPROVAL_KINDS if project.decisions.get(kind) == "rejected"]


# --- the reference price ---------------------------------------------------------------------------


def median_price(amounts: Iterable) -> Decimal | None:
    """The reference price: the median of the quotes' amounts (two quotes: their mean), to the satang."""
    values = [Decimal(a) for a in amounts]
    if not values:
        return None
    return money(statistics.median(values))


# --- moves -----------------------------------------------------------------------------------------


def stage_errors(project: ProjectFacts, target: str) -> Errors:
    """Why ``project`` may not move to ``target`` now (empty: it may)."""
    current = project.stage
    if target == current:
        return _no(Said("stage_already", f"the project is at {current} already", stage=current))
    if target == "cancelled":
        return _no(Said("stage_cancel_action", "cancel with POST /procurement/projects/<id>/cancel and a reason"))
    if target == "delivered":
        return _no(Said("stage_delivery_action", "record the delivery with POST /procurement/projects/<id>/delivery"))
    if current in ("completed", "cancelled", "delivered") and target != "completed":
        return _no(Said("project_is", f"the project is {current}", stage=current))
    if target == "draft":
        return {} if current == "quotes" else _no(Said("stage_back_to_draft", "only a project at quotes goes back to draft"))
    if target == "quotes":
        if current in ("draft", "approval"):
            return {}
        return _no(Said("stage_quotes_follow", "quotes follow the draft (or go back from approval)"))
    if target == "approval":
        if current == "procurement" and not project.contracts:
            return {}
        if current != "quotes":
            return _no(Said("stage_approval_follows", "approval follows the quotes stage"))
        if not project.quotes:
            return _no(Said("stage_no_quote", "no quote yet: an approval needs at least one quote and its reference price"), "quotes")
        return {}
    if target == "procurement":
        if current != "approval":
            return _no(Said("stage_procurement_follows", "procurement follows approval"))
        errors: Errors = {}
        if not approved(project, "principle-budget"):
            errors["approvals"] = [Said("principle_first", "the principle and budget must be approved first")]
        rejected = standing_rejections(project)
        if rejected:
            errors.setdefault("approvals", []).append(Said("rejected_standing", f"rejected and not yet approved again: {', '.join(rejected)}",
                                                      kinds=tuple(rejected)))
        return errors
    if target == "contract":
        return _no(Said("stage_contract_action", "a contract is signed with POST /procurement/contracts, which moves the project on"))
    if target == "completed":
        if current == "delivered":
            return {}
        if current == "contract":
            live = [status for status in project.contracts if status != "terminated"]
            if live and all(status == "completed" for status in live):
                return {}
            return _no(Said("contract_not_completed", "the contract is not completed yet"))
        return _no(Said("stage_completes_after", "a project completes after its delivery or its contract"))
    return _no(Said("stage_unknown", f"unknown stage {target}", target=target))


def next_stages(project: ProjectFacts) -> list[str]:
    """The stages ``stage_errors`` lets the project move to now (whoever asks)."""
    return [stage for stage in MOVES if not stage_errors(project, stage)]


def contract_blockers(project: ProjectFacts) -> list[str]:
    """Why a contract may not be signed for this project now (empty: it may): the project is at the
    ``procurement`` stage (one contract per project: signing moves it on to ``contract``), the
    latest decision on its principle and budget is an approval, and its inspection committee is
    appointed with at least one member."""
    blockers = []
    if project.stage != "procurement":
        blockers.append(Said("sign_at_procurement", f"The project is at stage {project.stage}; a contract is signed at "
                             "stage procurement (after its approvals, committees and the choice of the vendor).",
                             stage=project.stage))
    if not approved(project, "principle-budget"):
        blockers.append(Said("sign_principle", "The project's principle and budget are not approved."))
    if not project.inspection_members:
        blockers.append(Said("sign_committee", "The project has no inspection committee with members: appoint it "
                                  "before signing."))
    return blockers


# --- what a stage still allows ---------------------------------------------------------------------


def closed_errors(stage: str, what: str = "change") -> Errors:
    """A completed or cancelled project takes no more changes."""
    return _no(Said(f"closed_{what}", f"the project is {stage}: nothing more to {what}", stage=stage)) if stage in CLOSED_STAGES else {}


def final_errors(stage: str) -> Errors:
    """A delivered, completed or cancelled project takes no approval, committee or cancelling."""
    return _no(Said("project_is", f"the project is {stage}", stage=stage)) if stage in FINAL_STAGES else {}


def quote_errors(stage: str, removing: bool = False) -> Errors:
    """Quotes are added and removed only while the TOR and quotes are gathered."""
    if stage in EARLY_STAGES:
        return {}
    if removing:
        return _no(Said("quotes_change_early", f"quotes change only at the draft or quotes stage; the project is at {stage}",
                        stage=stage))
    return _no(Said("quotes_early", f"quotes are gathered at the draft or quotes stage; the project is at {stage}",
                    stage=stage))


def moves_on_with(stage: str, tor_added: bool = False, quote_added: bool = False) -> str:
    """A draft moves on to quotes with its first TOR document or its first quote."""
    return "quotes" if stage == "draft" and (tor_added or quote_added) else stage


def purchase_delivery_errors(project: ProjectFacts) -> Errors:
    """Why a plain purchase's (or a rental's) delivery may not be recorded now: once only, not on a
    completed or cancelled project, not on a project with a contract (its milestones are
    delivered), not on a hire (delivered by its contract's milestones)."""
    if project.stage == "delivered" or project.delivered:
        return _no(Said("delivered_already", "the delivery is recorded already"))
    if project.stage in CLOSED_STAGES:
        return _no(Said("project_is", f"the project is {project.stage}", stage=project.stage))
    if project.stage == "contract" or project.contracts:
        return _no(Said("delivery_per_milestone", "this project has a contract: deliveries are recorded per milestone"))
    if project.kind == "hire":
        return _no(Said("hire_by_milestones", "a hire is delivered by its contract's milestones"), "kind")
    return {}


def cancel_errors(project: ProjectFacts) -> Errors:
    """Why the project may not be cancelled now: it is final already, or a contract is active."""
    errors = final_errors(project.stage)
    if errors:
        return errors
    if any(status == "active" for status in project.contracts):
        return _no(Said("active_contract", "the project has an active contract: terminate it first"))
    return {}


def approval_errors(stage: str, kind: str, decision: str, note: str, has_reference_price: bool) -> Errors:
    """What is wrong with a decision as given: a rejection says why; the reference price is decided
    once there is one (a quote); a vendor is selected at the procurement stage (or after)."""
    errors: Errors = {}
    if decision == "rejected" and not (note or "").strip():
        errors["note"] = [Said("why_rejected", "say why it is rejected")]
    if kind == "reference-price" and not has_reference_price:
        errors.setdefault("kind", []).append(Said("no_reference_price", "no reference price yet: add a quote first"))
    if kind == "vendor-selection" and stage not in ("procurement", "contract"):
        errors.setdefault("kind", []).append(Said("vendor_at_procurement", "a vendor is selected at the procurement stage"))
    return errors


def documents_errors(stage: str) -> Errors:
    """Documents join the trail at any stage but cancelled."""
    return _no(Said("project_is", "the project is cancelled", stage="cancelled")) if stage == "cancelled" else {}
