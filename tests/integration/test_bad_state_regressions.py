"""Minimal failing examples found by the bad-state property test, kept as regular tests."""

from __future__ import annotations

from testkit import api_requests, assert_matches_truth, configuration_for


def test_a_cursor_in_the_future_is_refused_instead_of_skipping_every_change(sim, runner):
    """Found by tests/property/test_bad_state_property.py: the state
    ``products.cursor = "2099-01-01T00:00:00Z"`` was accepted; every sync then asked
    for ``updated_at>=2099-...``, got nothing, kept the cursor and silently skipped new rows.
    """
    configuration = configuration_for(sim, tables="products")
    runner.run(configuration)
    edited = runner.saved_state()
    edited["streams"]["products"]["cursor"] = "2099-01-01T00:00:00Z"
    runner.write_state(edited)
    sim.insert_rows("products", 2)
    sim.reset_stats()

    result = runner.run(configuration, expect_failure=True)

    message = str(result.error)
    assert "streams.products.cursor" in message and "later than now" in message
    assert "reset" in message
    assert api_requests(sim) == []
    assert runner.saved_state() == edited  # nothing checkpointed over the evidence
    # After the documented recovery (reset: an empty state) nothing is missing.
    runner.run(configuration, state={})
    assert_matches_truth(runner, sim, tables=("products",))
