"""Render a benchmark result as Markdown for stdout (the JSON file holds everything)."""

from __future__ import annotations

from bench.scenario import TABLES

PHASE_COLUMNS = (
    ("rows", "rows", "{:d}"),
    ("requests", "requests", "{:d}"),
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
    for name in list(TABLES) + ["total"]:
        figures = phase["total"] if name == "total" else phase["tables"][name]
        label = "**total**" if name == "total" else name
        rows.append([label] + [_cell(figures.get(key), fmt) for key, _, fmt in PHASE_COLUMNS])
    lines += _table(header, rows)
    total = phase["total"]
    other = ", ".join(f"{name} {count}" for name, count in total["other_requests"].items())
    outside = f"; requests outside the three tables: {other}" if other else ""
    lines += [
        "",
        f"- CPU (whole child process, user+sys): {_cell(phase.get('cpu_seconds'), '{:.2f}')} s"
        f" = {_cell(phase.get('cpu_us_per_row'), '{:.0f}')} us/row;"
        f" peak RSS {_cell(phase.get('peak_rss_mb'), '{:.1f}')} MB"
        f" (baseline after imports {_cell(phase.get('baseline_rss_mb'), '{:.1f}')} MB,"
        f" growth {_cell(phase.get('rss_growth_mb'), '{:.1f}')} MB)",
        f"- upserts {_cell(phase.get('upserts'), '{}')}, checkpoints"
        f" {_cell(phase.get('checkpoints'), '{}')}, state {_cell(phase.get('state_bytes'), '{}')}"
        f" bytes; concurrency reported {phase.get('concurrency_reported') or 'none (1 assumed)'},"
        f" max requests in flight observed {phase.get('max_in_flight_observed')}{outside}",
    ]
    if total.get("client_seconds") is not None:
        lines.append(
            f"- of the wall time, {total['server_seconds']:.1f} s were the simulator answering"
            f" (incl. the added latency) and {total['client_seconds']:.1f} s the client side"
            " (connector + SDK runner) between responses"
        )
    unusual = [
        f"{name} {status} x{count}"
        for name in TABLES
        for status, count in sorted(phase["tables"][name].get("requests_by_status", {}).items())
        if status != "200"
    ]
    if unusual:
        lines.append("- responses other than 200 (0 = connection dropped): " + ", ".join(unusual))
    lines += _correctness_lines(phase)
    lines.append("")
    return lines


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
        "",
    ]
    if "full" in result:
        lines += phase_markdown("Full sync", result["full"])
    if "incremental" in result:
        changed = result["incremental"].get("changed_rows", {})
        lines += phase_markdown(
            f"Incremental sync after {options['change_percent']:g} % of rows changed"
            f" ({sum(changed.values())} rows)",
            result["incremental"],
        )
    lines += attribution_markdown(result)
    lines += scaling_markdown(result.get("scaling"))
    lines.append(f"JSON: {result.get('output_path')}")
    return "\n".join(lines)
