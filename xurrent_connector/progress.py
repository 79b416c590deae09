"""What `fivetran debug` (and the production log) shows while a sync runs.

Lines at milestones only: per table one at the start (mode, window, cursor), one every
``EVERY_PAGES`` pages or ``EVERY_SECONDS`` seconds (rows, pages, requests, position, rate-limit
budget) and one at the end; plus a summary of the whole sync. Never a line per row, never a
configuration value, header or token: only counts, table names and timestamps.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from fivetran_connector_sdk import Logging as log

EVERY_PAGES = 10
EVERY_SECONDS = 30.0


def client_counters(client: Any) -> dict:
    """The client's counters as plain numbers (missing ones as None).

    Read defensively: progress reporting must never be the reason a sync fails.
    """
    stats = getattr(client, "stats", None)
    snapshot: dict = {}
    if stats is not None and callable(getattr(stats, "snapshot", None)):
        try:
            snapshot = dict(stats.snapshot())
        except Exception:  # noqa: BLE001 - reporting only
            snapshot = {}

    def read(name: str):
        if name in snapshot:
            return snapshot[name]
        return getattr(stats, name, None)

    return {
        "requests": read("requests"),
        "retries": read("retries"),
        "throttled_429": read("throttled_429"),
        "ratelimit_limit": read("ratelimit_limit"),
        "ratelimit_remaining": read("ratelimit_remaining"),
    }


def _delta(after: Any, before: Any) -> Any:
    if isinstance(after, int) and isinstance(before, int):
        return after - before
    return after


def _budget(counters: dict) -> str:
    remaining, limit = counters.get("ratelimit_remaining"), counters.get("ratelimit_limit")
    if remaining is None:
        return "unknown"
    return f"{remaining}/{limit}" if limit is not None else str(remaining)


class TableProgress:
    """Progress of one table's sync; call ``page`` once per consumed page."""

    def __init__(
        self,
        table: str,
        client: Any,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        every_pages: int = EVERY_PAGES,
        every_seconds: float = EVERY_SECONDS,
    ):
        self.table = table
        self.client = client
        self.monotonic = monotonic
        self.every_pages = every_pages
        self.every_seconds = every_seconds
        self.rows = 0
        self.pages = 0
        self.walks = 0
        self.started_at = monotonic()
        self.last_report_at = self.started_at
        self.last_report_pages = 0
        self.counters_at_start = client_counters(client)

    def started(self, mode: str, query: str, cursor: str | None, resumed_link: bool) -> None:
        how = {
            "resume": "resuming an interrupted sync"
            + (" from its saved next link" if resumed_link else ""),
            "incremental": "incremental sync",
            "initial": "first sync",
            "full": "full re-read of the initial window (incremental sync disabled)",
        }.get(mode, mode)
        log.info(
            f"{self.table}: starting, {how}; reading {query}; saved cursor {cursor or 'none'}"
        )

    def walk_started(self, query: str, reason: str) -> None:
        """A continuation walk (after a truncated walk or a refused link)."""
        self.walks += 1
        log.info(f"{self.table}: {reason}; continuing with {query}")

    def page(self, row_count: int, position: str | None) -> None:
        self.rows += row_count
        self.pages += 1
        now = self.monotonic()
        due_pages = self.pages - self.last_report_pages >= self.every_pages
        due_time = now - self.last_report_at >= self.every_seconds
        if not (due_pages or due_time):
            return
        self.last_report_at, self.last_report_pages = now, self.pages
        counters = client_counters(self.client)
        requests = _delta(counters["requests"], self.counters_at_start["requests"])
        log.info(
            f"{self.table}: {self.rows} rows in {self.pages} pages, {requests} requests, "
            f"at updated_at {position or '-'}, rate-limit budget left {_budget(counters)}"
        )

    def finished(self, cursor: str | None) -> dict:
        counters = client_counters(self.client)
        start = self.counters_at_start
        summary = {
            "table": self.table,
            "rows": self.rows,
            "pages": self.pages,
            "requests": _delta(counters["requests"], start["requests"]),
            "retries": _delta(counters["retries"], start["retries"]),
            "throttled_429": _delta(counters["throttled_429"], start["throttled_429"]),
            "seconds": round(self.monotonic() - self.started_at, 1),
        }
        log.info(
            f"{self.table}: done, {summary['rows']} rows in {summary['pages']} pages, "
            f"{summary['requests']} requests, {summary['retries']} retries, "
            f"{summary['throttled_429']} rate-limited (429), {summary['seconds']} s; "
            f"cursor now {cursor or 'none'}"
        )
        return summary


class SyncProgress:
    """The whole sync: a start line and a summary over every table."""

    def __init__(self, client: Any, *, monotonic: Callable[[], float] = time.monotonic):
        self.client = client
        self.monotonic = monotonic
        self.started_at = monotonic()
        self.counters_at_start = client_counters(client)
        self.tables: list[dict] = []

    def started(self, tables: tuple[str, ...]) -> None:
        log.info(f"Xurrent sync starting for tables: {', '.join(tables)}")

    def table(self, table: str, client: Any = None) -> TableProgress:
        """Progress of one table, counted on ``client``: pass the table's own view of the
        client (health.TableClient) so that tables fetched concurrently are not credited with
        each other's requests."""
        return TableProgress(table, client or self.client, monotonic=self.monotonic)

    def table_finished(self, summary: dict) -> None:
        self.tables.append(summary)

    def finished(self) -> None:
        counters = client_counters(self.client)
        start = self.counters_at_start
        rows = sum(summary["rows"] for summary in self.tables)
        log.info(
            f"Xurrent sync finished: {rows} rows across {len(self.tables)} tables, "
            f"{_delta(counters['requests'], start['requests'])} requests, "
            f"{_delta(counters['retries'], start['retries'])} retries, "
            f"{_delta(counters['throttled_429'], start['throttled_429'])} rate-limited (429), "
            f"{round(self.monotonic() - self.started_at, 1)} s"
        )
