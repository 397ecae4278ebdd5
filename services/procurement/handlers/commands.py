"""What staff ask of procurement, one named command per use case that takes a body: open and
change a project, add a quote, appoint a committee; sign a contract, add a milestone, report an
incident; register and change an asset, lend it and record its return; register and change a
vendor, add a contact. The row a command is asked of (the project, contract, asset, loan or
vendor in the URL) is the use case's own argument; the command carries what was asked of it.

Each command has the fields its schema (``schemas/``) loads, with the schema's defaults;
``from_loaded`` builds one from what a schema loaded. A partial change (``UpdateProject``,
``UpdateAsset``, ``UpdateVendor``) changes only what was sent: a field not sent is ``UNSET``
(unlike ``None``, which a sender may mean: "no officer", "no vendor"), and ``changes()`` gives
the fields sent, by name. Nested items (a contract's milestones and paper documents, a
committee's members, a vendor's contacts, a milestone's rebalance) are kept as their schema
loads them, one mapping each."""
from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Final, Literal, TypeVar


class _Unset(enum.Enum):
    UNSET = "unset"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset.UNSET
"""A field of a partial change that was not sent: it stays as it is."""
Unset = Literal[_Unset.UNSET]

Item = Mapping[str, object]  # a nested item as its schema loads it


class _Partial:
    """A change of only the fields sent."""

    def changes(self) -> dict[str, object]:
        """The fields sent, by name, with their values (``None`` included)."""
        return {f.name: getattr(self, f.name) for f in fields(self)  # type: ignore[arg-type]
                if getattr(self, f.name) is not UNSET}


# --- projects ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OpenProject:
    """Open a project at ``draft`` (``fiscal_year`` in the Buddhist era: this one when unset)."""

    title: str
    purpose: str = ""
    kind: str = "purchase"
    budget: Decimal | None = None
    fiscal_year: int | None = None
    officer: str | None = None
    officer_contact: Item | None = None
    tracking_code: str | None = None
    method: str | None = None
    org: str | None = None  # the organisation it is for: a system administrator names it


@dataclass(frozen=True, kw_only=True)
class UpdateProject(_Partial):
    """Change a project's fields: only those sent."""

    title: str | Unset = UNSET
    purpose: str | Unset = UNSET
    kind: str | Unset = UNSET
    budget: Decimal | None | Unset = UNSET
    fiscal_year: int | Unset = UNSET
    officer: str | None | Unset = UNSET
    officer_contact: Item | None | Unset = UNSET
    tracking_code: str | None | Unset = UNSET
    method: str | None | Unset = UNSET
    outcome: str | Unset = UNSET


@dataclass(frozen=True, kw_only=True)
class AddQuote:
    """A vendor's quote (its file, if uploaded, is handed to the use case beside the command)."""

    vendor_id: int
    amount: Decimal
    received_on: date
    valid_until: date | None = None
    document_id: int | None = None
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class AppointCommittee:
    """Appoint a committee by its order: ``members`` each {username, name, email, language, position}."""

    appointed_on: date
    members: tuple[Item, ...]
    order_ref: str = ""


# --- contracts --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SignContract:
    """Sign a contract for a project: ``milestones`` each {title, deliverables, due_on, amount or
    share_percent}; ``documents`` the signed paper's references, each {ref, name}."""

    project_id: int
    number: str
    vendor_id: int
    amount: Decimal
    signed_on: date
    starts_on: date
    ends_on: date
    milestones: tuple[Item, ...]
    warranty_months: int | None = None
    warranty_ends_on: date | None = None
    fine_rate_percent: Decimal = Decimal("0.1")
    fine_basis: str = "milestone"
    fine_min_per_day: Decimal = Decimal("0")
    documents: tuple[Item, ...] = ()


@dataclass(frozen=True, kw_only=True)
class AddMilestone:
    """Add a milestone (by ``amount`` or ``share_percent``); ``rebalance`` the others' new
    amounts, each {milestone_id, amount}."""

    title: str
    due_on: date
    deliverables: str = ""
    amount: Decimal | None = None
    share_percent: Decimal | None = None
    rebalance: tuple[Item, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ReportIncident:
    description: str
    severity: str = "high"


# --- assets -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RegisterAsset:
    """Put an asset on the register (its vendor by ``vendor_id`` or ``vendor_tax_id``); a field
    left ``None`` takes the register's default."""

    tag: str
    kind: str
    model: str | None = None
    serial: str | None = None
    location: str | None = None
    holder: str | None = None
    vendor_id: int | None = None
    vendor_tax_id: str | None = None
    acquired_on: date | None = None
    price: Decimal | None = None
    warranty_ends_on: date | None = None
    ownership: str | None = None
    status: str | None = None
    note: str | None = None
    org: str | None = None  # the organisation it is for: a system administrator names it


@dataclass(frozen=True, kw_only=True)
class UpdateAsset(_Partial):
    """Change an asset: only the fields sent (``vendor_id`` or ``vendor_tax_id`` sent as ``None``:
    no vendor)."""

    kind: str | Unset = UNSET
    model: str | None | Unset = UNSET
    serial: str | None | Unset = UNSET
    location: str | None | Unset = UNSET
    holder: str | None | Unset = UNSET
    vendor_id: int | None | Unset = UNSET
    vendor_tax_id: str | None | Unset = UNSET
    acquired_on: date | None | Unset = UNSET
    price: Decimal | None | Unset = UNSET
    warranty_ends_on: date | None | Unset = UNSET
    ownership: str | Unset = UNSET
    status: str | Unset = UNSET
    note: str | None | Unset = UNSET


@dataclass(frozen=True, kw_only=True)
class LendAsset:
    borrower: str
    lent_on: date
    borrower_unit: str = ""
    tracking_code: str | None = None
    replaces_tag: str | None = None
    due_back_on: date | None = None
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class ReturnLoan:
    returned_on: date
    note: str = ""


# --- vendors ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RegisterVendor:
    """Register a vendor with its ``contacts``, each {name, email, phone, role, emergency}."""

    name: str
    tax_id: str
    address: str = ""
    language: str = "th"
    active: bool = True
    contacts: tuple[Item, ...] = ()
    org: str | None = None  # the organisation it is for: a system administrator names it


@dataclass(frozen=True, kw_only=True)
class UpdateVendor(_Partial):
    """Change a vendor: only the fields sent."""

    name: str | Unset = UNSET
    tax_id: str | Unset = UNSET
    address: str | Unset = UNSET
    language: str | Unset = UNSET
    active: bool | Unset = UNSET


@dataclass(frozen=True, kw_only=True)
class AddContact:
    name: str
    email: str | None = None
    phone: str | None = None
    role: str = ""
    emergency: bool = False


# --- from what a schema loaded ----------------------------------------------------------------

C = TypeVar("C")


def from_loaded(command: type[C], data: Mapping[str, object]) -> C:
    """``command`` with what a schema loaded: each loaded field by its name (a list kept as a
    tuple); a field the schema did not load keeps the command's default (``UNSET`` for a partial
    change). A loaded field the command has no place for is a mistake of ours, not the sender's."""
    names = {f.name for f in fields(command)}  # type: ignore[arg-type]
    stray = sorted(set(data) - names)
    if stray:
        raise TypeError(f"{command.__name__} takes no {', '.join(stray)}")
    return command(**{name: tuple(value) if isinstance(value, list) else value for name, value in data.items()})
