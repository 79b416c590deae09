"""Fault injection: scheduled and random 5xx/429/timeout/drop/malformed/truncated, hooks, stats."""

import json
import time

import pytest
import requests
from testkit import Api, make_config

from simulator import SimConfig, Simulator, parse_fault_schedule


def test_schedule_formats_agree():
    text = parse_fault_schedule("3:503,4:timeout,7:drop")
    assert text == parse_fault_schedule({"3": "503", "4": "timeout", 7: "drop"})
    assert text == {3: "503", 4: "timeout", 7: "drop"}
    with pytest.raises(ValueError):
        parse_fault_schedule("3:teapot")


@pytest.mark.parametrize(
    "status,message",
    [
        (500, "Internal Server Error"),
        (502, "Bad Gateway"),
        (503, "Service Unavailable"),
        (504, "Gateway timeout"),
    ],
)
def test_scheduled_5xx(sim, api, status, message):
    sim.configure(fault_schedule={"2": str(status)})
    assert api.get("/products").status_code == 200
    failed = api.get("/products")
    assert failed.status_code == status and failed.json() == {"message": message}
    assert api.get("/products").status_code == 200
    assert sim.stats()["faults"] == {str(status): 1}


def test_scheduled_429(sim, api):
    sim.configure(fault_schedule="1:429")
    response = api.get("/products")
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    assert response.json()["message"] == "Too Many Requests"


def test_timeout_fault_outlasts_client_timeout(sim, api):
    sim.configure(fault_schedule={"1": "timeout"}, timeout_seconds=1.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.get("/products", timeout=0.3)
    assert api.get("/products").status_code == 200


def test_drop_closes_without_response(sim, api):
    sim.configure(fault_schedule="1:drop")
    with pytest.raises(requests.exceptions.ConnectionError):
        api.get("/products")
    assert api.get("/products").status_code == 200


def test_malformed_json(sim, api):
    sim.configure(fault_schedule="1:malformed")
    response = api.get("/products")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)


def test_truncated_body(sim, api):
    sim.configure(fault_schedule="1:truncated")
    with pytest.raises(requests.exceptions.RequestException):
        api.get("/products").json()
    assert api.get("/products").status_code == 200


def test_error_rate_is_deterministic_per_seed():
    def statuses():
        with Simulator(make_config(error_rate=0.5)) as sim:
            client = Api(sim)
            return [client.get("/organizations").status_code for _ in range(12)]

    first = statuses()
    assert first == statuses()
    assert set(first) & {500, 502, 503, 504} and 200 in first


def test_latency(sim, api):
    sim.configure(latency_ms=150)
    started = time.perf_counter()
    api.get("/organizations")
    assert time.perf_counter() - started >= 0.15


def test_request_hook_runs_before_request(sim, api):
    seen = []

    def hook(simulator, info):
        seen.append((info["seq"], info["path"]))
        if info["seq"] == 3:
            simulator.insert_rows("organizations", 1)

    sim.add_request_hook(hook)
    totals = [int(api.get("/organizations").headers["X-Pagination-Total-Entries"]) for _ in "abc"]
    assert totals == [25, 25, 26]
    assert seen == [(1, "/v1/organizations"), (2, "/v1/organizations"), (3, "/v1/organizations")]


def test_stats_log_and_stats_endpoint(sim, api):
    sim.configure(fault_schedule="2:503")
    api.get("/products", {"per_page": 5})
    api.get("/products")
    stats = sim.stats()
    assert stats["requests"] == 2 and stats["by_status"] == {"200": 1, "503": 1}
    assert stats["rows_served"] == 5 and stats["page_requests"] == {"products": 1}
    entry = sim.request_log[0]
    assert entry["method"] == "GET" and entry["query"] == {"per_page": "5"}
    assert entry["status"] == 200 and entry["fault"] is None and entry["duration_ms"] >= 0
    remote = requests.get(sim.base_url + "/_sim/stats", timeout=5).json()
    assert remote == sim.stats()
    sim.reset_stats()
    assert sim.stats()["requests"] == 0 and sim.request_log == []


def test_configure_rejects_unknown_switch(sim):
    with pytest.raises(AttributeError):
        sim.configure(no_such_switch=1)


def test_mutate_on_start_and_explicit_counts():
    anchor_config = make_config(anchor="2026-01-01T00:00:00Z", organizations=7, products=9)
    with Simulator(anchor_config) as sim:
        assert len(sim.ground_truth("organizations")) == 7
        assert len(sim.ground_truth("products")) == 9
    plain = Simulator(make_config())
    mutated = Simulator(make_config(mutate_on_start=3))
    changed = [
        a["id"]
        for a, b in zip(plain.ground_truth("products"), mutated.ground_truth("products"))
        if a != b
    ]
    assert len(changed) == 3


def test_same_seed_and_anchor_give_identical_data():
    first = Simulator(make_config(scale="small"))
    second = Simulator(make_config(scale="small"))
    assert first.ground_truth("products") == second.ground_truth("products")
    assert SimConfig().walk_cap == 100000
