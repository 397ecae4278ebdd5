"""Procurement's app factory: its API (vendors and assets, projects, contracts and milestones)
and the desk pages of procurement staff and committees."""
from __future__ import annotations

from flask import Flask

from shared.config import Settings
from shared.web import create_service_app


def create_app(settings: Settings | None = None) -> Flask:
    from services.procurement.adapters.bus import bus
    from services.procurement.entrypoints import asset_views, contract_views, project_views
    from services.procurement.adapters.models import AccessLog
    from services.procurement.entrypoints import desk_forms  # noqa: F401  (the desk's forms, on its blueprint)
    from services.procurement.entrypoints.desk import desk
    from shared.access_log import access_log_blueprint
    from services.procurement.handlers import consumers as handlers  # noqa: F401  (event handlers)

    return create_service_app("procurement", "procurement",
                              [asset_views.blp, project_views.blp, contract_views.blp,
                               access_log_blueprint("procurement", AccessLog, bus)], settings, bus=bus,
                              extra_setup=lambda app: app.register_blueprint(desk))
