"""Fast tests of shared pieces that need no server."""
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from marshmallow import ValidationError

from shared import i18n
from shared.auth import Staff, hash_password, issue_token, verify_password, verify_token
from shared.config import (SERVICES, ConfigError, Settings, embedded_postgres_socket_dir, embedded_postgres_url,
                           normalise_database_url)
from shared.events import Event
from shared.tracking import check_tracking_token, new_tracking_code, tracking_token


def test_envelope_round_trip_keeps_every_field():
    event = Event(type="request.submitted", source="intake", payload={"a": [1, "ข"]}, correlation_id="SD-1")
    envelope = event.to_envelope()
    assert set(envelope) == {"id", "type", "version", "occurred_at", "source", "correlation_id", "payload"}
    back = Event.from_envelope(envelope)
    assert back == event


@pytest.mark.parametrize("change", [
    {"type": "Request Submitted"},
    {"source": "mailer"},
    {"version": 0},
    {"occurred_at": "2026-11-21T10:00:00"},  # no zone: not UTC-safe
    {"payload": "text"},
    {"payload": {1: "a key that is not text"}},
    {"id": "not-a-uuid"},
    {"id": 42},
    {"version": "1"},
    {"version": True},
    {"occurred_at": "yesterday"},
    {"correlation_id": "x" * 65},
    {"correlation_id": 7},
])
def test_envelope_rejects_malformed(change):
    envelope = Event(type="case.opened", source="assignment", payload={}).to_envelope()
    envelope.update(change)
    with pytest.raises(ValidationError) as raised:
        Event.from_envelope(envelope)
    assert set(raised.value.messages) == set(change)  # the field at fault, and only it


@pytest.mark.parametrize("missing", ["id", "type", "version", "occurred_at", "source", "correlation_id", "payload"])
def test_envelope_without_a_field_is_malformed(missing):
    envelope = Event(type="case.opened", source="assignment", payload={}, correlation_id="SD-1").to_envelope()
    del envelope[missing]
    with pytest.raises(ValidationError) as raised:
        Event.from_envelope(envelope)
    assert set(raised.value.messages) == {missing}


def test_envelope_keeps_the_moment_and_the_id_it_was_given():
    envelope = Event(type="case.opened", source="assignment", payload={}).to_envelope()
    envelope.update(occurred_at="2026-11-21T17:00:00+07:00", id=envelope["id"].upper())
    event = Event.from_envelope(envelope)
    assert event.occurred_at == datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)
    assert event.id == envelope["id"].lower()  # the canonical spelling, as the inbox keys it


PRODUCTION = {"SOPDESK_ENV": "production", "DATABASE_URL": "postgresql://x/y", "REDIS_URL": "redis://x",
              "SECRET_KEY": "k", "SOPDESK_PUBLIC_URL": "https://desk.example"}


@pytest.mark.parametrize("missing", ["DATABASE_URL", "REDIS_URL", "SECRET_KEY", "SOPDESK_PUBLIC_URL"])
def test_production_requires_database_broker_secret_and_public_url(missing):
    Settings.from_env(PRODUCTION)  # complete: starts
    incomplete = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        Settings.from_env(incomplete)


def test_embedded_defaults_use_the_embedded_postgres_and_a_socket_broker(tmp_path):
    settings = Settings.from_env({"SOPDESK_DATA_DIR": str(tmp_path), "SOPDESK_PORT": "8123"})
    assert settings.embedded and settings.embedded_postgres
    # one database, every service in its own schema (search_path), on the socket in the data folder
    url = f"postgresql+psycopg://sopdesk@/sopdesk?host={tmp_path / 'postgres'}"
    assert {settings.database_url(service) for service in SERVICES} == {url}
    assert settings.broker_url == f"redis+socket://{tmp_path / 'broker' / 'redis.sock'}"
    assert settings.public_url == "http://127.0.0.1:8123"
    assert not (tmp_path / "postgres").exists(), "reading the settings starts nothing"
    # the generated key is kept, so links in emails survive a restart
    assert Settings.from_env({"SOPDESK_DATA_DIR": str(tmp_path)}).secret_key == settings.secret_key
    # a service given its own database; the others stay on the embedded one
    mixed = Settings.from_env({"SOPDESK_DATA_DIR": str(tmp_path), "SOPDESK_NOTIFY_DATABASE_URL": "postgres://u@h/n"})
    assert mixed.database_url("notify") == "postgresql+psycopg://u@h/n" and mixed.embedded_postgres
    assert not Settings.from_env({"SOPDESK_DATA_DIR": str(tmp_path), "DATABASE_URL": "postgres://u@h/d"}).embedded_postgres


def test_the_embedded_postgres_socket_moves_to_tmp_when_the_data_folder_path_is_too_long(tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    socket_dir = embedded_postgres_socket_dir(deep)
    assert socket_dir.parent == Path("/tmp") and len(str(socket_dir / ".s.PGSQL.5432")) < 100
    assert socket_dir == embedded_postgres_socket_dir(deep), "the same folder every time, for every process"
    assert socket_dir != embedded_postgres_socket_dir(tmp_path / ("d" * 60) / ("f" * 60))
    assert f"host={socket_dir}" in embedded_postgres_url(deep)
    # a path with a space stays one URL
    assert embedded_postgres_url(tmp_path / "my data").endswith(f"host={tmp_path}/my%20data/postgres")


def test_only_postgresql_urls_are_accepted(tmp_path):
    with pytest.raises(ConfigError, match="DATABASE_URL must be a PostgreSQL URL"):
        Settings.from_env({"SOPDESK_DATA_DIR": str(tmp_path), "DATABASE_URL": "sqlite:///x.db"})
    with pytest.raises(ConfigError, match="SOPDESK_INTAKE_DATABASE_URL must be a PostgreSQL URL"):
        Settings.from_env({"SOPDESK_DATA_DIR": str(tmp_path), "SOPDESK_INTAKE_DATABASE_URL": "mysql://h/x"})


def test_settings_reject_bad_values(tmp_path):
    with pytest.raises(ConfigError, match="SMTP_SECURITY"):
        Settings.from_env({"SOPDESK_DATA_DIR": str(tmp_path), "SMTP_SECURITY": "tls13"})
    with pytest.raises(ConfigError, match="SOPDESK_PORT"):
        Settings.from_env({"SOPDESK_DATA_DIR": str(tmp_path), "SOPDESK_PORT": "eighty"})


def test_postgres_urls_use_psycopg3():
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"


def test_tracking_token_opens_only_its_own_code():
    code, other = new_tracking_code(), new_tracking_code()
    assert code != other
    assert check_tracking_token(code, tracking_token(code))
    assert not check_tracking_token(other, tracking_token(code))
    assert not check_tracking_token(code, None)
    assert not check_tracking_token(code, tracking_token(code)[:-1] + "A" if not tracking_token(code).endswith("A")
                                    else tracking_token(code)[:-1] + "B")


def test_passwords_are_hashed_and_checked():
    hashed = hash_password("s3cret-พาส")
    assert "s3cret" not in hashed
    assert verify_password(hashed, "s3cret-พาส")
    assert not verify_password(hashed, "s3cret")
    assert not verify_password(None, "anything")


def test_staff_tokens_verify_and_reject_tampering():
    staff = Staff(user_id="u1", username="somchai", roles=("officer", "head"))
    token = issue_token(staff)
    assert verify_token(token) == staff
    assert verify_token(token + "x") is None
    assert verify_token("not-a-token") is None


def test_thai_dates_show_the_buddhist_era_in_bangkok_time():
    moment = datetime(2026, 11, 21, 18, 30, tzinfo=timezone.utc)  # 01:30 on the 22nd in Bangkok
    assert i18n.format_datetime(moment, "th") == "22 พฤศจิกายน 2569 01:30 น."
    assert i18n.format_datetime(moment, "en") == "22 November 2026 01:30"
    assert i18n.format_datetime(moment - timedelta(days=330), "th", with_time=False) == "27 ธันวาคม 2568"


def test_language_negotiation_prefers_explicit_choice_then_browser_then_thai():
    from werkzeug.datastructures import LanguageAccept

    browser_en = LanguageAccept([("en-US", 1), ("en", 0.9)])
    assert i18n.negotiate("th", None, browser_en) == "th"
    assert i18n.negotiate(None, "th", browser_en) == "th"
    assert i18n.negotiate(None, None, browser_en) == "en"
    assert i18n.negotiate("fr", None, LanguageAccept([("fr", 1)])) == "th"
