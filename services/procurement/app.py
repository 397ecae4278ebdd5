"""Procurement's app factory: its API (vendors and assets, projects, contracts and milestones)
and the desk pages of procurement staff and committees."""
from __future__ import annotations

from flask import Flask

from shared.config import Settings
from shared.web import create_service_app


def create_app(settings: Settings | None = None) -> Flask:
    from services.procurement import handlers  # noqa: F401  (event handlers)
    from services.procurement import asset_views, contract_views, project_views
    from services.procurement.desk import desk

    from services.procurement.bus import bus

    return create_service_app("procurement", "procurement",
                              [asset_views.blp, project_views.blp, contract_views.blp], settings, bus=bus,
                              extra_setup=lambda app: app.register_blueprint(desk))
