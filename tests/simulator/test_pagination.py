"""Cursor pagination: completeness, links, headers, limits, mutation during a walk, the cap."""

import base64
import json
from datetime import datetime

import pytest
from testkit import Api, make_config

from simulator import Simulator


@pytest.mark.parametrize("collection", ["organizations", "products", "projects"])
def test_walk_is_complete_and_duplicate_free(api, sim, collection):
    params = {"per_page": 7}
    if collection != "projects":
        params["fields"] = "disabled"  # projects have no disabled field
    rows, responses = api.walk(f"/{collection}", params)
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == [row["id"] for row in sim.ground_truth(collection)]
    assert "next" not in responses[-1].links
    assert len(responses[-1].json()) > 0  # no empty trailing page


def test_walk_sorted_by_updated_at_equals_ground_truth(api, sim):
    rows, _ = api.walk("/products", {"per_page": 7, "sort": "updated_at,id"})
    truth = {row["id"]: row for row in sim.ground_truth("products")}
    assert sorted(row["id"] for row in rows) == sorted(truth)
    keys = [(truth[row["id"]]["updated_at"], row["id"]) for row in rows]
    assert len(keys) == len(truth)


def test_default_page_size_and_headers(api):
    response = api.get("/products")
    assert len(response.json()) == 20
    headers = response.headers
    assert headers["X-Pagination-Per-Page"] == "20"
    assert headers["X-Pagination-Current-Page"] == "1"
    assert headers["X-Pagination-Total-Entries"] == "60"
    assert headers["X-Pagination-Total-Pages"] == "3"
    assert "X-Pagination-Start-Cursor" in headers and "X-Pagination-End-Cursor" in headers
    assert set(response.links) == {"next"}


def test_next_link_is_absolute_and_keeps_params(api, sim):
    response = api.get("/organizations", {"per_page": 5, "sort": "-id", "id": ">1"})
    url = response.links["next"]["url"]
    assert url.startswith(sim.api_url + "/organizations?")
    assert "per_page=5" in url and "sort=-id" in url and "id=%3E1" in url
    cursor = url.split("search_after=")[1].replace("%3D", "=")
    decoded = json.loads(base64.urlsafe_b64decode(cursor))
    # Captured cursors: offset is the index of the row the cursor points at (19 on a page of
    # 20), and an id sort holds the plain id.
    assert decoded == {"offset": 4, "cursor": [response.json()[-1]["id"]]}
    second = api.get(url)
    assert second.headers["X-Pagination-Current-Page"] == "2"
    assert set(second.links) == {"first", "prev", "next"}
    prev = api.get(second.links["prev"]["url"])
    assert [r["id"] for r in prev.json()] == [r["id"] for r in response.json()]


def test_per_page_limits(api, sim):
    assert api.get("/products", {"per_page": 100}).status_code == 200
    too_many = api.get("/products", {"per_page": 101})
    assert too_many.status_code == 400
    assert too_many.json() == {"message": "Parameter 'per_page' cannot be more than 100"}
    too_few = api.get("/products", {"per_page": 0})
    assert too_few.json() == {"message": "Parameter 'per_page' cannot be less than 1"}
    sim.configure(per_page_over_max="clamp")
    clamped = api.get("/products", {"per_page": 500})
    assert clamped.status_code == 200 and clamped.headers["X-Pagination-Per-Page"] == "100"


@pytest.mark.parametrize(
    "cursor", ["garbage!!", "eyJmb28iOjF9", base64.b64encode(b"[1]").decode()]
)
def test_garbage_cursor_is_400(api, cursor):
    response = api.get("/products", {"search_after": cursor})
    assert response.status_code == 400
    assert "search_after" in response.json()["message"]


def test_walk_stays_complete_under_mutation(api, sim):
    """Rows updated mid-walk reappear later when sorting by updated_at; nothing is missed."""
    start_ids = {row["id"] for row in sim.ground_truth("products")}
    updated_during_walk = set()
    inserted = set()

    def mutate(simulator, info):
        if info["seq"] > 1 and info["seq"] % 2 == 0:
            updated_during_walk.update(simulator.update_rows("products", count=4))
            inserted.update(simulator.insert_rows("products", 1))

    sim.add_request_hook(mutate)
    rows, _ = api.walk("/products", {"per_page": 7, "sort": "updated_at,id"})
    seen = [row["id"] for row in rows]
    assert start_ids <= set(seen)
    assert updated_during_walk <= set(seen)
    assert inserted <= set(seen)
    duplicates = {row_id for row_id in seen if seen.count(row_id) > 1}
    assert duplicates <= updated_during_walk


def test_mutator_switch_keeps_walk_complete():
    config = make_config(mutate_every=2, mutate_update_count=3, mutate_insert_count=1)
    with Simulator(config) as sim:
        start_ids = {row["id"] for row in sim.ground_truth("organizations")}
        rows, _ = Api(sim).walk("/organizations", {"per_page": 5, "sort": "updated_at,id"})
        assert start_ids <= {row["id"] for row in rows}
        assert len(sim.ground_truth("organizations")) > len(start_ids)


def test_tie_block_larger_than_page_is_walked_completely(api, sim):
    truth = sim.ground_truth("products")
    counts = {}
    for row in truth:
        instant = datetime.fromisoformat(row["updated_at"].replace("Z", "+00:00"))
        counts[instant] = counts.get(instant, 0) + 1
    _, tied = max(counts.items(), key=lambda item: item[1])
    assert tied > 7
    rows, responses = api.walk("/products", {"per_page": 7, "sort": "updated_at,id"})
    assert len(rows) == len(truth) and len(responses) > 1


@pytest.mark.parametrize(
    "mode,expected", [("walk", [True, True, True]), ("cap_page", [False, False, True])]
)
def test_walk_cap_throttles_and_stops(mode, expected):
    with Simulator(make_config(walk_cap=10, throttled_header=mode)) as sim:
        rows, responses = Api(sim).walk("/products", {"per_page": 4})
        assert [len(r.json()) for r in responses] == [4, 4, 2]
        assert "next" not in responses[-1].links
        flags = [r.headers.get("X-Pagination-Throttled") == "true" for r in responses]
        assert flags == expected
        assert len(rows) == 10


def test_no_throttle_header_when_under_cap(api):
    rows, responses = api.walk("/organizations", {"per_page": 100})
    assert all("X-Pagination-Throttled" not in r.headers for r in responses)
