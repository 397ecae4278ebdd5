"""Planned work: the SOPs a pack schedules (``schedule:`` yearly, quarterly or monthly in the Thai
fiscal year) open by themselves when their day comes, with no requester.

``open_planned`` is beat's task, safe to run every few minutes: for each scheduled SOP of the
newest loaded packs it asks the SOP's ``Schedule`` which periods are due today (the planned day,
or the first working day after it when it is a weekend or a holiday of the working calendar,
with the admin's changes), and for each inserts a ``PlannedRun`` (one per SOP and period: the
unique key decides, so two runs side by side open one) and, in the same transaction, emits
``planned.due`` with a new tracking code. Intake files it as a request with no requester
(channel ``planned``) and the case opens from its ``request.submitted`` like any other: assigned
as usual, on intake's tracking read model, known to notify (which has no one to write to) and
to procurement. Assignment does not open the case itself, so that no consumer meets a case
without its request.

A per-asset schedule (``per_asset``: preventive maintenance) needs procurement's asset register,
which assignment never reads: those SOPs are not opened here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.dialects.postgresql import insert

from services.assignment.adapters import packstore
from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import PlannedRun
from services.assignment.handlers.engine import calendar as working_calendar
from shared import db
from shared.i18n import BANGKOK
from shared.packs import Period, Sop
from shared.tracking import new_tracking_code


@dataclass(frozen=True)
class Opened:
    sop: str
    period: str
    tracking_code: str
    opens_on: date


def scheduled_sops() -> list[Sop]:
    """The SOPs of the newest loaded packs that a schedule opens (not per asset)."""
    return [sop for pack in packstore.latest_packs().values() for sop in pack.sops.values()
            if sop.schedule is not None and sop.schedule.per_asset is None]


def open_planned(now: datetime | None = None) -> list[Opened]:
    """Ask intake to file each planned case whose day has come and that is not opened yet; what
    was asked now (empty when nothing was due, or another run asked first)."""
    now = now or db.utcnow()
    today = now.astimezone(BANGKOK).date()
    opened: list[Opened] = []
    for sop in scheduled_sops():
        with bus.unit_of_work() as uow:
            cal = working_calendar(uow.session, sop.pack)
            for period in sop.schedule.due(today, cal.next_working_day):
                run = _claim(uow, sop, period, cal.next_working_day(period.planned_on))
                if run is not None:
                    opened.append(run)
            uow.commit()
    return opened


def _claim(uow, sop: Sop, period: Period, opens_on: date) -> Opened | None:
    """The period's run, inserted unless it is there already (then None: nothing more happens).
    A run side by side waits on the unique key until this one commits, then inserts nothing."""
    code = new_tracking_code()
    inserted = uow.session.execute(
        insert(PlannedRun.__table__).values(id=db.new_id(), sop=sop.full_key, period=period.key,
                                            planned_on=period.planned_on, opens_on=opens_on, tracking_code=code,
                                            created_at=db.utcnow())
        .on_conflict_do_nothing(index_elements=["sop", "period"]).returning(PlannedRun.__table__.c.id)).scalar()
    if inserted is None:
        return None
    title, label = sop.title, period.label
    uow.emit("planned.due", {
        "org": sop.pack, "tracking_code": code, "sop": sop.full_key, "pack_version": sop.pack_version,
        "period": period.key, "planned_on": period.planned_on.isoformat(),
        "subject": f"{title.get('th')} ({label['th']})"[:300],
        "details": f"{title.get('th')} — {label['th']}\n{title.get('en') or title.get('th')} — {label['en']}",
        "fields": {},
    }, correlation_id=code)
    return Opened(sop.full_key, period.key, code, opens_on)
