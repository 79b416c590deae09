"""Fetch pages on background threads while the main thread upserts them.

A sync's wall time is dominated by waiting: for the network (latency per request) and for the
rate limiter (20 requests per 2 s, 3,600 an hour). Upserting a page costs CPU on the SDK's side.
Done one after the other, a sync costs the *sum* of the two; overlapped, it costs about the
*larger*. This module overlaps them:

* one producer thread per table walks that table's current query with ``iter_pages`` (the
  fetch side, unchanged) and hands each page to the consumer through a shared outbox. A
  per-table semaphore of ``PAGES_AHEAD`` slots is taken *before* a page is requested, so a table
  never has more than that many pages fetched but not yet taken (memory stays flat, and no
  request is spent on a page that a failure would throw away anyway);
* the consumer is the only thread that calls ``op.upsert``/``op.checkpoint`` (it is the thread
  that called ``update()``). It takes pages from every active table in the order they arrive,
  so tables sync concurrently and each table's state advances independently. Every checkpoint
  serialises all tables' states, and each of those reflects only pages already upserted,
  which is what makes a resume safe;
* a producer's exception is delivered through the same outbox *after* the pages it fetched
  before failing, so the consumer has upserted and checkpointed everything before it sees the
  error. ``StaleLinkError`` keeps its meaning (restart the walk from the saved position);
* all producers share the one ``XurrentClient`` and hence its one ``RequestPacer``: three
  concurrent walks together stay under the same burst and hourly limits as one would.

Stopping: producers are daemon threads that look at a stop event before every request, so
when the sync fails (in any table, or in the consumer) the others stop promptly and no thread
can keep the process alive. A request already in flight finishes (it is bounded by the
client's timeout) and its page is dropped.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Iterable, Iterator, Protocol

from fivetran_connector_sdk import Logging as log

from .pagination import Page, StaleLinkError

#: Tables fetched at the same time. Every configured table gets its own fetcher (there are
#: three); the bench reads this name to compute the latency floor.
CONCURRENCY = 3
#: Pages a table may have fetched ahead of the consumer (including the one being requested).
#: Two is double buffering: one page waits while the consumer upserts another.
PAGES_AHEAD = 2
#: How long closing waits for producers to notice the stop (they are daemons either way).
JOIN_SECONDS = 1.0


@dataclass(frozen=True)
class Delivery:
    """One item from a producer: a page, the error that ended its walk, or the walk's end."""

    key: Hashable
    page: Page | None = None
    error: BaseException | None = None

    @property
    def finished(self) -> bool:
        """True for the last delivery of a walk (its end or its error)."""
        return self.page is None


class _Producer(threading.Thread):
    """Runs one walk's page iterator and posts every page (then the end or the error)."""

    def __init__(
        self,
        key: Hashable,
        pages: Callable[[], Iterable[Page]],
        outbox: queue.SimpleQueue,
        stop: threading.Event,
        pages_ahead: int,
    ):
        super().__init__(name=f"xurrent-fetch-{key}", daemon=True)
        self.key = key
        self._pages = pages
        self._outbox = outbox
        self._stop_event = stop
        self.slots = threading.Semaphore(pages_ahead)

    def run(self) -> None:
        try:
            iterator: Iterator[Page] = iter(self._pages())
            while self._take_slot():
                try:
                    page = next(iterator)
                except StopIteration:
                    self._outbox.put(Delivery(self.key))
                    return
                if self._stop_event.is_set():
                    return  # the sync is over; nobody will take this page
                self._outbox.put(Delivery(self.key, page=page))
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, in order
            if not self._stop_event.is_set():
                self._outbox.put(Delivery(self.key, error=error))

    def _take_slot(self) -> bool:
        """Wait for room ahead of the consumer; False once the sync is stopping.

        No polling: ``Prefetcher.stop`` releases a slot of every producer to wake it.
        """
        if self._stop_event.is_set():
            return False
        self.slots.acquire()
        return not self._stop_event.is_set()


class Prefetcher:
    """Producer threads behind one outbox; use as a context manager so they always stop.

    ``start(key, pages)`` begins a walk (``pages`` is called on the producer thread and returns
    the page iterator); ``take()`` returns the next delivery of any active walk. A key has at
    most one walk at a time; after its finishing delivery it may be started again.
    """

    def __init__(self, pages_ahead: int = PAGES_AHEAD):
        if pages_ahead < 1:
            raise ValueError("pages_ahead must be at least 1")
        self.pages_ahead = pages_ahead
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self._producers: dict[Hashable, _Producer] = {}
        self._all: list[_Producer] = []

    def __enter__(self) -> "Prefetcher":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def active(self) -> int:
        """Walks started and not yet finished (as seen by the consumer)."""
        return len(self._producers)

    def start(self, key: Hashable, pages: Callable[[], Iterable[Page]]) -> None:
        if key in self._producers:
            raise RuntimeError(f"a walk for {key!r} is already running")
        if self._stop.is_set():
            raise RuntimeError("the prefetcher is closed")
        producer = _Producer(key, pages, self._outbox, self._stop, self.pages_ahead)
        self._producers[key] = producer
        self._all.append(producer)
        producer.start()

    def take(self) -> Delivery:
        """The next page, end or error of any active walk (blocks until one is ready)."""
        if not self._producers:
            raise RuntimeError("no walk is running")
        delivery: Delivery = self._outbox.get()
        producer = self._producers[delivery.key]
        if delivery.finished:
            del self._producers[delivery.key]
        else:
            producer.slots.release()
        return delivery

    def take_ready(self) -> Iterator[Delivery]:
        """Deliveries already waiting, without blocking (used to salvage pages on failure)."""
        while self._producers:
            try:
                delivery = self._outbox.get_nowait()
            except queue.Empty:
                return
            if delivery.finished:
                self._producers.pop(delivery.key, None)
            yield delivery

    def stop(self) -> None:
        """Tell every producer to stop before its next request (waking any that wait)."""
        if self._stop.is_set():
            return
        self._stop.set()
        for producer in self._all:
            producer.slots.release()

    def close(self) -> None:
        """Stop every producer and give them a moment to exit (they are daemons anyway)."""
        self.stop()
        for producer in self._all:
            producer.join(JOIN_SECONDS / max(1, len(self._all)))

    def alive(self) -> int:
        """Producer threads still running (for tests: zero soon after ``close``)."""
        return sum(producer.is_alive() for producer in self._all)


class ConcurrentTable(Protocol):
    """What ``sync_concurrently`` needs from one table's sync (``sync.TableSync``)."""

    spec: Any

    def has_walk(self, tables: dict) -> bool: ...

    def current_walk_pages(self, tables: dict) -> Callable[[], Iterable[Page]]: ...

    def consume_page(self, tables: dict, page: Page) -> None: ...

    def restart_stale_walk(self, tables: dict) -> None: ...


def sync_concurrently(
    table_syncs: list[ConcurrentTable],
    tables: dict,
    *,
    on_table_done: Callable[[ConcurrentTable], None],
    concurrency: int = CONCURRENCY,
    pages_ahead: int = PAGES_AHEAD,
) -> None:
    """Run every table's walks with prefetching; the calling thread upserts and checkpoints.

    At most ``concurrency`` tables fetch at once; the next configured table starts when one
    finishes. When a table's walk ends and its state holds a successor walk (a capped walk's
    continuation), that walk starts right away; a refused next link (``StaleLinkError``)
    restarts from the saved position exactly as the sequential loop does. Any other error stops
    every producer, upserts and checkpoints the pages other tables had already fetched (their
    requests are not wasted), then propagates.
    """
    waiting = list(table_syncs)
    by_key = {table_sync.spec.name: table_sync for table_sync in table_syncs}
    concurrency = max(1, concurrency)
    with Prefetcher(pages_ahead) as prefetcher:

        def start_next_tables() -> None:
            while waiting and prefetcher.active < concurrency:
                table_sync = waiting.pop(0)
                if table_sync.has_walk(tables):
                    prefetcher.start(table_sync.spec.name, table_sync.current_walk_pages(tables))
                else:
                    on_table_done(table_sync)

        start_next_tables()
        fetching = prefetcher.active
        if fetching > 1:
            log.info(
                f"Fetching {fetching} tables concurrently, up to {pages_ahead} pages ahead per "
                "table, sharing one rate limiter"
            )
        while prefetcher.active:
            delivery = prefetcher.take()
            table_sync = by_key[delivery.key]
            if delivery.page is not None:
                table_sync.consume_page(tables, delivery.page)
                continue
            if delivery.error is not None:
                if not isinstance(delivery.error, StaleLinkError):
                    _salvage_then_raise(prefetcher, by_key, tables, delivery.error)
                table_sync.restart_stale_walk(tables)
            if table_sync.has_walk(tables):
                prefetcher.start(delivery.key, table_sync.current_walk_pages(tables))
            else:
                on_table_done(table_sync)
                start_next_tables()


def _salvage_then_raise(
    prefetcher: Prefetcher, by_key: dict, tables: dict, error: BaseException
) -> None:
    """Stop fetching, keep the pages other tables already paid for, then re-raise ``error``.

    Pages in the outbox were fetched before the failure and belong to walks whose earlier pages
    were all consumed, so upserting them in order and checkpointing is as safe as it would have
    been without the failure; it only spares the next sync those requests.
    """
    prefetcher.stop()
    try:
        for delivery in prefetcher.take_ready():
            if delivery.page is not None:
                by_key[delivery.key].consume_page(tables, delivery.page)
    except Exception:  # noqa: BLE001 - the first failure is the one to report
        pass
    raise error
