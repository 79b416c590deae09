"""One set of counters per stream: the progress lines and the ``sync_health`` rows read it.

The HTTP client counts each attempt of a stream's requests on that stream's ``StreamMetrics``
(requests, retries, 429s, failed attempts by kind, response times, the rate-limit budget
reported), from the threads of the stream's walks, under a lock; the sync counts rows and pages
as it writes them, on the main thread. No figure is a difference of shared totals: streams
fetched at the same time are never credited with each other's work. health.py turns the
counters into the stream's ``sync_health`` row.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime
from typing import Callable

from fivetran_connector_sdk import Logging as log

from .redact import redact

#: Error kinds that are not failed requests: flow control, and token requests (not API calls).
#: Attempts that never reached the API: the OAuth token endpoint failed or refused first.
TOKEN_KINDS = frozenset({"token_endpoint_unavailable", "token_rejected"})
NOT_FAILURES = frozenset({"throttled"}) | TOKEN_KINDS
PROGRESS_EVERY_PAGES = 25
PROGRESS_EVERY_SECONDS = 30.0


class StreamMetrics:
    """Everything measured about one stream in one sync."""

    def __init__(
        self,
        name: str,
        now: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.name = name
        self.now = now
        self._monotonic = monotonic
        self.started_at = now()
        self._started = self._last_report = monotonic()
        self._last_report_pages = 0
        self.records = self.upserted = self.deleted = self.pages = 0
        #: Values stored repaired, and records that could not become a row (repair.py).
        self.repaired_values = self.skipped_records = 0
        self.requests = self.retries = 0
        self.errors_by_kind: Counter[str] = Counter()
        self.response_seconds: list[float] = []
        self.ratelimit_limit: int | None = None
        self.ratelimit_remaining: int | None = None
        self.status: str | None = None
        self.error: str | None = None
        self.cursor_reached: str | None = None
        self.finished_at: datetime | None = None
        self._lock = threading.Lock()

    # --- what the HTTP client reports (the threads of the stream's walks) ------------------------

    def attempt(self, kind: str, seconds: float | None = None, rate=None) -> None:
        """One attempt: ``kind`` is the policy kind ("ok" on success); ``seconds`` and
        ``rate`` (the answer's ``RateLimit``) when an answer arrived. A token endpoint that
        failed or refused (``TOKEN_KINDS``) is counted by kind, not as an API request."""
        with self._lock:
            if kind != "ok":
                self.errors_by_kind[kind] += 1
            if kind in TOKEN_KINDS:
                return
            self.requests += 1
            if seconds is not None:
                self.response_seconds.append(seconds)
            if rate is not None:
                self.ratelimit_limit = rate.limit or self.ratelimit_limit
                if rate.remaining is not None:
                    self.ratelimit_remaining = rate.remaining

    def retry(self) -> None:
        with self._lock:
            self.retries += 1

    @property
    def throttled_429(self) -> int:
        return self.errors_by_kind["throttled"]

    @property
    def failed_requests(self) -> int:
        return sum(n for kind, n in self.errors_by_kind.items() if kind not in NOT_FAILURES)

    # --- what the sync reports (the main thread) ------------------------------------------------

    def started(self, mode: str, plan: str, cursor: str | None) -> None:
        how = {
            "resume": "resuming an interrupted sync",
            "incremental": "incremental sync",
            "initial": "first sync",
            "full": "full re-read of the initial window (incremental sync disabled)",
        }.get(mode, mode)
        log.info(f"{self.name}: starting, {how}; reading {plan}; saved cursor {cursor or 'none'}")

    def continued(self, reason: str, plan: str) -> None:
        log.info(f"{self.name}: {reason}; continuing with {plan}")

    def page(self, records: int, upserted: int, deleted: int, position: str | None) -> None:
        self.records += records
        self.upserted += upserted
        self.deleted += deleted
        self.pages += 1
        now = self._monotonic()
        due = self.pages - self._last_report_pages >= PROGRESS_EVERY_PAGES
        if not due and now - self._last_report < PROGRESS_EVERY_SECONDS:
            return
        self._last_report, self._last_report_pages = now, self.pages
        log.info(
            f"{self.name}: {self.records} records in {self.pages} pages, {self.requests} "
            f"requests, at {position or '-'}, rate-limit budget left {self._budget()}"
        )

    def finish(self, status: str, cursor_reached: str | None, error: BaseException | None = None):
        self.status, self.cursor_reached, self.finished_at = status, cursor_reached, self.now()
        self.error = None if error is None else redact(f"{type(error).__name__}: {error}")
        deleted = f" ({self.deleted} rows marked deleted)" if self.deleted else ""
        log.info(
            f"{self.name}: {status}, {self.records} records in {self.pages} pages{deleted}, "
            f"{self.requests} requests, {self.retries} retries, {self.throttled_429} "
            f"rate-limited (429), {self._monotonic() - self._started:.1f} s; cursor now "
            f"{cursor_reached or 'none'}"
        )

    def _budget(self) -> str:
        if self.ratelimit_remaining is None:
            return "unknown"
        return f"{self.ratelimit_remaining}/{self.ratelimit_limit or '?'}"


def log_summary(streams: list[StreamMetrics], seconds: float) -> None:
    """The last line of a sync: totals over every stream."""
    total = {
        key: sum(getattr(m, key) for m in streams)
        for key in ("records", "requests", "retries", "throttled_429")
    }
    log.info(
        f"Xurrent sync finished: {total['records']} records across {len(streams)} streams, "
        f"{total['requests']} requests, {total['retries']} retries, {total['throttled_429']} "
        f"rate-limited (429), {seconds:.1f} s"
    )
