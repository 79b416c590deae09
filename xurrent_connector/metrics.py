"""One set of counters per stream: the progress lines and the ``sync_health`` rows read it.

The HTTP client counts each attempt of a stream's requests on that stream's ``StreamMetrics``
(requests, retries, 429s, failed attempts by kind, response times, the rate-limit budget
reported), from the threads of the stream's walks, under a lock; the sync counts rows and pages
as it writes them, on the main thread. No figure is a difference of shared totals: streams
fetched at the same time are never credited with each other's work.

Why a table and not only log lines: Fivetran keeps logs for a short time and nobody alerts on
them, while ``sync_health`` can be queried, trended and alerted on in the warehouse (the dbt
package in dbt/ does). Error rate = failed attempts / attempts; 429s are not failures (they are
the API's flow control, waited out on their own budget, reported as ``throttled_429``).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime
from typing import Callable, Mapping

from fivetran_connector_sdk import Logging as log

from .redact import redact
from .streams import format_utc

HEALTH_TABLE = "sync_health"
SUCCEEDED, FAILED, RATE_LIMITED = "succeeded", "failed", "rate_limited"
#: Error kinds that are not failed requests: flow control, and token requests (not API calls).
NOT_FAILURES = frozenset({"throttled", "token_endpoint_unavailable", "token_rejected"})
PROGRESS_EVERY_PAGES = 25
PROGRESS_EVERY_SECONDS = 30.0

#: Every column of ``sync_health``: name, SDK type, what it holds. The documentation of the
#: table (docs/tables.md) is generated from this (tools/generate_docs.py).
HEALTH_COLUMNS_TABLE = """
sync_id              STRING        a UUID per sync; order syncs by `sync_started_at`
table_name           STRING        the stream: a table, or `archive` / `trash`
status               STRING        `succeeded`, `failed`, or `rate_limited` (stopped for the budget)
error                STRING        why it failed, secrets removed (or why another stream stopped it)
sync_started_at      UTC_DATETIME  when the sync started
started_at           UTC_DATETIME  when this stream started
finished_at          UTC_DATETIME  when this stream finished or failed
duration_seconds     DOUBLE        `finished_at - started_at`
rows_upserted        LONG          rows written to the table
rows_deleted         LONG          projects marked deleted (archive and trash)
pages                LONG          pages read
requests             LONG          HTTP attempts, retries included
retries              LONG          attempts repeated after a failure or a 429
throttled_429        LONG          answers 429 (rate limited), waited out and retried
failed_requests      LONG          failed attempts: 5xx, timeouts, drops, malformed bodies, 4xx (not 429s)
error_rate           DOUBLE        `failed_requests / requests`
errors_by_kind       JSON          failed attempts and 429s by kind, e.g. `{"server_error": 2}`
mean_response_ms     DOUBLE        mean response time
p_95_response_ms     DOUBLE        95th percentile response time
ratelimit_limit      LONG          the API's hourly request budget (`x-ratelimit-limit`)
ratelimit_remaining  LONG          what was left of it after the stream's last answer
cursor_reached       UTC_DATETIME  where the next sync continues (failed: the last committed row)
api_host             STRING        the API host the sync read from
account_id           STRING        the configured account (`X-Xurrent-Account`)
api_user_id          LONG          the API user the credentials belong to (`GET /v1/me`)
api_user_name        STRING        that user's name (both empty without the token's 'me' scope)
credentials          STRING        `primary`, or `backup` after the primary ones were refused
"""
HEALTH_COLUMNS: dict[str, tuple[str, str]] = {
    name: (kind, meaning)
    for name, kind, meaning in (
        line.split(maxsplit=2) for line in HEALTH_COLUMNS_TABLE.strip().splitlines()
    )
}


def health_schema() -> dict:
    """The ``schema()`` entry of ``sync_health`` (one row per stream and sync)."""
    return {
        "table": HEALTH_TABLE,
        "primary_key": ["sync_id", "table_name"],
        "columns": {name: kind for name, (kind, _) in HEALTH_COLUMNS.items()},
    }


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    return int(value) if value is not None and value.strip().isdigit() else None


class StreamMetrics:
    """Everything measured about one stream in one sync."""

    def __init__(
        self,
        name: str,
        now: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.name = name
        self._now = now
        self._monotonic = monotonic
        self.started_at = now()
        self._started = self._last_report = monotonic()
        self._last_report_pages = 0
        self.records = self.upserted = self.deleted = self.pages = 0
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

    def request(self, kind: str, seconds: float | None = None, headers=None) -> None:
        """One attempt at the API: ``kind`` is the policy kind ("ok" on success); ``seconds``
        and ``headers`` when an answer arrived."""
        with self._lock:
            self._request(kind, seconds, headers)

    def _request(self, kind: str, seconds: float | None, headers) -> None:
        self.requests += 1
        if kind != "ok":
            self.errors_by_kind[kind] += 1
        if seconds is not None:
            self.response_seconds.append(seconds)
        if headers:
            self.ratelimit_limit = (
                _header_int(headers, "x-ratelimit-limit") or self.ratelimit_limit
            )
            remaining = _header_int(headers, "x-ratelimit-remaining")
            self.ratelimit_remaining = self.ratelimit_remaining if remaining is None else remaining

    def token_failure(self, kind: str) -> None:
        """The OAuth token endpoint failed or refused before an API request could be sent."""
        with self._lock:
            self.errors_by_kind[kind] += 1

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
        self.status, self.cursor_reached, self.finished_at = status, cursor_reached, self._now()
        self.error = None if error is None else redact(f"{type(error).__name__}: {error}")
        deleted = f" ({self.deleted} projects marked deleted)" if self.deleted else ""
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

    # --- the sync_health row --------------------------------------------------------------------

    def health_row(self, sync_id: str, sync_started_at: datetime, audit: Mapping) -> dict:
        """The stream's row; ``audit`` holds the sync's api_host, account_id, api_user_id,
        api_user_name and credentials."""
        finished = self.finished_at or self._now()
        times = sorted(self.response_seconds)
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))] if times else None
        return {
            "sync_id": sync_id,
            "table_name": self.name,
            "status": self.status,
            "error": self.error,
            "sync_started_at": format_utc(sync_started_at),
            "started_at": format_utc(self.started_at),
            "finished_at": format_utc(finished),
            "duration_seconds": (finished - self.started_at).total_seconds(),
            "rows_upserted": self.upserted,
            "rows_deleted": self.deleted,
            "pages": self.pages,
            "requests": self.requests,
            "retries": self.retries,
            "throttled_429": self.throttled_429,
            "failed_requests": self.failed_requests,
            "error_rate": self.failed_requests / self.requests if self.requests else None,
            "errors_by_kind": dict(self.errors_by_kind),
            "mean_response_ms": 1000 * sum(times) / len(times) if times else None,
            "p_95_response_ms": None if p95 is None else 1000 * p95,
            "ratelimit_limit": self.ratelimit_limit,
            "ratelimit_remaining": self.ratelimit_remaining,
            "cursor_reached": self.cursor_reached,
            **audit,
        }


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
