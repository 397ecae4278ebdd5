"""Finding cases, as plain values: the text a case is found by, what a search matches, the
statuses people filter by, the orders a list may take, and its pages.

The text is kept with the case (``cases.search_text``, indexed by PostgreSQL's trigrams), so that a
search is a substring match that works for Thai, which is written without spaces between words:
"เครื่องพิมพ์" is found inside "ซ่อมเครื่องพิมพ์ชั้น 3". Both the text and the query are folded the
same way (Unicode NFC, case folded, runs of white space made one space), and every word of the
query must appear (in any order)."""
from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# what people filter a list by: any open case; open but waiting on someone outside the staff (the
# requester, a vendor, procurement); ended (any result), or ended with one result
STATUSES = ("open", "waiting", "closed", "completed", "rejected", "withdrawn")
# the orders a list may take: a column, newest or latest first with a leading "-"
SORTS = ("-received_at", "received_at", "-opened_at", "opened_at", "due_at", "-due_at")
DEFAULT_SORT = "-received_at"  # the newest requests first (a paper request opens when it is typed in)
PER_PAGE = 25
MAX_PER_PAGE = 200
MAX_TEXT = 20000  # of a case's search text: enough for every field a form asks

_SPACE = re.compile(r"\s+")


def fold(text: str) -> str:
    """Text as it is compared: NFC, case folded, white space runs as one space, trimmed."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text or "").casefold()).strip()


def _values(value) -> Iterable[str]:
    """The words of a form value: text and numbers, the items of a list, the values of a mapping
    (a choice's label, a file's name), and nothing of true/false or empty values."""
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, (str, int, float)):
        if str(value).strip():
            yield str(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _values(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _values(item)


def document(tracking_code: str, subject: str, details: str, requester_name: str, requester_unit: str,
             fields: Mapping | None) -> str:
    """The text a case is found by: its tracking code, subject, details, the requester's name and
    unit, and the values of its form's fields, folded."""
    parts = [tracking_code, subject, details, requester_name, requester_unit,
             *(_values(dict(fields or {})))]
    return fold(" ".join(p for p in parts if p))[:MAX_TEXT]


def words(query: str | None) -> list[str]:
    """The words of a search, folded, each once, in the order typed; none for an empty query."""
    seen: list[str] = []
    for word in fold(query or "").split(" "):
        if word and word not in seen:
            seen.append(word)
    return seen


def like_pattern(word: str) -> str:
    """A word as a LIKE pattern that finds it anywhere in the text, its % _ and \\ taken literally."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def matches(text: str, query: str | None) -> bool:
    """Whether a case whose search text is ``text`` is found by ``query`` (what the database's
    LIKE answers, said in Python: for the tests and anyone reasoning about a search)."""
    return all(word in text for word in words(query))


# a search counts the cases it finds up to this many (and at least to the page asked for): a word
# as common as "เครื่องพิมพ์" is in tens of thousands of a million cases, each of which PostgreSQL
# must read again to be sure of the match (counting to 1,000 took 250 ms at a million cases,
# bench/desk.py); a person narrows such a search rather than pages through it
COUNT_CAP = 200


@dataclass(frozen=True)
class Page:
    """One page of a list of ``total`` items: which (from 1), how many a page holds, and the
    rows to skip. ``exact`` False: the list holds more than ``total`` (a search counted no further,
    ``count_limit``), so its last page is not known, only that there is a next one."""

    number: int
    per_page: int
    total: int
    exact: bool = True

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page

    @property
    def last(self) -> int | None:
        return max(1, math.ceil(self.total / self.per_page)) if self.exact else None

    @property
    def previous(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        if not self.exact:
            return self.number + 1
        return self.number + 1 if self.number < self.last else None

    def around(self, width: int = 2) -> list[int | None]:
        """The page numbers a pager shows: the first, the last (when known), and ``width`` on each
        side of this one; None where numbers are left out."""
        last = self.last if self.exact else self.number + 1
        shown = sorted({1, last, *range(max(1, self.number - width), min(last, self.number + width) + 1)})
        out: list[int | None] = []
        for number in shown:
            if out and out[-1] is not None and number - out[-1] > 1:
                out.append(None)
            out.append(number)
        return out


def count_limit(number: int, per_page: int) -> int:
    """How far a search counts: past ``COUNT_CAP`` and past the page asked for, by one (a count
    that reaches it means "more than this")."""
    return max(COUNT_CAP, number * per_page) + 1


def links(base: str, query: Mapping[str, str], page: Page) -> str:
    """An RFC 8288 ``Link`` header for a page of a list: first, prev, next and last, each the same
    query with another ``page``."""
    from urllib.parse import urlencode

    def url(number: int) -> str:
        return f"{base}?{urlencode({**{k: v for k, v in query.items() if k not in ('page', 'offset')}, 'page': number, 'per_page': page.per_page})}"

    rels = [("first", 1), ("prev", page.previous), ("next", page.next), ("last", page.last)]
    return ", ".join(f'<{url(number)}>; rel="{rel}"' for rel, number in rels if number is not None)
