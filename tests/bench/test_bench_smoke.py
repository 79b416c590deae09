"""Smoke test of the benchmark harness: a tiny real run, checked for shape and for truth.

It runs `python -m bench` exactly as `make bench` does (a child process per sync, the SDK's
runner, the simulator on loopback), at a tiny size with no added latency and no rate limits,
and checks what can be wrong without looking at any timing: the JSON has every field, no
table claims fewer requests than its floor, and the rows counted in the warehouse equal the
simulator's ground truth (computed again here, independently of the harness).
"""

import json
import math
import subprocess
import sys
from pathlib import Path

from simulator import SimConfig, Simulator

REPO_DIR = Path(__file__).resolve().parents[2]
TABLES = ("organizations", "products", "projects")
SCALE_PERCENT = 0.5  # 50 organizations, 250 products (3 pages), 25 projects
SEED_COUNTS = {"organizations": 10000, "products": 50000, "projects": 5000}
TABLE_FIELDS = {
    "rows",
    "requests",
    "request_floor",
    "requests_per_floor",
    "throttled_429",
    "wall_seconds",
    "latency_floor_seconds",
    "rate_limit_floor_seconds",
    "wall_per_floor",
    "rows_per_second",
}
PHASE_FIELDS = {
    "ok",
    "tables",
    "total",
    "cpu_seconds",
    "cpu_us_per_row",
    "peak_rss_mb",
    "baseline_rss_mb",
    "rss_growth_mb",
    "concurrency_used_for_floor",
    "correctness",
}


def expected_row_counts() -> dict[str, int]:
    """What GET on each collection returns at this size (archived/trashed projects hidden)."""
    counts = {t: max(1, round(n * SCALE_PERCENT / 100)) for t, n in SEED_COUNTS.items()}
    simulator = Simulator(SimConfig(scale="seed", seed=1, **counts))
    return {table: len(simulator.ground_truth(table)) for table in TABLES}


def test_tiny_run_reports_every_field_and_the_true_row_counts(tmp_path):
    output = tmp_path / "result.json"
    command = [
        sys.executable,
        "-m",
        "bench",
        "--scale-percent",
        str(SCALE_PERCENT),
        "--latency-ms",
        "0",
        "--no-rate-limit",
        "--profile",
        "--scaling",
        "--output",
        str(output),
    ]
    completed = subprocess.run(
        command, cwd=REPO_DIR, capture_output=True, text=True, timeout=600, check=False
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "| **total** |" in completed.stdout  # the Markdown table reached stdout
    result = json.loads(output.read_text())

    truth = expected_row_counts()
    assert result["ground_truth_rows"] == truth

    full = result["full"]
    assert PHASE_FIELDS <= set(full)
    assert full["ok"], full["error"]
    for table in TABLES:
        figures = full["tables"][table]
        assert TABLE_FIELDS <= set(figures)
        assert figures["rows"] == truth[table]
        assert figures["request_floor"] == max(1, math.ceil(truth[table] / 100))
        assert figures["requests"] >= figures["request_floor"]
        assert figures["throttled_429"] == 0  # --no-rate-limit really switched them off
    total = full["total"]
    assert TABLE_FIELDS <= set(total)
    assert total["rows"] == sum(truth.values())
    # The archive and trash listings the project lifecycle reads need a request each at least.
    listings = 2
    table_floor = sum(full["tables"][t]["request_floor"] for t in TABLES)
    assert total["request_floor"] == table_floor + listings
    assert total["requests"] >= total["request_floor"]
    assert full["peak_rss_mb"] >= full["baseline_rss_mb"] > 0

    incremental = result["incremental"]
    assert PHASE_FIELDS <= set(incremental)
    assert incremental["ok"], incremental["error"]
    for table in TABLES:
        changed = incremental["changed_rows"][table]
        assert changed == max(1, math.ceil(truth[table] / 100))
        assert incremental["correctness"][table]["missed"] == 0
        assert incremental["tables"][table]["rows"] >= changed
        figures = incremental["tables"][table]
        assert figures["requests"] >= figures["request_floor"]

    attribution = full["cpu_attribution"]
    assert set(attribution["self_us_per_row"]) == {"connector", "sdk", "rest"}
    assert attribution["profiled_cpu_seconds"] > 0

    points = result["scaling"]["points"]
    assert [point["scale_percent"] for point in points] == [0.05, 0.25, 0.5]
    assert points[-1]["rows"] == total["rows"]
    assert all(point["requests"] >= 3 for point in points)  # at least one per table
