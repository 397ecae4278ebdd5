"""Intake's app factory."""
from __future__ import annotations

from flask import Flask

from shared.config import Settings
from shared.web import create_service_app


def create_app(settings: Settings | None = None) -> Flask:
    from services.intake import messages  # noqa: F401  (the service's words)
    from services.intake.adapters.bus import bus
    from services.intake.entrypoints import statistics  # noqa: F401  (its route, on the same blueprint)
    from services.intake.entrypoints.views import blp
    from services.intake.handlers import requests  # noqa: F401  (event handlers)

    from services.intake.adapters.models import AccessLog
    from shared.access_log import access_log_blueprint

    from services.intake.entrypoints.privacy_desk import privacy_desk

    return create_service_app("intake", "intake", [blp, access_log_blueprint("intake", AccessLog, bus)], settings,
                              bus=bus, extra_setup=lambda app: app.register_blueprint(privacy_desk))
