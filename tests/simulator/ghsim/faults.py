"""Fault injection and rate limiting.

GitHub fails in ways a bot must survive: a POST that answers 502 although it
took effect, 403 secondary rate limits with ``Retry-After``, primary-limit
exhaustion.  These knobs let tests provoke each one on demand.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

SECONDARY_LIMIT_MESSAGE = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
CONTENT_CREATION_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit and have been temporarily blocked from content "
    "creation. Please retry your request again later."
)
SECONDARY_LIMIT_DOCS = (
    "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)


@dataclass
class InjectedFault:
    """A queued failure for requests matching ``method`` and ``path_regex``."""

    method: str
    path_regex: re.Pattern[str]
    status: int
    after_effect: bool
    remaining: int
    body: dict[str, Any] | None
    headers: dict[str, str]

    def matches(self, method: str, path: str) -> bool:
        return (self.method == "*" or self.method == method) and bool(self.path_regex.search(path))


@dataclass
class FaultDecision:
    status: int
    after_effect: bool
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Faults:
    """Failure knobs; thread-safe, shared by the server threads and the test thread.

    ``min_write_interval``: automatic secondary limit; a write (POST/PATCH/PUT/
    DELETE under ``/repos``) from the same identity less than this many seconds
    after its previous write gets 403 + ``retry-after``.  0 disables it.

    ``content_per_minute`` / ``content_per_hour``: GitHub's content-creation
    budget (80/min, 500/h) for reviews and comments; None disables it.
    """

    min_write_interval: float = 0.0
    secondary_retry_after: int = 60
    content_per_minute: int | None = 80
    content_per_hour: int | None = 500
    _queue: list[InjectedFault] = field(default_factory=list)
    _last_write: dict[str, float] = field(default_factory=dict)
    _content_times: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int = 502,
        after_effect: bool = True,
        count: int = 1,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``count`` matching requests fail with ``status``.

        ``after_effect=True`` applies the request first (the review *is*
        created) and then answers ``status``; ``False`` fails it untouched.
        A 403/429 without ``body`` gets the documented secondary-rate-limit
        message and a ``retry-after`` header (``retry_after`` or
        ``secondary_retry_after``).  ``method`` may be ``"*"``.
        """
        extra = dict(headers or {})
        if status in (403, 429) and body is None:
            extra.setdefault("retry-after", str(retry_after if retry_after is not None else self.secondary_retry_after))
        elif retry_after is not None:
            extra["retry-after"] = str(retry_after)
        with self._lock:
            self._queue.append(
                InjectedFault(method.upper(), re.compile(path_regex), status, after_effect, count, body, extra)
            )

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._last_write.clear()
            self._content_times.clear()

    def pending(self) -> int:
        with self._lock:
            return sum(f.remaining for f in self._queue)

    def take(self, method: str, path: str) -> FaultDecision | None:
        """Consume and return the first queued fault matching this request."""
        with self._lock:
            for fault in self._queue:
                if fault.remaining > 0 and fault.matches(method, path):
                    fault.remaining -= 1
                    self._queue = [f for f in self._queue if f.remaining > 0]
                    return FaultDecision(fault.status, fault.after_effect, _fault_body(fault), dict(fault.headers))
        return None

    def check_write(self, identity: str, now: float, creates_content: bool) -> FaultDecision | None:
        """Apply the automatic secondary limits to a write; record it when allowed."""
        with self._lock:
            if self.min_write_interval > 0:
                last = self._last_write.get(identity)
                if last is not None and now - last < self.min_write_interval:
                    return self._secondary(SECONDARY_LIMIT_MESSAGE)
            if creates_content:
                times = self._content_times.setdefault(identity, deque())
                while times and now - times[0] > 3600:
                    times.popleft()
                last_minute = sum(1 for t in times if now - t < 60)
                if (self.content_per_minute is not None and last_minute >= self.content_per_minute) or (
                    self.content_per_hour is not None and len(times) >= self.content_per_hour
                ):
                    return self._secondary(CONTENT_CREATION_LIMIT_MESSAGE)
                times.append(now)
            self._last_write[identity] = now
        return None

    def _secondary(self, message: str) -> FaultDecision:
        return FaultDecision(
            403,
            False,
            {"message": message, "documentation_url": SECONDARY_LIMIT_DOCS},
            {"retry-after": str(self.secondary_retry_after)},
        )


def _fault_body(fault: InjectedFault) -> dict[str, Any]:
    if fault.body is not None:
        return fault.body
    if fault.status in (403, 429):
        return {"message": SECONDARY_LIMIT_MESSAGE, "documentation_url": SECONDARY_LIMIT_DOCS}
    if fault.status == 502:
        return {"message": "Server Error"}
    return {"message": f"Injected failure {fault.status}"}


@dataclass
class RateBucket:
    limit: int
    used: int
    reset: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


@dataclass
class RateLimits:
    """Primary (hourly) REST limits per identity, as in ``x-ratelimit-*`` headers.

    ``limit`` applies to identities without their own limit; tests set it small
    to exhaust it quickly.
    """

    limit: int = 5000
    unauthenticated_limit: int = 60
    window: int = 3600
    per_identity: dict[str, int] = field(default_factory=dict)
    _buckets: dict[str, RateBucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def bucket(self, identity: str, now: float) -> RateBucket:
        with self._lock:
            bucket = self._buckets.get(identity)
            if bucket is None or now >= bucket.reset:
                default = self.unauthenticated_limit if identity.startswith("ip:") else self.limit
                bucket = RateBucket(self.per_identity.get(identity, default), 0, int(now) + self.window)
                self._buckets[identity] = bucket
            return bucket

    def consume(self, identity: str, now: float) -> tuple[RateBucket, bool]:
        """Count one request; returns (bucket, allowed)."""
        bucket = self.bucket(identity, now)
        with self._lock:
            if bucket.remaining <= 0:
                return bucket, False
            bucket.used += 1
            return bucket, True

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
