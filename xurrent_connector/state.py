"""The sync state and every decision taken from it, as pure functions.

The state holds, per stream, a cursor and the walks in progress; nothing else::

    {"version": 2,
     "streams": {
       "products": {
         "cursor": "2024-05-01T10:00:00Z",         # the next sync reads from here
         "walks": [{                                # this stream's sync in progress, if any
           "query": {"op": ">=", "at": "2024-05-01T09:55:00Z"},   # what this walk asks for
           "next_page": {"search_after": "..."},    # the cursor of the last page's next link
           "position": "2024-05-01T10:00:00Z",      # cursor field of the last row read
           "last_id": 5123,                         # id of that row
           "throttled": true,                       # a page carried X-Pagination-Throttled
           "end": "2024-05-01T10:30:00Z"}]}}}       # where its range ends, if not at the top

Fields that are not set are left out. A walk is one chain of pages sorted by
``<cursor field>,id`` with one of three filters: ``{"op": ">=", "at": T}`` (``at`` null: no
lower bound, the ``all`` window), ``{"op": ">", "at": T}``, or
``{"op": "=", "at": T, "after_id": N}``, which splits one second holding more rows than the
server lets a walk return. Since walks are sorted ascending, the last consumed row's timestamp
is a safe inclusive restart point: everything before it has been written.

A stream starts with one walk. A long walk is split in two (``split``) so that its two ranges
are read at once: one round trip per page would otherwise bound the sync, far below the rate
limit once responses take 100 ms or more. The lower half keeps its query and page cursor and
gets an ``end``: rows from that moment on are left to the upper half, a new walk, and the lower
half is done at its first row past the end. So a split asks the API nothing new and re-reads
nothing. The walks of a stream cover adjacent ranges, in order. As walks finish, the cursor
moves to the latest row they read (an upper half that reads nothing carries the position of the
walk it was split from); a sync starts from it only once no walk is left (until then, the
walks are resumed).

The state never grows with the data and holds nothing the connector can rebuild: the request of
the next page is the stream's own parameters plus ``next_page``. An invalid state is refused
with ``StateError`` rather than guessed at (re-reading only the initial window could skip rows
changed between an old cursor and that window); an empty state ``{}`` is a first sync.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Mapping
from urllib.parse import parse_qsl, urlsplit

from .errors import RESET_HINT, StateError, XurrentApiError
from .streams import STREAMS
from .timestamps import canonical_saved, earlier, format_utc, later, parse_utc, same_instant

STATE_VERSION = 2
OPERATORS = (">=", ">", "=")
#: How far a saved timestamp may lie ahead of this machine's clock: far beyond real clock skew,
#: far below a mistyped year. Every saved timestamp is one the API stamped, so none can be
#: later; syncing from such a state would silently skip every change.
MAX_CLOCK_SKEW = timedelta(days=1)
#: No walk is split closer than this to the sync's start (see ``split``).
SPLIT_CLOCK_MARGIN = timedelta(hours=1)


@dataclass(frozen=True)
class Query:
    """The cursor-field filter of one walk (see the module docstring)."""

    op: str
    at: str | None
    after_id: int | None = None

    def params(self, cursor_field: str) -> dict[str, str]:
        """Filter parameters in UTC ``Z`` form (requests URL-encodes them)."""
        if self.op == "=":
            return {cursor_field: self.at, "id": f">{self.after_id}"}
        return {} if self.at is None else {cursor_field: f"{self.op}{self.at}"}

    def describe(self, cursor_field: str) -> str:
        if self.op == "=":
            return f"{cursor_field} = {self.at} and id > {self.after_id}"
        return "all rows" if self.at is None else f"{cursor_field} {self.op} {self.at}"

    def to_json(self) -> dict:
        data: dict[str, Any] = {"op": self.op, "at": self.at}
        if self.op == "=":
            data["after_id"] = self.after_id
        return data


@dataclass(frozen=True)
class Walk:
    """Progress of the current walk of a stream."""

    query: Query
    next_page: dict | None = None
    position: str | None = None
    last_id: int | None = None
    throttled: bool = False
    end: str | None = None  # rows from here on belong to the stream's next walk
    #: Where the API last refused this walk's page cursor (not saved: it guards one sync
    #: against restarting at the same second forever).
    refused_at: str | None = field(default=None, compare=False)
    #: The page cursors this walk followed and the pages it read in this sync (not saved; the
    #: walker's guard against a server whose pagination loops). Shared by the walk's copies.
    seen: set = field(default_factory=set, compare=False, repr=False)

    def to_json(self) -> dict:
        """Only what is set: the SDK logs and stores the whole state at every checkpoint."""
        data = {
            "query": self.query.to_json(),
            "next_page": self.next_page,
            "position": self.position,
            "last_id": self.last_id,
            "throttled": self.throttled or None,
            "end": self.end,
        }
        return {key: value for key, value in data.items() if value is not None}


@dataclass(frozen=True)
class StreamState:
    """``cursor``: where the next sync starts; ``walks``: the sync in progress, in range order."""

    cursor: str | None = None
    walks: tuple[Walk, ...] = ()

    def to_json(self) -> dict:
        return {"cursor": self.cursor, "walks": [walk.to_json() for walk in self.walks]}

    @property
    def reached(self) -> str | None:
        """Where the stream's rows are complete up to: the lowest walk's last row, else the
        cursor."""
        return (self.walks[0].position if self.walks else None) or self.cursor


@dataclass(frozen=True)
class PageSummary:
    """What the state needs from a fetched page: never its rows."""

    row_count: int
    next_page: dict | None
    position: str | None
    last_id: int | None
    throttled: bool
    first_position: str | None = None  # the cursor field of the page's first row
    reached_end: bool = False  # rows past the walk's end were left out: it is done


# --- loading and dumping -------------------------------------------------------------------------


def load_state(raw: Any, now: datetime) -> dict[str, StreamState]:
    """Validate a saved state (migrating an older version) and return its stream states.

    ``{}`` and None are a first sync. Timestamps later than ``now`` are refused: no row can have
    been written in the future, so such a state was edited or corrupted.
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
    if version == 1 and not isinstance(version, bool):
        streams, origins = migrate_version_1(raw)
    elif version == STATE_VERSION and not isinstance(version, bool):
        streams = raw.get("streams", {})
        if not isinstance(streams, Mapping):
            raise _problem("streams", "is not an object")
        origins = {name: f"streams.{name}" for name in streams}
    else:
        raise StateError(
            f"Saved state has version {version!r}; this connector understands versions 1 and "
            f"{STATE_VERSION}. {RESET_HINT}"
        )
    loaded = {}
    for name, entry in streams.items():
        if name not in STREAMS:
            raise StateError(f"Saved state names an unknown stream {name!r}. {RESET_HINT}")
        loaded[name] = _load_stream(entry, origins[name])
        _refuse_future(loaded[name], origins[name], now)
    return loaded


def dump_state(streams: Mapping[str, StreamState]) -> dict:
    """The JSON-serialisable state for ``op.checkpoint`` (streams in a stable order)."""
    return {
        "version": STATE_VERSION,
        "streams": {name: streams[name].to_json() for name in STREAMS if name in streams},
    }


def migrate_version_1(raw: Mapping) -> tuple[dict, dict]:
    """The streams of a version-1 state (connector 0.1), and where each came from.

    Version 1 kept the tables under ``tables``, the archive and trash walks under
    ``lifecycle``, a whole next-link URL per walk and a set of organization ids under
    ``health`` (dropped: reference integrity is the warehouse's job). A next link keeps only its
    cursor parameters. Projects synced before the archive and trash were read (no
    ``lifecycle``) get both listings read in full once: the warehouse may hold projects
    archived long before any initial window.
    """
    streams, origins = {}, {}
    for key in ("tables", "lifecycle"):
        section = raw.get(key)
        if section is not None and not isinstance(section, Mapping):
            raise _problem(key, "is not an object")
        for name, entry in (section or {}).items():
            streams[name], origins[name] = _migrate_entry(entry), f"{key}.{name}"
    if "projects" in streams and raw.get("lifecycle") is None:
        for name in ("archive", "trash"):
            streams[name] = {"cursor": None, "walks": [{"query": {"op": ">=", "at": None}}]}
            origins[name] = f"streams.{name}"
    return streams, origins


def _migrate_entry(entry: Any) -> Any:
    """A version-1 entry: one ``walk`` (or null) with a whole ``next_link``."""
    if not isinstance(entry, Mapping):
        return entry
    walk = entry.get("walk")
    if isinstance(walk, Mapping):
        walk = dict(walk)
        link = walk.pop("next_link", None)
        walk["next_page"] = None if link is None else cursor_params(link)
    rest = {key: value for key, value in entry.items() if key != "walk"}
    return {**rest, "walks": [] if walk is None else [walk]}


#: Parameters the walker sets itself; every other parameter of a next link is its cursor.
OWN_PARAMS = frozenset({"sort", "per_page", "fields", "id", "updated_at", "created_at"})


def cursor_params(link: Any) -> dict | None:
    """The parameters of a next link that ask for the following page (``search_after``)."""
    if not isinstance(link, str):
        return link  # left for validation to refuse
    params = {k: v for k, v in parse_qsl(urlsplit(link).query) if k not in OWN_PARAMS}
    return params or None


def _problem(where: str, what: str) -> StateError:
    return StateError(f"Saved state field '{where}' {what}. {RESET_HINT}")


def _timestamp(value: Any, where: str, nullable: bool = True) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise _problem(where, "is not an ISO 8601 timestamp string")
    try:
        return canonical_saved(value)
    except ValueError as problem:
        raise _problem(where, str(problem)) from None


def _integer(value: Any, where: str, nullable: bool = True) -> int | None:
    if value is None and nullable:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise _problem(where, "is not an integer")
    return value


def _next_page(value: Any, where: str) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not value:
        raise _problem(where, "is not an object of cursor parameters")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise _problem(where, "holds a parameter that is not text")
    return dict(value)


def _load_stream(entry: Any, where: str) -> StreamState:
    if not isinstance(entry, Mapping):
        raise _problem(where, "is not an object")
    cursor = _timestamp(entry.get("cursor"), f"{where}.cursor")
    walks = entry.get("walks", [])
    if not isinstance(walks, list):
        raise _problem(f"{where}.walks", "is not a list")
    loaded = tuple(_load_walk(data, f"{where}.walks[{i}]") for i, data in enumerate(walks))
    for lower, upper in zip(loaded, loaded[1:]):
        if lower.end is None or earlier(upper.query.at, lower.end):
            raise _problem(f"{where}.walks", "holds ranges that overlap or are out of order")
    return StreamState(cursor, loaded)


def _load_walk(data: Any, where: str) -> Walk:
    if not isinstance(data, Mapping):
        raise _problem(where, "is not an object")
    query = data.get("query")
    if not isinstance(query, Mapping):
        raise _problem(f"{where}.query", "is not an object")
    op = query.get("op")
    if op not in OPERATORS:
        raise _problem(f"{where}.query.op", f"must be one of {', '.join(OPERATORS)}")
    at = _timestamp(query.get("at"), f"{where}.query.at", nullable=op == ">=")
    after_id = (
        _integer(query.get("after_id"), f"{where}.query.after_id", False) if op == "=" else None
    )
    end = _timestamp(data.get("end"), f"{where}.end")
    if end is not None and not earlier(at, end):
        raise _problem(f"{where}.end", "is not after the walk's start")
    throttled = data.get("throttled", False)
    if not isinstance(throttled, bool):
        raise _problem(f"{where}.throttled", "is not a boolean")
    return Walk(
        Query(op, at, after_id),
        _next_page(data.get("next_page"), f"{where}.next_page"),
        _timestamp(data.get("position"), f"{where}.position"),
        _integer(data.get("last_id"), f"{where}.last_id"),
        throttled,
        end,
    )


def _refuse_future(state: StreamState, where: str, now: datetime) -> None:
    candidates = [("cursor", state.cursor)]
    for i, walk in enumerate(state.walks):
        candidates += [
            (f"walks[{i}].query.at", walk.query.at),
            (f"walks[{i}].position", walk.position),
        ]
    for name, value in candidates:
        if value is not None and parse_utc(value) > now + MAX_CLOCK_SKEW:
            raise StateError(
                f"Saved state field '{where}.{name}' is {value}, later than now "
                f"({format_utc(now.replace(microsecond=0))}); no row can have been updated in "
                f"the future, so the state was edited or corrupted, and syncing from it would "
                f"skip every change. {RESET_HINT}"
            )


# --- planning -----------------------------------------------------------------------------------


def initial_window_start(now: datetime, initial_sync_days: int | None) -> str | None:
    """Start of a first sync: ``initial_sync_days`` before now in whole seconds (rounded down so
    the window only grows), or None for ``all``."""
    if initial_sync_days is None:
        return None
    return format_utc(now.replace(microsecond=0) - timedelta(days=initial_sync_days))


def incremental_start(cursor: str, lookback_minutes: int) -> str:
    """Where a later sync starts: the cursor minus the lookback (to catch late writes)."""
    return format_utc(parse_utc(cursor) - timedelta(minutes=lookback_minutes))


def plan(
    state: StreamState | None,
    *,
    now: datetime,
    initial_sync_days: int | None,
    lookback_minutes: int,
    incremental: bool,
) -> tuple[StreamState, str]:
    """The state a stream's sync starts from, and how it was chosen: ``resume`` (a walk was in
    progress: continue it in either mode), ``incremental`` (cursor minus lookback), ``initial``
    (first sync) or ``full`` (incremental sync off: re-read the initial window)."""
    state = state or StreamState()
    if state.walks:
        return state, "resume"
    if incremental and state.cursor is not None:
        start, mode = incremental_start(state.cursor, lookback_minutes), "incremental"
    else:
        start = initial_window_start(now, initial_sync_days)
        mode = "initial" if state.cursor is None else "full"
    return replace(state, walks=(Walk(Query(">=", start)),)), mode


# --- advancing ----------------------------------------------------------------------------------


def successor(walk: Walk) -> Walk | None:
    """The walk that must follow a finished one, or None when its range is complete.

    Not truncated: done, except that a second split by id continues strictly after the second.
    Truncated (``X-Pagination-Throttled``): continue inclusively from the last row; if the walk
    made no progress in time (every row shares its start second), walk that second by id. The
    range's end stays.
    """
    query = walk.query
    if not walk.throttled:
        return Walk(Query(">", query.at), end=walk.end) if query.op == "=" else None
    if walk.position is None or walk.last_id is None:
        raise XurrentApiError(
            f"The API marked a walk ({query.to_json()}) as truncated (X-Pagination-Throttled) "
            "but returned no rows to continue from; refusing to stop silently."
        )
    no_progress = query.at is not None and same_instant(walk.position, query.at)
    if query.op == "=" or (query.op == ">=" and no_progress):
        return Walk(Query("=", query.at, after_id=walk.last_id), end=walk.end)
    return Walk(Query(">=", walk.position), end=walk.end)


def after_page(
    state: StreamState, walk: Walk, fetched: Walk, page: PageSummary
) -> tuple[StreamState, tuple[Walk, ...]]:
    """The stream state to checkpoint once a page's rows are written, and the walks that take
    the place of ``walk`` (which fetched it as ``fetched``, the same walk or a restarted one):
    itself for the next page, its successor, or none (also once a row past its ``end`` came).
    When a walk ends, the cursor moves to its last row (or its start when it read nothing),
    never back."""
    if page.row_count:
        fetched = replace(fetched, position=page.position, last_id=page.last_id)
    fetched = replace(
        fetched, next_page=page.next_page, throttled=fetched.throttled or page.throttled
    )
    cursor = state.cursor
    following = None if page.reached_end else fetched if page.next_page else successor(fetched)
    if following is None:
        cursor = later(cursor, fetched.position or fetched.query.at)
    new = () if following is None else (following,)
    return StreamState(cursor, _replaced(state.walks, walk, new)), new


def _replaced(walks: tuple[Walk, ...], old: Walk, new: tuple[Walk, ...]) -> tuple[Walk, ...]:
    index = walks.index(old)
    return walks[:index] + new + walks[index + 1 :]


def split(
    state: StreamState, walk: Walk, page_start: str | None, now: datetime, min_pages: int
) -> tuple[StreamState, tuple[Walk, Walk]] | None:
    """Split ``walk`` (its last page just read, more to come) at the middle of what it has
    left, if at its pace it has at least ``min_pages`` pages left; None otherwise.

    What is left runs from the last row to the walk's end; for the topmost walk, to an hour
    before the sync started (``now``), where rows surely reach unless this machine's clock
    runs far ahead of the API's. The lower half is the same walk, ending at the middle; the
    upper half starts there with the lower half's position, so that if its range is empty the
    cursor moves only to a row the API stamped, never to the middle (which only this machine's
    clock vouches for). The pace is the time the page's rows spanned.
    """
    if walk.next_page is None or None in (walk.position, page_start):
        return None
    position = parse_utc(walk.position)
    end = parse_utc(walk.end) if walk.end is not None else now - SPLIT_CLOCK_MARGIN
    page_span = (position - parse_utc(page_start)).total_seconds()
    left = (end - position).total_seconds()
    middle = (position + timedelta(seconds=left / 2)).replace(microsecond=0)
    if page_span <= 0 or left < min_pages * page_span or middle <= position:
        return None
    lower = replace(walk, end=format_utc(middle))
    upper = Walk(Query(">=", format_utc(middle)), position=walk.position, end=walk.end)
    return replace(state, walks=_replaced(state.walks, walk, (lower, upper))), (lower, upper)


def restart_after_refused_cursor(walk: Walk) -> Walk:
    """A new walk when the API refuses the saved page cursor (an expired ``search_after``).

    Restarting inclusively at the last position re-reads that second (harmless: upserts are
    idempotent). If the cursor is refused again at the same position, the second holds more
    rows than a page and an inclusive restart would loop: continue exactly by id instead.
    """
    query = walk.query
    refused_here_before = walk.refused_at is not None and walk.refused_at == walk.position
    if walk.position is None:
        restarted = query
    elif query.op == "=":
        restarted = Query("=", query.at, after_id=walk.last_id)
    elif refused_here_before and walk.last_id is not None:
        restarted = Query("=", walk.position, after_id=walk.last_id)
    else:
        restarted = Query(">=", walk.position)
    return Walk(restarted, end=walk.end, refused_at=walk.position)
