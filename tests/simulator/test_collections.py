"""Record shape, default fields, field selection, the disabled rule, timestamps, sorting and
the names references show."""

import re
from datetime import datetime

import pytest
from testkit import make_config

from simulator import Simulator
from simulator.schema import SPECS

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")
#: Returned without being selected: nodeID always, account when another account owns it.
IMPLICIT = {"nodeID", "account"}


def utc(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize("collection", ["organizations", "products", "projects"])
def test_default_collection_fields(api, collection):
    spec = SPECS[collection]
    for row in api.get(f"/{collection}", {"per_page": 100}).json():
        extra = set(row) - set(spec.default_fields)
        assert extra <= {"disabled"} | IMPLICIT
        assert set(spec.default_fields) | {"nodeID"} <= set(row)
        if "disabled" in row:
            assert row["disabled"] is True


@pytest.mark.parametrize("collection", ["organizations", "products"])
def test_disabled_only_when_true_or_selected(api, sim, collection):
    truth = {row["id"]: row for row in sim.ground_truth(collection)}
    assert any(row["disabled"] for row in truth.values())
    for row in api.get(f"/{collection}", {"per_page": 100, "fields": "name"}).json():
        assert ("disabled" in row) == truth[row["id"]]["disabled"]
    for row in api.get(f"/{collection}", {"per_page": 100, "fields": "name,disabled"}).json():
        assert row["disabled"] == truth[row["id"]]["disabled"]


def test_field_selection_and_errors(api):
    rows = api.get("/products", {"fields": "brand,salvage_value"}).json()
    assert all(
        set(row) - {"disabled", "account"} == {"id", "nodeID", "brand", "salvage_value"}
        for row in rows
    )
    unknown = api.get("/products", {"fields": "brand,bogus"})
    assert unknown.status_code == 400 and unknown.json() == {"message": "Unknown fields: bogus"}
    note = api.get("/projects", {"fields": "note"})
    assert note.status_code == 400 and "note" in note.json()["message"]


def test_ground_truth_has_every_documented_field(sim):
    for collection in ("organizations", "products", "projects"):
        spec = SPECS[collection]
        for row in sim.ground_truth(collection):
            assert set(spec.selectable()) - {"recurrence"} <= set(row)


def test_realistic_values(sim):
    products = sim.ground_truth("products")
    org_ids = {row["id"] for row in sim.ground_truth("organizations")}
    suppliers = [row["supplier"] for row in products if row["supplier"]]
    assert any(ref["id"] in org_ids for ref in suppliers)
    assert any("/" in row["category"] for row in products)
    assert all(isinstance(row["salvage_value"], (str, type(None))) for row in products)
    assert any(row["service"] and "provider" in row["service"] for row in products)
    projects = sim.ground_truth("projects")
    assert {row["status"] for row in projects} <= {
        "registered",
        "in_progress",
        "progress_halted",
        "completed",
    }
    assert all(row["value"] is None or row["value"].endswith(".0") for row in projects)


def test_timestamps_are_iso_with_varying_offsets(sim):
    offsets = set()
    for collection in ("organizations", "products", "projects"):
        for row in sim.ground_truth(collection):
            for name in ("created_at", "updated_at"):
                assert ISO.match(row[name]), row[name]
                offsets.add(row[name][19:])
            assert utc(row["updated_at"]) >= utc(row["created_at"])
    assert "Z" in offsets and len(offsets) >= 4  # DST makes New York/Chicago/Amsterdam vary


def test_references_to_disabled_orgs_carry_flag(api, sim):
    org = sim.ground_truth("organizations")[0]
    sim.set_disabled("organizations", org["id"], True)
    children = [
        row
        for row in sim.ground_truth("organizations")
        if (row["parent"] or {}).get("id") == org["id"]
    ]
    for child in children:
        assert child["parent"]["disabled"] is True
    fetched = api.get(f"/organizations/{org['id']}").json()
    assert fetched["disabled"] is True


def test_default_orders(api, sim):
    orgs = api.get("/organizations", {"per_page": 100}).json()
    assert [r["name"] for r in orgs] == sorted(r["name"] for r in orgs)
    projects = api.get("/projects", {"per_page": 100}).json()
    assert [r["id"] for r in projects] == sorted((r["id"] for r in projects), reverse=True)


def test_explicit_sort_multi_key_and_descending(api):
    rows = api.get("/products", {"per_page": 100, "sort": "-updated_at,id"}).json()
    keys = [(-utc(r["updated_at"]).timestamp(), r["id"]) for r in rows]
    assert keys == sorted(keys)


def test_unsortable_field_is_400(api):
    response = api.get("/products", {"sort": "brand"})
    assert response.status_code == 400
    assert response.json() == {"message": "Sorting not allowed on fields: brand"}


def test_me_and_root(api, sim):
    assert api.get("").json() == {}
    me = api.get("/me").json()
    assert me["account"] == {"id": "A", "name": sim.config.account_name}
    assert api.get("/nothing_here").status_code == 404
    assert api.get("/nothing_here").json() == {"message": "Not Found"}


def test_predefined_filters(api, sim):
    disabled = api.get("/products/disabled", {"per_page": 100}).json()
    truth = [row["id"] for row in sim.ground_truth("products") if row["disabled"]]
    assert sorted(row["id"] for row in disabled) == truth
    enabled = api.get("/products", {"per_page": 100, "state": "enabled"}).json()
    assert not any(row.get("disabled") for row in enabled)


def test_an_organization_inserted_later_never_renames_a_records_references():
    # Without organizations the services get a placeholder provider; the first organization
    # inserted later must not take its id, or every product's provider name would change
    # without the product's updated_at: a change no incremental reader could see.
    with Simulator(make_config(organizations=0)) as simulator:
        before = simulator.ground_truth("products")
        simulator.insert_rows("organizations", 3)
        assert simulator.ground_truth("products") == before
