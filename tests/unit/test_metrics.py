"""One stream's counters: progress lines at milestones, and the sync_health row they give
(health.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from requests.structures import CaseInsensitiveDict

from xurrent_connector import metrics as metrics_module
from xurrent_connector.health import HEALTH_COLUMNS, health_row, health_schema
from xurrent_connector.metrics import StreamMetrics
from xurrent_connector.pacing import RateLimit

START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
AUDIT = {
    "api_host": "api.xurrent.com",
    "account_id": "widget",
    "api_user_id": 42,
    "api_user_name": "API User",
    "credentials": "primary",
}


def rate(headers) -> RateLimit:
    """An answer's rate-limit figures, read as the client reads them."""
    return RateLimit.of(CaseInsensitiveDict(headers), 0.0)


class Clocks:
    """A monotonic clock and a wall clock that tests move by hand."""

    def __init__(self):
        self.seconds = 0.0

    def monotonic(self) -> float:
        return self.seconds

    def now(self) -> datetime:
        return START + timedelta(seconds=self.seconds)


@pytest.fixture
def lines(monkeypatch) -> list[str]:
    logged: list[str] = []
    monkeypatch.setattr(metrics_module.log, "info", logged.append)
    return logged


def test_progress_is_logged_at_milestones_not_per_page(lines):
    clocks = Clocks()
    stream = StreamMetrics("products", clocks.now, clocks.monotonic)
    # Header names as the API writes them; requests hands them over case-insensitively.
    headers = CaseInsensitiveDict({"X-RateLimit-Limit": "3600", "X-RateLimit-Remaining": "3500"})
    stream.attempt("ok", 0.1, rate(headers))
    for _ in range(60):
        stream.page(100, 100, 0, "2024-05-01T10:00:00Z")
        clocks.seconds += 0.1
    assert len(lines) == 2  # after pages 25 and 50
    assert "2500 records in 25 pages" in lines[0] and "3500/3600" in lines[0]
    clocks.seconds += 31
    stream.page(100, 100, 0, "2024-05-01T10:00:00Z")
    assert len(lines) == 3  # 30 s passed
    stream.finish("succeeded", "2024-05-01T10:00:00Z")
    assert "succeeded, 6100 records in 61 pages" in lines[-1]
    assert "cursor now 2024-05-01T10:00:00Z" in lines[-1]


def test_the_health_row_is_computed_from_the_counters(lines):
    clocks = Clocks()
    stream = StreamMetrics("archive", clocks.now, clocks.monotonic)
    for seconds in (0.1, 0.2, 0.3, 0.4):
        stream.attempt(
            "ok", seconds, rate({"x-ratelimit-limit": "3600", "x-ratelimit-remaining": "9"})
        )
    stream.attempt("server_error", 0.5, rate({}))
    stream.attempt("throttled", 0.05, rate({"x-ratelimit-remaining": "0"}))
    stream.attempt("timeout")
    stream.attempt("token_endpoint_unavailable")
    for _ in range(4):
        stream.retry()
    stream.page(3, 0, 2, "2026-02-01T10:00:00Z")
    clocks.seconds = 12.5
    stream.finish("succeeded", "2026-02-01T10:00:00Z")

    row = health_row(stream, "sync-1", START, AUDIT)
    assert set(row) == set(HEALTH_COLUMNS) == set(health_schema()["columns"])
    assert row["table_name"] == "archive" and row["sync_id"] == "sync-1"
    assert (row["rows_upserted"], row["rows_deleted"], row["pages"]) == (0, 2, 1)
    assert (row["requests"], row["retries"], row["throttled_429"]) == (7, 4, 1)
    # 429s and token endpoint failures are not failed API requests.
    assert row["failed_requests"] == 2
    assert row["error_rate"] == pytest.approx(2 / 7)
    assert row["errors_by_kind"] == {
        "server_error": 1,
        "throttled": 1,
        "timeout": 1,
        "token_endpoint_unavailable": 1,
    }
    assert row["mean_response_ms"] == pytest.approx(1000 * 1.55 / 6)
    assert row["p_95_response_ms"] == pytest.approx(500)
    assert (row["ratelimit_limit"], row["ratelimit_remaining"]) == (3600, 0)
    assert row["duration_seconds"] == 12.5
    assert row["finished_at"] == "2026-03-01T12:00:12.500000Z"
    assert row["cursor_reached"] == "2026-02-01T10:00:00Z"
    assert {key: row[key] for key in AUDIT} == AUDIT
    assert "2 rows marked deleted" in lines[-1]


def test_a_stream_without_requests_has_no_rates_and_a_failure_keeps_its_error(lines):
    clocks = Clocks()
    stream = StreamMetrics("projects", clocks.now, clocks.monotonic)
    stream.finish("failed", None, RuntimeError("boom"))
    row = health_row(stream, "sync-2", START, AUDIT)
    assert row["error_rate"] is None and row["mean_response_ms"] is None
    assert row["p_95_response_ms"] is None
    assert (row["status"], row["error"]) == ("failed", "RuntimeError: boom")


def test_the_summary_adds_up_every_stream(lines):
    clocks = Clocks()
    streams = [StreamMetrics(name, clocks.now, clocks.monotonic) for name in ("a", "b")]
    for number, stream in enumerate(streams, start=1):
        stream.attempt("ok", 0.1, rate({}))
        stream.attempt("throttled", 0.1, rate({}))
        stream.retry()
        stream.page(10 * number, 10 * number, 0, None)
    metrics_module.log_summary(streams, 3.25)
    assert lines[-1] == (
        "Xurrent sync finished: 30 records across 2 streams, 4 requests, 2 retries, "
        "2 rate-limited (429), 3.2 s"
    )
