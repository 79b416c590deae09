"""The cached sorted views behind collection pages must answer exactly like a full scan.

Every page is checked against an oracle that filters and sorts the current data from scratch
(the search_after semantics), while rows are updated, inserted, disabled, archived, trashed,
restored and erased between pages, so a stale or wrongly refreshed view fails the comparison.
"""

import functools
import random
from datetime import datetime

import pytest
from testkit import Api, make_config

from simulator import Simulator, store as store_module
from simulator.query import compile_filters, cursor_values, decode_cursor, parse_sort
from simulator.schema import BIN_TYPES, SPECS

BASE = "http://sim"


def _epoch(text):
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def _cursor_values(text, sort="updated_at,id"):
    """The sort values in a products cursor, read the way the simulator reads them."""
    spec = SPECS["products"]
    return decode_cursor(spec, parse_sort(spec, sort), text, "search_after")[1]


def _compare_values(x, y) -> int:
    """Ascending comparison of two sort values with nulls first."""
    if x == y:
        return 0
    if x is None:
        return -1
    if y is None:
        return 1
    return -1 if x < y else 1


def _compare(order):
    """Order two lists of cursor values: nulls first ascending, last descending."""

    def compare(a, b):
        for x, y, (_, descending) in zip(a, b, order):
            result = _compare_values(x, y)
            if result:
                return -result if descending else result
        return 0

    return compare


def _matching_rows(store, collection, params, predefined):
    spec = SPECS[collection]
    predicates = compile_filters(spec, params)
    if predefined:
        predicates.append(store._predefined(collection, predefined))
    return [row for row in store.visible(collection) if all(p(row) for p in predicates)]


def oracle(store, collection, params, predefined=None):
    """(page ids, total, next?, current page) by a full scan of the current data.

    A cursor's offset is the index of the row it points at, so a page after it starts at
    offset + 1 and a page before it ends just before offset.
    """
    spec = SPECS[collection]
    values = dict(params)
    per_page = int(values.get("per_page", store.config.default_per_page))
    order = parse_sort(spec, values.get("sort"))
    rows = _matching_rows(store, collection, params, predefined)
    compare = _compare(order)
    keyed = sorted(
        ((cursor_values(spec, order, row), row["id"]) for row in rows),
        key=functools.cmp_to_key(lambda a, b: compare(a[0], b[0])),
    )
    cap = store.config.walk_cap
    direction, start = "after", 0
    for param in ("search_after", "search_before"):
        if param in values:
            direction = param[7:]
            offset, bound = decode_cursor(spec, order, values[param], param)
            sign = 1 if direction == "after" else -1
            keyed = [item for item in keyed if compare(item[0], bound) * sign > 0]
            start = offset + 1 if direction == "after" else offset
    if direction == "after":
        page = keyed[: max(0, min(per_page, cap - start))]
        more = len(keyed) > len(page)
    else:
        page = keyed[-per_page:]
        start, more = max(0, start - len(page)), True
    capped = more and start + len(page) >= cap
    link_next = bool(page) and more and not capped
    return [row_id for _, row_id in page], len(rows), link_next, start // per_page + 1


def check_page(store, collection, params, predefined=None):
    path = f"/v1/{collection}"
    expected = oracle(store, collection, params, predefined)
    rows, headers = store.list_page(collection, path, params, BASE, predefined)
    actual = (
        [row["id"] for row in rows],
        int(headers["X-Pagination-Total-Entries"]),
        'rel="next"' in headers.get("Link", ""),
        int(headers["X-Pagination-Current-Page"]),
    )
    assert actual == expected, (collection, params, predefined)
    return rows, headers


def mutate(sim, collection, rng):
    """One random change of the kind tests, the mutator and the API actions make."""
    store = sim.store
    draw = rng.random()
    ids = sorted(store.rows[collection])
    if draw < 0.35:
        sim.update_rows(collection, count=rng.randint(1, 6), at=sim.anchor + rng.randint(-9, 9))
    elif draw < 0.5:
        sim.update_rows(collection, ids=rng.sample(ids, 2), at=sim.anchor - 400 * 86400)
    elif draw < 0.65:
        sim.insert_rows(collection, rng.randint(1, 3), at=sim.anchor + rng.randint(-5, 5))
    elif draw < 0.7:
        sim.update_rows(collection, count=80, at=sim.anchor + 30)  # many: forces a rebuild
    elif collection == "time_entries" and rng.random() < 0.5:
        row_id = rng.choice(ids)
        sim.set_deleted(collection, row_id, not store.rows[collection][row_id]["deleted"])
    elif collection in BIN_TYPES.values():
        move_between_bins(sim, collection, rng.choice(ids), rng)
    else:
        row_id = rng.choice(ids)
        sim.set_disabled(collection, row_id, not store.rows[collection][row_id].get("disabled"))


def move_between_bins(sim, collection, row_id, rng):
    """Archive, trash, restore or erase one record (people are disabled first)."""
    if collection == "people":
        sim.set_disabled(collection, row_id, True)
    where = sim.store.bins[collection].get(row_id, ("",))[0]
    if where == "trash" and rng.random() < 0.5:
        sim.erase_record(collection, row_id)
    elif where:
        sim.restore_record(collection, row_id, at=sim.anchor + 1)
    elif rng.random() < 0.5:
        sim.archive_record(collection, row_id, at=sim.anchor + 2)
    else:
        sim.trash_record(collection, row_id, at=sim.anchor + 3)


SCENARIOS = [
    ("products", {"sort": "updated_at,id"}, None),
    ("products", {"sort": "-updated_at,name"}, None),
    ("products", {}, None),  # default sort: name
    ("products", {"sort": "support_team,-id", "disabled": "false"}, None),
    ("products", {"sort": "-sourceID"}, "enabled"),
    ("products", {"sort": "created_at", "updated_at": ">=2025-06-01T00:00:00Z"}, None),
    ("organizations", {"sort": "-name,updated_at"}, None),
    ("organizations", {"sort": "updated_at", "disabled": "true"}, None),
    ("projects", {}, None),  # default sort: -id
    ("projects", {"sort": "completed_at,-updated_at"}, None),
    ("projects", {"sort": "-completed_at"}, None),
    ("products", {"sort": "-service,name"}, None),
    ("organizations", {"sort": "-sourceID"}, None),
    ("projects", {"sort": "-status,subject", "category": "!"}, "completed"),
    ("archive", {"sort": "created_at"}, None),
    ("trash", {}, None),
    ("people", {"sort": "updated_at,id"}, "enabled"),
    ("time_entries", {"sort": "-date,id", "deleted": "false"}, None),
    ("cis", {}, "active"),
    ("project_tasks", {"sort": "updated_at,id"}, "open"),
]


def _walk_a_little(sim, rng, scenario, cursor):
    """One to four pages of a scenario from ``cursor``, a change after each; the next cursor."""
    collection, filters, predefined = scenario
    for _ in range(rng.randint(1, 4)):
        params = [("per_page", str(rng.choice([1, 7, 25])))] + list(filters.items())
        if cursor:
            params.append(("search_after", cursor))
        rows, headers = check_page(sim.store, collection, params, predefined)
        if rows and rng.random() < 0.3:
            back = params[:-1] if cursor else params
            start = headers["X-Pagination-Start-Cursor"]
            check_page(sim.store, collection, back + [("search_before", start)], predefined)
        cursor = headers["X-Pagination-End-Cursor"] if "next" in headers.get("Link", "") else None
        bins = rng.choice(tuple(BIN_TYPES.values()))
        mutate(sim, bins if collection in ("archive", "trash") else collection, rng)
    return cursor


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cached_pages_equal_a_full_scan_under_interleaved_mutation(seed):
    """Walk every scenario a few pages at a time, with changes between every two pages.

    Short runs on one view exercise the incremental refresh; switching between more scenarios
    than the LRU keeps exercises eviction and rebuilds.
    """
    config = make_config(organizations=70, products=260, projects=220, seed=seed, walk_cap=120)
    rng = random.Random(seed)
    with Simulator(config) as sim:
        cursors = {index: None for index in range(len(SCENARIOS))}
        for _ in range(12):
            for index in rng.sample(range(len(SCENARIOS)), len(SCENARIOS)):
                cursors[index] = _walk_a_little(sim, rng, SCENARIOS[index], cursors[index])
            if rng.random() < 0.2:
                sim.configure(hide_archived_and_trashed=not config.hide_archived_and_trashed)


def test_short_change_log_falls_back_to_a_rebuild(monkeypatch):
    monkeypatch.setattr(store_module, "CHANGE_LOG_LIMIT", 4)
    rng = random.Random(5)
    with Simulator(make_config(products=150)) as sim:
        cursor = None
        for _ in range(12):
            params = [("per_page", "9"), ("sort", "updated_at,id")]
            if cursor:
                params.append(("search_after", cursor))
            _, headers = check_page(sim.store, "products", params)
            cursor = headers.get("X-Pagination-End-Cursor")
            for _ in range(3):
                mutate(sim, "products", rng)


def test_http_walk_with_updates_and_inserts_between_pages_matches_ground_truth():
    """The connector's walk (sort=updated_at,id, all fields) against ground truth per page."""
    with Simulator(make_config(products=200)) as sim:
        api = Api(sim)
        fields = ",".join(SPECS["products"].selectable())
        params = {"per_page": 20, "sort": "updated_at,id", "fields": fields}
        response = api.get("/products", params)
        start_ids = {row["id"] for row in sim.ground_truth("products")}
        seen, last, inserted, pages = [], None, set(), 0
        rng = random.Random(3)
        while True:
            assert response.status_code == 200
            truth = sim.ground_truth("products")
            ordered = sorted(truth, key=lambda row: (_epoch(row["updated_at"]), row["id"]))
            if last is not None:
                ordered = [row for row in ordered if (_epoch(row["updated_at"]), row["id"]) > last]
            assert response.json() == ordered[:20]  # ids, order and rendering of every field
            assert response.headers["X-Pagination-Total-Entries"] == str(len(truth))
            seen.extend(row["id"] for row in response.json())
            end = _cursor_values(response.headers["X-Pagination-End-Cursor"])
            last = (end[0] // 1000, end[1])
            pages += 1
            if "next" not in response.links:
                break
            # Between pages: move rows behind and ahead of the cursor, insert new ones.
            behind = [row_id for row_id in seen if rng.random() < 0.1][:3]
            sim.update_rows("products", ids=behind, at=sim.anchor + pages)  # move ahead
            sim.update_rows("products", count=2, at=sim.anchor - 800 * 86400)  # move behind
            inserted.update(sim.insert_rows("products", 1, at=sim.anchor + pages))
            response = api.get(response.links["next"]["url"])
        assert pages > 10 and inserted <= set(seen)
        assert len(start_ids - set(seen)) > 0  # rows moved behind the cursor were skipped
