"""Procurement's tables: vendors and their contacts, the asset register (ครุภัณฑ์) with loans and
warranty claims, procurement projects (terms of reference, quotes, approvals, committees), and
contracts with their milestones (งวดงาน): delivery, the inspection committee's acceptance, late
fines and payment. Plus the event plumbing every service has.

Every thing an organisation owns and lists on its own (vendors, assets, their loans and claims,
projects, contracts) carries ``org``: the key of the pack the organisation runs (``up``,
``sesao-sc``...). The walls between organisations (``domain.permissions.sees``) read it; what hangs
under one of these (contacts, quotes, approvals, committees, documents, milestones, acceptances,
incidents) is of its parent's organisation and is reached only through it.

Money is ``Numeric(14, 2)`` (baht and satang), never a float. Dates of the paper world (signed,
due, delivered, paid) are Bangkok calendar dates (``Date``); moments are aware UTC times."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (JSON, Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String, Text,
                        UniqueConstraint, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.procurement.domain import milestones
from services.procurement.domain.stages import APPROVAL_KINDS, PROJECT_STAGES  # noqa: F401  (the rules' words)
from shared import db
from shared.audit import AccessLogMixin
from shared.messaging import message_tables
from shared.traffic_log import traffic_tables

Base = db.make_base("procurement")

MONEY = Numeric(14, 2)

ASSET_STATUSES = ("in_use", "in_repair", "on_loan", "retired")
OWNERSHIP = ("owned", "leased")
PROJECT_KINDS = ("purchase", "hire", "rent")  # ซื้อ, จ้าง, เช่า
METHODS = ("specific", "selection", "e-bidding", "e-market")  # เฉพาะเจาะจง, คัดเลือก, e-bidding, e-market
COMMITTEE_KINDS = ("tor", "procurement", "inspection")
COMMITTEE_POSITIONS = ("chair", "member", "secretary")
DOCUMENT_KINDS = ("tor", "memo", "quote", "approval", "appointment", "selection-report", "contract", "delivery",
                  "invoice", "evidence", "payment", "incident", "other")
CONTRACT_STATUSES = ("active", "completed", "terminated")
FINE_BASES = ("milestone", "contract")


# the service's side of the event bus: outbox, inbox, dead letters, events owed to each subscriber
Outbox, Inbox, DeadLetter = message_tables(Base, __name__)
# its traffic log (the Computer Crime Act's traffic data) and where its hash chain starts and ends
Traffic, TrafficChain = traffic_tables(Base, __name__)


class AccessLog(AccessLogMixin, Base):
    pass


# --- vendors -----------------------------------------------------------------------------------


class Vendor(Base):
    __tablename__ = "vendors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org: Mapped[str] = mapped_column(String(50), index=True)  # each organisation keeps its own register
    name: Mapped[str] = mapped_column(String(300))
    tax_id: Mapped[str] = mapped_column(String(13))  # เลขประจำตัวผู้เสียภาษี, 13 digits, once per organisation
    address: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(2), default="th")  # of the emails sent to its contacts
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)

    contacts: Mapped[list["VendorContact"]] = relationship(back_populates="vendor", lazy="selectin",
                                                           cascade="all, delete-orphan",
                                                           order_by="VendorContact.id")

    __table_args__ = (UniqueConstraint("org", "tax_id", name="uq_vendors_org_tax_id"),)


class VendorContact(Base):
    __tablename__ = "vendor_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(100), default="")  # e.g. sales, support
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)  # told at once of incidents

    vendor: Mapped[Vendor] = relationship(back_populates="contacts")


# --- assets --------------------------------------------------------------------------------------


class Asset(Base):
    """One item of the asset register (ครุภัณฑ์), by its tag (หมายเลขครุภัณฑ์)."""

    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org: Mapped[str] = mapped_column(String(50), index=True)
    tag: Mapped[str] = mapped_column(String(64))  # once per organisation
    kind: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(200), default="")
    serial: Mapped[str] = mapped_column(String(100), default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    holder: Mapped[str] = mapped_column(String(200), default="")  # person or unit that holds it
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendors.id"), index=True)
    acquired_on: Mapped[date | None] = mapped_column(Date)
    price: Mapped[Decimal | None] = mapped_column(MONEY)
    warranty_ends_on: Mapped[date | None] = mapped_column(Date)
    ownership: Mapped[str] = mapped_column(String(10), default="owned")  # owned | leased
    status: Mapped[str] = mapped_column(String(12), default="in_use", index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=db.utcnow, onupdate=db.utcnow)

    vendor: Mapped[Vendor | None] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("ownership IN ('owned', 'leased')", name="ownership"),
        CheckConstraint("status IN ('in_use', 'in_repair', 'on_loan', 'retired')", name="status"),
        UniqueConstraint("org", "tag", name="uq_assets_org_tag"),
        # a request's asset tag is looked up in its organisation whatever its letters' case (find_asset)
        Index("ix_assets_org_tag_lower", "org", text("lower(tag)")),
    )


class AssetLoan(Base):
    """A machine lent (e.g. a replacement while the borrower's own is in repair)."""

    __tablename__ = "asset_loans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    org: Mapped[str] = mapped_column(String(50), index=True)  # the asset's
    borrower: Mapped[str] = mapped_column(String(200))
    borrower_unit: Mapped[str] = mapped_column(String(200), default="")
    tracking_code: Mapped[str | None] = mapped_column(String(64), index=True)  # the case it serves
    replaces_tag: Mapped[str | None] = mapped_column(String(64))  # the borrower's machine in repair
    lent_on: Mapped[date] = mapped_column(Date)
    due_back_on: Mapped[date | None] = mapped_column(Date)
    returned_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)

    asset: Mapped[Asset] = relationship(lazy="joined")

    __table_args__ = (
        # one open loan per machine
        Index("uq_asset_loans_open", "asset_id", unique=True,
              postgresql_where=text("returned_on IS NULL")),
    )


class Claim(Base):
    """A warranty or lease claim on a vendor for an asset of a repair case."""

    __tablename__ = "claims"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org: Mapped[str] = mapped_column(String(50), index=True)  # the asset's and vendor's
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), index=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"), index=True)
    tracking_code: Mapped[str | None] = mapped_column(String(64), index=True)
    step: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(20), default="warranty")  # warranty | leased
    opened_at: Mapped[datetime] = mapped_column(default=db.utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    note: Mapped[str] = mapped_column(Text, default="")

    vendor: Mapped[Vendor] = relationship(lazy="joined")
    asset: Mapped[Asset | None] = relationship(lazy="joined")


# --- procurement projects -------------------------------------------------------------------------


class Project(Base):
    """A procurement project (โครงการจัดซื้อจัดจ้าง), from the draft terms to its outcome. It may
    serve a case: ``tracking_code`` and, while the case waits on it, ``case_step``/``case_waiting_on``."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org: Mapped[str] = mapped_column(String(50), index=True)
    title: Mapped[str] = mapped_column(String(300))
    purpose: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(10), default="purchase")
    stage: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    method: Mapped[str | None] = mapped_column(String(12))
    budget: Mapped[Decimal | None] = mapped_column(MONEY)
    reference_price: Mapped[Decimal | None] = mapped_column(MONEY)  # the median of the quotes
    outcome: Mapped[str] = mapped_column(Text, default="")
    fiscal_year: Mapped[int | None] = mapped_column(Integer)  # Buddhist era, e.g. 2570
    officer: Mapped[str | None] = mapped_column(String(100))  # username of the responsible officer
    officer_contact: Mapped[dict | None] = mapped_column(JSON)  # {name, email, language}
    # the case it serves
    tracking_code: Mapped[str | None] = mapped_column(String(64), index=True)
    case_sop: Mapped[str | None] = mapped_column(String(120))
    case_step: Mapped[str | None] = mapped_column(String(100))
    case_waiting_on: Mapped[str | None] = mapped_column(String(30))  # procurement-delivery | -contract
    case_waiting_since: Mapped[datetime | None] = mapped_column(default=None)
    case_notified_at: Mapped[datetime | None] = mapped_column(default=None)  # told the case it may go on
    delivered_on: Mapped[date | None] = mapped_column(Date)
    delivery_note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=db.utcnow, onupdate=db.utcnow)

    quotes: Mapped[list["Quote"]] = relationship(back_populates="project", lazy="selectin",
                                                 cascade="all, delete-orphan", order_by="Quote.id")
    approvals: Mapped[list["Approval"]] = relationship(lazy="selectin", cascade="all, delete-orphan",
                                                       order_by="Approval.id")
    committees: Mapped[list["Committee"]] = relationship(back_populates="project", lazy="selectin",
                                                         cascade="all, delete-orphan", order_by="Committee.id")
    contracts: Mapped[list["Contract"]] = relationship(back_populates="project", lazy="selectin",
                                                       order_by="Contract.id")

    __table_args__ = (
        CheckConstraint("kind IN ('purchase', 'hire', 'rent')", name="kind"),
        CheckConstraint("stage IN ('draft', 'quotes', 'approval', 'procurement', 'contract', 'delivered', "
                        "'completed', 'cancelled')", name="stage"),
    )


class Document(Base):
    """A document of the trail (TOR, memo, quote, contract, delivery letter, invoice, sign-in
    sheet ...): a file kept under files_dir/procurement, or a reference to one kept elsewhere."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    milestone_id: Mapped[int | None] = mapped_column(ForeignKey("milestones.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str | None] = mapped_column(String(120))
    size: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    storage_key: Mapped[str | None] = mapped_column(String(80))  # under files_dir/procurement
    ref: Mapped[str] = mapped_column(String(500), default="")  # e.g. a paper file's number
    uploaded_by: Mapped[str] = mapped_column(String(100), default="")
    uploaded_at: Mapped[datetime] = mapped_column(default=db.utcnow)


class Quote(Base):
    __tablename__ = "quotes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    received_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)

    project: Mapped[Project] = relationship(back_populates="quotes")
    vendor: Mapped[Vendor] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("project_id", "vendor_id", name="uq_quotes_project_vendor"),)


class Approval(Base):
    """A decision on a project: approval of principle and budget, of the TOR, of the reference
    price, of the vendor chosen. Every decision is kept (a rejection, then a later approval)."""

    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    decision: Mapped[str] = mapped_column(String(10))  # approved | rejected
    decided_by: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(40), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    decided_at: Mapped[datetime] = mapped_column(default=db.utcnow)


class Committee(Base):
    """A committee of a project (TOR, procurement, inspection), appointed by an order."""

    __tablename__ = "committees"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    order_ref: Mapped[str] = mapped_column(String(200), default="")  # คำสั่งแต่งตั้ง
    appointed_on: Mapped[date | None] = mapped_column(Date)

    project: Mapped[Project] = relationship(back_populates="committees")
    members: Mapped[list["CommitteeMember"]] = relationship(back_populates="committee", lazy="selectin",
                                                            cascade="all, delete-orphan",
                                                            order_by="CommitteeMember.id")

    __table_args__ = (UniqueConstraint("project_id", "kind", name="uq_committees_project_kind"),)


class CommitteeMember(Base):
    __tablename__ = "committee_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committees.id", ondelete="CASCADE"), index=True)
    username: Mapped[str | None] = mapped_column(String(100), index=True)  # a sopdesk account, if any
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2), default="th")
    position: Mapped[str] = mapped_column(String(10), default="member")  # chair | member | secretary

    committee: Mapped[Committee] = relationship(back_populates="members")


# --- contracts and milestones ---------------------------------------------------------------------


class Contract(Base):
    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    org: Mapped[str] = mapped_column(String(50), index=True)  # its project's (kept for the lists' filter)
    number: Mapped[str] = mapped_column(String(100))  # เลขที่สัญญา, e.g. 12/2570: once per organisation
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    signed_on: Mapped[date] = mapped_column(Date)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    warranty_months: Mapped[int] = mapped_column(Integer, default=0)
    warranty_ends_on: Mapped[date | None] = mapped_column(Date)
    # late fine (ค่าปรับ): rate_percent of the basis per calendar day late, at least fine_min_per_day
    fine_rate_percent: Mapped[Decimal] = mapped_column(Numeric(6, 3), default=Decimal("0.1"))
    fine_basis: Mapped[str] = mapped_column(String(10), default="milestone")  # milestone | contract
    fine_min_per_day: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    status: Mapped[str] = mapped_column(String(12), default="active", index=True)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)

    project: Mapped[Project] = relationship(back_populates="contracts")
    vendor: Mapped[Vendor] = relationship(lazy="joined")
    milestones: Mapped[list["Milestone"]] = relationship(back_populates="contract", lazy="selectin",
                                                         cascade="all, delete-orphan", order_by="Milestone.seq")

    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="dates"),
                      UniqueConstraint("org", "number", name="uq_contracts_org_number"))


class Milestone(Base):
    """An instalment (งวดงาน): what is delivered by when, for how much; its delivery, the
    inspection committee's acceptance, the fine for lateness and the payment."""

    __tablename__ = "milestones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # งวดที่ 1, 2, 3 ...
    title: Mapped[str] = mapped_column(String(300), default="")
    deliverables: Mapped[str] = mapped_column(Text, default="")
    due_on: Mapped[date] = mapped_column(Date, index=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    share_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))  # of the contract, if given so
    delivered_on: Mapped[date | None] = mapped_column(Date)
    delivery_note: Mapped[str] = mapped_column(Text, default="")
    delivered_recorded_by: Mapped[str | None] = mapped_column(String(100))
    days_late: Mapped[int] = mapped_column(Integer, default=0)
    fine_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    accepted_on: Mapped[date | None] = mapped_column(Date)
    paid_on: Mapped[date | None] = mapped_column(Date)
    paid_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    payment_ref: Mapped[str] = mapped_column(String(200), default="")
    paid_recorded_by: Mapped[str | None] = mapped_column(String(100))

    contract: Mapped[Contract] = relationship(back_populates="milestones")
    acceptances: Mapped[list["Acceptance"]] = relationship(back_populates="milestone", lazy="selectin",
                                                           cascade="all, delete-orphan", order_by="Acceptance.id")

    __table_args__ = (UniqueConstraint("contract_id", "seq", name="uq_milestones_contract_seq"),)

    @property
    def state(self) -> str:
        """pending, delivered, accepted or paid: how far the instalment has gone (``milestones.state_of``)."""
        return milestones.state_of(self.delivered_on, self.accepted_on, self.paid_on)


class Acceptance(Base):
    """One inspection committee member's word on one delivery of a milestone (ตรวจรับ). A
    rejection sends the milestone back for delivery again; the earlier words stay."""

    __tablename__ = "acceptances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("committee_members.id"), index=True)
    delivery_round: Mapped[int] = mapped_column(Integer, default=1)
    decision: Mapped[str] = mapped_column(String(10))  # accepted | rejected
    note: Mapped[str] = mapped_column(Text, default="")
    # the day the member signed (a paper acceptance may be recorded days later); none on older words
    signed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    decided_by: Mapped[str] = mapped_column(String(100))  # the account that recorded it
    decided_at: Mapped[datetime] = mapped_column(default=db.utcnow)

    milestone: Mapped[Milestone] = relationship(back_populates="acceptances")
    member: Mapped[CommitteeMember] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("milestone_id", "member_id", "delivery_round",
                                       name="uq_acceptances_member_round"),)


class MilestoneNotice(Base):
    """A reminder or overdue notice sent for a milestone; the unique key makes each go once
    (the row commits with its event, so a repeated or concurrent run tells nobody twice)."""

    __tablename__ = "milestone_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # due-<n> (n working days ahead) | overdue
    due_on: Mapped[date] = mapped_column(Date)  # the due date it was about (a moved date is told again)
    sent_at: Mapped[datetime] = mapped_column(default=db.utcnow)

    __table_args__ = (UniqueConstraint("milestone_id", "kind", "due_on", name="uq_milestone_notices_once"),)


class Incident(Base):
    """An emergency reported on a contract (e.g. the server is down): the vendor is told at once."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    severity: Mapped[str] = mapped_column(String(10), default="high")  # high | critical
    description: Mapped[str] = mapped_column(Text)
    reported_by: Mapped[str] = mapped_column(String(100))
    reported_at: Mapped[datetime] = mapped_column(default=db.utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolution: Mapped[str] = mapped_column(Text, default="")


class Person(Base):
    """A staff account's organisation, as assignment announced it (``staff.person_changed``):
    a project's officer and committee members must be its own organisation's people. The newest
    announcement wins (``changed_at``), so a repeat or a late older one changes nothing."""

    __tablename__ = "people"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    org: Mapped[str | None] = mapped_column(String(50))  # null: a system administrator, of none
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    changed_at: Mapped[datetime]


class MaintenanceRun(Base):
    """Preventive maintenance asked for one asset in one period (a pack's per-asset ``schedule``):
    the unique key that keeps two runs of ``procurement.plan_maintenance`` from asking twice;
    written in the transaction that asks intake to file it (``procurement.maintenance_due``)."""

    __tablename__ = "maintenance_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org: Mapped[str] = mapped_column(String(50))
    sop: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(20))
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    planned_on: Mapped[date] = mapped_column(Date)
    tracking_code: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)

    __table_args__ = (UniqueConstraint("sop", "period", "asset_id", name="uq_maintenance_runs_sop_period_asset"),)


class OrgReminders(Base):
    """An organisation's milestone reminder settings, as assignment announced them
    (``org.reminders_changed``): when they go out (``HH:MM``) and how many working days ahead
    (None: the configuration's). The newest announcement wins (``changed_at``)."""

    __tablename__ = "org_reminders"

    org: Mapped[str] = mapped_column(String(50), primary_key=True)
    reminders_at: Mapped[str | None] = mapped_column(String(5))
    reminder_days: Mapped[list | None] = mapped_column(JSON)
    changed_at: Mapped[datetime] = mapped_column()


class CalendarDay(Base):
    """The admin's calendar changes, as assignment announced them (``calendar.changed``): the
    reminders count working days with them. A reset is kept as a row of kind ``reset`` (counted
    as no change) so that an older event arriving late never overrides a newer one."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # holiday | workday | reset
    name: Mapped[str] = mapped_column(String(200), default="")
    changed_at: Mapped[datetime | None] = mapped_column(default=None)  # the event's occurred_at
