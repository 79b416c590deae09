"""The two documented rate limiters: an hourly budget and a short-burst limiter.

Hourly: a fixed one-hour window per token user that starts with the user's first request
(x-ratelimit-reset is the window end); the docs describe a per-user hourly budget of 3600 without
saying rolling or fixed, and a fixed window makes the reset header exact. Burst: at most N requests
in any sliding window of W seconds (SDKs document 20 per 2 s). Rejected requests do not consume
budget, so a client that honours Retry-After always makes progress.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate


@dataclass
class Verdict:
    """Outcome of a rate-limit check: headers to send and, if refused, the wait in seconds."""

    headers: dict
    retry_after: float | None = None


class RateLimiter:
    def __init__(self):
        self.lock = threading.Lock()
        self.windows: dict[str, list] = {}  # user -> [window_start, used]
        self.bursts: dict[str, collections.deque] = {}

    def reset(self):
        with self.lock:
            self.windows.clear()
            self.bursts.clear()

    def check(self, user: str, config, now: float | None = None) -> Verdict:
        """Count one request of ``user`` or refuse it; headers carry the captured mixed-case
        names (X-RateLimit-Limit/-Remaining/-Reset) and, on a refusal, Retry-After."""
        now = time.time() if now is None else now
        hourly = config.hourly_limit if config.rate_limit else None
        burst = config.burst_limit if config.rate_limit else None
        with self.lock:
            window = self.windows.get(user)
            if window is None or now >= window[0] + 3600:
                window = self.windows[user] = [now, 0]
            reset = int(math.ceil(window[0] + 3600))
            retry_after = None
            if hourly is not None and window[1] >= hourly:
                retry_after = max(1.0, reset - now)  # exhausted: wait for the window to reset
            stamps = self._stamps(user, now, config.burst_window_seconds)
            if retry_after is None and burst is not None and len(stamps) >= burst:
                retry_after = max(1.0, stamps[0] + config.burst_window_seconds - now)
            if retry_after is None:
                window[1] += 1
                stamps.append(now)
            headers = _limit_headers(hourly, window[1], reset, retry_after)
            burst = retry_after is not None and (hourly is None or window[1] < hourly)
            if burst and config.burst_429_budget == "actual":
                headers = _limit_headers(hourly, window[1], reset, None)  # the hour as it is
        if retry_after is not None:
            headers["Retry-After"] = retry_after_value(retry_after, config, now)
        return Verdict(headers, retry_after)

    def report(self, user: str, config, now: float) -> dict:
        """The x-ratelimit-* headers of ``user``'s hour as it stands, counting nothing (what
        an injected 429 reports with ``burst_429_budget="actual"``)."""
        hourly = config.hourly_limit if config.rate_limit else None
        if hourly is None:
            return {}
        with self.lock:
            start, used = self.windows.get(user) or [now, 0]
        if now >= start + 3600:
            start, used = now, 0
        return _limit_headers(hourly, used, int(math.ceil(start + 3600)), None)

    def _stamps(self, user: str, now: float, span: float) -> collections.deque:
        """The user's request times inside the sliding burst window."""
        stamps = self.bursts.setdefault(user, collections.deque())
        while stamps and stamps[0] <= now - span:
            stamps.popleft()
        return stamps


def _limit_headers(hourly, used: int, reset: int, retry_after) -> dict:
    if hourly is None:
        if retry_after is None:
            return {}
        return {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}
    remaining = 0 if retry_after else max(0, hourly - used)
    return {
        "X-RateLimit-Limit": str(hourly),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(reset),
    }


def retry_after_value(seconds: float, config, now: float | None = None) -> str:
    """Retry-After as integer seconds (rounded up) or as an HTTP-date."""
    now = time.time() if now is None else now
    whole = int(math.ceil(seconds))
    if config.retry_after_format == "http-date":
        return formatdate(now + whole, usegmt=True)
    return str(whole)
