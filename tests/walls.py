"""What the walls between organisations mean for each staff route, in one table per service
(tests/test_walls.py reads the URL maps and fails on a staff route that is in none):

- ``object``: the route names one thing of an organisation in its path (a case, a file, a
  project...). Someone of another organisation, with the route's roles or as its administrator,
  gets 404 (its existence is not revealed) and changes nothing; the owning organisation's
  administrator does not get 404 (the path is right: the wall, not a typo, makes the 404).
- ``list``: a GET listing things; another organisation's callers see none of the world's
  ``markers`` in the answer, the owning organisation's administrator sees them.
- ``own``: the route touches only the caller's own organisation or self (a new thing made in
  their organisation, their own work, logging out); ``why`` says so.

A world is what a test builds in one organisation: ``values`` fill the routes' path parts by
name (``code``, ``file_id``...), ``markers`` are texts that only its things carry."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Wall:
    kind: str  # object, list, own
    why: str = ""
    # a body to send to a POST/PUT/PATCH/DELETE object route (JSON): well-formed enough that,
    # for the owner, the answer is not 404
    body: dict | None = None
    query: str = ""  # added to the URL: a list's filter that would show the world's things, or what names an object


def obj(body: dict | None = None, query: str = "") -> Wall:
    """``query``: added to the URL where the thing is named by it (``?org=...``), not by the path."""
    return Wall("object", body=body, query=query)


def lst(query: str = "") -> Wall:
    return Wall("list", query=query)


def own(why: str) -> Wall:
    return Wall("own", why=why)


@dataclass
class World:
    org: str
    values: dict[str, str] = field(default_factory=dict)
    markers: list[str] = field(default_factory=list)
