"""Command line of the benchmark: `python -m bench [options]` (what `make bench` runs).

Default: the seed dataset (the business's volumes of every table: 10,000 organizations,
50,000 products, 5,000 projects, 20,000 people, ..., 60,000 time entries), 100 ms added latency
per request, the real rate limits on, a full sync and then an incremental sync
after 1 % of the rows changed over the 6 hours between syncs, in both modes: through the SDK's
runner and with the runner taken out (a counting sink); then full syncs in sink mode at 50 and
300 ms of latency. Results go to bench/results/<timestamp>.json and a Markdown summary to
stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from bench import metrics, report
from bench.scenario import MODES, REPO_DIR, TABLES, BenchOptions, progress, run_scenario

RESULTS_DIR = REPO_DIR / "bench" / "results"
#: Sizes of the scaling run, as shares of --scale-percent (100 = the main run itself).
SCALING_SHARES = (10, 50, 100)


def _tables(value: str) -> tuple[str, ...]:
    chosen = [name.strip() for name in value.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(TABLES))
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"not tables of the connector: {unknown or value!r}")
    return tuple(table for table in TABLES if table in chosen)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.split("\n")[0].split(": ", 1)[0]
    )
    parser.add_argument(
        "--scale-percent",
        type=float,
        default=100.0,
        help="dataset size as a percentage of the seed size (default 100)",
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=100.0,
        help="latency the simulator adds to every API request (default 100)",
    )
    parser.add_argument(
        "--no-rate-limit",
        action="store_true",
        help="switch the simulator's rate limits off (default: 20 per 2 s and 3600 per hour)",
    )
    parser.add_argument("--skip-incremental", action="store_true", help="run the full sync only")
    parser.add_argument(
        "--tables",
        type=_tables,
        default=TABLES,
        help="the tables to sync and measure, comma-separated (default: all of them)",
    )
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="also run full syncs at 10 %% and 50 %% of the size and compare per-1k-row costs",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="attribute CPU to connector / SDK / rest in a separate profiled pass",
    )
    parser.add_argument(
        "--change-percent",
        type=float,
        default=1.0,
        help="rows per collection changed before the incremental sync (default 1)",
    )
    parser.add_argument(
        "--modes",
        default=",".join(MODES),
        help="runner (the SDK's local runner and DuckDB), sink (the runner taken out) or both,"
        " comma-separated; the first is the primary mode that --profile and --scaling use"
        " (default runner,sink)",
    )
    parser.add_argument(
        "--sink-latencies-ms",
        default="50,300",
        help="extra full syncs in sink mode at these latencies, comma-separated; empty for"
        " none (default 50,300)",
    )
    parser.add_argument(
        "--lookback-minutes",
        type=int,
        default=5,
        help="the connector's lookback_minutes for the incremental sync (default 5)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="JSON result path (default bench/results/<timestamp>.json)",
    )
    parser.add_argument(
        "--timeout-seconds",
        type=float,
        default=3600.0,
        help="give up on one sync after this long (default 3600)",
    )
    arguments = parser.parse_args(argv)
    if arguments.scale_percent <= 0 or arguments.scale_percent > 1000:
        parser.error("--scale-percent must be in (0, 1000]")
    if arguments.latency_ms < 0:
        parser.error("--latency-ms must not be negative")
    if not 0 < arguments.change_percent <= 100:
        parser.error("--change-percent must be in (0, 100]")
    arguments.modes = [mode.strip() for mode in arguments.modes.split(",") if mode.strip()]
    if not arguments.modes or not set(arguments.modes) <= set(MODES):
        parser.error(f"--modes must name one or more of {', '.join(MODES)}")
    try:
        latencies = [float(x) for x in arguments.sink_latencies_ms.split(",") if x.strip()]
    except ValueError:
        parser.error("--sink-latencies-ms must be numbers separated by commas")
    if any(latency < 0 for latency in latencies):
        parser.error("--sink-latencies-ms must not be negative")
    arguments.sink_latencies_ms = latencies
    if arguments.lookback_minutes < 0:
        parser.error("--lookback-minutes must not be negative")
    return arguments


def machine_description() -> dict:
    """What the numbers were measured on; timings mean little without it."""
    memory = "unknown memory"
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
                    break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO_DIR), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = None
    return {
        "nproc": os.cpu_count(),
        "memory": memory,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": commit or None,
    }


def scaling_point(scale_percent: float, full: dict) -> dict:
    total = full["total"]
    return {
        "scale_percent": scale_percent,
        "ok": full["ok"],
        "rows": total["rows"],
        "requests": total["requests"],
        "requests_per_1k_rows": metrics.per_thousand(total["requests"], total["rows"]),
        "wall_seconds": total["wall_seconds"],
        "seconds_per_1k_rows": metrics.per_thousand(total["wall_seconds"], total["rows"]),
        "peak_rss_mb": full["peak_rss_mb"],
        "rss_growth_mb": full["rss_growth_mb"],
        "cpu_us_per_row": full["cpu_us_per_row"],
    }


def _phases(scenario_result: dict) -> dict:
    """The phases of one scenario (full, incremental, incremental_no_lookback)."""
    return {
        key: value
        for key, value in scenario_result.items()
        if key in ("full", "incremental", "incremental_no_lookback")
    }


def run_latencies(options: BenchOptions, latencies: list[float], log_dir: Path) -> list[dict]:
    """Full syncs in sink mode at other latencies: the pacing against the rate floor."""
    runs = []
    for latency in latencies:
        progress(f"sink mode at {latency:g} ms latency")
        changed = dataclasses.replace(options, latency_ms=latency, incremental=False)
        scenario = run_scenario(changed, log_dir / f"sink-{latency:g}ms", mode="sink")
        runs.append({"latency_ms": latency, "full": scenario["full"]})
    return runs


def run_scaling(
    options: BenchOptions, main_full: dict | None, log_dir: Path, mode: str = "runner"
) -> dict:
    """Full syncs at shares of the size; the main run is reused as the 100 % point."""
    points = []
    for share in SCALING_SHARES:
        percent = options.scale_percent * share / 100.0
        if share == 100 and main_full is not None:
            points.append(scaling_point(percent, main_full))
            continue
        progress(f"scaling: {percent:g} % of seed")
        sized = dataclasses.replace(options, scale_percent=percent, incremental=False)
        result = run_scenario(sized, log_dir / f"scaling-{percent:g}", mode=mode)
        points.append(scaling_point(percent, result["full"]))
    smallest, largest = points[0], points[-1]
    ratios = {
        "rows": metrics.ratio(largest["rows"], smallest["rows"]),
        "requests": metrics.ratio(largest["requests"], smallest["requests"]),
        "wall": metrics.ratio(largest["wall_seconds"], smallest["wall_seconds"]),
        "peak_rss": metrics.ratio(largest["peak_rss_mb"], smallest["peak_rss_mb"]),
        "rss_growth": metrics.ratio(largest["rss_growth_mb"], smallest["rss_growth_mb"]),
    }
    return {"points": points, "ratios": ratios}


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    options = BenchOptions(
        scale_percent=arguments.scale_percent,
        latency_ms=arguments.latency_ms,
        rate_limit=not arguments.no_rate_limit,
        incremental=not arguments.skip_incremental,
        profile=arguments.profile,
        change_percent=arguments.change_percent,
        child_timeout_seconds=arguments.timeout_seconds,
        lookback_minutes=arguments.lookback_minutes,
        tables=arguments.tables,
    )
    stamp = time.strftime("%Y%m%dT%H%M%S")
    output = arguments.output or RESULTS_DIR / f"{stamp}.json"
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    log_dir = output.parent / f"{output.stem}-logs"
    result: dict = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "options": dataclasses.asdict(options),
        "machine": machine_description(),
        "output_path": str(output),
        "log_dir": str(log_dir),
    }
    result["modes"] = arguments.modes
    primary = arguments.modes[0]
    started = time.perf_counter()
    result.update(run_scenario(options, log_dir / "timed", mode=primary))
    result["by_mode"] = {primary: _phases(result)}
    for mode in arguments.modes[1:]:
        result["by_mode"][mode] = _phases(run_scenario(options, log_dir / mode, mode=mode))
    result["sink_latencies"] = run_latencies(options, arguments.sink_latencies_ms, log_dir)
    if options.profile:
        progress("profiled pass (same settings, separate simulator)")
        profiled = run_scenario(options, log_dir / "profiled", profile=True, mode=primary)
        for phase in ("full", "incremental"):
            if phase in result and phase in profiled:
                result[phase]["cpu_attribution"] = profiled[phase].get("cpu_attribution")
    if arguments.scaling:
        result["scaling"] = run_scaling(options, result.get("full"), log_dir, primary)
    result["harness_seconds"] = time.perf_counter() - started
    output.write_text(json.dumps(result, indent=2, sort_keys=True))
    print(report.render(result))
    return 0 if _all_ok(result) else 1


def _all_ok(result: dict) -> bool:
    """Exit non-zero when a sync failed, so scripts notice (the report still prints)."""
    phases = [result.get("full"), result.get("incremental")]
    for by_mode in result.get("by_mode", {}).values():
        phases += list(by_mode.values())
    phases += [run["full"] for run in result.get("sink_latencies", [])]
    if any(phase is not None and not phase["ok"] for phase in phases):
        return False
    if result.get("full") is None:
        return False
    for point in (result.get("scaling") or {}).get("points", []):
        if not point["ok"]:
            return False
    return True


if __name__ == "__main__":
    sys.exit(main())
