"""Who a person signing in through the organisation's directory is in sopdesk.

The directory map (the YAML file ``SOPDESK_DIRECTORY_MAP`` names) says which directory groups
(LDAP / Active Directory) or claims (OpenID Connect) give which roles and which unit; the unit
gives the organisation. ``decide`` applies it to one person the directory has vouched for:

* a person marked disabled by the directory, or in one of the map's ``disabled_groups``, is refused;
* every rule that matches adds its roles; the first matching rule that names a unit gives the unit;
* no role from any rule: refused (a directory account is not a sopdesk account by itself);
* roles but no unit: refused, for every account belongs to a unit (but a system administrator's,
  which belongs to none and holds that role alone).

Pure: the directory is asked by the adapters, the account kept by ``handlers/signin.py``."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

SOURCES = ("ldap", "oidc")
SYSADMIN = "sysadmin"
# roles a directory may not give: not staff accounts' (a case's requester, a vendor, a case's team)
NOT_STAFF_ROLES = ("requester", "vendor", "team")
UNIT_KEY = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class MapError(ValueError):
    """The map is not usable; the message says where (``rules[2].roles: ...``)."""


class Refused(Exception):
    """A person the directory vouched for may not sign in. ``reason``: ``disabled`` or
    ``no-role`` (what the map gives them is nothing) or ``no-unit`` (roles but no unit)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Person:
    """What the directory says of someone who has just proved who they are."""

    source: str  # ldap or oidc
    subject: str  # the directory's lasting id of them (entryUUID, objectGUID, the ID token's sub)
    username: str
    display_name: str = ""
    email: str | None = None
    groups: tuple[str, ...] = ()  # LDAP: group DNs; OpenID: the values of the map's groups claim
    claims: Mapping[str, Any] = field(default_factory=dict)  # OpenID: the ID token's and userinfo's claims
    disabled: bool = False  # the directory marks the account disabled or locked


@dataclass(frozen=True)
class Grant:
    roles: tuple[str, ...]
    unit: str | None


def normalise_dn(dn: str) -> str:
    """A DN compared as directories do for the usual ASCII names: case and the spaces around
    ``,`` and ``=`` do not count."""
    return ",".join("=".join(part.strip() for part in rdn.split("=", 1)) for rdn in dn.split(",")).lower()


def group_matches(wanted: str, group: str, source: str) -> bool:
    """``wanted`` (from the map) names ``group`` (from the directory). LDAP: the group's full DN,
    or its cn alone (``ict-officers`` names ``cn=ict-officers,ou=groups,...``). OpenID: the value
    itself (a group's name or, in Entra ID, its object id), case aside."""
    if source == "ldap":
        if "=" in wanted:
            return normalise_dn(wanted) == normalise_dn(group)
        first = group.split(",", 1)[0]
        name, _, value = first.partition("=")
        return name.strip().lower() == "cn" and value.strip().lower() == wanted.strip().lower()
    return wanted.strip().lower() == str(group).strip().lower()


def _claim_holds(value: Any, wanted: str) -> bool:
    if isinstance(value, (list, tuple)):
        return any(_claim_holds(v, wanted) for v in value)
    if isinstance(value, bool):
        return ("true" if value else "false") == wanted.lower()
    return value is not None and str(value).lower() == wanted.lower()


@dataclass(frozen=True)
class Rule:
    roles: tuple[str, ...] = ()
    unit: str | None = None
    source: str | None = None  # None: either way of signing in
    group: str | None = None
    claim: str | None = None
    value: str | None = None

    def matches(self, person: Person) -> bool:
        if self.source and self.source != person.source:
            return False
        if self.group is not None:
            return any(group_matches(self.group, g, person.source) for g in person.groups)
        return person.source == "oidc" and _claim_holds(person.claims.get(self.claim), self.value or "")


@dataclass(frozen=True)
class DirectoryMap:
    rules: tuple[Rule, ...] = ()
    disabled_groups: tuple[str, ...] = ()
    groups_claim: str = "groups"  # OpenID: the claim that lists a person's groups

    def groups_from_claims(self, claims: Mapping[str, Any]) -> tuple[str, ...]:
        value = claims.get(self.groups_claim)
        if isinstance(value, str):
            return (value,)
        if isinstance(value, (list, tuple)):
            return tuple(str(v) for v in value if isinstance(v, (str, int)))
        return ()


def decide(directory_map: DirectoryMap, person: Person) -> Grant:
    """What ``person`` is in sopdesk, or ``Refused``."""
    if person.disabled:
        raise Refused("disabled", "the directory marks the account disabled or locked")
    for wanted in directory_map.disabled_groups:
        if any(group_matches(wanted, g, person.source) for g in person.groups):
            raise Refused("disabled", f"in the disabled group {wanted}")
    roles: set[str] = set()
    unit = None
    for rule in directory_map.rules:
        if rule.matches(person):
            roles.update(rule.roles)
            unit = unit or rule.unit
    if not roles:
        raise Refused("no-role", "no rule of the map gives the person a role")
    if SYSADMIN in roles:  # held alone and in no unit: it sees every organisation anyway
        return Grant((SYSADMIN,), None)
    if unit is None:
        raise Refused("no-unit", "the rules that match give roles but no unit")
    return Grant(tuple(sorted(roles)), unit)


# ---------------------------------------------------------------------------------------------
# reading the map (its YAML already parsed into plain data)

RULE_KEYS = {"source", "group", "claim", "value", "roles", "unit"}
TOP_KEYS = {"rules", "disabled_groups", "groups_claim"}


def _text(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise MapError(f"{where}: a text, got {value!r}")
    return str(value).strip()


def parse_rule(data: Any, where: str, known_roles: tuple[str, ...]) -> Rule:
    if not isinstance(data, dict):
        raise MapError(f"{where}: a mapping with group or claim, roles and unit, got {data!r}")
    unknown = sorted(set(data) - RULE_KEYS)
    if unknown:
        raise MapError(f"{where}: unknown key {', '.join(map(str, unknown))} (keys: {', '.join(sorted(RULE_KEYS))})")
    source = data.get("source")
    if source not in (None, "any", *SOURCES):
        raise MapError(f"{where}.source: ldap, oidc or any, got {source!r}")
    source = None if source in (None, "any") else source
    if ("group" in data) == ("claim" in data):
        raise MapError(f"{where}: give either group (a directory group) or claim with value (an OpenID claim)")
    group = claim = value = None
    if "group" in data:
        group = _text(data["group"], f"{where}.group")
    else:
        if source == "ldap":
            raise MapError(f"{where}: a claim is OpenID Connect's; an LDAP rule names a group")
        claim = _text(data["claim"], f"{where}.claim")
        if "value" not in data:
            raise MapError(f"{where}.value: the value the claim must have (or hold, for a list)")
        value = "true" if data["value"] is True else "false" if data["value"] is False else \
            _text(data["value"], f"{where}.value")
    raw_roles = data.get("roles", [])
    if isinstance(raw_roles, str):
        raw_roles = [raw_roles]
    if not isinstance(raw_roles, list):
        raise MapError(f"{where}.roles: a list of roles, got {raw_roles!r}")
    roles = tuple(_text(r, f"{where}.roles") for r in raw_roles)
    allowed = [r for r in known_roles if r not in NOT_STAFF_ROLES]
    for role in roles:
        if role not in allowed:
            raise MapError(f"{where}.roles: unknown role {role!r}; choose from {', '.join(allowed)}")
    unit = None
    if data.get("unit") is not None:
        unit = _text(data["unit"], f"{where}.unit")
        if not UNIT_KEY.match(unit):
            raise MapError(f"{where}.unit: a unit's key (lower-case letters, digits and -), got {unit!r}")
    if not roles and unit is None:
        raise MapError(f"{where}: gives nothing: name roles, a unit or both")
    if SYSADMIN in roles and (len(roles) > 1 or unit):
        raise MapError(f"{where}: sysadmin is given alone, without a unit (it sees every organisation)")
    return Rule(roles=roles, unit=unit, source=source, group=group, claim=claim, value=value)


def parse_map(data: Any, known_roles: tuple[str, ...]) -> DirectoryMap:
    """The map from its parsed YAML; ``MapError`` names what is wrong and where."""
    if not isinstance(data, dict):
        raise MapError(f"the file must be a mapping with rules (and disabled_groups, groups_claim), got {type(data).__name__}")
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise MapError(f"unknown key {', '.join(map(str, unknown))} (keys: {', '.join(sorted(TOP_KEYS))})")
    rules = data.get("rules")
    if not isinstance(rules, list) or not rules:
        raise MapError("rules: a list of at least one rule (group or claim, roles, unit)")
    parsed = tuple(parse_rule(rule, f"rules[{i}]", known_roles) for i, rule in enumerate(rules))
    if not any(rule.roles for rule in parsed):
        raise MapError("rules: no rule gives a role, so nobody could sign in")
    disabled = data.get("disabled_groups") or []
    if not isinstance(disabled, list):
        raise MapError(f"disabled_groups: a list of groups, got {disabled!r}")
    groups_claim = _text(data.get("groups_claim", "groups"), "groups_claim")
    return DirectoryMap(rules=parsed, disabled_groups=tuple(_text(g, f"disabled_groups[{i}]")
                                                            for i, g in enumerate(disabled)),
                        groups_claim=groups_claim)


USERNAME = re.compile(r"^[A-Za-z0-9._@-]{2,100}$")


def username_from_claims(claims: Mapping[str, Any]) -> str | None:
    """The sopdesk username of an OpenID person: preferred_username (Entra ID: the UPN), else
    the email (Google), else None (then the account cannot be made)."""
    for name in ("preferred_username", "email"):
        value = claims.get(name)
        if isinstance(value, str) and USERNAME.match(value):
            return value
    return None
