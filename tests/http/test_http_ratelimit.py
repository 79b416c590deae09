"""Retry-After parsing, 429 wait computation and the request pacer's decisions (fake clock)."""

import threading
from email.utils import formatdate

import pytest
from requests.structures import CaseInsensitiveDict

from xurrent_connector.ratelimit import (
    PacingLimitExceeded,
    RequestPacer,
    parse_retry_after,
    seconds_until_reset,
    throttle_wait_seconds,
)

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    "value, expected",
    [
        ("7", 7.0),
        (" 12 ", 12.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        (formatdate(NOW + 30, usegmt=True), 30.0),
        (formatdate(NOW + 3600, usegmt=True), 3600.0),
        (formatdate(NOW - 100, usegmt=True), 0.0),  # a date in the past: go now
    ],
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, NOW) == pytest.approx(expected)


@pytest.mark.parametrize("garbage", [None, "", "   ", "soon", "nan", "inf", "Fri, 99 Foo 20x"])
def test_parse_retry_after_garbage_is_none(garbage):
    assert parse_retry_after(garbage, NOW) is None


def test_parse_retry_after_accepts_rfc850_and_asctime_dates():
    # 2027-01-15T08:00:00Z
    epoch = 1_800_000_000.0
    assert parse_retry_after("Friday, 15-Jan-27 08:00:10 GMT", epoch) == pytest.approx(10.0)
    assert parse_retry_after("Fri Jan 15 08:00:20 2027", epoch) == pytest.approx(20.0)
    assert parse_retry_after("Fri, 15 Jan 2027 09:00:30 +0100", epoch) == pytest.approx(30.0)


@pytest.mark.parametrize(
    "value, expected",
    [
        (str(int(NOW + 90)), 90.0),
        ("45", 45.0),
        (str(int(NOW - 5)), 0.0),
        ("x", None),
        (None, None),
    ],
)
def test_seconds_until_reset(value, expected):
    assert seconds_until_reset(value, NOW) == expected


@pytest.mark.parametrize(
    "headers, expected",
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": formatdate(NOW + 20, usegmt=True)}, 20.0),
        ({"Retry-After": "600"}, 60.0),  # capped
        ({"Retry-After": formatdate(NOW + 7200, usegmt=True)}, 60.0),  # capped
        ({"Retry-After": "0"}, 1.0),  # floored: no tight loop
        ({"Retry-After": formatdate(NOW - 60, usegmt=True)}, 1.0),  # past date, floored
        ({"Retry-After": "garbage", "x-ratelimit-reset": str(int(NOW + 8))}, 8.0),
        ({"x-ratelimit-reset": str(int(NOW + 8))}, 8.0),
        ({"x-ratelimit-reset": str(int(NOW + 3000))}, 60.0),
        ({}, 5.0),  # the default
    ],
)
def test_throttle_wait_seconds(headers, expected):
    assert throttle_wait_seconds(CaseInsensitiveDict(headers), NOW) == pytest.approx(expected)


class Clock:
    def __init__(self):
        self.now = 0.0
        self.wall = NOW
        self.slept = []

    def monotonic(self):
        return self.now

    def time(self):
        return self.wall + self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def pacer(clock, **kwargs):
    return RequestPacer(
        monotonic=clock.monotonic, wall_clock=clock.time, sleep=clock.sleep, **kwargs
    )


def sends_per_window(send_times, window):
    """Largest number of sends inside any half-open window of the given length."""
    best = 0
    for i, start in enumerate(send_times):
        best = max(best, sum(1 for t in send_times[i:] if t < start + window))
    return best


def test_burst_pacing_keeps_19_per_2_seconds():
    clock = Clock()
    limiter = pacer(clock)
    sends = []
    for _ in range(100):
        limiter.acquire()
        sends.append(clock.now)
    assert sends_per_window(sends, 2.0) == 19
    assert sends[18] == 0.0 and sends[19] == pytest.approx(2.0)  # the 20th waits for the window
    stats = limiter.snapshot()
    # One wait per further group of 19: the rest of each group goes when the window opens.
    assert stats["burst_waits"] == 5 and len(clock.slept) == 5
    assert stats["sleep_seconds"] == pytest.approx(sum(clock.slept))


def test_no_wait_when_requests_are_naturally_slow():
    clock = Clock()
    limiter = pacer(clock)
    for _ in range(50):
        assert limiter.acquire().waited_seconds == 0.0
        clock.now += 0.2
    assert clock.slept == []


def test_max_requests_per_hour_is_never_exceeded_in_a_rolling_hour():
    clock = Clock()
    limiter = pacer(clock, max_requests_per_hour=30)
    sends = []
    for _ in range(75):
        limiter.acquire()
        sends.append(clock.now)
    assert sends_per_window(sends, 3600.0) == 30
    assert sends[30] >= sends[0] + 3600.0
    assert limiter.snapshot()["hourly_window_waits"] > 0


def test_server_limit_lowers_the_effective_hourly_limit():
    clock = Clock()
    limiter = pacer(clock, max_requests_per_hour=1000)
    assert limiter.effective_hourly_limit == 1000
    limiter.observe({"x-ratelimit-limit": "40"})
    assert limiter.effective_hourly_limit == 40
    limiter2 = pacer(clock, max_requests_per_hour=10)
    limiter2.observe({"x-ratelimit-limit": "3600"})
    assert limiter2.effective_hourly_limit == 10


def test_low_remaining_budget_is_spread_until_the_reset():
    clock = Clock()
    limiter = pacer(clock)
    # 100 left of 3600 (below the 20 % watermark), window resets in 1000 s.
    limiter.observe(
        {
            "x-ratelimit-limit": "3600",
            "x-ratelimit-remaining": "100",
            "x-ratelimit-reset": str(int(clock.time() + 1000)),
        }
    )
    sends = []
    for _ in range(100):
        limiter.acquire()
        sends.append(clock.now)
    # Evenly spread: the 100 requests use most of the 1000 s instead of bursting at 9.5/s.
    assert sends[-1] == pytest.approx(1000.0, rel=0.1)
    gaps = [b - a for a, b in zip(sends, sends[1:])]
    assert min(gaps) >= 9.0
    assert limiter.snapshot()["spread_waits"] >= 99


def test_plenty_of_budget_is_not_spread():
    clock = Clock()
    limiter = pacer(clock)
    limiter.observe(
        {
            "x-ratelimit-limit": "3600",
            "x-ratelimit-remaining": "3000",
            "x-ratelimit-reset": str(int(clock.time() + 3000)),
        }
    )
    for _ in range(19):
        limiter.acquire()
    assert clock.slept == []


def test_exhausted_budget_waits_for_the_reset():
    clock = Clock()
    limiter = pacer(clock)
    limiter.observe(
        {
            "x-ratelimit-limit": "3600",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(int(clock.time() + 120)),
        }
    )
    waited = limiter.acquire().waited_seconds
    assert 120.0 <= waited <= 122.0
    assert limiter.snapshot()["reset_waits"] == 1
    # After the reset, the stale observation no longer holds anything back.
    assert limiter.acquire().waited_seconds == 0.0


def test_waits_longer_than_the_maximum_raise_instead_of_sleeping():
    clock = Clock()
    limiter = pacer(clock, max_wait_seconds=300)
    limiter.observe(
        {
            "x-ratelimit-limit": "3600",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(int(clock.time() + 1800)),
        }
    )
    with pytest.raises(PacingLimitExceeded) as caught:
        limiter.acquire()
    assert caught.value.wait_seconds > 300
    assert clock.slept == []


def test_threads_share_one_pacer_without_exceeding_the_burst():
    clock = Clock()
    lock = threading.Lock()
    # Time stands still and sleeping is a no-op: what counts are the reserved slot times.
    limiter = RequestPacer(monotonic=lambda: 0.0, wall_clock=clock.time, sleep=lambda s: None)
    reserved = []

    def worker():
        for _ in range(25):
            slot = limiter.acquire()
            with lock:
                reserved.append(slot.at)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(reserved) == 100
    assert sends_per_window(sorted(reserved), 2.0) == 19
    assert limiter.snapshot()["slots"] == 100


def test_burst_window_counts_from_the_response_not_the_send():
    """A slow first batch must not let the next batch reach the server early."""
    clock = Clock()
    limiter = pacer(clock)
    slots = [limiter.acquire() for _ in range(19)]  # all sent at t=0
    clock.now = 0.5
    for slot in slots:
        limiter.complete(slot)  # ... and answered at t=0.5
    limiter.acquire()
    assert clock.now == pytest.approx(2.5)  # 2 s after the first answer, not after its send


def test_complete_never_moves_a_slot_backwards():
    clock = Clock()
    limiter = pacer(clock)
    clock.now = 5.0
    slot = limiter.acquire()
    clock.now = 1.0  # a misbehaving clock must not shorten the window
    limiter.complete(slot)
    assert slot.at == 5.0
