"""Vendors (ผู้ขาย / ผู้รับจ้าง): name, tax id, contacts, and what procurement holds with each of
them (contracts, quotes, warranty and lease claims). No Flask here: the views are thin.

A tax id (เลขประจำตัวผู้เสียภาษีอากร) is 13 digits whose last is a check digit:
``d13 = (11 - (sum of d_i * (14 - i) for i = 1..12) mod 11) mod 10``. Each organisation keeps its
own register: a tax id is unique within it (a second vendor with the same tax id in the same
organisation is a conflict, 409); another organisation may register the same company. Another
organisation's vendor is not there (404; 422 when a body names it).

Contacts are people: every read that shows them adds a PDPA access row, committed with the read."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from services.procurement.adapters.bus import bus
from services.procurement.adapters.models import AccessLog, Claim, Contract, Quote, Vendor, VendorContact
from services.procurement.handlers.commands import AddContact, RegisterVendor, UpdateVendor
from services.procurement.domain import permissions
from services.procurement.handlers.common import contains_pattern, of_org, org_for_new, refuse, seen
from services.procurement.handlers.errors import conflict, invalid, not_found
from shared.audit import log_access
from shared.auth import Staff
from shared.errors import Forbidden

TAX_ID = re.compile(r"^\d{13}$")


def tax_id_check_digit(first12: str) -> int:
    """The check digit of a Thai tax id (or citizen id) from its first twelve digits."""
    total = sum(int(d) * (13 - i) for i, d in enumerate(first12))  # weights 13 down to 2
    return (11 - total % 11) % 10


def valid_tax_id(value: str | None) -> bool:
    return bool(value) and bool(TAX_ID.match(value)) and tax_id_check_digit(value[:12]) == int(value[12])


def normalise_tax_id(value: str) -> str:
    """People write tax ids with dashes or spaces (0-1055-12345-67-8): keep the digits only."""
    return re.sub(r"[\s\-]", "", value or "")


# ---------------------------------------------------------------------------------------------
# JSON shapes (plain dicts; the views dump them with the schemas)


def vendor_ref(vendor: Vendor | None) -> dict | None:
    if vendor is None:
        return None
    return {"id": vendor.id, "name": vendor.name, "tax_id": vendor.tax_id}


def contact_card(contact: VendorContact) -> dict:
    """A contact as events carry it (``procurement.asset_checked``): no id."""
    return {"name": contact.name, "email": contact.email, "phone": contact.phone, "role": contact.role,
            "emergency": contact.emergency}


def contact_json(contact: VendorContact) -> dict:
    return {"id": contact.id, **contact_card(contact)}


def vendor_json(vendor: Vendor) -> dict:
    return {"id": vendor.id, "org": vendor.org, "name": vendor.name, "tax_id": vendor.tax_id, "address": vendor.address,
            "language": vendor.language, "active": vendor.active, "created_by": vendor.created_by,
            "created_at": vendor.created_at, "contacts_count": len(vendor.contacts)}


def claim_json(claim: Claim) -> dict:
    asset = claim.asset
    return {"id": claim.id, "vendor": vendor_ref(claim.vendor),
            "asset": None if asset is None else {"id": asset.id, "tag": asset.tag, "kind": asset.kind,
                                                 "model": asset.model, "ownership": asset.ownership,
                                                 "status": asset.status},
            "tracking_code": claim.tracking_code, "step": claim.step, "reason": claim.reason,
            "opened_at": claim.opened_at, "resolved_at": claim.resolved_at,
            "open": claim.resolved_at is None, "note": claim.note}


# ---------------------------------------------------------------------------------------------
# reading


def list_vendors(staff: Staff, q: str | None = None, active: bool | None = None, page: int = 1,
                 per_page: int = 50) -> dict:
    """The vendors of ``staff``'s organisation by name, filtered by ``q`` (part of the name, or the
    start of the tax id)."""
    query = of_org(select(Vendor), Vendor.org, staff)
    if q:
        text = q.strip()
        digits = normalise_tax_id(text)
        conditions = [Vendor.name.ilike(contains_pattern(text), escape="\\")]
        if digits.isdigit():
            conditions.append(Vendor.tax_id.like(f"{digits}%"))
        query = query.where(or_(*conditions))
    if active is not None:
        query = query.where(Vendor.active.is_(active))
    with bus.session() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(query.order_by(Vendor.name, Vendor.id).limit(per_page)
                               .offset((page - 1) * per_page)).all()
        return {"items": [vendor_json(v) for v in rows], "total": total, "page": page, "per_page": per_page}


def vendor_detail(staff: Staff, vendor_id: int, purpose: str = "vendor record: contacts") -> dict:
    """A vendor with its contacts (logged: they are people), its contracts, quotes and claims."""
    with bus.session() as session:
        vendor = _vendor(session, staff, vendor_id)
        data = _detail(session, vendor)
        log_access(session, AccessLog, staff, "vendor_contacts", str(vendor.id), purpose)
        session.commit()
        return data


def _vendor(session, staff: Staff, vendor_id: int) -> Vendor:
    """The vendor, when of an organisation ``staff`` sees (else 404)."""
    return seen(staff, session.get(Vendor, vendor_id), "vendor")


def _detail(session, vendor: Vendor) -> dict:
    # of the vendor's organisation only (a register is one organisation's)
    contracts = session.scalars(select(Contract).where(Contract.vendor_id == vendor.id, Contract.org == vendor.org)
                                .order_by(Contract.signed_on.desc(), Contract.id.desc())).all()
    quotes = session.scalars(select(Quote).where(Quote.vendor_id == vendor.id)
                             .order_by(Quote.received_on.desc(), Quote.id.desc())).all()
    claims = session.scalars(select(Claim).where(Claim.vendor_id == vendor.id, Claim.org == vendor.org)
                             .order_by(Claim.opened_at.desc(), Claim.id.desc())).all()
    return {
        **vendor_json(vendor),
        "contacts": [contact_json(c) for c in vendor.contacts],
        "contracts": [{"id": c.id, "number": c.number, "project_id": c.project_id, "amount": c.amount,
                       "signed_on": c.signed_on, "ends_on": c.ends_on, "status": c.status,
                       "warranty_ends_on": c.warranty_ends_on} for c in contracts],
        "quotes": [{"id": q.id, "project_id": q.project_id, "project_title": q.project.title if q.project else "",
                    "amount": q.amount, "received_on": q.received_on, "valid_until": q.valid_until}
                   for q in quotes],
        "claims": [claim_json(c) for c in claims],
    }


# ---------------------------------------------------------------------------------------------
# changing


def _check_tax_id(value: str) -> str:
    value = normalise_tax_id(value)
    if not valid_tax_id(value):
        raise invalid("tax_id", "not a valid tax id: 13 digits with the right check digit")
    return value


def _taken(session, org: str, tax_id: str, but: int | None = None) -> bool:
    query = select(Vendor.id).where(Vendor.org == org, Vendor.tax_id == tax_id)
    if but is not None:
        query = query.where(Vendor.id != but)
    return session.scalar(query) is not None


def create_vendor(staff: Staff, command: RegisterVendor, now: datetime | None = None) -> dict:
    refuse(Forbidden, permissions.register_refusal(staff))  # the API's guard, and the desk's
    tax_id = _check_tax_id(command.tax_id)
    org = org_for_new(staff, command.org)
    with bus.unit_of_work() as uow:
        if _taken(uow.session, org, tax_id):
            raise conflict("a vendor with this tax id is registered already", "tax_id")
        vendor = Vendor(org=org, name=command.name.strip(), tax_id=tax_id, address=command.address or "",
                        language=command.language or "th", active=command.active,
                        created_by=staff.username)
        if now is not None:
            vendor.created_at = now
        for contact in command.contacts or []:
            vendor.contacts.append(VendorContact(**_contact_fields(contact)))
        uow.session.add(vendor)
        try:
            uow.session.flush()
        except IntegrityError:  # a concurrent registration of the same tax id
            raise conflict("a vendor with this tax id is registered already", "tax_id") from None
        detail = _detail(uow.session, vendor)
        if vendor.contacts:
            log_access(uow.session, AccessLog, staff, "vendor_contacts", str(vendor.id), "vendor registered")
        uow.commit()
        return detail


def update_vendor(staff: Staff, vendor_id: int, command: UpdateVendor) -> dict:
    """Change a vendor: only the fields sent."""
    refuse(Forbidden, permissions.register_refusal(staff))  # the API's guard, and the desk's
    data = command.changes()  # the fields sent
    with bus.unit_of_work() as uow:
        vendor = _vendor(uow.session, staff, vendor_id)
        if "tax_id" in data:
            tax_id = _check_tax_id(data["tax_id"])
            if _taken(uow.session, vendor.org, tax_id, but=vendor.id):
                raise conflict("a vendor with this tax id is registered already", "tax_id")
            vendor.tax_id = tax_id
        for name in ("name", "address", "language", "active"):
            if name in data:
                setattr(vendor, name, data[name].strip() if name == "name" else data[name])
        try:
            uow.session.flush()
        except IntegrityError:
            raise conflict("a vendor with this tax id is registered already", "tax_id") from None
        detail = _detail(uow.session, vendor)
        log_access(uow.session, AccessLog, staff, "vendor_contacts", str(vendor.id), "vendor record changed")
        uow.commit()
        return detail


def _contact_fields(data: Mapping) -> dict:
    return {"name": data["name"].strip(), "email": data.get("email") or None, "phone": data.get("phone") or None,
            "role": data.get("role") or "", "emergency": bool(data.get("emergency", False))}


def add_contact(staff: Staff, vendor_id: int, command: AddContact) -> dict:
    refuse(Forbidden, permissions.register_refusal(staff))  # the API's guard, and the desk's
    with bus.unit_of_work() as uow:
        vendor = _vendor(uow.session, staff, vendor_id)
        contact = VendorContact(vendor_id=vendor.id, **_contact_fields(asdict(command)))
        uow.session.add(contact)
        uow.session.flush()
        log_access(uow.session, AccessLog, staff, "vendor_contacts", str(vendor.id), "vendor contact added")
        result = contact_json(contact)
        uow.commit()
        return result


def delete_contact(staff: Staff, vendor_id: int, contact_id: int) -> None:
    refuse(Forbidden, permissions.register_refusal(staff))  # the API's guard, and the desk's
    with bus.unit_of_work() as uow:
        _vendor(uow.session, staff, vendor_id)
        contact = uow.session.get(VendorContact, contact_id)
        if contact is None or contact.vendor_id != vendor_id:
            raise not_found("contact")
        uow.session.delete(contact)
        uow.commit()
