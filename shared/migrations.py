"""Each service's own Alembic history, run the same way for all four.

``services/<service>/adapters/migrations/env.py`` calls ``run_env``; ``upgrade`` brings a service's
schema to the newest revision.
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from shared import db
from shared.config import SERVICES, get_settings

SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"


def alembic_config(service: str) -> Config:
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    config = Config()
    config.set_main_option("script_location", str(SERVICES_DIR / service / "adapters" / "migrations"))
    config.attributes["service"] = service
    return config


def upgrade(service: str, revision: str = "head") -> None:
    engine = db.get_engine(service, get_settings().database_url(service))
    db.ensure_schema(engine, service)
    command.upgrade(alembic_config(service), revision)


def upgrade_all() -> None:
    for service in SERVICES:
        upgrade(service)


def revision(service: str, message: str, autogenerate: bool = True) -> None:
    """Write a new revision for a service (a developer's command: sopdesk db revision)."""
    engine = db.get_engine(service, get_settings().database_url(service))
    db.ensure_schema(engine, service)
    command.revision(alembic_config(service), message=message, autogenerate=autogenerate)


def current(service: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = db.get_engine(service, get_settings().database_url(service))
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def run_env(service: str, metadata) -> None:
    """The body of every service's migrations/env.py."""
    from alembic import context

    engine = db.get_engine(service, get_settings().database_url(service))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
