"""Pure arithmetic of the benchmark: floors, ratios and per-row costs.

Kept free of I/O so the formulas can be read (and checked) in one place. Every "floor" is a
lower bound no connector can beat, so a ratio to it says how much room is left:

* request floor: each page carries at most `page_size` rows and every table needs at least
  one request (an empty collection still has to be asked);
* latency floor: every request waits the added latency once, divided by the number of
  requests the connector kept in flight at most (the pages of one walk follow one another,
  but the connector splits a long walk into ranges read at once);
* rate-limit floor: the burst limiter (20 per 2 s) allows 10 requests per second sustained.
"""

from __future__ import annotations

import math

PAGE_SIZE = 100
#: Sustained rate the burst limiter allows: 20 requests per 2 seconds.
RATE_LIMIT_PER_SECOND = 10.0


def request_floor(rows: int, page_size: int = PAGE_SIZE) -> int:
    """Fewest requests that can carry `rows` rows at `page_size` per page (at least 1)."""
    return max(1, math.ceil(rows / page_size))


def latency_floor_seconds(requests: int, latency_ms: float, concurrency: int = 1) -> float:
    """Time the added latency alone costs, spread over the connector's concurrency."""
    return requests * latency_ms / 1000.0 / max(1, concurrency)


def rate_limit_floor_seconds(requests: int, rate_limited: bool) -> float:
    """Time the burst limiter alone imposes on `requests` requests (0 when it is off)."""
    return requests / RATE_LIMIT_PER_SECOND if rate_limited else 0.0


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """A ratio that is None instead of a division by zero (e.g. no latency, no limits)."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def table_metrics(
    *,
    rows: int,
    requests: int,
    throttled: int,
    wall_seconds: float | None,
    latency_ms: float,
    concurrency: int,
    rate_limited: bool,
    page_size: int = PAGE_SIZE,
    floor: int | None = None,
) -> dict:
    """Every per-table (or total) figure of the report, from the raw counts.

    `floor` overrides the request floor, for totals (the sum of the tables' floors).
    """
    floor = request_floor(rows, page_size) if floor is None else floor
    latency_floor = latency_floor_seconds(requests, latency_ms, concurrency)
    rate_floor = rate_limit_floor_seconds(requests, rate_limited)
    binding_floor = max(latency_floor, rate_floor)
    return {
        "rows": rows,
        "requests": requests,
        "request_floor": floor,
        "requests_per_floor": ratio(requests, floor),
        "throttled_429": throttled,
        "wall_seconds": wall_seconds,
        "latency_floor_seconds": latency_floor,
        "rate_limit_floor_seconds": rate_floor,
        "wall_per_floor": ratio(wall_seconds, binding_floor),
        "rows_per_second": ratio(rows, wall_seconds),
    }


def total_request_floor(rows_by_table: dict[str, int], page_size: int = PAGE_SIZE) -> int:
    """The total floor is the sum of per-table floors: pages never span tables."""
    return sum(request_floor(rows, page_size) for rows in rows_by_table.values())


def micros_per_row(seconds: float | None, rows: int) -> float | None:
    """CPU seconds spread over the rows synced, in microseconds per row."""
    if seconds is None or rows <= 0:
        return None
    return seconds * 1e6 / rows


def max_in_flight(intervals: list[tuple[float, float]]) -> int:
    """Most requests open at the same moment, from (start, end) pairs (sweep line)."""
    events = []
    for start, end in intervals:
        events.append((start, 1))
        events.append((end, -1))
    # Ends sort before starts at the same instant: back-to-back requests are not parallel.
    events.sort(key=lambda event: (event[0], event[1]))
    current = peak = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


def per_thousand(value: float | None, rows: int) -> float | None:
    """A quantity per 1,000 rows, for the scaling table."""
    if value is None or rows <= 0:
        return None
    return value * 1000.0 / rows
