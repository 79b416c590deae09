"""The prefetcher's contract: order, bounded look-ahead, errors in order, prompt stop.

Pages are fakes here (the producers run real threads); tests/integration/test_concurrent_sync.py
runs the same code against the simulator through the SDK runner.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
from fivetran_connector_sdk_common.logger import Logging

from xurrent_connector.pagination import Page, StaleLinkError
from xurrent_connector.prefetch import Prefetcher, sync_concurrently

WAIT_SECONDS = 5.0  # upper bound for conditions that should hold almost at once


@pytest.fixture(autouse=True)
def log_level():
    previous = Logging.LOG_LEVEL
    Logging.LOG_LEVEL = Logging.Level.WARNING  # the SDK logger needs a level outside a run
    yield
    Logging.LOG_LEVEL = previous


def page(n: int, last: bool = False) -> Page:
    return Page([{"id": n}], None if last else f"https://x.test/v1/p?n={n + 1}", None, n, False)


def wait_until(condition, timeout: float = WAIT_SECONDS) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


def fetcher_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("xurrent-fetch-")]


class CountingPages:
    """A walk of ``count`` pages (None: endless) that counts the pages requested so far."""

    def __init__(self, count: int | None, fail_after: int | None = None, error=None):
        self.count = count
        self.fail_after = fail_after
        self.error = error or RuntimeError("HTTP 503 after retries")
        self.requested = 0

    def __call__(self):
        n = 0
        while self.count is None or n < self.count:
            if self.fail_after is not None and n == self.fail_after:
                raise self.error
            self.requested += 1
            n += 1
            yield page(n, last=n == self.count)


def test_pages_arrive_in_order_followed_by_the_end_of_the_walk():
    with Prefetcher(pages_ahead=2) as prefetcher:
        prefetcher.start("products", CountingPages(5))
        deliveries = [prefetcher.take() for _ in range(6)]
    assert [d.page.last_id for d in deliveries[:5]] == [1, 2, 3, 4, 5]
    assert deliveries[5].finished and deliveries[5].error is None
    assert prefetcher.active == 0


def test_an_error_is_delivered_after_the_pages_fetched_before_it():
    with Prefetcher(pages_ahead=3) as prefetcher:
        prefetcher.start("products", CountingPages(10, fail_after=2))
        deliveries = [prefetcher.take() for _ in range(3)]
    assert [d.page.last_id for d in deliveries[:2]] == [1, 2]
    assert isinstance(deliveries[2].error, RuntimeError) and deliveries[2].finished


@pytest.mark.parametrize("pages_ahead", [1, 2, 3])
def test_a_walk_never_gets_more_than_pages_ahead_in_front_of_the_consumer(pages_ahead):
    walk = CountingPages(None)
    with Prefetcher(pages_ahead=pages_ahead) as prefetcher:
        prefetcher.start("products", walk)
        assert wait_until(lambda: walk.requested == pages_ahead)
        time.sleep(0.1)  # room for a (wrong) extra request; no timing is asserted
        assert walk.requested == pages_ahead
        for taken in range(1, 4):
            prefetcher.take()
            assert wait_until(lambda: walk.requested == pages_ahead + taken)
            time.sleep(0.05)
            assert walk.requested == pages_ahead + taken


def test_close_stops_a_producer_waiting_for_room_and_leaves_no_thread():
    walk = CountingPages(None)
    prefetcher = Prefetcher(pages_ahead=1)
    prefetcher.start("products", walk)
    assert wait_until(lambda: walk.requested == 1)
    prefetcher.close()
    assert wait_until(lambda: prefetcher.alive() == 0)
    assert walk.requested == 1  # no request after the stop


class FakeTable:
    """The part of sync.TableSync that sync_concurrently drives, recording what it consumed."""

    def __init__(self, name: str, walks: list, consumed: list):
        self.spec = SimpleNamespace(name=name)
        self.walks = list(walks)  # page factories, one per walk
        self.consumed = consumed
        self.restarts = 0

    def has_walk(self, tables):
        return bool(self.walks)

    def current_walk_pages(self, tables):
        return self.walks[0]

    def consume_page(self, tables, page):
        self.consumed.append((self.spec.name, page.last_id))
        if page.next_link is None:
            self.walks.pop(0)

    def restart_stale_walk(self, tables):
        self.restarts += 1
        self.walks[0] = CountingPages(2)


def test_tables_are_consumed_concurrently_each_in_its_own_order():
    consumed, done = [], []
    tables = [FakeTable(name, [CountingPages(20)], consumed) for name in ("a", "b", "c")]
    sync_concurrently(tables, {}, on_table_done=lambda t: done.append(t.spec.name))
    assert sorted(done) == ["a", "b", "c"]
    for name in ("a", "b", "c"):
        assert [n for table, n in consumed if table == name] == list(range(1, 21))
    # Interleaved: some page of "b" or "c" was consumed before the last page of "a".
    last_of_a = consumed.index(("a", 20))
    assert any(table != "a" for table, _ in consumed[:last_of_a])


def test_concurrency_limit_starts_the_next_table_when_one_finishes():
    consumed, done = [], []
    tables = [FakeTable(name, [CountingPages(3)], consumed) for name in ("a", "b", "c")]
    sync_concurrently(tables, {}, on_table_done=lambda t: done.append(t.spec.name), concurrency=1)
    assert [table for table, _ in consumed] == ["a"] * 3 + ["b"] * 3 + ["c"] * 3
    assert done == ["a", "b", "c"]


def test_stale_link_restarts_the_walk_after_consuming_the_pages_before_it():
    consumed = []
    table = FakeTable(
        "a", [CountingPages(9, fail_after=3, error=StaleLinkError("400 on a link"))], consumed
    )
    sync_concurrently([table], {}, on_table_done=lambda t: None)
    assert table.restarts == 1
    assert consumed == [("a", 1), ("a", 2), ("a", 3), ("a", 1), ("a", 2)]


def test_an_error_in_one_table_stops_the_others_promptly_and_propagates():
    consumed = []
    endless_b, endless_c = CountingPages(None), CountingPages(None)
    failing = FakeTable("a", [CountingPages(50, fail_after=2)], consumed)
    others = [FakeTable("b", [endless_b], consumed), FakeTable("c", [endless_c], consumed)]
    with pytest.raises(RuntimeError, match="HTTP 503"):
        sync_concurrently([failing] + others, {}, on_table_done=lambda t: None)
    assert ("a", 1) in consumed and ("a", 2) in consumed
    assert wait_until(lambda: not fetcher_threads())
    requested = endless_b.requested + endless_c.requested
    time.sleep(0.1)
    assert endless_b.requested + endless_c.requested == requested  # nothing after the stop
    # Whatever the others fetched before the stop was consumed in order (not thrown away).
    for name in ("b", "c"):
        numbers = [n for table, n in consumed if table == name]
        assert numbers == list(range(1, len(numbers) + 1))


def test_an_error_in_the_consumer_stops_every_producer():
    class Exploding(FakeTable):
        def consume_page(self, tables, page):
            raise ValueError("bad record")

    endless = CountingPages(None)
    with pytest.raises(ValueError):
        sync_concurrently(
            [Exploding("a", [endless], []), FakeTable("b", [CountingPages(None)], [])],
            {},
            on_table_done=lambda t: None,
        )
    assert wait_until(lambda: not fetcher_threads())
