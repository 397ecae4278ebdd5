"""Procurement's event consumers: one registration per event type (a bus takes one handler per
type), each handing the event to the use case that owns it. Every handler runs in the consuming
unit of work, with the event's inbox row: its effect and its events commit together, once."""
from __future__ import annotations

from services.procurement.adapters.bus import bus
from services.procurement.handlers import assets, people, projects, reminders
from shared.events import Event
from shared.messaging import UnitOfWork


@bus.handles("request.submitted")
def on_request_submitted(uow: UnitOfWork, event: Event) -> None:
    """A request naming an asset tag: look it up (warranty, lease, vendor) for the case."""
    assets.check_requested_asset(uow, event)


@bus.handles("case.step_waiting")
def on_case_waiting(uow: UnitOfWork, event: Event) -> None:
    """A case waits on a purchase, a contract or a vendor's claim."""
    waiting_on = event.payload.get("waiting_on")
    if waiting_on in ("procurement-delivery", "procurement-contract"):
        projects.on_case_waiting(uow, event)
    elif waiting_on == "vendor":
        assets.on_vendor_wait(uow, event)
    # a wait on the requester is none of procurement's business


@bus.handles("case.step_resumed")
def on_case_resumed(uow: UnitOfWork, event: Event) -> None:
    """A wait ended (e.g. the vendor repaired under warranty): close what was open for it."""
    if event.payload.get("waiting_on") == "vendor":
        assets.on_vendor_wait_ended(uow, event)


@bus.handles("case.asset_lent")
def on_asset_lent(uow: UnitOfWork, event: Event) -> None:
    """A case's step lent a machine (a replacement while the requester's is in repair)."""
    assets.lend_for_case(uow, event)


@bus.handles("case.closed")
def on_case_closed(uow: UnitOfWork, event: Event) -> None:
    """A case closed: the machines it lent come back."""
    assets.return_case_loans(uow, event)


@bus.handles("org.reminders_changed")
def on_reminders_changed(uow: UnitOfWork, event: Event) -> None:
    """An organisation's reminder settings, from its administrators (assignment)."""
    reminders.on_reminders_changed(uow, event)


@bus.handles("calendar.changed")
def on_calendar_changed(uow: UnitOfWork, event: Event) -> None:
    """The admin added or removed a day off: reminders count working days with it."""
    reminders.on_calendar_changed(uow, event)


@bus.handles("staff.person_changed")
def on_person_changed(uow: UnitOfWork, event: Event) -> None:
    """A staff account was made or moved: keep its organisation."""
    people.keep_person(uow, event)


# the PDPA's erasure of a person's cases: its own module
from services.procurement.handlers import privacy  # noqa: E402,F401  (registers its event handler)
