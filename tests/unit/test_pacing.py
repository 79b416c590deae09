"""The request pacer on its own, on a fake clock: the burst window as the server counts it,
the credit of the fastest round trip, the proven rule after a burst 429, and the hourly budget
(``max_requests_per_hour``, the server's limit, a low budget spread until the reset).

How the client uses it against the simulator is tested in test_http.py.
"""

from __future__ import annotations

import threading

import pytest
from testkit import FakeClock, sends_per_window

from xurrent_connector.errors import RateLimitExhausted
from xurrent_connector.pacing import BURST_LIMIT, BURST_MARGIN_SECONDS, Pacer, RateLimit


def send(pacer: Pacer, clock: FakeClock, round_trip: float = 0.0) -> float:
    """What the client does around one request: take a slot, wait, send, note the answer."""
    slot, wait = pacer.acquire()
    if wait:
        clock.sleep(wait)
    sent = clock.monotonic()
    clock.advance(round_trip)
    pacer.done(slot, sent)
    return sent


def send_at_once(pacer: Pacer, clock: FakeClock, count: int, round_trip: float) -> list:
    """``count`` requests sent together (many threads) and answered ``round_trip`` later."""
    slots = [pacer.acquire()[0] for _ in range(count)]
    sent = clock.monotonic()
    clock.advance(round_trip)
    for slot in slots:
        pacer.done(slot, sent)
    return slots


def new_pacer(clock: FakeClock, max_requests_per_hour=None, **options) -> Pacer:
    return Pacer(max_requests_per_hour, clock.monotonic, clock.time, **options)


def observe_budget(pacer: Pacer, clock: FakeClock, remaining: int, reset_in: float) -> None:
    headers = {
        "x-ratelimit-limit": "3600",
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-reset": str(int(clock.time() + reset_in)),
    }
    pacer.observe(RateLimit.of(headers, clock.time()))


def test_burst_pacing_keeps_20_per_2_seconds(clock):
    pacer = new_pacer(clock)
    start = clock.now
    sends = [send(pacer, clock) - start for _ in range(100)]
    assert sends_per_window(sends, 2.0) == 20
    assert sends[19] == 0.0 and sends[20] == pytest.approx(2.0)  # the 21st waits for the window
    # One wait per further group of 20: the rest of each group goes when the window opens.
    assert clock.sleeps == [pytest.approx(2.0)] * 4


def test_a_window_closes_2_s_after_an_answer_less_the_fastest_round_trip_and_margin(clock):
    pacer = new_pacer(clock)
    start = clock.now
    send_at_once(pacer, clock, 20, round_trip=0.3)  # answered at start + 0.3
    assert pacer.credit == pytest.approx(0.3 - BURST_MARGIN_SECONDS)
    _slot, wait = pacer.acquire()
    # The server counted them before start + 0.3 and counts the next after its send plus
    # (by the assumption) the fastest round trip less the margin.
    assert clock.now + wait == pytest.approx(start + 0.3 + 2.0 - 0.3 + BURST_MARGIN_SECONDS)


def test_the_fastest_round_trip_sets_the_credit(clock):
    pacer = new_pacer(clock)
    send_at_once(pacer, clock, 10, round_trip=0.5)
    send_at_once(pacer, clock, 10, round_trip=0.1)
    send_at_once(pacer, clock, 10, round_trip=0.9)
    assert pacer.credit == pytest.approx(0.1 - BURST_MARGIN_SECONDS)


def test_no_credit_until_a_window_of_round_trips_was_seen(clock):
    pacer = new_pacer(clock)
    send_at_once(pacer, clock, BURST_LIMIT - 1, round_trip=0.3)
    assert pacer.credit == 0.0
    send_at_once(pacer, clock, 1, round_trip=0.3)
    assert pacer.credit == pytest.approx(0.3 - BURST_MARGIN_SECONDS)


def test_requests_without_a_known_send_give_no_credit(clock):
    pacer = new_pacer(clock)
    for _ in range(40):
        slot, _wait = pacer.acquire()
        clock.advance(0.3)
        pacer.done(slot)  # e.g. the token could not be fetched: never sent
    assert pacer.credit == 0.0


def test_requests_in_flight_count_until_answered(clock):
    pacer = new_pacer(clock)
    start = clock.now
    slots = [pacer.acquire()[0] for _ in range(BURST_LIMIT)]
    # A whole window in flight: no slot at all, only a short wait before asking again.
    slot, wait = pacer.acquire()
    assert slot is None and 0 < wait < 0.5
    clock.advance(0.4)
    for slot in slots[1:]:
        pacer.done(slot, start)
    # 19 answered at start + 0.4, the first still in flight: it may be counted at any moment,
    # so the next request goes 2 s after the answers, as if it had been counted with them.
    next_slot, wait = pacer.acquire()
    assert next_slot is not None
    assert clock.now + wait == pytest.approx(start + 0.4 + 2.0)


def test_a_burst_429_switches_to_the_proven_rule_for_the_rest_of_the_sync(clock):
    pacer = new_pacer(clock)
    observe_budget(pacer, clock, remaining=3000, reset_in=3000)
    send_at_once(pacer, clock, 20, round_trip=0.3)
    assert pacer.credit > 0
    assert pacer.throttled() is True  # plenty of hourly budget left: the burst limit
    assert pacer.proven_only and pacer.credit == 0.0
    assert pacer.throttled() is False  # already switched
    # One under the limit, from the answers: 19 per 2 s after the last 19 answers.
    start = clock.now
    sends = [send(pacer, clock) - start for _ in range(60)]
    assert sends_per_window(sends, 2.0) == 19
    observe_budget(pacer, clock, remaining=3000, reset_in=3000)
    send_at_once(pacer, clock, 19, round_trip=0.3)
    assert pacer.proven_only and pacer.credit == 0.0  # for good


def test_a_429_with_the_hourly_budget_used_up_keeps_the_fast_rule(clock):
    pacer = new_pacer(clock)
    send_at_once(pacer, clock, 20, round_trip=0.3)
    observe_budget(pacer, clock, remaining=0, reset_in=120)
    assert pacer.throttled() is False
    assert not pacer.proven_only and pacer.credit > 0


def test_a_429_before_any_budget_is_known_counts_as_a_burst_429(clock):
    pacer = new_pacer(clock)
    assert pacer.throttled() is True and pacer.proven_only


def test_no_wait_when_requests_are_naturally_slow(clock):
    pacer = new_pacer(clock)
    for _ in range(50):
        slot, wait = pacer.acquire()
        assert wait == 0.0
        clock.advance(0.2)
        pacer.done(slot)
    assert clock.sleeps == []


def test_max_requests_per_hour_is_never_exceeded_in_a_rolling_hour(clock):
    pacer = new_pacer(clock, 30)
    sends = [send(pacer, clock) for _ in range(75)]
    assert sends_per_window(sends, 3600.0) == 30
    assert sends[30] == pytest.approx(sends[0] + 3600.0)  # the 31st waits for the hour
    assert any(seconds > 3000 for seconds in clock.sleeps)


def test_server_limit_lowers_the_effective_hourly_limit(clock):
    pacer = new_pacer(clock, 1000)
    assert pacer.hourly_limit == 1000
    pacer.observe(RateLimit(limit=40))
    assert pacer.hourly_limit == 40
    other = new_pacer(clock, 10)
    other.observe(RateLimit(limit=3600))
    assert other.hourly_limit == 10


def test_low_remaining_budget_is_spread_until_the_reset(clock):
    pacer = new_pacer(clock)
    start = clock.now
    observe_budget(pacer, clock, remaining=100, reset_in=1000)  # below the 20 % watermark
    sends = [send(pacer, clock) - start for _ in range(100)]
    # Evenly spread: the 100 requests use most of the 1000 s instead of bursting at 9.5/s.
    assert sends[-1] == pytest.approx(1000.0, rel=0.1)
    gaps = [b - a for a, b in zip(sends, sends[1:])]
    assert min(gaps) >= 9.0
    assert len(clock.sleeps) >= 99


def test_plenty_of_budget_is_not_spread(clock):
    pacer = new_pacer(clock)
    observe_budget(pacer, clock, remaining=3000, reset_in=3000)
    for _ in range(19):
        send(pacer, clock)
    assert clock.sleeps == []


def test_exhausted_budget_waits_for_the_reset(clock):
    pacer = new_pacer(clock)
    observe_budget(pacer, clock, remaining=0, reset_in=120)
    slot, wait = pacer.acquire()
    assert 120.0 <= wait <= 122.0
    clock.sleep(wait)
    pacer.done(slot)
    # After the reset, the stale observation no longer holds anything back.
    assert pacer.acquire()[1] == 0.0


def test_waits_longer_than_the_maximum_raise_instead_of_sleeping(clock):
    pacer = new_pacer(clock, max_wait_seconds=300)
    observe_budget(pacer, clock, remaining=0, reset_in=1800)
    with pytest.raises(RateLimitExhausted) as caught:
        pacer.acquire()
    message = str(caught.value)
    assert caught.value.kind == "rate_limit_exhausted"
    assert caught.value.wait_seconds == pytest.approx(1801, abs=1)
    assert "in 30 min" in message and "hourly budget used up" in message
    assert "max_requests_per_hour" in message
    # The refused request took no slot: with a fresh budget, 19 requests go without a wait.
    observe_budget(pacer, clock, remaining=3000, reset_in=3000)
    for _ in range(19):
        assert pacer.acquire()[1] == 0.0


def test_threads_share_one_pacer_without_exceeding_the_burst(clock):
    # Time stands still: what counts are the reserved slot times, each answered at its time.
    pacer = Pacer(None, lambda: 0.0, clock.time)
    lock = threading.Lock()
    reserved = []

    def worker():
        for _ in range(25):
            slot, _wait = pacer.acquire()
            with lock:
                reserved.append(slot.at)
            pacer.done(slot, slot.at)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(reserved) == 100
    assert sends_per_window(sorted(reserved), 2.0) == 20


def test_burst_window_counts_from_the_answer_without_credit(clock):
    """A slow first batch must not let the next batch reach the server early."""
    pacer = new_pacer(clock)
    slots = [pacer.acquire()[0] for _ in range(20)]  # all sent at once ...
    clock.advance(0.5)
    for slot in slots:
        pacer.done(slot)  # ... and answered 0.5 s later
    _slot, wait = pacer.acquire()
    assert wait == pytest.approx(2.0)  # 2 s after the first answer, not 1.5 s (after its send)


def test_done_never_moves_a_slot_backwards(clock):
    pacer = new_pacer(clock)
    clock.now = 5.0
    slot, _wait = pacer.acquire()
    clock.now = 1.0  # a misbehaving clock must not shorten the window
    pacer.done(slot)
    assert slot.answered == 5.0
