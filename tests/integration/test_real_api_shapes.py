"""What real Xurrent servers answer, beyond the tidy documented case, end to end through the
SDK runner against the simulator with the matching switch on:

* next links on a twin host (the 4me rename: a server at api.xurrent.qa links to api.4me.qa);
* records owned by a directory account (a top-level ``account`` reference);
* ``per_page`` left out of next links at its default, opaque binary cursors;
* a server that does not know some fields (a 2022 product has no ``workflow_template``).
"""

from __future__ import annotations

import math

from testkit import api_requests, assert_matches_truth, configuration_for, sized

TABLES = ("organizations", "products", "projects")


def test_next_links_on_a_twin_host_are_followed_against_the_configured_api(
    make_sim, runner, one_walk_per_stream
):
    sim = make_sim(link_host="api.4me.qa", scale="small", **sized("small", 0.4))
    runner.run(configuration_for(sim))
    assert_matches_truth(runner, sim)
    # Every request went to the simulator (api.4me.qa does not even resolve here), with the
    # cursor of the twin-host link.
    products = api_requests(sim, "products")
    pages = math.ceil(len(sim.ground_truth("products")) / 100)
    assert len(products) == pages and all("search_after" in e["query"] for e in products[1:])


def test_every_row_carries_the_account_that_owns_it(make_sim, runner):
    sim = make_sim(directory_share=0.5)
    runner.run(configuration_for(sim))
    assert_matches_truth(runner, sim)
    for table in ("organizations", "products"):
        accounts = {row["account_id"] for row in runner.rows(table)}
        assert accounts == {"widget", "widget-directory"}, table
    customers = {row["customer_account_id"] for row in runner.rows("projects")}
    assert "widget-directory" in customers


def test_fields_a_server_does_not_know_are_left_out_with_one_warning(make_sim, runner):
    unknown = {"workflow_template", "workflow_manager", "recurrence"}
    sim = make_sim(unknown_fields=frozenset(f"products.{field}" for field in unknown))
    first = runner.run(configuration_for(sim))
    assert_matches_truth(runner, sim)  # the ground truth leaves those fields out too
    products = api_requests(sim, "products")
    assert [entry["status"] for entry in products] == [400, 200]
    assert unknown <= set(products[0]["query"]["fields"].split(","))
    assert not unknown & set(products[1]["query"]["fields"].split(","))
    warnings = [line for line in first.output.splitlines() if "does not know the field" in line]
    assert len(warnings) == 1
    assert "recurrence, workflow_manager, workflow_template" in warnings[0]
    rows = runner.rows("products")
    assert {row["workflow_template_id"] for row in rows} == {None}
    assert {row["recurrence"] for row in rows} == {None}
    health = {row["table_name"]: row for row in runner.rows("sync_health")}
    assert health["products"]["status"] == "succeeded"
    assert health["products"]["failed_requests"] == "1"  # the refused field list (as text)
    # Each sync asks again: the server may have learned them.
    sim.reset_stats()
    runner.run(configuration_for(sim))
    assert api_requests(sim, "products")[0]["status"] == 400


def test_every_captured_shape_at_once_lands_every_value(make_sim, runner):
    sim = make_sim(
        scale="small",
        **sized("small", 0.4),
        link_host="api.4me.qa",
        link_per_page="omit_default",
        cursor_format="opaque",
        directory_share=0.3,
        unknown_fields=frozenset({"products.workflow_template", "products.recurrence"}),
    )
    configuration = configuration_for(sim, max_records_per_page=20)  # the API's default
    runner.run(configuration)
    assert_matches_truth(runner, sim)
    pages = [entry for entry in api_requests(sim) if entry["path"] != "/v1/me"]
    assert all(entry["query"].get("per_page") == "20" for entry in pages)
    # An incremental sync on top, after changes, still lands every value.
    sim.update_rows("products", count=30)
    sim.insert_rows("organizations", 5)
    runner.run(configuration)
    assert_matches_truth(runner, sim)
