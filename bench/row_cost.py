"""Per-row CPU of the connector's own work, and of the SDK's encoding of what it hands over.

``python -m bench.row_cost [--rows N] [--repeat R] [--cprofile]``

The timed sync in ``python -m bench`` mixes the connector's per-row work with the SDK's much
larger share (renaming, staging, DuckDB). This isolates the two parts the connector decides:

* **flatten**: ``TableSpec.flatten`` (the connector's conversion of one API record into a row);
* **encode**: the SDK's ``encode_row_data`` for that row, the first thing ``op.upsert`` does.
  Its cost depends on the values the connector passes (an ISO string in a UTC_DATETIME column
  is re-parsed with ``strptime``; a datetime object is not).

Records are fetched over HTTP from a simulator with the connector's own ``fields=`` list, so
they are exactly what a sync receives. Timings are the best of ``--repeat`` passes, in
microseconds per row; ``--cprofile`` adds the hottest functions of one flatten+encode pass.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from functools import partial
from urllib.parse import parse_qsl, urlsplit

from fivetran_connector_sdk_cli.type_coercion import encode_row_data
from fivetran_connector_sdk_core.model import DataType

from simulator import SimConfig, Simulator
from xurrent_connector.http import XurrentClient
from xurrent_connector.options import parse_settings
from xurrent_connector.streams import TABLES

TOKEN = "row-cost-token"


def sdk_column_types(spec) -> dict:
    """{column: DataType} as the SDK keeps it for a declared table."""
    types = {}
    for column in spec.columns:
        declared = column.sdk_type
        name = declared["type"] if isinstance(declared, dict) else declared
        types[column.name] = DataType[name]
    return types


def fetch_records(rows_per_table: int) -> dict[str, list[dict]]:
    """Records as the API returns them to the connector, per table."""
    counts = {name: rows_per_table for name in TABLES}
    config = SimConfig(token=TOKEN, account="bench", seed=7, rate_limit=False, **counts)
    records: dict[str, list[dict]] = {}
    with Simulator(config) as sim:
        settings = parse_settings(
            {"oauth_token": TOKEN, "account_id": "bench", "base_url": sim.api_url}
        )
        client = XurrentClient(settings)
        try:
            for name, stream in TABLES.items():
                records[name] = read_all(client, stream)
        finally:
            client.close()
    return records


def read_all(client, stream) -> list[dict]:
    """Every record of a stream, page by page, with the connector's fields and order (the
    simulator's next links repeat every parameter)."""
    params = {"sort": stream.sort, "per_page": "100", "fields": ",".join(stream.fields)}
    records = []
    while params is not None:
        response = client.get(stream.path, params)
        records += response.data
        link = response.links.get("next")
        params = None if link is None else dict(parse_qsl(urlsplit(link).query))
    return records


def best_of(repeat: int, function) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def _flatten_all(flatten, rows) -> list:
    return [flatten(record, "bench") for record in rows]


def _encode_all(types, rows) -> list:
    return [encode_row_data(types, row) for row in rows]


def measure(records: dict[str, list[dict]], repeat: int) -> list[dict]:
    results = []
    for name, spec in TABLES.items():
        rows = records[name]
        types = sdk_column_types(spec)
        flatten = spec.flatten
        flattened = [flatten(record, "bench") for record in rows]
        flatten_seconds = best_of(repeat, partial(_flatten_all, flatten, rows))
        encode_seconds = best_of(repeat, partial(_encode_all, types, flattened))
        per_row = 1e6 / max(1, len(rows))
        results.append(
            {
                "table": name,
                "rows": len(rows),
                "columns": len(spec.columns),
                "flatten_us": flatten_seconds * per_row,
                "encode_us": encode_seconds * per_row,
            }
        )
    return results


def profile(records: dict[str, list[dict]], limit: int = 15) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for name, spec in TABLES.items():
        types = sdk_column_types(spec)
        for record in records[name]:
            encode_row_data(types, spec.flatten(record, "bench"))
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(limit)
    return out.getvalue()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5000, help="rows per table (default 5000)")
    parser.add_argument("--repeat", type=int, default=5, help="passes; the best one counts")
    parser.add_argument("--cprofile", action="store_true", help="print cProfile's hottest")
    options = parser.parse_args(argv)
    records = fetch_records(options.rows)
    results = measure(records, options.repeat)
    print("| table | rows | columns | flatten us/row | SDK encode us/row | sum us/row |")
    print("|---|---|---|---|---|---|")
    for r in results:
        total = r["flatten_us"] + r["encode_us"]
        print(
            f"| {r['table']} | {r['rows']} | {r['columns']} | {r['flatten_us']:.1f} "
            f"| {r['encode_us']:.1f} | {total:.1f} |"
        )
    if options.cprofile:
        print("\n```\n" + profile(records) + "```")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
