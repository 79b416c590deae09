"""Archive and trash: listings, actions over HTTP and from Python, erasure."""

import pytest


def listing_ids(api, path, **params):
    params.setdefault("per_page", 100)
    response = api.get(path, params)
    assert response.status_code == 200, response.text
    return response.json()


def test_seeded_bins_and_hidden_projects(api, sim):
    archived, trashed = sim.archived_ids(), sim.trashed_ids()
    visible = {row["id"] for row in sim.ground_truth("projects")}
    assert not (set(archived) | set(trashed)) & visible
    rows, _ = api.walk("/projects", {"per_page": 7})
    assert {row["id"] for row in rows} == visible


def test_archive_trash_restore_cycle(api, sim):
    project_id = sim.ground_truth("projects")[0]["id"]
    response = api.post(f"/projects/{project_id}/archive")
    assert response.status_code == 200 and response.json()["archived"] == "true"
    assert project_id in sim.archived_ids()
    entries = listing_ids(api, "/archive")
    entry = next(e for e in entries if e["project"]["id"] == project_id)
    assert set(entry) == {"id", "created_at", "archived_by", "archived", "project"}
    assert entry["archived"] == "project"
    assert entry["project"]["href"].endswith(f"/v1/projects/{project_id}")
    assert project_id not in {row["id"] for row in sim.ground_truth("projects")}

    assert api.post(f"/projects/{project_id}/trash").json()["trashed"] == "true"
    assert project_id in sim.trashed_ids() and project_id not in sim.archived_ids()
    trash = listing_ids(api, "/trash")
    assert any(e["project"]["id"] == project_id and e["trashed"] == "project" for e in trash)

    restored = api.post(f"/projects/{project_id}/restore").json()
    assert restored["id"] == project_id
    truth = {row["id"]: row for row in sim.ground_truth("projects")}
    assert project_id in truth
    assert api.post(f"/projects/{project_id}/restore").status_code == 422


def test_bin_listing_order_filters_and_paging(api, sim):
    for row in sim.ground_truth("projects")[:5]:
        sim.archive_project(row["id"], at=1700000000 + row["id"])
    entries = listing_ids(api, "/archive")
    keys = [e["created_at"] for e in entries]
    assert len(entries) >= 5
    first_id = entries[0]["id"]
    assert listing_ids(api, "/archive", id=str(first_id))[0]["id"] == first_id
    rows, _ = api.walk("/archive", {"per_page": 2, "sort": "id"})
    assert [r["id"] for r in rows] == sorted(e["id"] for e in entries)
    assert keys
    assert api.get("/archive", {"sort": "archived"}).status_code == 400
    assert api.get("/trash", {"updated_at": ">2020-01-01"}).status_code == 400


def test_erase_and_erase_expired(sim):
    project_id = sim.ground_truth("projects")[0]["id"]
    sim.trash_project(project_id)
    sim.erase_project(project_id)
    assert project_id not in sim.trashed_ids()
    assert project_id not in {row["id"] for row in sim.ground_truth("projects")}
    old = sim.ground_truth("projects")[0]["id"]
    sim.trash_project(old, at=1000)
    erased = sim.erase_expired(trash_days=28)
    assert old in erased and old not in sim.trashed_ids()
    assert all(pid not in sim.trashed_ids() for pid in erased)


def test_restore_bumps_updated_at(sim):
    row = sim.ground_truth("projects")[0]
    sim.archive_project(row["id"])
    sim.restore_project(row["id"], at=2000000000)
    restored = next(r for r in sim.ground_truth("projects") if r["id"] == row["id"])
    assert restored["updated_at"] != row["updated_at"]


def test_show_archived_switch(sim):
    archived = sim.archived_ids()
    if not archived:
        pytest.skip("no seeded archived projects")
    sim.configure(hide_archived_and_trashed=False)
    assert set(archived) <= {row["id"] for row in sim.ground_truth("projects")}
