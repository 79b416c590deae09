"""One benchmark scenario: a simulator, a full sync, then an incremental sync after changes.

The simulator runs in a thread of this (parent) process and every measured sync runs in a
child process (`bench.run_one`), so the child's peak RSS and CPU are the connector's and the
SDK runner's alone. Requests are counted by the simulator, not by the connector, so a
connector that under-reports cannot flatter itself; each request's arrival time is recorded
through a request hook, which gives per-table spans and the concurrency actually observed.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench import metrics

TABLES = ("organizations", "products", "projects")
REPO_DIR = Path(__file__).resolve().parent.parent
#: Row counts of the seed dataset, which every --scale-percent is a share of.
SEED_COUNTS = {"organizations": 10000, "products": 50000, "projects": 5000}


@dataclass
class BenchOptions:
    """Everything that shapes a run; recorded verbatim in the JSON result."""

    scale_percent: float = 100.0
    latency_ms: float = 100.0
    rate_limit: bool = True
    incremental: bool = True
    profile: bool = False
    change_percent: float = 1.0
    seed: int = 1
    child_timeout_seconds: float = 3600.0
    page_size: int = metrics.PAGE_SIZE


@dataclass
class Workspace:
    """Where a scenario keeps its warehouse (temporary) and child logs (kept for debugging)."""

    project_dir: Path
    log_dir: Path
    home_dir: Path
    children: list = field(default_factory=list)


def dataset_counts(scale_percent: float) -> dict[str, int]:
    """Rows per collection at a share of the seed size (at least one row each)."""
    return {
        table: max(1, round(count * scale_percent / 100.0)) for table, count in SEED_COUNTS.items()
    }


def progress(message: str):
    """Progress goes to stderr so stdout carries only the Markdown report."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class RequestClock:
    """Record when each API request arrived, keyed by the simulator's sequence number.

    The simulator's log has each request's duration but not its start; the hook runs as a
    request arrives (before the added latency), which is the start the client sees.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.started: dict[int, float] = {}

    def __call__(self, sim, info):
        with self._lock:
            self.started[info["seq"]] = time.time()

    def clear(self):
        with self._lock:
            self.started.clear()


def start_simulator(options: BenchOptions, counts: dict[str, int]):
    """Start a simulator with the seed data shape at the requested size and limits."""
    from simulator import SimConfig, Simulator

    config = SimConfig(
        token="bench-" + secrets.token_urlsafe(16),
        account="bench",
        scale="seed",
        seed=options.seed,
        organizations=counts["organizations"],
        products=counts["products"],
        projects=counts["projects"],
        latency_ms=float(options.latency_ms),
        rate_limit=options.rate_limit,
        burst_limit=20 if options.rate_limit else None,
        hourly_limit=3600 if options.rate_limit else None,
    )
    started = time.perf_counter()
    simulator = Simulator(config).start()
    progress(
        f"simulator on {simulator.base_url}: {counts} rows, generated in "
        f"{time.perf_counter() - started:.1f} s, latency {options.latency_ms:g} ms, "
        f"rate limits {'on' if options.rate_limit else 'off'}"
    )
    return simulator


def connector_configuration(simulator, options: BenchOptions) -> dict:
    """The connector's configuration.json for the simulator: every value a string."""
    return {
        "oauth_token": simulator.config.token,
        "client_id": "",
        "client_secret": "",
        "account_id": simulator.config.account,
        "region": "global",
        "environment": "production",
        "base_url": simulator.api_url,
        "token_url": "",
        "initial_sync_days": "all",
        "enable_incremental_sync": "true",
        "lookback_minutes": "5",
        "max_records_per_page": str(options.page_size),
        "request_timeout_seconds": "30",
        "retry_attempts": "3",
        "max_requests_per_hour": "",
        "tables": ",".join(TABLES),
        "enable_debug_logging": "false",
    }


def prepare_home(home_dir: Path):
    """A scratch HOME for the child: the SDK core's six-hourly PyPI version check is marked
    as done far in the future, so an offline machine does not pay for it inside a timing."""
    core_dir = home_dir / ".fivetran" / "connector_sdk_core"
    core_dir.mkdir(parents=True, exist_ok=True)
    (core_dir / "_config.json").write_text(json.dumps({"lastVersionCheck": 9999999999}))
    sdk_dir = home_dir / ".fivetran" / "connector_sdk"
    sdk_dir.mkdir(parents=True, exist_ok=True)
    (sdk_dir / "_last_version_check").write_text("9999999999")


def run_child(
    workspace: Workspace,
    phase: str,
    configuration: dict,
    state: dict,
    profile: bool,
    timeout_seconds: float,
) -> dict:
    """Run one sync in a child process and return its result dictionary."""
    result_path = workspace.log_dir / f"{phase}.result.json"
    arguments_path = workspace.project_dir / f"{phase}.arguments.json"
    arguments = {
        "source_dir": str(REPO_DIR),
        "project_dir": str(workspace.project_dir),
        "configuration": configuration,
        "state": state,
        "profile": profile,
        "result_path": str(result_path),
    }
    arguments_path.write_text(json.dumps(arguments))
    arguments_path.chmod(0o600)  # it holds the (simulator's) token
    environment = dict(os.environ)
    environment.update(
        HOME=str(workspace.home_dir),
        DO_NOT_TRACK="1",
        PYTHONPATH=str(REPO_DIR),
        PYTHONDONTWRITEBYTECODE="1",
    )
    log_path = workspace.log_dir / f"{phase}.log"
    command = [sys.executable, "-m", "bench.run_one", "@" + str(arguments_path)]
    with open(log_path, "w", encoding="utf-8") as log_file:
        try:
            subprocess.run(
                command,
                cwd=str(REPO_DIR),
                env=environment,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                timeout=timeout_seconds,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"ok": False, "error": f"child timed out after {timeout_seconds:g} s"}
        finally:
            arguments_path.unlink(missing_ok=True)
    if not result_path.exists():
        return {"ok": False, "error": f"child wrote no result; see {log_path}"}
    result = json.loads(result_path.read_text())
    result["log"] = str(log_path)
    return result


def collection_of(path: str) -> str:
    """The collection a request path addresses ("/v1/products?..." -> "products").

    Next links and plain collection URLs share the path; anything that is not a collection
    (the API root, /me, the archive) keeps its own name so it still counts in the total.
    """
    segments = path.split("?", 1)[0].split("/")
    if len(segments) >= 3 and segments[2]:
        return segments[2]
    return "root"


def requests_by_table(simulator, clock: RequestClock) -> dict:
    """Requests, 429s, time spent in the server and the time span per collection, from the
    simulator's own log (its durations include the added latency)."""
    per_table: dict[str, dict] = {}
    intervals = []
    for entry in list(simulator.request_log):
        table = collection_of(entry["path"])
        bucket = per_table.setdefault(
            table,
            {
                "requests": 0,
                "throttled_429": 0,
                "by_status": {},
                "first": None,
                "last": None,
                "server_seconds": 0.0,
            },
        )
        bucket["requests"] += 1
        bucket["server_seconds"] += entry["duration_ms"] / 1000.0
        status = str(entry["status"])
        bucket["by_status"][status] = bucket["by_status"].get(status, 0) + 1
        if entry["status"] == 429:
            bucket["throttled_429"] += 1
        started = clock.started.get(entry["seq"])
        if started is not None:
            ended = started + entry["duration_ms"] / 1000.0
            intervals.append((started, ended))
            bucket["first"] = started if bucket["first"] is None else min(bucket["first"], started)
            bucket["last"] = ended if bucket["last"] is None else max(bucket["last"], ended)
    for bucket in per_table.values():
        bucket["span_seconds"] = (
            None if bucket["first"] is None else bucket["last"] - bucket["first"]
        )
    return {"tables": per_table, "max_in_flight": metrics.max_in_flight(intervals)}


def table_wall_seconds(per_table: dict, run_end: float | None) -> dict[str, float | None]:
    """Wall time per table: from its first request until the next table's first request
    (or the end of the run), so a sequential sync's processing after the last page
    (upserts, the checkpoint) counts for its table. Overlapping (concurrent) tables fall
    back to the span of their own requests."""
    walls: dict[str, float | None] = {}
    for name, bucket in per_table.items():
        if bucket["first"] is None:
            walls[name] = None
            continue
        later_starts = [
            other["first"]
            for other_name, other in per_table.items()
            if other_name != name and (other["first"] or 0) >= bucket["last"]
        ]
        overlapped = any(
            other["first"] is not None and bucket["first"] < other["first"] < bucket["last"]
            for other_name, other in per_table.items()
            if other_name != name
        )
        if overlapped:
            end = bucket["last"]
        elif later_starts:
            end = min(later_starts)
        else:
            end = max(bucket["last"], run_end or bucket["last"])
        walls[name] = end - bucket["first"]
    return walls


def warehouse_rows(project_dir: Path, synced_since: float | None = None) -> dict:
    """Ids per table in the SDK's DuckDB file, and how many rows this run wrote.

    Read in the parent after the child has exited, so the reads cost the child nothing and
    the file is not locked while the next child runs.
    """
    import duckdb

    path = project_dir / "files" / "warehouse.db"
    found: dict[str, dict] = {}
    if not path.exists():
        return found
    connection = duckdb.connect(str(path), read_only=True)
    try:
        existing = {
            name
            for (name,) in connection.execute(
                "select table_name from information_schema.tables where table_schema = 'tester'"
            ).fetchall()
        }
        for table in TABLES:
            if table not in existing:
                continue
            ids = [
                row[0] for row in connection.execute(f'select id from tester."{table}"').fetchall()
            ]
            entry = {"ids": ids, "synced_ids": None}
            if synced_since is not None:
                query = (
                    f'select id from tester."{table}" where _fivetran_synced >= to_timestamp(?)'
                )
                entry["synced_ids"] = [
                    row[0] for row in connection.execute(query, [synced_since]).fetchall()
                ]
            found[table] = entry
    finally:
        connection.close()
    return found


def phase_report(
    phase: str,
    child: dict,
    traffic: dict,
    rows_by_table: dict[str, int],
    options: BenchOptions,
    listing_entries: dict[str, int] | None = None,
) -> dict:
    """Combine the child's result and the simulator's counts into the phase's figures.

    ``listing_entries`` counts what the archive and trash listings hold for this sync (the
    project lifecycle reads them after the tables); each needs at least one request, so
    they belong in the total floor, or a connector could hide wasted requests there.
    """
    listing_floor = {
        name: metrics.request_floor(entries, options.page_size)
        for name, entries in (listing_entries or {}).items()
        if name in traffic["tables"]
    }
    concurrency = child.get("concurrency_reported") or 1
    wall = child.get("wall_seconds")
    run_end = None
    if wall is not None and child.get("started_at_epoch") is not None:
        run_end = child["started_at_epoch"] + wall
    walls = table_wall_seconds(traffic["tables"], run_end)
    tables = {}
    for table in TABLES:
        counted = traffic["tables"].get(table, {})
        tables[table] = metrics.table_metrics(
            rows=rows_by_table.get(table, 0),
            requests=counted.get("requests", 0),
            throttled=counted.get("throttled_429", 0),
            wall_seconds=walls.get(table),
            latency_ms=options.latency_ms,
            concurrency=concurrency,
            rate_limited=options.rate_limit,
            page_size=options.page_size,
        )
        tables[table]["requests_by_status"] = counted.get("by_status", {})
        tables[table]["request_span_seconds"] = counted.get("span_seconds")
        tables[table]["server_seconds"] = counted.get("server_seconds", 0.0)
    total_rows = sum(rows_by_table.get(table, 0) for table in TABLES)
    total_requests = sum(bucket["requests"] for bucket in traffic["tables"].values())
    total_throttled = sum(bucket["throttled_429"] for bucket in traffic["tables"].values())
    table_floor = sum(tables[table]["request_floor"] for table in TABLES)
    total = metrics.table_metrics(
        rows=total_rows,
        requests=total_requests,
        throttled=total_throttled,
        wall_seconds=wall,
        latency_ms=options.latency_ms,
        concurrency=concurrency,
        rate_limited=options.rate_limit,
        page_size=options.page_size,
        floor=table_floor + sum(listing_floor.values()),
    )
    total["server_seconds"] = sum(
        bucket["server_seconds"] for bucket in traffic["tables"].values()
    )
    # Only a sequential client's wall time splits cleanly into "server" and "client" time.
    sequential = traffic["max_in_flight"] <= 1
    total["client_seconds"] = (
        wall - total["server_seconds"] if wall is not None and sequential else None
    )
    total["other_requests"] = {
        name: bucket["requests"]
        for name, bucket in traffic["tables"].items()
        if name not in TABLES
    }
    cpu_seconds = None
    if child.get("cpu_user_seconds") is not None:
        cpu_seconds = child["cpu_user_seconds"] + child["cpu_system_seconds"]
    report = {
        "phase": phase,
        "ok": child.get("ok", False),
        "error": child.get("error"),
        "tables": tables,
        "total": total,
        "concurrency_reported": child.get("concurrency_reported"),
        "concurrency_used_for_floor": concurrency,
        "max_in_flight_observed": traffic["max_in_flight"],
        "upserts": (child.get("counts") or {}).get("Upserts"),
        "checkpoints": (child.get("counts") or {}).get("Checkpoints"),
        "sdk_counts": child.get("counts"),
        "cpu_seconds": cpu_seconds,
        "cpu_us_per_row": metrics.micros_per_row(cpu_seconds, total_rows),
        "peak_rss_mb": _mb(child.get("peak_rss_kb")),
        "baseline_rss_mb": _mb(child.get("baseline_rss_kb")),
        "rss_growth_mb": _mb(child.get("rss_growth_kb")),
        "state_bytes": len(json.dumps(child["state"])) if child.get("state") else None,
        "child_log": child.get("log"),
    }
    return report


def attach_profile(report: dict, child: dict, rows: int):
    """Add CPU attribution (from a separate profiled run) to a phase report."""
    profile = child.get("profile")
    if not profile:
        report["cpu_attribution"] = {"ok": False, "error": child.get("error")}
        return
    report["cpu_attribution"] = {
        "ok": child.get("ok", False),
        "rows": rows,
        "profiled_wall_seconds": child.get("wall_seconds"),
        "profiled_cpu_seconds": profile["profiled_cpu_seconds"],
        "process_cpu_seconds": child["cpu_user_seconds"] + child["cpu_system_seconds"],
        "self_us_per_row": {
            bucket: metrics.micros_per_row(seconds, rows)
            for bucket, seconds in profile["self_seconds"].items()
        },
        "charged_us_per_row": {
            bucket: metrics.micros_per_row(seconds, rows)
            for bucket, seconds in profile["charged_seconds"].items()
        },
        "method": profile["method"],
        "samples": profile["samples"],
        "top_functions": profile["top_functions"],
        "top_connector_functions": profile["top_connector_functions"],
    }


def _mb(kilobytes: int | None) -> float | None:
    return None if kilobytes is None else round(kilobytes / 1024.0, 1)


def run_scenario(options: BenchOptions, log_dir: Path, profile: bool = False) -> dict:
    """Full sync, then (unless skipped) 1 % changes and an incremental sync from its state."""
    counts = dataset_counts(options.scale_percent)
    scratch = Path(tempfile.mkdtemp(prefix="xurrent-bench-"))
    workspace = Workspace(
        project_dir=scratch / "project", log_dir=log_dir, home_dir=scratch / "home"
    )
    workspace.project_dir.mkdir()
    log_dir.mkdir(parents=True, exist_ok=True)
    prepare_home(workspace.home_dir)
    simulator = start_simulator(options, counts)
    clock = RequestClock()
    simulator.add_request_hook(clock)
    label = "profiled " if profile else ""
    result: dict = {"dataset": counts, "profiled": profile}
    try:
        truth = {table: [row["id"] for row in simulator.ground_truth(table)] for table in TABLES}
        result["ground_truth_rows"] = {table: len(ids) for table, ids in truth.items()}
        configuration = connector_configuration(simulator, options)

        progress(f"{label}full sync: running")
        simulator.reset_stats()
        clock.clear()
        child = run_child(
            workspace,
            f"{label.strip() or 'timed'}-full",
            configuration,
            {},
            profile,
            options.child_timeout_seconds,
        )
        traffic = requests_by_table(simulator, clock)
        stored = warehouse_rows(workspace.project_dir)
        rows_by_table = {table: len(stored.get(table, {}).get("ids", [])) for table in TABLES}
        listings = {
            "archive": len(simulator.archived_ids()),
            "trash": len(simulator.trashed_ids()),
        }
        full = phase_report("full", child, traffic, rows_by_table, options, listings)
        full["correctness"] = _full_correctness(truth, stored)
        full["simulator_stats"] = simulator.stats()
        if profile:
            attach_profile(full, child, full["total"]["rows"])
        result["full"] = full
        progress(f"{label}full sync: {_summary(full)}")
        if not child.get("ok"):
            return result

        if options.incremental:
            changed = {}
            for table in TABLES:
                count = max(1, math.ceil(len(truth[table]) * options.change_percent / 100.0))
                changed[table] = sorted(simulator.update_rows(table, count=count))
            simulator.reset_stats()
            clock.clear()
            progress(f"{label}incremental sync after {sum(map(len, changed.values()))} changes")
            since = time.time()
            child = run_child(
                workspace,
                f"{label.strip() or 'timed'}-incremental",
                configuration,
                full_state(child),
                profile,
                options.child_timeout_seconds,
            )
            traffic = requests_by_table(simulator, clock)
            stored = warehouse_rows(workspace.project_dir, synced_since=since)
            rows_by_table = {
                table: len(stored.get(table, {}).get("synced_ids") or []) for table in TABLES
            }
            # Nothing moved to the archive or trash since the full sync: one request each.
            listings = {"archive": 0, "trash": 0}
            incremental = phase_report(
                "incremental", child, traffic, rows_by_table, options, listings
            )
            incremental["changed_rows"] = {table: len(ids) for table, ids in changed.items()}
            incremental["correctness"] = _incremental_correctness(changed, stored)
            incremental["simulator_stats"] = simulator.stats()
            if profile:
                attach_profile(incremental, child, incremental["total"]["rows"])
            result["incremental"] = incremental
            progress(f"{label}incremental sync: {_summary(incremental)}")
        return result
    finally:
        simulator.stop()
        shutil.rmtree(scratch, ignore_errors=True)


def full_state(child: dict) -> dict:
    """The state the full sync left behind: the incremental sync starts from it."""
    return child.get("state") or {}


def _full_correctness(truth: dict[str, list[int]], stored: dict) -> dict:
    """Ids the API would return but the warehouse lacks, and ids it should not have."""
    report = {}
    for table in TABLES:
        expected = set(truth[table])
        found = set(stored.get(table, {}).get("ids", []))
        report[table] = {
            "expected": len(expected),
            "found": len(found),
            "missing": len(expected - found),
            "unexpected": len(found - expected),
            "missing_sample": sorted(expected - found)[:10],
        }
    return report


def _incremental_correctness(changed: dict[str, list[int]], stored: dict) -> dict:
    """Every changed row must have been written again by the incremental sync."""
    report = {}
    for table in TABLES:
        synced = set(stored.get(table, {}).get("synced_ids") or [])
        missed = sorted(set(changed[table]) - synced)
        report[table] = {
            "changed": len(changed[table]),
            "resynced": len(synced),
            "missed": len(missed),
            "missed_sample": missed[:10],
        }
    return report


def _summary(phase: dict) -> str:
    total = phase["total"]
    if not phase["ok"]:
        return f"FAILED: {(phase.get('error') or '').splitlines()[:1]} (log {phase['child_log']})"
    wall = total["wall_seconds"] or 0.0
    return (
        f"{total['rows']} rows, {total['requests']} requests (floor {total['request_floor']}), "
        f"{total['throttled_429']} x 429, {wall:.1f} s"
    )


def options_dict(options: BenchOptions) -> dict:
    return asdict(options)
