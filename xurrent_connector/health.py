"""``sync_health``: one row per stream and sync, built from the stream's metrics.

Why a table and not only log lines: Fivetran keeps logs for a short time and nobody alerts on
them, while ``sync_health`` can be queried, trended and alerted on in the warehouse (the dbt
package in dbt/ does). Every column is declared once below, with its type, its meaning (the
documentation in docs/tables.md is generated from it) and how its value is computed.
Error rate = failed attempts / attempts; 429s are not failures (they are the API's flow
control, waited out on their own budget, reported as ``throttled_429``).

``SyncHealth`` keeps one sync's figures: a ``StreamMetrics`` per stream, the sync's id and start,
and who the credentials belong to (``GET /v1/me``, once per credentials) for the audit columns.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlsplit

from fivetran_connector_sdk import Logging as log

from .errors import XurrentApiError
from .metrics import StreamMetrics
from .timestamps import format_utc

HEALTH_TABLE = "sync_health"
SUCCEEDED, FAILED, RATE_LIMITED, SKIPPED = "succeeded", "failed", "rate_limited", "skipped"


@dataclass(frozen=True)
class Figures:
    """What a row is computed from: the stream's metrics, the sync, the audit columns."""

    stream: StreamMetrics
    sync_id: str
    sync_started_at: datetime
    finished_at: datetime
    response_seconds: list  # sorted
    audit: Mapping[str, Any]


@dataclass(frozen=True)
class HealthColumn:
    name: str
    sdk_type: str
    meaning: str
    value: Callable[[Figures], Any]


def _p95_ms(figures: Figures) -> float | None:
    times = figures.response_seconds
    return 1000 * times[min(len(times) - 1, int(0.95 * len(times)))] if times else None


def _mean_ms(figures: Figures) -> float | None:
    times = figures.response_seconds
    return 1000 * sum(times) / len(times) if times else None


def _audit(name: str) -> Callable[[Figures], Any]:
    return lambda figures: figures.audit[name]


#: Every column of ``sync_health``, in order. The primary key is (sync_id, table_name).
COLUMNS = (
    HealthColumn(
        "sync_id",
        "STRING",
        "a UUID per sync; order syncs by `sync_started_at`",
        lambda f: f.sync_id,
    ),
    HealthColumn(
        "table_name",
        "STRING",
        "the stream: a table, or `archive` / `trash`",
        lambda f: f.stream.name,
    ),
    HealthColumn(
        "status",
        "STRING",
        "`succeeded`, `failed`, `rate_limited` (stopped for the budget), or `skipped` (the API "
        "refused to list it: 403 or 404)",
        lambda f: f.stream.status,
    ),
    HealthColumn(
        "error",
        "STRING",
        "why it failed or was skipped, secrets removed (or why another stream stopped it)",
        lambda f: f.stream.error,
    ),
    HealthColumn(
        "sync_started_at",
        "UTC_DATETIME",
        "when the sync started",
        lambda f: format_utc(f.sync_started_at),
    ),
    HealthColumn(
        "started_at",
        "UTC_DATETIME",
        "when this stream started",
        lambda f: format_utc(f.stream.started_at),
    ),
    HealthColumn(
        "finished_at",
        "UTC_DATETIME",
        "when this stream finished or failed",
        lambda f: format_utc(f.finished_at),
    ),
    HealthColumn(
        "duration_seconds",
        "DOUBLE",
        "`finished_at - started_at`",
        lambda f: (f.finished_at - f.stream.started_at).total_seconds(),
    ),
    HealthColumn(
        "rows_upserted", "LONG", "rows written to the table", lambda f: f.stream.upserted
    ),
    HealthColumn(
        "rows_deleted",
        "LONG",
        "rows marked deleted (archive, trash, time entries flagged `deleted`)",
        lambda f: f.stream.deleted,
    ),
    HealthColumn("pages", "LONG", "pages read", lambda f: f.stream.pages),
    HealthColumn(
        "repaired_values",
        "LONG",
        "values stored repaired: text UTF-8 cannot hold (U+FFFD), a value not of its column's "
        "type (NULL), a row without its cursor field",
        lambda f: f.stream.repaired_values,
    ),
    HealthColumn(
        "skipped_records",
        "LONG",
        "records that could not become a row: no usable `id`, or a project entry of the "
        "archive or trash without a usable project",
        lambda f: f.stream.skipped_records,
    ),
    HealthColumn(
        "requests", "LONG", "HTTP attempts, retries included", lambda f: f.stream.requests
    ),
    HealthColumn(
        "retries",
        "LONG",
        "attempts repeated after a failure or a 429",
        lambda f: f.stream.retries,
    ),
    HealthColumn(
        "throttled_429",
        "LONG",
        "answers 429 (rate limited), waited out and retried",
        lambda f: f.stream.throttled_429,
    ),
    HealthColumn(
        "failed_requests",
        "LONG",
        "failed attempts: 5xx, timeouts, drops, malformed bodies, 4xx (not 429s)",
        lambda f: f.stream.failed_requests,
    ),
    HealthColumn(
        "error_rate",
        "DOUBLE",
        "`failed_requests / requests`",
        lambda f: f.stream.failed_requests / f.stream.requests if f.stream.requests else None,
    ),
    HealthColumn(
        "errors_by_kind",
        "JSON",
        'failed attempts and 429s by kind, e.g. `{"server_error": 2}`',
        lambda f: dict(f.stream.errors_by_kind),
    ),
    HealthColumn("mean_response_ms", "DOUBLE", "mean response time", _mean_ms),
    HealthColumn("p_95_response_ms", "DOUBLE", "95th percentile response time", _p95_ms),
    HealthColumn(
        "ratelimit_limit",
        "LONG",
        "the API's hourly request budget (`x-ratelimit-limit`)",
        lambda f: f.stream.ratelimit_limit,
    ),
    HealthColumn(
        "ratelimit_remaining",
        "LONG",
        "what was left of it after the stream's last answer",
        lambda f: f.stream.ratelimit_remaining,
    ),
    HealthColumn(
        "cursor_reached",
        "UTC_DATETIME",
        "where the next sync continues (failed: the last committed row)",
        lambda f: f.stream.cursor_reached,
    ),
    HealthColumn("api_host", "STRING", "the API host the sync read from", _audit("api_host")),
    HealthColumn(
        "account_id",
        "STRING",
        "the configured account (`X-Xurrent-Account`)",
        _audit("account_id"),
    ),
    HealthColumn(
        "api_user_id",
        "LONG",
        "the API user the credentials belong to (`GET /v1/me`)",
        _audit("api_user_id"),
    ),
    HealthColumn(
        "api_user_name",
        "STRING",
        "that user's name (both empty without the token's 'me' scope)",
        _audit("api_user_name"),
    ),
    HealthColumn(
        "credentials",
        "STRING",
        "`primary`, or `backup` after the primary ones were refused",
        _audit("credentials"),
    ),
)
HEALTH_COLUMNS: dict[str, HealthColumn] = {column.name: column for column in COLUMNS}


def health_schema() -> dict:
    """The ``schema()`` entry of ``sync_health`` (one row per stream and sync)."""
    return {
        "table": HEALTH_TABLE,
        "primary_key": ["sync_id", "table_name"],
        "columns": {column.name: column.sdk_type for column in COLUMNS},
    }


def health_row(
    stream: StreamMetrics, sync_id: str, sync_started_at: datetime, audit: Mapping
) -> dict:
    """A stream's row; ``audit`` holds the sync's api_host, account_id, api_user_id,
    api_user_name and credentials."""
    figures = Figures(
        stream,
        sync_id,
        sync_started_at,
        stream.finished_at or stream.now(),
        sorted(stream.response_seconds),
        audit,
    )
    return {column.name: column.value(figures) for column in COLUMNS}


class SyncHealth:
    """One sync's figures: the metrics of each stream, and its ``sync_health`` row at its end."""

    def __init__(self, settings, client, now: Callable[[], datetime]):
        self.settings, self.client, self.now = settings, client, now
        self.id = str(uuid.uuid4())  # two syncs can start in the same second
        self.started_at = now()
        self.clock_started = time.monotonic()
        self.streams: dict[str, StreamMetrics] = {}
        self.users: dict[str, tuple] = {}  # credentials -> (api_user_id, api_user_name)

    def start(self, name: str) -> StreamMetrics:
        self.streams[name] = StreamMetrics(name, self.now)
        return self.streams[name]

    def unfinished(self, names: Iterable[str]) -> list[str]:
        """The streams among ``names`` without a row yet (stopped, or never started)."""
        return [
            name for name in names if name not in self.streams or not self.streams[name].status
        ]

    def row(self, name: str, status: str, cursor_reached, error=None, ask: bool = True) -> dict:
        """Close a stream's figures and return its row; ``ask=False`` makes no request to learn
        the API user (the budget is used up, or the sync is failing)."""
        stream = self.streams.get(name) or self.start(name)
        stream.finish(status, cursor_reached, error)
        return health_row(stream, self.id, self.started_at, self.audit(ask))

    def identify(self) -> None:
        """Who the credentials in use belong to (``GET /v1/me``, once per credentials), for the
        audit columns; empty when the token lacks the 'me' scope."""
        if self.client.credentials_in_use in self.users:
            return
        try:
            me = self.client.get("/me").data
        except XurrentApiError as error:
            if error.status not in (403, 404):
                raise
            log.info(f"{HEALTH_TABLE}: the API user is not recorded ({error.status} on /v1/me)")
            me = None
        me = me if isinstance(me, dict) else {}
        # Keyed after the request: a refused primary token may have switched to the backup.
        self.users[self.client.credentials_in_use] = (me.get("id"), me.get("name"))

    def audit(self, ask: bool) -> dict:
        if ask:
            self.identify()  # the credentials may have changed to the backup ones
        credentials = self.client.credentials_in_use
        user_id, user_name = self.users.get(credentials, (None, None))
        return {
            "api_host": urlsplit(self.settings.api_url).netloc,
            "account_id": self.settings.account_id,
            "api_user_id": user_id,
            "api_user_name": user_name,
            "credentials": credentials,
        }
