"""Fast tests of shared pieces that need no server."""
from datetime import datetime, timedelta, timezone

import pytest
from marshmallow import ValidationError

from shared import i18n
from shared.auth import Staff, hash_password, issue_token, verify_password, verify_token
from shared.config import ConfigError, Settings, normalise_database_url
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
])
def test_envelope_rejects_malformed(change):
    envelope = Event(type="case.opened", source="assignment", payload={}).to_envelope()
    envelope.update(change)
    with pytest.raises(ValidationError):
        Event.from_envelope(envelope)


PRODUCTION = {"SOPDESK_ENV": "production", "DATABASE_URL": "postgresql://x/y", "REDIS_URL": "redis://x",
              "SECRET_KEY": "k", "SOPDESK_PUBLIC_URL": "https://desk.example"}


@pytest.mark.parametrize("missing", ["DATABASE_URL", "REDIS_URL", "SECRET_KEY", "SOPDESK_PUBLIC_URL"])
def test_production_requires_database_broker_secret_and_public_url(missing):
    Settings.from_env(PRODUCTION)  # complete: starts
    incomplete = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        Settings.from_env(incomplete)


def test_embedded_defaults_use_sqlite_files_and_a_socket_broker(tmp_path):
    settings = Settings.from_env({"SOPDESK_DATA_DIR": str(tmp_path), "SOPDESK_PORT": "8123"})
    assert settings.embedded
    assert settings.database_url("notify") == f"sqlite:///{tmp_path / 'notify.db'}"
    assert settings.broker_url == f"redis+socket://{tmp_path / 'broker' / 'redis.sock'}"
    assert settings.public_url == "http://127.0.0.1:8123"
    # the generated key is kept, so links in emails survive a restart
    assert Settings.from_env({"SOPDESK_DATA_DIR": str(tmp_path)}).secret_key == settings.secret_key


def test_settings_reject_bad_values(tmp_path):
    with pytest.raises(ConfigError, match="SMTP_SECURITY"):
        Settings.from_env({"SOPDESK_DATA_DIR": str(tmp_path), "SMTP_SECURITY": "tls13"})
    with pytest.raises(ConfigError, match="SOPDESK_PORT"):
        Settings.from_env({"SOPDESK_DATA_DIR": str(tmp_path), "SOPDESK_PORT": "eighty"})


def test_postgres_urls_use_psycopg3():
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


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
