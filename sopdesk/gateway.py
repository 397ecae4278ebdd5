"""All four services behind one port, each under its prefix (the embedded default, and tests).
In production nginx does this routing and each service runs under its own gunicorn."""
from __future__ import annotations

from werkzeug.utils import redirect

from shared.config import SERVICES, Settings, get_settings


class PrefixDispatcher:
    """Route by the first path segment without rewriting the path: every service's routes carry
    their own prefix, exactly as behind nginx."""

    def __init__(self, apps: dict[str, object], extra: dict[str, object] | None = None) -> None:
        self.apps = dict(apps)
        self.apps.update(extra or {})

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "") or "/"
        first = path.lstrip("/").split("/", 1)[0]
        app = self.apps.get(first)
        if app is None:
            if path == "/":
                return redirect("/intake/")(environ, start_response)
            return _not_found(environ, start_response)
        return app(environ, start_response)


def _not_found(environ, start_response):
    from werkzeug.exceptions import NotFound

    return NotFound()(environ, start_response)


def create_service(service: str, settings: Settings | None = None):
    if service == "intake":
        from services.intake.entrypoints.app import create_app
    elif service == "assignment":
        from services.assignment.entrypoints.app import create_app
    elif service == "notify":
        from services.notify.entrypoints.app import create_app
    elif service == "procurement":
        from services.procurement.entrypoints.app import create_app
    else:
        raise ValueError(f"unknown service {service!r}")
    return create_app(settings)


def create_gateway(settings: Settings | None = None, extra: dict[str, object] | None = None) -> PrefixDispatcher:
    settings = settings or get_settings()
    return PrefixDispatcher({s: create_service(s, settings) for s in SERVICES}, extra)


def settled(app):
    """``app`` once loaded, with the objects of its start (modules, packs, SQLAlchemy's mappers,
    templates) moved out of the garbage collector's reach (``gc.freeze``): they live as long as the
    process, yet every full collection walked them all, a pause of about 100 ms in one request of
    twenty or so (a long case page at p99: 145 ms, 55 ms frozen, in-process over bench/desk.py's
    database). Before gunicorn forks (``--preload``) it also keeps those pages shared."""
    import gc

    gc.collect()
    gc.freeze()
    return app


def service_app(service: str):
    """gunicorn entry point for one service: ``gunicorn 'sopdesk.gateway:service_app("intake")'``."""
    return settled(create_service(service))


def embedded_app():
    """gunicorn entry point of the embedded default: the four services and the mail inbox."""
    from shared import db
    from shared.mailcatcher import inbox_app
    from sopdesk.embedded import wait_for_migrations

    settings = get_settings()
    app = create_gateway(settings, extra={"mail": inbox_app(settings)})
    wait_for_migrations(settings.data_dir)  # sopdesk up may still be bringing the databases up to date
    db.dispose_engines()  # loaded once before gunicorn forks (--preload): no connection may be shared
    return settled(app)


