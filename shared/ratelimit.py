"""Per-address rate limits, counted in Redis (the broker every process already has), so that all
web processes share one count.

A fixed window per bucket: ``hit("posts", "203.0.113.7", "20/minute")`` counts the address's
posts in the current minute and says whether one more is allowed, and when to try again if not.
``failures``/``fail``/``forget`` count only what failed (sign-in attempts, per account and per
address), in a window that starts at the first failure.
When Redis cannot be reached the request is let through and a warning logged: filing a request
must never depend on the broker (the outbox keeps the events until it is back)."""
from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

import redis

from shared.config import get_settings, parse_rate

log = logging.getLogger(__name__)

KEY_PREFIX = "sopdesk:ratelimit"
TIMEOUT_SECONDS = 0.5
# after Redis failed to answer, count nothing for this long (one slow connect per period, not one per request)
BACKOFF_SECONDS = 5.0


COUNT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # seconds until the window ends (when refused)
    counted: bool = True  # False when Redis did not answer and the request was let through


def redis_url(broker_url: str) -> str:
    """redis-py's URL for the broker's (kombu's ``redis+socket://path`` is ``unix://path``)."""
    if broker_url.startswith("redis+socket://"):
        return "unix://" + broker_url[len("redis+socket://"):]
    return broker_url


class RateLimiter:
    def __init__(self, url: str, prefix: str = KEY_PREFIX) -> None:
        self.url = url
        self.prefix = prefix
        self._client = redis.Redis.from_url(redis_url(url), socket_connect_timeout=TIMEOUT_SECONDS,
                                            socket_timeout=TIMEOUT_SECONDS)
        self._down_until = 0.0
        self._lock = threading.Lock()
        # count and, on the window's first hit, set its expiry: one command, atomic (EVALSHA; the
        # script is loaded again by redis-py if Redis restarted and forgot it)
        self._count = self._client.register_script(COUNT_SCRIPT)

    def hit(self, bucket: str, who: str, rate: str, now: float | None = None) -> Decision:
        """Count one request of ``who`` in ``bucket`` against ``rate`` (e.g. ``20/minute``)."""
        limit, window = parse_rate(rate)
        now = time.time() if now is None else now
        index = int(now // window)
        retry_after = max(1, math.ceil((index + 1) * window - now))
        if time.monotonic() < self._down_until:
            return Decision(True, limit, limit, 0, counted=False)
        key = f"{self.prefix}:{bucket}:{window}:{index}:{who}"
        try:
            count = self._counted(key, window + 1)
        except redis.RedisError as exc:
            with self._lock:
                self._down_until = time.monotonic() + BACKOFF_SECONDS
            log.warning("rate limit not counted (%s %s): Redis at %s did not answer: %s; letting requests "
                        "through for %.0f s", bucket, who, self.url, exc, BACKOFF_SECONDS)
            return Decision(True, limit, limit, 0, counted=False)
        count = int(count)
        return Decision(count <= limit, limit, max(0, limit - count), retry_after if count > limit else 0)

    def _counted(self, key: str, expiry: int) -> int:
        """COUNT_SCRIPT on ``key`` by its digest (EVALSHA), loaded again if Redis forgot it (a
        restart): redis-py's ``Script.__call__`` does the same, with checks of its client's type on
        every call that cost a fifth of the call itself."""
        try:
            return self._client.evalsha(self._count.sha, 1, key, expiry)
        except redis.exceptions.NoScriptError:
            return self._count(keys=[key], args=[expiry])

    # failures counted from the first (sign-in: per account and per address): a count, once over
    # its limit, refuses until its window has passed; nothing is counted until something fails

    def failures(self, bucket: str, who: str) -> tuple[int, int]:
        """(failures of ``who`` in ``bucket`` in the current window, seconds the window has left);
        (0, 0) when Redis does not answer (then nothing is refused)."""
        if time.monotonic() < self._down_until:
            return 0, 0
        key = f"{self.prefix}:{bucket}:{who}"
        try:
            count, ttl = self._client.pipeline(transaction=False).get(key).ttl(key).execute()
        except redis.RedisError as exc:
            self._went_down(bucket, who, exc)
            return 0, 0
        return int(count or 0), max(0, int(ttl or 0))

    def fail(self, bucket: str, who: str, window: int) -> int:
        """Count one failure of ``who``; the window starts at the first failure and lasts ``window`` s."""
        if time.monotonic() < self._down_until:
            return 0
        try:
            return int(self._counted(f"{self.prefix}:{bucket}:{who}", window))
        except redis.RedisError as exc:
            self._went_down(bucket, who, exc)
            return 0

    def forget(self, bucket: str, who: str) -> None:
        try:
            self._client.delete(f"{self.prefix}:{bucket}:{who}")
        except redis.RedisError as exc:
            self._went_down(bucket, who, exc)

    def _went_down(self, bucket: str, who: str, exc: Exception) -> None:
        with self._lock:
            self._down_until = time.monotonic() + BACKOFF_SECONDS
        log.warning("failures not counted (%s %s): Redis at %s did not answer: %s; for %.0f s",
                    bucket, who, self.url, exc, BACKOFF_SECONDS)


_limiters: dict[str, RateLimiter] = {}
_limiters_lock = threading.Lock()


def limiter(url: str | None = None) -> RateLimiter:
    """The process's limiter for the broker's Redis (one client, and its connection pool, per URL)."""
    url = url or get_settings().broker_url
    with _limiters_lock:
        found = _limiters.get(url)
        if found is None:
            found = _limiters[url] = RateLimiter(url)
        return found


def hit(bucket: str, who: str, rate: str) -> Decision:
    return limiter().hit(bucket, who, rate)
