"""Archive and trash for every archivable type: seeded entries, the actions over HTTP and
from Python, the records hidden from their collection, restore and erasure."""

import pytest
from testkit import Api, make_config

from simulator import Simulator
from simulator.schema import BIN_TYPES, SPECS

ARCHIVABLE = tuple(BIN_TYPES.values())  # projects, people, cis, project_tasks, time_entries
VERBS = {"archive": "archived", "trash": "trashed"}


def entries(sim, listing):
    rows, _ = Api(sim).walk(f"/{listing}", {"per_page": 100})
    return rows


def binnable_id(sim, collection):
    """A visible record that may go to the archive (people: a disabled one)."""
    record = sim.ground_truth(collection)[0]
    if collection == "people":
        sim.set_disabled("people", record["id"], True)
    return record["id"]


def visible_ids(sim, collection):
    return {row["id"] for row in sim.ground_truth(collection)}


@pytest.fixture(scope="module")
def seeded():
    """Enough projects that both bins hold some (their seeding is the first release's)."""
    with Simulator(make_config(projects=100)) as simulator:
        yield simulator


@pytest.mark.parametrize("listing", ["archive", "trash"])
def test_seeded_entries_of_every_type_and_some_to_skip(seeded, listing):
    sim, verb = seeded, VERBS[listing]
    served = entries(sim, listing)
    types = {entry[verb] for entry in served}
    assert set(BIN_TYPES) <= types and types - set(BIN_TYPES) <= {"request", "task"}
    assert types - set(BIN_TYPES)  # entries a client must read past
    for entry in served:
        kind = entry[verb]
        assert list(entry) == ["id", "created_at", f"{verb}_by", verb, kind]
        pointer = entry[kind]
        assert list(pointer) == ["id", "href", "display_name"]
        assert (
            pointer["href"] == f"{sim.api_url}/{BIN_TYPES.get(kind, kind + 's')}/{pointer['id']}"
        )
    for kind, collection in BIN_TYPES.items():
        binned = {entry[kind]["id"] for entry in served if entry[verb] == kind}
        ids = sim.archived_ids(collection) if listing == "archive" else sim.trashed_ids(collection)
        assert binned == set(ids)
        assert not binned & visible_ids(sim, collection)  # hidden from the collection
    people = sim.store.rows["people"]
    assert all(
        people[i]["disabled"] for i in sim.archived_ids("people") + sim.trashed_ids("people")
    )


@pytest.mark.parametrize("collection", ARCHIVABLE)
def test_archive_trash_restore_and_erase_over_http(api, sim, collection):
    row_id = binnable_id(sim, collection)
    archived = api.post(f"/{collection}/{row_id}/archive")
    assert archived.status_code == 200 and archived.json()["archived"] == "true"
    assert row_id in sim.archived_ids(collection)
    assert row_id not in visible_ids(sim, collection)
    assert api.get(f"/{collection}/{row_id}").status_code == 404
    walked, _ = api.walk(f"/{collection}", {"per_page": 100})
    assert row_id not in {row["id"] for row in walked}
    assert api.post(f"/{collection}/{row_id}/archive").status_code == 422

    assert api.post(f"/{collection}/{row_id}/trash").json()["trashed"] == "true"
    assert row_id in sim.trashed_ids(collection) and row_id not in sim.archived_ids(collection)
    kind = SPECS[collection].bin_type
    trash = [entry for entry in entries(sim, "trash") if entry["trashed"] == kind]
    assert row_id in {entry[kind]["id"] for entry in trash}

    restored = api.post(f"/{collection}/{row_id}/restore")
    assert restored.status_code == 200 and restored.json()["id"] == row_id
    assert row_id in visible_ids(sim, collection)
    assert api.post(f"/{collection}/{row_id}/restore").status_code == 422

    sim.trash_record(collection, row_id)
    sim.erase_record(collection, row_id)
    assert row_id not in sim.store.rows[collection] and row_id not in sim.trashed_ids(collection)
    assert api.post(f"/{collection}/{row_id}/restore").status_code == 404


@pytest.mark.parametrize("collection", ARCHIVABLE)
def test_restore_bumps_updated_at_for_incremental_readers(sim, collection):
    row_id = binnable_id(sim, collection)
    before = next(row for row in sim.ground_truth(collection) if row["id"] == row_id)
    sim.archive_record(collection, row_id, at=sim.anchor - 10)
    sim.restore_record(collection, row_id, at=sim.anchor + 3600)
    rows, _ = Api(sim).walk(
        f"/{collection}", {"sort": "updated_at,id", "updated_at": ">=2026-03-29T12:30:00Z"}
    )
    assert [row["id"] for row in rows] == [row_id]
    assert rows[0]["updated_at"] != before["updated_at"]


def test_people_must_be_disabled_and_other_collections_have_no_bins(api, sim):
    enabled = next(row["id"] for row in sim.ground_truth("people") if not row["disabled"])
    assert api.post(f"/people/{enabled}/archive").status_code == 422
    assert api.post(f"/people/{enabled}/trash").status_code == 422
    team = sim.ground_truth("teams")[0]["id"]
    assert api.post(f"/teams/{team}/archive").status_code == 404
    with pytest.raises(ValueError):
        sim.archive_record("teams", team)
    assert api.post("/cis/1/archive").status_code == 404  # no such CI


def test_erase_expired_records_by_type_and_the_project_wrapper(sim):
    ci, task = sim.ground_truth("cis")[0]["id"], sim.ground_truth("project_tasks")[0]["id"]
    project = sim.ground_truth("projects")[0]["id"]
    for collection, row_id in (("cis", ci), ("project_tasks", task), ("projects", project)):
        sim.trash_record(collection, row_id, at=1000)
    expired = {entry["trashed"] for entry in sim.store.rows["trash"].values()}
    erased = sim.erase_expired_records(trash_days=28, now=sim.anchor + 29 * 86400)
    assert ci in erased["ci"] and task in erased["project_task"] and project in erased["project"]
    assert set(erased) == expired  # everything in the trash was older than 29 days then
    assert sim.store.rows["trash"] == {}
    assert ci not in sim.store.rows["cis"]
    sim.trash_project(sim.ground_truth("projects")[0]["id"], at=1000)
    assert len(sim.erase_expired(trash_days=28)) == 1


def test_showing_archived_and_trashed_records_switch():
    with Simulator(make_config(hide_archived_and_trashed=False)) as sim:
        for collection in ARCHIVABLE:
            binned = set(sim.archived_ids(collection)) | set(sim.trashed_ids(collection))
            assert binned and binned <= visible_ids(sim, collection), collection
            row_id = min(binned)
            assert Api(sim).get(f"/{collection}/{row_id}").status_code == 200
        sim.configure(hide_archived_and_trashed=True)
        assert not set(sim.archived_ids("cis")) & visible_ids(sim, "cis")
