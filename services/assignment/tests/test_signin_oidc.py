"""Signing in through an OpenID provider, against a real one: the npm package oidc-provider on
this machine's Node.js (tests/peers/oidc), started by the test on a free port with sopdesk as its
client. The whole authorization-code flow runs for real: sopdesk sends the browser to the
provider with PKCE, state and nonce; the person signs in on the provider's own page (driven here
with plain HTTP, cookies kept as a browser would); the provider sends them back with a code,
which sopdesk exchanges and whose ID token it verifies against the provider's keys. The first
sign-in makes the account from the map's groups; a person whose groups map to no role is refused;
a person the provider has disabled never gets back a code."""
from __future__ import annotations

import http.cookiejar
import re
import shutil
import textwrap
import urllib.error
import urllib.parse
import urllib.request

import pytest
from markupsafe import escape
from sqlalchemy import select

from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import User
from services.assignment.handlers.directory import add_unit
from services.assignment.tests import peers
from shared import i18n
from shared.config import get_settings, set_settings

pytestmark = pytest.mark.skipif(not shutil.which("node") or not shutil.which("npm"),
                                reason="no Node.js and npm to run the OpenID provider (oidc-provider from npm)")

PUBLIC_URL = "http://127.0.0.1:8000"  # the run's SOPDESK_PUBLIC_URL: where the provider sends people back
CALLBACK = "/assignment/login/oidc/callback"
PASSWORD = "provider password"

ACCOUNTS = {
    "anna": {"password": PASSWORD, "claims": {"email": "anna@school.ac.th", "email_verified": True,
                                              "name": "แอนนา ใจงาม", "preferred_username": "anna",
                                              "groups": ["sopdesk-officers", "all-staff"]}},
    "dara": {"password": PASSWORD, "claims": {"email": "dara@school.ac.th", "email_verified": True,
                                              "name": "ดารา", "groups": ["sopdesk-heads"]}},
    "boon": {"password": PASSWORD, "claims": {"email": "boon@school.ac.th", "email_verified": True,
                                              "name": "บุญ", "groups": ["students"]}},
    "chai": {"password": PASSWORD, "disabled": True,
             "claims": {"email": "chai@school.ac.th", "name": "ชัย", "groups": ["sopdesk-officers"]}},
}

MAP = textwrap.dedent("""\
    groups_claim: groups
    rules:
      - group: sopdesk-officers
        roles: [officer]
        unit: ict-sc
      - group: sopdesk-heads
        roles: [head]
        unit: ict-sc
""")


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    with peers.OidcProvider(tmp_path_factory.mktemp("oidc"), PUBLIC_URL + CALLBACK, ACCOUNTS) as running:
        yield running


@pytest.fixture
def oidc_signin(provider, clean, tmp_path):
    directory_map = tmp_path / "directory-map.yaml"
    directory_map.write_text(MAP, encoding="utf-8")
    original = get_settings()
    assert original.public_url == PUBLIC_URL
    set_settings(original.with_changes(oidc_issuer=provider.issuer, oidc_client_id=provider.client_id,
                                       oidc_client_secret=provider.client_secret, oidc_name="School account",
                                       oidc_scopes="openid email profile groups", directory_map=directory_map))
    add_unit("ict-sc", "sesao-sc", "ศูนย์ ICT", "ICT centre")
    yield provider
    set_settings(original)


class _Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """The person's browser at the provider: its cookies kept, each redirect looked at."""

    def __init__(self) -> None:
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  _Stay)

    def open(self, url: str, form: dict | None = None) -> tuple[int, str, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(urllib.request.Request(url, data=data), timeout=15) as answer:
                return answer.status, "", answer.read().decode()
        except urllib.error.HTTPError as answer:
            return answer.code, answer.headers.get("Location", ""), answer.read().decode()


def through_provider(client, provider, login: str, password: str) -> str:
    """Start at sopdesk, sign in at the provider; the URL the provider sends the browser back to."""
    start = client.get("/assignment/login/oidc?next=/assignment/sops")
    assert start.status_code == 303, start.get_data(as_text=True)[:300]
    url = start.headers["Location"]
    assert url.startswith(provider.issuer + "/")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"] and query["state"] and query["nonce"]
    browser = Browser()
    for _ in range(12):
        status, location, body = browser.open(url)
        if status == 200:  # the provider's own login page
            action = re.search(r'action="([^"]+)"', body).group(1)
            status, location, body = browser.open(urllib.parse.urljoin(url, action),
                                                  {"login": login, "password": password})
            assert status in (302, 303), body[:300]
        assert status in (302, 303), (status, body[:300])
        url = urllib.parse.urljoin(url, location)
        if url.startswith(PUBLIC_URL + CALLBACK):
            return url
    raise AssertionError("the provider never sent the browser back")


def come_back(client, url: str):
    parts = urllib.parse.urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}")


def account(username: str) -> User | None:
    with bus.session() as session:
        return session.scalar(select(User).where(User.username == username))


def says(response, key: str, lang: str = "th") -> bool:
    return str(escape(i18n.translate(key, lang))) in response.get_data(as_text=True)


def test_the_login_page_offers_the_provider_by_its_name(oidc_signin, client):
    page = client.get("/assignment/login?lang=en").get_data(as_text=True)
    assert 'id="oidc-login"' in page and "Sign in with School account" in page
    assert "เข้าสู่ระบบด้วย School account" in client.get("/assignment/login?lang=th").get_data(as_text=True)


def test_the_first_sign_in_makes_the_account_from_the_groups_claim(oidc_signin, client):
    back = through_provider(client, oidc_signin, "anna", PASSWORD)
    assert "code=" in back
    response = come_back(client, back)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert response.headers["Location"] == "/assignment/sops"  # where the person was going
    assert client.get("/assignment/desk").status_code == 200
    user = account("anna")
    assert (user.source, user.external_id, user.role_names, user.unit) == ("oidc", "anna", ("officer",), "ict-sc")
    assert (user.display_name, user.email) == ("แอนนา ใจงาม", "anna@school.ac.th")
    assert user.password_hash.startswith("!directory:")


def test_without_preferred_username_the_account_is_named_by_the_email_and_found_again_by_its_subject(oidc_signin,
                                                                                                   client):
    assert come_back(client, through_provider(client, oidc_signin, "dara", PASSWORD)).status_code == 302
    first = account("dara@school.ac.th")
    assert first.role_names == ("head",)
    assert come_back(client, through_provider(client, oidc_signin, "dara", PASSWORD)).status_code == 302
    with bus.session() as session:
        assert session.scalar(select(User).where(User.source == "oidc", User.external_id == "dara")).id == first.id


def test_a_person_whose_groups_map_to_no_role_is_refused(oidc_signin, client):
    response = come_back(client, through_provider(client, oidc_signin, "boon", PASSWORD))
    assert response.status_code == 403
    assert says(response, "signin.no_role")
    assert account("boon@school.ac.th") is None
    assert client.get("/assignment/desk").status_code == 302  # not signed in


def test_a_person_the_provider_has_disabled_is_sent_back_without_a_code_and_refused(oidc_signin, client):
    back = through_provider(client, oidc_signin, "chai", PASSWORD)
    assert "error=access_denied" in back and "code=" not in back
    response = come_back(client, back)
    assert response.status_code == 401
    assert says(response, "signin.provider")
    assert account("chai@school.ac.th") is None


def test_an_answer_this_browser_did_not_start_or_a_second_use_of_it_is_refused(oidc_signin, client):
    back = through_provider(client, oidc_signin, "anna", PASSWORD)
    from werkzeug.test import Client

    stranger = Client(client.application)  # another browser: no state in its session
    refused = come_back(stranger, back)
    assert refused.status_code == 400 and says(refused, "signin.expired")
    assert come_back(client, back).status_code == 302
    again = come_back(client, back)  # the state was used up with the first answer
    assert again.status_code == 400


def test_a_state_that_is_not_the_one_sent_is_refused(oidc_signin, client):
    back = through_provider(client, oidc_signin, "anna", PASSWORD)
    forged = re.sub(r"state=[^&]+", "state=forged", back)
    assert come_back(client, forged).status_code == 400
    assert account("anna") is None


def test_a_code_the_provider_does_not_know_is_refused(oidc_signin, client):
    back = through_provider(client, oidc_signin, "anna", PASSWORD)
    response = come_back(client, re.sub(r"code=[^&]+", "code=made-up", back))
    assert response.status_code == 401 and says(response, "signin.provider")
    assert account("anna") is None


def test_a_locally_switched_off_account_is_refused_though_the_provider_vouches_for_it(oidc_signin, client):
    assert come_back(client, through_provider(client, oidc_signin, "anna", PASSWORD)).status_code == 302
    with bus.session() as session:
        session.scalar(select(User).where(User.username == "anna")).active = False
        session.commit()
    response = come_back(client, through_provider(client, oidc_signin, "anna", PASSWORD))
    assert response.status_code == 403 and says(response, "signin.inactive")


def test_without_a_provider_configured_its_routes_are_not_there(clean, client):
    assert client.get("/assignment/login/oidc").status_code == 404
    assert client.get(CALLBACK + "?state=x&code=y").status_code == 404
    assert 'id="oidc-login"' not in client.get("/assignment/login").get_data(as_text=True)


@pytest.mark.browser
def test_in_a_browser_the_button_takes_a_person_to_the_provider_and_back_to_their_desk(clean, live_server, browser_page,
                                                                                      tmp_path):
    """The same round trip in Chromium, with the provider's redirect to the live server's own address."""
    base, page = live_server, browser_page
    directory_map = tmp_path / "directory-map.yaml"
    directory_map.write_text(MAP, encoding="utf-8")
    add_unit("ict-sc", "sesao-sc", "ศูนย์ ICT", "ICT centre")
    original = get_settings()
    with peers.OidcProvider(tmp_path / "oidc", base + CALLBACK, ACCOUNTS) as running:
        set_settings(original.with_changes(public_url=base, oidc_issuer=running.issuer, oidc_client_id=running.client_id,
                                           oidc_client_secret=running.client_secret, oidc_name="School account",
                                           oidc_scopes="openid email profile groups", directory_map=directory_map))
        try:
            page.goto(f"{base}/assignment/login?lang=th")
            page.click("#oidc-login")
            page.wait_for_url(f"{running.issuer}/interaction/**")
            page.fill("#login", "anna")
            page.fill("#password", PASSWORD)
            page.click("#submit")
            page.wait_for_url(f"{base}/assignment/desk")
            assert page.locator("#logout").count() == 1  # signed in: the desk, not the login page
        finally:
            set_settings(original)
    assert account("anna").role_names == ("officer",)
