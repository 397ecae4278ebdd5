"""Issue 14: "navigation the same on every page" and "menus show each person only the areas
their roles may open". The menu (shared/nav.py) names each area's path and roles; here each is
checked against the guard of the route it points to, read from the services' URL maps, so that
the menu never offers a page that refuses its reader and never hides one they may open."""
from __future__ import annotations

import pytest

from shared.auth import Staff, access_of
from shared.nav import AREAS, areas_for
from shared.packs import ROLES


def _route(path: str):
    from tests.test_access import _apps

    for app in _apps().values():
        adapter = app.url_map.bind("localhost")
        try:
            endpoint, _args = adapter.match(path, method="GET")
        except Exception:
            continue
        return app.view_functions[endpoint]
    raise AssertionError(f"no service answers GET {path}")


@pytest.mark.parametrize("area", AREAS, ids=lambda area: area.key)
def test_each_area_of_the_menu_asks_what_its_page_asks(area):
    access = access_of(_route(area.path))
    if area.who in ("anyone", "public") or access.kind == "public":
        # a staff area on a public page: the request forms, which ask staff the channel
        assert access.kind == "public" and not area.roles, (area, access)
    else:
        assert (access.kind, set(access.roles)) == ("staff", set(area.roles)), (area, access)


@pytest.mark.parametrize("role", ROLES)
def test_a_person_sees_exactly_the_areas_their_role_opens(role):
    staff = Staff(user_id="x", username="x", roles=(role,), org="sesao-sc", unit="ict")
    shown = {area.key for area in areas_for(staff)}
    for area in AREAS:
        access = access_of(_route(area.path))
        may = (access.kind == "staff" and (not access.roles or role in access.roles or role in ("admin", "sysadmin"))) \
            or (access.kind == "public" and area.who in ("anyone", "staff"))
        assert (area.key in shown) == may, (role, area.key)
    assert "walk_in" in shown and "login" not in shown and "forms" not in shown


def test_someone_not_signed_in_sees_the_forms_the_manuals_and_the_sign_in():
    assert [area.key for area in areas_for(None)] == ["forms", "sops", "login"]
