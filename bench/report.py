"""Render a benchmark result as Markdown for stdout (the JSON file holds everything)."""

from __future__ import annotations

PHASE_COLUMNS = (
    ("rows", "rows", "{:d}"),
    ("requests", "requests", "{:d}"),
    ("walks", "walks", "{:d}"),
    ("request_floor", "floor", "{:d}"),
    ("requests_per_floor", "req/floor", "{:.2f}"),
    ("throttled_429", "429s", "{:d}"),
    ("wall_seconds", "wall s", "{:.1f}"),
    ("latency_floor_seconds", "latency floor s", "{:.1f}"),
    ("rate_limit_floor_seconds", "rate-limit floor s", "{:.1f}"),
    ("wall_per_floor", "wall/floor", "{:.2f}"),
    ("rows_per_second", "rows/s", "{:.0f}"),
)


def _cell(value, pattern: str) -> str:
    if value is None:
        return "-"
    try:
        return pattern.format(value)
    except (ValueError, TypeError):
        return str(value)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def phase_markdown(title: str, phase: dict) -> list[str]:
    """One phase (full or incremental): the per-table table plus cost and memory lines."""
    lines = [f"### {title}", ""]
    if not phase.get("ok"):
        error = (phase.get("error") or "unknown error").strip().splitlines()
        lines += [f"**FAILED**: {error[0] if error else ''} (log: {phase.get('child_log')})", ""]
    header = ["table"] + [label for _, label, _ in PHASE_COLUMNS]
    rows = []
    for name in list(phase["tables"]) + ["total"]:
        figures = phase["total"] if name == "total" else phase["tables"][name]
        label = "**total**" if name == "total" else name
        rows.append([label] + [_cell(figures.get(key), fmt) for key, _, fmt in PHASE_COLUMNS])
    lines += _table(header, rows)
    total = phase["total"]
    other = ", ".join(f"{name} {count}" for name, count in total["other_requests"].items())
    outside = f"; requests outside the tables: {other}" if other else ""
    lines += [
        "",
        f"- CPU (whole child process, user+sys): {_cell(phase.get('cpu_seconds'), '{:.2f}')} s"
        f" = {_cell(phase.get('cpu_us_per_row'), '{:.0f}')} us/row;"
        f" peak RSS {_cell(phase.get('peak_rss_mb'), '{:.1f}')} MB"
        f" (baseline after imports {_cell(phase.get('baseline_rss_mb'), '{:.1f}')} MB,"
        f" growth {_cell(phase.get('rss_growth_mb'), '{:.1f}')} MB)",
        f"- upserts {_cell(phase.get('upserts'), '{}')}, checkpoints"
        f" {_cell(phase.get('checkpoints'), '{}')}, state {_cell(phase.get('state_bytes'), '{}')}"
        f" bytes; max requests in flight observed {phase.get('max_in_flight_observed')}"
        f"{outside}",
    ]
    if total.get("client_seconds") is not None:
        lines.append(
            f"- of the wall time, {total['server_seconds']:.1f} s were the simulator answering"
            f" (incl. the added latency) and {total['client_seconds']:.1f} s the client side"
            " (connector + SDK runner) between responses"
        )
    unusual = [
        f"{name} {status} x{count}"
        for name in phase["tables"]
        for status, count in sorted(phase["tables"][name].get("requests_by_status", {}).items())
        if status != "200"
    ]
    if unusual:
        lines.append("- responses other than 200 (0 = connection dropped): " + ", ".join(unusual))
    lines += windows_line(phase)
    lines += incremental_lines(phase)
    lines += _correctness_lines(phase)
    lines.append("")
    return lines


def windows_line(phase: dict) -> list[str]:
    """How close the pacing ran to the burst limit, from the moments the simulator counted
    the requests, and how the round trips divided around that moment."""
    windows = phase.get("windows") or {}
    if not windows.get("tightest_21_span_seconds"):
        return []
    before, after = windows.get("before_count_ms"), windows.get("after_count_ms")
    trips = windows.get("round_trip_ms")
    line = (
        f"- burst window: the tightest 21 counted requests spanned"
        f" {windows['tightest_21_span_seconds']:.3f} s (the limiter needs >= 2 s: margin"
        f" {windows['margin_ms']:.0f} ms); {windows['counted_per_second']:.2f} requests/s"
        " counted"
    )
    if before and after and trips:
        line += (
            f"; round trip min/median/max {trips['min']:.0f}/{trips['median']:.0f}/"
            f"{trips['max']:.0f} ms = before the count {before['min']:.0f}/"
            f"{before['median']:.0f}/{before['max']:.0f} + after it {after['min']:.0f}/"
            f"{after['median']:.0f}/{after['max']:.0f} ms; fastest round trip minus fastest"
            f" way in and way back: {windows['credit_shortfall_ms']:.1f} ms"
        )
    return [line]


def incremental_lines(phase: dict) -> list[str]:
    """Requests against the changed rows' floor, and what was re-read."""
    floor = phase.get("changed_floor")
    if not floor:
        return []
    reread = phase.get("reread_rows") or {}
    total = phase["total"]
    listed = ", ".join(f"{table} {count}" for table, count in reread.items())
    return [
        f"- lookback {phase.get('lookback_minutes')} min: {total['requests']} requests vs the"
        f" changed rows' floor {floor['pages']} + {floor['fixed']} fixed (/me, archive, trash)"
        f" = {floor['total']}; rows re-read besides the changed ones: {listed}"
        f" ({sum(reread.values())})"
    ]


def _correctness_lines(phase: dict) -> list[str]:
    correctness = phase.get("correctness") or {}
    problems = []
    for table, check in correctness.items():
        if check.get("missing") or check.get("unexpected"):
            problems.append(
                f"{table}: {check['missing']} missing, {check['unexpected']} unexpected"
                f" (e.g. {check['missing_sample']})"
            )
        if check.get("missed"):
            problems.append(
                f"{table}: {check['missed']} of {check['changed']} changed rows not re-synced"
                f" (e.g. {check['missed_sample']})"
            )
    if not correctness:
        return []
    if problems:
        return ["- **correctness: " + "; ".join(problems) + "**"]
    if phase.get("phase") == "incremental":
        changed = sum(check["changed"] for check in correctness.values())
        return [f"- correctness: all {changed} changed rows re-synced"]
    return ["- correctness: every row of the simulator's ground truth is in the warehouse"]


def _phase_title(name: str, phase: dict, options: dict) -> str:
    if name == "full":
        return "full sync"
    changed = sum(phase.get("changed_rows", {}).values())
    return (
        f"incremental sync, lookback {phase.get('lookback_minutes')} min, after"
        f" {options['change_percent']:g} % of rows changed ({changed} rows, edits spread over"
        f" {options.get('cadence_hours', 6):g} h)"
    )


def attribution_markdown(result: dict) -> list[str]:
    """CPU per row by owner, from the separate profiled pass."""
    phases = [
        (name, result[name]["cpu_attribution"])
        for name in ("full", "incremental")
        if name in result and "cpu_attribution" in result[name]
    ]
    if not phases:
        return []
    lines = [
        "### CPU attribution (separate profiled pass; its wall time is not used above)",
        "",
        "Self = CPU while the innermost Python frame was that code's; charged = plus the"
        " standard-library and third-party code (JSON, requests, datetime...) it called.",
        "",
    ]
    header = [
        "phase",
        "rows",
        "connector self us/row",
        "SDK self us/row",
        "rest self us/row",
        "connector charged us/row",
        "SDK charged us/row",
        "uncharged us/row",
        "profiled CPU s",
        "profiled wall s",
    ]
    rows = []
    for name, attribution in phases:
        if not attribution.get("self_us_per_row"):
            rows.append([name, "-", "profiling failed"] + ["-"] * 7)
            continue
        own = attribution["self_us_per_row"]
        charged = attribution["charged_us_per_row"]
        rows.append(
            [
                name,
                str(attribution["rows"]),
                _cell(own["connector"], "{:.0f}"),
                _cell(own["sdk"], "{:.0f}"),
                _cell(own["rest"], "{:.0f}"),
                _cell(charged["connector"], "{:.0f}"),
                _cell(charged["sdk"], "{:.0f}"),
                _cell(charged["rest"], "{:.0f}"),
                _cell(attribution["profiled_cpu_seconds"], "{:.2f}"),
                _cell(attribution["profiled_wall_seconds"], "{:.1f}"),
            ]
        )
    lines += _table(header, rows)
    full = dict(phases).get("full")
    if full and full.get("top_functions"):
        lines += ["", f"Hottest code in the profiled full sync ({full['method']}):", ""]
        top_rows = [
            [f"`{item['function']}`", item["bucket"], f"{item['cpu_seconds']:.3f}"]
            for item in full["top_functions"][:10]
        ]
        top_rows += [
            [
                f"`{item['function']}` (charged, incl. callees)",
                "connector",
                f"{item['cpu_seconds']:.3f}",
            ]
            for item in full.get("top_connector_functions", [])[:6]
        ]
        lines += _table(["function (innermost Python frame)", "owner", "CPU s"], top_rows)
    lines.append("")
    return lines


def scaling_markdown(scaling: dict) -> list[str]:
    """Per-size costs normalised per 1,000 rows, so linear growth reads as a flat column."""
    if not scaling:
        return []
    lines = ["### Scaling (full syncs)", ""]
    header = [
        "size % of seed",
        "rows",
        "requests",
        "requests/1k rows",
        "wall s",
        "s/1k rows",
        "peak RSS MB",
        "RSS growth MB",
    ]
    rows = []
    for point in scaling["points"]:
        rows.append(
            [
                _cell(point["scale_percent"], "{:g}"),
                _cell(point["rows"], "{:d}"),
                _cell(point["requests"], "{:d}"),
                _cell(point["requests_per_1k_rows"], "{:.2f}"),
                _cell(point["wall_seconds"], "{:.1f}"),
                _cell(point["seconds_per_1k_rows"], "{:.2f}"),
                _cell(point["peak_rss_mb"], "{:.1f}"),
                _cell(point["rss_growth_mb"], "{:.1f}"),
            ]
        )
    lines += _table(header, rows)
    verdict = scaling.get("ratios", {})
    lines += [
        "",
        f"- largest / smallest: rows x{_cell(verdict.get('rows'), '{:.1f}')}, requests"
        f" x{_cell(verdict.get('requests'), '{:.1f}')},"
        f" wall x{_cell(verdict.get('wall'), '{:.1f}')},"
        f" peak RSS x{_cell(verdict.get('peak_rss'), '{:.2f}')}, RSS growth"
        f" x{_cell(verdict.get('rss_growth'), '{:.2f}')}",
        "",
    ]
    return lines


COMPARISON_HEADER = [
    "mode",
    "sync",
    "latency ms",
    "rows",
    "requests",
    "req/floor",
    "429s",
    "wall s",
    "rate floor s",
    "wall/rate floor",
    "latency floor s",
    "wall/floor",
    "tightest 21 s",
    "CPU s",
    "CPU us/row",
]

PHASE_TITLES = {
    "full": "full",
    "incremental": "incremental",
    "incremental_no_lookback": "incremental, lookback 0",
}


def _comparison_row(mode: str, name: str, latency, phase: dict) -> list[str]:
    total = phase["total"]
    windows = phase.get("windows") or {}
    status = "" if phase.get("ok") else " FAILED"
    return [
        mode + status,
        PHASE_TITLES.get(name, name),
        _cell(latency, "{:g}"),
        _cell(total.get("rows"), "{:d}"),
        _cell(total.get("requests"), "{:d}"),
        _cell(total.get("requests_per_floor"), "{:.2f}"),
        _cell(total.get("throttled_429"), "{:d}"),
        _cell(total.get("wall_seconds"), "{:.1f}"),
        _cell(total.get("rate_limit_floor_seconds"), "{:.1f}"),
        _cell(_ratio(total.get("wall_seconds"), total.get("rate_limit_floor_seconds")), "{:.3f}"),
        _cell(total.get("latency_floor_seconds"), "{:.1f}"),
        _cell(total.get("wall_per_floor"), "{:.3f}"),
        _cell(windows.get("tightest_21_span_seconds"), "{:.3f}"),
        _cell(phase.get("cpu_seconds"), "{:.1f}"),
        _cell(phase.get("cpu_us_per_row"), "{:.0f}"),
    ]


def _ratio(numerator, denominator):
    return numerator / denominator if numerator is not None and denominator else None


def comparison_markdown(result: dict) -> list[str]:
    """Every measured sync in one table: both modes, then the sink mode's other latencies."""
    by_mode = result.get("by_mode") or {}
    latency = result["options"]["latency_ms"]
    rows = [
        _comparison_row(mode, name, latency, phase)
        for mode, phases in by_mode.items()
        for name, phase in phases.items()
    ]
    rows += [
        _comparison_row("sink", "full", run["latency_ms"], run["full"])
        for run in result.get("sink_latencies", [])
    ]
    if not rows:
        return []
    lines = ["### Both modes side by side", ""]
    lines += _table(COMPARISON_HEADER, rows)
    lines += [
        "",
        "runner: through the SDK's local runner (DuckDB); sink: the same sync, threads and"
        " pacing, rows and checkpoints encoded as the SDK would, then counted and dropped."
        " Rate floor = requests / 10 per s (20 per 2 s); latency floor = all requests x the"
        " latency / the walks the connector keeps in flight at most; wall/floor = wall / the"
        " larger floor; tightest 21 = the shortest time in which the simulator counted 21"
        " requests (>= 2 s, or the 21st is refused).",
        "",
    ]
    return lines


def render(result: dict) -> str:
    """The whole report: settings, each phase, attribution and scaling."""
    options = result["options"]
    machine = result["machine"]
    lines = [
        f"## Xurrent connector benchmark ({result['started_at']})",
        "",
        f"- dataset {result.get('dataset')} ({options['scale_percent']:g} % of seed);"
        f" latency {options['latency_ms']:g} ms per request; rate limits"
        f" {'on (20 per 2 s, 3600 per hour)' if options['rate_limit'] else 'off'};"
        f" initial_sync_days=all, max_records_per_page={options['page_size']}",
        f"- machine: {machine['nproc']} CPUs, {machine['memory']}, Python {machine['python']},"
        f" git {machine.get('git_commit')}",
        f"- the simulator generated the dataset in"
        f" {_cell(result.get('simulator_generation_seconds'), '{:.1f}')} s",
        "",
    ]
    lines += comparison_markdown(result)
    by_mode = result.get("by_mode") or {
        "runner": {k: result[k] for k in ("full", "incremental") if k in result}
    }
    for mode, phases in by_mode.items():
        for name, phase in phases.items():
            lines += phase_markdown(f"{mode} mode: {_phase_title(name, phase, options)}", phase)
    for run in result.get("sink_latencies", []):
        lines += phase_markdown(f"sink mode: full sync at {run['latency_ms']:g} ms", run["full"])
    lines += attribution_markdown(result)
    lines += scaling_markdown(result.get("scaling"))
    lines.append(f"JSON: {result.get('output_path')}")
    return "\n".join(lines)
