"""Every table through the SDK's runner against the simulator over HTTP: the nine tables of
people, teams, sites, services, service instances, configuration items, contracts, project
tasks and time entries as the first three, with their lifecycle, the tables the API refuses,
and the columns a user leaves out."""

from __future__ import annotations

import pytest
from testkit import (
    ALL_TABLES,
    TOKEN,
    api_requests,
    assert_matches_truth,
    collection_of,
    configuration_for,
    table_columns,
)

#: The tables whose records go to the archive and the trash, by their collection.
BIN_TABLES = {
    "people": "people",
    "configuration_items": "cis",
    "project_tasks": "project_tasks",
    "time_entries": "time_entries",
}
NEW_TABLES = ALL_TABLES[3:]


def every_table(sim, **overrides) -> dict:
    return configuration_for(sim, tables=",".join(ALL_TABLES), **overrides)


def health_of_last_sync(runner) -> dict[str, dict]:
    rows = runner.rows("sync_health")
    last = max(row["sync_started_at"] for row in rows)
    return {row["table_name"]: row for row in rows if row["sync_started_at"] == last}


def deleted_ids(runner, table: str) -> dict[int, dict]:
    return {int(r["id"]): r for r in runner.rows(table) if r["_fivetran_deleted"] == "true"}


def test_every_table_lands_every_value_and_then_only_what_changed(make_sim, runner):
    sim = make_sim()
    assert any(entry["deleted"] for entry in sim.ground_truth("time_entries"))
    runner.run(every_table(sim))
    assert_matches_truth(runner, sim, tables=ALL_TABLES)

    sim.reset_stats()
    changed = {table: sim.update_rows(collection_of(table), count=3) for table in NEW_TABLES}
    sim.insert_rows("people", 2)
    live = next(e["id"] for e in sim.ground_truth("time_entries") if not e["deleted"])
    sim.set_deleted("time_entries", live)
    second = runner.run(every_table(sim))
    assert_matches_truth(runner, sim, tables=ALL_TABLES)
    assert live in deleted_ids(runner, "time_entries")
    # A quiet table costs one request; the few changed rows fit on it.
    per_table = {table: len(api_requests(sim, collection_of(table))) for table in ALL_TABLES}
    assert per_table == {table: 1 for table in ALL_TABLES}
    assert second.counts["Upserts"] >= sum(len(ids) for ids in changed.values()) + 2


def test_a_crash_under_faults_and_real_limits_resumes_without_loss(make_sim, runner):
    """The burst limit on, a 503 and a 429 on the way, then a failure that ends the sync:
    the next sync resumes every table from its last page and the warehouse equals the API."""
    sim = make_sim(rate_limit=True, hourly_limit=None, fault_retry_after=0.2)
    sim.configure(fault_schedule={3: "503", 9: "429", 16: "500", 17: "500"})
    configuration = every_table(sim, max_records_per_page=50, retry_attempts=2)
    first = runner.run(configuration, expect_failure=True)
    assert "failed after 2 attempts" in str(first.error)
    assert any(stream["walks"] for stream in first.state["streams"].values())
    sim.insert_rows("project_tasks", 3)
    runner.run(configuration)
    assert_matches_truth(runner, sim, tables=ALL_TABLES)


def test_archived_and_trashed_records_of_every_type_are_deleted_and_come_back_restored(
    make_sim, runner
):
    sim = make_sim()
    configuration = configuration_for(sim, tables=",".join(BIN_TABLES))
    runner.run(configuration)
    moved = {}
    for number, (table, collection) in enumerate(BIN_TABLES.items()):
        record_id = sim.ground_truth(collection)[1]["id"]
        if collection == "people":
            sim.set_disabled(collection, record_id, True)  # Xurrent archives disabled people only
        if number % 2:
            sim.trash_record(collection, record_id)
        else:
            sim.archive_record(collection, record_id)
        moved[table] = (collection, record_id, "trashed_at" if number % 2 else "archived_at")
    runner.run(configuration)
    for table, (_, record_id, column) in moved.items():
        row = deleted_ids(runner, table)[record_id]
        other = "archived_at" if column == "trashed_at" else "trashed_at"
        assert row[column] is not None and row[other] is None, (table, row)
    # Records already in the bins at the first sync were never listed: no rows at all.
    for table, collection in BIN_TABLES.items():
        bins = set(sim.archived_ids(collection)) | set(sim.trashed_ids(collection))
        synced = {int(row["id"]) for row in runner.rows(table)}
        assert bins & synced == {moved[table][1]}, table

    for collection, record_id, _ in moved.values():
        sim.restore_record(collection, record_id)
    runner.run(configuration)
    for table, (_, record_id, _) in moved.items():
        assert record_id not in deleted_ids(runner, table), table
    assert_matches_truth(runner, sim, tables=BIN_TABLES)


def test_a_refused_and_a_missing_table_are_skipped_while_every_other_table_lands(make_sim, runner):
    sim = make_sim(missing_collections={"sites"})
    scoped = "tok-NoTeAmS-4c2e8a6b1d3f"
    sim.add_token(scoped, scopes={*(collection_of(t) for t in ALL_TABLES), "me"} - {"teams"})
    tables = ("organizations", "people", "teams", "sites", "services")
    result = runner.run(configuration_for(sim, oauth_token=scoped, tables=",".join(tables)))
    health = health_of_last_sync(runner)
    assert health["teams"]["status"] == "skipped" and "HTTP 403" in health["teams"]["error"]
    assert health["sites"]["status"] == "skipped" and "HTTP 404" in health["sites"]["error"]
    assert "Xurrent table teams skipped: HTTP 403 on /teams" in result.output
    assert "Xurrent table sites skipped: HTTP 404 on /sites" in result.output
    others = [table for table in tables if table not in ("teams", "sites")]
    assert {health[table]["status"] for table in others} == {"succeeded"}
    assert_matches_truth(runner, sim, tables=others)
    assert runner.rows("teams") == [] and runner.rows("sites") == []
    assert scoped not in result.output and TOKEN not in result.output


def test_a_sync_that_can_read_none_of_its_tables_fails(make_sim, runner):
    sim = make_sim(missing_collections={"sites", "contracts"})
    result = runner.run(configuration_for(sim, tables="sites,contracts"), expect_failure=True)
    assert "None of the selected tables could be read" in str(result.error)
    assert {row["status"] for row in health_of_last_sync(runner).values()} == {"skipped"}


@pytest.mark.parametrize(
    "excluded, requested_field",
    [("people.primary_email,people.contacts", None), ("people.manager_name", "manager")],
)
def test_left_out_columns_are_not_requested_and_not_in_the_warehouse(
    make_sim, runner, excluded, requested_field
):
    sim = make_sim()
    runner.run(configuration_for(sim, tables="people", exclude_columns=excluded))
    fields = {request["query"]["fields"] for request in api_requests(sim, "people")}
    columns = table_columns(runner.project_dir, "people")
    for item in excluded.split(","):
        column = item.split(".")[1]
        assert column not in columns
        assert all(column not in field_list.split(",") for field_list in fields)
    if requested_field:  # a reference's id still needs it: its name arrives and is dropped
        assert all(requested_field in field_list.split(",") for field_list in fields)
        assert "manager_id" in columns
    assert len(runner.rows("people")) == len(sim.ground_truth("people"))
