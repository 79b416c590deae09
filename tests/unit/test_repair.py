"""Rows repaired at the door: text UTF-8 cannot hold, values the streams could not read, rows
without their cursor field; each counted and reported once, never with its value.

The SDK's own encoder (the first step of ``op.upsert``) is the judge of "storable" here; DuckDB
refusing JSON with a lone surrogate at the checkpoint is covered end to end in
tests/integration/test_hostile_servers.py.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from fivetran_connector_sdk_cli.type_coercion import encode_row_data
from fivetran_connector_sdk_core.model import DataType
from testkit import Recorder

from xurrent_connector.redact import redact
from xurrent_connector.repair import (
    UNREADABLE,
    GuardedOperations,
    RepairedRow,
    Reports,
    encodable,
    may_hold_surrogates,
)
from xurrent_connector.streams import PRODUCTS

HALF = "\ud83d"  # the first half of 😀, alone
WHEN = datetime(2026, 3, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"a{HALF}b", "a\ufffdb"),
        ("\ude00", "\ufffd"),  # a lone second half
        ("\ude00\ud83d", "\ufffd\ufffd"),  # a pair the wrong way round
        ("x\ud83d\ude00y", "x😀y"),  # a pair split into two code points is joined
    ],
)
def test_lone_surrogates_become_the_replacement_character(text, expected):
    assert encodable(text) == expected
    encodable(text).encode("utf-8")  # storable


@pytest.mark.parametrize("text", ["plain", "a\x00b", "😀 𝄞", "שלום world", "é" * 200_000])
def test_text_utf8_can_hold_is_left_as_it_is_the_same_object(text):
    assert encodable(text) is text


def test_json_values_are_repaired_throughout_and_kept_when_sound():
    sound = {"id": "tier", "values": ["gold", 1, None, {"k": "v"}]}
    assert encodable(sound) is sound
    broken = [{"id": "note", "value": f"half {HALF}"}, {f"k{HALF}": [HALF]}]
    assert encodable(broken) == [{"id": "note", "value": "half \ufffd"}, {"k\ufffd": ["\ufffd"]}]
    json.dumps(encodable(broken), ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize(
    "body, possible",
    [
        (b'[{"name": "a \\ud83d"}]', True),
        (b'[{"name": "a \\uD83D"}]', True),
        (b'[{"name": "a \xed\xa0\xbd"}]', True),  # CESU-8: the surrogate's own bytes
        (b'[{"name": "plain \\n text \\u00e9"}]', False),
        ('[{"name": "😀 é"}]'.encode(), False),  # astral and accented text as UTF-8
    ],
)
def test_only_a_body_with_a_surrogate_escape_or_its_bytes_needs_a_look(body, possible):
    assert may_hold_surrogates(body) is possible
    if not possible:  # the test would be unsound if such a body could carry one
        assert encodable(json.loads(body)) == json.loads(body)


def guarded(op, reports=None, deep_text=False, stream=PRODUCTS):
    metrics = SimpleNamespace(repaired_values=0)
    operations = GuardedOperations(op, reports or Reports(op), stream, metrics, deep_text)
    return operations, metrics


def sdk_encodes(row: dict) -> None:
    types = {"id": DataType.LONG, "name": DataType.STRING, "custom_fields": DataType.JSON}
    encode_row_data(types, row)


def test_text_the_sdk_refuses_is_repaired_counted_and_reported_once_without_its_value():
    op = Recorder()
    operations, metrics = guarded(op, deep_text=True)
    secret_text = f"pasted half an emoji {HALF}"
    row = {"id": 5, "name": secret_text, "custom_fields": [{"value": HALF}], "updated_at": WHEN}
    with pytest.raises(UnicodeEncodeError):
        sdk_encodes(row)  # what the sync would have died of
    operations.upsert("products", dict(row))
    operations.upsert("products", {**row, "id": 6})
    stored = op.rows("products")
    assert [r["name"] for r in stored] == ["pasted half an emoji \ufffd"] * 2
    assert stored[0]["custom_fields"] == [{"value": "\ufffd"}]
    for stored_row in stored:
        sdk_encodes(stored_row)
    assert metrics.repaired_values == 4
    (warning,) = op.warnings()
    assert "products" in warning and "column name" in warning and "record 5" in warning
    assert "emoji" not in warning


def test_without_a_suspect_body_strings_are_not_looked_at():
    """The cost of a sound page: the type of the row, and its cursor field."""
    op = Recorder()
    operations, metrics = guarded(op, deep_text=False)
    operations.upsert("products", {"id": 5, "name": "fine", "updated_at": WHEN})
    assert metrics.repaired_values == 0 and op.warnings() == []


def test_unreadable_values_are_stored_as_null_and_the_rest_of_the_row_kept():
    op = Recorder()
    operations, metrics = guarded(op)
    row = RepairedRow(id=5, name="Rack", useful_life=UNREADABLE, rate=UNREADABLE, updated_at=WHEN)
    operations.upsert("products", row)
    assert op.rows("products") == [
        {"id": 5, "name": "Rack", "useful_life": None, "rate": None, "updated_at": WHEN}
    ]
    assert type(op.rows("products")[0]) is dict
    assert metrics.repaired_values == 2
    (warning,) = op.warnings()
    assert "column useful_life of record 5" in warning and "NULL" in warning


def test_a_row_without_its_cursor_field_is_counted_once_even_when_unreadable():
    op = Recorder()
    operations, metrics = guarded(op)
    operations.upsert("products", {"id": 5, "updated_at": None})
    operations.upsert("products", RepairedRow(id=6, updated_at=UNREADABLE))
    assert metrics.repaired_values == 2
    assert len(op.warnings()) == 2  # one per kind: missing, and not of the column's type
    assert "does not move the cursor" in op.warnings()[0]


def test_another_tables_rows_need_no_cursor_field():
    """The archive updates project rows, which carry no created_at of the archive."""
    from xurrent_connector.streams import ARCHIVE

    op = Recorder()
    operations, metrics = guarded(op, stream=ARCHIVE)
    operations.update("projects", {"id": 2, "archived_at": WHEN, "trashed_at": None})
    operations.delete("projects", {"id": 2})
    assert metrics.repaired_values == 0 and len(op.calls) == 2


def test_reports_are_once_per_stream_and_kind_and_redacted():
    op = Recorder()
    reports = Reports(op)
    reports.once("products", "text", "first")
    reports.once("products", "text", "second")
    reports.once("projects", "text", "third")
    reports.once("products", "type", "Bearer abcdefghijkl")
    first, third, credential = op.warnings()
    assert first.startswith("first. ") and third.startswith("third. ")
    assert "once per sync" in first
    assert credential.startswith("Bearer [REDACTED]") and "abcdefghijkl" not in credential


def test_a_servers_message_with_a_lone_surrogate_is_printable():
    assert redact(f"Unknown fields: n{HALF}me") == "Unknown fields: n\ufffdme"
