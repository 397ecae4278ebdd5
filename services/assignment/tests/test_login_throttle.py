"""Repeated failed logins are throttled per account and per address (counted in the real Redis),
on the desk's login page and on POST /assignment/auth/token alike: past the limit the answer is a
429 with Retry-After and words that say when to try again, and the password is not even checked;
a success forgets the account's failures but not the address's. (Against the LDAP directory, the
same counts apply: test_signin_ldap.py's directory refusals go through the same use case.)"""
from __future__ import annotations

import re

import pytest
from markupsafe import escape

from services.assignment.handlers.directory import add_unit, add_user
from shared import i18n
from shared.config import get_settings, set_settings

PASSWORD = "correct horse battery"



@pytest.fixture
def throttled(clean):
    """At most 3 failures per account and 6 per address in 15 minutes; two people of one unit. (The
    counts start from none: ``clean`` empties the run's Redis database.)"""
    original = get_settings()
    set_settings(original.with_changes(login_failures=3, login_address_failures=6, login_failure_minutes=15))
    add_unit("ict-sc", "sesao-sc", "ศูนย์ ICT", "ICT centre")
    add_user("somsak", PASSWORD, ["officer"], unit="ict-sc")
    add_user("wipa", PASSWORD, ["officer"], unit="ict-sc")
    yield
    set_settings(original)


def token(client, username: str, password: str, address: str = "203.0.113.7"):
    return client.post("/assignment/auth/token", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def desk_login(client, username: str, password: str, address: str = "203.0.113.7", lang: str = "th"):
    form = client.get(f"/assignment/login?lang={lang}", environ_base={"REMOTE_ADDR": address}).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    return client.post(f"/assignment/login?lang={lang}", data={"username": username, "password": password,
                                                                "csrf_token": csrf},
                       environ_base={"REMOTE_ADDR": address})


def test_an_account_is_refused_after_its_failures_even_with_the_right_password(throttled, client):
    for _ in range(3):
        assert token(client, "somsak", "guess").status_code == 401
    refused = token(client, "somsak", PASSWORD)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    assert refused.get_json()["errors"]["_schema"] == [i18n.translate("signin.throttled", "th", minutes=15)]
    # another account from the same address is not held back by somsak's failures (3 < 6)
    assert token(client, "wipa", PASSWORD).status_code == 200


def test_the_desk_login_page_says_when_to_try_again_in_either_language(throttled, client):
    for _ in range(3):
        assert desk_login(client, "somsak", "guess", lang="en").status_code == 401
    refused = desk_login(client, "somsak", PASSWORD, lang="en")
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert escape(i18n.translate("signin.throttled", "en", minutes=15)) in refused.get_data(as_text=True)
    thai = desk_login(client, "somsak", PASSWORD, lang="th")
    assert i18n.translate("signin.throttled", "th", minutes=15) in thai.get_data(as_text=True)


def test_the_desk_and_the_api_share_one_count(throttled, client):
    assert desk_login(client, "somsak", "guess").status_code == 401
    assert token(client, "somsak", "guess").status_code == 401
    assert desk_login(client, "somsak", "guess").status_code == 401
    assert token(client, "somsak", PASSWORD).status_code == 429


def test_an_address_guessing_many_accounts_is_refused_for_every_account(throttled, client):
    for n in range(6):
        assert token(client, f"someone-{n}", "guess", address="198.51.100.9").status_code == 401
    assert token(client, "wipa", PASSWORD, address="198.51.100.9").status_code == 429
    assert token(client, "wipa", PASSWORD, address="198.51.100.10").status_code == 200  # another address


def test_a_success_forgets_the_account_s_failures_but_not_the_address_s(throttled, client):
    address = "192.0.2.44"
    for _ in range(2):
        assert token(client, "somsak", "guess", address).status_code == 401
    assert token(client, "somsak", PASSWORD, address).status_code == 200
    for _ in range(2):  # the account starts again from none: two more failures are still below 3
        assert token(client, "somsak", "guess", address).status_code == 401
    assert token(client, "somsak", PASSWORD, address).status_code == 200
    # but the address has now failed 4 times: two more and it is held back, whoever signs in
    for _ in range(2):
        assert token(client, "wipa", "guess", address).status_code == 401
    assert token(client, "somsak", PASSWORD, address).status_code == 429


def test_a_refusal_that_is_nobody_s_guess_is_not_counted(throttled, client):
    # a wrong form (no password) is a 422 and counts nothing
    for _ in range(5):
        assert client.post("/assignment/auth/token", json={"username": "somsak"}).status_code == 422
    assert token(client, "somsak", PASSWORD).status_code == 200


def test_an_account_name_s_case_does_not_escape_its_count(throttled, client):
    for name in ("somsak", "SOMSAK", "Somsak"):
        assert token(client, name, "guess").status_code == 401
    assert token(client, "somsak", PASSWORD).status_code == 429
