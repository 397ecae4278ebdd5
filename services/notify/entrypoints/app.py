"""Notify's app factory."""
from __future__ import annotations

from flask import Flask

from shared.config import Settings
from shared.web import create_service_app


def create_app(settings: Settings | None = None) -> Flask:
    from services.notify.adapters.bus import bus
    from services.notify.entrypoints.views import blp
    from services.notify.handlers import consumers  # noqa: F401  (event handlers)

    from services.notify.adapters.models import AccessLog
    from shared.access_log import access_log_blueprint

    return create_service_app("notify", "notify", [blp, access_log_blueprint("notify", AccessLog, bus)], settings,
                              bus=bus)
