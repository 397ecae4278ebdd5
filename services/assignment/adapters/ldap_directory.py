"""The organisation's LDAP directory or Active Directory, asked with ldap3 (pure Python): is this
the person's password, and what does the directory say of them (name, email, groups, disabled)?

One sign-in is three steps, each on its own connection: the service account (``SOPDESK_LDAP_BIND_DN``,
or anonymous) finds the person by ``SOPDESK_LDAP_USER_FILTER`` under ``SOPDESK_LDAP_USER_BASE``;
a bind as that person with the password typed proves it (the directory's own rules apply: a
disabled AD account or an entry the password policy has locked cannot bind); the service account
then reads the person's groups (their ``memberOf``, and under ``SOPDESK_LDAP_GROUP_BASE`` the
groups naming them as ``member``, ``uniqueMember`` or ``memberUid``)."""
from __future__ import annotations

import logging
import re
import ssl
import uuid

from ldap3 import NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from services.assignment.domain.signin import Person
from shared.config import Settings

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5  # seconds to open the connection
RECEIVE_TIMEOUT = 10  # seconds to wait for an answer
# Active Directory's userAccountControl: ACCOUNTDISABLE
AD_ACCOUNT_DISABLED = 0x2
PERSON_ATTRIBUTES = ["uid", "sAMAccountName", "cn", "displayName", "mail", "memberOf", "entryUUID", "objectGUID",
                     "userAccountControl", "pwdAccountLockedTime", "nsAccountLock"]


class DirectoryUnavailable(RuntimeError):
    """The directory did not answer, or refused sopdesk's own account: nobody's fault who signs in."""


class PasswordRefused(Exception):
    """The directory refused the password. ``disabled``: the entry is marked disabled or locked
    (so the password may well have been right)."""

    def __init__(self, disabled: bool = False) -> None:
        super().__init__("disabled or locked" if disabled else "wrong username or password")
        self.disabled = disabled


def _server(settings: Settings) -> Server:
    tls = None
    if settings.ldap_url.startswith("ldaps://"):
        tls = Tls(validate=ssl.CERT_REQUIRED, version=ssl.PROTOCOL_TLS_CLIENT,
                  ca_certs_file=str(settings.ldap_ca_file) if settings.ldap_ca_file else None)
    # get_info=NONE: no schema read, so Active Directory's and OpenLDAP's attributes alike may be asked
    return Server(settings.ldap_url, get_info=NONE, connect_timeout=CONNECT_TIMEOUT, tls=tls)


def _connect(server: Server, user: str | None, password: str | None) -> Connection:
    connection = Connection(server, user=user or None, password=password or None, read_only=True,
                            receive_timeout=RECEIVE_TIMEOUT, raise_exceptions=False, auto_referrals=False)
    try:
        connection.open()
    except LDAPException as exc:
        raise DirectoryUnavailable(f"{server.host}:{server.port}: {exc}") from exc
    return connection


def _values(attributes: dict, name: str) -> list:
    for key, value in attributes.items():
        if key.lower() == name.lower():
            if value is None:
                return []
            return list(value) if isinstance(value, (list, tuple)) else [value]
    return []


def _first(attributes: dict, name: str) -> str:
    values = _values(attributes, name)
    return str(values[0]).strip() if values else ""


def _subject(entry: dict) -> str:
    """The directory's lasting id of the entry: OpenLDAP's entryUUID, AD's objectGUID, else its DN."""
    found = _first(entry["attributes"], "entryUUID")
    if found:
        return found.lower()
    raw = _values(entry.get("raw_attributes", {}), "objectGUID")
    if raw and isinstance(raw[0], bytes) and len(raw[0]) == 16:
        return str(uuid.UUID(bytes_le=raw[0]))
    return entry["dn"].lower()


def _disabled(attributes: dict) -> bool:
    if _values(attributes, "pwdAccountLockedTime"):
        return True
    if _first(attributes, "nsAccountLock").lower() == "true":
        return True
    control = _first(attributes, "userAccountControl")
    return control.isdigit() and bool(int(control) & AD_ACCOUNT_DISABLED)


def _username_attribute(user_filter: str) -> str | None:
    match = re.search(r"\(\s*([A-Za-z][A-Za-z0-9-]*)\s*=\s*\{username\}\s*\)", user_filter)
    return match.group(1) if match else None


def check_password(settings: Settings, username: str, password: str) -> Person | None:
    """The person ``username`` names when ``password`` is theirs; None when nobody is found;
    ``PasswordRefused`` when the directory refuses the password; ``DirectoryUnavailable`` when it
    cannot be asked."""
    if not username or not password:  # an empty password would be an anonymous bind, which succeeds
        return None
    server = _server(settings)
    service = _connect(server, settings.ldap_bind_dn, settings.ldap_bind_password)
    try:
        if not service.bind():
            raise DirectoryUnavailable(f"sopdesk's own account ({settings.ldap_bind_dn or 'anonymous'}) "
                                       f"was refused: {service.result.get('description')}")
        query = settings.ldap_user_filter.replace("{username}", escape_filter_chars(username))
        service.search(settings.ldap_user_base, query, search_scope=SUBTREE, attributes=PERSON_ATTRIBUTES,
                       size_limit=2)
        if service.result.get("result") not in (0, 4):  # success, or sizeLimitExceeded: more than one
            raise DirectoryUnavailable(f"searching {settings.ldap_user_base}: {service.result.get('description')}")
        entries = [e for e in service.response or [] if e.get("type") == "searchResEntry"]
        if len(entries) != 1:
            if len(entries) > 1:
                log.warning("LDAP: %s names more than one entry under %s; refused", query, settings.ldap_user_base)
            return None
        entry = entries[0]
        attributes = entry["attributes"]
        disabled = _disabled(attributes)

        person_connection = _connect(server, entry["dn"], password)
        try:
            if not person_connection.bind():
                code = person_connection.result.get("result")
                if code not in (49, 53):  # invalidCredentials, unwillingToPerform (AD's disabled, locked)
                    raise DirectoryUnavailable(f"binding as {entry['dn']}: {person_connection.result.get('description')}")
                raise PasswordRefused(disabled=disabled)
        finally:
            person_connection.unbind()

        groups = [str(g) for g in _values(attributes, "memberOf")]
        if settings.ldap_group_base:
            named = _first(attributes, _username_attribute(settings.ldap_user_filter) or "uid") or username
            member_filter = (f"(|(member={escape_filter_chars(entry['dn'])})"
                             f"(uniqueMember={escape_filter_chars(entry['dn'])})"
                             f"(memberUid={escape_filter_chars(named)}))")
            service.search(settings.ldap_group_base, member_filter, search_scope=SUBTREE, attributes=["cn"])
            if service.result.get("result") not in (0, 4):
                raise DirectoryUnavailable(f"searching {settings.ldap_group_base}: {service.result.get('description')}")
            groups += [e["dn"] for e in service.response or [] if e.get("type") == "searchResEntry"]
        attribute = _username_attribute(settings.ldap_user_filter)
        return Person(source="ldap", subject=_subject(entry),
                      username=(_first(attributes, attribute) if attribute else "") or username,
                      display_name=_first(attributes, "displayName") or _first(attributes, "cn") or username,
                      email=_first(attributes, "mail") or None, groups=tuple(dict.fromkeys(groups)),
                      disabled=disabled)
    except LDAPException as exc:
        raise DirectoryUnavailable(str(exc)) from exc
    finally:
        service.unbind()
