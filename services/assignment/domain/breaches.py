"""The breach register's rules (PDPA s.37(4)): a personal-data breach is notified to the Office of
the Personal Data Protection Committee (PDPC, สคส.) without delay and where feasible within 72
hours after the organisation became aware of it, unless it is unlikely to result in a risk to the
rights and freedoms of persons; where the risk is high the people affected are also told, without
delay, with the remedial measures.

The 72 hours are calendar hours from ``aware_at`` (not working time: the law counts them so).
The organisation's privacy officers hear once when 24 hours are left and once when the deadline
has passed, while the Office has been neither told nor a reason recorded why it need not be.
Pure: no Flask, SQLAlchemy or Celery."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

PDPC_HOURS = 72
PDPC_WINDOW = timedelta(hours=PDPC_HOURS)
REMIND_BEFORE = timedelta(hours=24)  # the privacy officers hear when this much is left
RISKS = ("none", "risk", "high")
STATUSES = ("open", "closed")
# what the clock's reminders are: the deadline is near, and the deadline has passed
REMINDERS = ("approaching", "passed")


def pdpc_deadline(aware_at: datetime) -> datetime:
    """When the Office must have been told: 72 calendar hours after becoming aware."""
    return aware_at + PDPC_WINDOW


def pdpc_settled(notified_at: datetime | None, reason_not_needed: str | None) -> bool:
    """The Office was told, or a reason was recorded why it need not be (no likely risk)."""
    return notified_at is not None or bool((reason_not_needed or "").strip())


def people_must_be_told(risk: str) -> bool:
    """A high risk to rights and freedoms: the people affected are told as well."""
    return risk == "high"


@dataclass(frozen=True)
class Clock:
    """The 72-hour clock of one breach as the register shows it at ``now``."""

    deadline: datetime
    state: str  # running, overdue (neither told nor excused, deadline passed), settled
    left: timedelta  # until the deadline (negative when past)
    used: float  # share of the 72 hours gone, 0..1 (1 once past)

    @property
    def hours_left(self) -> int:
        """Whole hours left (rounded down); past the deadline, hours over as a negative number."""
        seconds = int(self.left.total_seconds())
        return seconds // 3600 if seconds >= 0 else -((-seconds) // 3600)

    @property
    def minutes_left(self) -> int:
        """The minutes beyond ``hours_left`` (0-59)."""
        return (abs(int(self.left.total_seconds())) % 3600) // 60


def clock(aware_at: datetime, now: datetime, notified_at: datetime | None = None,
          reason_not_needed: str | None = None) -> Clock:
    deadline = pdpc_deadline(aware_at)
    left = deadline - now
    used = min(1.0, max(0.0, (now - aware_at) / PDPC_WINDOW))
    if pdpc_settled(notified_at, reason_not_needed):
        state = "settled"
    elif left.total_seconds() < 0:
        state = "overdue"
    else:
        state = "running"
    return Clock(deadline, state, left, used)


def reminders_due(aware_at: datetime, now: datetime, *, status: str, notified_at: datetime | None,
                  reason_not_needed: str | None, approaching_sent: bool, passed_sent: bool) -> list[str]:
    """Which reminders (``REMINDERS``) an open, unsettled breach owes its privacy officers now:
    ``approaching`` from 24 hours before the deadline (not once it has passed), ``passed`` after
    it; each once."""
    if status != "open" or pdpc_settled(notified_at, reason_not_needed):
        return []
    deadline = pdpc_deadline(aware_at)
    if now >= deadline:
        return [] if passed_sent else ["passed"]
    if now >= deadline - REMIND_BEFORE and not approaching_sent:
        return ["approaching"]
    return []


def refusals_to_close(risk: str, notified_at: datetime | None, reason_not_needed: str | None,
                      people_told_at: datetime | None) -> list[str]:
    """Why a breach may not be closed yet (keys of the words): the Office neither told nor a reason
    recorded; a high risk whose people have not been told."""
    refusals = []
    if not pdpc_settled(notified_at, reason_not_needed):
        refusals.append("pdpc")
    if people_must_be_told(risk) and people_told_at is None:
        refusals.append("people")
    return refusals
