"""Shapes of captured real responses: nodeID, owning account, reference shapes, key order.

Sources: the docs' field-selection and data-type pages, a 4me installation's Postman export
(GO-X api/openapi.yaml) and the SDK-NET-X trace log; see simulator/README.md.
"""

import base64
import http.client

import pytest
from testkit import Api, make_config

from simulator import Simulator
from simulator.schema import DATA_COLLECTIONS, SPECS

DIRECTORY = {"id": "widget-directory", "name": "Widget Directory"}
COLLECTIONS = ("organizations", "products", "projects")


def decode_node_id(value):
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()


def references(value):
    """Every reference (a dict with an id) nested anywhere in a record, the record excluded."""
    found = []
    items = value.values() if isinstance(value, dict) else value
    for item in items:
        if isinstance(item, dict):
            if "id" in item and "name" in item:
                found.append(item)
            found.extend(references(item))
    return found


def all_fields(collection):
    return ",".join(SPECS[collection].selectable())


@pytest.mark.parametrize("collection", DATA_COLLECTIONS)
def test_every_record_and_reference_carries_node_id(api, sim, collection):
    record_type = SPECS[collection].record_type
    for params in ({"per_page": 100}, {"per_page": 100, "fields": all_fields(collection)}):
        rows = api.get(f"/{collection}", params).json()
        for row in rows:
            assert decode_node_id(row["nodeID"]) == f"4me.com/{record_type}/{row['id']}"
            for reference in references(row):
                if reference.get("id") in (DIRECTORY["id"], "widget-dc"):
                    continue  # account references are {id, name} only
                assert "nodeID" in reference, reference
    single = api.get(f"/{collection}/{rows[0]['id']}").json()
    assert list(single)[-1] == "nodeID"


def test_node_id_format_follows_the_domain_switch():
    with Simulator(make_config(node_id_domain="4me-qa.mos.ru")) as sim:
        row = Api(sim).get("/projects", {"per_page": 1}).json()[0]
        assert decode_node_id(row["nodeID"]) == f"4me-qa.mos.ru/Project/{row['id']}"
        assert "=" not in row["nodeID"]  # unpadded, like NG1lLmNvbS9QZXJzb24vMTI


def test_node_id_and_account_are_not_selectable_by_default(api, sim):
    response = api.get("/products", {"fields": "name,nodeID"})
    assert response.status_code == 400
    assert response.json() == {"message": "Unknown fields: nodeID"}
    response = api.get("/organizations", {"fields": "account,nodeID"})
    assert response.json() == {"message": "Unknown fields: account, nodeID"}
    sim.configure(implicit_field_selection="ignore")
    rows = api.get("/products", {"fields": "name,nodeID", "per_page": 100}).json()
    assert all(set(row) - {"disabled", "account"} == {"id", "name", "nodeID"} for row in rows)


def test_node_id_never_switch(api, sim):
    sim.configure(node_id="never")
    rows = api.get("/projects", {"per_page": 100, "fields": all_fields("projects")}).json()
    assert not any("nodeID" in row for row in rows)
    assert not any("nodeID" in ref for row in rows for ref in references(row))
    assert "nodeID" not in api.get("/me").json()


def test_owning_account_on_a_share_of_organizations_and_products():
    with Simulator(make_config(scale="small")) as sim:
        api = Api(sim)
        for collection in ("organizations", "products"):
            truth = sim.ground_truth(collection)
            owned = [row for row in truth if "account" in row]
            assert 0.22 < len(owned) / len(truth) < 0.38
            assert all(row["account"] == DIRECTORY for row in owned)
            for row in truth[:200]:
                expected = row["account"]["id"] if "account" in row else "A"
                assert sim.account_of(collection, row["id"]) == expected
            # also when fields= is given, and on the single record
            served = api.get(f"/{collection}", {"per_page": 100, "fields": "name"}).json()
            by_id = {row["id"]: row for row in truth}
            for row in served:
                assert row.get("account") == by_id[row["id"]].get("account")
            assert api.get(f"/{collection}/{owned[0]['id']}").json()["account"] == DIRECTORY
        assert not any("account" in row for row in sim.ground_truth("projects"))


def test_owning_account_is_deterministic_per_seed_and_switchable():
    def owned(**overrides):
        sim = Simulator(make_config(**overrides))
        return [row["id"] for row in sim.ground_truth("organizations") if "account" in row]

    assert owned() == owned()
    assert owned() != owned(seed=2)
    assert owned(directory_share=0) == []
    sim = Simulator(make_config(directory_account="dir", directory_account_name="Dir"))
    accounts = [row.get("account") for row in sim.ground_truth("products")]
    assert {"id": "dir", "name": "Dir"} in accounts


def test_references_to_directory_records_carry_the_account(sim):
    orgs = {row["id"]: row for row in sim.ground_truth("organizations")}
    parents = [row["parent"] for row in orgs.values() if row["parent"]]
    assert parents
    for parent in parents:
        assert parent.get("account") == orgs[parent["id"]].get("account")
    projects = sim.ground_truth("projects")
    customers = [row["customer"] for row in projects if row["customer"]]
    assert any("account" in ref for ref in customers)
    managers = [row["manager"] for row in projects if row["manager"]]
    assert any(ref.get("account") == DIRECTORY for ref in managers)
    assert any("account" not in ref for ref in managers)
    providers = [row["service"]["provider"] for row in projects if row["service"]]
    assert any("account" in ref for ref in providers)


def test_directory_and_support_domain_predefined_filters(api, sim):
    truth = sim.ground_truth("organizations")
    directory = api.get("/organizations/directory", {"per_page": 100}).json()
    own = api.get("/organizations", {"per_page": 100, "state": "support_domain"}).json()
    assert sorted(row["id"] for row in directory) == [r["id"] for r in truth if "account" in r]
    assert sorted(row["id"] for row in own) == [r["id"] for r in truth if "account" not in r]


def test_service_and_ui_extension_references(sim):
    services = [row["service"] for row in sim.ground_truth("products") if row["service"]]
    services += [row["service"] for row in sim.ground_truth("projects") if row["service"]]
    assert all(ref["localized_name"] == ref["name"] for ref in services)
    assert any(ref.get("disabled") is True for ref in services)
    assert all(ref.get("disabled", True) is True for ref in services)  # only when true
    first = next(ref for ref in services if ref.get("disabled"))
    assert list(first) == ["id", "name", "disabled", "localized_name", "nodeID", "provider"]
    extensions = [
        row["ui_extension"]
        for collection in COLLECTIONS
        for row in sim.ground_truth(collection)
        if row["ui_extension"]
    ]
    assert extensions
    for ref in extensions:
        assert set(ref) == {"id", "name", "category", "title", "localized_title", "nodeID"}
        assert ref["name"] != ref["title"]


def test_product_nulls_and_lower_case_currencies():
    with Simulator(make_config(scale="small")) as sim:
        products = sim.ground_truth("products")
        for name in ("model", "productID", "brand"):
            assert any(row[name] is None for row in products), name
        currencies = {row["salvage_value_currency"] for row in products} - {None}
        currencies |= {row["value_currency"] for row in sim.ground_truth("projects")} - {None}
        assert currencies and all(code == code.lower() for code in currencies)
        assert "usd" in currencies


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_single_records_come_in_alphabetical_key_order(api, sim, collection):
    for row in sim.ground_truth(collection)[:5]:
        keys = list(api.get(f"/{collection}/{row['id']}").json())
        assert keys[-1] == "nodeID" and keys[:-1] == sorted(keys[:-1])


def raw_headers(sim, path):
    connection = http.client.HTTPConnection(sim.config.host, sim.port, timeout=10)
    try:
        connection.request(
            "GET", path, headers={"Authorization": "Bearer T", "X-4me-Account": "A"}
        )
        response = connection.getresponse()
        response.read()
        return [name for name, _ in response.getheaders()], response.status
    finally:
        connection.close()


def test_header_names_are_mixed_case_as_captured():
    with Simulator(make_config(rate_limit=True, burst_limit=1)) as sim:
        names, status = raw_headers(sim, "/v1/products?per_page=5")
        assert status == 200
        for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
            assert name in names
        for name in ("X-Pagination-Per-Page", "X-Pagination-Total-Entries", "Link"):
            assert name in names
        names, status = raw_headers(sim, "/v1/products")
        assert status == 429 and "Retry-After" in names and "X-RateLimit-Reset" in names
