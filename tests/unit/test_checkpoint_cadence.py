"""CheckpointCadence: commits the latest state every N rows or T seconds, and at the end."""

from __future__ import annotations

import pytest

from xurrent_connector.checkpoints import CheckpointCadence


class Recorder:
    def __init__(self, fail_checkpoints: bool = False):
        self.ops: list[tuple] = []
        self.fail_checkpoints = fail_checkpoints

    def upsert(self, table, row):
        self.ops.append(("upsert", row["id"]))

    def checkpoint(self, state):
        if self.fail_checkpoints:
            raise RuntimeError("the SDK refuses operations after a failure")
        self.ops.append(("checkpoint", state["page"]))


def feed(cadence, pages: int, rows_per_page: int):
    row_id = 0
    for number in range(1, pages + 1):
        for _ in range(rows_per_page):
            row_id += 1
            cadence.upsert("t", {"id": row_id})
        cadence.checkpoint({"page": number})


def test_commits_the_latest_state_once_enough_rows_went_by():
    sink = Recorder()
    cadence = CheckpointCadence(sink, every_rows=25, every_seconds=1e9, monotonic=lambda: 0.0)
    feed(cadence, pages=7, rows_per_page=10)
    committed = [value for kind, value in sink.ops if kind == "checkpoint"]
    assert committed == [3, 6]  # after 30 and 60 rows; page 7 waits for the flush
    cadence.flush()
    assert [value for kind, value in sink.ops if kind == "checkpoint"] == [3, 6, 7]
    cadence.flush()  # nothing pending: no second commit of the same state
    assert cadence.commits == 3


def test_every_commit_follows_all_rows_it_covers():
    sink = Recorder()
    cadence = CheckpointCadence(sink, every_rows=15, every_seconds=1e9, monotonic=lambda: 0.0)
    feed(cadence, pages=5, rows_per_page=10)
    cadence.flush()
    seen_rows = 0
    for kind, value in sink.ops:
        if kind == "upsert":
            seen_rows += 1
        else:
            assert seen_rows >= value * 10  # page N's state only after page N's rows


def test_commits_after_enough_time_even_with_few_rows():
    clock = [0.0]
    sink = Recorder()
    cadence = CheckpointCadence(
        sink, every_rows=10_000, every_seconds=5, monotonic=lambda: clock[0]
    )
    for number in range(1, 5):
        clock[0] += 2.0
        cadence.upsert("t", {"id": number})
        cadence.checkpoint({"page": number})
    assert [value for kind, value in sink.ops if kind == "checkpoint"] == [3]  # at t=6


def test_every_rows_zero_commits_every_checkpoint():
    sink = Recorder()
    cadence = CheckpointCadence(sink, every_rows=0, every_seconds=1e9, monotonic=lambda: 0.0)
    feed(cadence, pages=3, rows_per_page=2)
    assert [value for kind, value in sink.ops if kind == "checkpoint"] == [1, 2, 3]


def test_flush_after_failure_never_masks_the_original_error():
    def pending_cadence():
        cadence = CheckpointCadence(Recorder(fail_checkpoints=True), every_rows=100)
        cadence.upsert("t", {"id": 1})
        cadence.checkpoint({"page": 1})
        return cadence

    pending_cadence().flush_after_failure()  # swallowed
    with pytest.raises(RuntimeError):
        pending_cadence().flush()  # the plain flush (end of a good sync) reports it
