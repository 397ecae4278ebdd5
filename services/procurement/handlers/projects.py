"""Procurement projects (โครงการจัดซื้อจัดจ้าง), from the draft terms of reference to their outcome:
documents (TOR and the rest of the trail), 1 to 3 quotes and their median (the reference price),
approvals, committees and their members, the procurement method, a plain purchase's delivery,
and the case a project serves. Plus the consumer that opens a purchase when a case waits on one.

No Flask here. Every change runs in one unit of work with its event; each use case that staff
call opens its own unit of work, commits and returns the project as JSON-ready data (dates and
Decimals as Python objects: the view's schema writes them out). Consumers take the consuming
unit of work instead and never commit.

Stages: draft -> quotes -> approval -> procurement -> contract -> completed, or delivered (a plain
purchase recorded as delivered), or cancelled. Each move's rule, the standing rejection and the
reference price are ``domain.stages`` (asked with ``project_facts``); who may is
``domain.permissions``.

A project is of one organisation (``org``: its creator's, or the case's it was opened for); its
quotes name that organisation's vendors, its officer and committee members that organisation's
people. Another organisation's project is not there (404)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.procurement.adapters import documents as docs_module
from services.procurement.adapters.bus import bus
from services.procurement.adapters.models import (COMMITTEE_KINDS, Acceptance, AccessLog, Approval, Committee,
                                                  CommitteeMember, Contract, Document, Project, Quote, Vendor)
from shared.said import Said
from services.procurement.domain import permissions, stages
from services.procurement.domain.stages import MAX_QUOTES, OPEN_STAGES, ProjectFacts
from services.procurement.handlers.commands import AddQuote, AppointCommittee, OpenProject, UpdateProject
from services.procurement.handlers.common import (bangkok_today, contains_pattern, event_org, for_update, iso,
                                                  money_str, of_org, org_for_new, parse_moment, refuse, seen,
                                                  utc_now, where_given)
from services.procurement.handlers.people import check_people
from services.procurement.handlers.errors import conflict, invalid, not_found
from shared import db, i18n
from shared.audit import log_access
from shared.auth import Staff
from shared.errors import Conflict, Forbidden, Invalid
from shared.events import Event
from shared.messaging import UnitOfWork
from shared.workcal import fiscal_year_be

# who may call the API's routes (``permissions``; admin may do anything): the views' first gate
READ_ROLES = permissions.READ_ROLES
WRITE_ROLES = permissions.PROJECT_WRITE_ROLES  # head and subhead only while the TOR and quotes are gathered
APPROVER_ROLES = permissions.APPROVER_ROLES
DELIVERY_ROLES = permissions.PURCHASE_DELIVERY_ROLES

MAX_MEMBERS = 15

WAIT_DELIVERY = "procurement-delivery"
WAIT_CONTRACT = "procurement-contract"


# ---------------------------------------------------------------------------------------------
# small helpers


def _require_write(staff: Staff, project: Project | None) -> None:
    """403 unless ``staff`` may change ``project`` at its stage (None: open a new one)."""
    if project is None:
        refuse(Forbidden, permissions.project_refusal(staff, "create"))
    else:
        refuse(Forbidden, permissions.project_refusal(staff, "change", project.stage))


def _load(session: Session, staff: Staff | None, project_id: int, lock: bool = False) -> Project:
    """The project, when of an organisation ``staff`` sees (else 404; ``staff`` None: sopdesk itself)."""
    project = session.get(Project, project_id, with_for_update=lock)
    if staff is None:
        if project is None:
            raise not_found("project")
        return project
    return seen(staff, project, "project")


def _recompute_price(project: Project) -> None:
    project.reference_price = stages.median_price(q.amount for q in project.quotes)


def latest_decisions(project: Project) -> dict[str, str | None]:
    """Each approval kind's standing decision (approved, rejected) or None: ``stages.standing_decisions``."""
    return stages.standing_decisions(stages.Decision(kind=a.kind, decision=a.decision, decided_at=a.decided_at,
                                                     order=a.id or 0) for a in project.approvals)


def committee(project: Project, kind: str) -> Committee | None:
    return next((c for c in project.committees if c.kind == kind), None)


def project_facts(project: Project) -> ProjectFacts:
    """What the stage rules look at, read from the project's rows."""
    inspection = committee(project, "inspection")
    return ProjectFacts(stage=project.stage, kind=project.kind, quotes=len(project.quotes),
                        decisions=latest_decisions(project), contracts=tuple(c.status for c in project.contracts),
                        inspection_members=len(inspection.members) if inspection else 0,
                        delivered=project.delivered_on is not None)


def contract_blockers(project: Project) -> list[str]:
    """Why a contract may not be signed for this project now (empty: it may):
    ``stages.contract_blockers``, which ``contracts.create_contract`` applies."""
    return stages.contract_blockers(project_facts(project))


def _emit(uow: UnitOfWork, event_type: str, project: Project, **payload) -> None:
    uow.emit(event_type, {"project_id": project.id, "org": project.org, "tracking_code": project.tracking_code,
                          **payload},
             correlation_id=project.tracking_code)


# ---------------------------------------------------------------------------------------------
# reading


def project_json(session: Session, project: Project, staff: Staff | None = None,
                 purpose: str = "read a procurement project") -> dict:
    """The whole project: quotes, reference price, approvals, committees with their members,
    documents, contracts and the case it serves. Showing members' or the officer's email is a
    read of personal data: logged for ``staff`` (in ``session``, committed with the caller)."""
    doc_rows = list(session.scalars(select(Document).where(Document.project_id == project.id,
                                                           Document.contract_id.is_(None),
                                                           Document.milestone_id.is_(None))
                                     .order_by(Document.id)))
    facts = project_facts(project)
    committees = [{
        "id": c.id, "kind": c.kind, "order_ref": c.order_ref, "appointed_on": c.appointed_on,
        "members": [{"id": m.id, "username": m.username, "name": m.name, "email": m.email, "language": m.language,
                     "position": m.position} for m in c.members],
    } for c in project.committees]
    if staff is not None:
        shown = [m["id"] for c in committees for m in c["members"] if m["email"]]
        if shown:
            log_access(session, AccessLog, staff, "committee_member", shown, f"{purpose} {project.id}")
        if project.officer_contact and project.officer_contact.get("email"):
            log_access(session, AccessLog, staff, "project_officer", str(project.id), f"{purpose} {project.id}")
    return {
        "id": project.id, "org": project.org, "title": project.title, "purpose": project.purpose, "kind": project.kind,
        "stage": project.stage, "method": project.method, "budget": project.budget,
        "reference_price": project.reference_price, "outcome": project.outcome,
        "fiscal_year": project.fiscal_year, "officer": project.officer, "officer_contact": project.officer_contact,
        "tracking_code": project.tracking_code,
        "case": ({"tracking_code": project.tracking_code, "sop": project.case_sop, "step": project.case_step,
                  "waiting_on": project.case_waiting_on, "waiting_since": project.case_waiting_since,
                  "notified_at": project.case_notified_at} if project.tracking_code else None),
        "delivered_on": project.delivered_on, "delivery_note": project.delivery_note,
        "created_by": project.created_by, "created_at": project.created_at, "updated_at": project.updated_at,
        "quotes": [{"id": q.id, "vendor": {"id": q.vendor.id, "name": q.vendor.name}, "amount": q.amount,
                    "received_on": q.received_on, "valid_until": q.valid_until, "document_id": q.document_id,
                    "note": q.note, "created_by": q.created_by, "created_at": q.created_at} for q in project.quotes],
        "approvals": [{"id": a.id, "kind": a.kind, "decision": a.decision, "decided_by": a.decided_by,
                       "role": a.role, "note": a.note, "document_id": a.document_id, "decided_at": a.decided_at}
                      for a in project.approvals],
        "approval_status": dict(facts.decisions),
        "committees": committees,
        "documents": [docs_module.as_json(d) for d in doc_rows],
        "contracts": [{"id": c.id, "number": c.number, "status": c.status} for c in project.contracts],
        "next_stages": stages.next_stages(facts),
    }


def summary_json(project: Project) -> dict:
    """A project in a list: no people's contact data."""
    return {"id": project.id, "org": project.org, "title": project.title, "kind": project.kind, "stage": project.stage,
            "method": project.method, "budget": project.budget, "reference_price": project.reference_price,
            "fiscal_year": project.fiscal_year, "officer": project.officer, "tracking_code": project.tracking_code,
            "case_step": project.case_step, "case_waiting_on": project.case_waiting_on,
            "quote_count": len(project.quotes), "delivered_on": project.delivered_on,
            "contracts": [{"id": c.id, "number": c.number, "status": c.status} for c in project.contracts],
            "created_at": project.created_at, "updated_at": project.updated_at}


def read_project(staff: Staff, project_id: int, purpose: str = "read a procurement project") -> dict:
    with bus.unit_of_work() as uow:
        project = _load(uow.session, staff, project_id)
        data = project_json(uow.session, project, staff, purpose)
        uow.commit()
        return data


def document_seen(session: Session, staff: Staff, doc: Document) -> bool:
    """``staff`` sees the organisation of the project (or contract) ``doc`` is of."""
    owner = session.get(Project, doc.project_id) if doc.project_id is not None else (
        session.get(Contract, doc.contract_id) if doc.contract_id is not None else None)
    return owner is not None and permissions.sees(staff, owner.org)


def list_projects(staff: Staff, stage: str | None = None, tracking_code: str | None = None,
                  fiscal_year: int | None = None, q: str | None = None, kind: str | None = None,
                  officer: str | None = None, limit: int = 100, offset: int = 0) -> list[dict]:
    query = where_given(of_org(select(Project), Project.org, staff), (Project.stage, stage), (Project.tracking_code, tracking_code),
                        (Project.fiscal_year, fiscal_year or None), (Project.kind, kind), (Project.officer, officer))
    if q and q.strip():
        pattern = contains_pattern(q.strip())
        query = query.where(or_(Project.title.ilike(pattern, escape="\\"), Project.purpose.ilike(pattern, escape="\\"),
                                Project.tracking_code.ilike(pattern, escape="\\")))
    query = query.order_by(Project.created_at.desc(), Project.id.desc()).limit(limit).offset(offset)
    with bus.session() as session:
        return [summary_json(p) for p in session.scalars(query)]


def next_stages(project: Project) -> list[str]:
    """The stages ``change_stage`` would accept now (whoever asks): ``stages.next_stages``."""
    return stages.next_stages(project_facts(project))


# ---------------------------------------------------------------------------------------------
# creating and changing


def _clean_contact(contact) -> dict | None:
    """An officer's contact as a project keeps it (from staff's input, or a case step's
    ``assignee_contact``): name (else username), email, language; nothing given: None."""
    if not isinstance(contact, dict) or not contact:
        return None
    return {"name": contact.get("name") or contact.get("username") or "", "email": contact.get("email") or None,
            "language": contact.get("language") if contact.get("language") in i18n.LANGUAGES else "th"}


def create_project(staff: Staff, command: OpenProject, now: datetime | None = None) -> dict:
    """A new project at ``draft``: title, purpose, kind, budget, fiscal_year (BE; this fiscal year
    when absent), officer, officer_contact, tracking_code, method."""
    _require_write(staff, None)
    org = org_for_new(staff, command.org)
    moment = utc_now(now)
    with bus.unit_of_work() as uow:
        if command.officer:
            check_people(org, {"officer": [command.officer]})
        project = Project(
            org=org, title=command.title, purpose=command.purpose or "", kind=command.kind or "purchase",
            stage="draft", method=command.method, budget=command.budget,
            fiscal_year=command.fiscal_year or fiscal_year_be(bangkok_today(moment)),
            officer=command.officer or None, officer_contact=_clean_contact(command.officer_contact),
            tracking_code=command.tracking_code or None, created_by=staff.username,
            created_at=moment, updated_at=moment)
        uow.session.add(project)
        uow.session.flush()
        _emit(uow, "procurement.project_created", project, title=project.title, kind=project.kind,
              stage=project.stage, budget=money_str(project.budget), fiscal_year=project.fiscal_year,
              created_by=staff.username)
        result = project_json(uow.session, project, staff, "created a procurement project")
        uow.commit()
        return result


UPDATABLE = ("title", "purpose", "kind", "budget", "fiscal_year", "officer", "officer_contact", "tracking_code",
             "method", "outcome")


def update_project(staff: Staff, project_id: int, command: UpdateProject, now: datetime | None = None) -> dict:
    """Change the fields sent (only those in ``UPDATABLE``) while the project is not completed
    or cancelled."""
    moment = utc_now(now)
    sent = command.changes()
    with bus.unit_of_work() as uow:
        project = _load(uow.session, staff, project_id, lock=True)
        _require_write(staff, project)
        refuse(Conflict, stages.closed_errors(project.stage))
        if sent.get("officer"):
            check_people(project.org, {"officer": [sent["officer"]]})
        changed = {}
        for name in UPDATABLE:
            if name not in sent:
                continue
            value = sent[name]
            if name == "officer_contact":
                value = _clean_contact(value)
            if name in ("officer", "tracking_code", "method") and value == "":
                value = None
            if name == "tracking_code" and value != project.tracking_code and project.case_waiting_on:
                raise conflict("the project serves a waiting case: its tracking code cannot change", "tracking_code")
            if name == "kind" and value != project.kind and project.contracts:
                raise conflict("the project has a contract: its kind cannot change", "kind")
            if name in ("title",) and not value:
                raise invalid(name, "may not be empty")
            if name == "fiscal_year" and value is None:
                raise invalid(name, "may not be empty")
            if getattr(project, name) != value:
                setattr(project, name, value)
                changed[name] = value
        if changed:
            project.updated_at = moment
            _emit(uow, "procurement.project_updated", project, fields=sorted(changed), updated_by=staff.username)
        result = project_json(uow.session, project, staff, "changed a procurement project")
        uow.commit()
        return result


def add_documents(staff: Staff, project_id: int, kind: str, files=(), name: str = "", ref: str = "",
                  now: datetime | None = None) -> dict:
    """Files (and/or one paper reference: ``name`` + ``ref``) added to the project's trail. The
    first TOR document of a draft moves it on to ``quotes``."""
    moment = utc_now(now)
    with docs_module.Uploads() as up:
        uow = up.uow
        project = _load(uow.session, staff, project_id, lock=True)
        _require_write(staff, project)
        refuse(Conflict, stages.documents_errors(project.stage))
        stored = up.keep(docs_module.store_uploads(uow.session, list(files or ()), kind, staff.username,
                                                   project_id=project.id))
        added = list(stored)
        if (name or "").strip() or (ref or "").strip():
            added.append(docs_module.add_reference(uow.session, kind, name, ref, staff.username,
                                                   project_id=project.id))
        if not added:
            raise invalid("documents", "attach at least one file, or give a paper document's name and ref")
        for doc in added:
            doc.uploaded_at = moment
        moved = stages.moves_on_with(project.stage, tor_added=kind == "tor")
        if moved != project.stage:
            previous, project.stage = project.stage, moved
            _emit(uow, "procurement.project_stage_changed", project, stage=moved, previous=previous,
                  changed_by=staff.username, note="TOR added")
        project.updated_at = moment
        _emit(uow, "procurement.documents_added", project, kind=kind,
              documents=[{"id": d.id, "name": d.name, "ref": d.ref} for d in added], added_by=staff.username)
        result = project_json(uow.session, project, staff, "added documents to a procurement project")
        uow.commit()
        return result


# ---------------------------------------------------------------------------------------------
# quotes


def add_quote(staff: Staff, project_id: int, command: AddQuote, file=None, now: datetime | None = None) -> dict:
    """One vendor's quote: at most three per project, one per vendor, while the project is at
    ``draft`` or ``quotes`` (a draft moves on to ``quotes``). The reference price follows."""
    moment = utc_now(now)
    today = bangkok_today(moment)
    with docs_module.Uploads() as up:
        uow = up.uow
        session = uow.session
        project = _load(session, staff, project_id, lock=True)
        _require_write(staff, project)
        refuse(Conflict, stages.quote_errors(project.stage))
        errors: dict[str, list[str]] = {}
        vendor = session.get(Vendor, command.vendor_id)
        if vendor is None or vendor.org != project.org:  # the project's organisation's register only
            vendor = None
            errors.setdefault("vendor_id", []).append("no such vendor")
        elif not vendor.active:
            errors.setdefault("vendor_id", []).append("the vendor is no longer active")
        elif any(q.vendor_id == vendor.id for q in project.quotes):
            errors.setdefault("vendor_id", []).append("this vendor has quoted already: remove that quote first")
        received_on, valid_until = command.received_on, command.valid_until
        if received_on > today:
            errors.setdefault("received_on", []).append("may not be in the future")
        if valid_until is not None and valid_until < received_on:
            errors.setdefault("valid_until", []).append("must not be before received_on")
        document_id = command.document_id
        if document_id is not None:
            doc = session.get(Document, document_id)
            if doc is None or doc.project_id != project.id:
                errors.setdefault("document_id", []).append("no such document of this project")
        if errors:
            raise Invalid(errors=errors)
        if len(project.quotes) >= MAX_QUOTES:
            raise conflict(Said("max_quotes", f"a project takes at most {MAX_QUOTES} quotes: remove one first",
                                max=MAX_QUOTES), "quotes")
        if file is not None and getattr(file, "filename", None):
            if document_id is not None:
                raise invalid("document", "send a file or a document_id, not both")
            stored = up.keep(docs_module.store_uploads(session, [file], "quote", staff.username,
                                                       project_id=project.id, field="document"))
            stored[0].uploaded_at = moment
            document_id = stored[0].id
        quote = Quote(project_id=project.id, vendor_id=vendor.id, amount=command.amount, received_on=received_on,
                      valid_until=valid_until, document_id=document_id, note=command.note or "",
                      created_by=staff.username, created_at=moment)
        project.quotes.append(quote)
        session.flush()
        _recompute_price(project)
        previous = project.stage
        project.stage = stages.moves_on_with(project.stage, quote_added=True)
        project.updated_at = moment
        _emit(uow, "procurement.quote_added", project, quote_id=quote.id,
              vendor={"id": vendor.id, "name": vendor.name}, amount=money_str(quote.amount),
              received_on=iso(received_on), valid_until=iso(valid_until),
              reference_price=money_str(project.reference_price), quote_count=len(project.quotes),
              added_by=staff.username)
        if previous != project.stage:
            _emit(uow, "procurement.project_stage_changed", project, stage=project.stage, previous=previous,
                  changed_by=staff.username, note="first quote")
        result = project_json(uow.session, project, staff, "added a quote")
        try:
            uow.commit()
        except IntegrityError:
            raise conflict("this vendor has quoted already", "vendor_id") from None
        return result


def remove_quote(staff: Staff, project_id: int, quote_id: int, now: datetime | None = None) -> dict:
    moment = utc_now(now)
    with bus.unit_of_work() as uow:
        project = _load(uow.session, staff, project_id, lock=True)
        _require_write(staff, project)
        quote = next((q for q in project.quotes if q.id == quote_id), None)
        if quote is None:
            raise not_found("quote")
        refuse(Conflict, stages.quote_errors(project.stage, removing=True))
        project.quotes.remove(quote)
        uow.session.flush()
        _recompute_price(project)
        project.updated_at = moment
        _emit(uow, "procurement.quote_removed", project, quote_id=quote_id, vendor_id=quote.vendor_id,
              reference_price=money_str(project.reference_price), quote_count=len(project.quotes),
              removed_by=staff.username)
        result = project_json(uow.session, project, staff, "removed a quote")
        uow.commit()
        return result


# ---------------------------------------------------------------------------------------------
# stages


def change_stage(staff: Staff, project_id: int, stage: str, note: str = "", now: datetime | None = None) -> dict:
    moment = utc_now(now)
    with bus.unit_of_work() as uow:
        project = _load(uow.session, staff, project_id, lock=True)
        refuse(Forbidden, permissions.project_refusal(staff, "move", project.stage, target=stage))
        errors = stages.stage_errors(project_facts(project), stage)
        if errors:
            raise (Conflict if "stage" in errors else Invalid)(errors=errors)
        previous, project.stage = project.stage, stage
        project.updated_at = moment
        _emit(uow, "procurement.project_stage_changed", project, stage=stage, previous=previous,
              changed_by=staff.username, note=note or "")
        result = project_json(uow.session, project, staff, "moved a procurement project")
        uow.commit()
        return result


# ---------------------------------------------------------------------------------------------
# approvals


def decide_approval(staff: Staff, project_id: int, kind: str, decision: str, note: str = "", file=None,
                    document_id: int | None = None, now: datetime | None = None) -> dict:
    """A director's, deputy director's or head's decision; every decision is kept. A rejection
    needs a note; a standing rejection stops the project moving on until approved again."""
    refuse(Forbidden, permissions.project_refusal(staff, "decide-approval"))
    moment = utc_now(now)
    with docs_module.Uploads() as up:
        uow = up.uow
        session = uow.session
        project = _load(session, staff, project_id, lock=True)
        refuse(Conflict, stages.final_errors(project.stage))
        errors = stages.approval_errors(project.stage, kind, decision, note,
                                        has_reference_price=project.reference_price is not None)
        if document_id is not None:
            doc = session.get(Document, document_id)
            if doc is None or doc.project_id != project.id:
                errors.setdefault("document_id", []).append("no such document of this project")
        if errors:
            raise Invalid(errors=errors)
        if file is not None and getattr(file, "filename", None):
            stored = up.keep(docs_module.store_uploads(session, [file], "approval", staff.username,
                                                       project_id=project.id, field="document"))
            stored[0].uploaded_at = moment
            document_id = stored[0].id
        role = permissions.approver_role(staff)
        approval = Approval(project_id=project.id, kind=kind, decision=decision, decided_by=staff.username,
                            role=role, note=(note or "").strip(), document_id=document_id, decided_at=moment)
        project.approvals.append(approval)
        project.updated_at = moment
        session.flush()
        _emit(uow, "procurement.approval_decided", project, approval_id=approval.id, kind=kind, decision=decision,
              decided_by=staff.username, role=role, note=approval.note,
              reference_price=money_str(project.reference_price) if kind == "reference-price" else None)
        result = project_json(session, project, staff, "decided on a procurement project")
        uow.commit()
        return result


# ---------------------------------------------------------------------------------------------
# committees


def appoint_committee(staff: Staff, project_id: int, kind: str, command: AppointCommittee,
                      now: datetime | None = None) -> dict:
    """Appoint (or re-appoint) a committee by its order: the members given replace the earlier
    ones, unless any of those already recorded an acceptance (409: their word stays on record)."""
    if kind not in COMMITTEE_KINDS:
        raise not_found("committee kind")
    moment = utc_now(now)
    with bus.unit_of_work() as uow:
        session = uow.session
        project = _load(session, staff, project_id, lock=True)
        _require_write(staff, project)
        refuse(Conflict, stages.final_errors(project.stage))
        members = command.members
        errors: dict[str, list[str]] = {}
        if not members:
            errors["members"] = ["at least one member"]
        elif len(members) > MAX_MEMBERS:
            errors["members"] = [Said("max_members", f"at most {MAX_MEMBERS} members", max=MAX_MEMBERS)]
        usernames = [m.get("username") for m in members if m.get("username")]
        emails = [m["email"].lower() for m in members if m.get("email")]
        if len(set(usernames)) != len(usernames):
            errors.setdefault("members", []).append("a username appears twice")
        if len(set(emails)) != len(emails):
            errors.setdefault("members", []).append("an email appears twice")
        for position in ("chair", "secretary"):
            if sum(1 for m in members if m.get("position") == position) > 1:
                errors.setdefault("members", []).append(f"at most one {position}")
        if errors:
            raise Invalid(errors=errors)
        # a member who logs in is one of the project's organisation's people
        check_people(project.org, {f"members.{n}.username": [m["username"]]
                                   for n, m in enumerate(members) if m.get("username")})
        existing = committee(project, kind)
        replaced = False
        if existing is not None:
            ids = [m.id for m in existing.members]
            if ids and session.scalar(select(func.count()).select_from(Acceptance)
                                      .where(Acceptance.member_id.in_(ids))):
                raise conflict("members of this committee have recorded acceptances: it cannot be re-appointed",
                               "members")
            existing.members.clear()
            session.flush()
            replaced = True
            target = existing
        else:
            target = Committee(project_id=project.id, kind=kind)
            project.committees.append(target)
        target.order_ref = command.order_ref or ""
        target.appointed_on = command.appointed_on
        for m in members:
            target.members.append(CommitteeMember(username=m.get("username") or None, name=m["name"],
                                                  email=m.get("email") or None, language=m.get("language") or "th",
                                                  position=m.get("position") or "member"))
        project.updated_at = moment
        session.flush()
        _emit(uow, "procurement.committee_appointed", project, committee_id=target.id, kind=kind,
              order_ref=target.order_ref, appointed_on=iso(target.appointed_on), replaced=replaced,
              members=[{"id": m.id, "username": m.username, "name": m.name, "position": m.position}
                       for m in target.members], appointed_by=staff.username)
        result = project_json(session, project, staff, "appointed a committee")
        uow.commit()
        return result


# ---------------------------------------------------------------------------------------------
# delivery of a plain purchase, and cancelling


def _notify_delivered(uow: UnitOfWork, project: Project, moment: datetime) -> bool:
    """Tell the case waiting on this purchase that it arrived (once)."""
    if (project.tracking_code and project.case_waiting_on == WAIT_DELIVERY and project.case_notified_at is None
            and project.delivered_on is not None):
        _emit(uow, "procurement.delivered", project, step=project.case_step, delivered_on=iso(project.delivered_on),
              note=project.delivery_note or "")
        project.case_notified_at = moment
        return True
    return False


def record_delivery(staff: Staff, project_id: int, delivered_on: date, note: str = "", files=(),
                    ref: str = "", ref_name: str = "", now: datetime | None = None) -> dict:
    """Supplies records that a purchase (or a rental) arrived, with its delivery documents (files,
    or a paper's reference). The project is then ``delivered``; a case waiting on it resumes."""
    refuse(Forbidden, permissions.project_refusal(staff, "record-delivery"))
    moment = utc_now(now)
    with docs_module.Uploads() as up:
        uow = up.uow
        session = uow.session
        project = _load(session, staff, project_id, lock=True)
        refuse(Conflict, stages.purchase_delivery_errors(project_facts(project)))
        if delivered_on > bangkok_today(moment):
            raise invalid("delivered_on", "may not be in the future")
        stored = up.keep(docs_module.store_uploads(session, list(files or ()), "delivery", staff.username,
                                                   project_id=project.id))
        added = list(stored)
        if (ref or "").strip():
            added.append(docs_module.add_reference(session, "delivery", ref_name or "ใบส่งของ / delivery note",
                                                   ref, staff.username, project_id=project.id))
        if not added:
            raise invalid("documents", "attach the delivery note (a file), or give its paper reference (ref)")
        for doc in added:
            doc.uploaded_at = moment
        previous = project.stage
        project.delivered_on = delivered_on
        project.delivery_note = (note or "").strip()
        project.stage = "delivered"
        project.updated_at = moment
        _emit(uow, "procurement.project_stage_changed", project, stage="delivered", previous=previous,
              changed_by=staff.username, note=project.delivery_note)
        _notify_delivered(uow, project, moment)
        result = project_json(session, project, staff, "recorded a delivery")
        uow.commit()
        return result


def cancel_project(staff: Staff, project_id: int, reason: str, now: datetime | None = None) -> dict:
    moment = utc_now(now)
    with bus.unit_of_work() as uow:
        project = _load(uow.session, staff, project_id, lock=True)
        _require_write(staff, project)
        refuse(Conflict, stages.cancel_errors(project_facts(project)))
        reason = (reason or "").strip()
        if not reason:
            raise invalid("reason", "say why the project is cancelled")
        previous, project.stage = project.stage, "cancelled"
        project.outcome = (f"{project.outcome}\n" if project.outcome else "") + f"ยกเลิก / cancelled: {reason}"
        project.updated_at = moment
        _emit(uow, "procurement.project_cancelled", project, previous=previous, reason=reason,
              cancelled_by=staff.username, case_step=project.case_step, case_waiting_on=project.case_waiting_on)
        result = project_json(uow.session, project, staff, "cancelled a procurement project")
        uow.commit()
        return result


# ---------------------------------------------------------------------------------------------
# cases waiting on procurement (the consumer of case.step_waiting)


# the first key of the advisory locks that serialise procurement's consumers about one case (the
# second is the tracking code's hash); an arbitrary constant, apart from the other services'
_CASE_LOCK = 7303


def _lock_case(session: Session, tracking_code: str) -> None:
    """Serialise consumers about one case: two different events announcing the same wait must
    not open two purchases."""
    db.lock_for_transaction(session, _CASE_LOCK, tracking_code)


def _open_for_case(session: Session, payload: dict, kind: str, purpose: str, moment: datetime) -> Project:
    """A draft project opened by sopdesk for the case waiting on it (its officer: the step's
    assignee), of the case's organisation."""
    step = payload.get("step") or {}
    title = (payload.get("subject") or "").strip() or f"{payload.get('tracking_code')} {step.get('key')}"
    project = Project(org=event_org(payload) or "", title=title[:300], purpose=purpose, kind=kind, stage="draft",
                      fiscal_year=fiscal_year_be(bangkok_today(moment)), officer=step.get("assignee") or None,
                      officer_contact=_clean_contact(step.get("assignee_contact")),
                      tracking_code=payload.get("tracking_code"), created_by="sopdesk", created_at=moment,
                      updated_at=moment)
    session.add(project)
    return project


def _link_case(session: Session, project: Project, payload: dict, waiting_on: str, since: datetime,
               moment: datetime) -> None:
    """The project serves the case's waiting step from ``since`` on."""
    project.case_sop = payload.get("sop")
    project.case_step = (payload.get("step") or {}).get("key")
    project.case_waiting_on = waiting_on
    project.case_waiting_since = since
    project.updated_at = moment
    session.flush()


def on_case_waiting(uow: UnitOfWork, event: Event, now: datetime | None = None) -> None:
    """A case waits on procurement. ``procurement-delivery`` (the repair SOP's parts-purchase):
    open a purchase for it, or link the open one that already serves it. ``procurement-contract``
    (an outsourced development): link the project staff opened for the case (or open a draft),
    and if its contract is done already, tell the case at once. Safe to run twice."""
    payload = event.payload
    code = payload.get("tracking_code")
    waiting_on = payload.get("waiting_on")
    step = payload.get("step") or {}
    key = step.get("key")
    if not code or not key or waiting_on not in (WAIT_DELIVERY, WAIT_CONTRACT) or not event_org(payload):
        return
    session = uow.session
    moment = utc_now(now)
    since = parse_moment(step.get("started_at"), event.occurred_at or moment)
    _lock_case(session, code)
    mine = list(session.scalars(select(Project).where(Project.org == event_org(payload), Project.tracking_code == code,
                                                      Project.stage != "cancelled")
                                .order_by(Project.created_at.desc(), Project.id.desc())))
    # a repeat of a wait already answered (the same step, started at the same time): nothing to do
    if any(p.case_step == key and p.case_notified_at is not None and p.case_waiting_since == since for p in mine):
        return
    if waiting_on == WAIT_DELIVERY:
        project = next((p for p in mine if p.case_notified_at is None and p.case_step in (key, None)
                        and p.kind != "hire" and (p.stage in OPEN_STAGES or p.delivered_on is not None)), None)
        created = project is None
        if created:
            purpose = i18n.pick(step.get("title"), "th") or key
            asset_tag = (payload.get("fields") or {}).get("asset_tag")
            if asset_tag:
                purpose += f" (ครุภัณฑ์ / asset {asset_tag})"
            project = _open_for_case(session, payload, "purchase", purpose, moment)
        if project.officer is None and step.get("assignee"):
            project.officer = step["assignee"]
            project.officer_contact = _clean_contact(step.get("assignee_contact"))
        _link_case(session, project, payload, WAIT_DELIVERY, since, moment)
        if created:
            _emit(uow, "procurement.purchase_opened", project, step=key, title=project.title)
        # delivered before the case got here: the case goes on at once
        _notify_delivered(uow, project, moment)
        return
    # procurement-contract
    project = next((p for p in mine if p.case_notified_at is None), None)
    if project is None:
        project = _open_for_case(session, payload, "hire", i18n.pick(step.get("title"), "th") or key, moment)
        session.flush()
        _emit(uow, "procurement.project_created", project, title=project.title, kind=project.kind,
              stage=project.stage, budget=None, fiscal_year=project.fiscal_year, created_by="sopdesk")
    _link_case(session, project, payload, WAIT_CONTRACT, since, moment)
    complete_case_if_done(uow, project, now=moment)


def complete_case_if_done(uow, project: Project, now: datetime | None = None) -> bool:
    """Tell the case a project serves that its contract is done: when a contract of the project is
    completed (every milestone accepted and paid), the case waits on ``procurement-contract`` and
    was not told yet. Emits ``procurement.contract_completed`` and sets ``case_notified_at``.

    Runs inside the caller's unit of work (a payment, or a case's wait being linked). The project
    row is locked first and what decides is read from the database afresh, so a payment and the
    case's arrival at its wait, committing side by side, tell the case exactly once."""
    session = uow.session
    session.flush()
    query = select(Project.tracking_code, Project.case_step, Project.case_waiting_on, Project.case_notified_at
                   ).where(Project.id == project.id)
    row = session.execute(for_update(session, query)).one_or_none()
    if row is None or not row.tracking_code or row.case_waiting_on != "procurement-contract" \
            or row.case_notified_at is not None:
        return False
    done = session.execute(select(Contract.id, Contract.number, Contract.completed_at)
                           .where(Contract.project_id == project.id, Contract.status == "completed")
                           .order_by(Contract.completed_at.desc(), Contract.id.desc())).first()
    if done is None:
        return False
    now = utc_now(now)
    uow.emit("procurement.contract_completed", {
        "tracking_code": row.tracking_code, "org": project.org, "step": row.case_step, "project_id": project.id,
        "contract_id": done.id, "contract_number": done.number,
        "note": f"สัญญาเลขที่ {done.number}: ตรวจรับและเบิกจ่ายครบทุกงวดแล้ว / "
                f"contract {done.number}: every milestone accepted and paid"},
        correlation_id=row.tracking_code)
    project.case_notified_at = now
    session.flush()
    return True
