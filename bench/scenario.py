"""One benchmark scenario: a simulator, a full sync, then an incremental sync after changes.

The simulator runs in a thread of this (parent) process and every measured sync runs in a
child process (`bench.run_one`), so the child's peak RSS and CPU are its own: the connector's
and, in ``runner`` mode, the SDK runner's (``sink`` mode takes the runner out, `bench.sink`).
Requests are counted by the simulator, not by the connector, so a connector that
under-reports cannot flatter itself; each request's arrival time is recorded through a
request hook, which gives per-table spans and the concurrency actually observed, and the
moment the rate limiter counted it (`bench.windows`), which shows how close the pacing ran.

The business's cadence: the data set ends ``cadence_hours`` before the full sync (the
generator's anchor is set back), and the changed rows get edit times spread over those hours,
as a tenant's edits arrive between two syncs, not all in one second.
"""

from __future__ import annotations

import json
import math
import os
import random
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
from bench.windows import CountClock, window_report
from simulator import SCALES
from xurrent_connector.streams import TABLES as STREAM_TABLES

#: The connector's tables, and the collection each is read from ("configuration_items" from
#: "cis"): the simulator is asked by collection, the warehouse and the sink by table.
COLLECTIONS = {name: table.path.strip("/") for name, table in STREAM_TABLES.items()}
TABLES = tuple(COLLECTIONS)
TABLE_OF = {collection: table for table, collection in COLLECTIONS.items()}
MODES = ("runner", "sink")
#: Requests every sync makes besides the tables' pages: /me, then at least one page each of
#: the archive and the trash (the record lifecycle).
FIXED_PATHS = ("me", "archive", "trash")
REPO_DIR = Path(__file__).resolve().parent.parent
#: Row counts of the seed dataset (the business's volumes), which every --scale-percent is a
#: share of, per table.
SEED_COUNTS = {table: SCALES["seed"][collection] for table, collection in COLLECTIONS.items()}


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
    #: Hours between two syncs: the changes before the incremental sync are spread over them.
    cadence_hours: float = 6.0
    lookback_minutes: int = 5
    #: The tables synced and measured (the connector's ``tables``): all by default.
    tables: tuple = TABLES


@dataclass
class Workspace:
    """Where a scenario keeps its warehouse (temporary) and child logs (kept for debugging)."""

    project_dir: Path
    log_dir: Path
    home_dir: Path
    children: list = field(default_factory=list)


def dataset_counts(scale_percent: float) -> dict[str, int]:
    """Rows per table at a share of the seed size (at least one row each): every table of
    the dataset, synced or not, so that references resolve as in the seed data."""
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

    anchor = time.time() - options.cadence_hours * 3600
    config = SimConfig(
        anchor=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(anchor)),
        token="bench-" + secrets.token_urlsafe(16),
        account="bench",
        scale="seed",
        seed=options.seed,
        **{COLLECTIONS[table]: count for table, count in counts.items()},
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
        "lookback_minutes": str(options.lookback_minutes),
        "max_records_per_page": str(options.page_size),
        "request_timeout_seconds": "30",
        "retry_attempts": "3",
        "max_requests_per_hour": "",
        "tables": ",".join(options.tables),
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
    mode: str = "runner",
) -> dict:
    """Run one sync in a child process (``mode`` runner or sink) and return its result."""
    result_path = workspace.log_dir / f"{phase}.result.json"
    arguments_path = workspace.project_dir / f"{phase}.arguments.json"
    arguments = {
        "source_dir": str(REPO_DIR),
        "project_dir": str(workspace.project_dir),
        "configuration": configuration,
        "state": state,
        "profile": profile,
        "result_path": str(result_path),
        "mode": mode,
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
    """The table a request path reads ("/v1/products?..." -> "products", "/v1/cis" ->
    "configuration_items").

    Next links and plain collection URLs share the path; anything that is not a collection
    (the API root, /me, the archive) keeps its own name so it still counts in the total.
    """
    segments = path.split("?", 1)[0].split("/")
    if len(segments) >= 3 and segments[2]:
        return TABLE_OF.get(segments[2], segments[2])
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
                "walks": 0,
            },
        )
        bucket["requests"] += 1
        bucket["walks"] += entry["status"] == 200 and "search_after" not in entry["query"]
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


def warehouse_rows(project_dir: Path, tables: tuple, synced_since: float | None = None) -> dict:
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
        for table in tables:
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
    project lifecycle reads them after the tables) and ``me`` (0 entries: the one request for
    the audit columns); each needs at least one request, so they belong in the total floor,
    or a connector could hide wasted requests there.
    """
    listing_floor = {
        name: metrics.request_floor(entries, options.page_size)
        for name, entries in (listing_entries or {}).items()
        if name in traffic["tables"]
    }
    concurrency = max(1, traffic["max_in_flight"])  # as the simulator saw it
    wall = child.get("wall_seconds")
    run_end = None
    if wall is not None and child.get("started_at_epoch") is not None:
        run_end = child["started_at_epoch"] + wall
    walls = table_wall_seconds(traffic["tables"], run_end)
    tables = {}
    for table in options.tables:
        counted = traffic["tables"].get(table, {})
        tables[table] = metrics.table_metrics(
            rows=rows_by_table.get(table, 0),
            requests=counted.get("requests", 0),
            throttled=counted.get("throttled_429", 0),
            wall_seconds=walls.get(table),
            latency_ms=options.latency_ms,
            concurrency=max(1, counted.get("walks", 0)),  # walks split in ranges run at once
            rate_limited=options.rate_limit,
            page_size=options.page_size,
        )
        tables[table]["walks"] = counted.get("walks", 0)
        tables[table]["requests_by_status"] = counted.get("by_status", {})
        tables[table]["request_span_seconds"] = counted.get("span_seconds")
        tables[table]["server_seconds"] = counted.get("server_seconds", 0.0)
    total_rows = sum(rows_by_table.get(table, 0) for table in options.tables)
    total_requests = sum(bucket["requests"] for bucket in traffic["tables"].values())
    total_throttled = sum(bucket["throttled_429"] for bucket in traffic["tables"].values())
    table_floor = sum(tables[table]["request_floor"] for table in options.tables)
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
        if name not in options.tables
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


def sink_rows(child: dict, tables: tuple) -> dict:
    """Ids per table as the sink received them, in the shape ``warehouse_rows`` gives: every
    upserted id, and (the sink keeps only one sync) the same ids as this run's writes."""
    upserted = (child.get("sink") or {}).get("upserted_ids") or {}
    return {
        table: {"ids": upserted.get(table, []), "synced_ids": upserted.get(table, [])}
        for table in tables
    }


class Scenario:
    """One simulator and the syncs measured against it, in one mode."""

    def __init__(self, options: BenchOptions, log_dir: Path, mode: str, profile: bool):
        self.options, self.mode, self.profile = options, mode, profile
        scratch = Path(tempfile.mkdtemp(prefix="xurrent-bench-"))
        self.scratch = scratch
        self.workspace = Workspace(
            project_dir=scratch / "project", log_dir=log_dir, home_dir=scratch / "home"
        )
        self.workspace.project_dir.mkdir()
        log_dir.mkdir(parents=True, exist_ok=True)
        prepare_home(self.workspace.home_dir)
        self.counts = dataset_counts(options.scale_percent)
        self.simulator = start_simulator(options, self.counts)
        self.clock = RequestClock()
        self.simulator.add_request_hook(self.clock)
        self.count_clock = CountClock()
        self.count_clock.install(self.simulator)
        self.label = ("profiled " if profile else "") + (f"{mode} " if mode != "runner" else "")
        self.truth = {
            table: [row["id"] for row in self.simulator.ground_truth(COLLECTIONS[table])]
            for table in options.tables
        }

    def close(self) -> None:
        self.simulator.stop()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def sync(self, phase: str, state: dict, **overrides) -> tuple[dict, dict]:
        """Run one sync in a child; returns its result and the simulator's traffic.

        The rate limits start afresh, as they would ``cadence_hours`` after the last sync: a
        sync started right after another in the same burst window would meet a 429 that the
        schedule never produces (its pacer cannot know the other process's requests).
        """
        self.simulator.reset_rate_limits()
        self.simulator.reset_stats()
        self.clock.clear()
        self.count_clock.clear()
        configuration = connector_configuration(self.simulator, self.options)
        configuration.update({key: str(value) for key, value in overrides.items()})
        name = (self.label.strip() or "timed").replace(" ", "-") + f"-{phase}"
        child = run_child(
            self.workspace,
            name,
            configuration,
            state,
            self.profile,
            self.options.child_timeout_seconds,
            self.mode,
        )
        traffic = requests_by_table(self.simulator, self.clock)
        traffic["windows"] = window_report(
            list(self.simulator.request_log),
            dict(self.count_clock.counted),
            child.get("exchanges") or [],
        )
        return child, traffic

    def stored(self, child: dict, synced_since: float | None = None) -> dict:
        if self.mode == "sink":
            return sink_rows(child, self.options.tables)
        return warehouse_rows(self.workspace.project_dir, self.options.tables, synced_since)

    def report(self, phase: str, child: dict, traffic: dict, rows: dict, listings: dict) -> dict:
        figures = phase_report(phase, child, traffic, rows, self.options, listings)
        figures["mode"] = self.mode
        figures["windows"] = traffic["windows"]
        figures["simulator_stats"] = self.simulator.stats()
        if self.mode == "sink":
            details = child.get("sink") or {}
            figures["largest_state_bytes"] = details.get("largest_state_bytes")
            figures["deleted"] = {
                name: len(ids) for name, ids in (details.get("deleted_ids") or {}).items()
            }
        if self.profile:
            attach_profile(figures, child, figures["total"]["rows"])
        return figures

    def full(self) -> tuple[dict, dict]:
        progress(f"{self.label}full sync: running")
        child, traffic = self.sync("full", {})
        stored = self.stored(child)
        rows = {table: len(stored.get(table, {}).get("ids", [])) for table in self.truth}
        listings = {
            "me": 0,
            "archive": len(self.simulator.ground_truth("archive")),
            "trash": len(self.simulator.ground_truth("trash")),
        }
        full = self.report("full", child, traffic, rows, listings)
        full["correctness"] = _full_correctness(self.truth, stored)
        progress(f"{self.label}full sync: {_summary(full)}")
        return full, child

    def change_rows(self) -> dict[str, list[int]]:
        """Edit ``change_percent`` of each table's rows at moments spread over the hours since
        the data set's end (the sync cadence), each row on its own."""
        rng = random.Random(self.options.seed + 11)
        anchor = self.simulator.anchor
        spread = self.options.cadence_hours * 3600
        changed = {}
        for table in self.truth:
            count = max(1, math.ceil(len(self.truth[table]) * self.options.change_percent / 100.0))
            ids = sorted(rng.sample(self.truth[table], min(count, len(self.truth[table]))))
            for row_id in ids:
                self.simulator.update_rows(
                    COLLECTIONS[table], ids=[row_id], at=anchor + 1 + rng.random() * (spread - 2)
                )
            changed[table] = ids
        return changed

    def incremental(self, state: dict, changed: dict, **overrides) -> dict:
        phase = "incremental" + "".join(f"-{key}-{value}" for key, value in overrides.items())
        progress(f"{self.label}{phase} sync after {sum(map(len, changed.values()))} changes")
        since = time.time()
        child, traffic = self.sync(phase, state, **overrides)
        stored = self.stored(child, synced_since=since)
        rows = {table: len(stored.get(table, {}).get("synced_ids") or []) for table in self.truth}
        # Nothing moved to the archive or trash since the full sync: one request each.
        listings = {"me": 0, "archive": 0, "trash": 0}
        figures = self.report("incremental", child, traffic, rows, listings)
        figures["changed_rows"] = {table: len(ids) for table, ids in changed.items()}
        figures["changed_floor"] = changed_floor(figures["changed_rows"], self.options.page_size)
        figures["reread_rows"] = reread_rows(changed, stored)
        figures["lookback_minutes"] = int(
            overrides.get("lookback_minutes", self.options.lookback_minutes)
        )
        figures["correctness"] = _incremental_correctness(changed, stored)
        progress(f"{self.label}{phase} sync: {_summary(figures)}")
        return figures


def reread_rows(changed: dict[str, list[int]], stored: dict) -> dict[str, int]:
    """Rows an incremental sync wrote that had not changed: the lookback window's (and the
    cursor's own second's) re-reads."""
    counts = {}
    for table in changed:
        written = stored.get(table, {}).get("synced_ids") or []
        counts[table] = len(written) - len(set(changed[table]) & set(written))
    return counts


def changed_floor(changed_rows: dict[str, int], page_size: int = metrics.PAGE_SIZE) -> dict:
    """The fewest requests an incremental sync can make: the changed rows' pages plus the
    fixed requests (/me, one archive page, one trash page)."""
    pages = sum(metrics.request_floor(rows, page_size) for rows in changed_rows.values())
    return {"pages": pages, "fixed": len(FIXED_PATHS), "total": pages + len(FIXED_PATHS)}


def run_scenario(
    options: BenchOptions, log_dir: Path, profile: bool = False, mode: str = "runner"
) -> dict:
    """Full sync, then (unless skipped) changes and an incremental sync from its state; in
    sink mode also the same incremental sync with no lookback, to show what the lookback
    costs (the sink keeps nothing, so both start from the same state and the same data)."""
    scenario = Scenario(options, log_dir, mode, profile)
    result: dict = {
        "dataset": scenario.counts,
        "profiled": profile,
        "mode": mode,
        "simulator_generation_seconds": scenario.simulator.generation_seconds,
    }
    try:
        result["ground_truth_rows"] = {table: len(ids) for table, ids in scenario.truth.items()}
        full, child = scenario.full()
        result["full"] = full
        if not child.get("ok") or not options.incremental:
            return result
        changed = scenario.change_rows()
        result["incremental"] = scenario.incremental(full_state(child), changed)
        if mode == "sink" and options.lookback_minutes:
            result["incremental_no_lookback"] = scenario.incremental(
                full_state(child), changed, lookback_minutes=0
            )
        return result
    finally:
        scenario.close()


def full_state(child: dict) -> dict:
    """The state the full sync left behind: the incremental sync starts from it."""
    return child.get("state") or {}


def _full_correctness(truth: dict[str, list[int]], stored: dict) -> dict:
    """Ids the API would return but the warehouse lacks, and ids it should not have."""
    report = {}
    for table in truth:
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
    for table in changed:
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
