"""Projects that leave through the archive or the trash are marked deleted in the warehouse.

Xurrent never deletes projects through the API: they are archived, or trashed and erased 28
days later (xurrent_api.md §7), and either way they vanish from ``GET /projects``. An
``updated_at`` walk therefore never learns about them, and the warehouse would keep showing
them as live. ``GET /archive`` and ``GET /trash`` list what is in each bin, one entry per
record with the moment it got there (``created_at``), so after the tables this module walks
both listings and, for every entry of type ``project``::

    op.update("projects", {"id": id, "archived_at": <entry created_at>, "trashed_at": None})
    op.delete("projects", {"id": id})          # soft delete: _fivetran_deleted = true

(``trashed_at`` and ``archived_at`` swap for the trash.) Both calls go into the same batch,
before the page's checkpoint: the SDK merges them into one pending change, so the row ends up
deleted with its moment set. An update or delete of a project the warehouse never received
(archived before it was first synced) does nothing in the SDK (fivetran_sdk.md §3.2), so no
lookup is needed. The other bin's column is cleared because a project sits in one bin at a
time: one moving from the archive to the trash shows only ``trashed_at``.

Why this ordering is safe:

* Tables first, then lifecycle. A project archived after the tables walk read it is upserted
  live and then deleted by its entry, in the same sync or the next; within one checkpoint
  batch the SDK applies the upsert before the update and the delete.
* A restore removes the entry from its listing and bumps the project's ``updated_at``, so the
  next tables walk upserts it: live again, with both columns null (upserts write null, see
  ``lifecycle_moment`` in tables.py). Re-reading the cursor's boundary (inclusive filter and
  lookback) cannot delete a restored project again, since its entry is gone.
* Restored and archived again between two syncs: the project stays hidden from the tables
  walk and its new entry is newer than the cursor, so it stays deleted with the new moment.
* Erased from the trash after 28 days: it disappears from every listing; the row was deleted
  when its trash entry was read and stays deleted.

The listings also hold other record types (requests, tasks, ...). They can only be filtered on
``id`` and ``created_at`` (xurrent_api.md §7), so the type is checked per entry (a string
comparison) and other entries only move the cursor.

Each listing is walked like a table (state.py, pagination.py): ``sort=created_at,id``,
``created_at=>=<cursor minus lookback>`` (the first sync: the tables' initial window, or
everything for ``all``), ``per_page`` from the settings, next links followed, the 100,000-entry
cap split by time and then by id, a checkpoint after every page. The cursors live in the state
under their own key, ``{"lifecycle": {"archive": {"cursor", "walk"}, "trash": {...}}}``, with
the same entry shape as a table. The key is optional, so version 1 states without it keep
loading; it is only written once projects are synced. A state whose projects were synced by a
connector version without this module (projects state, no lifecycle key) walks the listings
in full once: its warehouse may hold projects archived long before any initial window.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Mapping

from fivetran_connector_sdk import Logging as log

from .pagination import StaleLinkError, UnexpectedResponseError, iter_pages
from .progress import client_counters
from .state import (
    RESET_HINT,
    StateError,
    TableState,
    after_page,
    dump_state,
    link_is_reusable,
    load_table_state,
    plan_table,
    restart_after_stale_link,
)
from .state_guard import refuse_future_positions
from .tables import RecordFormatError, to_utc_text

#: The state key of the lifecycle walks (next to "version" and "tables").
STATE_KEY = "lifecycle"
#: The table whose rows the listings' entries mark deleted.
TABLE = "projects"
#: The record type string of project entries (compared case-insensitively).
RECORD_TYPE = "project"
POSITION_FIELD = "created_at"
SORT = "created_at,id"


@dataclass(frozen=True)
class Bin:
    """One listing: its path, the entry field naming the record type, and the column set."""

    name: str
    path: str
    type_field: str
    column: str


ARCHIVE = Bin("archive", "/archive", "archived", "archived_at")
TRASH = Bin("trash", "/trash", "trashed", "trashed_at")
#: Walk order within a sync. A project can move from the archive to the trash while the
#: archive is walked; reading the trash last lets the later move win.
BINS = (ARCHIVE, TRASH)


@dataclass
class LifecycleCounts:
    """What one sync's lifecycle walks did (for the summary line and for tests)."""

    archived: int = 0
    trashed: int = 0
    ignored: int = 0
    pages: int = 0
    requests: int | None = None

    def add(self, bin: Bin) -> None:
        if bin is ARCHIVE:
            self.archived += 1
        else:
            self.trashed += 1


# --- state ------------------------------------------------------------------------------------


def load_lifecycle_state(raw: Any) -> dict[str, TableState]:
    """The saved lifecycle walks (empty when the state has no lifecycle section).

    Validated like the tables (state.py), before the first request, so a damaged section
    fails the sync with instructions instead of silently re-reading or skipping entries.
    """
    if not isinstance(raw, Mapping) or raw.get(STATE_KEY) is None:
        return {}
    section = raw[STATE_KEY]
    if not isinstance(section, Mapping):
        raise StateError(f"Saved state field '{STATE_KEY}' is not an object. {RESET_HINT}")
    names = {bin.name for bin in BINS}
    loaded = {}
    for name, entry in section.items():
        if name not in names:
            raise StateError(
                f"Saved state field '{STATE_KEY}' names an unknown listing {name!r}. "
                f"{RESET_HINT}"
            )
        loaded[name] = load_table_state(entry, f"{STATE_KEY}.{name}")
    return loaded


def with_lifecycle(state: dict, bins: Mapping[str, TableState]) -> dict:
    """``state`` plus the lifecycle section (left out while there is nothing to keep)."""
    if not bins:
        return state
    section = {bin.name: bins[bin.name].to_json() for bin in BINS if bin.name in bins}
    return {**state, STATE_KEY: section}


# --- entries ----------------------------------------------------------------------------------


def project_id_of(entry: Any, bin: Bin) -> int | None:
    """The project an entry puts in ``bin``, or None for an entry of another record type."""
    if not isinstance(entry, Mapping):
        raise UnexpectedResponseError(f"An entry of {bin.path} is not a JSON object.")
    kind = entry.get(bin.type_field)
    if not isinstance(kind, str) or kind.lower() != RECORD_TYPE:
        return None
    # The reference sits under a key named after the type (xurrent_api.md §7).
    reference = entry.get(kind, entry.get(RECORD_TYPE))
    try:
        return int(reference["id"])
    except (TypeError, KeyError, ValueError):
        raise UnexpectedResponseError(
            f"Entry {entry.get('id')!r} of {bin.path} is a project entry without a valid "
            "project reference."
        ) from None


def entry_moment(entry: Mapping, bin: Bin) -> str:
    """When the project entered the bin, as canonical UTC text for a UTC_DATETIME column."""
    try:
        moment = to_utc_text(entry.get(POSITION_FIELD))
    except RecordFormatError:
        moment = None
    if moment is None:
        raise UnexpectedResponseError(
            f"Entry {entry.get('id')!r} of {bin.path} lacks a valid {POSITION_FIELD}."
        )
    return moment


# --- the sync ---------------------------------------------------------------------------------


class ProjectLifecycle:
    """The archive and trash walks of one sync.

    Created before the tables are planned, so the planned walks (and any saved section) are
    part of every checkpoint from the sync's first page on: a sync that fails before reaching
    the listings resumes them from the plan rather than treating the next sync as the first.
    """

    def __init__(
        self,
        settings: Any,
        client: Any,
        saved_state: Mapping | None,
        tables: Mapping[str, TableState],
        now: datetime,
    ):
        self.settings = settings
        self.client = client
        self.bins = load_lifecycle_state(saved_state)
        refuse_future_positions(self.bins, now, STATE_KEY)  # before any request
        self.enabled = TABLE in settings.tables
        self.modes: dict[str, str] = {}
        if self.enabled:
            self._plan(tables, now)

    def _plan(self, tables: Mapping[str, TableState], now: datetime) -> None:
        settings = self.settings
        # Projects synced by a version without lifecycle walks: read the listings in full once.
        upgrade = not self.bins and TABLE in tables
        initial_days = None if upgrade else settings.initial_sync_days
        for bin in BINS:
            planned, mode = plan_table(
                self.bins.get(bin.name),
                now=now,
                initial_sync_days=initial_days,
                lookback_minutes=settings.lookback_minutes,
                incremental=settings.enable_incremental_sync,
            )
            walk = planned.walk
            if walk.next_link is not None and not link_is_reusable(
                walk.next_link, settings.api_url, self._params(walk)
            ):
                planned = replace(planned, walk=restart_after_stale_link(walk, False))
            self.bins[bin.name] = planned
            self.modes[bin.name] = "upgrade" if upgrade and mode == "initial" else mode

    def full_state(self, state: dict) -> dict:
        """A tables state (``dump_state``) completed with the lifecycle section."""
        return with_lifecycle(state, self.bins)

    def keep_in_checkpoints(self, emitter):
        """``emitter`` whose checkpoints carry the lifecycle section, so the tables'
        checkpoints never drop the listings' cursors."""
        checkpoint = emitter.checkpoint
        return replace(emitter, checkpoint=lambda state: checkpoint(self.full_state(state)))

    def run(self, tables: dict[str, TableState], emitter) -> LifecycleCounts | None:
        """Walk the archive, then the trash; None when projects are not synced this time."""
        if not self.enabled:
            return None
        counts = LifecycleCounts()
        requests_before = client_counters(self.client).get("requests")
        plans = ", ".join(
            f"/{bin.name} {self.bins[bin.name].walk.query.describe(POSITION_FIELD)} "
            f"({self.modes[bin.name]})"
            for bin in BINS
        )
        log.info(f"projects lifecycle: reading {plans}")
        for bin in BINS:
            self._walk_until_complete(bin, tables, emitter, counts)
        requests_after = client_counters(self.client).get("requests")
        if isinstance(requests_before, int) and isinstance(requests_after, int):
            counts.requests = requests_after - requests_before
        log.info(
            f"projects lifecycle: {counts.archived} archived and {counts.trashed} trashed "
            f"project entries marked deleted, {counts.ignored} entries of other record types "
            f"ignored; {counts.pages} pages, {counts.requests} requests"
        )
        return counts

    def _params(self, walk) -> dict:
        params = {"sort": SORT, "per_page": str(self.settings.max_records_per_page)}
        params.update(walk.query.params(POSITION_FIELD))
        return params

    def _walk_until_complete(self, bin: Bin, tables, emitter, counts: LifecycleCounts) -> None:
        """The listing's walks until its cursor is complete (the same loop as a table's)."""
        stale_position: str | None = None
        while self.bins[bin.name].walk is not None:
            walk = self.bins[bin.name].walk
            params = self._params(walk)
            if walk.next_link is not None:
                pages = iter_pages(
                    self.client, walk.next_link, carry=params, position_field=POSITION_FIELD
                )
            else:
                pages = iter_pages(self.client, bin.path, params, position_field=POSITION_FIELD)
            try:
                for page in pages:
                    self._consume(bin, page, tables, emitter, counts)
            except StaleLinkError:
                walk = self.bins[bin.name].walk
                repeated = stale_position is not None and walk.position == stale_position
                stale_position = walk.position
                restarted = restart_after_stale_link(walk, repeated)
                self.bins[bin.name] = replace(self.bins[bin.name], walk=restarted)
                log.info(
                    f"projects lifecycle: the API refused the next link of /{bin.name} "
                    f"(HTTP 400); continuing with {restarted.query.describe(POSITION_FIELD)}"
                )

    def _consume(self, bin: Bin, page, tables, emitter, counts: LifecycleCounts) -> None:
        """Mark the page's projects deleted, advance the listing's walk, checkpoint both."""
        cleared = TRASH.column if bin is ARCHIVE else ARCHIVE.column
        for entry in page.rows:
            project_id = project_id_of(entry, bin)
            if project_id is None:
                counts.ignored += 1
                continue
            moment = entry_moment(entry, bin)
            emitter.update(TABLE, {"id": project_id, bin.column: moment, cleared: None})
            emitter.delete(TABLE, {"id": project_id})
            counts.add(bin)
        counts.pages += 1
        self.bins[bin.name] = after_page(self.bins[bin.name], page.summary())
        emitter.checkpoint(self.full_state(dump_state(tables)))
        if page.next_link is None and self.bins[bin.name].walk is not None:
            log.info(
                f"projects lifecycle: /{bin.name} continues with "
                f"{self.bins[bin.name].walk.query.describe(POSITION_FIELD)} "
                "(the walk was capped or a second was split)"
            )
