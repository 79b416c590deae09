"""How often the sync commits: every few thousand rows or seconds, not after every page.

The sync computes a resumable state after every page (sync.py), and that stays the unit of
safety. Committing each of those states is what costs: in the SDK's runner every
``op.checkpoint`` is a DuckDB transaction that first re-reads each touched table's columns
and key from ``information_schema`` (about 40-60 ms of CPU per table, whatever the row
count). At 100 rows a page that fixed cost was more than half of the sync's CPU, on the same
thread that upserts, so it decided the wall time of a rate-limited sync.

``CheckpointCadence`` sits between the sync and the SDK. Upserts (and any other operation)
pass straight through; a checkpoint is remembered and only committed when at least
``every_rows`` rows or ``every_seconds`` seconds have gone by since the last commit, and
always at the end (``flush``). The state committed is always the *latest* one the sync gave,
and every state is produced after the rows it covers were upserted, so a commit never points
past a row that was not written. A run that fails loses at most the uncommitted pages; the
next run resumes from the last commit and reads them again (upserts are idempotent). On a
failure the pending state is committed first (``flush_after_failure``), so in practice the
next run resumes exactly where this one stopped.
"""

from __future__ import annotations

import time
from typing import Any, Callable

#: Commit after this many upserted rows (50 full pages; bounds what a failure re-reads and
#: the rows the SDK buffers in memory).
CHECKPOINT_EVERY_ROWS = 5000
#: ... or after this many seconds (bounds lost work when pages come slowly, e.g. when the
#: hourly budget is being spread).
CHECKPOINT_EVERY_SECONDS = 10.0


class CheckpointCadence:
    """An emitter that commits the latest checkpoint every N rows or T seconds.

    ``emitter`` has ``upsert`` and ``checkpoint`` (sync.Emitter); ``every_rows=0`` commits
    every checkpoint (the behaviour without a cadence).
    """

    def __init__(
        self,
        emitter: Any,
        *,
        every_rows: int = CHECKPOINT_EVERY_ROWS,
        every_seconds: float = CHECKPOINT_EVERY_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self._emitter = emitter
        self._every_rows = every_rows
        self._every_seconds = every_seconds
        self._monotonic = monotonic
        self._pending: dict | None = None
        self._rows_since_commit = 0
        self._committed_at = monotonic()
        self.commits = 0
        self.deferred = 0

    def upsert(self, table: str, row: dict) -> None:
        self._emitter.upsert(table, row)
        self._rows_since_commit += 1

    def checkpoint(self, state: dict) -> None:
        """Remember ``state``; commit it if enough rows or time have gone by."""
        self._pending = state
        due = (
            self._rows_since_commit >= self._every_rows
            or self._monotonic() - self._committed_at >= self._every_seconds
        )
        if due:
            self._commit()
        else:
            self.deferred += 1

    def flush(self) -> None:
        """Commit the latest state if it has not been committed yet (end of the sync)."""
        if self._pending is not None:
            self._commit()

    def flush_after_failure(self) -> None:
        """Best effort on the way out of a failed sync: commit what was fully processed.

        Never raises: the sync's own error is the one to report, and if the SDK already
        refuses operations the previous commit simply stays the resume point.
        """
        try:
            self.flush()
        except Exception:  # noqa: BLE001 - the original failure propagates instead
            pass

    def _commit(self) -> None:
        state, self._pending = self._pending, None
        self._emitter.checkpoint(state)
        self._rows_since_commit = 0
        self._committed_at = self._monotonic()
        self.commits += 1
