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
    assert {"outbox", "inbox", "dead_letters"} <= tables, "the service's side of the bus"


def test_what_events_were_owed_row_by_row_is_folded_onto_their_outbox_rows_and_back():
    """``fold_owed_into_outbox`` (the same migration in every service's history), run on intake's
    in a scratch database of its own: each event's ``outbox_owed`` rows become its ``owed_to``
    (the subscribers still owed), the earliest of their next sends, the most sends; an event owed
    to nobody any more and not yet marked is delivered; the downgrade writes a row per event and
    subscriber still owed again."""
    from datetime import timedelta

    import psycopg
    from alembic import command
    from sqlalchemy import text

    import conftest
    from shared import migrations
    from shared.config import set_settings

    before_fold, fold = "c5e1a7d3f9b2", "a3f7c1e9d5b2"
    name = f"{conftest.TEST_DB_NAME}_fold"
    with psycopg.connect(conftest.ADMIN_DB_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    settings = get_settings()
    url = conftest._with_database(settings.database_url("intake"), name)
    set_settings(settings.with_changes(database_urls={**settings.database_urls, "intake": url}))
    try:
        migrations.upgrade("intake", before_fold)
        engine = db.get_engine("intake", url)
        t0 = db.utcnow().replace(microsecond=0) - timedelta(hours=1)
        at = [t0 + timedelta(minutes=n) for n in range(6)]
        # (event, its published_at): "both" still owed to two subscribers, "one" to one, "none"
        # confirmed by all but not yet marked, "done" marked delivered long ago
        events = {"both": None, "one": None, "none": None, "done": at[5]}
        owed = [("both", "notify", at[1], 0, None), ("both", "procurement", at[3], 2, at[2]),
                ("one", "assignment", at[4], 1, at[0])]
        with engine.begin() as conn:
            for n, (event, published) in enumerate(events.items()):
                conn.execute(text(
                    "INSERT INTO outbox (id, type, correlation_id, envelope, created_at, published_at, attempts) "
                    "VALUES (:id, 'request.submitted', :id, '{}', :at, :published, 0)"),
                    {"id": event, "at": at[n], "published": published})
            for event, subscriber, due, sends, sent in owed:
                conn.execute(text(
                    "INSERT INTO outbox_owed (event_id, subscriber, type, correlation_id, created_at, due_at, "
                    "sends, sent_at) VALUES (:id, :sub, 'request.submitted', :id, :at, :due, :sends, :sent)"),
                    {"id": event, "sub": subscriber, "at": t0, "due": due, "sends": sends, "sent": sent})

        migrations.upgrade("intake", fold)
        with engine.begin() as conn:
            folded = {row.id: row for row in conn.execute(text(
                "SELECT id, owed_to, due_at, sends, sent_at, published_at, published_at > :t0 AS marked_now "
                "FROM outbox"), {"t0": at[5]})}
            assert conn.execute(text("SELECT to_regclass('outbox_owed')")).scalar() is None
        for event in events:
            rows = [r for r in owed if r[0] == event]
            expected = (sorted(r[1] for r in rows), min((r[2] for r in rows), default=None),
                        max((r[3] for r in rows), default=0), max((r[4] for r in rows if r[4]), default=None))
            got = folded[event]
            assert (got.owed_to, got.due_at, got.sends, got.sent_at) == expected, event
        assert folded["both"].published_at is None and folded["one"].published_at is None
        assert folded["none"].marked_now, "owed to nobody: delivered by the migration"
        assert folded["done"].published_at == at[5], "delivered before: unchanged"

        command.downgrade(migrations.alembic_config("intake"), before_fold)
        with engine.begin() as conn:
            unfolded = set(conn.execute(text("SELECT event_id, subscriber, due_at, sends FROM outbox_owed")).all())
        # each subscriber still owed, with its event's next send and sends
        assert unfolded == {(event, subscriber, folded[event].due_at, folded[event].sends)
                            for event, subscriber, *_ in owed}
    finally:
        set_settings(settings)
        db.dispose_engines()
        with psycopg.connect(conftest.ADMIN_DB_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
