"""Values the warehouse cannot take as the API sent them: made storable at the one door every
row goes through, counted, and reported once.

One odd record must not block every future sync: the next sync reads the same record again
and would fail the same way. So rows are written through ``GuardedOperations`` (the walker
wraps its ``op`` in it for every page of every stream), which stores:

- text UTF-8 cannot hold (a lone UTF-16 surrogate: a JSON escape can carry one and Python's
  ``json`` accepts it) with U+FFFD for each lone surrogate, in text and JSON columns alike;
  the SDK refuses such text, and DuckDB such JSON at the checkpoint of the whole page;
- a value the stream could not read as its column's type (``UNREADABLE`` in a
  ``RepairedRow``: a word in an integer column, an object where text belongs, a date-time
  that is none) as NULL, the rest of the row kept;
- a table row without its cursor field as it is (the walker keeps it from moving the cursor).

Each is counted on the stream's metrics (``sync_health.repaired_values``), and the first of
each kind per stream and sync is reported with ``op.warning``: the table, the column and the
record id, never the value. Reading every string of every row would cost a good share of a
row's CPU, so text is only looked at on pages whose body can hold a lone surrogate at all
(``may_hold_surrogates``, one scan of the bytes per page).
"""

from __future__ import annotations

import re
from typing import Any

from .redact import redact, utf8_safe


class _Unreadable:
    def __repr__(self) -> str:
        return "UNREADABLE"


#: A value a stream could not read as its column's type; stored as NULL and counted.
UNREADABLE = _Unreadable()


class RepairedRow(dict):
    """A row with ``UNREADABLE`` values in it: the writer knows at a glance (its type) that it
    needs repair, so a sound row costs no look at its values."""


#: A lone surrogate in a JSON body is an escape (``\ud83d``) or, from a server that writes
#: CESU-8, the bytes ED A0-BF: a body with neither cannot hold one.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD]")

TEXT, TYPE, MISSING, SKIPPED = "text", "type", "missing", "skipped"
_WHAT = {
    TEXT: "held text that UTF-8 cannot encode (a lone UTF-16 surrogate); it is stored with "
    "U+FFFD in its place",
    TYPE: "held a value that is not of the column's type; it is stored as NULL",
    MISSING: "has none; the row lands with it empty and does not move the cursor",
}


def may_hold_surrogates(body: bytes) -> bool:
    """Whether a JSON body can hold a lone surrogate at all (else no string needs a look)."""
    return b"\xed" in body or _SURROGATE_ESCAPE.search(body) is not None


def encodable(value: Any) -> Any:
    """``value`` with every string UTF-8 cannot encode repaired: each lone surrogate becomes
    U+FFFD (a pair split into two code points is joined). Dicts and lists are repaired
    throughout; the very same object comes back when nothing needed repair."""
    kind = type(value)
    if kind is str:
        return utf8_safe(value)
    if kind is list:
        items = [encodable(item) for item in value]
        return value if all(new is old for new, old in zip(items, value)) else items
    if kind is dict:
        pairs = [(encodable(key), encodable(item)) for key, item in value.items()]
        unchanged = all(
            new_key is key and new is item
            for (new_key, new), (key, item) in zip(pairs, value.items())
        )
        return value if unchanged else dict(pairs)
    return value


class Reports:
    """``op.warning`` once per stream and kind of problem per sync (the dashboard shows a
    sync's first ten warnings); every message is redacted."""

    def __init__(self, op):
        self._op = op
        self._sent: set[tuple[str, str]] = set()

    def once(self, stream: str, kind: str, message: str) -> None:
        if (stream, kind) in self._sent:
            return
        self._sent.add((stream, kind))
        self._op.warning(
            redact(
                f"{message}. sync_health counts every one for {stream}; this warning is shown "
                "once per sync",
                max_length=1000,
            )
        )


class GuardedOperations:
    """The operations one page of ``stream`` is written through: each row repaired (see the
    module docstring) before it goes on to ``op``, each repair counted on ``metrics`` and
    reported through ``reports``. ``deep_text``: the page may hold a lone surrogate."""

    def __init__(self, op, reports: Reports, stream, metrics, deep_text: bool):
        self._op, self._reports = op, reports
        self._stream, self._metrics, self._deep_text = stream, metrics, deep_text

    def upsert(self, table: str, data: dict) -> None:
        self._op.upsert(table, self._storable(table, data))

    def update(self, table: str, modified: dict) -> None:
        self._op.update(table, self._storable(table, modified))

    def delete(self, table: str, keys: dict) -> None:
        self._op.delete(table, keys)

    def _storable(self, table: str, row: dict) -> dict:
        repairs = []
        if type(row) is RepairedRow:
            row = dict(row)
            repairs += [(TYPE, name) for name, value in row.items() if value is UNREADABLE]
            row.update((name, None) for _, name in repairs)
        if self._deep_text:
            for name, value in row.items():
                fixed = encodable(value)
                if fixed is not value:
                    row[name] = fixed
                    repairs.append((TEXT, name))
        cursor = self._stream.cursor_field
        missing = table == self._stream.name and row.get(cursor) is None
        if missing and (TYPE, cursor) not in repairs:
            repairs.append((MISSING, cursor))
        for kind, column in repairs:
            self._metrics.repaired_values += 1
            record = f"record {row.get('id')!r}"
            self._reports.once(
                self._stream.name, kind, f"{table}: column {column} of {record} {_WHAT[kind]}"
            )
        return row
