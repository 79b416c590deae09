"""The simulator's data: rows per collection, archive and trash, rendering and paging.

Rows are stored in a compact internal form (datetimes as epoch seconds, references as dicts) and
rendered per request, so a mutation is visible to the very next page exactly as in the real API.
Paging follows Elasticsearch's search_after model against the current data, which is what keeps a
walk complete while rows change underneath it. All public methods take the store's lock.
"""

from __future__ import annotations

import functools
import gc
import math
import random
import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from .bins import BinActions
from .config import SimConfig
from .generator import Generator, node_id
from .query import (
    NON_FILTER_PARAMS,
    ApiError,
    compile_filters,
    cursor_values,
    decode_cursor,
    encode_cursor,
    key_from_values,
    make_key,
    parse_fields,
    parse_sort,
    to_epoch,
)
from .schema import (
    BIN_TYPES,
    BINREF,
    COLLECTION_OF_TYPE,
    DATA_COLLECTIONS,
    DATETIME,
    ORGREF,
    REF,
    SPECS,
)

ZONE_SALT = {
    "organizations": 0,
    "products": 1,
    "projects": 2,
    "archive": 3,
    "trash": 0,
    "people": 1,
    "teams": 2,
    "sites": 3,
    "services": 0,
    "service_instances": 1,
    "cis": 2,
    "contracts": 3,
    "project_tasks": 0,
    "time_entries": 1,
}
VIEW_CACHE_SIZE = 48  # sorted views kept (LRU): a walk needs one; twelve tables, split walks
CHANGE_LOG_LIMIT = 20000  # changed row ids remembered per collection for incremental refresh
#: Collections whose records a directory account can own: records and references to them
#: carry its ``account`` (captured people and sites of the directory account show it).
OWNED_COLLECTIONS = ("organizations", "products", "people", "sites")
#: Keys a reference shows besides its id, per collection ("name" unless listed).
DISPLAY_KEYS = {
    "projects": ("subject",),
    "project_tasks": ("subject",),
    "cis": ("label", "name"),
    "products": ("name", "category"),
}
_DECORATED = frozenset((DATETIME, ORGREF, REF, BINREF))  # kinds rendered from stored form
#: A task's phase: the keys of the docs' sample, in its (alphabetical) order.
_PHASE_KEYS = (
    "completed_at",
    "created_at",
    "id",
    "name",
    "position",
    "started_at",
    "status",
    "updated_at",
)
_PHASE_TIMES = ("completed_at", "created_at", "started_at", "updated_at")


_MASK64 = (1 << 64) - 1
_KIND_SALT = {"organizations": 1, "products": 2, "people": 4, "sites": 5}


def _draw(seed: int, kind: str, row_id: int) -> float:
    """A stable number in [0, 1) per (seed, kind, id): which account owns a record.

    A splitmix64 finalizer over the three inputs: well mixed for consecutive ids and cheap
    enough to run for every row and reference of every page.
    """
    x = (seed * 0x9E3779B97F4A7C15 + _KIND_SALT[kind] * 0xD1B54A32D192ED03 + row_id) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return (x ^ (x >> 31)) / 2.0**64


def _without_gc(function):
    """Run the generation with the cyclic GC paused: it creates millions of objects and no
    cycles, and every full collection on the way would rescan all of them (a third of the
    generation time at the seed scale)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        function()
    finally:
        if enabled:
            gc.enable()


@dataclass
class _PageRequest:
    """A collection request parsed and validated before the lock is taken."""

    per_page: int
    fields: list
    disabled_requested: bool
    order: list
    predicates: list
    direction: str = "after"
    offset: int = 0
    cursor: list | None = None


@dataclass
class _Page:
    """The rows a request selected and where they sit in the (capped) walk."""

    rows: list
    start: int
    total: int
    more: bool
    capped: bool


class DataStore(BinActions):
    """Thread-safe in-memory data set behind the HTTP handler."""

    def __init__(self, config: SimConfig, anchor: int):
        self.config = config
        self.anchor = anchor
        self.lock = threading.RLock()
        self.api_url = "http://127.0.0.1/v1"
        self.zones = [ZoneInfo(name) for name in config.zones]
        self.generator = Generator(config, anchor)
        self.mutation_rng = random.Random(config.seed + 1)
        #: Per archivable collection: record id -> ("archive" | "trash", entry id).
        self.bins = {collection: {} for collection in BIN_TYPES.values()}
        # Sorted views of the collections, refreshed from a log of changed row ids: every
        # mutation bumps ``version`` and logs the ids it touched (see _touch / _view).
        self.version = 0
        self._changes = {name: [] for name in SPECS}  # [(version, row id)], oldest first
        self._change_floor = {name: 0 for name in SPECS}  # log complete after this version
        self._views = OrderedDict()
        _without_gc(self._generate)
        # The seed data is long-lived; freezing it keeps the cyclic GC from rescanning
        # hundreds of thousands of objects on every page request (halves page latency).
        gc.freeze()

    def _generate(self):
        """Every collection's rows, the ids inserts continue from, and the seeded bins."""
        generated = self.generator.build(self.config.counts())
        self.rows = {
            name: {row["id"]: row for row in generated[name]} for name in DATA_COLLECTIONS
        }
        self.rows["archive"], self.rows["trash"] = {}, {}
        #: The phases of every project, by phase id (tasks render theirs in full).
        self.phases = self.generator.work.phases
        reserved = self.generator.reserved_ids()
        self.next_ids = {
            name: max(max(self.rows[name], default=0), reserved.get(name, 0)) + 1
            for name in DATA_COLLECTIONS
        }
        self.next_ids["archive"] = 1
        self.next_ids["trash"] = 1
        self._seed_bins(generated)

    # --- rendering ------------------------------------------------------------------------

    def zone_for(self, collection: str, row_id: int) -> ZoneInfo:
        """Each record renders in one zone chosen deterministically from its id."""
        return self.zones[(row_id * 7 + ZONE_SALT[collection]) % len(self.zones)]

    @staticmethod
    def format_time(epoch: int, zone) -> str:
        text = datetime.fromtimestamp(epoch, zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    # References and records carry the GraphQL nodeID and, when another account owns the
    # target, an ``account`` reference (DX-TYPES; captured responses show both on every level).

    def _node_id(self, record_type: str, record_id) -> str:
        return node_id(self.config.node_id_domain, record_type, record_id)

    def _with_node(self, reference: dict, record_type: str) -> dict:
        if self.config.node_id == "always" and reference.get("id") is not None:
            reference["nodeID"] = self._node_id(record_type, reference["id"])
        return reference

    def owner_reference(self, collection: str, row_id: int):
        """The directory account reference when it owns this record, else None.

        Only OWNED_COLLECTIONS have records in the directory account. The choice is a stable
        function of the seed and the id, so ground truth, pages, references and inserted rows
        always agree.
        """
        config = self.config
        if collection not in OWNED_COLLECTIONS or config.directory_account == config.account:
            return None
        if config.directory_share <= 0:
            return None
        if _draw(config.seed, collection, row_id) >= config.directory_share:
            return None
        return {"id": config.directory_account, "name": config.directory_account_name}

    def account_of(self, collection: str, row_id: int) -> str:
        """The id of the account that owns a record (the configured one unless directory)."""
        owner = self.owner_reference(collection, row_id)
        return owner["id"] if owner else self.config.account

    def _reference(self, record_type: str, value: dict) -> dict:
        """A reference as the API renders it at this moment: drawn from the current target
        record, so a rename or a disabled flag shows in every reference at once (DX-TYPES);
        as stored when no record here is the target (dangling, or a type no collection serves).

        Shape: ``{id, <display keys>, [account], [sourceID], [disabled: true], nodeID}``, the
        order of the captured organization and person references; services and products add
        their captured extras.
        """
        collection = COLLECTION_OF_TYPE.get(record_type)
        target = self.rows[collection].get(value["id"]) if collection else None
        if target is None:
            return self._with_node(dict(value), record_type)
        if collection == "services":
            return self._service_reference(target)
        reference = {"id": target["id"]}
        for key in DISPLAY_KEYS.get(collection, ("name",)):
            reference[key] = target.get(key)
        owner = self.owner_reference(collection, target["id"])
        if owner:
            reference["account"] = owner
        if target.get("sourceID"):
            reference["sourceID"] = target["sourceID"]
        if target.get("disabled"):
            reference["disabled"] = True
        self._with_node(reference, record_type)
        if collection == "products":
            reference["brand"] = target.get("brand")  # captured after nodeID
        return reference

    def _service_reference(self, service: dict) -> dict:
        """Captured shape: id, name, disabled (only when true), localized_name, nodeID, provider."""
        reference = {"id": service["id"], "name": service["name"]}
        if service.get("disabled"):
            reference["disabled"] = True
        reference["localized_name"] = service.get("localized_name") or service["name"]
        self._with_node(reference, "Service")
        provider = service.get("provider")
        reference["provider"] = (
            None if provider is None else self._reference("Organization", provider)
        )
        return reference

    def _phase_reference(self, value: dict, zone) -> dict:
        """A project task's phase: the full phase object of the docs' sample, keys in its
        (alphabetical) order, times in the task's zone."""
        phase = self.phases.get(value["id"])
        if phase is None:
            return self._with_node(dict(value), "ProjectPhase")
        reference = {name: phase[name] for name in _PHASE_KEYS}
        for name in _PHASE_TIMES:
            if reference[name] is not None:
                reference[name] = self.format_time(reference[name], zone)
        return self._with_node(reference, "ProjectPhase")

    def _bin_pointer(self, record_type: str, value: dict) -> dict:
        """The ``{id, href, display_name}`` pointer of an archive or trash entry (DOC-ARCH)."""
        path = BIN_TYPES.get(record_type) or f"{record_type}s"
        return {
            "id": value["id"],
            "href": f"{self.api_url}/{path}/{value['id']}",
            "display_name": value["display_name"],
        }

    def _render_value(self, spec, kind: str, name: str, value, zone):
        if kind == DATETIME:
            return self.format_time(value, zone)
        if kind == ORGREF:
            return self._reference("Organization", value)
        if kind == REF:
            record_type = spec.ref_type(name)
            if record_type == "ProjectPhase":
                return self._phase_reference(value, zone)
            return self._reference(record_type, value)
        return self._bin_pointer(name, value)  # BINREF: the key is the record's type

    def render(self, collection: str, row: dict, fields, disabled_requested: bool) -> dict:
        """One record as the API shows it: the selected fields, then account and nodeID.

        Services also carry ``localized_name`` after the fields (captured, not selectable).
        """
        spec = SPECS[collection]
        out = self._render_fields(spec, row, fields, self.zone_for(collection, row["id"]))
        if collection == "services":
            out["localized_name"] = row.get("localized_name") or row["name"]
        if "disabled" in spec.fields and not disabled_requested and row.get("disabled"):
            out["disabled"] = True
        if collection in DATA_COLLECTIONS:
            owner = self.owner_reference(collection, row["id"])
            if owner:
                out["account"] = owner
            self._with_node(out, spec.record_type)
        return out

    def _render_fields(self, spec, row: dict, fields, zone) -> dict:
        kinds, omitted = spec.fields, spec.omitted_when_null
        out = {}
        for name in fields:
            value = row.get(name)
            if value is None and name in omitted:
                continue
            kind = kinds[name]
            if name == "disabled":
                value = bool(value)
            elif value is not None and kind in _DECORATED:
                value = self._render_value(spec, kind, name, value, zone)
            out[name] = value
        return out

    def render_single(self, collection: str, row: dict) -> dict:
        """A single-record GET: every known field, keys in alphabetical order, nodeID last.

        That is how captured single records come back (DX-ORGS sample; product capture).
        """
        out = self.render(collection, row, self.known_fields(collection), True)
        ordered = {key: out[key] for key in sorted(out) if key != "nodeID"}
        if "nodeID" in out:
            ordered["nodeID"] = out["nodeID"]
        return ordered

    def known_fields(self, collection: str) -> list[str]:
        """Selectable fields this server version knows (unknown_fields left out)."""
        unknown = self.config.unknown_for(collection)
        return [name for name in SPECS[collection].selectable() if name not in unknown]

    def _hidden(self, collection: str) -> dict:
        """The records of a collection that sit in the archive or trash and are hidden from it
        (by id; empty when nothing is hidden)."""
        if not self.config.hide_archived_and_trashed:
            return {}
        return self.bins.get(collection, {})

    def _is_visible(self, collection: str, row_id: int) -> bool:
        return row_id not in self._hidden(collection)

    def visible(self, collection: str):
        """Rows a collection request can see (archived and trashed records hidden by default)."""
        hidden = self._hidden(collection)
        return [row for row_id, row in self.rows[collection].items() if row_id not in hidden]

    # --- collection requests --------------------------------------------------------------

    def list_page(self, collection, path, params, base_url, predefined=None):
        """Serve one page of a collection walk; returns (rendered rows, headers)."""
        spec = SPECS[collection]
        request = self._page_request(collection, params, predefined)
        with self.lock:
            page = self._select(collection, params, predefined, request)
            rendered = [
                self.render(collection, row, request.fields, request.disabled_requested)
                for row in page.rows
            ]
        per_page = request.per_page
        headers = {
            "X-Pagination-Per-Page": str(per_page),
            "X-Pagination-Current-Page": str(page.start // per_page + 1),
            "X-Pagination-Total-Pages": str(math.ceil(page.total / per_page)),
            "X-Pagination-Total-Entries": str(page.total),
        }
        if page.total > self.config.walk_cap:
            if self.config.throttled_header == "walk" or page.capped:
                headers["X-Pagination-Throttled"] = "true"
        cursors = {}
        if page.rows:
            fmt = self.config.cursor_format
            first = cursor_values(spec, request.order, page.rows[0])
            last = cursor_values(spec, request.order, page.rows[-1])
            cursors["start"] = encode_cursor(page.start, first, fmt)
            cursors["end"] = encode_cursor(page.start + len(page.rows) - 1, last, fmt)
            headers["X-Pagination-Start-Cursor"] = cursors["start"]
            headers["X-Pagination-End-Cursor"] = cursors["end"]
        link = self._link_header(base_url, path, params, request, page, cursors)
        if link:
            headers["Link"] = link
        return rendered, headers

    def _page_request(self, collection, params, predefined) -> _PageRequest:
        """Parse paging, selection, sort, filters and cursor; every mistake is a 400."""
        spec = SPECS[collection]
        values = dict(params)
        unknown = self.config.unknown_for(collection)
        implicit = self.config.implicit_field_selection
        fields, disabled_requested = parse_fields(spec, values.get("fields"), unknown, implicit)
        order = parse_sort(spec, values.get("sort"), unknown)
        request = _PageRequest(
            per_page=self._per_page(values.get("per_page")),
            fields=fields,
            disabled_requested=disabled_requested,
            order=order,
            predicates=compile_filters(spec, params, unknown),
        )
        if predefined:
            request.predicates.append(self._predefined(collection, predefined))
        if "search_after" in values and "search_before" in values:
            raise ApiError(400, "Parameters 'search_after' and 'search_before' are exclusive")
        for param in ("search_after", "search_before"):
            if param in values:
                request.direction = param[7:]
                request.offset, request.cursor = decode_cursor(
                    spec, order, values[param], param, self.config.cursor_format
                )
        return request

    def _select(self, collection, params, predefined, request: _PageRequest) -> _Page:
        """The rows after (or before) the cursor in the current data: search_after semantics.

        A cursor's offset is the index of the row it points at (captured cursors: the end
        cursor of a first page of 20 says 19), so the page after it starts one further on.
        """
        spec, cap, per_page = SPECS[collection], self.config.walk_cap, request.per_page
        view = self._view(collection, params, predefined, request.order, request.predicates)
        total, position = len(view.ids), 0
        if request.cursor is not None:
            bound = key_from_values(request.cursor, request.order, spec)
            search = bisect_right if request.direction == "after" else bisect_left
            position = search(view.keys, bound)
        if request.direction == "after":
            start = request.offset + 1 if request.cursor is not None else 0
            size = max(0, min(per_page, cap - start))
            picked = view.ids[position : position + size]
            more = total - position > len(picked)
        else:
            picked = view.ids[max(0, position - per_page) : position]
            start = max(0, request.offset - len(picked))
            more = True
        table = self.rows[collection]
        rows = [table[row_id] for row_id in picked]
        capped = more and start + len(rows) >= cap
        return _Page(rows, start, total, more, capped)

    def _link_header(self, base_url, path, params, request, page: _Page, cursors) -> str:
        """first/prev/next links: the request's own parameters plus a cursor (DX-PAG).

        ``link_host`` puts another host in every URL (a trace log shows a server on
        api.xurrent.qa linking to api.4me.qa); ``link_per_page`` may drop a default per_page.
        """
        config = self.config
        if config.link_host:
            host = config.link_host.rstrip("/")
            base_url = host if "://" in host else f"https://{host}"
        drop = {"search_after", "search_before"}
        if config.link_per_page == "omit_default" and request.per_page == config.default_per_page:
            drop.add("per_page")
        kept = [(name, value) for name, value in params if name not in drop]
        links = []
        if page.start > 0:
            links.append((_url(base_url, path, kept), "first"))
            if page.rows:
                prev = kept + [("search_before", cursors["start"])]
                links.append((_url(base_url, path, prev), "prev"))
        if page.rows and page.more and not page.capped:
            following = kept + [("search_after", cursors["end"])]
            links.append((_url(base_url, path, following), "next"))
        return ", ".join(f'<{url}>; rel="{rel}"' for url, rel in links)

    def _predefined(self, collection: str, name: str):
        owner = functools.partial(self.owner_reference, collection)
        return _predefined(collection, name, owner)

    # --- sorted views ---------------------------------------------------------------------

    def _view(self, collection, params, predefined, order, predicates) -> "_SortedView":
        """The cached sorted view for one filter + sort, brought up to date with the data.

        Filters are keyed as a sorted multiset (they are AND-ed, so order is irrelevant). A view
        is refreshed from the change log when only a few rows changed since it was last used,
        and rebuilt otherwise, so every page is computed against the current data.
        """
        hidden = collection in self.bins and self.config.hide_archived_and_trashed
        filters = tuple(sorted(item for item in params if item[0] not in NON_FILTER_PARAMS))
        cache_key = (collection, hidden, filters, predefined, tuple(order))
        view = self._views.get(cache_key)
        if view is None:
            view = _SortedView(collection, hidden, predicates, make_key(SPECS[collection], order))
            self._views[cache_key] = view
            if len(self._views) > VIEW_CACHE_SIZE:
                self._views.popitem(last=False)
        else:
            self._views.move_to_end(cache_key)
        if view.version != self.version:
            self._refresh(view)
        return view

    def _refresh(self, view: "_SortedView"):
        collection = view.collection
        table = self.rows[collection]
        bins = self.bins[collection] if view.hidden else {}
        if view.version >= self._change_floor[collection]:
            log = self._changes[collection]
            changed = {row_id for _, row_id in log[bisect_right(log, (view.version, math.inf)) :]}
            if len(changed) <= max(64, len(view.ids) // 16):
                view.apply(changed, table, bins)
                view.version = self.version
                return
        view.rebuild(table, bins)
        view.version = self.version

    def _touch(self, collection: str, row_ids):
        """Record a mutation: bump the data version and log the rows it may have moved."""
        self.version += 1
        log = self._changes[collection]
        log.extend((self.version, row_id) for row_id in row_ids)
        if len(log) > CHANGE_LOG_LIMIT:
            cut = len(log) // 2
            self._change_floor[collection] = log[cut - 1][0]
            del log[:cut]

    def invalidate(self):
        """Drop every sorted view (for code that edits ``rows`` without the mutation methods)."""
        with self.lock:
            self.version += 1
            self._views.clear()

    def _per_page(self, raw) -> int:
        config = self.config
        if raw is None or raw == "":
            return config.default_per_page
        try:
            per_page = int(raw)
        except ValueError:
            raise ApiError(400, "Parameter 'per_page' is not a valid integer") from None
        if per_page < 1:
            raise ApiError(400, "Parameter 'per_page' cannot be less than 1")
        if per_page > config.max_per_page:
            if config.per_page_over_max == "clamp":
                return config.max_per_page
            raise ApiError(400, f"Parameter 'per_page' cannot be more than {config.max_per_page}")
        return per_page

    def get_record(self, collection: str, row_id: int) -> dict:
        """Single-record GET returns every field the server knows."""
        with self.lock:
            row = self.rows[collection].get(row_id)
            if row is None or not self._is_visible(collection, row_id):
                raise ApiError(404, "Not Found")
            return self.render_single(collection, row)

    # --- ground truth ---------------------------------------------------------------------

    def ground_truth(self, collection: str) -> list[dict]:
        """Every visible record as a single-record GET shows it (account, nodeID included)."""
        with self.lock:
            rows = sorted(self.visible(collection), key=lambda row: row["id"])
            return [self.render_single(collection, row) for row in rows]

    # --- mutations ------------------------------------------------------------------------

    def update_rows(self, collection, ids=None, count=None, at=None, changes=None) -> list[int]:
        """Bump updated_at and change a field, as a user edit would.

        ``changes`` ({field: value}, values in the stored form: text, numbers, ``None``,
        reference dicts; not datetimes) replaces the default edit, e.g. blanking a product's
        category to produce a data-quality shortfall.
        """
        moment = to_epoch(at)
        spec = SPECS[collection]
        for name in changes or {}:
            if name not in spec.fields or spec.fields[name] == DATETIME or name == "id":
                raise ValueError(f"{collection}.{name} cannot be changed with update_rows")
        with self.lock:
            if ids is None:
                ids = self._pick_rows(collection, count or 1)
            for row_id in ids:
                row = self.rows[collection][row_id]
                row["updated_at"] = max(row["created_at"], moment)
                row.update(changes or DEFAULT_EDITS[collection](row, moment))
            self._touch(collection, ids)
            return list(ids)

    def _pick_rows(self, collection: str, count: int) -> list[int]:
        """Random visible rows for an edit (archived and trashed records are not edited)."""
        hidden = self._hidden(collection)
        pool = sorted(row_id for row_id in self.rows[collection] if row_id not in hidden)
        return self.mutation_rng.sample(pool, min(count, len(pool)))

    def insert_rows(self, collection, count, at=None) -> list[int]:
        moment = to_epoch(at)
        with self.lock:
            new_ids = []
            for _ in range(count):
                row_id = self.next_ids[collection]
                self.next_ids[collection] += 1
                self.rows[collection][row_id] = self.generator.new_row(collection, row_id, moment)
                new_ids.append(row_id)
            self._touch(collection, new_ids)
            return new_ids

    def set_disabled(self, collection, row_id, value, at=None):
        with self.lock:
            row = self.rows[collection][row_id]
            row["disabled"] = bool(value)
            if self.config.disable_bumps_updated_at:
                row["updated_at"] = max(row["created_at"], to_epoch(at))
            self._touch(collection, [row_id])

    def set_deleted(self, collection, row_id, value=True, at=None):
        """Flip a time entry's ``deleted`` flag (its soft delete): an edit, so it bumps
        updated_at; the entry stays in the collection, and ``?deleted=`` filters on it."""
        if "deleted" not in SPECS[collection].fields:
            raise ValueError(f"{collection} records have no deleted flag")
        with self.lock:
            row = self.rows[collection][row_id]
            row["deleted"] = bool(value)
            row["updated_at"] = max(row["created_at"], to_epoch(at))
            self._touch(collection, [row_id])

    def flip_deleted(self, count: int, at=None) -> list[int]:
        """The mutator's soft deletes: flip ``deleted`` on random visible time entries."""
        with self.lock:
            ids = self._pick_rows("time_entries", count)
            for row_id in ids:
                entry = self.rows["time_entries"][row_id]
                self.set_deleted("time_entries", row_id, not entry["deleted"], at)
            return ids


#: The field a user edit changes when a test does not choose one, per collection.
DEFAULT_EDITS = {
    "organizations": lambda row, moment: {"remarks": f"Edited at {moment}"},
    "products": lambda row, moment: {"useful_life": (row.get("useful_life") or 0) % 9 + 1},
    "projects": lambda row, moment: {"effort": (row.get("effort") or 0) + 8},
    "people": lambda row, moment: {"job_title": f"Analyst (edited at {moment})"},
    "teams": lambda row, moment: {"remarks": f"Edited at {moment}"},
    "sites": lambda row, moment: {"remarks": f"Edited at {moment}"},
    "services": lambda row, moment: {"keywords": f"edited {moment}"},
    "service_instances": lambda row, moment: {"remarks": f"Edited at {moment}"},
    "cis": lambda row, moment: {"location": f"Rack {moment % 40 + 1}"},
    "contracts": lambda row, moment: {"remarks": f"Edited at {moment}"},
    "project_tasks": lambda row, moment: {"planned_effort": (row.get("planned_effort") or 0) + 30},
    "time_entries": lambda row, moment: {"description": f"Corrected at {moment}"},
}


def _first(item):
    return item[0]


class _SortedView:
    """One collection's rows matching one filter, as parallel sorted lists of keys and ids.

    ``key_of`` remembers the key each row was filed under, so a row changed in place can be
    found and moved. ``version`` is the store version the view reflects (-1 = never built).
    """

    __slots__ = ("collection", "hidden", "predicates", "key", "version", "keys", "ids", "key_of")

    def __init__(self, collection, hidden, predicates, key):
        self.collection = collection
        self.hidden = hidden
        self.predicates = predicates
        self.key = key
        self.version = -1
        self.keys, self.ids, self.key_of = [], [], {}

    def _matches(self, row) -> bool:
        return all(predicate(row) for predicate in self.predicates)

    def rebuild(self, table: dict, bins: dict):
        key, predicates = self.key, self.predicates
        pairs = [(key(row), row_id) for row_id, row in table.items() if row_id not in bins]
        if predicates:
            pairs = [pair for pair in pairs if self._matches(table[pair[1]])]
        pairs.sort(key=_first)  # keys are unique (id is always part of the sort)
        self.keys = [pair[0] for pair in pairs]
        self.ids = [pair[1] for pair in pairs]
        self.key_of = dict(zip(self.ids, self.keys))

    def apply(self, changed, table: dict, bins: dict):
        keys, ids, key_of = self.keys, self.ids, self.key_of
        for row_id in changed:
            old = key_of.pop(row_id, None)
            if old is not None:
                index = bisect_left(keys, old)
                del keys[index], ids[index]
            row = table.get(row_id)
            if row is not None and row_id not in bins and self._matches(row):
                new = self.key(row)
                index = bisect_left(keys, new)
                keys.insert(index, new)
                ids.insert(index, row_id)
                key_of[row_id] = new


#: Statuses of an inactive CI (4me blog "No Need to Relate Inactive CIs").
INACTIVE_CI_STATUSES = frozenset(("archived", "to_be_removed", "lost_or_stolen", "removed"))
#: Which records the predefined ``active`` filter keeps (``inactive`` keeps the rest).
ACTIVE = {
    "cis": lambda row: row.get("status") not in INACTIVE_CI_STATUSES,
    "service_instances": lambda row: row.get("status") == "in_production",
    "contracts": lambda row: row.get("status") == "active",
}
#: Statuses the predefined ``completed`` / ``finished`` filters keep (``open``: the rest).
DONE_STATUSES = {
    "projects": frozenset(("completed",)),
    "project_tasks": frozenset(("completed", "approved", "rejected", "failed", "canceled")),
}


def _predefined(collection: str, name: str, owner=None):
    """Predefined filters given as a path segment or ?state=.

    ``owner(row_id)`` returns the owning directory account (or None) for the filters
    ``directory`` and ``support_domain``. ``internal`` people are those who are not guests.
    """
    if name == "disabled":
        return lambda row: bool(row.get("disabled"))
    if name == "enabled":
        return lambda row: not row.get("disabled")
    if name == "directory":
        return lambda row: owner(row["id"]) is not None
    if name == "support_domain":
        return lambda row: owner(row["id"]) is None
    if name == "internal":
        return lambda row: not row.get("guest")
    if name in ("active", "inactive"):
        active = ACTIVE[collection]
        return active if name == "active" else (lambda row: not active(row))
    done = DONE_STATUSES[collection]
    if name in ("completed", "finished"):
        return lambda row: row.get("status") in done
    return lambda row: row.get("status") not in done  # open


def _url(base_url: str, path: str, params) -> str:
    if not params:
        return f"{base_url}{path}"
    return f"{base_url}{path}?{urlencode(params, quote_via=quote, safe=',')}"
