"""Production operations: revoked tokens, disabled OAuth clients, long Retry-After, /v1/me."""

import math
import time

import requests
from testkit import Api, make_config

from simulator import Simulator


def grant(sim, client_id, secret):
    return requests.post(
        sim.token_url,
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        timeout=5,
    )


def test_revoking_a_personal_token_mid_run(sim):
    sim.add_token("t2")
    client = Api(sim, token="t2")
    assert client.get("/organizations").status_code == 200
    sim.revoke_token("t2")
    response = client.get("/organizations")
    assert response.status_code == 401 and response.json() == {"message": "Unauthorized"}
    assert Api(sim).get("/organizations").status_code == 200  # other tokens unaffected
    sim.revoke_token("T")
    assert Api(sim).get("/organizations").status_code == 401


def test_disabling_an_oauth_client_revokes_its_tokens_and_refuses_new_ones(sim):
    sim.add_client("cid", "csecret")
    sim.add_client("other", "osecret")
    token = grant(sim, "cid", "csecret").json()["access_token"]
    other = grant(sim, "other", "osecret").json()["access_token"]
    assert Api(sim, token=token).get("/products").status_code == 200
    sim.disable_client("cid")
    assert Api(sim, token=token).get("/products").status_code == 401
    refused = grant(sim, "cid", "csecret")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_client"
    assert "csecret" not in refused.text
    assert Api(sim, token=other).get("/products").status_code == 200
    sim.disable_client("cid", disabled=False)
    fresh = grant(sim, "cid", "csecret").json()["access_token"]
    assert Api(sim, token=fresh).get("/products").status_code == 200


def test_scheduled_429_sends_the_configured_retry_after(sim, api):
    sim.configure(fault_schedule="1:429", fault_retry_after=3600)
    before = time.time()
    response = api.get("/products")
    after = time.time()
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3600"
    reset = int(response.headers["X-RateLimit-Reset"])
    assert math.ceil(before + 3600) <= reset <= math.ceil(after + 3600)  # stamped in between
    assert api.get("/products").status_code == 200


def test_exhausted_hourly_budget_says_when_the_window_resets():
    with Simulator(make_config(rate_limit=True, burst_limit=None, hourly_limit=2)) as sim:
        client = Api(sim)
        first = client.get("/organizations")
        window_end = int(first.headers["X-RateLimit-Reset"])
        client.get("/organizations")
        before = time.time()
        limited = client.get("/organizations")
        after = time.time()
        assert limited.status_code == 429
        assert limited.headers["X-RateLimit-Remaining"] == "0"
        assert int(limited.headers["X-RateLimit-Reset"]) == window_end
        wait = int(limited.headers["Retry-After"])  # whole seconds, rounded up, stamped between
        assert math.ceil(window_end - after) <= wait <= math.ceil(window_end - before)
        assert wait > 3500


def test_me_names_the_user_behind_each_credential(sim):
    me = Api(sim).get("/me").json()
    assert (me["id"], me["name"]) == (42, "API User")
    sim.add_token("t2", name="Sync Robot")
    sim.add_token("t3")
    sim.add_token("t4", user="user:api")  # same user as the configured token
    second = Api(sim, token="t2").get("/me").json()
    third = Api(sim, token="t3").get("/me").json()
    assert second["name"] == "Sync Robot" and len({me["id"], second["id"], third["id"]}) == 3
    assert "t3" not in third["name"]  # never echo a token
    assert Api(sim, token="t4").get("/me").json()["id"] == 42
    sim.add_client("cid", "csecret")
    sim.add_client("other", "osecret")
    one = Api(sim, token=grant(sim, "cid", "csecret").json()["access_token"]).get("/me").json()
    two = Api(sim, token=grant(sim, "cid", "csecret").json()["access_token"]).get("/me").json()
    three = Api(sim, token=grant(sim, "other", "osecret").json()["access_token"]).get("/me").json()
    assert one["id"] == two["id"] != three["id"]
    assert "cid" in one["name"] and one["id"] not in (me["id"], second["id"], third["id"])
