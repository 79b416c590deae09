"""Sync health and data quality: one ``sync_health`` row per table per sync.

Why a table and not only log lines: Fivetran keeps logs for a short time and nobody alerts on
them, while a warehouse table can be queried, trended and alerted on (error rate, duration,
data-quality shortfalls) with the tools the team already uses for its data.

How the figures are gathered, so that they stay right when tables sync concurrently:

* **Requests** are attributed per table by a thin client view (``TableClient``) that passes the
  table's own ``ClientStats`` with every ``client.get``; the HTTP client counts each attempt,
  retry, 429, error and response time there as well as in its shared stats. No figure is a
  delta of the shared counters between a table's start and end.
* **Rows** are observed on the consume side: ``SyncHealth.wrap`` wraps the emitter's ``upsert``
  so every flattened row that reached ``op.upsert`` feeds its table's accumulator
  (``TableHealth``), and wraps ``checkpoint`` so every checkpoint also carries the small
  persistent part of this module's state (the organization id set below).
* **Rows are emitted** with ``op.upsert`` when a table finishes (``SyncHealth.table_finished``),
  then a checkpoint. A table that fails gets a row too (``status = 'failed'`` and the error),
  followed by a checkpoint of the state it reached, so the row survives the failed sync (the SDK
  drops everything after the last checkpoint of a failing sync).

Error rate = failed attempts / attempts (``requests``). Failed attempts are 5xx, timeouts,
connection errors, malformed or truncated bodies and 4xx answers; **429s are not failures**
here: they are flow control the client waits out on its own budget, reported in
``throttled_429``, and counting them would make an error-rate alert fire on a shared rate limit.

Dangling organization references: a reference (organization ``parent``, project ``customer``,
product ``supplier`` and ``financial_owner``) counts when its id is not in the set of
organization ids this connector has ever synced. That set is exact (``OrgIdSet``): a Python set
in memory; in the state the sorted ids delta-encoded as varints, zlib + base64 (a few dozen
bytes for 10,000 consecutive ids, about 22 KB for 10,000 ids spread over ten million), encoded
again only after it changed. It is bounded: past ``MAX_TRACKED_ORG_IDS`` (200,000) ids it stops
tracking and the figure is NULL from then on. A reference to an id not (yet) known is kept as
pending (bounded) and judged when the table's row is emitted, so an organization synced later in
the same sync (a parent after its child, or organizations finishing after products once tables
run concurrently) is not counted; the rows of products and projects wait for organizations to
finish when both sync in the same run. The figure is NULL when it would overstate: when
organizations were synced before this feature existed (the set misses them), when the saved set
is unusable (damaged, or the Bloom filter of earlier versions) and organizations were synced
before, past the bound, or when organizations have never been synced at all.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import threading
import time
import uuid
import zlib
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Callable, Iterable, Mapping

from fivetran_connector_sdk import Logging as log

from .http import ClientStats
from .redact import redact
from .tables import UTC, format_utc

HEALTH_TABLE = "sync_health"
#: Top-level state key of this module (next to ``version`` and ``tables``).
STATE_KEY = "health"
SUCCEEDED, FAILED = "succeeded", "failed"
NO_STATUS = "(none)"
ORGANIZATIONS = "organizations"

#: Distinct unknown organization ids remembered per table until its row is emitted; references
#: to further unknown ids are not counted (the figure stays a lower bound) instead of letting
#: memory grow with the data.
MAX_PENDING_ORG_IDS = 10_000
#: Organization ids kept in the state at most (20 times the 10,000 the business expects): past
#: that the set stops tracking and dangling_org_refs is NULL, so the state stays small.
MAX_TRACKED_ORG_IDS = 200_000


# --- what is measured per table -----------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    """A ``sync_health`` column holding the share of rows with ``source`` present."""

    column: str
    source: str
    minimum: float | None = None  # the business's threshold; a shortfall logs a warning


@dataclass(frozen=True)
class QualitySpec:
    shares: tuple[Share, ...]
    org_references: tuple[str, ...]
    distribution_of: str | None = None


def _required(name_source: str, **minimums: float) -> tuple[Share, ...]:
    """id, name (or subject), created_at and updated_at: every table's required fields."""
    return (
        Share("id_share", "id", minimums.get("id")),
        Share("name_share", name_source, minimums.get("name")),
        Share("created_at_share", "created_at"),
        Share("updated_at_share", "updated_at"),
    )


QUALITY: dict[str, QualitySpec] = {
    "organizations": QualitySpec(
        shares=_required("name", id=1.0, name=1.0),
        org_references=("parent_id",),
    ),
    "products": QualitySpec(
        shares=_required("name")
        + (Share("category_share", "category", 0.95), Share("brand_share", "brand", 0.95)),
        org_references=("supplier_id", "financial_owner_id"),
    ),
    "projects": QualitySpec(
        shares=_required("subject")
        + (Share("status_share", "status", 0.90), Share("customer_share", "customer_id", 0.90)),
        org_references=("customer_id",),
        distribution_of="status",
    ),
}

SHARE_COLUMNS = tuple(
    dict.fromkeys(share.column for spec in QUALITY.values() for share in spec.shares)
)

HEALTH_COLUMNS: dict[str, Any] = {
    "sync_id": "STRING",
    "table_name": "STRING",
    "status": "STRING",
    "error": "STRING",
    "sync_started_at": "UTC_DATETIME",
    "started_at": "UTC_DATETIME",
    "finished_at": "UTC_DATETIME",
    "duration_seconds": "DOUBLE",
    "rows_upserted": "LONG",
    "requests": "LONG",
    "retries": "LONG",
    "throttled_429": "LONG",
    "failed_requests": "LONG",
    "error_rate": "DOUBLE",
    "errors_by_kind": "JSON",
    "mean_response_ms": "DOUBLE",
    "p_95_response_ms": "DOUBLE",
    "ratelimit_limit": "LONG",
    "ratelimit_remaining": "LONG",
    "cursor_reached": "UTC_DATETIME",
    **{column: "DOUBLE" for column in SHARE_COLUMNS},
    "dangling_org_refs": "LONG",
    "status_distribution": "JSON",
    "shortfalls": "JSON",
}


def health_schema() -> dict:
    """The ``schema()`` entry of ``sync_health`` (every column declared: types only widen)."""
    return {
        "table": HEALTH_TABLE,
        "primary_key": ["sync_id", "table_name"],
        "columns": dict(HEALTH_COLUMNS),
    }


def utc_now() -> datetime:
    return datetime.now(UTC)


def _present(value: Any) -> bool:
    """A value counts as present when it is not null and, for text, not blank."""
    return value is not None and (type(value) is not str or bool(value.strip()))


# --- the set of synced organization ids ---------------------------------------------------------


class OrgIdSet:
    """Every organization id the connector has synced, exactly, kept in the state.

    In memory a set of ints. In the state (``to_state``): the ids sorted, as the differences
    between neighbours (the first from 0) written as unsigned LEB128 varints, zlib-compressed,
    base64. Ids synced in order are mostly 1 apart, one byte each that compresses to almost
    nothing; random ids cost about log2(range / count) / 8 + 1 bytes each before compression.

    Bounded: past ``MAX_TRACKED_ORG_IDS`` ids the set stops tracking, drops what it holds and is
    marked incomplete (so is the state, for later syncs). ``complete`` is False also when
    organizations were synced before ids were tracked. An incomplete set misses ids, so a count
    of references to unknown ids would overstate: none is reported.
    """

    SCHEME = "idset-delta-v1"

    def __init__(
        self, ids: Iterable[int] = (), *, complete: bool = True, overflowed: bool = False
    ):
        self._ids: set[int] = set() if overflowed else set(ids)
        if any(type(org_id) is not int or org_id < 0 for org_id in self._ids):
            raise ValueError("organization ids must be non-negative integers")
        self.complete = complete and not overflowed
        self.overflowed = overflowed
        # The ids in order as of the last encoding plus those added since: re-sorting is then
        # a merge of two runs, not a full sort, when a page of organizations added a few ids.
        self._sorted: list[int] = sorted(self._ids)
        self._added: list[int] = []
        self._encoded: dict | None = None
        self._unusable_logged = False
        self._lock = threading.Lock()  # rows are consumed on one thread; this keeps it safe
        if len(self._ids) > MAX_TRACKED_ORG_IDS:
            self._overflow()

    def __len__(self) -> int:
        return len(self._ids)

    @staticmethod
    def _as_id(org_id: Any) -> int | None:
        """The id as a non-negative int; None when it is not one (bools are not ids)."""
        if isinstance(org_id, bool):
            return None
        try:
            value = int(org_id)
        except (TypeError, ValueError, OverflowError):
            return None
        if value < 0 or (isinstance(org_id, float) and value != org_id):
            return None
        return value

    def add(self, org_id: Any) -> None:
        if org_id is None or self.overflowed:
            return
        value = self._as_id(org_id)
        with self._lock:
            if value is None:
                self._mark_incomplete(
                    f"an organization id is not a non-negative integer: {str(org_id)[:40]!r}"
                )
            elif value in self._ids or self.overflowed:
                return
            elif len(self._ids) >= MAX_TRACKED_ORG_IDS:
                self._overflow()
            else:
                self._ids.add(value)
                self._added.append(value)
                self._encoded = None

    def _overflow(self) -> None:
        log.warning(
            f"{HEALTH_TABLE}: more than {MAX_TRACKED_ORG_IDS} organizations synced; their ids "
            "are no longer tracked (to keep the connection state small) and dangling_org_refs "
            "stays NULL"
        )
        self._ids, self._sorted, self._added = set(), [], []
        self.overflowed = True
        self.complete = False
        self._encoded = None

    def _mark_incomplete(self, reason: str) -> None:
        if not self._unusable_logged:
            self._unusable_logged = True
            log.warning(f"{HEALTH_TABLE}: {reason}; dangling_org_refs stays NULL")
        if self.complete:
            self.complete = False
            self._encoded = None

    def __contains__(self, org_id: Any) -> bool:
        value = self._as_id(org_id)
        return value is not None and value in self._ids

    def to_state(self) -> dict:
        """JSON form; encoded only after a change (checkpoints run after every page)."""
        with self._lock:
            return self._encode()

    def _encode(self) -> dict:
        if self._encoded is None:
            if self._added:
                self._sorted += self._added
                self._sorted.sort()
                self._added = []
            ids = self._sorted
            packed = base64.b64encode(zlib.compress(_delta_varints(ids), 6)).decode("ascii")
            self._encoded = {
                "scheme": self.SCHEME,
                "count": len(ids),
                "complete": self.complete,
                "overflowed": self.overflowed,
                "data": packed,
            }
        return self._encoded

    @classmethod
    def from_state(cls, data: Any) -> "OrgIdSet":
        """Decode ``to_state`` output; ValueError when it is not this scheme or is damaged."""
        if not isinstance(data, Mapping):
            raise ValueError("not an object")
        if data.get("scheme") != cls.SCHEME:
            raise ValueError(f"another scheme ({str(data.get('scheme'))[:40]!r})")
        count = data.get("count")
        if type(count) is not int or not 0 <= count <= MAX_TRACKED_ORG_IDS:
            raise ValueError("bad id count")
        if not isinstance(data.get("data"), str):
            raise ValueError("no id data")
        # Ids up to 2**63 take at most 10 varint bytes: refuse to inflate anything larger.
        limit = count * 10
        try:
            inflater = zlib.decompressobj()
            raw = inflater.decompress(base64.b64decode(data["data"], validate=True), limit + 1)
        except (binascii.Error, zlib.error, ValueError):
            raise ValueError("undecodable id data") from None
        if len(raw) > limit or inflater.unconsumed_tail or not inflater.eof:
            raise ValueError("id data does not match its count")
        ids = _from_delta_varints(raw)
        if len(ids) != count:
            raise ValueError("id data does not match its count")
        return cls(
            ids, complete=data.get("complete") is True, overflowed=data.get("overflowed") is True
        )


def _delta_varints(sorted_ids: list[int]) -> bytes:
    """Sorted unique non-negative ids as LEB128 varints of their differences (first from 0)."""
    out = bytearray()
    append = out.append
    previous = 0
    for org_id in sorted_ids:
        delta, previous = org_id - previous, org_id
        while delta > 0x7F:
            append((delta & 0x7F) | 0x80)
            delta >>= 7
        append(delta)
    return bytes(out)


def _from_delta_varints(raw: bytes) -> list[int]:
    """Inverse of ``_delta_varints``; ValueError on a truncated varint or a repeated id."""
    ids: list[int] = []
    previous, delta, shift = 0, 0, 0
    for byte in raw:
        delta |= (byte & 0x7F) << shift
        if byte & 0x80:
            shift += 7
            if shift > 63:
                raise ValueError("id data holds an oversized number")
            continue
        if ids and delta == 0:
            raise ValueError("id data repeats an id")
        previous += delta
        ids.append(previous)
        delta, shift = 0, 0
    if shift:
        raise ValueError("id data ends inside a number")
    return ids


def load_org_ids(saved_state: Any) -> OrgIdSet:
    """The id set saved in the state, or a new one that knows whether it can be complete.

    Never fails the sync: a damaged set, or one saved in another scheme (the Bloom filter of
    earlier versions), is replaced by a new one, marked incomplete when organizations were
    already synced, so no overstated figure is reported.
    """
    saved = saved_state if isinstance(saved_state, Mapping) else {}
    tables = saved.get("tables")
    org_state = tables.get(ORGANIZATIONS) if isinstance(tables, Mapping) else None
    synced_before = isinstance(org_state, Mapping) and (
        org_state.get("cursor") is not None or org_state.get("walk") is not None
    )
    health = saved.get(STATE_KEY)
    if isinstance(health, Mapping) and "organization_ids" in health:
        try:
            loaded = OrgIdSet.from_state(health["organization_ids"])
        except ValueError as error:
            log.warning(
                f"{HEALTH_TABLE}: the saved organization id set is unusable ({error}); "
                "starting a new one"
                + (
                    "; dangling_org_refs stays NULL until organizations are re-synced"
                    if synced_before
                    else ""
                )
            )
        else:
            if loaded.overflowed:
                log.info(
                    f"{HEALTH_TABLE}: more than {MAX_TRACKED_ORG_IDS} organizations were "
                    "synced, so their ids are not tracked; dangling_org_refs stays NULL"
                )
            return loaded
    elif synced_before:
        log.info(
            f"{HEALTH_TABLE}: organizations were synced before ids were tracked; "
            "dangling_org_refs stays NULL until the organizations table is re-synced"
        )
    return OrgIdSet(complete=not synced_before)


# --- per-table accumulation ---------------------------------------------------------------------


class TableHealth:
    """Everything one table's ``sync_health`` row needs, accumulated during its sync."""

    def __init__(self, table: str, started_at: datetime):
        self.table = table
        self.spec = QUALITY.get(table, QualitySpec((), ()))
        self.started_at = started_at
        self.stats = ClientStats()
        self.rows = 0
        self.present: Counter[str] = Counter()
        self.distribution: Counter[str] = Counter()
        self.pending_org_refs: Counter[int] = Counter()
        self.untracked_org_refs = 0
        self.finished_at: datetime | None = None
        self.status: str | None = None
        self.error: str | None = None
        self.cursor_reached: str | None = None

    def add_row(self, row: Mapping, known_orgs: OrgIdSet) -> None:
        """Account for one flattened row that was upserted."""
        self.rows += 1
        for share in self.spec.shares:
            if _present(row.get(share.source)):
                self.present[share.column] += 1
        for column in self.spec.org_references:
            org_id = row.get(column)
            if org_id is None or not known_orgs.complete or org_id in known_orgs:
                continue  # an incomplete set reports no figure: nothing to remember
            if org_id in self.pending_org_refs or len(self.pending_org_refs) < MAX_PENDING_ORG_IDS:
                self.pending_org_refs[org_id] += 1
            else:
                self.untracked_org_refs += 1
        if self.spec.distribution_of is not None:
            value = row.get(self.spec.distribution_of)
            self.distribution[value if _present(value) else NO_STATUS] += 1

    def close(self, status: str, finished_at: datetime, table_state: Any, error=None) -> None:
        self.status, self.finished_at = status, finished_at
        self.error = None if error is None else redact(f"{type(error).__name__}: {error}")
        self.cursor_reached = _cursor_reached(table_state)

    def shares(self) -> dict[str, float | None]:
        return {
            share.column: (self.present[share.column] / self.rows if self.rows else None)
            for share in self.spec.shares
        }

    def shortfalls(self) -> list[tuple[Share, float]]:
        """Figures below the business's threshold (only when rows were synced)."""
        shares = self.shares()
        return [
            (share, shares[share.column])
            for share in self.spec.shares
            if share.minimum is not None
            and shares[share.column] is not None
            and shares[share.column] < share.minimum
        ]

    def dangling_org_refs(self, known_orgs: OrgIdSet, reportable: bool) -> int | None:
        if not self.spec.org_references or not reportable:
            return None
        return sum(
            count for org_id, count in self.pending_org_refs.items() if org_id not in known_orgs
        )

    def to_row(self, sync_id: str, sync_started_at: datetime, known_orgs, reportable) -> dict:
        stats = self.stats
        requests = stats.requests
        failed = stats.failed_attempts
        finished = self.finished_at or utc_now()
        dangling = self.dangling_org_refs(known_orgs, reportable)
        row = {
            "sync_id": sync_id,
            "table_name": self.table,
            "status": self.status,
            "error": self.error,
            "sync_started_at": format_utc(sync_started_at),
            "started_at": format_utc(self.started_at),
            "finished_at": format_utc(finished),
            "duration_seconds": (finished - self.started_at).total_seconds(),
            "rows_upserted": self.rows,
            "requests": requests,
            "retries": stats.retries,
            "throttled_429": stats.throttled_429,
            "failed_requests": failed,
            "error_rate": failed / requests if requests else None,
            "errors_by_kind": dict(stats.errors_by_kind),
            "mean_response_ms": stats.mean_response_ms,
            "p_95_response_ms": stats.p95_response_ms,
            "ratelimit_limit": stats.ratelimit_limit,
            "ratelimit_remaining": stats.ratelimit_remaining,
            "cursor_reached": self.cursor_reached,
            **{column: None for column in SHARE_COLUMNS},
            **self.shares(),
            "dangling_org_refs": dangling,
            "status_distribution": (
                dict(self.distribution) if self.spec.distribution_of is not None else None
            ),
            "shortfalls": [
                f"{share.column} < {share.minimum:.0%}" for share, _ in self.shortfalls()
            ],
        }
        return row


def _cursor_reached(table_state: Any) -> str | None:
    """The completed cursor, or for a table stopped mid-walk the last committed position."""
    if not isinstance(table_state, Mapping):
        return None
    walk = table_state.get("walk")
    if isinstance(walk, Mapping) and walk.get("position") is not None:
        return walk["position"]
    return table_state.get("cursor")


# --- attributing requests -----------------------------------------------------------------------


def _accepts_stats(get: Callable) -> bool:
    try:
        parameters = inspect.signature(get).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(
        parameter.name == "stats" or parameter.kind is inspect.Parameter.VAR_KEYWORD
        for parameter in parameters
    )


class TableClient:
    """One table's view of the shared client: the same ``get``, counted in ``stats`` too.

    Hand one to each table's fetch side (thread); the shared client keeps pacing, tokens and
    its own totals. Clients without the ``stats`` keyword (test stubs) are counted coarsely:
    one request per call and its elapsed time.
    """

    def __init__(self, client: Any, stats: ClientStats, *, monotonic=time.monotonic):
        self._client = client
        self.stats = stats
        self._monotonic = monotonic
        self._passes_stats = _accepts_stats(client.get)

    def get(self, path_or_url: str, params: dict | None = None):
        if self._passes_stats:
            return self._client.get(path_or_url, params, stats=self.stats)
        started = self._monotonic()
        self.stats.add(requests=1)
        response = self._client.get(path_or_url, params)
        self.stats.record_response(
            self._monotonic() - started, getattr(response, "headers", None) or {}
        )
        return response

    def __getattr__(self, name: str):
        return getattr(self._client, name)


# --- the sync-wide recorder ---------------------------------------------------------------------


class SyncHealth:
    """Collects and emits the ``sync_health`` rows of one sync.

    Usage from the sync loop (see sync.run_sync)::

        health = SyncHealth(settings.tables, saved_state, now=now)
        emitter = health.wrap(emitter)
        table_client = health.client_for(name, client)     # per table, for its fetch side
        with health.recording(lambda: dump_state(tables)):
            for each table: ...sync it...; health.table_finished(name, dump_state(tables))
    """

    def __init__(
        self,
        tables: Iterable[str],
        saved_state: Any,
        *,
        now: Callable[[], datetime] = utc_now,
        sync_id: str | None = None,
    ):
        self._now = now
        self.sync_started_at = now()
        # A UUID rather than the start time: two syncs can start in the same second; the
        # sync_started_at column orders them.
        self.sync_id = sync_id or str(uuid.uuid4())
        self.tables_in_sync = tuple(tables)
        self.org_ids = load_org_ids(saved_state)
        self._orgs_ever_synced = self._org_cursor_saved(saved_state)
        self._tables: dict[str, TableHealth] = {}
        self._waiting: list[TableHealth] = []  # finished, waiting for organizations
        self._done: set[str] = set()
        self._lock = threading.RLock()
        self._upsert: Callable[[str, dict], None] | None = None
        self._checkpoint: Callable[[dict], None] | None = None

    @staticmethod
    def _org_cursor_saved(saved_state: Any) -> bool:
        try:
            return saved_state["tables"][ORGANIZATIONS]["cursor"] is not None
        except (KeyError, TypeError):
            return False

    # -- wiring

    def wrap(self, emitter: Any) -> Any:
        """The emitter with upserts observed and the health state added to checkpoints."""
        self._upsert, self._checkpoint = emitter.upsert, emitter.checkpoint
        return replace(emitter, upsert=self._observe_upsert, checkpoint=self.checkpoint)

    def table(self, table: str) -> TableHealth:
        with self._lock:
            if table not in self._tables:
                self._tables[table] = TableHealth(table, self._now())
            return self._tables[table]

    def client_for(self, table: str, client: Any) -> TableClient:
        return TableClient(client, self.table(table).stats)

    def state_with_health(self, state: Mapping) -> dict:
        return {**state, STATE_KEY: {"organization_ids": self.org_ids.to_state()}}

    def checkpoint(self, state: Mapping) -> None:
        self._checkpoint(self.state_with_health(state))

    def _observe_upsert(self, table: str, row: dict) -> None:
        self._upsert(table, row)
        health = self._tables.get(table)
        if health is None:
            return
        if table == ORGANIZATIONS:
            self.org_ids.add(row.get("id"))
        health.add_row(row, self.org_ids)

    # -- table ends

    @contextmanager
    def recording(self, current_state: Callable[[], Mapping]):
        """Around the whole table loop: if it fails, every table started and not finished
        gets a ``failed`` row (and a checkpoint), without masking the sync's error."""
        try:
            yield self
        except Exception as error:
            try:
                self.tables_failed(current_state(), error)
            except Exception as health_error:  # noqa: BLE001 - never mask the sync's error
                log.warning(
                    f"{HEALTH_TABLE}: could not record the failed sync: "
                    f"{redact(health_error, max_length=200)}"
                )
            raise
        self.flush(current_state())

    def tables_failed(self, state: Mapping, error: BaseException) -> None:
        """Every table started and not finished failed with ``error``; emit and checkpoint."""
        with self._lock:
            unfinished = [name for name in self._tables if name not in self._done]
        for name in unfinished:
            self.table_finished(name, state, error=error, checkpoint=False)
        if self._emit_waiting() or unfinished:
            self.checkpoint(state)

    def flush(self, state: Mapping) -> None:
        """Emit rows still waiting (organizations never finished) and checkpoint them."""
        if self._emit_waiting():
            self.checkpoint(state)

    def _emit_waiting(self) -> bool:
        with self._lock:
            ready, self._waiting = self._waiting, []
        for item in ready:
            self._emit(item)
        return bool(ready)

    def table_finished(
        self,
        table: str,
        state: Mapping,
        error: BaseException | None = None,
        *,
        checkpoint: bool = True,
    ) -> None:
        """Close ``table``'s figures, emit every row that may be emitted now and checkpoint
        (with ``state``: the sync's state after the table's last consumed page)."""
        health = self.table(table)
        tables = state.get("tables") if isinstance(state, Mapping) else None
        table_state = tables.get(table) if isinstance(tables, Mapping) else None
        status = SUCCEEDED if error is None else FAILED
        health.close(status, self._now(), table_state, error)
        with self._lock:
            self._done.add(table)
            self._waiting.append(health)
            # References are judged when a row is emitted, so rows of tables that reference
            # organizations wait for organizations to finish when both sync in this run.
            orgs_pending = ORGANIZATIONS in self.tables_in_sync and ORGANIZATIONS not in self._done
            ready = []
            if error is not None or not orgs_pending:
                ready, self._waiting = self._waiting, []
            if table == ORGANIZATIONS and error is None:
                self._orgs_ever_synced = True
        for item in ready:
            self._emit(item)
        if ready and checkpoint:
            self.checkpoint(state)

    def _emit(self, health: TableHealth) -> None:
        reportable = self.org_ids.complete and self._orgs_ever_synced
        row = health.to_row(self.sync_id, self.sync_started_at, self.org_ids, reportable)
        self._upsert(HEALTH_TABLE, row)
        for share, value in health.shortfalls():
            log.warning(
                f"{HEALTH_TABLE}: {health.table} {share.column} is {value:.2%}, below the "
                f"required {share.minimum:.0%} ({health.present[share.column]} of "
                f"{health.rows} rows synced have {share.source})"
            )
        if health.untracked_org_refs:
            log.info(
                f"{HEALTH_TABLE}: {health.table}: {health.untracked_org_refs} references to "
                f"more than {MAX_PENDING_ORG_IDS} distinct unknown organizations were not "
                "counted in dangling_org_refs (a lower bound)"
            )
