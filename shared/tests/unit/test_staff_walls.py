"""Who a signed-in person is to the walls (shared.auth.Staff): their organisation, and whether
they see all of it or every organisation. Pure: no database."""
from shared.auth import ORG_WIDE_ROLES, Staff


def person(*roles, org="up"):
    return Staff(user_id="1", username="somchai", roles=tuple(roles), org=None if "sysadmin" in roles else org,
                 unit=None if "sysadmin" in roles else "ict")


def test_a_system_administrator_sees_every_organisation_and_belongs_to_none():
    root = person("sysadmin")
    assert root.sees_all and root.org is None
    assert all(root.in_org(org) and root.sees_org(org) for org in ("up", "onesqa", "anything"))


def test_roles_hold_within_the_organisation():
    for role in ORG_WIDE_ROLES:
        staff = person(role)
        assert staff.in_org("up") and staff.sees_org("up"), role
        assert not staff.in_org("onesqa") and not staff.sees_org("onesqa"), role
        assert not staff.sees_all
    officer = person("officer", "head")
    assert officer.in_org("up") and not officer.sees_org("up")  # sees the cases that are theirs, not all
    assert not officer.in_org("onesqa")


def test_someone_of_no_organisation_is_of_none():
    nobody = Staff(user_id="2", username="x", roles=("admin",))
    assert not nobody.in_org(None) and not nobody.in_org("up") and not nobody.sees_org(None)
