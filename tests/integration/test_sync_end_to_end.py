"""End to end: connector.py through the SDK runner against the simulator over HTTP.

Each test checks the warehouse against the simulator's ground truth with an oracle written
from the simulator's field kinds (tests/testkit.py), not from the connector's stream specs.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
from testkit import (
    api_requests,
    assert_matches_truth,
    configuration_for,
    table_columns,
    updated_at_of,
)

TABLES = ("organizations", "products", "projects")


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat()[:-6] + "Z"


def synced_at(row: dict) -> datetime:
    return datetime.fromisoformat(row["_fivetran_synced"])


def days_ago(days: float) -> str:
    return iso(datetime.now(timezone.utc) - timedelta(days=days))


# --- full sync --------------------------------------------------------------------------------


@pytest.mark.parametrize("node_id", ["always", "never"])
def test_full_sync_lands_exactly_the_ground_truth(make_sim, runner, node_id):
    sim = make_sim(node_id=node_id)
    result = runner.run(configuration_for(sim))

    assert_matches_truth(runner, sim)
    truth_total = sum(len(sim.ground_truth(table)) for table in TABLES)
    # Plus one sync_health row per stream: the three tables, the archive and the trash.
    assert result.counts["Upserts"] == truth_total + 5
    # One request per page and no request for an empty last page (100 rows fit one page).
    table_requests = [entry for table in TABLES for entry in api_requests(sim, table)]
    assert len(table_requests) == 3
    # Plus one page each of the archive and trash listings (test_lifecycle.py), and who the
    # token belongs to, once (sync_health's audit columns).
    assert len(api_requests(sim)) == 6
    assert [entry["path"] for entry in api_requests(sim)].count("/v1/me") == 1
    for entry in table_requests:
        query = entry["query"]
        assert query["sort"] == "updated_at,id"
        assert query["per_page"] == "100"
        # Returned by the API by itself, and refused by fields= (xurrent_api.md §3.4).
        assert not {"nodeID", "account"} & set(query["fields"].split(","))
        assert "updated_at" not in query  # initial_sync_days=all: no filter
    # Declared types reached the warehouse.
    products = table_columns(runner.project_dir, "products")
    assert products["id"] == "BIGINT"
    assert products["updated_at"] == "TIMESTAMP WITH TIME ZONE"
    assert products["salvage_value"] == "DECIMAL(38,10)"
    assert products["disabled"] == "BOOLEAN"
    assert products["custom_fields"] == "JSON"
    # The final state is complete: every stream has a cursor and no walk in progress.
    state = result.state
    assert state["version"] == 2
    for table in TABLES:
        assert state["streams"][table]["walks"] == []
        newest = max(updated_at_of(record) for record in sim.ground_truth(table))
        assert datetime.fromisoformat(state["streams"][table]["cursor"]) == newest


def test_disabled_rows_are_true_and_enabled_rows_false(make_sim, runner):
    sim = make_sim()
    products = sim.ground_truth("products")
    sim.set_disabled("products", products[0]["id"], True)
    sim.set_disabled("products", products[1]["id"], False)
    runner.run(configuration_for(sim, tables="products"))
    rows = {int(row["id"]): row for row in runner.rows("products")}
    assert rows[products[0]["id"]]["disabled"] == "true"
    assert rows[products[1]["id"]]["disabled"] == "false"
    assert {row["disabled"] for row in rows.values()} == {"true", "false"}


# --- incremental ------------------------------------------------------------------------------


@pytest.mark.parametrize("lookback", [0, 5])
def test_second_sync_reads_changes_and_only_the_inclusive_boundary(make_sim, runner, lookback):
    # Data ends a day ago, so edits made now are strictly after every cursor.
    sim = make_sim(anchor=days_ago(1))
    configuration = configuration_for(sim, lookback_minutes=lookback)
    first = runner.run(configuration)
    cursors = {table: first.state["streams"][table]["cursor"] for table in TABLES}
    first_synced = max(synced_at(row) for table in TABLES for row in runner.rows(table))

    changed = {
        "organizations": set(sim.update_rows("organizations", count=2)),
        "products": set(sim.update_rows("products", count=5)),
        "projects": {*sim.insert_rows("projects", 3), *sim.update_rows("projects", count=1)},
    }
    sim.reset_stats()
    second = runner.run(configuration)

    assert_matches_truth(runner, sim)
    total = 0
    for table in TABLES:
        start = datetime.fromisoformat(cursors[table]) - timedelta(minutes=lookback)
        expected = {
            record["id"] for record in sim.ground_truth(table) if updated_at_of(record) >= start
        }
        upserted = {int(row["id"]) for row in runner.rows(table) if synced_at(row) > first_synced}
        assert upserted == expected, table
        assert changed[table] <= upserted
        # Besides the changes, only rows at or just before the old cursor were re-read.
        for record in sim.ground_truth(table):
            if record["id"] in upserted - changed[table]:
                assert start <= updated_at_of(record) <= datetime.fromisoformat(cursors[table])
        total += len(expected)
        (request,) = api_requests(sim, table)
        assert request["query"]["updated_at"] == ">=" + iso(start)
    assert second.counts["Upserts"] == total + 5  # and the sync_health rows


def test_initial_window_excludes_older_rows_and_all_includes_them(make_sim, runner):
    sim = make_sim()
    before = datetime.now(timezone.utc)
    runner.run(configuration_for(sim, initial_sync_days=90))
    after = datetime.now(timezone.utc)
    for table in TABLES:
        truth = sim.ground_truth(table)
        landed = {int(row["id"]) for row in runner.rows(table)}
        surely_in = {r["id"] for r in truth if updated_at_of(r) >= after - timedelta(days=90)}
        surely_out = {
            r["id"] for r in truth if updated_at_of(r) < before - timedelta(days=90, seconds=1)
        }
        assert surely_out, f"{table}: the test data has no rows older than the window"
        assert surely_in <= landed
        assert not (landed & surely_out)
        (request,) = api_requests(sim, table)
        window_start = datetime.fromisoformat(request["query"]["updated_at"][2:])
        assert request["query"]["updated_at"].startswith(">=")
        assert request["query"]["updated_at"].endswith("Z")
        assert before - timedelta(days=90, seconds=1) <= window_start <= after - timedelta(days=90)


def test_incremental_disabled_rereads_the_initial_window_every_sync(make_sim, runner):
    sim = make_sim()
    configuration = configuration_for(sim, initial_sync_days=30, enable_incremental_sync="false")
    first = runner.run(configuration)
    sim.reset_stats()
    second = runner.run(configuration)
    assert second.counts["Upserts"] == first.counts["Upserts"] > 0
    for table in TABLES:
        (request,) = api_requests(sim, table)
        window_start = datetime.fromisoformat(request["query"]["updated_at"][2:])
        assert abs(window_start - (datetime.now(timezone.utc) - timedelta(days=30))) < timedelta(
            minutes=1
        )
        # The cursor is still kept (for when incremental sync is switched back on).
        assert second.state["streams"][table]["cursor"] == first.state["streams"][table]["cursor"]


def test_tables_subset_only_reads_and_remembers_those_tables(make_sim, runner):
    sim = make_sim()
    result = runner.run(configuration_for(sim, tables="projects,products"))
    # Syncing projects also reads the archive and trash listings.
    paths = {entry["path"] for entry in api_requests(sim)}
    assert paths == {"/v1/me", "/v1/products", "/v1/projects", "/v1/archive", "/v1/trash"}
    assert runner.rows("organizations") == []
    assert_matches_truth(runner, sim, tables=("products", "projects"))
    assert set(result.state["streams"]) == {"products", "projects", "archive", "trash"}
    # Adding the table later gives it its own first sync, leaving the others incremental.
    sim.reset_stats()
    result = runner.run(configuration_for(sim))
    assert "updated_at" not in api_requests(sim, "organizations")[0]["query"]
    assert "updated_at" in api_requests(sim, "products")[0]["query"]
    assert_matches_truth(runner, sim)


# --- paging hazards ---------------------------------------------------------------------------


def largest_tie(sim, table) -> int:
    counts: dict = {}
    for record in sim.ground_truth(table):
        key = updated_at_of(record)
        counts[key] = counts.get(key, 0) + 1
    return max(counts.values())


def test_ties_larger_than_a_page_span_page_boundaries_without_loss(
    make_sim, runner, one_walk_per_stream
):
    sim = make_sim(tie_block_size=8, projects=24)  # tiny has too few projects for a block
    per_page = 3
    for table in TABLES:
        assert largest_tie(sim, table) > per_page
    runner.run(configuration_for(sim, max_records_per_page=per_page))
    assert_matches_truth(runner, sim)
    for table in TABLES:
        # Exactly one request per page: no empty trailing page, no re-reads.
        pages = math.ceil(len(sim.ground_truth(table)) / per_page)
        assert len(api_requests(sim, table)) == pages


def test_rows_changed_during_the_walk_are_not_lost(make_sim, runner):
    sim = make_sim(anchor=days_ago(1))
    early_ids = [record["id"] for record in sim.ground_truth("products")][:4]
    changed = {}
    products_requests = []

    def mutate(simulator, info):
        if info["path"] == "/v1/products":
            products_requests.append(info["seq"])  # tables interleave: count this table's
        if info["path"] == "/v1/products" and len(products_requests) == 5 and not changed:
            # Rows already read move to the end; rows not yet read move too; new rows appear.
            changed["updated"] = simulator.store.update_rows("products", ids=early_ids)
            changed["more"] = simulator.store.update_rows("products", count=6)
            changed["inserted"] = simulator.store.insert_rows("products", 4)

    sim.add_request_hook(mutate)
    runner.run(configuration_for(sim, max_records_per_page=4))
    assert changed, "the hook never fired"
    assert_matches_truth(runner, sim)


def fail_collection_after(sim, collection: str, good_requests: int, kind: str = "500"):
    """From its ``good_requests + 1``-th request on, every request to ``collection`` fails.

    Tables are fetched concurrently, so request sequence numbers no longer say which table a
    request belongs to; this hook schedules the fault for the request being served instead.
    Returns a switch: call it to stop failing.
    """
    seen = {"count": 0, "on": True}

    def hook(simulator, info):
        if info["path"] == f"/v1/{collection}":
            seen["count"] += 1
            if seen["on"] and seen["count"] > good_requests:
                schedule = dict(simulator.config.fault_schedule)
                schedule[info["seq"]] = kind
                simulator.configure(fault_schedule=schedule)

    sim.add_request_hook(hook)
    return lambda: seen.update(on=False)


def test_a_sync_that_fails_midway_resumes_from_its_saved_link_without_loss(
    make_sim, runner, one_walk_per_stream
):
    sim = make_sim()
    stop_failing = fail_collection_after(sim, "products", good_requests=3)
    configuration = configuration_for(sim, max_records_per_page=5, retry_attempts=2)
    failed = runner.run(configuration, expect_failure=True)
    assert "500" in str(failed.error)
    saved = failed.state["streams"]
    [in_progress] = saved["products"]["walks"]
    assert in_progress["next_page"]["search_after"] and in_progress["position"]

    stop_failing()
    sim.configure(fault_schedule={})
    sim.reset_stats()
    resumed = runner.run(configuration)

    assert_matches_truth(runner, sim)
    # Each table continues from what it had checkpointed: a finished table only gets its
    # (cheap) incremental read, a table with a saved page cursor continues from it instead of
    # starting over, whatever the other tables were doing when products failed.
    for table in TABLES:
        walk = ((saved.get(table) or {}).get("walks") or [None])[0]
        first = api_requests(sim, table)[0]["query"]
        if table in saved and walk is None:
            assert first["updated_at"].startswith(">="), table
        elif walk and walk["next_page"]:
            assert first["search_after"] == walk["next_page"]["search_after"], table
    full_products_pages = math.ceil(len(sim.ground_truth("products")) / 5)
    assert len(api_requests(sim, "products")) < full_products_pages
    assert resumed.state["streams"]["products"]["walks"] == []


def test_failure_inside_a_tie_block_resumes_without_loss(make_sim, runner, one_walk_per_stream):
    sim = make_sim(tie_block_size=8)
    products = sorted(sim.ground_truth("products"), key=lambda r: (updated_at_of(r), r["id"]))
    tie_moment = max(
        {updated_at_of(r) for r in products},
        key=lambda moment: sum(updated_at_of(r) == moment for r in products),
    )
    first_tied = next(i for i, r in enumerate(products) if updated_at_of(r) == tie_moment)
    per_page = 3
    # The request for the page after the one that starts inside the tie block fails (the
    # first request of a sync asks who the token belongs to).
    failing_page = first_tied // per_page + 2  # 1-based page number within products
    sim.configure(fault_schedule={1 + failing_page: "503"})
    configuration = configuration_for(
        sim, max_records_per_page=per_page, retry_attempts=1, tables="products"
    )
    failed = runner.run(configuration, expect_failure=True)
    [walk] = failed.state["streams"]["products"]["walks"]
    assert datetime.fromisoformat(walk["position"]) == tie_moment

    sim.configure(fault_schedule={})
    runner.run(configuration)
    assert_matches_truth(runner, sim, tables=("products",))


@pytest.mark.parametrize("throttled_header", ["walk", "cap_page"])
def test_walk_cap_continues_and_splits_a_second_larger_than_the_cap(
    make_sim, runner, throttled_header
):
    sim = make_sim(walk_cap=5, tie_block_size=8, throttled_header=throttled_header)
    assert largest_tie(sim, "products") > 5
    result = runner.run(configuration_for(sim, max_records_per_page=2, tables="products"))

    assert_matches_truth(runner, sim, tables=("products",))
    queries = [entry["query"] for entry in api_requests(sim, "products")]
    filters = [query.get("updated_at", "") for query in queries if "search_after" not in query]
    assert any(f.startswith(">=") for f in filters), filters  # continuation after truncation
    equality = [q for q in queries if "id" in q and "search_after" not in q]
    assert equality, "more rows than the cap share one second: expected an id split"
    assert all(q["id"].startswith(">") and q["updated_at"][0].isdigit() for q in equality)
    assert any(f.startswith(">") and not f.startswith(">=") for f in filters)  # after the split
    assert result.state["streams"]["products"]["walks"] == []


# --- resumption edge cases --------------------------------------------------------------------


def _fail_in_products(make_sim, runner, **sim_options):
    sim = make_sim(fault_schedule={3: "500", 4: "500"}, **sim_options)
    configuration = configuration_for(
        sim, max_records_per_page=10, retry_attempts=2, tables="products"
    )
    failed = runner.run(configuration, expect_failure=True)
    [walk] = failed.state["streams"]["products"]["walks"]
    assert walk["next_page"]
    sim.configure(fault_schedule={})
    sim.reset_stats()
    return sim, configuration, failed.state


def test_refused_saved_cursor_falls_back_to_an_inclusive_restart(
    make_sim, runner, one_walk_per_stream
):
    sim, configuration, state = _fail_in_products(make_sim, runner)
    [walk] = state["streams"]["products"]["walks"]
    walk["next_page"] = {"search_after": "expired-cursor"}
    runner.write_state(state)

    runner.run(configuration)

    log = api_requests(sim, "products")
    assert log[0]["status"] == 400 and log[0]["query"]["search_after"] == "expired-cursor"
    assert log[1]["query"]["updated_at"] == ">=" + walk["position"]
    assert "search_after" not in log[1]["query"]
    assert_matches_truth(runner, sim, tables=("products",))


def test_a_resumed_walk_asks_with_todays_parameters_and_the_saved_cursor(
    make_sim, runner, one_walk_per_stream
):
    """The state keeps only the page cursor: a connector version with more columns resumes an
    interrupted walk with its own field list, so no row is upserted without the new columns."""
    sim, configuration, state = _fail_in_products(make_sim, runner)
    [walk] = state["streams"]["products"]["walks"]
    assert set(walk["next_page"]) == {"search_after"}  # no URL, no field list in the state
    runner.run(configuration)
    first, *_ = api_requests(sim, "products")
    assert first["query"]["search_after"] == walk["next_page"]["search_after"]
    fields = set(first["query"]["fields"].split(","))
    assert {"name", "brand", "service", "disabled", "updated_at"} <= fields
    assert first["query"]["sort"] == "updated_at,id" and first["query"]["per_page"] == "10"
    assert_matches_truth(runner, sim, tables=("products",))
