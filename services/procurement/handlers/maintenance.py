"""Preventive maintenance by the asset register: an SOP whose pack schedules it ``per_asset``
(onesqa's "keep a yearly preventive-maintenance plan; do maintenance by the plan and record it")
opens one case per asset of its kind, each period, on the first working day from the planned
day. The register is procurement's, so procurement plans it: ``plan_maintenance`` (beat, every
few minutes) finds the assets of each such SOP's organisation and kind (not retired) with no run
for the period, inserts a ``MaintenanceRun`` (unique per SOP, period and asset: two runs side
by side ask once) and, in the same transaction, emits ``procurement.maintenance_due`` with a new
tracking code and the asset's tag. Intake files it as a request with no requester (channel
``planned``, the tag in its form), and the case opens and is assigned as usual; the asset check
of that request tells the case what the register knows of the machine."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import insert

from services.procurement.adapters.bus import bus
from services.procurement.adapters.models import Asset, MaintenanceRun
from services.procurement.handlers.reminders import calendar
from shared import db
from shared.i18n import BANGKOK
from shared.packs import Sop, builtin_packs
from shared.tracking import new_tracking_code


@dataclass(frozen=True)
class Asked:
    sop: str
    period: str
    asset_tag: str
    tracking_code: str


def per_asset_sops() -> list[Sop]:
    return [sop for pack in builtin_packs().values() for sop in pack.sops.values()
            if sop.schedule is not None and sop.schedule.per_asset]


def plan_maintenance(now: datetime | None = None) -> list[Asked]:
    """Ask intake to file the preventive maintenance due today for each asset not asked for yet."""
    now = now or db.utcnow()
    today = now.astimezone(BANGKOK).date()
    asked: list[Asked] = []
    for sop in per_asset_sops():
        with bus.unit_of_work() as uow:
            session = uow.session
            cal = calendar(session)
            for period in sop.schedule.due(today, cal.next_working_day):
                run = MaintenanceRun.__table__
                assets = session.execute(
                    select(Asset.id, Asset.tag).where(
                        Asset.org == sop.pack, func.lower(Asset.kind) == sop.schedule.per_asset.lower(),
                        Asset.status != "retired",
                        ~select(run.c.id).where(and_(run.c.sop == sop.full_key, run.c.period == period.key,
                                                     run.c.asset_id == Asset.id)).exists())
                    .order_by(Asset.tag)).all()
                for asset_id, tag in assets:
                    found = _claim(uow, sop, period, asset_id, tag)
                    if found is not None:
                        asked.append(found)
            uow.commit()
    return asked


def _claim(uow, sop: Sop, period, asset_id: int, tag: str) -> Asked | None:
    code = new_tracking_code()
    inserted = uow.session.execute(
        insert(MaintenanceRun.__table__).values(org=sop.pack, sop=sop.full_key, period=period.key, asset_id=asset_id,
                                                planned_on=period.planned_on, tracking_code=code,
                                                created_at=db.utcnow())
        .on_conflict_do_nothing(index_elements=["sop", "period", "asset_id"])
        .returning(MaintenanceRun.__table__.c.id)).scalar()
    if inserted is None:  # another run asked for it first
        return None
    title, label = sop.title, period.label
    uow.emit("procurement.maintenance_due", {
        "org": sop.pack, "tracking_code": code, "sop": sop.full_key, "pack_version": sop.pack_version,
        "period": period.key, "planned_on": period.planned_on.isoformat(), "asset_tag": tag,
        "subject": f"{title.get('th')} {tag} ({label['th']})"[:300],
        "details": f"{title.get('th')}: {tag} — {label['th']}\n{title.get('en') or title.get('th')}: {tag} — "
                   f"{label['en']}",
        "fields": {"asset_tag": tag},
    }, correlation_id=code)
    return Asked(sop.full_key, period.key, tag, code)
