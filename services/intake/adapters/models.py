"""Intake's tables: the requests people file, their files, the requester's view of their case
(kept from case events), their answers to returns, their satisfaction, the privacy notices they
consented to, the log of staff reads of their personal data, and the public statistics' tallies
(kept by the database's triggers)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (JSON, BigInteger, Boolean, CheckConstraint, Date, ForeignKey, Integer, SmallInteger, String,
                        Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared import db
from shared.audit import AccessLogMixin
from shared.messaging import message_tables
from shared.traffic_log import traffic_tables

Base = db.make_base("intake")


# the service's side of the event bus: outbox, inbox, dead letters, events owed to each subscriber
Outbox, Inbox, DeadLetter = message_tables(Base, __name__)
# its traffic log (the Computer Crime Act's traffic data) and where its hash chain starts and ends
Traffic, TrafficChain = traffic_tables(Base, __name__)


class AccessLog(AccessLogMixin, Base):
    """Staff reads of requesters' personal data held by intake (their files)."""


class Request(Base):
    """A request as filed. Holds the requester's personal data: read it only through the
    tracking token or a staff endpoint that logs the access."""

    __tablename__ = "requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=db.new_id)
    tracking_code: Mapped[str] = mapped_column(String(32), unique=True)
    sop: Mapped[str] = mapped_column(String(100), index=True)
    requester_name: Mapped[str] = mapped_column(String(200))
    requester_email: Mapped[str | None] = mapped_column(String(254))  # none: a phone only, or planned work
    requester_phone: Mapped[str | None] = mapped_column(String(40))
    requester_unit: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    details: Mapped[str] = mapped_column(Text)
    form_fields: Mapped[dict] = mapped_column(JSON, default=dict)
    language: Mapped[str] = mapped_column(String(2), default="th")
    consent: Mapped[bool] = mapped_column(Boolean)
    privacy_notice_version: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))  # web, api, external, staff, paper, telephone
    filed_by: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)
    # the requester's view of the case, kept from case events
    status: Mapped[str] = mapped_column(String(20), default="submitted")
    sop_title: Mapped[dict] = mapped_column(JSON, default=dict)
    current_step: Mapped[str | None] = mapped_column(String(100))
    due_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    result: Mapped[str | None] = mapped_column(String(20))
    case_seq: Mapped[int] = mapped_column(Integer, default=0)  # the newest case event applied

    steps: Mapped[list["RequestStep"]] = relationship(
        back_populates="request", lazy="raise", order_by="RequestStep.position"
    )


class RequestStep(Base):
    """One step of the case as the requester sees it: what, whose role, when."""

    __tablename__ = "request_steps"
    __table_args__ = (UniqueConstraint("request_id", "step", "round", name="uq_request_steps_step_round"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    step: Mapped[str] = mapped_column(String(100))
    round: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[dict] = mapped_column(JSON, default=dict)
    role: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20))  # active, done
    started_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(50))
    waiting_on: Mapped[str | None] = mapped_column(String(30))
    # what the step told the requester when it was done (never the staff's internal note), the
    # files it gave them ({id, key, name, content_type, size}: assignment keeps them), and, for a
    # step of theirs with several outcomes, what they choose from ({key, label})
    message: Mapped[str | None] = mapped_column(Text)
    files: Mapped[list] = mapped_column(JSON, default=list)
    choices: Mapped[list] = mapped_column(JSON, default=list)

    request: Mapped[Request] = relationship(back_populates="steps", lazy="raise")


class CaseDecision(Base):
    """A return for correction or a rejection, as the requester is told of it (the note says what
    to fix, or why). Kept from ``case.step_returned`` and ``case.step_rejected``."""

    __tablename__ = "case_decisions"
    __table_args__ = (UniqueConstraint("request_id", "seq", name="uq_case_decisions_request_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # the case event's number
    kind: Mapped[str] = mapped_column(String(10))  # return, reject
    step: Mapped[str] = mapped_column(String(100))  # the step that decided
    round: Mapped[int] = mapped_column(Integer, default=1)
    to_step: Mapped[str | None] = mapped_column(String(100))  # a return: the requester's step
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]


class Answer(Base):
    """The requester's answer to a return for correction: one per round of their step."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("request_id", "step", "round", name="uq_answers_step_round"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=db.new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(100))
    round: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text)
    answered_at: Mapped[datetime] = mapped_column(default=db.utcnow)


class Attachment(Base):
    """A file that came with a request (``purpose`` form) or an answer (``answer``). The bytes are
    under settings.files_dir at ``storage_key`` (a random name); this row is all that names it."""

    __tablename__ = "attachments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=db.new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    answer_id: Mapped[str | None] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(100))
    original_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)
    uploaded_by: Mapped[str] = mapped_column(String(20))  # requester, staff
    purpose: Mapped[str] = mapped_column(String(20))  # form, answer
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)

    def metadata_dict(self) -> dict:
        return {"id": self.id, "field": self.field, "name": self.original_name, "content_type": self.content_type,
                "size": self.size}


class SurveyAnswer(Base):
    """The requester's satisfaction with a closed case: one answer per request."""

    __tablename__ = "survey_answers"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=db.new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), unique=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime] = mapped_column(default=db.utcnow)


class PrivacyNotice(Base):
    """Every privacy notice a requester consented to, word for word, by the version stored with
    their consent (the notice names the SOP's fields and the settings' retention and contact)."""

    __tablename__ = "privacy_notices"

    version: Mapped[str] = mapped_column(String(20), primary_key=True)
    sop: Mapped[str] = mapped_column(String(100))
    texts: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=db.utcnow)


class NoticeText(Base):
    """An organisation's own words in its requesters' privacy notice, set by its administrators:
    whom to ask about their data (its data protection officer: name, email, telephone), and a
    paragraph of its own in Thai and English. Empty: the notice's default words. A change makes a
    new notice version (``handlers.privacy``): requests keep the version they consented to."""

    __tablename__ = "privacy_notice_texts"

    org: Mapped[str] = mapped_column(String(50), primary_key=True)
    contact: Mapped[str] = mapped_column(Text, default="")
    extra_th: Mapped[str] = mapped_column(Text, default="")
    extra_en: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(default=db.utcnow)


class ErasureRequest(Base):
    """A request to erase a person's data (PDPA s.33), or the retention job's erasure of a case
    closed long ago: which cases (tracking codes), when it is due (30 days, a Bangkok date) and
    which services have confirmed that they erased their part. It never holds the person's email
    or phone: ``person`` is a keyed digest of them (``shared.privacy.person_ref``)."""

    __tablename__ = "erasure_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=db.new_id)
    reason: Mapped[str] = mapped_column(String(20))  # request, retention
    org: Mapped[str | None] = mapped_column(String(50), index=True)  # the organisation it was asked of; null: all
    person: Mapped[str | None] = mapped_column(String(64), index=True)
    tracking_codes: Mapped[list] = mapped_column(JSON, default=list)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(default=db.utcnow)
    due_on: Mapped[date] = mapped_column(Date)
    confirmations: Mapped[dict] = mapped_column(JSON, default=dict)  # service -> ISO time it confirmed
    completed_at: Mapped[datetime | None]


class RequestTally(Base):
    """How many requests counted for each measure, by organisation, Bangkok day and SOP: kept by
    the database's triggers as each ``Request`` is stored, changed or removed (migration
    7e2b5d9c1a4f, which writes the rule: ``received`` on the day received; on the day closed,
    ``completed`` and one of ``closed_on_time``, ``closed_late``, ``closed_no_deadline``), so that
    the public statistics sum at most a year of days, never the requests. A count is the sum of
    its ``slot`` rows (up to 8): each change goes to the slot of the database connection making it,
    so that requests filed at once do not queue for one row (migration c5e1a7d3f9b2)."""

    __tablename__ = "request_tallies"

    org: Mapped[str] = mapped_column(String(50), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    sop: Mapped[str] = mapped_column(String(100), primary_key=True)
    measure: Mapped[str] = mapped_column(String(20), primary_key=True)
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True, server_default="0")
    n: Mapped[int] = mapped_column(Integer)


class SurveyTally(Base):
    """How many satisfaction answers gave each score, by organisation, Bangkok day (answered) and
    the request's SOP: kept by the database's triggers as each ``SurveyAnswer`` is stored, changed
    or removed (migration 7e2b5d9c1a4f)."""

    __tablename__ = "survey_tallies"

    org: Mapped[str] = mapped_column(String(50), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    sop: Mapped[str] = mapped_column(String(100), primary_key=True)
    score: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


# the tables the database's triggers write (migration 7e2b5d9c1a4f), not this code: the tests'
# cleanup empties them again after the tables whose rows they count
KEPT_BY_TRIGGERS = ("request_tallies", "survey_tallies")
