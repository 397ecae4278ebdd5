"""Who may do what in procurement: one answer, asked by the API's use cases and by the desk's pages.

A person is their username and roles (plain strings); ``admin`` may do anything. Reading is for
any procurement role. Supplies changes a project at any stage; a head or subhead only while the
TOR and quotes are gathered (draft, quotes), and may send a project at approval back to quotes.
Approvals are decided by the director, a deputy director or a head. Supplies records a plain
purchase's delivery and signs contracts. On a contract's milestones: supplies or an officer record
a delivery; they or anyone with the inspection-committee role add evidence; each member of the
project's inspection committee (by username, not by role) gives their own word, and supplies records
a member's paper signature in their name; finance or supplies record a payment.

The walls between organisations come first: everything procurement keeps is of one organisation
(``org``, the key of the pack it runs), and a person sees and acts on their own organisation's
things only; a system administrator (``sysadmin``) on every organisation's. Another organisation's
thing is as if it did not exist (``sees``: the use cases answer 404 for it, and 422 "no such ..."
when a body names it). A new thing is of its creator's organisation; a system administrator names
one (``new_org``). A committee member or officer named by username is one of the organisation's
people (``same_org_people``).

``project_refusal`` and ``contract_refusal`` say why a person may not (field-keyed messages, the
API's 403; empty: they may); ``milestone_actions`` says what a person may do on a milestone now,
their roles and its state (``milestones``) together: the desk offers its forms from it."""
from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from services.procurement.domain import milestones
from services.procurement.domain.milestones import MilestoneFacts
from shared.said import Said
from services.procurement.domain.stages import EARLY_STAGES

ADMIN = "admin"
SYSADMIN = "sysadmin"  # every organisation's (shared.auth.SYSADMIN)
READ_ROLES = ("supplies", "finance", "officer", "head", "subhead", "director", "deputy-director",
              "tor-committee", "procurement-committee", "inspection-committee")
PROJECT_WRITE_ROLES = ("supplies", "head", "subhead")  # head and subhead only while the TOR and quotes are gathered
EARLY_WRITERS = ("head", "subhead")
APPROVER_ROLES = ("director", "deputy-director", "head")
PURCHASE_DELIVERY_ROLES = ("supplies",)
REGISTER_WRITE_ROLES = ("supplies",)  # the vendors and the asset register
LOAN_ROLES = ("supplies", "officer")  # lending a replacement machine, and its return

# a contract's actions: (the roles that may, what the refusal says they may not do)
CONTRACT_ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "sign": (("supplies",), "sign contracts"),
    "change": (("supplies",), "change contracts"),
    "deliver": (("supplies", "officer"), "record deliveries"),
    "add-evidence": (("supplies", "officer", "inspection-committee"), "add evidence"),
    "sign-for-member": (("supplies",), "record a committee member's decision on their behalf"),
    "pay": (("finance", "supplies"), "record payments"),
    "report-incident": (("officer", "inspection-committee", "supplies", "head", "subhead"), "report incidents"),
}

NOT_A_MEMBER = Said("not_a_member", "Only the members of this project's inspection committee accept its milestones.")

Errors = dict[str, list[str]]


class Person(Protocol):
    username: str
    roles: Collection[str]
    org: str | None  # the organisation of their unit; None for a system administrator


@dataclass(frozen=True)
class Actor:
    """A person as plain values (``shared.auth.Staff`` answers the same two names)."""
    username: str
    roles: tuple[str, ...] = ()
    org: str | None = None


@dataclass(frozen=True)
class Member:
    """A member of a project's inspection committee: ``username`` when they log in to sopdesk."""
    id: int
    name: str
    username: str | None = None
    position: str = "member"


def _no(message: str) -> Errors:
    return {"_schema": [message]}


def may(person: Person, roles: Iterable[str] = ()) -> bool:
    """Has one of ``roles``, or is ``admin`` (who may do anything in their organisation) or a
    system administrator."""
    held = set(person.roles)
    return ADMIN in held or SYSADMIN in held or bool(held & set(roles))


# --- the walls between organisations ----------------------------------------------------------------

NO_ORG = "name the organisation (org) this is for"
NOT_YOURS = "not an organisation of yours"


def sees_all(person: Person) -> bool:
    """A system administrator: every organisation's things."""
    return SYSADMIN in set(person.roles)


def sees(person: Person, org: str | None) -> bool:
    """``person`` may know that a thing of ``org`` exists (read it, act on it by their roles)."""
    if sees_all(person):
        return True
    mine = getattr(person, "org", None)
    return mine is not None and org is not None and mine == org


def seen_org(person: Person) -> str | None:
    """The one organisation whose things a list shows ``person``; None: every organisation's
    (a system administrator). A person of no organisation who is not one sees nothing: ``""``."""
    if sees_all(person):
        return None
    return getattr(person, "org", None) or ""


def new_org(person: Person, named: str | None = None) -> tuple[str | None, Errors]:
    """The organisation a new thing ``person`` makes is of: their own; a system administrator
    names one (``named``); naming another organisation than one's own is refused (on ``org``)."""
    named = (named or "").strip() or None
    if sees_all(person):
        return (named, {}) if named else (None, {"org": [NO_ORG]})
    mine = getattr(person, "org", None)
    if mine is None:
        return None, {"org": [NO_ORG]}
    if named is not None and named != mine:
        return None, {"org": [NOT_YOURS]}
    return mine, {}


def same_org_people(org: str, people_orgs: dict[str, str | None], usernames: Iterable[str]) -> list[str]:
    """Of ``usernames``, those who are another organisation's people (``people_orgs``: each known
    person's organisation, None for a system administrator). A name the directory does not know
    is not refused here: a committee member may be named before their account exists."""
    return [name for name in usernames if name in people_orgs and people_orgs[name] != org]


def is_admin(person: Person) -> bool:
    return may(person)


def may_read(person: Person) -> bool:
    """Any procurement role reads projects and contracts, and uses the desk."""
    return may(person, READ_ROLES)


# --- projects --------------------------------------------------------------------------------------


def may_write_project(person: Person, stage: str | None) -> bool:
    """Supplies (or admin) at any stage; a head or subhead while the TOR and quotes are gathered
    (``stage`` None: a project not opened yet)."""
    if may(person, ("supplies",)):
        return True
    if may(person, EARLY_WRITERS):
        return stage is None or stage in EARLY_STAGES
    return False


def _write_refusal(person: Person, stage: str | None) -> Errors:
    if may_write_project(person, stage):
        return {}
    if stage is not None and may(person, EARLY_WRITERS):
        return _no(Said("supplies_from_approval", "from the approval stage on, only supplies changes a project"))
    return _no(Said("writers_only", "only supplies (or a head or subhead while the TOR and quotes are gathered) may do this"))


def project_refusal(person: Person, action: str, stage: str | None = None, target: str | None = None) -> Errors:
    """Why ``person`` may not do ``action`` on a project at ``stage`` (empty: they may).

    ``create`` (no stage yet) and ``change`` (its fields, documents, quotes, committees, cancelling):
    the writers; ``move`` to ``target``: the writers, and a head or subhead also moves a project at
    approval back to the early stages; ``decide-approval``: the approvers; ``record-delivery``:
    supplies."""
    if action == "decide-approval":
        return {} if may(person, APPROVER_ROLES) else _no(Said(
            "approvers_only", "approvals are decided by the director, a deputy director or a head"))
    if action == "record-delivery":
        return {} if may(person, PURCHASE_DELIVERY_ROLES) else _no(Said("supplies_delivers", "supplies records deliveries"))
    if action == "move":
        if may(person, EARLY_WRITERS) and target in EARLY_STAGES and stage in (*EARLY_STAGES, "approval"):
            return {}
        return _write_refusal(person, stage)
    if action == "create":
        return _write_refusal(person, None)
    if action == "change":
        return _write_refusal(person, stage)
    raise ValueError(f"unknown project action {action}")


def register_refusal(person: Person) -> Errors:
    """Why ``person`` may not change the vendors or the asset register (empty: they may)."""
    return {} if may(person, REGISTER_WRITE_ROLES) else _no(Said("roles", "Your roles may not do this."))


def loan_refusal(person: Person) -> Errors:
    """Why ``person`` may not lend an asset or record its return (empty: they may)."""
    return {} if may(person, LOAN_ROLES) else _no(Said("roles", "Your roles may not do this."))


def approver_role(person: Person) -> str:
    """The role a decision is recorded under: the first approver role held, else admin, else none."""
    return next((role for role in (*APPROVER_ROLES, ADMIN) if role in person.roles), "")


# --- contracts and their milestones ----------------------------------------------------------------


def contract_roles(action: str) -> tuple[str, ...]:
    """The roles that may do ``action`` on a contract (admin too)."""
    return CONTRACT_ACTIONS[action][0]


def contract_refusal(person: Person, action: str) -> Errors:
    """Why ``person``'s roles may not do ``action`` on a contract (empty: they may)."""
    roles, what = CONTRACT_ACTIONS[action]
    return {} if may(person, roles) else _no(Said("roles", f"Your roles may not {what}."))


def inspector(person: Person, members: Iterable[Member]) -> Member | None:
    """The inspection committee member who is this person (by username), if any."""
    return next((m for m in members if m.username and m.username == person.username), None)


def member_by_id(members: Iterable[Member], member_id: int) -> Member | None:
    return next((m for m in members if m.id == member_id), None)


@dataclass(frozen=True)
class MilestoneActions:
    """What a person may do on a milestone now."""
    deliver: bool = False
    add_evidence: bool = False
    accept_as: Member | None = None  # their own word, as this member
    accept_for: tuple[Member, ...] = ()  # the members whose paper signature they may record
    pay: bool = False

    def __bool__(self) -> bool:
        return bool(self.deliver or self.add_evidence or self.accept_as or self.accept_for or self.pay)


def milestone_actions(person: Person, contract_status: str, milestone: MilestoneFacts,
                      members: Sequence[Member]) -> MilestoneActions:
    """What ``person`` may do on ``milestone`` of a contract in ``contract_status`` whose project's
    inspection committee is ``members``: the same roles and guards the use cases apply."""
    if milestones.contract_errors(contract_status):
        return MilestoneActions()

    def allowed(action: str, state_errors: Errors) -> bool:
        return not contract_refusal(person, action) and not state_errors

    me = inspector(person, members)
    accept_as = me if me is not None and not milestones.decision_errors(milestone, me.id, me.name) else None
    accept_for: tuple[Member, ...] = ()
    if not contract_refusal(person, "sign-for-member"):
        accept_for = tuple(m for m in members if not milestones.decision_errors(milestone, m.id, m.name))
    return MilestoneActions(deliver=allowed("deliver", milestones.delivery_errors(milestone)),
                            add_evidence=allowed("add-evidence", milestones.evidence_errors(milestone)),
                            accept_as=accept_as, accept_for=accept_for,
                            pay=allowed("pay", milestones.payment_errors(milestone)))


def desk_offer(person: Person, contract_status: str, milestone: MilestoneFacts,
               members: Sequence[Member]) -> MilestoneActions:
    """The forms the desk's contract page offers on a milestone: what ``milestone_actions`` allows,
    except that the page offers evidence only once the milestone is delivered, beside the committee's
    word (the API takes evidence from before the delivery too, until acceptance)."""
    allowed = milestone_actions(person, contract_status, milestone, members)
    return replace(allowed, add_evidence=allowed.add_evidence and milestone.state == "delivered")
