"""Rate limits: pace requests before the server has to say no, and read its answers when it does.

Xurrent has two limiters per user (xurrent_api.md §4): a short burst limit of 20 requests per
2 seconds and an hourly budget (``x-ratelimit-limit``, usually 3600) reported on every response
with ``x-ratelimit-remaining`` and ``x-ratelimit-reset``. Reacting to 429s alone wastes requests
and time, so ``RequestPacer`` hands out send slots that respect:

* a rolling burst window (19 per 2 s, one under the server's limit to absorb network jitter);
* a rolling hourly window of at most the effective hourly limit, which is the smaller of
  ``max_requests_per_hour`` and the server's ``x-ratelimit-limit``;
* the server's remaining budget: when it runs low relative to the time until the reset, the
  remaining requests are spread evenly until the reset instead of being burnt in a burst.

Slots are reserved under a lock and slept outside it, so concurrent threads queue up in order
without holding the lock while they wait. Clock and sleep are injected for deterministic tests.

The burst window counts a request from the moment its *response* arrived (``complete``), not from
when it was sent. The server stamps a request somewhere between our send and our receipt, so
"send of request n+19 >= receipt of request n + 2 s" guarantees the server sees them at least
2 s apart, whatever the latency. Counting from the send is not enough: the first requests of a
sync open new (TLS) connections and reach the server late, the next batch on warm connections
arrives early, and the server sees 21 requests in 2 s (observed against the simulator).
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections import deque
from datetime import timezone
from dataclasses import dataclass
from typing import Callable, Mapping

BURST_REQUESTS = 19
BURST_WINDOW_SECONDS = 2.0
HOUR_SECONDS = 3600.0
# Start spreading when less than this share of the hourly limit is left.
LOW_BUDGET_FRACTION = 0.2
# A reset value below this is a number of seconds from now rather than an epoch timestamp.
_EPOCH_THRESHOLD = 1_000_000_000
# Small safety margin after a reported reset before the budget is assumed to be back.
RESET_MARGIN_SECONDS = 1.0
# Longest single pacing wait; the server's hourly window bounds real waits below this.
MAX_PACING_WAIT_SECONDS = 3660.0

RETRY_AFTER_CAP_SECONDS = 60.0
RETRY_AFTER_DEFAULT_SECONDS = 5.0
RETRY_AFTER_MIN_SECONDS = 1.0


class PacerSlot:
    """One granted send slot; ``at`` moves to the response time when the request completes."""

    __slots__ = ("at", "waited_seconds")

    def __init__(self, at: float, waited_seconds: float):
        self.at = at
        self.waited_seconds = waited_seconds


class PacingLimitExceeded(Exception):
    """The next free slot is further away than the pacer is allowed to wait."""

    def __init__(self, wait_seconds: float, reason: str):
        super().__init__(f"next request slot is {wait_seconds:.0f} s away ({reason})")
        self.wait_seconds = wait_seconds
        self.reason = reason


def parse_retry_after(value: str | None, now_epoch: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP-date.

    Returns None for a missing or unparseable value, 0.0 for a date in the past. No cap here: the
    caller decides how long it is willing to wait.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        if seconds != seconds or seconds in (float("inf"), float("-inf")):
            return None
        return max(0.0, seconds)
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:  # asctime and "-0000" forms: HTTP-dates are always GMT
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, moment.timestamp() - now_epoch)


def seconds_until_reset(value: str | None, now_epoch: float) -> float | None:
    """Seconds until ``x-ratelimit-reset`` (epoch seconds; small values are read as a delta)."""
    if value is None:
        return None
    try:
        reset = float(value.strip())
    except ValueError:
        return None
    if reset != reset or reset < 0:
        return None
    if reset < _EPOCH_THRESHOLD:
        return reset
    return max(0.0, reset - now_epoch)


def throttle_wait_seconds(
    headers: Mapping[str, str],
    now_epoch: float,
    *,
    cap: float = RETRY_AFTER_CAP_SECONDS,
    default: float = RETRY_AFTER_DEFAULT_SECONDS,
    minimum: float = RETRY_AFTER_MIN_SECONDS,
) -> float:
    """How long to wait after a 429: Retry-After, else x-ratelimit-reset, else a default.

    Capped so one answer cannot park the sync for an hour (the throttle budget bounds the total),
    and floored so a "0" or past date does not turn into a tight retry loop.
    """
    wait = parse_retry_after(headers.get("Retry-After"), now_epoch)
    if wait is None:
        wait = seconds_until_reset(headers.get("x-ratelimit-reset"), now_epoch)
    if wait is None:
        wait = default
    return min(cap, max(minimum, wait))


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value.strip()))
    except ValueError:
        return None


@dataclass
class PacerStats:
    """What the pacer decided; read under the pacer's lock via ``RequestPacer.snapshot``."""

    slots: int = 0
    burst_waits: int = 0
    hourly_window_waits: int = 0
    spread_waits: int = 0
    reset_waits: int = 0
    sleep_seconds: float = 0.0


class RequestPacer:
    """Thread-safe send-slot scheduler shared by every thread that talks to one Xurrent user."""

    def __init__(
        self,
        *,
        max_requests_per_hour: int | None = None,
        burst_requests: int = BURST_REQUESTS,
        burst_window_seconds: float = BURST_WINDOW_SECONDS,
        low_budget_fraction: float = LOW_BUDGET_FRACTION,
        max_wait_seconds: float = MAX_PACING_WAIT_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._max_requests_per_hour = max_requests_per_hour
        self._burst_requests = burst_requests
        self._burst_window = burst_window_seconds
        self._low_budget_fraction = low_budget_fraction
        self._max_wait = max_wait_seconds
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._burst_slots: deque[PacerSlot] = deque(maxlen=burst_requests)
        self._hour_slots: deque[float] = deque()
        self._last_slot: float | None = None
        # Server budget as last observed, and how many slots were handed out since.
        self._server_limit: int | None = None
        self._server_remaining: int | None = None
        self._server_reset_at: float | None = None  # on the monotonic clock
        self._slots_since_observation = 0
        self._stats = PacerStats()

    @property
    def effective_hourly_limit(self) -> int | None:
        """min(max_requests_per_hour, server x-ratelimit-limit), whichever are known."""
        limits = [x for x in (self._max_requests_per_hour, self._server_limit) if x]
        return min(limits) if limits else None

    def snapshot(self) -> dict:
        with self._lock:
            return {
                **self._stats.__dict__,
                "effective_hourly_limit": self.effective_hourly_limit,
                "estimated_remaining": self._estimated_remaining(),
            }

    def acquire(self) -> PacerSlot:
        """Wait for the next send slot and return it (``waited_seconds`` is the time slept).

        Pass the slot to ``complete`` when the response has arrived. Raises
        ``PacingLimitExceeded`` instead of sleeping longer than ``max_wait_seconds``.
        """
        with self._lock:
            now = self._monotonic()
            slot, reason = self._next_slot(now)
            wait = slot - now
            if wait > self._max_wait:
                raise PacingLimitExceeded(wait, reason)
            granted = PacerSlot(slot, max(0.0, wait))
            self._burst_slots.append(granted)
            self._hour_slots.append(slot)
            self._last_slot = slot
            self._slots_since_observation += 1
            self._stats.slots += 1
            if wait > 0:
                self._stats.sleep_seconds += wait
                setattr(self._stats, reason, getattr(self._stats, reason) + 1)
        if wait > 0:
            self._sleep(wait)
        return granted

    def complete(self, slot: PacerSlot) -> None:
        """The request sent in ``slot`` has its answer (or failed): count it from now."""
        with self._lock:
            slot.at = max(slot.at, self._monotonic())

    def observe(self, headers: Mapping[str, str]) -> None:
        """Learn the server's hourly budget from a response's ``x-ratelimit-*`` headers.

        Callers skip 429 answers: a burst-limit 429 may report ``remaining: 0`` with the hourly
        reset, which would otherwise park every thread until the top of the hour.
        """
        limit = _int_header(headers, "x-ratelimit-limit")
        remaining = _int_header(headers, "x-ratelimit-remaining")
        until_reset = seconds_until_reset(headers.get("x-ratelimit-reset"), self._wall_clock())
        with self._lock:
            if limit is not None and limit > 0:
                self._server_limit = limit
            if remaining is not None and until_reset is not None:
                self._server_remaining = max(0, remaining)
                self._server_reset_at = self._monotonic() + until_reset
                self._slots_since_observation = 0

    def _estimated_remaining(self) -> int | None:
        if self._server_remaining is None:
            return None
        return self._server_remaining - self._slots_since_observation

    def _next_slot(self, now: float) -> tuple[float, str]:
        """Earliest time at which every limit allows one more request, and the binding limit."""
        slot, reason = now, "none"

        def later(candidate: float, why: str) -> None:
            nonlocal slot, reason
            if candidate > slot:
                slot, reason = candidate, why

        if len(self._burst_slots) >= self._burst_requests:
            later(self._burst_slots[0].at + self._burst_window, "burst_waits")

        while self._hour_slots and self._hour_slots[0] <= now - HOUR_SECONDS:
            self._hour_slots.popleft()
        limit = self.effective_hourly_limit
        if limit is not None and len(self._hour_slots) >= limit:
            later(self._hour_slots[-limit] + HOUR_SECONDS, "hourly_window_waits")

        self._apply_server_budget(now, later)
        return slot, reason

    def _apply_server_budget(self, now: float, later: Callable[[float, str], None]) -> None:
        if self._server_reset_at is None or self._server_reset_at <= now:
            return  # nothing known, or the window has reset since we last heard
        remaining = self._estimated_remaining()
        limit = self._server_limit or 0
        if remaining is None:
            return
        if remaining <= 0:
            later(self._server_reset_at + RESET_MARGIN_SECONDS, "reset_waits")
            return
        if remaining < self._low_budget_fraction * limit and self._last_slot is not None:
            interval = (self._server_reset_at - now) / remaining
            later(self._last_slot + interval, "spread_waits")
