"""health.py in isolation: the organization id filter, the accumulator, the recorder's
ordering and failure rules, and per-table request attribution over real HTTP."""

from __future__ import annotations

import json
import threading
from types import SimpleNamespace
from datetime import datetime, timedelta, timezone

import pytest
from fivetran_connector_sdk_common.logger import Logging
from xurrent_testkit import ACCOUNT, TOKEN, api_requests

from xurrent_connector import health as health_module
from xurrent_connector.health import (
    HEALTH_TABLE,
    OrgIdFilter,
    SyncHealth,
    TableClient,
    load_org_filter,
)
from xurrent_connector.http import ClientStats, XurrentClient
from xurrent_connector.redact import register_secret
from xurrent_connector.settings import parse_settings
from xurrent_connector.sync import Emitter

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
#: The recorder tests feed rows directly; their tables never make a request.
NO_CLIENT = SimpleNamespace(get=lambda path_or_url, params=None: None)


@pytest.fixture(autouse=True)
def quiet_logs():
    previous = Logging.LOG_LEVEL
    Logging.LOG_LEVEL = Logging.Level.SEVERE
    yield
    Logging.LOG_LEVEL = previous


# --- the filter ---------------------------------------------------------------------------------


def test_filter_has_no_false_negatives_and_the_false_positive_rate_it_reports():
    org_filter = OrgIdFilter()
    known = range(1, 100_001)
    for org_id in known:
        org_filter.add(org_id)
    assert all(org_id in org_filter for org_id in known)
    absent = range(10_000_001, 10_020_001)
    measured = sum(org_id in org_filter for org_id in absent) / len(absent)
    assert 0.25 < org_filter.false_positive_rate < 0.35  # the documented ~32 % at 100k
    assert measured == pytest.approx(org_filter.false_positive_rate, rel=0.1)


def test_filter_state_is_bounded_and_round_trips():
    small = OrgIdFilter()
    for org_id in range(1000, 1200):
        small.add(org_id)
    assert len(json.dumps(small.to_state())) < 3_000
    full = OrgIdFilter()
    for org_id in range(0, 300_000, 3):
        full.add(org_id)
    encoded = json.dumps(full.to_state())
    assert len(encoded) <= 45_000  # 32 KiB of bits, base64: the worst case
    loaded = OrgIdFilter.from_state(json.loads(encoded))
    assert loaded.complete is True
    assert all(org_id in loaded for org_id in range(0, 300_000, 3))
    assert loaded.false_positive_rate == full.false_positive_rate


def test_filter_loading_never_fails_and_never_overstates():
    assert load_org_filter({}).complete is True
    synced = {"version": 1, "tables": {"organizations": {"cursor": "2026-01-01T00:00:00Z"}}}
    # Organizations synced before ids were tracked: the filter would miss them.
    assert load_org_filter(synced).complete is False
    damaged = dict(synced, health={"organization_ids": {"scheme": "bloom-blake2b-v1"}})
    assert load_org_filter(damaged).complete is False
    other_size = dict(synced, health={"organization_ids": dict(OrgIdFilter().to_state())})
    other_size["health"]["organization_ids"]["bits"] = 1024
    assert load_org_filter(other_size).complete is False


# --- the recorder -------------------------------------------------------------------------------


class Clock:
    def __init__(self):
        self.moment = T0

    def __call__(self):
        self.moment += timedelta(seconds=1)
        return self.moment


def recorder():
    rows, checkpoints = [], []
    emitter = Emitter(
        upsert=lambda table, row: rows.append((table, row)),
        checkpoint=lambda state: checkpoints.append(state),
    )
    return emitter, rows, checkpoints


def state_with(**cursors):
    return {
        "version": 1,
        "tables": {name: {"cursor": cursor, "walk": None} for name, cursor in cursors.items()},
    }


def health_rows(rows):
    return {row["table_name"]: row for table, row in rows if table == HEALTH_TABLE}


def test_references_are_judged_after_organizations_finish_whatever_the_order():
    emitter, rows, checkpoints = recorder()
    health = SyncHealth(("organizations", "products"), {}, now=Clock(), sync_id="s1")
    wrapped = health.wrap(emitter)
    health.client_for("organizations", NO_CLIENT)
    health.client_for("products", NO_CLIENT)
    # Products finish first (concurrent tables) and reference org 77 before it is synced.
    wrapped.upsert("products", {"id": 1, "name": "p", "supplier_id": 77, "brand": "x"})
    wrapped.upsert("products", {"id": 2, "name": "q", "financial_owner_id": 4242})
    health.table_finished("products", state_with(products="2026-02-01T00:00:00Z"))
    assert health_rows(rows) == {}  # waits for organizations
    # Organization 5's parent (6) arrives later in the same walk: not dangling either.
    wrapped.upsert("organizations", {"id": 5, "name": "a", "parent_id": 6})
    wrapped.upsert("organizations", {"id": 6, "name": "b", "parent_id": None})
    wrapped.upsert("organizations", {"id": 77, "name": "c", "parent_id": 999})
    final = state_with(organizations="2026-02-02T00:00:00Z", products="2026-02-01T00:00:00Z")
    health.table_finished("organizations", final)

    emitted = health_rows(rows)
    assert emitted["products"]["dangling_org_refs"] == 1  # 4242; 77 was synced meanwhile
    assert emitted["organizations"]["dangling_org_refs"] == 1  # parent 999
    assert emitted["products"]["rows_upserted"] == 2
    assert emitted["products"]["brand_share"] == 0.5
    assert emitted["products"]["cursor_reached"] == "2026-02-01T00:00:00Z"
    assert checkpoints[-1]["health"]["organization_ids"]["complete"] is True
    assert checkpoints[-1]["tables"] == final["tables"]


def test_a_failure_records_every_unfinished_table_without_masking_the_error():
    emitter, rows, checkpoints = recorder()
    register_secret("tok-health-SeCrEt-77")
    health = SyncHealth(("organizations", "projects"), {}, now=Clock(), sync_id="s2")
    wrapped = health.wrap(emitter)
    for table in ("organizations", "projects"):
        health.client_for(table, NO_CLIENT)
    wrapped.upsert("projects", {"id": 1, "subject": "s", "status": None, "customer_id": 5})
    state = state_with(organizations=None, projects=None)
    state["tables"]["projects"]["walk"] = {"position": "2026-02-03T00:00:00Z"}
    with pytest.raises(RuntimeError, match="boom"):
        with health.recording(lambda: state):
            raise RuntimeError("boom near tok-health-SeCrEt-77")

    emitted = health_rows(rows)
    assert {row["status"] for row in emitted.values()} == {"failed"}
    assert emitted["projects"]["error"] == "RuntimeError: boom near [REDACTED]"
    assert emitted["projects"]["cursor_reached"] == "2026-02-03T00:00:00Z"
    assert emitted["projects"]["status_distribution"] == {"(none)": 1}
    # Organizations never finished a sync: a dangling count would count everything.
    assert emitted["projects"]["dangling_org_refs"] is None
    assert len(checkpoints) == 1 and "health" in checkpoints[0]


def test_shortfalls_are_logged_with_figure_and_threshold(monkeypatch):
    warnings = []
    monkeypatch.setattr(health_module.log, "warning", warnings.append)
    emitter, rows, _ = recorder()
    health = SyncHealth(("projects",), {}, now=Clock())
    wrapped = health.wrap(emitter)
    health.client_for("projects", NO_CLIENT)
    for index in range(10):
        status = "completed" if index < 8 else " "
        wrapped.upsert("projects", {"id": index, "subject": "s", "status": status})
    health.table_finished("projects", state_with(projects="2026-02-01T00:00:00Z"))
    row = health_rows(rows)["projects"]
    assert row["status_share"] == 0.8 and row["customer_share"] == 0.0
    assert row["shortfalls"] == ["status_share < 90%", "customer_share < 90%"]
    assert any("projects status_share is 80.00%" in w and "90%" in w for w in warnings)
    assert any("projects customer_share is 0.00%" in w for w in warnings)


# --- per-table request attribution --------------------------------------------------------------


def test_concurrent_tables_get_their_own_request_figures(make_sim):
    sim = make_sim()
    sim.configure(fault_schedule={1: "503", 2: "429", 4: "500", 6: "malformed"})
    settings = parse_settings(
        {
            "oauth_token": TOKEN,
            "account_id": ACCOUNT,
            "base_url": sim.api_url,
            "retry_attempts": "5",
            "max_records_per_page": "5",
        }
    )
    client = XurrentClient(settings, sleep=lambda seconds: None)
    views = {table: TableClient(client, ClientStats()) for table in ("products", "projects")}

    def walk(table):
        url, params = f"/{table}", {"per_page": "5", "sort": "id"}
        while url:
            response = views[table].get(url, params)
            url, params = response.links.get("next"), None

    threads = [threading.Thread(target=walk, args=(table,)) for table in views]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()

    for table, view in views.items():
        log = api_requests(sim, table)
        failed = sum(1 for entry in log if entry["fault"] in ("503", "500", "malformed"))
        assert view.stats.requests == len(log)
        assert view.stats.throttled_429 == sum(1 for entry in log if entry["fault"] == "429")
        assert view.stats.failed_attempts == failed
    assert sum(view.stats.requests for view in views.values()) == client.stats.requests
    assert sum(view.stats.retries for view in views.values()) == client.stats.retries == 4
