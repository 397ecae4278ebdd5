"""The navigation every page of every service shows (shared/templates/base.html), the same
everywhere: the areas of sopdesk, each shown only to those who may open it.

A service's pages are reached by path (a service never imports another), so the roles each area
asks are written here; tests/test_navigation.py checks each against the guard of the route it
points to, so that a menu never offers a page that would refuse its reader, nor hides one."""
from __future__ import annotations

from dataclasses import dataclass

from shared.auth import SYSADMIN, Staff

ALWAYS = ("admin", SYSADMIN)  # pass every role check (shared.auth.page_required, staff_required)


@dataclass(frozen=True)
class Area:
    key: str  # its words: nav.<key>
    path: str
    who: str  # "anyone", "public" (only someone not signed in), "staff" (signed in, ``roles``)
    roles: tuple[str, ...] = ()  # for staff: one of these (any role when empty)

    def open_to(self, staff: Staff | None) -> bool:
        if self.who == "anyone":
            return True
        if self.who == "public":
            return staff is None
        if staff is None:
            return False
        return not self.roles or staff.has_any(self.roles) or staff.has_any(ALWAYS)


AREAS: tuple[Area, ...] = (
    Area("forms", "/intake/", "public"),
    Area("my_work", "/assignment/desk", "staff"),
    Area("cases", "/assignment/desk/cases", "staff"),  # every case one may see: search, filters, lists
    # the request form itself: signed in at the desk, it asks the channel (walk-in paper or
    # telephone) and when the request was received (services/intake/domain/channels.py)
    Area("walk_in", "/intake/", "staff"),
    Area("procurement", "/procurement/desk/", "staff",
         ("supplies", "finance", "officer", "head", "subhead", "director", "deputy-director",
          "tor-committee", "procurement-committee", "inspection-committee")),
    # the figures heads answer for (their unit's), and directors (their organisation's)
    Area("reports", "/assignment/desk/reports", "staff", ("director", "deputy-director", "admin", "head", "subhead")),
    Area("breaches", "/assignment/desk/breaches", "staff", ("privacy-officer",)),
    Area("privacy", "/intake/privacy", "staff", ("privacy-officer",)),
    # administration: people, units, delegations, holidays, office hours, privacy notice
    Area("admin", "/assignment/desk/admin", "staff", ("admin",)),
    # packs: upload, check, preview, editor
    Area("packs", "/assignment/desk/packs", "staff", ("admin",)),
    Area("sops", "/assignment/sops", "anyone"),
    Area("login", "/assignment/login", "public"),
)

LOGOUT_PATH = "/assignment/logout"  # a POST with the session's CSRF token


def areas_for(staff: Staff | None) -> list[Area]:
    """The areas ``staff`` (None: someone not signed in) may open, in menu order."""
    return [area for area in AREAS if area.open_to(staff)]
