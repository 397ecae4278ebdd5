"""Intake's app factory."""
from __future__ import annotations

from flask import Flask

from shared.config import Settings
from shared.web import create_service_app


def create_app(settings: Settings | None = None) -> Flask:
    from services.intake import handlers, messages  # noqa: F401  (event handlers, the service's words)
    from services.intake.views import blp

    from services.intake.bus import bus

    return create_service_app("intake", "intake", [blp], settings, bus=bus)
