"""The PDPA's rights to a copy and to erasure, as every service applies them to what it holds.

What a person is: the requests intake holds with their email (or phone), and so the tracking
codes of their cases. Intake finds them; every other service knows them only by those codes
(assignment never had the requester's email), so an erasure event carries the codes and nothing
personal.

Erasing is anonymising: the person's name, email, phone, the free text they wrote (subject,
details, form fields, answers, comments) and the names of their files become ``ERASED``; files
are deleted; what is not personal (the SOP, dates, statuses, steps, scores, the requester's unit)
stays, so that counts and reports stay right. Copies inside event envelopes (outbox, dead letters,
kept early events) are rewritten the same way: by key where the envelope is about one of the
person's cases, and anywhere by the person's own words (``Needles``).

Pure functions here, plus ``scrub_messages`` which rewrites a service's envelope tables in the
caller's transaction."""
from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Text, cast, or_, select
from sqlalchemy.dialects.postgresql import JSONB

ERASED = "[ลบแล้ว / erased]"
DEADLINE_DAYS = 30  # the PDPA's month to answer a data subject's request
SERVICES_CONFIRMING = ("intake", "assignment", "notify", "procurement")

# keys whose text in an envelope about the person's case is theirs (or about them): erased whole
PERSONAL_KEYS = frozenset({"name", "email", "phone", "subject", "details", "note", "comment",
                           "requester_name", "requester_email", "requester_phone", "recipient_name"})
# keys whose values are free-form maps of what the person entered: every text value erased
FREE_FORM_KEYS = frozenset({"fields", "form_fields", "values"})
MIN_NEEDLE = 4  # shorter words are too common to erase wherever they appear


def normal_email(email: str | None) -> str:
    return (email or "").strip().lower()


def normal_phone(phone: str | None) -> str:
    """Digits only: '081-234 5678' and '0812345678' are the same phone."""
    return re.sub(r"\D", "", phone or "")


def person_ref(email: str | None, phone: str | None, key: str) -> str:
    """A keyed digest of the person (their email, else their phone): the same person gives the
    same reference, and the reference alone gives back neither (HMAC with the secret key)."""
    subject = normal_email(email) or normal_phone(phone)
    return hmac.new(key.encode() or b"sopdesk", subject.encode(), hashlib.sha256).hexdigest()


def due_on(requested_at: datetime) -> date:
    """The day the answer is due: 30 days after the Bangkok day of the request."""
    from shared.i18n import BANGKOK

    return requested_at.astimezone(BANGKOK).date() + timedelta(days=DEADLINE_DAYS)


class Needles:
    """The person's own words (name, email, phone, what they wrote): found anywhere in a text,
    case-insensitively, and replaced by ``ERASED``. Phones are also matched as their digits."""

    def __init__(self, words: Iterable[str | None]) -> None:
        found: set[str] = set()
        for word in words:
            if not isinstance(word, str):
                continue
            word = word.strip()
            if len(word) >= MIN_NEEDLE and word != ERASED:
                found.add(word)
        self.words = sorted(found, key=len, reverse=True)  # the longest first: "a b" before "a"
        self._pattern = (re.compile("|".join(re.escape(w) for w in self.words), re.IGNORECASE)
                         if self.words else None)

    def __bool__(self) -> bool:
        return bool(self.words)

    def sub(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(ERASED, text)

    def found_in(self, text: str | None) -> bool:
        return bool(self._pattern is not None and text and self._pattern.search(text))


def scrub(value: Any, needles: Needles, by_key: bool = True) -> Any:
    """``value`` (JSON: dicts, lists, texts) with the person's data erased: with ``by_key``, the
    text under ``PERSONAL_KEYS`` and every text of ``FREE_FORM_KEYS`` maps; always, the needles
    wherever they appear. A new value; types are kept (a text stays a text)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if by_key and key in PERSONAL_KEYS and isinstance(item, str) and item:
                out[key] = ERASED
            elif by_key and key in FREE_FORM_KEYS and isinstance(item, dict):
                out[key] = {k: (ERASED if isinstance(v, str) and v else scrub(v, needles, by_key))
                            for k, v in item.items()}
            else:
                out[key] = scrub(item, needles, by_key)
        return out
    if isinstance(value, list):
        return [scrub(item, needles, by_key) for item in value]
    if isinstance(value, str):
        return needles.sub(value)
    return value


def scrub_envelope(envelope: dict, codes: frozenset[str], needles: Needles) -> dict:
    """An event envelope with the person's data erased: by key when it is about one of their
    cases (its correlation id, or a tracking code in its payload), by their words in any case."""
    payload = envelope.get("payload") if isinstance(envelope, dict) else None
    about = envelope.get("correlation_id") in codes or (
        isinstance(payload, dict) and payload.get("tracking_code") in codes)
    return scrub(envelope, needles, by_key=about)


def scrub_messages(session, bus, codes: Iterable[str], needles: Needles, extra: Iterable[tuple[type, str]] = ()) -> int:
    """Rewrite, in ``session``'s transaction, every envelope of ``bus``'s outbox and dead letters
    (and of ``extra``: (model, correlation column name) pairs, e.g. notify's early events) that is
    about the person's cases or carries their words. Returns how many rows changed. The inbox
    keeps event ids and types only."""
    codes = frozenset(codes)
    changed = 0
    tables = [(bus.Outbox, bus.Outbox.correlation_id), (bus.DeadLetter, None)]
    tables += [(model, getattr(model, column)) for model, column in extra]
    for model, correlation in tables:
        # the envelope as JSONB text: Thai is unescaped there, so a name matches as written
        as_text = cast(cast(model.envelope, JSONB), Text)
        conditions = [as_text.ilike(f"%{_like(word)}%", escape="\\") for word in needles.words]
        conditions += [as_text.contains(f'"{_like(code)}"') for code in codes]
        if correlation is not None and codes:
            conditions.append(correlation.in_(codes))
        if not conditions:
            continue
        for row in session.scalars(select(model).where(or_(*conditions))):
            clean = scrub_envelope(row.envelope, codes, needles)
            if clean != row.envelope:
                row.envelope = clean
                changed += 1
            for column in ("last_error", "error"):
                text = getattr(row, column, None)
                if isinstance(text, str) and needles.found_in(text):
                    setattr(row, column, needles.sub(text))
    return changed


def _like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def plain(row, columns: Iterable[str] | None = None) -> dict:
    """An ORM row as JSON-ready data (times and dates as ISO text), for the export."""
    out = {}
    for column in row.__table__.columns:
        if columns is not None and column.name not in columns:
            continue
        value = getattr(row, column.key)
        out[column.name] = value.isoformat() if isinstance(value, (datetime, date)) else value
    return out


__all__ = ["ERASED", "DEADLINE_DAYS", "Needles", "scrub", "scrub_envelope", "scrub_messages", "person_ref",
           "normal_email", "normal_phone", "due_on", "plain"]
