"""Assignment's tables: the staff directory (units, people, roles, delegations), the loaded pack
versions, the admin's calendar changes, and cases with their steps and trail."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Identity, Index, Integer, Numeric, String, Text, UniqueConstraint, cast, event, inspect, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.assignment.domain import search
from shared import db
from shared.audit import AccessLogMixin
from shared.messaging import message_tables
from shared.traffic_log import traffic_tables

Base = db.make_base("assignment")


# the service's side of the event bus: outbox, inbox, dead letters, events owed to each subscriber
Outbox, Inbox, DeadLetter = message_tables(Base, __name__)
# its traffic log (the Computer Crime Act's traffic data) and where its hash chain starts and ends
Traffic, TrafficChain = traffic_tables(Base, __name__)


class AccessLog(AccessLogMixin, Base):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=db.new_id)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2), default="th", server_default="th")  # of their emails
    unit: Mapped[str | None] = mapped_column(ForeignKey("units.key"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)
    # where the account comes from: local (its password here), ldap or oidc (made at its first
    # sign-in from the directory, its roles and unit refreshed at each; no password here)
    source: Mapped[str] = mapped_column(String(10), default="local", server_default="local")
    external_id: Mapped[str | None] = mapped_column(String(255))  # the directory's id of them

    roles: Mapped[list["UserRole"]] = relationship(back_populates="user", lazy="selectin",
                                                   cascade="all, delete-orphan")

    @property
    def role_names(self) -> tuple[str, ...]:
        return tuple(sorted(r.role for r in self.roles))

    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_users_source_external_id"),)


class Unit(Base):
    """A unit of an organisation (a pack): its heads see its queue."""

    __tablename__ = "units"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    pack: Mapped[str] = mapped_column(String(50), index=True)
    name: Mapped[dict] = mapped_column(JSON, default=dict)


class Delegation(Base):
    """``delegator`` is away from ``starts_on`` to ``ends_on`` (inclusive, Bangkok dates);
    ``delegate`` acts with the delegator's roles meanwhile and gets their new work."""

    __tablename__ = "delegations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delegator_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    delegate_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(300), default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)


class PackVersion(Base):
    """A pack's YAML as loaded; a case runs on the version it opened with, for good."""

    __tablename__ = "pack_versions"
    __table_args__ = (UniqueConstraint("pack", "version", name="uq_pack_versions_pack_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pack: Mapped[str] = mapped_column(String(50), index=True)
    version: Mapped[int] = mapped_column(Integer)
    checksum: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(default=db.utcnow)
    loaded_by: Mapped[str] = mapped_column(String(100), default="")


class CacheToken(Base):
    """One per group of cached reference data (``caches``: packs, directory, calendar): a random
    value written anew, in the same transaction, with every change of that group's tables; a
    process whose cached values were read under another value drops them."""

    __tablename__ = "cache_tokens"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    token: Mapped[str] = mapped_column(String(36))
    changed_at: Mapped[datetime] = mapped_column(default=db.utcnow)


class CalendarDay(Base):
    """An admin's change to the holiday library: an extra day off (a cabinet-announced holiday)
    or a library holiday turned back into a working day."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # holiday, workday
    name: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role", name="uq_user_roles_user_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(50), index=True)

    user: Mapped[User] = relationship(back_populates="roles", lazy="raise")


def _pack_of(sop: str) -> str:
    return sop.partition("/")[0]


class Case(Base):
    """One request being worked through its SOP. ``id`` in the public contract is the tracking code."""

    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=db.new_id)
    tracking_code: Mapped[str] = mapped_column(String(32), unique=True)
    request_event_id: Mapped[str] = mapped_column(String(36), unique=True)
    sop: Mapped[str] = mapped_column(String(100), index=True)
    # the organisation the case belongs to: the pack its SOP is of (who may see it: cases.visible_to)
    org: Mapped[str] = mapped_column(String(50), default=lambda context: _pack_of(context.get_current_parameters()["sop"]))
    pack_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    subject: Mapped[str] = mapped_column(String(300))
    details: Mapped[str] = mapped_column(Text)
    requester_name: Mapped[str] = mapped_column(String(200))
    requester_unit: Mapped[str] = mapped_column(String(200))
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    channel: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime]
    opened_at: Mapped[datetime] = mapped_column(default=db.utcnow)
    closed_at: Mapped[datetime | None]
    current_step: Mapped[str | None] = mapped_column(String(100))
    due_at: Mapped[datetime | None]
    # the engine's state beyond the current step
    result: Mapped[str | None] = mapped_column(String(20))  # completed, rejected, withdrawn
    expected_at: Mapped[datetime | None]
    deadline_breached_at: Mapped[datetime | None]  # its heads were told (escalation's level 1)
    # escalation's level 2: when the director is to hear of the missed deadline, and when they did
    deadline_escalate_at: Mapped[datetime | None]
    deadline_escalated_at: Mapped[datetime | None]
    paused_since: Mapped[datetime | None]  # waiting on the requester: the clock is stopped
    paused_minutes: Mapped[int] = mapped_column(Integer, default=0)
    team: Mapped[list] = mapped_column(JSON, default=list)
    values: Mapped[dict] = mapped_column(JSON, default=dict)  # what actors entered (estimate, call-back time)
    seq: Mapped[int] = mapped_column(Integer, default=0)  # events about this case, in order
    attachments: Mapped[list] = mapped_column(JSON, default=list, server_default=text("'[]'"))  # the requester's files (metadata; intake keeps them)
    # what procurement's register says of the asset the request names (procurement.asset_checked):
    # {asset_tag, found, asset: null | {tag, kind, model, ..., under_warranty, leased, vendor}, checked_at}
    asset: Mapped[dict | None] = mapped_column(JSON, default=None, nullable=True)
    # the text a staff search finds the case by (``domain.search.document``), kept in step with
    # what it is made of by ``_keep_search_text`` below; indexed by trigrams, which work for Thai
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")

    steps: Mapped[list["CaseStep"]] = relationship(back_populates="case", lazy="raise",
                                                   order_by="CaseStep.position")
    trail: Mapped[list["TrailEntry"]] = relationship(back_populates="case", lazy="raise",
                                                     order_by="TrailEntry.id")

    def asset_day(self, name: str, lang: str) -> str:
        """A date of ``asset`` (kept as ISO text) as people read it: '18 พฤศจิกายน 2569' in Thai
        (Buddhist era), '18 November 2026' in English; '-' when there is none."""
        from datetime import time as clock

        from shared.i18n import BANGKOK, format_datetime

        value = ((self.asset or {}).get("asset") or {}).get(name)
        if not value:
            return "-"
        try:
            day = date.fromisoformat(value)
        except (TypeError, ValueError):
            return str(value)
        return format_datetime(datetime.combine(day, clock(12), BANGKOK), lang, with_time=False)

    __table_args__ = (
        # the staff lists' orders, each ending in the id that breaks ties, so that a page's ids
        # are read from the index alone however deep the page (handlers.cases.list_cases)
        Index("ix_cases_org_opened_id", "org", "opened_at", "id"),
        Index("ix_cases_org_received_id", "org", "received_at", "id"),
        Index("ix_cases_received_id", "received_at", "id"),
        Index("ix_cases_org_status_received", "org", "status", "received_at", "id"),
        Index("ix_cases_org_sop_received", "org", "sop", "received_at", "id"),
        Index("ix_cases_org_result_received", "org", "result", "received_at", "id"),
        Index("ix_cases_org_step_received", "org", "current_step", "received_at", "id",
              postgresql_where=text("current_step IS NOT NULL")),
        Index("ix_cases_search_trgm", "search_text", postgresql_using="gin",
              postgresql_ops={"search_text": "gin_trgm_ops"}),
        # an organisation's open cases by deadline, their clock running (the list's overdue)
        Index("ix_cases_open_running_due", "org", "due_at",
              postgresql_where=text("status = 'open' AND paused_since IS NULL")),
        Index("ix_cases_deadline_open", "due_at",
              postgresql_where=text("status = 'open' AND deadline_breached_at IS NULL")),
        # the sweep's level 2: open cases whose heads were told and whose director is yet to hear
        Index("ix_cases_deadline_escalation_due", "deadline_escalate_at",
              postgresql_where=text("status = 'open' AND deadline_breached_at IS NOT NULL "
                                    "AND deadline_escalated_at IS NULL")),
    )


_SEARCHED = ("tracking_code", "subject", "details", "requester_name", "requester_unit", "fields")


@event.listens_for(Case, "before_insert")
@event.listens_for(Case, "before_update")
def _keep_search_text(mapper, connection, case: Case) -> None:
    """A case's search text made anew whenever what it is made of is written: on opening, and on
    an erasure (the PDPA), so that an erased name is no longer found."""
    state = inspect(case)
    if state.persistent and not any(state.attrs[name].history.has_changes() for name in _SEARCHED):
        return
    case.search_text = search.document(case.tracking_code, case.subject, case.details, case.requester_name,
                                       case.requester_unit, case.fields)


class EarlyAssetCheck(Base):
    """What procurement's register said of a request's asset (``procurement.asset_checked``) when
    it arrived before the case existed (both come from the same ``request.submitted``). Kept here
    instead of retrying the event; the case takes it when it opens, and the row goes. ``asset`` is
    what ``Case.asset`` will hold; ``checked_at`` is its moment, for the newest-wins rule."""

    __tablename__ = "early_asset_checks"

    tracking_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    checked_at: Mapped[datetime]
    asset: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)


class PlannedRun(Base):
    """Planned work opened for one period (a pack's ``schedule``): one row per SOP and period, the
    unique key that keeps beat from opening it twice (two runs side by side insert one). Written
    in the transaction that asks intake to file it (``planned.due``) under ``tracking_code``."""

    __tablename__ = "planned_runs"
    __table_args__ = (UniqueConstraint("sop", "period", name="uq_planned_runs_sop_period"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=db.new_id)
    sop: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(20))
    planned_on: Mapped[date] = mapped_column(Date)
    opens_on: Mapped[date] = mapped_column(Date)  # the first working day from planned_on
    tracking_code: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)


class CaseStep(Base):
    __tablename__ = "case_steps"
    __table_args__ = (
        UniqueConstraint("case_id", "step", "round", name="uq_case_steps_step_round"),
        Index("ix_case_steps_open_due", "due_at", postgresql_where=text("status = 'active'")),
        # the SLA sweep's query: active steps past due not yet reported, oldest first
        Index("ix_case_steps_unbreached_due", "due_at",
              postgresql_where=text("status = 'active' AND breached_at IS NULL AND due_at IS NOT NULL")),
        # the cases whose steps a person holds or held, from the index alone (cases.visible_to)
        Index("ix_case_steps_assignee_case", "assignee", "case_id"),
        # a person's open steps in the order the desk shows them, soonest due first (handlers.cases.my_work)
        Index("ix_case_steps_active_assignee_due", "org", "assignee", "due_at", "started_at",
              postgresql_where=text("status = 'active'")),
        # an organisation's open cases waiting on someone outside the staff (the list's status=waiting)
        Index("ix_case_steps_active_waiting", "org", "case_id",
              postgresql_where=text("status = 'active' AND waiting_on IS NOT NULL")),
        # an organisation's open steps by due time, with their cases (the list's overdue)
        Index("ix_case_steps_open_org_due", "org", "due_at", "case_id", postgresql_where=text("status = 'active'")),
        # the organisation's open steps nobody holds yet, soonest due first (the head's to give out)
        Index("ix_case_steps_active_unassigned_due", "org", "due_at", "started_at",
              postgresql_where=text("status = 'active' AND assignee IS NULL AND role <> 'requester'")),
        # the open steps nobody holds yet that a role may take, with their cases (cases.visible_to)
        Index("ix_case_steps_open_unassigned", "role", "case_id",
              postgresql_where=text("status = 'active' AND assignee IS NULL")),
        # the sweep's level 2: late active steps reported to the heads, the director yet to hear
        Index("ix_case_steps_escalation_due", "escalate_at",
              postgresql_where=text("status = 'active' AND breached_at IS NOT NULL AND escalated_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # the case's organisation, kept with each step so that a desk's queues (and their counts) are
    # read from the steps' own indexes (handlers.cases.my_work)
    org: Mapped[str] = mapped_column(String(50))
    position: Mapped[int] = mapped_column(Integer)
    step: Mapped[str] = mapped_column(String(100))
    round: Mapped[int] = mapped_column(Integer, default=1)
    role: Mapped[str] = mapped_column(String(50), index=True)
    assignee: Mapped[str | None] = mapped_column(String(100))  # ix_case_steps_assignee_case
    status: Mapped[str] = mapped_column(String(20))  # active, done
    waiting_on: Mapped[str | None] = mapped_column(String(30))  # requester, vendor, procurement-...
    started_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    expected_at: Mapped[datetime | None]
    target: Mapped[str | None] = mapped_column(String(100))  # as the pack or the assignee set it
    breached_at: Mapped[datetime | None]  # reported late: its holder and heads were told (level 1)
    escalate_at: Mapped[datetime | None]  # when the director is to hear that it is still late (level 2)
    escalated_at: Mapped[datetime | None]  # ... and when they did
    outcome: Mapped[str | None] = mapped_column(String(50))
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(100))

    case: Mapped[Case] = relationship(back_populates="steps", lazy="raise")

    @property
    def late(self) -> bool | None:
        """Whether the step finished (or, open, is now) past its due time; None without a target."""
        if self.due_at is None:
            return None
        return (self.completed_at or db.utcnow()) > self.due_at


# who acted, when it was not a member of staff (``desk.actor.<name>`` are their words on the desk)
SYSTEM_ACTORS = ("requester", "sopdesk", "procurement")
# what a trail entry records (``desk.trail.<kind>`` are their words on the desk)
TRAIL_KINDS = ("opened", "started", "waiting", "resumed", "action", "note", "document", "assigned", "target",
               "breached", "escalated", "ignored", "closed",
               # a step decided together: one person asked to decide, one decision; procurement's news
               "asked", "approval", "procurement")


class TrailEntry(Base):
    """Everything that happened to a case, in order: who, when, which step and round, what
    (``kind``, one of ``TRAIL_KINDS``)."""

    __tablename__ = "case_trail"
    # the steps waiting on a person's decision (handlers.cases.awaiting_decision)
    __table_args__ = (Index("ix_case_trail_asked_person", text("(data::jsonb ->> 'person'::text)"),
                            postgresql_where=text("kind = 'asked'")),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=db.utcnow)
    step: Mapped[str | None] = mapped_column(String(100))
    round: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30))  # opened, started, assigned, action, note, document, target, ...
    actor: Mapped[str] = mapped_column(String(100))  # who did it: they see the case (CasePerson)
    on_behalf_of: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str | None] = mapped_column(String(50))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)

    case: Mapped[Case] = relationship(back_populates="trail", lazy="raise")


class CasePerson(Base):
    """A person who took part in a case: held one of its steps, did anything on its trail, or is
    on its team; they see it (cases.visible_to). Written by the database's triggers in the same
    transaction as the step, trail entry or team that makes it (migration f6d1a8c3e2b7), never
    removed: a person's whole list is read from here, one index entry per case."""

    __tablename__ = "case_people"

    person: Mapped[str] = mapped_column(String(100), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    org: Mapped[str] = mapped_column(String(50))
    __table_args__ = (Index("ix_case_people_case", "case_id"),)


class CaseUnit(Base):
    """A unit whose people held a step of a case (the unit each was in when given the step): its
    heads see it, and the list's ``unit`` filter finds it. Kept like ``CasePerson``."""

    __tablename__ = "case_units"

    unit: Mapped[str] = mapped_column(String(100), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    org: Mapped[str] = mapped_column(String(50))
    __table_args__ = (Index("ix_case_units_case", "case_id"),)


class CaseTally(Base):
    """How many cases an organisation has (``dimension`` 'all'), by 'status', 'result' (''
    while open) and 'sop', and how many each 'unit' and 'person' took part in (``CaseUnit``,
    ``CasePerson``), as last folded from ``CaseTallyChange``: a list's total is the sum of both
    (handlers.cases.tally). Kept by the database's triggers (migration f6d1a8c3e2b7)."""

    __tablename__ = "case_tallies"

    org: Mapped[str] = mapped_column(String(50), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(String(100), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class CaseTallyChange(Base):
    """One change to a tally (+1 or -1), written by the trigger of the change that makes it: an
    insert only, so that no two transactions wait on one counter; folded into ``CaseTally`` by
    beat's ``assignment.fold_tallies``."""

    __tablename__ = "case_tally_changes"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    org: Mapped[str] = mapped_column(String(50))
    dimension: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(100))
    n: Mapped[int] = mapped_column(Integer)
    __table_args__ = (Index("ix_case_tally_changes_key", "org", "dimension", "value"),)


class SavedList(Base):
    """A list of cases a person keeps under a name of their own ("my overdue printers"): the
    list's filters as its address's query (the desk's list page, ``entrypoints.case_list``)."""

    __tablename__ = "saved_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    query: Mapped[str] = mapped_column(String(2000), default="")
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_saved_lists_user_name"),)


# the tables the database's triggers write (migration f6d1a8c3e2b7), not this code
KEPT_BY_TRIGGERS = ("case_people", "case_units", "case_tally_changes", "case_tallies", "survey_tallies")


def asked_person(entry=None):
    """The person an ``asked`` trail entry asked to decide (in its data), as SQL over ``entry``
    (``TrailEntry`` or an alias of it); indexed for those entries (ix_case_trail_asked_person)."""
    entry = entry if entry is not None else TrailEntry
    return cast(entry.data, JSONB)["person"].astext


class CaseDocument(Base):
    """A document handed in at a step, as a file (checked by its bytes: ``shared.files``) with an
    optional paper reference. The bytes are under settings.files_dir/assignment at ``storage_key``
    (a random name); this row is all that names it. ``to_requester``: the pack gives it to the
    requester (downloadable with their tracking token once the step is done)."""

    __tablename__ = "case_documents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=db.new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(100))
    round: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(100))  # which of the step's documents (the pack's key)
    name: Mapped[str] = mapped_column(String(200))
    ref: Mapped[str] = mapped_column(String(500), default="")
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)
    to_requester: Mapped[bool] = mapped_column(Boolean, default=False)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)

    def metadata_dict(self) -> dict:
        """What the trail, the events and the API say of it (never where its bytes are)."""
        return {"id": self.id, "key": self.key, "name": self.name, "ref": self.ref,
                "content_type": self.content_type, "size": self.size, "to_requester": self.to_requester}


class DailySummary(Base):
    """One person's summary of open work for one working day: written with its event, so that
    the summary task may run any number of times a day and each person hears once."""

    __tablename__ = "daily_summaries"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    items: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)


class DailySummaryRun(Base):
    """The day's summary was taken (``send_daily_summaries``): once per working day, at the set
    time, of the work people held then; whoever is first given work later that day hears of it
    by its own email and in the next working day's summary."""

    __tablename__ = "daily_summary_runs"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    ran_at: Mapped[datetime]
    people: Mapped[int] = mapped_column(Integer)


class SurveyScore(Base):
    """A requester's satisfaction with a closed case (from ``survey.answered``), for the reports
    per SOP and per unit. ``unit`` is the unit of the staff member who finished the case."""

    __tablename__ = "survey_scores"
    # the reports' newest comments of a period (handlers.reports._comments), read backwards by time
    __table_args__ = (Index("ix_survey_scores_commented_at", "answered_at",
                            postgresql_where=text("comment <> ''")),)

    tracking_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    sop: Mapped[str] = mapped_column(String(100), index=True)
    unit: Mapped[str | None] = mapped_column(String(100), index=True)
    requester_unit: Mapped[str | None] = mapped_column(String(200))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)


class SurveyTally(Base):
    """How many answers gave each score, by organisation, SOP, unit ('' for none) and Bangkok day:
    kept by the database's trigger as each ``SurveyScore`` is stored (migration b9e4d2a6c8f1), so
    that a fiscal year's report sums at most a year of days, not every answer."""

    __tablename__ = "survey_tallies"

    org: Mapped[str] = mapped_column(String(50), primary_key=True)
    sop: Mapped[str] = mapped_column(String(100), primary_key=True)
    unit: Mapped[str] = mapped_column(String(100), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    score: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    __table_args__ = (Index("ix_survey_tallies_day", "day"),)


class CaseFigure(Base):
    """A case as the reports count it (``handlers.figures``): when it was received and closed, how
    (``result``), whether by its deadline (``on_time``: None without one), and its working time
    from receipt to close with the time held by the requester left out (``working_minutes``).
    Written by the engine in the same unit of work as the case (it needs the Thai working
    calendar, which only Python knows), so that a fiscal year's figures are read from these
    narrow rows and their indexes, never from the cases themselves."""

    __tablename__ = "report_cases"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    org: Mapped[str] = mapped_column(String(50))
    sop: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    result: Mapped[str | None] = mapped_column(String(20))
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    working_minutes: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (
        # received in a period (the volumes by month, SOP and channel), from the index alone
        Index("ix_report_cases_received", "org", "received_at", postgresql_include=["sop", "channel"]),
        # closed in a period (results, on time, working time)
        Index("ix_report_cases_closed", "org", "closed_at",
              postgresql_include=["sop", "result", "on_time", "working_minutes"],
              postgresql_where=text("closed_at IS NOT NULL")),
        # open now (the backlog and its ageing)
        Index("ix_report_cases_open", "org", "received_at", postgresql_include=["sop"],
              postgresql_where=text("closed_at IS NULL")),
    )


class StepFigure(Base):
    """A step done, as the reports count it: by whom's unit (the unit its holder was in when they
    finished it), when, its working time from start to finish, whether by its due time
    (``on_time``: None without a target) and how it ended (``kind``: forward, return, reject).
    The requester's own steps (a return for correction waiting on them) are not written: their
    time is not the service's. Written by the engine with the step."""

    __tablename__ = "report_steps"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    step: Mapped[str] = mapped_column(String(100), primary_key=True)
    round: Mapped[int] = mapped_column(Integer, primary_key=True)
    org: Mapped[str] = mapped_column(String(50))
    sop: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str | None] = mapped_column(String(100))
    completed_at: Mapped[datetime]
    working_minutes: Mapped[int] = mapped_column(Integer)
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    kind: Mapped[str] = mapped_column(String(10))
    __table_args__ = (
        Index("ix_report_steps_done", "org", "completed_at",
              postgresql_include=["sop", "step", "unit", "on_time", "kind", "working_minutes"]),
    )


class Breach(Base):
    """A personal-data breach in the organisation's register (PDPA s.37(4)): when the organisation
    became aware of it, what happened, to what data and roughly how many people, the risk, the
    measures, the 72-hour deadline for telling the PDPC Office (``domain.breaches``), when the
    Office was told (and its reference) or why it need not be, when the people affected were told
    and which cases (tracking codes) it concerns. ``org``: whose register; its privacy officers
    see and keep it."""

    __tablename__ = "breaches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org: Mapped[str] = mapped_column(String(50))
    aware_at: Mapped[datetime]
    description: Mapped[str] = mapped_column(Text)
    data_concerned: Mapped[str] = mapped_column(Text)
    people_affected: Mapped[int | None] = mapped_column(Integer)  # roughly
    risk: Mapped[str] = mapped_column(String(10))  # none, risk, high (domain.breaches.RISKS)
    measures: Mapped[str] = mapped_column(Text, default="")
    pdpc_deadline: Mapped[datetime]  # aware_at + 72 hours
    pdpc_notified_at: Mapped[datetime | None]
    pdpc_reference: Mapped[str | None] = mapped_column(String(100))
    pdpc_not_needed: Mapped[str | None] = mapped_column(Text)  # why the Office need not be told
    people_notified_at: Mapped[datetime | None]
    tracking_codes: Mapped[list] = mapped_column(JSON, default=list)
    notified_codes: Mapped[list] = mapped_column(JSON, default=list)  # the cases whose requesters were told
    status: Mapped[str] = mapped_column(String(10), default="open")  # open, closed
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(default=db.utcnow)
    approaching_sent_at: Mapped[datetime | None]  # the privacy officers heard: 24 hours left
    passed_sent_at: Mapped[datetime | None]  # ... and that the deadline passed

    trail: Mapped[list["BreachTrail"]] = relationship(back_populates="breach", lazy="raise",
                                                      order_by="BreachTrail.id")

    __table_args__ = (
        Index("ix_breaches_org_aware", "org", "aware_at"),
        # the clock's sweep: open breaches whose Office is neither told nor excused
        Index("ix_breaches_clock_running", "pdpc_deadline",
              postgresql_where=text("status = 'open' AND pdpc_notified_at IS NULL AND pdpc_not_needed IS NULL")),
    )


class BreachTrail(Base):
    """Who recorded and changed what in a breach, when: ``action`` (recorded, pdpc, people,
    closed) and the values it set."""

    __tablename__ = "breach_trail"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    breach_id: Mapped[int] = mapped_column(ForeignKey("breaches.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=db.utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))
    changes: Mapped[dict] = mapped_column(JSON, default=dict)

    breach: Mapped[Breach] = relationship(back_populates="trail", lazy="raise")


# --- procurement as the reports count it (``handlers.procurement_figures``) -------------------------
# Procurement's own tables are its own: assignment keeps these narrow copies from its events. Each
# row carries ``seen_at``, the moment (``occurred_at``) of the newest event that described it, and
# an event older than that changes nothing of what it describes, so a repeat, or events that
# arrive out of order, leave the newest state standing.


class ProcurementProject(Base):
    """A procurement project of an organisation: its stage (``cancelled`` one of them) as of the
    newest event that said it (``seen_at``), and when procurement recorded it (``created_at``: the
    earliest event of it seen, which is ``project_created``'s once that has come)."""

    __tablename__ = "procurement_projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # procurement's id
    org: Mapped[str] = mapped_column(String(50))
    stage: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    seen_at: Mapped[datetime]
    __table_args__ = (Index("ix_procurement_projects_org", "org", postgresql_include=["stage", "created_at",
                                                                                      "seen_at"]),)


class ProcurementContract(Base):
    """A contract signed for a procurement project: its amount and status as of ``seen_at``, and
    the day it was signed (known from ``procurement.contract_signed``; None until that comes)."""

    __tablename__ = "procurement_contracts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # procurement's id
    org: Mapped[str] = mapped_column(String(50))
    project_id: Mapped[int] = mapped_column(Integer)
    signed_on: Mapped[date | None] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    status: Mapped[str] = mapped_column(String(20))
    seen_at: Mapped[datetime]
    __table_args__ = (Index("ix_procurement_contracts_signed", "org", "signed_on", postgresql_include=["amount"]),)


class ProcurementMilestone(Base):
    """A milestone (งวดงาน) of a contract as of ``seen_at``: when it is due, the delivery that
    stands (a rejected one is undone) with its days late and fine, its acceptance, and its payment
    (its amount less the fine)."""

    __tablename__ = "procurement_milestones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # procurement's id
    contract_id: Mapped[int] = mapped_column(Integer)
    org: Mapped[str] = mapped_column(String(50))
    due_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    state: Mapped[str] = mapped_column(String(20))
    delivered_on: Mapped[date | None] = mapped_column(Date)
    days_late: Mapped[int] = mapped_column(Integer)
    fine_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    accepted_on: Mapped[date | None] = mapped_column(Date)
    paid_on: Mapped[date | None] = mapped_column(Date)
    paid_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    seen_at: Mapped[datetime]
    __table_args__ = (
        # due in a period (due, late)
        Index("ix_procurement_milestones_due", "org", "due_on", postgresql_include=["delivered_on"]),
        # paid in a period (fines, payments)
        Index("ix_procurement_milestones_paid", "org", "paid_on", postgresql_include=["paid_amount", "fine_amount"],
              postgresql_where=text("paid_on IS NOT NULL")),
    )


ADMIN_KINDS = ("person", "unit", "delegation", "holiday", "privacy-notice", "office-hours", "reminders")  # what an administrator changes (AdminChange.kind)


class AdminChange(Base):
    """One change an administrator made (``handlers.admin_trail.record``, in the transaction of
    the change itself): who, when, in which organisation (None: what every organisation shares,
    the holiday calendar), what (``kind`` of ``ADMIN_KINDS`` and its ``key``: a username, a unit's
    key, a delegation's id, a day) and its values before and after (None: it did not exist, or
    no longer does)."""

    __tablename__ = "admin_changes"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=db.utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    org: Mapped[str | None] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(100))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)

    # an organisation's trail, newest first, a page at a time
    __table_args__ = (Index("ix_admin_changes_org_id", "org", "id"),)


class OrgSettings(Base):
    """An organisation's own settings, set by its administrators: its office hours (``HH:MM-HH:MM``,
    Bangkok time; None: the configuration's ``SOPDESK_OFFICE_HOURS``), which the working time of
    its cases' deadlines counts from the change on (``handlers.engine.calendar``); and when its
    milestone reminders go out."""

    __tablename__ = "org_settings"

    org: Mapped[str] = mapped_column(String(50), primary_key=True)
    office_hours: Mapped[str | None] = mapped_column(String(11))
    # when the milestone reminders go out (HH:MM) and how many working days ahead: None, the
    # configuration's; procurement keeps a copy (``org.reminders_changed``)
    reminders_at: Mapped[str | None] = mapped_column(String(5))
    reminder_days: Mapped[list | None] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(default=db.utcnow)
