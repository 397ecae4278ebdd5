"""Assignment's app factory."""
from __future__ import annotations

from flask import Flask

from shared.config import Settings
from shared.web import create_service_app


def create_app(settings: Settings | None = None) -> Flask:
    from services.assignment import messages  # noqa: F401  (the service's words)
    from services.assignment.adapters.bus import bus
    from services.assignment.entrypoints.breach_desk import breach_api, breach_pages
    from services.assignment.entrypoints.desk import desk
    from services.assignment.entrypoints.registers import registers_api
    from services.assignment.entrypoints.reports import reports_api
    from services.assignment.entrypoints.views import blp
    from services.assignment.entrypoints.signin import signin_pages
    from services.assignment.handlers import cases as handlers  # noqa: F401  (event handlers)
    from services.assignment.handlers import signin

    signin.check_configuration(settings)  # a directory map that is not right stops the start, naming it

    def pages(app: Flask) -> None:
        app.register_blueprint(desk)
        app.register_blueprint(signin_pages)
        app.register_blueprint(breach_pages)
        from services.assignment.entrypoints.admin_pages import admin_pages  # the administration pages
        app.register_blueprint(admin_pages)
        from services.assignment.entrypoints.pack_pages import pack_pages  # a pack: upload, check, editor
        app.register_blueprint(pack_pages)

    from services.assignment.adapters.models import AccessLog
    from shared.access_log import access_log_blueprint

    return create_service_app("assignment", "assignment",
                              [blp, breach_api, registers_api, reports_api, access_log_blueprint("assignment", AccessLog, bus)],
                              settings, bus=bus, extra_setup=pages)
