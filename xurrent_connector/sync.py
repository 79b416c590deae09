"""The incremental sync: per table, walk pages, upsert rows, checkpoint after every page.

Decisions about windows, continuation walks and resumption are pure functions in state.py;
fetching is pagination.py. This module is the consumer that ties them together: for each page
it flattens and upserts the rows, advances the table's state and checkpoints the whole state,
so a run that dies anywhere resumes from the last page it committed without a gap.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any, Callable, Iterator, Mapping

from fivetran_connector_sdk import Logging as log
from fivetran_connector_sdk import Operations as op

from .health import SyncHealth
from .lifecycle import ProjectLifecycle
from .pagination import Page, first_request, iter_pages
from .prefetch import CONCURRENCY, sync_concurrently
from .progress import SyncProgress, TableProgress
from .state import (
    TableState,
    after_page,
    dump_state,
    link_is_reusable,
    load_state,
    plan_table,
    restart_after_stale_link,
)
from .state_guard import refuse_future_positions
from .tables import TABLES, UTC, RecordFormatError, TableSpec


@dataclass(frozen=True)
class Emitter:
    """Where rows and checkpoints go: the SDK in production, a recorder in unit tests."""

    upsert: Callable[[str, dict], None] = op.upsert
    checkpoint: Callable[[dict], None] = op.checkpoint
    #: Used by the projects lifecycle (lifecycle.py): archived/trashed projects.
    update: Callable[[str, dict], None] = op.update
    delete: Callable[[str, dict], None] = op.delete


def utc_now() -> datetime:
    return datetime.now(UTC)


def run_sync(
    settings: Any,
    saved_state: Mapping | None,
    client: Any,
    *,
    now: Callable[[], datetime] = utc_now,
    emitter: Emitter | None = None,
    concurrency: int = CONCURRENCY,
) -> dict:
    """Sync every configured table through ``emitter``; returns the final state.

    Every page is upserted and then checkpointed with the whole state, so a run that dies
    anywhere resumes from the last page it wrote. The saved state is validated before the
    first request, so an unusable state fails fast with instructions (see state.py). Tables
    not configured this time keep their state. Tables are fetched concurrently on background
    threads (prefetch.py) while this thread upserts and checkpoints; ``concurrency=1`` fetches
    one table at a time.
    """
    tables = load_state(saved_state)
    emitter = emitter or Emitter()
    started = now()
    refuse_future_positions(tables, started)  # before any request (state_guard.py)
    # Planned before the tables so every checkpoint carries the archive/trash walks.
    lifecycle = ProjectLifecycle(settings, client, saved_state, tables, started)
    emitter = lifecycle.keep_in_checkpoints(emitter)
    # One sync_health row per table (health.py): rows seen through the emitter, requests through
    # a per-table client view; every checkpoint also carries the synced organization ids.
    health = SyncHealth(settings.tables, saved_state, now=now)
    emitter = health.wrap(emitter)
    progress = SyncProgress(client)
    progress.started(settings.tables)
    table_syncs = []
    for name in settings.tables:
        table_client = health.client_for(name, client)
        table_progress = progress.table(name, table_client)
        table_sync = TableSync(TABLES[name], settings, table_client, emitter, table_progress)
        table_sync.begin(tables, started)
        table_syncs.append(table_sync)

    def table_done(table_sync: TableSync) -> None:
        progress.table_finished(table_sync.finish(tables))
        health.table_finished(table_sync.spec.name, dump_state(tables))

    with health.recording(lambda: dump_state(tables)):
        sync_concurrently(table_syncs, tables, on_table_done=table_done, concurrency=concurrency)
    lifecycle.run(tables, emitter)  # after the tables: see lifecycle.py on ordering
    progress.finished()
    return lifecycle.full_state(dump_state(tables))


class TableSync:
    """One table's sync within a run. ``tables`` is the shared, mutable map of table states
    that every checkpoint serialises whole."""

    def __init__(
        self,
        spec: TableSpec,
        settings: Any,
        client: Any,
        emitter: Emitter,
        progress: TableProgress,
    ):
        self.spec = spec
        self.settings = settings
        self.client = client
        self.emitter = emitter
        self.progress = progress

    def begin(self, tables: dict[str, TableState], now: datetime) -> None:
        """Plan this table's sync (resume, incremental or initial) into ``tables``."""
        name = self.spec.name
        previous_cursor = tables[name].cursor if name in tables else None
        state, mode = plan_table(
            tables.get(name),
            now=now,
            initial_sync_days=self.settings.initial_sync_days,
            lookback_minutes=self.settings.lookback_minutes,
            incremental=self.settings.enable_incremental_sync,
        )
        walk = state.walk
        resumed_link = mode == "resume" and walk.next_link is not None
        if resumed_link and not link_is_reusable(
            walk.next_link, self.settings.api_url, self._params(walk)
        ):
            state = replace(state, walk=restart_after_stale_link(walk, False))
            resumed_link = False
            log.info(
                f"{name}: the saved next link no longer matches this connector's host or "
                "field list; restarting from the saved position"
            )
        tables[name] = state
        self.progress.started(mode, state.walk.query.describe(), previous_cursor, resumed_link)
        self._stale_position: str | None = None

    def finish(self, tables: dict[str, TableState]) -> dict:
        """Log and return this table's summary once it has no walk left."""
        return self.progress.finished(tables[self.spec.name].cursor)

    def has_walk(self, tables: dict[str, TableState]) -> bool:
        return tables[self.spec.name].walk is not None

    def current_walk_pages(self, tables: dict[str, TableState]) -> Callable[[], Iterator[Page]]:
        """The page iterator of the table's current walk, to be run on any thread.

        Everything it needs is read from ``tables`` now, on the consumer's thread; the iterator
        itself only talks to the (thread-safe) client.
        """
        walk = tables[self.spec.name].walk
        params = self._params(walk)
        if walk.next_link is not None:
            return partial(iter_pages, self.client, walk.next_link, carry=params)
        return partial(iter_pages, self.client, self.spec.path, params)

    def restart_stale_walk(self, tables: dict[str, TableState]) -> None:
        """The API refused a next link: restart the walk from its last consumed position."""
        name = self.spec.name
        walk = tables[name].walk
        repeated = self._stale_position is not None and walk.position == self._stale_position
        self._stale_position = walk.position
        restarted = restart_after_stale_link(walk, repeated)
        tables[name] = replace(tables[name], walk=restarted)
        self.progress.walk_started(
            restarted.query.describe(), "the API refused the next link (HTTP 400)"
        )

    def _params(self, walk) -> dict:
        """Query parameters of every page of ``walk``."""
        return first_request(
            self.spec.api_fields, self.settings.max_records_per_page, walk.query.params()
        )

    def consume_page(self, tables: dict[str, TableState], page: Page) -> None:
        """Upsert one page, advance the table's state and commit both with a checkpoint."""
        name = self.spec.name
        upsert, flatten = self.emitter.upsert, self.spec.flatten
        for record in page.rows:
            try:
                row = flatten(record)
            except RecordFormatError as error:
                raise RecordFormatError(f"{name} record {record.get('id')!r}: {error}") from None
            upsert(name, row)
        before = tables[name].walk
        after = after_page(tables[name], page.summary())
        tables[name] = after
        self.emitter.checkpoint(dump_state(tables))
        self.progress.page(len(page.rows), page.position)
        if page.next_link is None and after.walk is not None:
            reason = (
                "the server capped the walk (X-Pagination-Throttled)"
                if before.throttled or page.throttled
                else f"finished {before.query.describe()}"
            )
            self.progress.walk_started(after.walk.query.describe(), reason)
