"""Who may reach each route of each service, read from the URL maps themselves: every route says
who may reach it (``shared.auth.Access``), so a route added without saying fails here; and each is
tried as the callers it must turn away: nobody signed in, and a member of staff whose roles are not
the route's. (The walls between organisations and units come on top of this: issue 13.)"""
from __future__ import annotations

import functools
import re

import pytest

from shared.auth import Access, access_of
from shared.config import SERVICES

# flask-smorest's own route: the API's description, which every service publishes
DESCRIBED_ELSEWHERE = {"api-docs.openapi_json": Access("public", why="the API's description (OpenAPI)"),
                       "api-docs.openapi_swagger_ui": Access("public", why="the same description as a page (Swagger UI)")}
SAFE = {"GET", "HEAD", "OPTIONS"}


@functools.cache
def _apps():
    from sopdesk.gateway import create_service

    return {service: create_service(service) for service in SERVICES}


def routes():
    """(service, rule, method, view) for every route of every service."""
    found = []
    for service, app in _apps().items():
        for rule in app.url_map.iter_rules():
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((service, rule, method, app.view_functions[rule.endpoint]))
    return found


def access(rule, view) -> Access | None:
    return access_of(view) or DESCRIBED_ELSEWHERE.get(rule.endpoint)


def _view(case) -> object:
    service, rule, _method = case.values
    return _apps()[service].view_functions[rule.endpoint]


def test_every_route_says_who_may_reach_it():
    undeclared = sorted({f"{method} {rule.rule}" for _s, rule, method, view in routes() if access(rule, view) is None})
    assert undeclared == [], "say who may reach these routes (shared.auth: staff_required, public, requester)"


# ---------------------------------------------------------------------------------------------
# each route, tried as the callers it must turn away

def _path(rule) -> str:
    """The route with a value of the right kind in each of its parts (the guard answers before
    anything is looked up, so no such thing need exist)."""
    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>", lambda m: "1" if m.group(1) == "int" else "x", rule.rule)


def _cases(kind: str):
    return [pytest.param(service, rule, method, id=f"{method} {rule.rule}")
            for service, rule, method, view in routes() if access(rule, view).kind == kind]


def _staff_token(roles: tuple[str, ...], org: str = "sesao-sc") -> str:
    """A token for a new person holding ``roles`` in a unit of ``org``."""
    from services.assignment.handlers.directory import add_unit, add_user, staff_of
    from shared.auth import issue_token

    unit = f"ict-{org}"
    add_unit(unit, org, f"ศูนย์ ICT ({org})", f"ICT centre ({org})")
    name = f"u-{org}-" + "-".join(roles)
    user = add_user(name, "correct horse battery", list(roles), display_name=name, email=f"{name}@office.example",
                    unit=None if "sysadmin" in roles else unit)
    return issue_token(staff_of(user))


@pytest.fixture
def apps():
    return _apps()


@pytest.mark.parametrize("service, rule, method", _cases("staff"))
def test_nobody_signed_in_is_turned_away_from_a_staff_route(apps, service, rule, method):
    view = apps[service].view_functions[rule.endpoint]
    response = apps[service].test_client().open(_path(rule), method=method)
    if access(rule, view).page:
        assert response.status_code == 302 and "login" in response.headers["Location"], response.status_code
    else:
        assert response.status_code == 401, (response.status_code, response.get_data(as_text=True)[:200])


def _outsider(roles: tuple[str, ...]) -> str:
    """A staff role that is not one of ``roles`` (nor admin, who may do anything)."""
    from shared.packs import ROLES

    return next(role for role in ROLES if role not in roles and role not in ("admin", "sysadmin", "requester"))


@pytest.mark.parametrize("service, rule, method", [c for c in _cases("staff")
                                                   if access(c.values[1], _view(c)).roles])
def test_staff_without_the_route_s_roles_are_refused(apps, clean, service, rule, method):
    view = apps[service].view_functions[rule.endpoint]
    declared = access(rule, view)
    token = _staff_token((_outsider(declared.roles),))
    response = apps[service].test_client().open(_path(rule), method=method,
                                                headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403, (response.status_code, response.get_data(as_text=True)[:200])


@pytest.mark.parametrize("service, rule, method", _cases("public") + _cases("requester"))
def test_a_public_or_requester_route_answers_nobody_without_a_server_error_or_a_staff_wall(apps, clean, service,
                                                                                          rule, method):
    view = apps[service].view_functions[rule.endpoint]
    response = apps[service].test_client().open(_path(rule), method=method)
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    assert response.status_code not in (401, 403) or rule.endpoint.endswith(("submit", "login", "logout")), \
        response.status_code
    if access(rule, view).kind == "requester":
        # no tracking link: the request is not found, its existence not revealed
        assert response.status_code == 404, response.status_code


def _guarded(status: int) -> bool:
    return status in (401, 403)


@pytest.mark.parametrize("service, rule, method", [c for c in _cases("staff")
                                                   if access(c.values[1], _view(c)).roles])
def test_each_role_is_let_through_or_turned_away_as_the_route_says(apps, service, rule, method):
    """Every role, one at a time, at every route that names its roles: a role the route names (and
    an organisation's or the system's administrator) passes its guard, whatever the view then
    answers for a thing that does not exist; any other role is refused (403). Tokens only: the
    guard reads no directory."""
    from shared.auth import SYSADMIN, Staff, issue_token
    from shared.packs import ROLES

    declared = access(rule, apps[service].view_functions[rule.endpoint])
    wrong = []
    for role in ROLES:
        staff = Staff(user_id=f"role-{role}", username=f"role-{role}", roles=(role,),
                      org=None if role == SYSADMIN else "sesao-sc", unit=None if role == SYSADMIN else "ict")
        response = apps[service].test_client().open(_path(rule), method=method,
                                                    headers={"Authorization": f"Bearer {issue_token(staff)}"})
        allowed = role in declared.roles or role in ("admin", SYSADMIN)
        if response.status_code >= 500 or allowed == _guarded(response.status_code):
            wrong.append(f"{role}: {response.status_code} ({'may' if allowed else 'may not'})")
    assert wrong == [], wrong
