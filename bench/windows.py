"""What the burst window really allowed: the moments the simulator counted each request.

The burst limiter refuses a request when 20 others were counted in the 2 s before it, so a
sync runs without a 429 exactly when every 21 consecutive counted requests span at least 2 s.
``CountClock`` records the moment the limiter counts each request (the limiter's own clock,
plus ``time.monotonic``, which the child's clock shares); ``window_report`` gives the tightest
span of 21 counts (its excess over 2 s is the margin the pacing left) and, joined with the
child's send and receipt times, how each round trip divided into the part before the count and
the part after it: the delays the pacer's safety assumption is about.
"""

from __future__ import annotations

import statistics
import threading
import time

from simulator.ratelimit import RateLimiter

BURST_LIMIT = 20
BURST_WINDOW_SECONDS = 2.0


class CountClock:
    """A request hook plus a limiter that notes when each request was counted.

    The hook tags the handler thread with the request's sequence number; the limiter (the
    simulator's own, unchanged) then records, for every request it lets through, its clock
    value and the monotonic time, keyed by that number.
    """

    def __init__(self):
        self._local = threading.local()
        self._lock = threading.Lock()
        self.counted: dict[int, tuple[float, float]] = {}  # seq -> (limiter time, monotonic)

    def install(self, simulator) -> None:
        clock = self

        class RecordingLimiter(RateLimiter):
            def check(self, user, config, now=None):
                now = time.time() if now is None else now
                verdict = super().check(user, config, now)
                if verdict.retry_after is None:
                    clock.note(now)
                return verdict

        simulator.limiter = RecordingLimiter()
        simulator.add_request_hook(self)

    def __call__(self, sim, info) -> None:
        self._local.seq = info["seq"]

    def note(self, now: float) -> None:
        seq = getattr(self._local, "seq", None)
        if seq is not None:
            with self._lock:
                self.counted[seq] = (now, time.monotonic())

    def clear(self) -> None:
        with self._lock:
            self.counted.clear()


def tightest_span(times: list[float], limit: int = BURST_LIMIT) -> float | None:
    """The shortest time between a counted request and the ``limit``-th one after it."""
    ordered = sorted(times)
    spans = [b - a for a, b in zip(ordered, ordered[limit:])]
    return min(span for span in spans) if spans else None


def _key(path: str, query: dict) -> tuple:
    return path, tuple(sorted(query.items()))


def split_round_trips(request_log: list[dict], counted: dict, exchanges: list[list]) -> list:
    """(before the count, after the count, round trip) in seconds per request that the
    simulator counted and the child timed, matched by path and query in order."""
    pending: dict[tuple, list] = {}
    for path, query, sent, answered, _status in exchanges:
        pending.setdefault(_key(path, query), []).append((sent, answered))
    splits = []
    for entry in sorted(request_log, key=lambda entry: entry["seq"]):
        times = pending.get(_key(entry["path"], entry["query"]))
        if not times:
            continue
        sent, answered = times.pop(0)
        if entry["seq"] in counted:
            at = counted[entry["seq"]][1]
            splits.append((at - sent, answered - at, answered - sent))
    return splits


def _ms(values: list[float]) -> dict | None:
    if not values:
        return None
    return {
        "min": min(values) * 1000,
        "median": statistics.median(values) * 1000,
        "max": max(values) * 1000,
    }


def window_report(request_log: list[dict], counted: dict, exchanges: list[list]) -> dict:
    """The tightest burst window and the round trips' split, for one sync."""
    times = [limiter_time for limiter_time, _monotonic in counted.values()]
    tightest = tightest_span(times)
    splits = split_round_trips(request_log, counted, exchanges)
    before = [split[0] for split in splits]
    after = [split[1] for split in splits]
    trips = [split[2] for split in splits]
    needed = None
    if splits:
        # The pacer credits the fastest round trip minus a constant; that is safe while any
        # request's way in plus any other's way back is at least the fastest round trip.
        needed = (min(trips) - min(before) - min(after)) * 1000
    span = (max(times) - min(times)) if len(times) > 1 else None
    return {
        "counted": len(times),
        "tightest_21_span_seconds": tightest,
        "margin_ms": None if tightest is None else (tightest - BURST_WINDOW_SECONDS) * 1000,
        "counted_per_second": None if not span else (len(times) - 1) / span,
        "matched": len(splits),
        "before_count_ms": _ms(before),
        "after_count_ms": _ms(after),
        "round_trip_ms": _ms(trips),
        "credit_shortfall_ms": needed,
    }
