"""A contract's milestones (งวดงาน) as a state machine, over plain values.

    pending -> delivered -> accepted -> paid
       ^           |
       '-----------'  a member rejects the delivery: back to pending, a new round

A milestone is delivered (with its documents) while it is pending; every member of the project's
inspection committee gives their word on the delivery of the current round, once; a rejection ends
the round and sends the milestone back for a new delivery (the earlier words stay); when every
member accepted in the round, it is accepted (accepting needs an evidence document on it first).
Evidence is added any time before acceptance. An accepted milestone is paid once; when every
milestone is paid the contract is completed. Nothing moves on a contract that is not active, and
the milestones of a contract change only while none of them was delivered.

Each guard answers field-keyed messages (``{"_schema": ["..."]}``), empty when the move is allowed:
the API answers them as a 409, the desk says them in its language (``said.Said``). Who may make each
move is ``permissions``."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.procurement.domain.fines import HUNDRED, money
from shared.said import Said
from shared.errors import Invalid

STATES = ("pending", "delivered", "accepted", "paid")
MAX_MILESTONES = 60
DECISIONS = ("accepted", "rejected")

Errors = dict[str, list[str]]


@dataclass(frozen=True)
class Word:
    """One inspection committee member's word on one delivery round."""
    member_id: int
    round: int
    decision: str  # accepted or rejected


def state_of(delivered_on: date | None, accepted_on: date | None, paid_on: date | None) -> str:
    """pending, delivered, accepted or paid: how far the instalment has gone."""
    if paid_on:
        return "paid"
    if accepted_on:
        return "accepted"
    if delivered_on:
        return "delivered"
    return "pending"


def current_round(words: Iterable[Word]) -> int:
    """The delivery round a milestone is in: 1, plus one for every rejected delivery (a rejection
    ends its round; only one member can reject a round, since the milestone goes back then)."""
    return 1 + len({w.round for w in words if w.decision == "rejected"})


@dataclass(frozen=True)
class MilestoneFacts:
    """What the milestone rules look at: its number, its dates and the committee's words."""
    seq: int
    delivered_on: date | None = None
    accepted_on: date | None = None
    paid_on: date | None = None
    words: tuple[Word, ...] = ()

    @property
    def state(self) -> str:
        return state_of(self.delivered_on, self.accepted_on, self.paid_on)

    @property
    def round(self) -> int:
        return current_round(self.words)


def decided(milestone: MilestoneFacts) -> set[int]:
    """The members who gave their word on the current round's delivery."""
    round_ = milestone.round
    return {w.member_id for w in milestone.words if w.round == round_}


def awaiting(milestone: MilestoneFacts, member_ids: Iterable[int]) -> list[int]:
    """The members whose word the delivery waits on (none unless the milestone is delivered), in
    the committee's order."""
    if milestone.state != "delivered":
        return []
    done = decided(milestone)
    return [member_id for member_id in member_ids if member_id not in done]


def accepted_by_all(milestone: MilestoneFacts, member_ids: Iterable[int]) -> bool:
    """Every member of the committee accepted the current round's delivery."""
    round_ = milestone.round
    accepted = {w.member_id for w in milestone.words if w.round == round_ and w.decision == "accepted"}
    return set(member_ids) <= accepted


def all_paid(milestones: Iterable[MilestoneFacts]) -> bool:
    """The contract is completed when every milestone is paid."""
    return all(m.paid_on is not None for m in milestones)


# --- guards ----------------------------------------------------------------------------------------


def _no(message: str, field: str = "_schema") -> Errors:
    return {field: [message]}


def contract_errors(status: str) -> Errors:
    """Milestones move only on an active contract."""
    return {} if status == "active" else _no(Said("contract_not_active", f"The contract is {status}.", status=status))


def delivery_errors(milestone: MilestoneFacts) -> Errors:
    if milestone.state != "pending":
        return _no(Said("delivery_state", f"Milestone {milestone.seq} is {milestone.state} already; a delivery is "
                        "recorded while it is pending.", seq=milestone.seq, state=milestone.state))
    return {}


def evidence_errors(milestone: MilestoneFacts) -> Errors:
    if milestone.accepted_on is not None:
        return _no(Said("evidence_accepted", f"Milestone {milestone.seq} is accepted already; evidence is added "
                        "before acceptance.", seq=milestone.seq))
    return {}


def decision_errors(milestone: MilestoneFacts, member_id: int, member_name: str) -> Errors:
    """A member's word is given on a delivered milestone, once per round."""
    if milestone.state != "delivered":
        return _no(Said("decision_state", f"Milestone {milestone.seq} is {milestone.state}; it is accepted or "
                        "rejected once delivered, before acceptance.", seq=milestone.seq, state=milestone.state))
    if member_id in decided(milestone):
        return _no(Said("decided_already", f"{member_name} decided on this delivery already.", name=member_name))
    return {}


def evidence_needed_errors(decision: str, evidence_count: int) -> Errors:
    """Accepting needs at least one evidence document on the milestone."""
    if decision == "accepted" and not evidence_count:
        return _no(Said("evidence_needed", "Add the evidence (e.g. the training sign-in sheet) to the milestone "
                        "before accepting it."), "documents")
    return {}


def payment_errors(milestone: MilestoneFacts) -> Errors:
    if milestone.state == "paid":
        return _no(Said("paid_already", f"Milestone {milestone.seq} is paid already.", seq=milestone.seq))
    if milestone.state != "accepted":
        return _no(Said("payment_state", f"Milestone {milestone.seq} is {milestone.state}; it is paid once the "
                        "inspection committee accepted it.", seq=milestone.seq, state=milestone.state))
    return {}


def plan_change_errors(milestones: Iterable[MilestoneFacts]) -> Errors:
    """The milestones change only while none was delivered (nor has a word on it)."""
    if any(m.delivered_on or m.accepted_on or m.paid_on or m.words for m in milestones):
        return _no("A milestone was delivered already: the milestones cannot change any more.")
    return {}


# --- a new contract's plan ----------------------------------------------------------------------


def plan_milestones(amount: Decimal, starts_on: date, ends_on: date, items: Sequence[dict]) -> list[dict]:
    """Check the milestones of a new contract and give each its amount. Each item has ``title``,
    ``deliverables``, ``due_on`` and either ``amount`` or ``share_percent`` (all the same way):
    due dates lie within the contract's dates and increase; amounts sum to the contract's amount
    exactly, or shares to 100 (then the last takes the rounding remainder)."""
    errors: dict[str, list[str]] = {}
    if not items:
        raise Invalid(errors={"milestones": ["A contract has at least one milestone."]})
    if len(items) > MAX_MILESTONES:
        raise Invalid(errors={"milestones": [Said("max_milestones", f"At most {MAX_MILESTONES} milestones.", max=MAX_MILESTONES)]})
    by_amount = [i.get("amount") is not None for i in items]
    by_share = [i.get("share_percent") is not None for i in items]
    for n, (a, s) in enumerate(zip(by_amount, by_share)):
        if a == s:
            errors.setdefault(f"milestones.{n}.amount", []).append(
                "Give either the amount or the share_percent of this milestone (one of them).")
    if errors:
        raise Invalid(errors=errors)
    if any(by_amount) and any(by_share):
        raise Invalid(errors={"milestones": ["Give every milestone by amount, or every one by share_percent, not a mix."]})
    previous = None
    for n, item in enumerate(items):
        due = item["due_on"]
        if not starts_on <= due <= ends_on:
            errors.setdefault(f"milestones.{n}.due_on", []).append(
                Said("due_within", f"The due date must lie within the contract ({starts_on.isoformat()} to "
                     f"{ends_on.isoformat()}).", starts_on=starts_on, ends_on=ends_on))
        elif previous is not None and due <= previous:
            errors.setdefault(f"milestones.{n}.due_on", []).append(
                "Each milestone falls due after the one before it.")
        previous = due
    planned = []
    if all(by_amount):
        amounts = [Decimal(i["amount"]) for i in items]
        for n, value in enumerate(amounts):
            if value <= 0:
                errors.setdefault(f"milestones.{n}.amount", []).append("The amount must be more than 0.")
        total = sum(amounts, Decimal("0"))
        if not errors and total != amount:
            errors.setdefault("milestones", []).append(
                Said("amounts_sum", f"The milestones' amounts sum to {money(total)}; they must sum to the "
                     f"contract's amount {money(amount)} exactly.", total=money(total), amount=money(amount)))
        shares = [None] * len(items)
    else:
        shares = [Decimal(i["share_percent"]) for i in items]
        for n, value in enumerate(shares):
            if value <= 0:
                errors.setdefault(f"milestones.{n}.share_percent", []).append("The share must be more than 0.")
        total = sum(shares, Decimal("0"))
        if not errors and total != HUNDRED:
            errors.setdefault("milestones", []).append(Said("shares_sum", f"The shares sum to {total}%; they must sum to 100% exactly.",
                                                                 total=total))
        amounts = [money(amount * s / HUNDRED) for s in shares[:-1]]
        amounts.append(amount - sum(amounts, Decimal("0")))  # the last takes the rounding remainder
        if not errors and any(a <= 0 for a in amounts):
            errors.setdefault("milestones", []).append("Every milestone's amount must come to more than 0.")
    if errors:
        raise Invalid(errors=errors)
    for n, item in enumerate(items):
        planned.append({"seq": n + 1, "title": item.get("title") or "", "deliverables": item.get("deliverables") or "",
                        "due_on": item["due_on"], "amount": money(amounts[n]), "share_percent": shares[n]})
    return planned
