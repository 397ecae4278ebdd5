"""What a requester (or staff for them) asks of intake: file a request (``FileRequest``).
``from_form`` turns what the request's schema (``schemas.request_schema``) loads into it, once
the view knows through which channel it came and who files it."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from shared.packs import find_sop


@dataclass(frozen=True)
class FileRequest:
    """A request for ``sop``: who asks, what about, the SOP's own form ``fields`` (by name, as
    loaded: files apart, left-out ones absent), the language of its emails, and how it came in
    (``channel``; ``filed_by`` the staff member filing for the requester, ``received_at`` when a
    paper or telephone request arrived: unset, when it is filed). Consent was given (the schema
    refuses a request without it)."""

    sop: str
    requester_name: str
    requester_email: str | None  # none: a telephone or walk-in caller with a phone only
    requester_unit: str
    subject: str
    details: str
    language: str
    channel: str
    requester_phone: str | None = None
    fields: Mapping[str, object] = field(default_factory=dict)
    received_at: datetime | None = None
    filed_by: str | None = None


def from_form(data: Mapping, *, channel: str, language: str, filed_by: str | None = None) -> FileRequest:
    """The request ``data`` asks to file (as ``request_schema`` loads it for its SOP): its emails
    in the language it asks for, else ``language`` (the page's)."""
    sop = find_sop(data["sop"])
    answers = {f.name: data.get(f.name) for f in (sop.form if sop else ())
               if f.type != "file" and data.get(f.name) is not None}
    return FileRequest(sop=data["sop"], requester_name=data["requester_name"],
                       requester_email=data.get("requester_email"), requester_unit=data["requester_unit"],
                       subject=data["subject"], details=data["details"],
                       language=data.get("language") or language, channel=channel,
                       requester_phone=data.get("requester_phone"), fields=answers,
                       received_at=data.get("received_at"), filed_by=filed_by)
