"""Failures the user must understand: bad configuration, bad state, and no leaked secrets."""

from __future__ import annotations

import os

import pytest
from testkit import TOKEN, api_requests, assert_matches_truth, configuration_for


def all_text_written(runner) -> str:
    """Everything the runs left on disk in the project (state, crash reports)."""
    chunks = []
    for directory, _, files in os.walk(runner.project_dir):
        for name in files:
            if name.endswith(".db"):
                continue
            with open(os.path.join(directory, name), errors="replace") as handle:
                chunks.append(handle.read())
    return "\n".join(chunks)


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, key",
    [
        ({"account_id": ""}, "account_id"),
        ({"initial_sync_days": "forever"}, "initial_sync_days"),
        ({"max_records_per_page": "500"}, "max_records_per_page"),
        ({"lookback_minutes": "-1"}, "lookback_minutes"),
        ({"tables": "organizations,requests"}, "tables"),
        ({"enable_incremental_sync": "maybe"}, "enable_incremental_sync"),
    ],
)
def test_configuration_errors_fail_before_any_request(sim, runner, overrides, key):
    result = runner.run(configuration_for(sim, **overrides), expect_failure=True)
    assert key in str(result.error)
    assert sim.stats()["requests"] == 0
    assert runner.saved_state() is None
    assert TOKEN not in str(result.error) and TOKEN not in result.output


def test_missing_token_names_the_credential_keys(sim, runner):
    configuration = configuration_for(sim)
    del configuration["oauth_token"]
    result = runner.run(configuration, expect_failure=True)
    assert "oauth_token" in str(result.error)
    assert sim.stats()["requests"] == 0


# --- secrets ----------------------------------------------------------------------------------


def test_token_never_appears_in_logs_state_or_errors(sim, runner):
    ok = runner.run(configuration_for(sim, enable_debug_logging="true", max_records_per_page=10))
    assert ok.counts["Upserts"] > 0
    # A token without read scope for the only table chosen: the sync fails with 403.
    limited = "tok-LiMiTeD-9d8e7f6a5b4c"
    sim.add_token(limited, scopes={"organizations"})
    failed = runner.run(
        configuration_for(
            sim, oauth_token=limited, enable_debug_logging="true", tables="products"
        ),
        expect_failure=True,
    )
    assert "403" in str(failed.error) or "Forbidden" in str(failed.error)
    # A wrong token: 401.
    wrong = "tok-WrOnG-0a1b2c3d4e5f"
    unauthorised = runner.run(configuration_for(sim, oauth_token=wrong), expect_failure=True)
    assert "401" in str(unauthorised.error) or "nauthori" in str(unauthorised.error)

    everything = "\n".join(runner.outputs) + all_text_written(runner)
    everything += str(failed.error) + repr(failed.error) + str(unauthorised.error)
    for secret in (TOKEN, limited, wrong):
        assert secret not in everything


# --- state ------------------------------------------------------------------------------------


def test_state_from_an_older_shape_is_refused_with_instructions(sim, runner):
    old = {"organizations_cursor": "2024-01-01T00:00:00Z", "products_cursor": "2024-01-01"}
    result = runner.run(configuration_for(sim), state=old, expect_failure=True)
    message = str(result.error)
    assert "no 'version'" in message and "organizations_cursor" in message
    assert "fivetran reset" in message
    assert sim.stats()["requests"] == 0
    assert runner.rows("organizations") == []


@pytest.mark.parametrize(
    "state, field",
    [
        ({"version": 2, "streams": {"products": {"cursor": "last tuesday"}}}, "streams.products"),
        ({"version": 1, "tables": {"products": {"cursor": "last tuesday"}}}, "tables.products"),
    ],
)
def test_garbage_cursor_is_refused_naming_the_field(sim, runner, state, field):
    result = runner.run(configuration_for(sim), state=state, expect_failure=True)
    assert f"{field}.cursor" in str(result.error)
    assert sim.stats()["requests"] == 0


def test_state_of_an_unconfigured_table_is_kept(sim, runner):
    cursor = "2020-01-01T00:00:00Z"
    state = {"version": 2, "streams": {"projects": {"cursor": cursor, "walks": []}}}
    result = runner.run(configuration_for(sim, tables="products"), state=state)
    assert result.state["streams"]["projects"] == {"cursor": cursor, "walks": []}
    assert result.state["streams"]["products"]["walks"] == []
    assert api_requests(sim, "projects") == []
    assert_matches_truth(runner, sim, tables=("products",))
