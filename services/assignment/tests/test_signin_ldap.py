"""Signing in with the organisation's LDAP directory, against a real OpenLDAP server (Debian's
slapd, started by the test on a free port with its own configuration, the password-policy
overlay, and the people and groups of peers.ldif()): the first sign-in makes the account from the
directory map, later ones refresh it from the directory; a person whose groups map to no role,
a person the directory has locked or put among the leavers, and an account switched off in
sopdesk are refused with words that say why; local accounts keep working beside the directory."""
from __future__ import annotations

import os
import re
import textwrap

import pytest
from markupsafe import escape
from sqlalchemy import select

from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import User
from services.assignment.handlers import signin
from services.assignment.handlers.directory import add_unit, add_user
from services.assignment.tests import peers
from shared import i18n
from shared.auth import verify_password
from shared.config import get_settings, set_settings
from shared.mailcatcher import free_port

pytestmark = pytest.mark.skipif(not os.path.exists(peers.SLAPD),
                                reason=f"no slapd at {peers.SLAPD}: install Debian's slapd and ldap-utils (.ci/run does)")

MAP = textwrap.dedent("""\
    disabled_groups: [leavers]
    rules:
      - group: ict-officers
        roles: [officer]
        unit: ict-sc
      - group: cn=ict-heads,ou=groups,dc=example,dc=ac,dc=th
        roles: [head]
        unit: ict-sc
""")


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    with peers.Slapd(tmp_path_factory.mktemp("slapd")) as server:
        yield server



@pytest.fixture
def ldap_signin(slapd, clean, tmp_path):
    """sopdesk's settings pointing at the test's slapd, with the map above; the ICT centre exists."""
    directory_map = tmp_path / "directory-map.yaml"
    directory_map.write_text(MAP, encoding="utf-8")
    original = get_settings()
    set_settings(original.with_changes(ldap_url=slapd.url, ldap_bind_dn=peers.SERVICE_DN,
                                       ldap_bind_password=peers.SERVICE_PASSWORD,
                                       ldap_user_base=f"ou=people,{peers.SUFFIX}",
                                       ldap_group_base=f"ou=groups,{peers.SUFFIX}", directory_map=directory_map))
    add_unit("ict-sc", "sesao-sc", "ศูนย์ ICT", "ICT centre")
    yield directory_map
    set_settings(original)


def desk_login(client, username: str, password: str, lang: str = "th"):
    form = client.get(f"/assignment/login?lang={lang}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    return client.post(f"/assignment/login?lang={lang}",
                       data={"username": username, "password": password, "csrf_token": token})


def says(response, key: str, lang: str) -> bool:
    """The page says the words of ``key`` (as the template writes them, HTML-escaped)."""
    return escape(i18n.translate(key, lang)) in response.get_data(as_text=True)


def account(username: str) -> User | None:
    with bus.session() as session:
        return session.scalar(select(User).where(User.username == username))


def test_the_first_sign_in_makes_the_account_from_the_map_and_the_desk_opens(ldap_signin, client):
    response = desk_login(client, "somchai", peers.PASSWORD)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert response.headers["Location"].endswith("/assignment/desk")
    assert client.get("/assignment/desk").status_code == 200

    user = account("somchai")
    assert (user.source, user.role_names, user.unit) == ("ldap", ("officer",), "ict-sc")
    assert re.fullmatch(r"[0-9a-f-]{36}", user.external_id)  # slapd's entryUUID, not the name
    assert (user.display_name, user.email) == ("สมชาย ใจดี", "somchai@example.ac.th")
    # no password is kept here: a local login can never succeed for a directory account
    assert user.password_hash.startswith("!directory:")
    assert not verify_password(user.password_hash, peers.PASSWORD)
    set_settings(get_settings().with_changes(ldap_url=""))  # without the directory, nothing lets him in
    assert desk_login(client, "somchai", peers.PASSWORD).status_code == 401


def test_the_api_gives_a_directory_person_a_token_with_the_map_s_roles(ldap_signin, client):
    response = client.post("/assignment/auth/token", json={"username": "malee", "password": peers.PASSWORD})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["roles"] == ["head"]
    token = response.get_json()["access_token"]
    assert client.get("/assignment/cases", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_later_sign_ins_refresh_roles_and_unit_from_the_directory(ldap_signin, slapd, client):
    from ldap3 import MODIFY_ADD, MODIFY_DELETE

    assert desk_login(client, "somchai", peers.PASSWORD).status_code == 302
    first = account("somchai")
    group, person = f"cn=ict-heads,ou=groups,{peers.SUFFIX}", f"uid=somchai,ou=people,{peers.SUFFIX}"
    slapd.change(group, {"member": [(MODIFY_ADD, [person])]})  # the directory makes him a head too
    try:
        assert desk_login(client, "somchai", peers.PASSWORD).status_code == 302
        again = account("somchai")
        assert again.id == first.id and again.role_names == ("head", "officer")
    finally:
        slapd.change(group, {"member": [(MODIFY_DELETE, [person])]})
    # and the map changes: the officers now belong to another unit
    add_unit("service-desk", "sesao-sc", "งานบริการ", "Service desk")
    ldap_signin.write_text(MAP.replace("unit: ict-sc", "unit: service-desk", 1), encoding="utf-8")
    assert desk_login(client, "somchai", peers.PASSWORD).status_code == 302
    assert (account("somchai").role_names, account("somchai").unit) == (("officer",), "service-desk")


@pytest.mark.parametrize("lang", ["th", "en"])
def test_a_person_whose_groups_map_to_no_role_is_refused_and_no_account_is_made(ldap_signin, client, lang):
    response = desk_login(client, "nida", peers.PASSWORD, lang)
    assert response.status_code == 403
    assert says(response, "signin.no_role", lang)
    assert account("nida") is None
    api = client.post("/assignment/auth/token", json={"username": "nida", "password": peers.PASSWORD},
                      headers={"Accept-Language": lang})
    assert api.status_code == 403 and api.get_json()["errors"]["_schema"] == [i18n.translate("signin.no_role", lang)]


def test_an_account_the_directory_has_locked_is_refused_by_the_directory_itself(ldap_signin, client):
    # prasert is an ICT officer whose entry the password policy has locked (pwdAccountLockedTime):
    # slapd refuses his bind with the right password, and sopdesk says the account is locked
    response = desk_login(client, "prasert", peers.PASSWORD)
    assert response.status_code == 403
    assert says(response, "signin.disabled", "th")
    assert account("prasert") is None


def test_a_person_in_the_disabled_group_is_refused_though_another_group_gives_a_role(ldap_signin, client):
    response = desk_login(client, "wichai", peers.PASSWORD, "en")
    assert response.status_code == 403
    assert says(response, "signin.disabled", "en")
    assert account("wichai") is None


def test_an_account_switched_off_in_sopdesk_is_refused_though_the_directory_accepts_the_password(ldap_signin, client):
    assert desk_login(client, "somchai", peers.PASSWORD).status_code == 302
    with bus.session() as session:
        session.scalar(select(User).where(User.username == "somchai")).active = False
        session.commit()
    response = desk_login(client, "somchai", peers.PASSWORD)
    assert response.status_code == 403
    assert says(response, "signin.inactive", "th")


def test_a_wrong_password_or_an_unknown_name_is_the_one_plain_refusal(ldap_signin, client):
    for username, password in (("somchai", "not the password"), ("nobody", peers.PASSWORD), ("*", peers.PASSWORD),
                               ("somchai)(uid=*", peers.PASSWORD)):
        response = desk_login(client, username, password)
        assert response.status_code == 401, username
        assert says(response, "errors.login", "th")
    assert account("somchai") is None


def test_local_accounts_keep_working_and_a_local_name_is_never_joined_to_a_directory_person(ldap_signin, client):
    add_user("clerk", "local password 1", ["intake-clerk"], unit="ict-sc")
    assert desk_login(client, "clerk", "local password 1").status_code == 302
    # a local account named like a directory person: the directory is not asked for that name
    add_user("malee", "her local password", ["officer"], unit="ict-sc")
    assert desk_login(client, "malee", peers.PASSWORD).status_code == 401
    assert account("malee").source == "local"
    assert desk_login(client, "malee", "her local password").status_code == 302


def test_a_directory_person_whose_username_a_local_account_holds_is_refused_not_joined_to_it(ldap_signin, client):
    # people may sign in with their email too; somchai's uid is already a local account's name
    set_settings(get_settings().with_changes(ldap_user_filter="(|(uid={username})(mail={username}))"))
    add_user("somchai", "local password 1", ["officer"], unit="ict-sc")
    response = desk_login(client, "somchai@example.ac.th", peers.PASSWORD, "en")
    assert response.status_code == 403
    assert says(response, "signin.account", "en")
    assert account("somchai").source == "local" and account("somchai@example.ac.th") is None


def test_a_directory_that_does_not_answer_is_a_503_that_says_so(ldap_signin, client):
    set_settings(get_settings().with_changes(ldap_url=f"ldap://127.0.0.1:{free_port()}"))
    response = desk_login(client, "somchai", peers.PASSWORD, "en")
    assert response.status_code == 503
    assert says(response, "signin.unavailable", "en")
    api = client.post("/assignment/auth/token", json={"username": "somchai", "password": peers.PASSWORD})
    assert api.status_code == 503


def test_a_wrong_map_stops_the_service_at_start_naming_the_setting(ldap_signin):
    from services.assignment.entrypoints.app import create_app
    from shared.config import ConfigError

    ldap_signin.write_text("rules:\n  - group: ict-officers\n    roles: [offcer]\n    unit: ict-sc\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"SOPDESK_DIRECTORY_MAP: .*rules\[0\]\.roles: unknown role 'offcer'"):
        create_app(get_settings())
    assert signin.ldap_enabled()
