"""The directory map and the decision for one directory sign-in (domain/signin.py): pure, no
directory, database or web."""
import pytest
import yaml

from services.assignment.domain.signin import (DirectoryMap, Grant, MapError, Person, Refused, decide, group_matches,
                                               normalise_dn, parse_map, username_from_claims)
from shared.packs import ROLES

MAP = yaml.safe_load("""
groups_claim: groups
disabled_groups: [leavers]
rules:
  - group: ict-officers
    roles: [officer]
    unit: ict-sc
  - group: cn=ICT-Heads, ou=groups, dc=example, dc=ac, dc=th
    roles: [head, officer]
    unit: ict-sc
  - group: directors
    roles: [director]
  - source: oidc
    claim: hd
    value: school.ac.th
    roles: [intake-clerk]
    unit: front-desk
  - source: ldap
    group: it-admins
    roles: [sysadmin]
""")


def ldap(*groups, disabled=False):
    return Person("ldap", "uuid-1", "somchai", groups=tuple(f"cn={g},ou=groups,dc=example,dc=ac,dc=th" for g in groups),
                  disabled=disabled)


def oidc(groups=(), **claims):
    return Person("oidc", "sub-1", "anna@school.ac.th", groups=tuple(groups), claims=claims)


@pytest.fixture
def rules():
    return parse_map(MAP, ROLES)


def test_a_group_gives_its_roles_and_unit(rules):
    assert decide(rules, ldap("ict-officers")) == Grant(("officer",), "ict-sc")


def test_a_group_is_named_by_its_cn_or_its_dn_whatever_the_case_and_spaces(rules):
    assert decide(rules, ldap("ict-heads")) == Grant(("head", "officer"), "ict-sc")
    assert normalise_dn("CN=A, OU=b ,DC=c") == "cn=a,ou=b,dc=c"
    assert group_matches("ict-officers", "CN=ICT-Officers,OU=Groups,DC=x", "ldap")
    assert not group_matches("ict", "cn=ict-officers,ou=groups", "ldap")
    assert not group_matches("groups", "cn=ict-officers,ou=groups", "ldap")  # only the group's own name


def test_every_matching_rule_adds_its_roles_and_the_first_that_names_a_unit_gives_it(rules):
    assert decide(rules, ldap("directors", "ict-officers")) == Grant(("director", "officer"), "ict-sc")


def test_a_person_whose_groups_map_to_no_role_is_refused(rules):
    with pytest.raises(Refused) as refused:
        decide(rules, ldap("library"))
    assert refused.value.reason == "no-role"


def test_roles_without_a_unit_are_refused(rules):
    with pytest.raises(Refused) as refused:
        decide(rules, ldap("directors"))
    assert refused.value.reason == "no-unit"


def test_the_directory_s_disabled_mark_or_a_disabled_group_refuses_whatever_else_they_hold(rules):
    for person in (ldap("ict-officers", disabled=True), ldap("ict-officers", "leavers")):
        with pytest.raises(Refused) as refused:
            decide(rules, person)
        assert refused.value.reason == "disabled"


def test_sysadmin_is_given_alone_and_in_no_unit(rules):
    assert decide(rules, ldap("it-admins", "ict-officers")) == Grant(("sysadmin",), None)


def test_a_rule_for_one_way_of_signing_in_does_not_match_the_other(rules):
    with pytest.raises(Refused):
        decide(rules, oidc(["it-admins"]))  # it-admins is an LDAP rule
    assert decide(rules, oidc(["ict-officers"])) == Grant(("officer",), "ict-sc")


def test_a_claim_rule_matches_a_claim_s_value_or_a_list_holding_it(rules):
    assert decide(rules, oidc(hd="School.ac.th")) == Grant(("intake-clerk",), "front-desk")
    assert DirectoryMap(rules=parse_map({"rules": [{"claim": "roles", "value": "Desk.Head", "roles": ["head"],
                                                     "unit": "u"}]}, ROLES).rules) \
        .rules[0].matches(oidc(roles=["Desk.Head", "Other"]))
    with pytest.raises(Refused):
        decide(rules, oidc(hd="other.ac.th"))


def test_the_groups_claim_is_read_from_the_claim_the_map_names():
    dmap = parse_map({"groups_claim": "roles", "rules": [{"group": "x", "roles": ["officer"], "unit": "u"}]}, ROLES)
    assert dmap.groups_from_claims({"roles": ["x", "y"], "groups": ["z"]}) == ("x", "y")
    assert dmap.groups_from_claims({"roles": "x"}) == ("x",)
    assert dmap.groups_from_claims({}) == ()


@pytest.mark.parametrize("data, where", [
    ([], "a mapping"),
    ({"rules": []}, "rules: a list of at least one"),
    ({"rules": [{"group": "g", "roles": ["offcer"], "unit": "u"}]}, "rules[0].roles: unknown role 'offcer'"),
    ({"rules": [{"group": "g", "roles": ["vendor"], "unit": "u"}]}, "unknown role 'vendor'"),
    ({"rules": [{"group": "g", "claim": "hd", "value": "x", "roles": ["officer"]}]}, "either group"),
    ({"rules": [{"roles": ["officer"]}]}, "either group"),
    ({"rules": [{"claim": "hd", "roles": ["officer"], "unit": "u"}]}, "rules[0].value"),
    ({"rules": [{"source": "ldap", "claim": "hd", "value": "x", "roles": ["officer"]}]}, "an LDAP rule names a group"),
    ({"rules": [{"group": "g", "roles": ["officer"], "unit": "ICT Centre"}]}, "rules[0].unit"),
    ({"rules": [{"group": "g", "roles": ["sysadmin"], "unit": "u"}]}, "sysadmin is given alone"),
    ({"rules": [{"group": "g", "roles": ["sysadmin", "officer"]}]}, "sysadmin is given alone"),
    ({"rules": [{"group": "g", "unit": "u"}]}, "no rule gives a role"),
    ({"rules": [{"group": "g"}]}, "rules[0]: gives nothing"),
    ({"rules": [{"group": "g", "roles": ["officer"], "unit": "u", "role": "x"}]}, "unknown key role"),
    ({"rules": [{"source": "saml", "group": "g", "roles": ["officer"]}]}, "rules[0].source"),
    ({"rule": []}, "unknown key rule"),
    ({"rules": [{"group": "g", "roles": ["officer"], "unit": "u"}], "disabled_groups": "leavers"}, "disabled_groups"),
])
def test_a_map_that_is_not_right_is_refused_saying_where(data, where):
    with pytest.raises(MapError) as error:
        parse_map(data, ROLES)
    assert where in str(error.value)


def test_an_openid_person_s_username_is_the_preferred_username_else_the_email():
    assert username_from_claims({"preferred_username": "anna@contoso.onmicrosoft.com", "email": "a@b.th"}) == \
        "anna@contoso.onmicrosoft.com"
    assert username_from_claims({"email": "anna@school.ac.th"}) == "anna@school.ac.th"
    assert username_from_claims({"preferred_username": "แอนนา", "email": "anna@school.ac.th"}) == "anna@school.ac.th"
    assert username_from_claims({"sub": "123"}) is None
