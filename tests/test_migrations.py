"""Every service's Alembic history builds exactly the tables its models describe (the run's
database was built by the real migrations, ``shared.migrations.upgrade_all``): a model changed
without its migration, or a migration without its model, is a difference here."""
from __future__ import annotations

import importlib

import pytest

from shared import db
from shared.config import SERVICES, get_settings


@pytest.mark.parametrize("service", SERVICES)
def test_the_migrations_build_the_tables_the_models_describe(service):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    base = importlib.import_module(f"services.{service}.adapters.models").Base
    engine = db.get_engine(service, get_settings().database_url(service))
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                       base.metadata)
    assert differences == []
    tables = {name.split(".")[-1] for name in base.metadata.tables}
    assert {"outbox", "inbox", "outbox_owed", "dead_letters"} <= tables, "the service's side of the bus"
