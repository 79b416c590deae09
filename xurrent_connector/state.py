"""The sync state and every decision taken from it, as pure functions.

State shape (JSON, what ``op.checkpoint`` receives)::

    {"version": 1,
     "tables": {
       "products": {
         "cursor": "2024-05-01T10:00:00Z",      # completed: the next sync reads from here
         "walk": null | {                        # a table sync in progress
           "query": {"op": ">=", "at": "2024-05-01T09:55:00Z"},   # what this walk asks for
           "next_link": "https://.../products?...&search_after=...",
           "position": "2024-05-01T11:00:00Z",   # updated_at of the last row consumed
           "last_id": 5123,                      # id of that row
           "throttled": false                    # a page carried X-Pagination-Throttled
         }}}}

A walk is one chain of pages of ``sort=updated_at,id`` with one of three filters:

* ``{"op": ">=", "at": T}``: ``updated_at=>=T`` (``at`` null: no filter, the ``all`` window);
* ``{"op": ">", "at": T}``: ``updated_at=>T``;
* ``{"op": "=", "at": T, "after_id": N}``: ``updated_at=T`` and ``id=>N``, used to split a
  second that holds more rows than the server lets one walk return.

Because every walk is sorted ascending by (updated_at, id), the last consumed row's
``updated_at`` is a safe inclusive restart point: everything before it has been upserted.

Invalid state is refused with ``StateError`` rather than guessed at: re-reading only the
initial window could silently skip rows changed between an old cursor and that window, while
an error tells the operator exactly how to recover (reset the state, which re-reads the
initial window on purpose). An empty state ``{}`` is a first sync.

Other top-level keys belong to other walks and are loaded by their owners (``lifecycle``: the
archive and trash walks, lifecycle.py); ``load_state`` ignores them, so adding such a section
keeps version 1 states loading.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Mapping
from urllib.parse import parse_qs, urlsplit

from .tables import ALL_TABLES, UTC, format_utc, parse_utc

STATE_VERSION = 1
OPERATORS = (">=", ">", "=")

RESET_HINT = (
    "To recover, reset this connection's state (Fivetran dashboard: re-sync the tables; "
    "local testing: `fivetran reset`). The next sync then re-reads the initial_sync_days "
    "window."
)


class StateError(ValueError):
    """The saved state cannot be used safely; the message says why and how to recover."""


# --- value objects ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """The updated_at filter of one walk (see the module docstring)."""

    op: str
    at: str | None
    after_id: int | None = None

    def params(self, field: str = "updated_at") -> dict[str, str]:
        """Filter query parameters; values in UTC ``Z`` form (requests URL-encodes them).

        ``field`` is the walk's timestamp: ``updated_at`` for the tables, ``created_at`` for
        the archive and trash listings (lifecycle.py), which split their walks the same way.
        """
        if self.op == "=":
            return {field: self.at, "id": f">{self.after_id}"}
        if self.at is None:
            return {}
        return {field: f"{self.op}{self.at}"}

    def describe(self, field: str = "updated_at") -> str:
        if self.op == "=":
            return f"{field} = {self.at} and id > {self.after_id}"
        if self.at is None:
            return "all rows"
        return f"{field} {self.op} {self.at}"

    def to_json(self) -> dict:
        data: dict[str, Any] = {"op": self.op, "at": self.at}
        if self.op == "=":
            data["after_id"] = self.after_id
        return data


@dataclass(frozen=True)
class Walk:
    """Progress of the current walk of a table."""

    query: Query
    next_link: str | None = None
    position: str | None = None
    last_id: int | None = None
    throttled: bool = False

    def to_json(self) -> dict:
        return {
            "query": self.query.to_json(),
            "next_link": self.next_link,
            "position": self.position,
            "last_id": self.last_id,
            "throttled": self.throttled,
        }


@dataclass(frozen=True)
class TableState:
    """``cursor``: completed high-water mark; ``walk``: the sync in progress (None when idle)."""

    cursor: str | None = None
    walk: Walk | None = None

    def to_json(self) -> dict:
        return {
            "cursor": self.cursor,
            "walk": None if self.walk is None else self.walk.to_json(),
        }


@dataclass(frozen=True)
class PageSummary:
    """What the state needs from a fetched page (no rows: state stays small)."""

    row_count: int
    next_link: str | None
    position: str | None
    last_id: int | None
    throttled: bool


# --- loading and dumping ------------------------------------------------------------------------


def load_state(raw: Any) -> dict[str, TableState]:
    """Validate a saved state and return the table states it holds.

    ``{}`` (and None) is a first sync. Anything else must be a version-1 state; otherwise a
    ``StateError`` explains what is wrong (naming keys and fields, never dumping the state).
    """
    if raw is None or raw == {}:
        return {}
    if not isinstance(raw, Mapping):
        raise StateError(f"Saved state is a {type(raw).__name__}, not a JSON object. {RESET_HINT}")
    if "version" not in raw:
        keys = ", ".join(sorted(str(key) for key in raw)[:10])
        raise StateError(
            f"Saved state has no 'version' (keys: {keys}); it was written by an older or a "
            f"different connector, and its cursors cannot be trusted. {RESET_HINT}"
        )
    version = raw["version"]
    if version != STATE_VERSION or isinstance(version, bool):
        raise StateError(
            f"Saved state has version {version!r}; this connector understands version "
            f"{STATE_VERSION}. {RESET_HINT}"
        )
    tables = raw.get("tables", {})
    if not isinstance(tables, Mapping):
        raise StateError(f"Saved state field 'tables' is not an object. {RESET_HINT}")
    loaded = {}
    for name, entry in tables.items():
        if name not in ALL_TABLES:
            raise StateError(f"Saved state names an unknown table {name!r}. {RESET_HINT}")
        loaded[name] = _load_table(name, entry)
    return loaded


def dump_state(tables: Mapping[str, TableState]) -> dict:
    """The JSON-serialisable state for ``op.checkpoint`` (tables in a stable order)."""
    return {
        "version": STATE_VERSION,
        "tables": {name: tables[name].to_json() for name in ALL_TABLES if name in tables},
    }


def _problem(where: str, what: str) -> StateError:
    return StateError(f"Saved state field '{where}' {what}. {RESET_HINT}")


def _timestamp(value: Any, where: str, nullable: bool = True) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise _problem(where, "is not an ISO 8601 timestamp string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _problem(where, f"is not an ISO 8601 timestamp ({value[:40]!r})") from None
    if parsed.tzinfo is None:
        raise _problem(where, f"has no UTC offset ({value[:40]!r})")
    return format_utc(parsed)


def _integer(value: Any, where: str, nullable: bool = True) -> int | None:
    if value is None and nullable:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise _problem(where, "is not an integer")
    return value


def _load_table(name: str, entry: Any) -> TableState:
    return load_table_state(entry, f"tables.{name}")


def load_table_state(entry: Any, where: str) -> TableState:
    """Validate one saved ``{"cursor", "walk"}`` entry; ``where`` names it in errors.

    Public because other walks keep entries of the same shape under their own state key (the
    archive and trash walks in lifecycle.py).
    """
    if not isinstance(entry, Mapping):
        raise _problem(where, "is not an object")
    cursor = _timestamp(entry.get("cursor"), f"{where}.cursor")
    walk_data = entry.get("walk")
    if walk_data is None:
        return TableState(cursor=cursor)
    where = f"{where}.walk"
    if not isinstance(walk_data, Mapping):
        raise _problem(where, "is not an object")
    query_data = walk_data.get("query")
    if not isinstance(query_data, Mapping):
        raise _problem(f"{where}.query", "is not an object")
    op = query_data.get("op")
    if op not in OPERATORS:
        raise _problem(f"{where}.query.op", f"must be one of {', '.join(OPERATORS)}")
    at = _timestamp(query_data.get("at"), f"{where}.query.at", nullable=op == ">=")
    after_id = None
    if op == "=":
        after_id = _integer(query_data.get("after_id"), f"{where}.query.after_id", False)
    next_link = walk_data.get("next_link")
    if next_link is not None and (
        not isinstance(next_link, str) or not next_link.startswith(("http://", "https://"))
    ):
        raise _problem(f"{where}.next_link", "is not an absolute URL")
    throttled = walk_data.get("throttled", False)
    if not isinstance(throttled, bool):
        raise _problem(f"{where}.throttled", "is not a boolean")
    return TableState(
        cursor=cursor,
        walk=Walk(
            query=Query(op, at, after_id),
            next_link=next_link,
            position=_timestamp(walk_data.get("position"), f"{where}.position"),
            last_id=_integer(walk_data.get("last_id"), f"{where}.last_id"),
            throttled=throttled,
        ),
    )


# --- planning -----------------------------------------------------------------------------------


def initial_window_start(now: datetime, initial_sync_days: int | None) -> str | None:
    """Start of the first sync's window: ``initial_sync_days`` before now (whole seconds,
    rounded down so the window only grows), or None for ``all`` (no filter)."""
    if initial_sync_days is None:
        return None
    start = now.astimezone(UTC).replace(microsecond=0) - timedelta(days=initial_sync_days)
    return format_utc(start)


def incremental_start(cursor: str, lookback_minutes: int) -> str:
    """Where a later sync starts: the cursor minus the lookback (to catch late writes)."""
    return format_utc(parse_utc(cursor) - timedelta(minutes=lookback_minutes))


def plan_table(
    table: TableState | None,
    *,
    now: datetime,
    initial_sync_days: int | None,
    lookback_minutes: int,
    incremental: bool,
) -> tuple[TableState, str]:
    """The state a table sync starts from, and how it was chosen.

    Returns ``(state, mode)``; mode is ``"resume"`` (a walk was in progress: continue it, in
    either sync mode, since it is the same sync picking up where it stopped), ``"incremental"``
    (cursor minus lookback), ``"initial"`` (first sync of this table) or ``"full"``
    (``enable_incremental_sync`` is false: re-read the initial window).
    """
    table = table or TableState()
    if table.walk is not None:
        return table, "resume"
    if incremental and table.cursor is not None:
        start, mode = incremental_start(table.cursor, lookback_minutes), "incremental"
    else:
        start = initial_window_start(now, initial_sync_days)
        mode = "initial" if table.cursor is None else "full"
    return replace(table, walk=Walk(Query(">=", start))), mode


# --- advancing ----------------------------------------------------------------------------------


def _same_moment(left: str, right: str) -> bool:
    return parse_utc(left) == parse_utc(right)


def _later(left: str | None, right: str | None) -> str | None:
    """The later of two timestamps (None counts as earliest)."""
    if left is None:
        return right
    if right is None:
        return left
    return left if parse_utc(left) >= parse_utc(right) else right


class TruncatedWithoutRows(RuntimeError):
    """The API flagged a walk as truncated yet returned no rows: nothing to continue from."""


def successor(walk: Walk) -> Query | None:
    """The walk that must follow a finished one, or None when the table is complete.

    * Not truncated: done, except that a tie split (``=``) continues strictly after its second.
    * Truncated (``X-Pagination-Throttled``): continue inclusively from the last row's
      updated_at. If the walk made no progress in time (all its rows share the second it
      started at), walk that second by id instead, then continue strictly after it.
    """
    query = walk.query
    if not walk.throttled:
        if query.op == "=":
            return Query(">", query.at)
        return None
    if walk.position is None or walk.last_id is None:
        raise TruncatedWithoutRows(
            f"The API marked the walk '{query.describe()}' as truncated "
            "(X-Pagination-Throttled) but returned no rows; refusing to stop silently."
        )
    if query.op == "=":
        return Query("=", query.at, after_id=walk.last_id)
    if query.op == ">=" and query.at is not None and _same_moment(walk.position, query.at):
        return Query("=", query.at, after_id=walk.last_id)
    return Query(">=", walk.position)


def completed_cursor(previous: str | None, walk: Walk) -> str | None:
    """High-water mark after a table's last walk: the last row's updated_at (or the walk's own
    lower bound when it returned nothing), never earlier than the previous cursor (an empty
    re-read of the lookback must not drag the cursor backwards)."""
    reached = walk.position if walk.position is not None else walk.query.at
    return _later(previous, reached)


def after_page(table: TableState, page: PageSummary) -> TableState:
    """The table state to checkpoint once a page's rows have been upserted.

    When the page ends its walk, the successor walk (or the completed cursor) is already
    decided here, so a checkpoint never points at a finished walk.
    """
    walk = table.walk
    assert walk is not None, "after_page needs a walk in progress"
    if page.row_count:
        walk = replace(walk, position=page.position, last_id=page.last_id)
    walk = replace(walk, next_link=page.next_link, throttled=walk.throttled or page.throttled)
    if page.next_link is not None:
        return replace(table, walk=walk)
    following = successor(walk)
    if following is None:
        return TableState(cursor=completed_cursor(table.cursor, walk), walk=None)
    return replace(table, walk=Walk(following))


def restart_after_stale_link(walk: Walk, repeated_at_same_position: bool) -> Walk:
    """A new walk to use when the saved next link is refused (e.g. an expired cursor).

    The inclusive restart at the last position re-reads that second's rows (safe: upserts are
    idempotent). If the link failed again at the same position, the second holds more rows
    than a page, and restarting inclusively would loop: continue exactly by id instead.
    """
    query = walk.query
    if walk.position is None:
        return Walk(query)
    if query.op == "=":
        return Walk(Query("=", query.at, after_id=walk.last_id))
    if repeated_at_same_position and walk.last_id is not None:
        return Walk(Query("=", walk.position, after_id=walk.last_id))
    return Walk(Query(">=", walk.position))


def link_is_reusable(link: str, api_url: str, params: Mapping[str, str]) -> bool:
    """Whether a saved next link still asks for what this connector needs.

    A link from another host (changed region or base_url), or one that names another field
    list or order (a new connector version added columns: upserting rows without them would
    blank those columns) must not be followed; the walk restarts at its position instead.
    Parameters the link does not mention are added when it is followed (pagination.py).
    """
    if not link.startswith(api_url.rstrip("/") + "/"):
        return False
    present = parse_qs(urlsplit(link).query, keep_blank_values=True)
    return all(present[key] == [params[key]] for key in ("fields", "sort") if key in present)
