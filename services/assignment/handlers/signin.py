"""Signing in: with a username and password (a local account, else the LDAP directory when one is
configured) or through the OpenID provider; the first directory sign-in makes the account from
the directory map, later ones refresh its roles and unit. Repeated failures are throttled per
account and per address. No Flask here: the desk and the API call these and answer.

* A local account (``source`` local) signs in with its password here, and only here: the
  directory is not asked for a name a local account holds. A directory account has no password
  here (an unusable hash), so a local login can never succeed for it.
* A person found in the directory is matched to their account by the directory's id of them
  (``source`` and ``external_id``), so a renamed or moved person keeps their account; a new one
  whose username a different account already holds is refused, never joined to it.
* Refused, with a reason the pages say in words (``REASONS``): ``wrong`` (username or password),
  ``throttled``, ``disabled`` (by the directory), ``no-role``, ``no-unit`` (the map gives them
  nothing, or a unit sopdesk does not have), ``inactive`` (switched off in sopdesk), ``account``
  (the username belongs to another account or is not one sopdesk can use), ``unavailable`` (the
  directory or provider did not answer), ``provider`` (the provider refused or its answer did not
  verify).
* Counted as failures: ``wrong`` and ``disabled`` (someone guessing); the account's count is
  forgotten at its next success, the address's never early (an attacker's address keeps its count)."""
from __future__ import annotations

import hashlib
import logging
import os
import secrets
from dataclasses import dataclass

import yaml
from sqlalchemy import select

from services.assignment.adapters import ldap_directory, oidc
from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import Unit, User, UserRole
from services.assignment.domain import signin as rules
from services.assignment.handlers import directory
from shared import ratelimit
from shared.auth import Staff, verify_password
from shared.config import ConfigError, Settings, get_settings
from shared.packs import ROLES

log = logging.getLogger(__name__)

REASONS = ("wrong", "throttled", "disabled", "no-role", "no-unit", "inactive", "account", "unavailable", "provider")
COUNTED = ("wrong", "disabled")
ACCOUNT_BUCKET, ADDRESS_BUCKET = "login-account", "login-address"


class SignInRefused(Exception):
    def __init__(self, reason: str, detail: str = "", retry_after: int = 0) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.retry_after = retry_after


def unusable_password() -> str:
    """A password hash no password matches (werkzeug reads no method in it): directory accounts'."""
    return "!directory:" + secrets.token_hex(16)


# ---------------------------------------------------------------------------------------------
# configuration

_maps: dict[tuple[str, float], rules.DirectoryMap] = {}


def directory_map(settings: Settings | None = None) -> rules.DirectoryMap:
    """The map ``SOPDESK_DIRECTORY_MAP`` names, read again when the file changes; ``ConfigError``
    naming the setting when it is not usable."""
    settings = settings or get_settings()
    path = settings.directory_map
    if path is None:
        raise ConfigError("SOPDESK_DIRECTORY_MAP is not set: no directory sign-in")
    try:
        key = (str(path), os.stat(path).st_mtime)
    except OSError as exc:
        raise ConfigError(f"SOPDESK_DIRECTORY_MAP: cannot read {path}: {exc.strerror}") from exc
    found = _maps.get(key)
    if found is None:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            found = rules.parse_map(data, ROLES)
        except yaml.YAMLError as exc:
            raise ConfigError(f"SOPDESK_DIRECTORY_MAP: {path} is not YAML: {exc}") from exc
        except rules.MapError as exc:
            raise ConfigError(f"SOPDESK_DIRECTORY_MAP: {path}: {exc}") from exc
        _maps.clear()
        _maps[key] = found
    return found


def check_configuration(settings: Settings | None = None) -> None:
    """At the service's start: the map is readable and right when a directory is configured."""
    settings = settings or get_settings()
    if settings.directory_map is not None or settings.ldap_url or settings.oidc_issuer:
        directory_map(settings)


def ldap_enabled(settings: Settings | None = None) -> bool:
    return bool((settings or get_settings()).ldap_url)


def oidc_enabled(settings: Settings | None = None) -> bool:
    return bool((settings or get_settings()).oidc_issuer)


# ---------------------------------------------------------------------------------------------
# the throttle


def _account_key(username: str) -> str:
    return hashlib.sha256(username.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass(frozen=True)
class Attempt:
    username: str
    address: str


def _check_throttle(attempt: Attempt, settings: Settings) -> None:
    limiter = ratelimit.limiter()
    account, account_left = limiter.failures(ACCOUNT_BUCKET, _account_key(attempt.username))
    address, address_left = limiter.failures(ADDRESS_BUCKET, attempt.address)
    waits = [left for count, limit, left in ((account, settings.login_failures, account_left),
                                              (address, settings.login_address_failures, address_left))
             if count >= limit]
    if waits:
        raise SignInRefused("throttled", f"{account} failures of the account, {address} of the address",
                            retry_after=max(1, max(waits)))


def _count_failure(attempt: Attempt, settings: Settings) -> None:
    limiter = ratelimit.limiter()
    window = settings.login_failure_minutes * 60
    limiter.fail(ACCOUNT_BUCKET, _account_key(attempt.username), window)
    limiter.fail(ADDRESS_BUCKET, attempt.address, window)


# ---------------------------------------------------------------------------------------------
# with a password


def with_password(username: str, password: str, address: str) -> Staff:
    """The staff member ``username`` is when ``password`` is theirs, or ``SignInRefused``."""
    settings = get_settings()
    attempt = Attempt(username, address or "unknown")
    _check_throttle(attempt, settings)
    try:
        staff = _with_password(username, password, settings)
    except SignInRefused as refusal:
        if refusal.reason in COUNTED:
            _count_failure(attempt, settings)
        log.info("sign-in refused: %s from %s: %s", username[:100], attempt.address, refusal)
        raise
    ratelimit.limiter().forget(ACCOUNT_BUCKET, _account_key(username))
    return staff


def _with_password(username: str, password: str, settings: Settings) -> Staff:
    with bus.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is not None and user.source == "local" or not ldap_enabled(settings):
            local = user is not None and user.source == "local"
            if not verify_password(user.password_hash if local else None, password):
                raise SignInRefused("wrong")
            if not user.active:
                raise SignInRefused("inactive", "the account is switched off in sopdesk")
            return directory.staff_of(user, session)
    try:
        person = ldap_directory.check_password(settings, username, password)
    except ldap_directory.PasswordRefused as exc:
        raise SignInRefused("disabled" if exc.disabled else "wrong") from None
    except ldap_directory.DirectoryUnavailable as exc:
        log.error("sign-in: the LDAP directory at %s cannot be asked: %s", settings.ldap_url, exc)
        raise SignInRefused("unavailable", str(exc)) from None
    if person is None:
        raise SignInRefused("wrong")
    return _from_directory(person, settings)


# ---------------------------------------------------------------------------------------------
# through the OpenID provider


def oidc_begin(redirect_uri: str) -> tuple[str, oidc.Pending]:
    settings = get_settings()
    try:
        return oidc.begin(settings, redirect_uri)
    except oidc.ProviderUnavailable as exc:
        log.error("sign-in: the OpenID provider %s cannot be asked: %s", settings.oidc_issuer, exc)
        raise SignInRefused("unavailable", str(exc)) from None


def oidc_finish(code: str, pending: oidc.Pending, redirect_uri: str) -> Staff:
    settings = get_settings()
    try:
        claims = oidc.finish(settings, code, pending, redirect_uri)
    except oidc.ProviderUnavailable as exc:
        log.error("sign-in: the OpenID provider %s cannot be asked: %s", settings.oidc_issuer, exc)
        raise SignInRefused("unavailable", str(exc)) from None
    except oidc.ProviderRefused as exc:
        log.warning("sign-in through %s refused: %s", settings.oidc_issuer, exc)
        raise SignInRefused("provider", str(exc)) from None
    dmap = directory_map(settings)
    username = rules.username_from_claims(claims)
    if username is None:
        raise SignInRefused("account", "the provider gives no preferred_username or email sopdesk can use")
    name = claims.get("name")
    email = claims.get("email") if claims.get("email_verified", True) is not False else None
    person = rules.Person(source="oidc", subject=str(claims["sub"]), username=username,
                          display_name=name if isinstance(name, str) else username,
                          email=email if isinstance(email, str) and directory.EMAIL.match(email) else None,
                          groups=dmap.groups_from_claims(claims), claims=claims)
    return _from_directory(person, settings)


# ---------------------------------------------------------------------------------------------
# the account of a person the directory vouched for


def _from_directory(person: rules.Person, settings: Settings) -> Staff:
    try:
        grant = rules.decide(directory_map(settings), person)
    except rules.Refused as exc:
        raise SignInRefused(exc.reason, exc.detail) from None
    with bus.unit_of_work() as uow:
        session = uow.session
        user = session.scalar(select(User).where(User.source == person.source, User.external_id == person.subject))
        if grant.unit is not None and session.get(Unit, grant.unit) is None:
            log.error("sign-in: SOPDESK_DIRECTORY_MAP gives %s the unit %s, which sopdesk does not have "
                      "(sopdesk units add)", person.username, grant.unit)
            raise SignInRefused("no-unit", f"no unit {grant.unit}")
        if user is None:
            if not directory.USERNAME.match(person.username):
                raise SignInRefused("account", f"{person.username!r} is not a username sopdesk can use")
            if session.scalar(select(User.id).where(User.username == person.username)) is not None:
                log.error("sign-in: %s from %s: the username belongs to another account; not joined to it",
                          person.username, person.source)
                raise SignInRefused("account", f"the username {person.username} belongs to another account")
            user = User(username=person.username, password_hash=unusable_password(), source=person.source,
                        external_id=person.subject, language="th")
            session.add(user)
            log.info("sign-in: made the account %s from %s (%s)", person.username, person.source,
                     ", ".join(grant.roles))
        elif not user.active:
            raise SignInRefused("inactive", "the account is switched off in sopdesk")
        user.display_name = (person.display_name or person.username)[:200]
        if person.email:
            user.email = person.email[:254]
        user.unit = grant.unit
        held = {r.role: r for r in user.roles}
        if set(held) != set(grant.roles):
            user.roles = [held.get(role) or UserRole(role=role) for role in grant.roles]
        session.flush()
        directory.announce(uow, user)  # made, or its unit refreshed from the directory
        uow.commit()
        return directory.staff_of(user, session)
