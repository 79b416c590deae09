"""Property: no sequence of faults, crashes and concurrent writes loses or corrupts a row.

Hypothesis draws a scenario (see sync_scenarios.py) and plays it through the SDK's real runner
against the simulator over HTTP; after the final clean sync the warehouse must equal the
simulator's ground truth for the window, every failed sync must be explained by a fault burst
that exhausts ``retry_attempts``, and no output, error or file may contain a secret.

Run longer: ``HYPOTHESIS_PROFILE=long PROPERTY_EXAMPLES=500 .venv/bin/pytest tests/property``.
A failure is stored in .hypothesis/ and replayed by a plain ``.venv/bin/pytest tests/property``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter

import pytest
from hypothesis import event, given, settings
from sync_scenarios import ScenarioPlayer, scenarios

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
PROFILE_SETTINGS = settings.get_profile(PROFILE)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COVERAGE_FILE = os.path.join(ROOT, ".hypothesis", "property_coverage.json")

#: What the examples of this session exercised, written to COVERAGE_FILE at the end.
coverage: Counter = Counter()


@pytest.fixture(scope="module", autouse=True)
def coverage_report():
    coverage.clear()
    yield
    if coverage:
        os.makedirs(os.path.dirname(COVERAGE_FILE), exist_ok=True)
        with open(COVERAGE_FILE, "w") as report:
            json.dump({"profile": PROFILE, **dict(sorted(coverage.items()))}, report, indent=1)


def _record(scenario, outcome) -> None:
    """Count what this example covered (shown by --hypothesis-show-statistics, and saved)."""
    window_days = scenario.initial_sync_days or float("inf")
    features = {
        "examples": True,
        "client credentials": scenario.client_credentials,
        "incremental": scenario.incremental,
        "full re-read (incremental off)": not scenario.incremental,
        "initial window narrower than the data": window_days < scenario.history_days,
        "walk cap forces splitting": scenario.walk_cap < 100000,
        "tie blocks": scenario.tie_block_size > 0,
        "DST anchor": scenario.anchor is not None,
        "rows stamped at DST moments": bool(scenario.initial),
        "several syncs": len(scenario.steps) > 1,
        "writes between syncs": any(step.before for step in scenario.steps),
        "writes during a sync": any(step.during for step in scenario.steps),
        "late writes": any(
            mutation.kind == "late"
            for step in scenario.steps
            for mutation in (*step.before, *(m for _, m in step.during))
        ),
        "token expiry scheduled": any(step.token_expiry_at for step in scenario.steps),
        "http-date Retry-After": scenario.retry_after_format == "http-date",
        "a 429's Retry-After unusable": scenario.retry_after_text is not None,
        "odd records (surrogates, wrong types, no id or updated_at)": bool(scenario.record_faults),
        "a sync stopped by pages that loop, and resumed": outcome.looped_syncs > 0,
        "a sync crashed and was resumed": outcome.crashed_syncs > 0,
        "an expired token was refreshed (401)": outcome.unauthorized_401 > 0,
        "a second held more rows than the walk cap (id split)": outcome.id_split_requests > 0,
        "a collection was read in more than one walk": outcome.extra_walk_starts > 0,
    }
    for name, present in features.items():
        if present:
            coverage[name] += 1
            event(name)
    for kind, count in outcome.faults_served.items():
        coverage[f"fault served: {kind}"] += count
    coverage["syncs run"] += outcome.syncs
    coverage["API requests"] += outcome.requests
    coverage["rows checked against ground truth"] += outcome.rows_expected


@pytest.mark.timeout(0 if PROFILE == "long" else 900)
@settings(PROFILE_SETTINGS)
@given(scenario=scenarios())
def test_no_fault_sequence_loses_or_corrupts_a_row(scenario, tmp_path_factory, capsys):
    project = tmp_path_factory.mktemp("property")
    outcome = ScenarioPlayer(scenario, str(project), capsys).play()
    _record(scenario, outcome)
    assert not outcome.problems, "\n".join(outcome.problems[:25])
    # Passed, and already scanned for secrets: free the disk (a long run makes thousands).
    shutil.rmtree(project, ignore_errors=True)
