"""The sync without the SDK's local runner: what production runs, minus the warehouse.

In production Fivetran's own runner takes the rows over gRPC; the local DuckDB runner of
``fivetran debug`` is not in the loop, yet it dominates every figure measured through it. The
sink mode calls the connector's own ``update(configuration, state, op=sink)`` (the same
threads, the same pacing) and hands the operations to ``CountingSink``, which does the work the SDK's
``Operations`` does before a row leaves the process (encode each row with the declared column
types, serialise each checkpoint's state) and then counts and drops it. It keeps the ids per
table so the parent can check the rows against the simulator's ground truth.
"""

from __future__ import annotations

import json
import threading

from fivetran_connector_sdk_cli.schema_processing import process_tables
from fivetran_connector_sdk_cli.type_coercion import encode_row_data


def declared_column_types(schema_entries: list[dict]) -> dict[str, dict]:
    """{table: {column: DataType}} as the SDK's runner keeps them after ``schema()``: built by
    the SDK's own schema processing, so an encoding here costs what it costs there."""
    tables: dict = {}
    process_tables(schema_entries, tables)
    return {
        name: {column.name: column.type for column in table.columns}
        for (_schema, name), table in tables.items()
    }


class CountingSink:
    """A stand-in for the SDK's ``Operations`` (same signatures) that keeps counts and ids.

    Every row is encoded with ``encode_row_data`` and every state serialised with
    ``json.dumps``, as the SDK does before handing them on; nothing is stored but the ids.
    One lock per call, like the SDK's producer lock.
    """

    def __init__(self, column_types: dict[str, dict]):
        self._types = column_types
        self._lock = threading.Lock()
        self.counts = {"Upserts": 0, "Updates": 0, "Deletes": 0, "Checkpoints": 0}
        self.warnings = 0
        self.upserted: dict[str, list] = {}
        self.deleted: dict[str, list] = {}
        self.encoded_bytes = 0
        self.state_json: str | None = None
        self.largest_state_bytes = 0

    def upsert(self, table: str, data: dict) -> None:
        encoded = encode_row_data(self._types.get(table, {}), data)
        with self._lock:
            self.counts["Upserts"] += 1
            self.encoded_bytes += sum(len(value) for value in encoded.values())
            self.upserted.setdefault(table, []).append(data.get("id"))

    def update(self, table: str, modified: dict) -> None:
        encode_row_data(self._types.get(table, {}), modified)
        with self._lock:
            self.counts["Updates"] += 1

    def delete(self, table: str, keys: dict) -> None:
        encode_row_data(self._types.get(table, {}), keys)
        with self._lock:
            self.counts["Deletes"] += 1
            self.deleted.setdefault(table, []).append(keys.get("id"))

    def warning(self, message: str) -> None:
        with self._lock:
            self.warnings += 1

    def checkpoint(self, state: dict) -> None:
        text = json.dumps(state)
        with self._lock:
            self.counts["Checkpoints"] += 1
            self.largest_state_bytes = max(self.largest_state_bytes, len(text))
            self.state_json = text  # what the next sync would start from


def run_sync_to_sink(module, configuration: dict, state: dict) -> CountingSink:
    """One sync through the connector's own ``update``, with the sink as ``op``.

    ``module`` is the loaded connector.py, so nothing here can differ from what the SDK calls.
    """
    sink = CountingSink(declared_column_types(module.schema(configuration)))
    module.update(configuration, state, op=sink)
    return sink
