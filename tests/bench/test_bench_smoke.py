"""Smoke test of the benchmark harness: a tiny real run, checked for shape and for truth.

It runs `python -m bench` exactly as `make bench` does (a child process per sync, in both
modes: through the SDK's runner and with the runner taken out, the simulator on loopback), at
a tiny size with no added latency and no rate limits, and checks what can be wrong without
looking at any timing: the JSON has every field, no table claims fewer requests than its
floor, the rows counted in the warehouse and in the sink equal the simulator's ground truth
(computed again here, independently of the harness), both modes make the same requests and
operations, and every request the simulator counted is matched to the child's timing of it.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from testkit import collection_of

from simulator import SCALES, SimConfig, Simulator

REPO_DIR = Path(__file__).resolve().parents[2]
#: Enough tables for the harness's mechanics, one of them read from another path (/cis).
TABLES = ("organizations", "products", "projects", "people", "configuration_items")
SCALE_PERCENT = 0.5  # 50 organizations, 250 products (3 pages), 25 projects, 250 CIs, ...
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
    """What GET on each collection returns at this size (archived/trashed records hidden)."""
    counts = {c: max(1, round(n * SCALE_PERCENT / 100)) for c, n in SCALES["seed"].items()}
    simulator = Simulator(SimConfig(scale="seed", seed=1, **counts))
    return {table: len(simulator.ground_truth(collection_of(table))) for table in TABLES}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> dict:
    """One run of the whole harness, shared by the tests below."""
    output = tmp_path_factory.mktemp("bench") / "result.json"
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
        "--sink-latencies-ms",
        "1",
        "--tables",
        ",".join(TABLES),
        "--output",
        str(output),
    ]
    completed = subprocess.run(
        command, cwd=REPO_DIR, capture_output=True, text=True, timeout=600, check=False
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "| **total** |" in completed.stdout  # the Markdown table reached stdout
    assert "### Both modes side by side" in completed.stdout
    return json.loads(output.read_text())


def test_tiny_run_reports_every_field_and_the_true_row_counts(tiny_run):
    result = tiny_run
    assert result["modes"] == ["runner", "sink"]

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
    # /me, and the archive and trash listings the project lifecycle reads: a request each.
    fixed = 3
    table_floor = sum(full["tables"][t]["request_floor"] for t in TABLES)
    assert total["request_floor"] == table_floor + fixed
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

    assert incremental["changed_floor"]["total"] == fixed + sum(
        math.ceil(incremental["changed_rows"][t] / 100) for t in TABLES
    )
    assert incremental["total"]["requests"] >= incremental["changed_floor"]["total"]

    attribution = full["cpu_attribution"]
    assert set(attribution["self_us_per_row"]) == {"connector", "sdk", "rest"}
    assert attribution["profiled_cpu_seconds"] > 0

    points = result["scaling"]["points"]
    assert [point["scale_percent"] for point in points] == [0.05, 0.25, 0.5]
    assert points[-1]["rows"] == total["rows"]
    assert all(point["requests"] >= len(TABLES) for point in points)  # one per table at least


def check_windows(phase: dict) -> None:
    """Every request was counted by the (switched off) limiter and matched to the child's
    own timing of it: the join the margin and the round-trip split rest on."""
    windows = phase["windows"]
    assert windows["counted"] == phase["total"]["requests"]
    assert windows["matched"] == windows["counted"]
    for part in ("before_count_ms", "after_count_ms", "round_trip_ms"):
        assert windows[part]["min"] <= windows[part]["median"] <= windows[part]["max"]
    assert windows["before_count_ms"]["min"] >= 0 and windows["after_count_ms"]["min"] >= 0


def test_sink_mode_is_the_same_sync_without_the_runner(tiny_run):
    """The sink gets what the runner gets: the same rows, requests and operations."""
    result = tiny_run
    truth = expected_row_counts()
    runner, sink = result["by_mode"]["runner"], result["by_mode"]["sink"]
    assert set(sink) == {"full", "incremental", "incremental_no_lookback"}
    for phase in ("full", "incremental"):
        assert sink[phase]["ok"], sink[phase]["error"]
        assert sink[phase]["mode"] == "sink" and runner[phase]["mode"] == "runner"
        for key in ("requests", "request_floor"):
            assert sink[phase]["total"][key] == runner[phase]["total"][key], (phase, key)
        for key in ("upserts", "checkpoints"):
            assert sink[phase][key] == runner[phase][key], (phase, key)
        check_windows(sink[phase])
        check_windows(runner[phase])
    full = sink["full"]
    for table in TABLES:
        assert full["tables"][table]["rows"] == truth[table]
        assert full["correctness"][table]["missing"] == 0
        assert full["correctness"][table]["unexpected"] == 0
    for phase in ("incremental", "incremental_no_lookback"):
        for table in TABLES:
            assert sink[phase]["correctness"][table]["missed"] == 0
    # No lookback re-reads no more than a lookback of 5 minutes.
    lookback = sink["incremental"]["reread_rows"]
    none = sink["incremental_no_lookback"]["reread_rows"]
    assert sink["incremental_no_lookback"]["lookback_minutes"] == 0
    assert all(none[table] <= lookback[table] for table in TABLES)
    # The extra latency run is a full sync in sink mode with the same requests.
    (extra,) = result["sink_latencies"]
    assert extra["latency_ms"] == 1 and extra["full"]["mode"] == "sink"
    assert extra["full"]["total"]["requests"] == full["total"]["requests"]


def test_a_childs_peak_rss_is_its_own_not_the_harness_it_was_forked_from():
    # The harness holds the simulator's data when it starts a child; the child's figure must
    # not include it (ru_maxrss keeps the parent's RSS across exec on Linux).
    held = bytearray(256 * 1024 * 1024)
    held[::4096] = b"\x01" * len(held[::4096])  # make every page resident
    measured = subprocess.run(
        [sys.executable, "-c", "from bench.run_one import peak_rss_kb; print(peak_rss_kb())"],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(measured.stdout) < 128 * 1024, f"{held[0]}: the child reported the parent's RSS"
