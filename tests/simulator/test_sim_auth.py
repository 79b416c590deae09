"""Authentication, account header, scopes and the OAuth client credentials grant."""

import time

import requests
from testkit import Api, make_config

from simulator import Simulator


def test_missing_unknown_token_is_401(api):
    assert api.get("/products", headers={"Authorization": ""}).status_code == 401
    response = api.get("/products", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401 and response.json() == {"message": "Unauthorized"}


def test_account_header_rules(api, sim):
    assert api.get("/products", headers={"X-Xurrent-Account": "other"}).status_code == 404
    legacy = dict(api.headers)
    del legacy["X-Xurrent-Account"]
    legacy["X-4me-Account"] = "A"
    assert requests.get(sim.api_url + "/products", headers=legacy, timeout=5).status_code == 200
    missing = dict(legacy)
    del missing["X-4me-Account"]
    assert requests.get(sim.api_url + "/products", headers=missing, timeout=5).status_code == 400
    sim.configure(missing_account="default", wrong_account_status=403)
    assert requests.get(sim.api_url + "/products", headers=missing, timeout=5).status_code == 200
    other = api.get("/products", headers={"X-Xurrent-Account": "other"})
    assert other.status_code == 403 and other.json() == {"message": "Forbidden"}


def test_scopes(sim):
    sim.add_token("orgs-only", scopes={"organizations"})
    client = Api(sim, token="orgs-only")
    assert client.get("/organizations").status_code == 200
    forbidden = client.get("/products")
    assert forbidden.status_code == 403 and forbidden.json() == {"message": "Forbidden"}


def test_expiring_personal_token(sim):
    sim.add_token("short", expires_in=0.3)
    client = Api(sim, token="short")
    assert client.get("/organizations").status_code == 200
    time.sleep(0.4)
    assert client.get("/organizations").status_code == 401


def token_request(sim, path="/oauth/token", **form):
    return requests.post(sim.base_url + path, data=form, timeout=5)


def test_oauth_success_and_use(sim):
    sim.add_client("cid", "csecret")
    for path in ("/oauth/token", "/token"):
        response = token_request(
            sim, path, grant_type="client_credentials", client_id="cid", client_secret="csecret"
        )
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
        assert Api(sim, token=body["access_token"]).get("/products").status_code == 200


def test_oauth_errors_do_not_echo_secret(sim):
    sim.add_client("cid", "csecret")
    wrong = token_request(
        sim, grant_type="client_credentials", client_id="cid", client_secret="s3cr3t-wrong"
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_client"
    assert "s3cr3t-wrong" not in wrong.text
    grant = token_request(sim, grant_type="password", client_id="cid", client_secret="csecret")
    assert grant.json()["error"] == "unsupported_grant_type"
    missing = token_request(sim, grant_type="client_credentials", client_id="cid")
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    assert "error_description" in missing.json()


def test_oauth_token_expiry():
    config = make_config(token_ttl_seconds=1, clients={"cid": "csecret"})
    with Simulator(config) as sim:
        body = token_request(
            sim, grant_type="client_credentials", client_id="cid", client_secret="csecret"
        ).json()
        assert body["expires_in"] == 1
        client = Api(sim, token=body["access_token"])
        assert client.get("/products").status_code == 200
        time.sleep(1.1)
        assert client.get("/products").status_code == 401
