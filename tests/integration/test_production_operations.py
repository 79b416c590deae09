"""Production operations end to end: an exhausted rate budget, refused credentials with backup
credentials to fail over to, and the audit columns of ``sync_health``.

Through the SDK runner against the simulator over HTTP. The runner's clock is fake for sleeps
(the client never really waits), so what is checked is what the connector decided to wait,
never wall-clock time.
"""

from __future__ import annotations

import pytest
from testkit import (
    BACKUP_CLIENT_ID,
    BACKUP_CLIENT_SECRET,
    BACKUP_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    LIMITED_TOKEN,
    TOKEN,
    api_requests,
    assert_matches_truth,
    configuration_for,
    documented_queries,
    query,
)

#: The alert of docs/sync_health.md for syncs that need a look but did not fail.
NOTABLE = documented_queries()[
    "Syncs stopped by the rate limit, or run on the backup credentials, in the last day"
]

TABLES = ("organizations", "products", "projects")
STREAMS = TABLES + ("archive", "trash")


def health_of_last_sync(runner) -> dict[str, dict]:
    rows = runner.rows("sync_health")
    latest = max(row["sync_started_at"] for row in rows)
    return {row["table_name"]: row for row in rows if row["sync_started_at"] == latest}


# --- the hourly budget runs out ----------------------------------------------------------------


def test_a_budget_too_small_for_one_sync_stops_it_cleanly_and_the_next_one_finishes(
    make_sim, runner
):
    # 500 organizations, 2,500 products, 250 projects at 100 a page: 36 requests with /me and
    # the archive and trash; the budget (for an hour, like the real one) allows 30, of which
    # the connector leaves the last fifth to other integrations of the same user.
    sim = make_sim(scale="small", rate_limit=True, burst_limit=None, hourly_limit=30)
    configuration = configuration_for(sim)
    first = runner.run(configuration)  # returns normally: no exception

    assert max(first.sleeps, default=0) <= 60  # never a wait beyond max_rate_limit_wait_seconds
    assert [e for e in api_requests(sim) if e["status"] == 429] == []  # paced, never refused
    warnings = [line for line in first.output.splitlines() if "rate limit stopped" in line]
    assert len(warnings) == 1
    assert " UTC" in warnings[0] and "Not finished:" in warnings[0]
    health = health_of_last_sync(runner)
    stopped = {name for name, row in health.items() if row["status"] == "rate_limited"}
    succeeded = {name for name, row in health.items() if row["status"] == "succeeded"}
    assert {"products", "archive", "trash"} <= stopped
    assert stopped == set(STREAMS) - succeeded
    assert "products" in warnings[0] and "trash" in warnings[0]
    # Every page fetched was written, and the state says where to resume.
    state = first.state["streams"]
    assert any(walk.get("next_page") for walk in state["products"]["walks"])
    assert len(runner.rows("products")) == 100 * int(health["products"]["pages"])

    assert {row[1] for row in query(runner, NOTABLE)} == stopped
    sim.reset_rate_limits()  # an hour later
    second = runner.run(configuration)
    assert_matches_truth(runner, sim)
    assert all(row["status"] == "succeeded" for row in health_of_last_sync(runner).values())
    assert all(second.state["streams"][name]["walks"] == [] for name in STREAMS)


def test_a_retry_after_longer_than_the_cap_takes_the_same_path(make_sim, runner):
    sim = make_sim(fault_retry_after=3600)
    sim.configure(fault_schedule={3: "429"})
    configuration = configuration_for(sim, max_records_per_page=10)
    first = runner.run(configuration)
    assert first.sleeps == []  # it did not wait the hour
    assert any("rate limit stopped" in line for line in first.output.splitlines())
    health = health_of_last_sync(runner)
    assert "rate_limited" in {row["status"] for row in health.values()}
    sim.configure(fault_schedule={})
    runner.run(configuration)
    assert_matches_truth(runner, sim)


def test_a_retry_after_within_the_cap_is_waited_out(make_sim, runner):
    sim = make_sim(fault_retry_after=45)
    sim.configure(fault_schedule={3: "429"})
    result = runner.run(configuration_for(sim, max_records_per_page=10))
    assert 45 in result.sleeps
    assert_matches_truth(runner, sim)
    statuses = {row["status"] for row in health_of_last_sync(runner).values()}
    assert statuses == {"succeeded"}


# --- backup credentials -------------------------------------------------------------------------


def revoke_on_request(sim, token: str, number: int) -> None:
    """Revoke ``token`` when the ``number``-th API request arrives (mid-sync)."""

    def hook(simulator, info):
        if info["seq"] == number:
            simulator.revoke_token(token)

    sim.add_request_hook(hook)


def test_a_primary_token_revoked_mid_sync_fails_over_to_the_backup(make_sim, runner):
    sim = make_sim(scale="small")
    revoke_on_request(sim, TOKEN, 12)
    result = runner.run(configuration_for(sim, backup_oauth_token=BACKUP_TOKEN))

    assert_matches_truth(runner, sim)  # every row, in one sync
    switches = [line for line in result.output.splitlines() if "for the rest of this sync" in line]
    assert len(switches) == 1
    assert "the primary personal access token (oauth_token) was refused" in switches[0]
    assert "the backup personal access token (backup_oauth_token)" in switches[0]
    health = health_of_last_sync(runner)
    assert all(row["status"] == "succeeded" for row in health.values())
    assert health["trash"]["credentials"] == "backup"
    assert "trash" in {row[1] for row in query(runner, NOTABLE)}
    assert health["trash"]["api_user_name"] == "Backup Integration User"
    assert {row["credentials"] for row in health.values()} <= {"primary", "backup"}
    assert [e["status"] for e in api_requests(sim)].count(401) >= 1


def test_a_disabled_oauth_application_fails_over_to_the_backup_application(make_sim, runner):
    sim = make_sim()
    configuration = configuration_for(
        sim,
        oauth_token=None,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        token_url=sim.token_url,
        backup_client_id=BACKUP_CLIENT_ID,
        backup_client_secret=BACKUP_CLIENT_SECRET,
    )
    sim.disable_client(CLIENT_ID)
    result = runner.run(configuration)
    assert_matches_truth(runner, sim)
    assert "the primary OAuth client 'connector-client' (client_id) was refused" in result.output
    health = health_of_last_sync(runner)
    assert {row["credentials"] for row in health.values()} == {"backup"}
    assert {row["api_user_name"] for row in health.values()} == {"Backup OAuth App"}


def test_when_both_credentials_are_refused_the_sync_fails_saying_so(make_sim, runner):
    sim = make_sim()
    sim.revoke_token(TOKEN)
    sim.revoke_token(BACKUP_TOKEN)
    result = runner.run(
        configuration_for(sim, backup_oauth_token=BACKUP_TOKEN), expect_failure=True
    )
    message = str(result.error)
    assert "Both the primary and the backup credentials were refused" in message
    assert "backup_oauth_token" in message
    assert TOKEN not in message and BACKUP_TOKEN not in message


def test_without_a_backup_a_refused_token_fails_as_before(make_sim, runner):
    sim = make_sim()
    sim.revoke_token(TOKEN)
    result = runner.run(configuration_for(sim), expect_failure=True)
    assert "The token was rejected" in str(result.error) and "oauth_token" in str(result.error)
    assert "Both" not in str(result.error)


def test_a_missing_scope_is_not_a_refused_credential(make_sim, runner):
    sim = make_sim()
    configuration = configuration_for(
        sim, oauth_token=LIMITED_TOKEN, backup_oauth_token=BACKUP_TOKEN, tables="products"
    )
    result = runner.run(configuration, expect_failure=True)
    assert "403" in str(result.error) and "lacks the read scope for products" in str(result.error)
    assert "for the rest of this sync" not in result.output  # no failover on a 403


# --- the audit trail ----------------------------------------------------------------------------


def test_every_health_row_says_where_who_and_with_which_credentials(make_sim, runner):
    sim = make_sim()
    runner.run(configuration_for(sim))
    health = health_of_last_sync(runner)
    assert set(health) == set(STREAMS)
    for row in health.values():
        assert row["api_host"] == f"127.0.0.1:{sim.port}"
        assert row["account_id"] == "widget"
        assert (row["api_user_id"], row["api_user_name"]) == ("42", "API User")
        assert row["credentials"] == "primary"
    assert [e["path"] for e in api_requests(sim)].count("/v1/me") == 1  # once per sync


@pytest.mark.parametrize("status", [403])
def test_without_the_me_scope_the_user_is_left_empty(make_sim, runner, status):
    sim = make_sim()
    sim.add_token("tok-NoMe-5a4b3c2d1e0f", scopes={"organizations"})
    result = runner.run(
        configuration_for(sim, oauth_token="tok-NoMe-5a4b3c2d1e0f", tables="organizations")
    )
    row = health_of_last_sync(runner)["organizations"]
    assert row["status"] == "succeeded"
    assert row["api_user_id"] is None and row["api_user_name"] is None
    assert f"the API user is not recorded ({status} on /v1/me)" in result.output


def test_a_sync_refused_at_its_first_request_still_records_every_stream_as_failed(
    make_sim, runner
):
    """Monitoring counts consecutive failures per table from sync_health: a sync that fails
    before any stream started (here the token is refused on /v1/me) must still leave rows."""
    sim = make_sim()
    runner.run(configuration_for(sim))
    sim.revoke_token(TOKEN)
    runner.run(configuration_for(sim), expect_failure=True)
    health = health_of_last_sync(runner)
    assert set(health) == set(STREAMS)
    assert {row["status"] for row in health.values()} == {"failed"}
    assert all("401" in row["error"] for row in health.values())
