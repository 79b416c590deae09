"""Pacing: when the next request may be sent, so that a clean sync never meets a 429.

Xurrent limits each user to 20 requests in any 2 s (the burst limit) and to a budget per hour
reported in every answer's ``x-ratelimit-*`` headers. ``RateLimit`` is what one answer's headers
say, read once per answer; the ``Pacer`` (one per client, shared by every thread) and the
stream metrics both read it. When the next request could only go later than
``max_rate_limit_wait_seconds`` allows, ``rate_limit_exhausted`` builds the error that ends the
sync cleanly.
"""

from __future__ import annotations

import threading
from bisect import insort
from collections import deque
from dataclasses import dataclass
from email.utils import mktime_tz, parsedate_tz
from typing import Callable, Mapping

from .errors import RateLimitExhausted
from .timestamps import clock_time

#: The documented burst limit: 20 requests in any 2 s.
BURST_LIMIT = 20
BURST_WINDOW_SECONDS = 2.0
#: Kept off the credit of the fastest round trip (see ``Pacer``): the slack the delay
#: assumption gets; the benchmark measures how much of it a sync uses.
BURST_MARGIN_SECONDS = 0.02
HOUR_SECONDS = 3600.0
#: Spread the remaining hourly budget evenly until the reset once less than this share is left.
LOW_BUDGET_FRACTION = 0.2
#: Longest single pacing wait before the client gives up instead (the window is an hour).
MAX_PACING_WAIT_SECONDS = 3660.0
#: ``x-ratelimit-reset`` below this is seconds until the reset, above it an epoch.
EPOCH_THRESHOLD = 1e9
#: The longest wait the documented limits can ask for (the hourly window, plus a minute for
#: rounding and clocks): a reset or a Retry-After further away is not taken at its word.
LONGEST_CREDIBLE_WAIT_SECONDS = HOUR_SECONDS + 60.0


@dataclass(frozen=True)
class RateLimit:
    """What one answer's ``x-ratelimit-*`` headers say; each figure None when the header is
    missing or unreadable. ``reset_in`` is seconds from the answer to the window's reset (the
    header may hold an epoch or a number of seconds)."""

    limit: int | None = None
    remaining: int | None = None
    reset_in: float | None = None

    @classmethod
    def of(cls, headers: Mapping[str, str], now_epoch: float) -> "RateLimit":
        limit = _header_number(headers, "x-ratelimit-limit")
        remaining = _header_number(headers, "x-ratelimit-remaining")
        reset = _header_number(headers, "x-ratelimit-reset")
        if reset is not None and reset >= EPOCH_THRESHOLD:
            reset = max(0.0, reset - answer_clock(headers, now_epoch))
        if reset is not None and reset > LONGEST_CREDIBLE_WAIT_SECONDS:
            reset = None
        return cls(
            None if limit is None else int(limit),
            None if remaining is None else int(remaining),
            reset,
        )


def answer_clock(headers: Mapping[str, str], now_epoch: float) -> float:
    """The server's clock when it answered (its ``Date`` header), else ``now_epoch`` (this
    machine's): an epoch or an HTTP-date from the server is measured against the former, so a
    server clock minutes ahead or hours behind does not turn a short wait into an hour. Within
    two seconds of ``now_epoch`` the finer clock is this machine's (``Date`` has whole seconds).
    """
    server = http_date(headers.get("Date", ""))
    return now_epoch if server is None or abs(server - now_epoch) <= 2.0 else server


def http_date(text: str) -> float | None:
    """The epoch of an HTTP-date (IMF-fixdate, RFC 850 or asctime), or None."""
    try:
        parsed = parsedate_tz(text.strip())
        return None if parsed is None else float(mktime_tz(parsed))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _header_number(headers: Mapping[str, str], name: str) -> float | None:
    try:
        value = float(headers.get(name, "").strip())
    except ValueError:
        return None
    return value if value == value and 0 <= value < float("inf") else None


@dataclass(eq=False)
class Slot:
    """One request's place in the pacing: when it may go, when it went, when it was answered."""

    at: float
    sent: float | None = None
    answered: float | None = None


class Pacer:
    """Send slots shared by every thread that uses one Xurrent user's budget.

    The server counts a request at some moment between our send and our receipt of its answer,
    and refuses it when 20 others were counted in the 2 s before. So a request is sent only when
    at most 19 earlier ones may still be counted less than 2 s before it: every request in
    flight (or reserved) may be, an answered one only if its answer came less than
    ``2 s - credit`` ago. With credit 0 that is a proof (an answered request was counted before
    its answer), but each window then waits a whole round trip too long. The credit is the
    fastest round trip seen minus ``BURST_MARGIN_SECONDS``: it assumes a request's way in plus
    another's way back never take less than that, i.e. that delays do not shrink below their
    fastest combination. After a 429 for the burst (the hourly budget not used up) the
    assumption has failed somewhere: the rest of the sync goes by the proven rule, one request
    under the limit and no credit.
    """

    def __init__(
        self,
        max_requests_per_hour: int | None,
        monotonic: Callable[[], float],
        wall_clock: Callable[[], float],
        max_wait_seconds: float = MAX_PACING_WAIT_SECONDS,
    ):
        self._max_per_hour = max_requests_per_hour
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._max_wait = max_wait_seconds
        self._lock = threading.Lock()
        self._answers: list[float] = []  # the latest BURST_LIMIT answer times, in order
        self._open: set[Slot] = set()  # reserved or in flight: may still be counted any time
        self._fastest: float | None = None  # the fastest round trip seen
        self._samples = 0
        self.proven_only = False  # after a burst 429: no credit, one under the limit
        self._hour: deque[float] = deque()
        self._last: float | None = None
        self._server_limit: int | None = None
        self._server_remaining: int | None = None
        self._server_reset_at: float | None = None  # monotonic
        self._since_observed = 0

    @property
    def hourly_limit(self) -> int | None:
        limits = [x for x in (self._max_per_hour, self._server_limit) if x]
        return min(limits) if limits else None

    @property
    def credit(self) -> float:
        """How much earlier than 2 s after an answer its window may close: the fastest round
        trip less the margin, once a full window of round trips has shown it; else none."""
        if self.proven_only or self._fastest is None or self._samples < BURST_LIMIT:
            return 0.0
        return max(0.0, self._fastest - BURST_MARGIN_SECONDS)

    def acquire(self) -> tuple[Slot | None, float]:
        """Reserve the next slot; returns it and how long to wait before sending, or ``None``
        and how long to wait before asking again (a whole window of requests in flight).

        Raises ``XurrentApiError`` (kind ``rate_limit_budget``) instead of a wait longer than
        the pacer may sleep.
        """
        with self._lock:
            now = self._monotonic()
            at, reason = self._next(now)
            if at is None:
                return None, BURST_WINDOW_SECONDS / BURST_LIMIT
            if at - now > self._max_wait:
                raise rate_limit_exhausted(at - now, reason, self._wall_clock())
            slot = Slot(at)
            self._open.add(slot)
            self._hour.append(at)
            self._last = at
            self._since_observed += 1
        return slot, max(0.0, at - now)

    def done(self, slot: Slot, sent: float | None = None) -> None:
        """The request of ``slot`` has its answer (or failed); ``sent`` is when it really went
        (None: it never did), which makes its round trip known."""
        with self._lock:
            now = max(self._monotonic(), slot.at)  # a clock that jumps back cannot shorten it
            slot.sent, slot.answered = sent, now
            self._open.discard(slot)
            insort(self._answers, now)
            del self._answers[:-BURST_LIMIT]
            if sent is not None and now >= sent:
                trip = now - sent
                self._fastest = trip if self._fastest is None else min(self._fastest, trip)
                self._samples += 1

    def throttled(self) -> bool:
        """A 429 came back. Unless the hourly budget is known to be used up, it was the burst
        limit: pace by the proven rule from now on. Returns whether that happened now."""
        with self._lock:
            left = self._budget_left(self._monotonic())
            if left is not None and left <= 0:
                return False
            switched = not self.proven_only
            self.proven_only = True
            return switched

    def hour_used_up(self, rate: RateLimit) -> bool:
        """Whether a 429 that says nothing usable about when to retry was for the hourly
        budget (``rate``: its own ``x-ratelimit-*``): it reports none left and the answers
        before it do not show budget left (a burst 429 may report 0), or they show none."""
        if rate.remaining is not None and rate.remaining > 0:
            return False
        with self._lock:
            left = self._budget_left(self._monotonic())
        return rate.remaining == 0 if left is None else left <= 0

    def _budget_left(self, now: float) -> int | None:
        """What the answers reported of the hourly budget, less the requests sent since; None
        when no answer reported it for the current window."""
        if self._server_reset_at is None or self._server_reset_at <= now:
            return None
        return self._server_remaining - self._since_observed

    def observe(self, rate: RateLimit) -> None:
        """Learn the hourly budget from an answer's ``x-ratelimit-*`` (never from a 429's: a
        burst 429 may report remaining 0 with the hourly reset, which would park every thread
        for an hour)."""
        with self._lock:
            if rate.limit:
                self._server_limit = rate.limit
            if rate.remaining is not None and rate.reset_in is not None:
                self._server_remaining = rate.remaining
                self._server_reset_at = self._monotonic() + rate.reset_in
                self._since_observed = 0

    def _burst_bound(self) -> float | None:
        """The earliest send that keeps every 2 s of the server's counts under the limit, or
        None while too many requests are in flight to tell."""
        allowed = BURST_LIMIT - 1 if self.proven_only else BURST_LIMIT
        unknown = len(self._open)
        if unknown >= allowed:
            return None
        answered = allowed - unknown  # the answer that must be old enough
        if len(self._answers) < answered:
            return float("-inf")
        return self._answers[-answered] + BURST_WINDOW_SECONDS - self.credit

    def _next(self, now: float) -> tuple[float | None, str]:
        """The earliest moment every limit allows one more request, and the binding limit."""
        burst = self._burst_bound()
        if burst is None:
            return None, "burst limit"
        candidates = [(now, "no wait"), (burst, "burst limit")]
        while self._hour and self._hour[0] <= now - HOUR_SECONDS:
            self._hour.popleft()
        limit = self.hourly_limit
        if limit is not None and len(self._hour) >= limit:
            candidates.append((self._hour[-limit] + HOUR_SECONDS, "hourly limit"))
        if self._server_reset_at is not None and self._server_reset_at > now:
            remaining = self._server_remaining - self._since_observed
            low = remaining < LOW_BUDGET_FRACTION * (self._server_limit or 0)
            if remaining <= 0:
                candidates.append((self._server_reset_at + 1.0, "hourly budget used up"))
            elif low and self._last is not None:
                interval = (self._server_reset_at - now) / remaining
                candidates.append((self._last + interval, "spreading a low budget"))
        return max(candidates)


def rate_limit_exhausted(wait: float, reason: str, now_epoch: float) -> RateLimitExhausted:
    """The sync must stop for the rate limit: say when the next request may be sent."""
    at = clock_time(now_epoch + wait)
    return RateLimitExhausted.after(
        f"the next request to Xurrent may only be sent in {wait / 60:.0f} min (at {at}; "
        f"{reason}), longer than max_rate_limit_wait_seconds. Other integrations of the same "
        "Xurrent user share its budget: give the connector its own user, or lower "
        "max_requests_per_hour",
        wait,
    )
