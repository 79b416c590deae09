"""health.py in isolation: the organization id set, the accumulator, the recorder's
ordering and failure rules, and per-table request attribution over real HTTP."""

from __future__ import annotations

import base64
import json
import random
import threading
import zlib
from types import SimpleNamespace
from datetime import datetime, timedelta, timezone

import pytest
from fivetran_connector_sdk_common.logger import Logging
from xurrent_testkit import ACCOUNT, TOKEN, api_requests

from xurrent_connector import health as health_module
from xurrent_connector.health import (
    HEALTH_TABLE,
    OrgIdSet,
    SyncHealth,
    TableClient,
    health_schema,
    load_org_ids,
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


# --- the organization id set --------------------------------------------------------------------


def old_bloom_state():
    """What earlier versions saved: a Bloom filter of 2**18 bits."""
    bits = base64.b64encode(zlib.compress(bytes(1 << 15), 9)).decode("ascii")
    return {
        "scheme": "bloom-blake2b-v1",
        "bits": 1 << 18,
        "hashes": 3,
        "complete": True,
        "data": bits,
    }


SYNCED = {"version": 1, "tables": {"organizations": {"cursor": "2026-01-01T00:00:00Z"}}}


@pytest.mark.parametrize(
    "ids",
    [
        [],
        [0],
        list(range(1, 10_001)),
        random.Random(1).sample(range(1, 10_000_001), 10_000),
        [1, 127, 128, 16_383, 16_384, 2**31, 2**53 + 1, 2**62],
    ],
    ids=["empty", "zero", "contiguous", "uniform", "varint-edges"],
)
def test_id_set_round_trips_exactly(ids):
    original = OrgIdSet()
    for org_id in ids:
        original.add(org_id)
    state = json.loads(json.dumps(original.to_state()))
    assert state["scheme"] == "idset-delta-v1" and state["count"] == len(set(ids))
    loaded = OrgIdSet.from_state(state)
    assert loaded._ids == set(ids) and loaded.complete is True
    assert loaded.to_state() == state


def test_id_set_has_no_false_positives_or_negatives():
    known = random.Random(2).sample(range(1, 10_000_001), 100_000)
    id_set = OrgIdSet.from_state(OrgIdSet(known).to_state())
    assert all(org_id in id_set for org_id in known)
    known_set = set(known)
    absent = [org_id for org_id in range(1, 400_001) if org_id not in known_set]
    assert not any(org_id in id_set for org_id in absent)
    assert "7" not in OrgIdSet() and None not in id_set and -1 not in id_set


def test_id_set_state_is_small_for_the_expected_volume():
    contiguous = OrgIdSet(range(1, 10_001))
    assert len(json.dumps(contiguous.to_state())) < 300
    spread = OrgIdSet(random.Random(3).sample(range(1, 10_000_001), 10_000))
    assert len(json.dumps(spread.to_state())) < 25_000


def test_past_the_bound_tracking_stops_and_the_figure_is_null(monkeypatch):
    assert health_module.MAX_TRACKED_ORG_IDS == 200_000
    warnings = []
    monkeypatch.setattr(health_module.log, "warning", warnings.append)
    monkeypatch.setattr(health_module, "MAX_TRACKED_ORG_IDS", 50)
    id_set = OrgIdSet()
    for org_id in range(1, 51):
        id_set.add(org_id)
    assert id_set.complete and len(id_set) == 50 and not warnings
    id_set.add(50)  # already known: no change
    assert id_set.complete
    for org_id in range(51, 200):
        id_set.add(org_id)
    assert not id_set.complete and id_set.overflowed and len(id_set) == 0
    assert len(warnings) == 1 and "more than 50 organizations" in warnings[0]
    state = json.loads(json.dumps(id_set.to_state()))
    assert state["count"] == 0 and state["complete"] is False and state["overflowed"] is True
    # The next sync keeps not tracking and reports NULL.
    emitter, rows, _ = recorder()
    health = SyncHealth(
        ("organizations", "products"),
        dict(SYNCED, health={"organization_ids": state}),
        now=Clock(),
    )
    wrapped = health.wrap(emitter)
    for table in ("organizations", "products"):
        health.client_for(table, NO_CLIENT)
    wrapped.upsert("organizations", {"id": 5, "name": "a", "parent_id": 6})
    wrapped.upsert("products", {"id": 1, "name": "p", "supplier_id": 77})
    final = state_with(organizations="2026-02-02T00:00:00Z", products="2026-02-01T00:00:00Z")
    health.table_finished("products", final)
    health.table_finished("organizations", final)
    emitted = health_rows(rows)
    assert emitted["products"]["dangling_org_refs"] is None
    assert emitted["organizations"]["dangling_org_refs"] is None
    assert len(health.org_ids) == 0 and health.org_ids.overflowed


def test_encoding_is_cached_until_the_set_changes(monkeypatch):
    calls = []
    real = health_module._delta_varints
    monkeypatch.setattr(
        health_module, "_delta_varints", lambda ids: calls.append(len(ids)) or real(ids)
    )
    emitter, rows, checkpoints = recorder()
    health = SyncHealth(("organizations", "products"), {}, now=Clock())
    wrapped = health.wrap(emitter)
    for table in ("organizations", "products"):
        health.client_for(table, NO_CLIENT)
    for org_id in (3, 1, 2):
        wrapped.upsert("organizations", {"id": org_id, "name": "o"})
    wrapped.checkpoint(state_with(organizations=None))
    assert calls == [3]
    wrapped.upsert("organizations", {"id": 2, "name": "again"})  # known: no change
    for page in range(5):  # products pages
        wrapped.upsert("products", {"id": page, "name": "p", "supplier_id": 1})
        wrapped.checkpoint(state_with(organizations=None, products=None))
    assert calls == [3]
    first = checkpoints[0]["health"]["organization_ids"]
    assert all(c["health"]["organization_ids"] is first for c in checkpoints)
    wrapped.upsert("organizations", {"id": 0, "name": "new"})
    wrapped.checkpoint(state_with(organizations=None, products=None))
    assert calls == [3, 4]
    loaded = OrgIdSet.from_state(checkpoints[-1]["health"]["organization_ids"])
    assert loaded._ids == {0, 1, 2, 3}


def damaged_states():
    good = OrgIdSet([5, 9, 300]).to_state()
    raw = lambda payload: base64.b64encode(zlib.compress(payload)).decode("ascii")  # noqa: E731
    return {
        "not an object": "abc",
        "old bloom scheme": old_bloom_state(),
        "no scheme": {"data": good["data"], "count": 3},
        "bad base64": dict(good, data="@@@"),
        "not zlib": dict(good, data=base64.b64encode(b"plain").decode()),
        "count too high": dict(good, count=4),
        "count too low": dict(good, count=2),
        "count not int": dict(good, count="3"),
        "count past the bound": dict(good, count=200_001),
        "data missing": {k: v for k, v in good.items() if k != "data"},
        "truncated varint": dict(good, count=1, data=raw(b"\x85")),
        "repeated id": dict(good, count=2, data=raw(b"\x05\x00")),
        "oversized number": dict(good, count=1, data=raw(b"\xff" * 12 + b"\x01")),
        "inflates too far": dict(good, count=1, data=raw(bytes(100_000))),
        "truncated zlib": dict(
            good, data=base64.b64encode(zlib.compress(bytes([5, 4, 250, 1]))[:-3]).decode()
        ),
    }


@pytest.mark.parametrize("name", sorted(damaged_states()))
def test_an_unusable_saved_set_never_fails_and_never_overstates(name, monkeypatch):
    warnings = []
    monkeypatch.setattr(health_module.log, "warning", warnings.append)
    saved = damaged_states()[name]
    with pytest.raises(ValueError):
        OrgIdSet.from_state(saved)
    after_sync = load_org_ids(dict(SYNCED, health={"organization_ids": saved}))
    assert after_sync.complete is False and len(after_sync) == 0
    assert len(warnings) == 1 and "unusable" in warnings[0]
    # Organizations never synced: the new set misses nothing.
    assert load_org_ids({"version": 1, "health": {"organization_ids": saved}}).complete is True


def test_loading_without_a_saved_set():
    assert load_org_ids({}).complete is True
    assert load_org_ids(None).complete is True
    # Organizations synced before ids were tracked: the set would miss them.
    assert load_org_ids(SYNCED).complete is False
    walking = {"version": 1, "tables": {"organizations": {"cursor": None, "walk": {}}}}
    assert load_org_ids(walking).complete is False


def test_an_old_bloom_state_gives_null_until_organizations_are_resynced():
    emitter, rows, checkpoints = recorder()
    saved = dict(SYNCED, health={"organization_ids": old_bloom_state()})
    health = SyncHealth(("organizations", "projects"), saved, now=Clock(), sync_id="s0")
    wrapped = health.wrap(emitter)
    for table in ("organizations", "projects"):
        health.client_for(table, NO_CLIENT)
    wrapped.upsert("organizations", {"id": 1, "name": "a", "parent_id": None})
    wrapped.upsert("projects", {"id": 1, "subject": "s", "status": "x", "customer_id": 2})
    final = state_with(organizations="2026-02-02T00:00:00Z", projects="2026-02-01T00:00:00Z")
    health.table_finished("organizations", final)
    health.table_finished("projects", final)
    assert health_rows(rows)["projects"]["dangling_org_refs"] is None
    saved_set = checkpoints[-1]["health"]["organization_ids"]
    assert saved_set["scheme"] == "idset-delta-v1" and saved_set["complete"] is False


def test_ids_that_are_not_integers_make_the_set_incomplete(monkeypatch):
    warnings = []
    monkeypatch.setattr(health_module.log, "warning", warnings.append)
    id_set = OrgIdSet([1])
    id_set.add("12")  # numeric text is an id
    id_set.add(-4)
    id_set.add("x")
    assert 12 in id_set and not id_set.complete and len(warnings) == 1
    assert OrgIdSet.from_state(id_set.to_state())._ids == {1, 12}
    with pytest.raises(ValueError):
        OrgIdSet([-1])


def test_the_health_table_has_no_false_positive_rate_column():
    assert "dangling_org_refs_fp_rate" not in health_schema()["columns"]
    assert health_schema()["columns"]["dangling_org_refs"] == "LONG"


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
