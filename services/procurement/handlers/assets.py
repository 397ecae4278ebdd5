"""The asset register (ทะเบียนครุภัณฑ์): items by tag, their loans (a replacement machine lent while
the borrower's own is in repair) and the warranty or lease claims on their vendors; and the
asset check of repair requests. No Flask here: the views are thin.

Who may do what (the views' guards and the rules below):

* ``supplies`` (and ``admin``) keep the register: create, change any field, retire.
* ``officer`` records loans and returns, and moves an asset between ``in_use`` and ``in_repair``
  (``status`` and ``note`` only).
* Reading is for staff with a procurement role, officers and heads (``READ_ROLES``).
* ``on_loan`` is never set by hand: lending sets it and the return clears it (one open loan per
  asset). A claim opened for a repair case moves an ``in_use`` asset to ``in_repair`` and its
  resolution moves it back.

Holders and borrowers are people: a read that shows them adds a PDPA access row.

Each organisation keeps its own register (a tag is unique within it): lists show the caller's
organisation's, another organisation's asset is not there (404), a vendor or ``replaces_tag`` of
another organisation in a body is unknown (422). A loan and a claim are of their asset's
organisation. A request's asset tag is looked up in the request's organisation (its ``org``, else
its SOP's pack).

Events consumed (from ``handlers``): ``request.submitted`` naming an ``asset_tag`` (any SOP) gets
``procurement.asset_checked`` back; ``case.step_waiting`` on ``vendor`` opens a claim for the case's
asset when it has a vendor; ``case.step_resumed`` from that wait resolves it."""
from __future__ import annotations

import logging
from datetime import date, datetime

from sqlalchemy import func, or_, select, text, tuple_
from sqlalchemy.exc import IntegrityError

from services.procurement.adapters.bus import bus
from services.procurement.adapters.models import AccessLog, Asset, AssetLoan, Claim, Vendor
from services.procurement.domain import permissions
from services.procurement.handlers.commands import LendAsset, RegisterAsset, ReturnLoan, UpdateAsset
from services.procurement.handlers.common import (bangkok_today, contains_pattern, event_org, for_update, iso, may,
                                                  of_org, org_for_new, parse_moment, refuse, utc_now, where_given)
from services.procurement.handlers.errors import conflict, forbidden, invalid, not_found
from services.procurement.handlers.vendors import claim_json, contact_card, normalise_tax_id, vendor_ref
from shared.audit import log_access
from shared.auth import Staff
from shared.errors import Forbidden
from shared.events import Event
from shared.i18n import BANGKOK
from shared.messaging import UnitOfWork

log = logging.getLogger(__name__)

READ_ROLES = ("supplies", "finance", "inspection-committee", "procurement-committee", "tor-committee",
              "officer", "head", "subhead", "director", "deputy-director")
WRITE_ROLES = permissions.REGISTER_WRITE_ROLES
LOAN_ROLES = permissions.LOAN_ROLES
OFFICER_FIELDS = frozenset({"status", "note"})
OFFICER_STATUSES = frozenset({"in_use", "in_repair"})
EDITABLE = ("kind", "model", "serial", "location", "holder", "acquired_on", "price", "warranty_ends_on",
            "ownership", "status", "note")


def is_under_warranty(asset: Asset, on: date) -> bool:
    return asset.warranty_ends_on is not None and asset.warranty_ends_on >= on


# ---------------------------------------------------------------------------------------------
# JSON shapes


def loan_json(loan: AssetLoan) -> dict:
    return {"id": loan.id, "asset_tag": loan.asset.tag if loan.asset else None, "borrower": loan.borrower,
            "borrower_unit": loan.borrower_unit, "tracking_code": loan.tracking_code,
            "replaces_tag": loan.replaces_tag, "lent_on": loan.lent_on, "due_back_on": loan.due_back_on,
            "returned_on": loan.returned_on, "open": loan.returned_on is None, "note": loan.note,
            "created_by": loan.created_by, "created_at": loan.created_at}


def asset_json(asset: Asset, today: date) -> dict:
    return {"id": asset.id, "org": asset.org, "tag": asset.tag, "kind": asset.kind, "model": asset.model, "serial": asset.serial,
            "location": asset.location, "holder": asset.holder, "vendor": vendor_ref(asset.vendor),
            "acquired_on": asset.acquired_on, "price": asset.price, "warranty_ends_on": asset.warranty_ends_on,
            "under_warranty": is_under_warranty(asset, today), "ownership": asset.ownership,
            "status": asset.status, "note": asset.note, "created_at": asset.created_at,
            "updated_at": asset.updated_at}


def _log_holders(session, staff: Staff, assets, purpose: str) -> None:
    ids = [str(a.id) for a in assets if a.holder]
    if ids:
        log_access(session, AccessLog, staff, "asset", ids, purpose)


# ---------------------------------------------------------------------------------------------
# finding


# the asset a tag names in an organisation's register: the exact tag first, else the first
# registered whatever its letters' case (one indexed read, written once: every repair request with
# a tag asks it)
_TAG_LOOKUP = ("SELECT id FROM assets WHERE org = :org AND lower(tag) = :lowered "
               "ORDER BY (tag = :tag) DESC, id LIMIT 1")
_TAG_LOOKUPS = {False: text(_TAG_LOOKUP), True: text(_TAG_LOOKUP + " FOR UPDATE")}


def find_asset(session, org: str | None, tag: str, lock: bool = False) -> Asset | None:
    """The asset with this tag in ``org``'s register (spaces around it ignored; letters' case too
    when no exact match). Its id from one indexed query (locking the row when ``lock``), then the
    asset itself."""
    tag = (tag or "").strip()
    if not tag or not org:
        return None
    found = session.execute(_TAG_LOOKUPS[lock], {"org": org, "lowered": tag.lower(), "tag": tag}).scalar()
    if found is None:
        return None
    # the row is locked already when `lock` (FOR UPDATE cannot reach the vendor outer-joined to it)
    return session.get(Asset, found, populate_existing=lock)


def _get(session, staff: Staff, tag: str, lock: bool = False) -> Asset:
    """The asset a tag names in the register of ``staff``'s organisation; a system administrator's
    lookup goes through every organisation's (the first found by organisation). Else 404."""
    org = permissions.seen_org(staff)
    if org is None:
        orgs = session.scalars(select(Asset.org).where(func.lower(Asset.tag) == (tag or "").strip().lower())
                               .distinct().order_by(Asset.org)).all()
        asset = next((a for a in (find_asset(session, o, tag, lock=lock) for o in orgs) if a is not None), None)
    else:
        asset = find_asset(session, org, tag, lock=lock)
    if asset is None:
        raise not_found("asset")
    return asset


def resolve_vendor(session, org: str, data: dict) -> tuple[bool, int | None]:
    """The vendor an asset of ``org`` names by ``vendor_id`` or ``vendor_tax_id`` (one of ``org``'s
    register: another organisation's is no such vendor): (given?, id or None)."""
    if "vendor_id" in data and data["vendor_id"] is not None:
        vendor = session.get(Vendor, data["vendor_id"])
        if vendor is None or vendor.org != org:
            raise invalid("vendor_id", "no such vendor")
        return True, data["vendor_id"]
    if data.get("vendor_tax_id"):
        tax_id = normalise_tax_id(data["vendor_tax_id"])
        found = session.scalar(select(Vendor.id).where(Vendor.org == org, Vendor.tax_id == tax_id))
        if found is None:
            raise invalid("vendor_tax_id", "no vendor with this tax id is registered")
        return True, found
    if "vendor_id" in data or "vendor_tax_id" in data:  # given as null / empty: no vendor
        return True, None
    return False, None


# ---------------------------------------------------------------------------------------------
# reading


def list_assets(staff: Staff, q: str | None = None, status: str | None = None, kind: str | None = None,
                ownership: str | None = None, warranty: str | None = None, vendor_id: int | None = None,
                page: int = 1, per_page: int = 50, now: datetime | None = None) -> dict:
    """A page of the register by tag, with the total the filters match. ``warranty`` is
    ``active`` (ends today or later, Bangkok date) or ``expired``; assets without a warranty
    date match neither."""
    today = bangkok_today(now)
    query = of_org(select(Asset), Asset.org, staff)
    if q:
        pattern = contains_pattern(q.strip())
        query = query.where(or_(*(column.ilike(pattern, escape="\\") for column in
                                  (Asset.tag, Asset.kind, Asset.model, Asset.serial, Asset.location,
                                   Asset.holder))))
    query = where_given(query, (Asset.status, status), (Asset.kind, kind), (Asset.ownership, ownership),
                        (Asset.vendor_id, vendor_id))
    if warranty == "active":
        query = query.where(Asset.warranty_ends_on >= today)
    elif warranty == "expired":
        query = query.where(Asset.warranty_ends_on < today)
    with bus.session() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(query.order_by(Asset.tag).limit(per_page).offset((page - 1) * per_page)).all()
        items = [asset_json(a, today) for a in rows]
        _log_holders(session, staff, rows, "asset register: list")
        session.commit()
        return {"items": items, "total": total, "page": page, "per_page": per_page}


def _open_loan(session, asset: Asset) -> AssetLoan | None:
    return session.scalar(select(AssetLoan).where(AssetLoan.asset_id == asset.id, AssetLoan.returned_on.is_(None)))


def _detail(session, staff: Staff, asset: Asset, today: date, purpose: str) -> dict:
    loan = _open_loan(session, asset)
    claims = session.scalars(select(Claim).where(Claim.asset_id == asset.id)
                             .order_by(Claim.opened_at.desc(), Claim.id.desc())).all()
    data = {**asset_json(asset, today), "open_loan": loan_json(loan) if loan else None,
            "claims": [claim_json(c) for c in claims]}
    _log_holders(session, staff, [asset], purpose)
    if loan is not None:
        log_access(session, AccessLog, staff, "asset_loan", str(loan.id), purpose)
    return data


def asset_detail(staff: Staff, tag: str, now: datetime | None = None) -> dict:
    with bus.session() as session:
        asset = _get(session, staff, tag)
        data = _detail(session, staff, asset, bangkok_today(now), "asset record")
        session.commit()
        return data


def list_loans(staff: Staff, tag: str) -> list[dict]:
    with bus.session() as session:
        asset = _get(session, staff, tag)
        loans = session.scalars(select(AssetLoan).where(AssetLoan.asset_id == asset.id)
                                .order_by(AssetLoan.lent_on.desc(), AssetLoan.id.desc())).all()
        if loans:
            log_access(session, AccessLog, staff, "asset_loan", [str(loan.id) for loan in loans], "asset loans")
        result = [loan_json(loan) for loan in loans]
        session.commit()
        return result


def list_claims(staff: Staff, open: bool | None = None, vendor_id: int | None = None,
                tracking_code: str | None = None, tag: str | None = None) -> list[dict]:
    """The claims of ``staff``'s organisation (every organisation's for a system administrator)."""
    query = where_given(of_org(select(Claim), Claim.org, staff).order_by(Claim.opened_at.desc(), Claim.id.desc()),
                        (Claim.vendor_id, vendor_id), (Claim.tracking_code, tracking_code))
    if open is True:
        query = query.where(Claim.resolved_at.is_(None))
    elif open is False:
        query = query.where(Claim.resolved_at.is_not(None))
    with bus.session() as session:
        if tag:
            org = permissions.seen_org(staff)
            ids = (session.scalars(select(Asset.id).where(func.lower(Asset.tag) == tag.strip().lower())).all()
                   if org is None else [a.id for a in [find_asset(session, org, tag)] if a is not None])
            if not ids:
                return []
            query = query.where(Claim.asset_id.in_(ids))
        return [claim_json(c) for c in session.scalars(query)]


# ---------------------------------------------------------------------------------------------
# changing the register


def create_asset(staff: Staff, command: RegisterAsset, now: datetime | None = None) -> dict:
    if command.status == "on_loan":
        raise invalid("status", "an asset goes on loan by recording the loan (POST .../loans)")
    org = org_for_new(staff, command.org)
    with bus.unit_of_work() as uow:
        session = uow.session
        tag = command.tag.strip()
        if session.scalar(select(Asset.id).where(Asset.org == org, Asset.tag == tag)) is not None:
            raise conflict("an asset with this tag is registered already", "tag")
        _, vendor_id = resolve_vendor(session, org, {"vendor_id": command.vendor_id,
                                                     "vendor_tax_id": command.vendor_tax_id})
        asset = Asset(org=org, tag=tag, vendor_id=vendor_id,
                      **{name: getattr(command, name) for name in EDITABLE if getattr(command, name) is not None})
        if now is not None:
            asset.created_at = asset.updated_at = now
        session.add(asset)
        try:
            session.flush()
        except IntegrityError:  # registered at the same moment by someone else
            raise conflict("an asset with this tag is registered already", "tag") from None
        session.refresh(asset)
        result = _detail(session, staff, asset, bangkok_today(now), "asset registered")
        uow.commit()
        return result


def update_asset(staff: Staff, tag: str, command: UpdateAsset, now: datetime | None = None) -> dict:
    """Change an asset: only the fields sent. ``supplies`` may change any field; an ``officer``
    only ``status`` (``in_use`` / ``in_repair``) and ``note``."""
    data = command.changes()  # the fields sent
    keeper = may(staff, WRITE_ROLES)
    if not keeper:
        if not may(staff, ("officer",)):
            raise forbidden("only supplies keep the asset register")
        extra = sorted(set(data) - OFFICER_FIELDS)
        if extra:
            raise Forbidden("an officer changes only the status (in use / in repair) and the note",
                            {name: ["only supplies change this"] for name in extra})
        if "status" in data and data["status"] not in OFFICER_STATUSES:
            raise forbidden("an officer moves an asset only between in use and in repair")
    status = data.get("status")
    if status == "on_loan":
        raise invalid("status", "an asset goes on loan by recording the loan (POST .../loans)")
    with bus.unit_of_work() as uow:
        session = uow.session
        asset = _get(session, staff, tag, lock=True)
        if status is not None and status != asset.status and asset.status == "on_loan":
            raise conflict("the asset is on loan: record its return first", "status")
        if asset.status == "retired" and not keeper:
            raise conflict("the asset is retired: only supplies change it", "status")
        given, vendor_id = resolve_vendor(session, asset.org, data)
        if given:
            asset.vendor_id = vendor_id
        for name in EDITABLE:
            if name in data:
                value = data[name]
                if value is None and name in ("model", "serial", "location", "holder", "note"):
                    value = ""
                if value is None and name in ("kind", "ownership", "status"):
                    raise invalid(name, "may not be empty")
                setattr(asset, name, value)
        if now is not None:
            asset.updated_at = now
        session.flush()
        session.refresh(asset)
        result = _detail(session, staff, asset, bangkok_today(now), "asset changed")
        uow.commit()
        return result


# ---------------------------------------------------------------------------------------------
# loans


def lend(staff: Staff, tag: str, command: LendAsset, now: datetime | None = None) -> dict:
    """Lend an asset in use (e.g. a replacement while ``replaces_tag`` is in repair): it goes
    ``on_loan`` until the return. One open loan per asset."""
    refuse(Forbidden, permissions.loan_refusal(staff))  # the API's guard, and the desk's
    with bus.unit_of_work() as uow:
        session = uow.session
        asset = _get(session, staff, tag, lock=True)
        if asset.status == "retired":
            raise conflict("the asset is retired", "status")
        if asset.status == "on_loan" or _open_loan(session, asset) is not None:
            raise conflict("the asset is on loan already: record its return first", "status")
        if asset.status != "in_use":
            raise conflict("only an asset in use can be lent (this one is in repair)", "status")
        replaces = (command.replaces_tag or "").strip() or None
        if replaces is not None:
            other = find_asset(session, asset.org, replaces)
            if other is None:
                raise invalid("replaces_tag", "no asset with this tag is registered")
            if other.id == asset.id:
                raise invalid("replaces_tag", "an asset cannot replace itself")
            replaces = other.tag
        loan = AssetLoan(asset_id=asset.id, org=asset.org, borrower=command.borrower.strip(),
                         borrower_unit=(command.borrower_unit or "").strip(),
                         tracking_code=(command.tracking_code or "").strip() or None, replaces_tag=replaces,
                         lent_on=command.lent_on, due_back_on=command.due_back_on, note=command.note or "",
                         created_by=staff.username)
        if now is not None:
            loan.created_at = now
        session.add(loan)
        asset.status = "on_loan"
        try:
            session.flush()
        except IntegrityError:  # a concurrent loan of the same machine
            raise conflict("the asset is on loan already: record its return first", "status") from None
        session.refresh(loan)
        log_access(session, AccessLog, staff, "asset_loan", str(loan.id), "asset lent")
        result = loan_json(loan)
        uow.commit()
        return result


def return_loan(staff: Staff, tag: str, loan_id: int, command: ReturnLoan, now: datetime | None = None) -> dict:
    refuse(Forbidden, permissions.loan_refusal(staff))  # the API's guard, and the desk's
    with bus.unit_of_work() as uow:
        session = uow.session
        asset = _get(session, staff, tag, lock=True)
        loan = session.get(AssetLoan, loan_id)
        if loan is None or loan.asset_id != asset.id:
            raise not_found("loan")
        if loan.returned_on is not None:
            raise conflict("this loan was returned already", "returned_on")
        if command.returned_on < loan.lent_on:
            raise invalid("returned_on", "before the day it was lent")
        loan.returned_on = command.returned_on
        if command.note:
            loan.note = f"{loan.note}\n{command.note}".strip()
        if asset.status == "on_loan":
            asset.status = "in_use"
        session.flush()
        log_access(session, AccessLog, staff, "asset_loan", str(loan.id), "asset returned")
        result = loan_json(loan)
        uow.commit()
        return result


# ---------------------------------------------------------------------------------------------
# loans a case makes: a step that lends a machine (``case.asset_lent``), returned at the close


def lend_for_case(uow: UnitOfWork, event: Event) -> None:
    """Record the loan a case's step made ("จัดเครื่องทดแทนให้ใช้ชั่วคราวจนกว่าจะซ่อมเสร็จ"): the
    asset of the case's organisation by its tag goes ``on_loan`` to the requester, the loan
    naming the case and the machine it replaces. A repeat (the same case and asset, loan open)
    changes nothing. A tag not in the register, or a machine not free to lend, is logged and
    recorded nowhere: the register keeps only loans that can be."""
    payload = event.payload
    session = uow.session
    code, tag = payload["tracking_code"], payload["asset_tag"]
    asset = find_asset(session, payload["org"], tag, lock=True)
    if asset is None:
        log.warning("case %s lent %s, which is not in %s's register: no loan recorded", code, tag, payload["org"])
        return
    open_loan = _open_loan(session, asset)
    if open_loan is not None:
        if open_loan.tracking_code != code:
            log.warning("case %s lent %s, on loan already (to case %s): no loan recorded", code, tag,
                        open_loan.tracking_code)
        return
    if asset.status != "in_use":
        log.warning("case %s lent %s, which is %s: no loan recorded", code, tag, asset.status)
        return
    replaces = payload.get("replaces_tag")
    other = find_asset(session, asset.org, replaces) if replaces else None
    session.add(AssetLoan(asset_id=asset.id, org=asset.org, borrower=payload["borrower"][:200] or code,
                          borrower_unit=payload["borrower_unit"][:200], tracking_code=code,
                          replaces_tag=other.tag if other is not None and other.id != asset.id else None,
                          lent_on=date.fromisoformat(payload["lent_on"]), note=f"case {code}, step {payload['step']}",
                          created_by=payload["lent_by"][:100]))
    asset.status = "on_loan"


def return_case_loans(uow: UnitOfWork, event: Event) -> None:
    """The case closed: each machine it lent and still out comes back, on the day it closed."""
    payload = event.payload
    session = uow.session
    loans = session.scalars(select(AssetLoan).where(AssetLoan.tracking_code == payload["tracking_code"],
                                                    AssetLoan.returned_on.is_(None))
                            .with_for_update(of=AssetLoan)).unique().all()
    closed_on = parse_moment(payload.get("closed_at"), event.occurred_at).astimezone(BANGKOK).date()
    for loan in loans:
        loan.returned_on = max(closed_on, loan.lent_on)
        loan.note = f"{loan.note}\nreturned: case {payload['tracking_code']} closed".strip()
        asset = session.scalars(select(Asset).where(Asset.id == loan.asset_id).with_for_update(of=Asset)).unique().one()
        if asset.status == "on_loan":
            asset.status = "in_use"


# ---------------------------------------------------------------------------------------------
# repair cases: the asset check and warranty / lease claims


def check_payload(asset: Asset, on: date) -> dict:
    """What assignment keeps of an asset for a case (``procurement.asset_checked``'s ``asset``)."""
    vendor = asset.vendor
    return {
        "tag": asset.tag, "kind": asset.kind, "model": asset.model, "serial": asset.serial,
        "location": asset.location, "ownership": asset.ownership, "status": asset.status,
        "acquired_on": iso(asset.acquired_on), "warranty_ends_on": iso(asset.warranty_ends_on),
        "under_warranty": is_under_warranty(asset, on), "leased": asset.ownership == "leased",
        "vendor": None if vendor is None else {**vendor_ref(vendor),
                                               "contacts": [contact_card(c) for c in vendor.contacts]},
    }


def _received_on(payload: dict, now: datetime) -> date:
    """The Bangkok date the request was received (``received_at``; else ``now``)."""
    return parse_moment(payload.get("received_at"), now).astimezone(BANGKOK).date()


def check_requested_asset(uow: UnitOfWork, event: Event, now: datetime | None = None) -> None:
    """A request naming ``asset_tag`` (any SOP): tell the case what the register knows of it:
    found or not, under warranty on the day the request was received, leased, the vendor to
    claim from with its contacts. Without an asset tag: nothing."""
    payload = event.payload
    tag = str((payload.get("fields") or {}).get("asset_tag") or "").strip()
    code = payload.get("tracking_code")
    if not tag or not code:
        return
    now = utc_now(now)
    org = event_org(payload)
    known = uow.memo.get("assets")
    if known is not None and (org, tag) in known:  # found for the whole batch (_find_batch_assets)
        asset = known[(org, tag)]
    else:
        asset = find_asset(uow.session, org, tag)  # in the request's organisation's register only
    uow.emit("procurement.asset_checked", {
        "tracking_code": code, "org": org, "asset_tag": tag, "found": asset is not None,
        "asset": None if asset is None else check_payload(asset, _received_on(payload, now)),
        "checked_at": now.isoformat(),
    }, correlation_id=code)


@bus.before_batch
def _find_batch_assets(uow: UnitOfWork, events: list[Event]) -> None:
    """The assets a batch's requests name, found for the whole batch in two statements (their ids,
    then the assets) instead of two per request, by ``find_asset``'s rule: in the request's
    organisation's register, the tag exactly first, else the same tag in other letters' case, the
    oldest first. Kept in ``uow.memo`` for ``check_requested_asset`` (None: not registered)."""
    wanted = set()
    for event in events:
        if event.type == "request.submitted" and isinstance(event.payload, dict):
            tag = str((event.payload.get("fields") or {}).get("asset_tag") or "").strip()
            org = event_org(event.payload)
            if tag and org and event.payload.get("tracking_code"):
                wanted.add((org, tag))
    if len(wanted) < 2:
        return
    session = uow.session
    lowered = func.lower(Asset.tag)
    rows = session.execute(select(Asset.id, Asset.org, Asset.tag, lowered.label("lowered")).where(
        tuple_(Asset.org, lowered).in_(sorted({(org, tag.lower()) for org, tag in wanted})))).all()
    chosen = {}
    for org, tag in wanted:
        matches = [row for row in rows if row.org == org and row.lowered == tag.lower()]
        if matches:
            chosen[(org, tag)] = min(matches, key=lambda row: (row.tag != tag, row.id)).id
    assets = {asset.id: asset for asset in session.scalars(select(Asset).where(Asset.id.in_(
        sorted(set(chosen.values())))))} if chosen else {}
    uow.memo["assets"] = {key: assets.get(chosen.get(key)) for key in wanted}


def _wait_key(payload: dict) -> tuple[str | None, str | None]:
    return payload.get("tracking_code"), (payload.get("step") or {}).get("key")


def on_vendor_wait(uow: UnitOfWork, event: Event, now: datetime | None = None) -> None:
    """A case waits on a vendor (e.g. the repair SOP's ``vendor-claim``): when its ``asset_tag``
    names an asset with a vendor, open a claim (``leased`` for a leased asset, else ``warranty``)
    unless one is open for this case and step; the asset is ``in_repair`` meanwhile."""
    payload = event.payload
    code, step = _wait_key(payload)
    tag = str((payload.get("fields") or {}).get("asset_tag") or "").strip()
    if not code or not step or not tag:
        return
    session = uow.session
    # the case's organisation's asset; claims of one asset are opened one at a time
    asset = find_asset(session, event_org(payload), tag, lock=True)
    if asset is None or asset.vendor_id is None:
        return
    same = select(Claim.id).where(Claim.tracking_code == code, Claim.step == step)
    if session.scalar(same.where(Claim.resolved_at.is_(None))) is not None:
        return  # open already (a second event saying the same)
    if session.scalar(same.where(Claim.resolved_at >= event.occurred_at)) is not None:
        return  # a stale event: the wait it announces was over before it was handled
    now = utc_now(now)
    session.add(Claim(org=asset.org, vendor_id=asset.vendor_id, asset_id=asset.id, tracking_code=code, step=step,
                      reason="leased" if asset.ownership == "leased" else "warranty", opened_at=now,
                      note=str(payload.get("subject") or "")[:2000]))
    if asset.status == "in_use":
        asset.status = "in_repair"


def on_vendor_wait_ended(uow: UnitOfWork, event: Event, now: datetime | None = None) -> None:
    """The wait on the vendor ended: resolve the open claim of that case and step; the asset is
    back ``in_use`` when it was ``in_repair`` and no other claim on it is open."""
    code, step = _wait_key(event.payload)
    if not code or not step:
        return
    session = uow.session
    claims = session.scalars(select(Claim).where(Claim.tracking_code == code, Claim.step == step,
                                                 Claim.resolved_at.is_(None))).all()
    if not claims:
        return
    now = utc_now(now)
    for claim in claims:
        asset = None
        if claim.asset_id is not None:
            asset = session.scalar(for_update(session, select(Asset).where(Asset.id == claim.asset_id), of=Asset))
        claim.resolved_at = now
        session.flush()
        if asset is not None and asset.status == "in_repair":
            still_open = session.scalar(select(Claim.id).where(Claim.asset_id == asset.id,
                                                               Claim.resolved_at.is_(None)))
            if still_open is None:
                asset.status = "in_use"
