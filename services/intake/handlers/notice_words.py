"""An organisation's own words in its requesters' privacy notice (PDPA s.23): whom to ask about
their data, and a paragraph of its own in Thai and English. Its administrators (and its privacy
officers) set them; each change goes into the administrators' one trail (``admin.changed``, in
the same transaction: assignment keeps the trail) and makes a new notice version, so requests keep
the words they consented to (``handlers.privacy``). No Flask here."""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from services.intake.adapters.bus import bus
from services.intake.adapters.models import NoticeText

CONTACT_MAX = 500
EXTRA_MAX = 3000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]")


@dataclass(frozen=True)
class Words:
    """What an organisation set (empty: the notice's default words)."""
    contact: str = ""
    extra_th: str = ""
    extra_en: str = ""

    def as_dict(self) -> dict:
        return {"contact": self.contact, "extra_th": self.extra_th, "extra_en": self.extra_en}

    @property
    def empty(self) -> bool:
        return not (self.contact or self.extra_th or self.extra_en)


# how long a process keeps an organisation's words before it reads them again: the form and the
# filing (intake's POST, its hottest path) read them on every request, and they change a few times a
# year. A change shows at once in the process that made it, and in every other within this time.
WORDS_KEPT_SECONDS = 5.0
_KEPT: dict[str, tuple[float, Words]] = {}
_KEPT_LOCK = threading.Lock()
_clock = time.monotonic  # this module's own (a test moves it without moving every thread's)


def words_of(org: str | None, fresh: bool = False) -> Words:
    """The organisation's words (none set: empty), as read at most ``WORDS_KEPT_SECONDS`` ago in
    this process; ``fresh``: read now (the page where they are changed)."""
    if not org:
        return Words()
    now = _clock()
    kept = _KEPT.get(org)
    if kept is not None and not fresh and now - kept[0] < WORDS_KEPT_SECONDS:
        return kept[1]
    with bus.session() as session:
        row = session.get(NoticeText, org)
        words = Words(row.contact, row.extra_th, row.extra_en) if row is not None else Words()
    with _KEPT_LOCK:
        _KEPT[org] = (now, words)
    return words


def forget_kept() -> None:
    """Read every organisation's words again on next use (tests that write them directly)."""
    with _KEPT_LOCK:
        _KEPT.clear()


def problems(contact: str, extra_th: str, extra_en: str) -> dict[str, tuple[str, dict]]:
    """What is wrong with the words given: field -> (the message's key, its values); empty: none."""
    found: dict[str, tuple[str, dict]] = {}
    if len(contact) > CONTACT_MAX:
        found["contact"] = ("notice.v.too_long", {"max": CONTACT_MAX})
    elif _CONTROL.search(contact) or _LINE_BREAKS.search(contact):
        found["contact"] = ("notice.v.one_line", {})
    for name, text in (("extra_th", extra_th), ("extra_en", extra_en)):
        if len(text) > EXTRA_MAX:
            found[name] = ("notice.v.too_long", {"max": EXTRA_MAX})
        elif _CONTROL.search(text):
            found[name] = ("notice.v.control", {})
    return found


def change(actor: str, org: str, contact: str, extra_th: str, extra_en: str,
           now: datetime | None = None) -> Words:
    """Set the organisation's words (spaces at the ends taken off; all empty: back to the
    default words). The change and its trail event commit together; nothing when nothing
    changed. Raises ValueError on words ``problems`` refuses (the page checks first)."""
    words = Words(contact.strip(), extra_th.strip().replace("\r\n", "\n"), extra_en.strip().replace("\r\n", "\n"))
    if problems(words.contact, words.extra_th, words.extra_en):
        raise ValueError("the words are refused: see problems()")
    moment = now or datetime.now(timezone.utc)
    with bus.unit_of_work() as uow:
        row = uow.session.get(NoticeText, org, with_for_update=True)
        before = Words(row.contact, row.extra_th, row.extra_en) if row is not None else Words()
        if before == words:
            return words
        if row is None:
            row = NoticeText(org=org, updated_by=actor)
            uow.session.add(row)
        row.contact, row.extra_th, row.extra_en = words.contact, words.extra_th, words.extra_en
        row.updated_by, row.updated_at = actor, moment
        uow.emit("admin.changed", {"org": org, "actor": actor, "kind": "privacy-notice", "key": org,
                                   "before": None if before.empty else before.as_dict(),
                                   "after": None if words.empty else words.as_dict(),
                                   "changed_at": moment.isoformat()})
        uow.commit()
    with _KEPT_LOCK:  # this process's next form and filing have the new words at once
        _KEPT[org] = (_clock(), words)
    return words
