"""The PDPA's rights as procurement answers them: what it keeps of a person's cases (the loans,
warranty claims and purchases that serve them), for the export, and their erasure when intake
asks (``privacy.erasure_requested``): the borrower's name, the request's subject copied into a
claim's note or a purchase's title, and their words in the envelopes become
``shared.privacy.ERASED``; the records themselves stay (assets, vendors, money, dates).
Confirmed by ``privacy.procurement_erased``."""
from __future__ import annotations

from sqlalchemy import select

from services.procurement.adapters.bus import bus
from services.procurement.adapters.models import AssetLoan, Claim, Project
from shared import db
from shared.events import Event
from shared.messaging import UnitOfWork
from shared.privacy import ERASED, Needles, normal_phone, plain, scrub_messages


def person_data(codes: list[str]) -> dict:
    with bus.session() as session:
        return {
            "asset_loans": [plain(r) for r in session.scalars(select(AssetLoan).where(AssetLoan.tracking_code.in_(codes)))],
            "claims": [plain(r) for r in session.scalars(select(Claim).where(Claim.tracking_code.in_(codes)))],
            "projects": [plain(r, ("id", "title", "purpose", "kind", "stage", "tracking_code", "created_at"))
                         for r in session.scalars(select(Project).where(Project.tracking_code.in_(codes)))],
        }


def _requester_words(session, codes: list[str]) -> list:
    """The requester's name, email and phone as the envelopes of their requests held here carry
    them (procurement keeps none of them in its tables)."""
    words = []
    for envelope in session.scalars(select(bus.DeadLetter.envelope).where(bus.DeadLetter.event_type == "request.submitted")):
        payload = (envelope or {}).get("payload") or {}
        if payload.get("tracking_code") in codes:
            requester = payload.get("requester") or {}
            words += [requester.get("name"), requester.get("email"), requester.get("phone"),
                      normal_phone(requester.get("phone"))]
    return words


def erase(uow: UnitOfWork, codes: list[str]) -> int:
    session = uow.session
    loans = list(session.scalars(select(AssetLoan).where(AssetLoan.tracking_code.in_(codes))))
    needles = Needles([loan.borrower for loan in loans] + _requester_words(session, codes))
    rows = 0
    for loan in loans:
        loan.borrower = ERASED
        loan.note = needles.sub(loan.note or "")
        rows += 1
    for claim in session.scalars(select(Claim).where(Claim.tracking_code.in_(codes))):
        claim.note = ERASED  # the request's subject, as the claim was opened with it
        rows += 1
    for project in session.scalars(select(Project).where(Project.tracking_code.in_(codes),
                                                         Project.created_by == "sopdesk")):
        project.title = f"{ERASED} {project.tracking_code}"  # it was the request's subject
        project.purpose = needles.sub(project.purpose or "")
        rows += 1
    rows += scrub_messages(session, bus, codes, needles)
    return rows


@bus.handles("privacy.erasure_requested")
def on_erasure_requested(uow: UnitOfWork, event: Event) -> None:
    rows = erase(uow, list(event.payload["tracking_codes"]))
    uow.emit("privacy.procurement_erased", {"request_id": event.payload["request_id"], "service": "procurement",
                                            "rows": rows, "erased_at": db.utcnow().isoformat()})
