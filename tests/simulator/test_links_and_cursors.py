"""Link URLs on a twin host, per_page in links, and cursors shaped like the captured ones."""

import base64
import json
from urllib.parse import urlsplit

import pytest
from testkit import Api, make_config

from simulator import Simulator


def follow_by_path(api, url):
    """What a client must do with a link on another host: keep its own host, take the rest."""
    parts = urlsplit(url)
    return api.get(f"{api.sim.base_url}{parts.path}?{parts.query}")


def walk_by_path(api, path, params):
    response = api.get(path, params)
    rows, urls = [], []
    while True:
        assert response.status_code == 200, response.text
        rows.extend(response.json())
        if "next" not in response.links:
            return rows, urls
        urls.append(response.links["next"]["url"])
        response = follow_by_path(api, urls[-1])


def decoded(cursor):
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    return json.loads(raw)


@pytest.mark.parametrize("host", ["api.4me.qa", "http://twin.example:8443/"])
def test_links_name_the_twin_host_and_work_by_path(host):
    with Simulator(make_config(link_host=host)) as sim:
        api = Api(sim)
        rows, urls = walk_by_path(api, "/organizations", {"per_page": 7, "sort": "updated_at"})
        prefix = "https://api.4me.qa/v1/" if "://" not in host else "http://twin.example:8443/v1/"
        assert urls and all(url.startswith(prefix + "organizations?") for url in urls)
        truth = [row["id"] for row in sim.ground_truth("organizations")]
        assert sorted(row["id"] for row in rows) == truth
        second = follow_by_path(api, urls[0])
        assert all(link["url"].startswith(prefix) for link in second.links.values())
        assert set(second.links) == {"first", "prev", "next"}


def test_following_a_twin_host_link_as_is_fails(sim):
    """The twin host is not this server: a client that follows the URL verbatim never gets
    the second page from the simulator (guards against a silently ignored switch)."""
    sim.configure(link_host="api.4me.qa")
    url = Api(sim).get("/products", {"per_page": 5}).links["next"]["url"]
    assert not url.startswith(sim.base_url)


def test_per_page_in_links_is_echoed_as_requested(api, sim):
    """The SDK-NET-X trace: ?per_page=20 requested, next link ?per_page=20&search_after=..."""
    assert "per_page=20&" in api.get("/products", {"per_page": 20}).links["next"]["url"]
    assert "per_page" not in api.get("/products").links["next"]["url"]
    sim.configure(link_per_page="omit_default")
    assert "per_page" not in api.get("/products", {"per_page": 20}).links["next"]["url"]
    assert "per_page=7" in api.get("/products", {"per_page": 7}).links["next"]["url"]
    rows, _ = api.walk("/products", {"per_page": 20})
    assert len(rows) == len(sim.ground_truth("products"))


def test_cursor_offsets_and_binary_string_keys(api, sim):
    """Captured: end cursor of a first page of 20 has offset 19; name sorts carry a binary
    collation key, never the readable name."""
    response = api.get("/products", {"sort": "name"})
    names = [row["name"] for row in response.json()]
    start = decoded(response.headers["X-Pagination-Start-Cursor"])
    end = decoded(response.headers["X-Pagination-End-Cursor"])
    assert start["offset"] == 0 and end["offset"] == 19
    key, last_id = end["cursor"]
    assert last_id == response.json()[-1]["id"]
    assert key.endswith("\x00\x01") and names[-1] not in key
    assert not any(word in key for word in names[-1].split())
    link_cursor = response.links["next"]["url"].split("search_after=")[1]
    assert "%3D" in link_cursor or "=" not in link_cursor  # padding URL-encoded, as captured


def test_forged_damaged_and_foreign_cursors_are_400(api):
    page = api.get("/products", {"sort": "name", "per_page": 5})
    end = page.headers["X-Pagination-End-Cursor"]
    forged = base64.urlsafe_b64encode(
        json.dumps({"offset": 4, "cursor": [page.json()[-1]["name"], 1]}).encode()
    ).decode()
    assert api.get("/products", {"sort": "name", "search_after": forged}).status_code == 400
    damaged = end[:20] + ("A" if end[20] != "A" else "B") + end[21:]
    response = api.get("/products", {"sort": "name", "search_after": damaged})
    assert response.status_code == 400
    assert response.json() == {"message": "Parameter 'search_after' is invalid"}
    foreign = api.get("/products", {"sort": "updated_at,id"}).headers["X-Pagination-End-Cursor"]
    assert api.get("/products", {"sort": "name", "search_after": foreign}).status_code == 400
    assert api.get("/products", {"sort": "name", "search_after": end}).status_code == 200


def test_name_sorted_walk_under_mutation_is_complete(api, sim):
    """Binary string keys still page against current data: every row whose name did not
    change during the walk is served exactly once, renamed rows at most twice."""
    start_ids = {row["id"] for row in sim.ground_truth("products")}
    renamed = set()

    def mutate(simulator, info):
        if info["seq"] > 1:
            changes = {"name": f"Renamed {info['seq']}"}
            renamed.update(simulator.update_rows("products", count=3, changes=changes))
            simulator.insert_rows("products", 1)

    sim.add_request_hook(mutate)
    rows, responses = api.walk("/products", {"per_page": 9, "sort": "-name"})
    seen = [row["id"] for row in rows]
    assert len(responses) > 5 and renamed
    assert start_ids - renamed <= set(seen)
    assert all(seen.count(row_id) == 1 for row_id in set(seen) - renamed)


@pytest.mark.parametrize("sort", ["name", "updated_at,id", "-service,name"])
def test_opaque_cursor_format(sort):
    with Simulator(make_config(cursor_format="opaque")) as sim:
        api = Api(sim)
        response = api.get("/products", {"per_page": 7, "sort": sort})
        cursor = response.headers["X-Pagination-End-Cursor"]
        with pytest.raises(ValueError):
            decoded(cursor)
        rows, _ = api.walk("/products", {"per_page": 7, "sort": sort})
        assert sorted(row["id"] for row in rows) == [r["id"] for r in sim.ground_truth("products")]
        sim.configure(cursor_format="capture")
        assert api.get("/products", {"sort": sort, "search_after": cursor}).status_code == 400
