"""Switches and changes that apply to the newer collections: read scopes (403), an older
server without some collections (404), time entries' soft delete, the mutator's edits."""

import pytest
from testkit import Api, make_config

from simulator import SimConfig, Simulator
from simulator.cli import build_parser, config_from_args
from simulator.schema import DATA_COLLECTIONS

NOT_FOUND = {"message": "Not Found"}


def test_a_token_without_a_collections_scope_gets_403(sim):
    sim.add_token("people-only", scopes={"people"})
    client = Api(sim, token="people-only")
    assert client.get("/people").status_code == 200
    person = sim.ground_truth("people")[0]["id"]
    assert client.get(f"/people/{person}").status_code == 200
    for collection in DATA_COLLECTIONS:
        if collection != "people":
            response = client.get(f"/{collection}")
            assert response.status_code == 403 and response.json() == {"message": "Forbidden"}
    ci = sim.ground_truth("cis")[0]["id"]
    assert client.post(f"/cis/{ci}/archive").status_code == 403
    assert ci not in sim.archived_ids("cis")


def test_missing_collections_answer_404_like_an_older_server():
    with Simulator(make_config(missing_collections={"sites", "time_entries"})) as sim:
        api = Api(sim)
        site = min(sim.store.rows["sites"])
        entry = min(sim.store.rows["time_entries"])
        for path in ("/sites", f"/sites/{site}", "/sites/enabled", "/time_entries"):
            response = api.get(path)
            assert response.status_code == 404 and response.json() == NOT_FOUND, path
        assert api.post(f"/time_entries/{entry}/archive").status_code == 404
        assert sim.ground_truth("sites") == []
        assert api.get("/people", {"fields": "site"}).status_code == 200  # references stay
        sim.add_token("no-scopes", scopes=set())
        assert Api(sim, token="no-scopes").get("/sites").status_code == 404  # before 403
        sim.configure(missing_collections={"cis"})
        assert api.get("/sites").status_code == 200 and api.get("/cis").status_code == 404
    with pytest.raises(ValueError):
        SimConfig(missing_collections={"tickets"})


def test_cli_flags_for_counts_bins_and_missing_collections():
    argv = ["--people", "5", "--project-tasks", "7", "--missing-collections", "sites, cis"]
    argv += ["--show-archived-and-trashed"]
    config = config_from_args(build_parser().parse_args(argv))
    assert config.people == 5 and config.project_tasks == 7 and config.time_entries is None
    assert config.missing_collections == frozenset({"sites", "cis"})
    assert config.hide_archived_and_trashed is False
    assert config.counts()["people"] == 5


def test_set_deleted_soft_deletes_a_time_entry(api, sim):
    entry = next(row for row in sim.ground_truth("time_entries") if not row["deleted"])
    sim.set_deleted("time_entries", entry["id"], True, at=sim.anchor + 60)
    after = next(row for row in sim.ground_truth("time_entries") if row["id"] == entry["id"])
    assert after["deleted"] is True and after["updated_at"] != entry["updated_at"]
    deleted = api.get("/time_entries", {"deleted": "true", "per_page": 100}).json()
    assert entry["id"] in {row["id"] for row in deleted}
    kept = api.get("/time_entries", {"deleted": "false", "per_page": 100}).json()
    assert entry["id"] not in {row["id"] for row in kept}
    with pytest.raises(ValueError):
        sim.set_deleted("products", sim.ground_truth("products")[0]["id"])


def test_the_mutator_flips_deleted_on_time_entries():
    with Simulator(make_config(mutate_every=1, mutate_insert_count=0)) as sim:
        before = {row["id"]: row["deleted"] for row in sim.ground_truth("time_entries")}
        api = Api(sim)
        for _ in range(6):
            assert api.get("/time_entries").status_code == 200
        after = {row["id"]: row["deleted"] for row in sim.ground_truth("time_entries")}
        assert [row_id for row_id in before if before[row_id] != after[row_id]]
        assert sim.stats()["page_requests"] == {"time_entries": 6}


@pytest.mark.parametrize("collection", DATA_COLLECTIONS)
def test_the_default_edit_changes_a_field_and_updated_at(sim, collection):
    before = {row["id"]: row for row in sim.ground_truth(collection)}
    (row_id,) = sim.update_rows(collection, count=1, at=sim.anchor + 120)
    after = next(row for row in sim.ground_truth(collection) if row["id"] == row_id)
    changed = {key for key in after if after[key] != before[row_id].get(key)}
    assert "updated_at" in changed and changed - {"updated_at"}, collection


def test_faults_and_the_request_log_cover_the_new_collections(api, sim):
    sim.configure(fault_schedule={"1": "503"})
    assert api.get("/cis").status_code == 503
    assert api.get("/cis").status_code == 200
    log = [(entry["path"], entry["status"]) for entry in sim.request_log]
    assert log == [("/v1/cis", 503), ("/v1/cis", 200)]
    assert sim.stats()["page_requests"] == {"cis": 1}
