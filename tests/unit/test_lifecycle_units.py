"""The lifecycle module's pure parts and its walk against a tiny in-test listing stub.

The stub exists for the one corner the simulator cannot produce: listings that mix project
entries with entries of other record types (requests, tasks ...), as the real archive and
trash do. Everything else is covered end to end in tests/integration/test_lifecycle.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from fivetran_connector_sdk_common.logger import Logging

from xurrent_connector.lifecycle import (
    ARCHIVE,
    STATE_KEY,
    TRASH,
    ProjectLifecycle,
    entry_moment,
    load_lifecycle_state,
    project_id_of,
    with_lifecycle,
)
from xurrent_connector.pagination import UnexpectedResponseError
from xurrent_connector.state import StateError, TableState, dump_state
from xurrent_connector.sync import Emitter

API = "https://api.example.test/v1"
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def log_level():
    previous = Logging.LOG_LEVEL
    Logging.LOG_LEVEL = Logging.Level.WARNING
    yield
    Logging.LOG_LEVEL = previous


def entry(entry_id, kind, record_id, created_at="2026-02-01T10:00:00-06:00", bin=ARCHIVE):
    return {
        "id": entry_id,
        "created_at": created_at,
        f"{bin.type_field}_by": {"id": 1, "name": "System"},
        bin.type_field: kind,
        kind: {"id": record_id, "href": f"{API}/{kind}s/{record_id}", "display_name": "x"},
    }


# --- entries ----------------------------------------------------------------------------------


def test_project_entries_give_the_project_id_and_other_types_none():
    assert project_id_of(entry(1, "project", 42), ARCHIVE) == 42
    assert project_id_of(entry(1, "Project", 42), ARCHIVE) == 42
    assert project_id_of(entry(2, "request", 42), ARCHIVE) is None
    assert project_id_of(entry(3, "project", 7, bin=TRASH), TRASH) == 7
    # The type field of the other listing does not count.
    assert project_id_of(entry(3, "project", 7, bin=TRASH), ARCHIVE) is None


@pytest.mark.parametrize("reference", [None, {}, {"id": "abc"}, "7"])
def test_a_project_entry_without_a_usable_reference_fails_loudly(reference):
    broken = entry(9, "project", 1)
    broken["project"] = reference
    with pytest.raises(UnexpectedResponseError, match="Entry 9 of /archive"):
        project_id_of(broken, ARCHIVE)


def test_a_non_object_entry_fails_loudly():
    with pytest.raises(UnexpectedResponseError, match="not a JSON object"):
        project_id_of(["project", 1], TRASH)


def test_entry_moments_are_canonical_utc():
    assert entry_moment(entry(1, "project", 2), ARCHIVE) == "2026-02-01T16:00:00Z"
    for bad in (None, "yesterday"):
        with pytest.raises(UnexpectedResponseError, match="created_at"):
            entry_moment(entry(1, "project", 2, created_at=bad), ARCHIVE)


# --- state ------------------------------------------------------------------------------------


def test_a_state_without_the_section_is_a_first_lifecycle_sync():
    assert load_lifecycle_state({}) == {}
    assert load_lifecycle_state({"version": 1, "tables": {}}) == {}
    assert load_lifecycle_state(None) == {}


def test_the_section_round_trips_through_the_checkpoint():
    bins = {"trash": TableState(cursor="2026-01-01T00:00:00Z"), "archive": TableState()}
    state = with_lifecycle(dump_state({}), bins)
    assert list(state[STATE_KEY]) == ["archive", "trash"]  # stable order
    assert load_lifecycle_state(state) == bins
    assert with_lifecycle({"version": 1, "tables": {}}, {}) == {"version": 1, "tables": {}}


@pytest.mark.parametrize(
    "section, named",
    [
        ([], "'lifecycle' is not an object"),
        ({"recycle_bin": {"cursor": None}}, "unknown listing 'recycle_bin'"),
        ({"archive": {"cursor": "last week"}}, "lifecycle.archive.cursor"),
        ({"trash": {"cursor": None, "walk": {"query": {"op": "~"}}}}, "lifecycle.trash.walk"),
    ],
)
def test_a_damaged_section_is_refused_naming_the_field(section, named):
    with pytest.raises(StateError, match="fivetran reset") as raised:
        load_lifecycle_state({"version": 1, "tables": {}, STATE_KEY: section})
    assert named in str(raised.value)


# --- the walk against a stub ------------------------------------------------------------------


@dataclass
class Response:
    data: list
    links: dict
    status: int = 200
    headers: dict = field(default_factory=dict)


class ListingStub:
    """Serves /archive and /trash from entry lists: created_at filter, per_page, offsets."""

    def __init__(self, archive=(), trash=()):
        self.entries = {"/archive": list(archive), "/trash": list(trash)}
        self.calls: list[tuple[str, dict]] = []
        self.stats = SimpleNamespace(requests=0)

    def get(self, url, params=None):
        self.stats.requests += 1
        parts = urlsplit(url)
        path = parts.path.replace("/v1", "") if "://" in url else url
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        query.update(params or {})
        self.calls.append((path, query))
        offset, per_page = int(query.get("offset", 0)), int(query["per_page"])
        rows = self.entries[path][offset : offset + per_page]
        links = {}
        if offset + per_page < len(self.entries[path]):
            links["next"] = f"{API}{path}?offset={offset + per_page}"
        return Response([dict(row) for row in rows], links)


def settings(**overrides):
    values = dict(
        tables=("projects",),
        api_url=API,
        initial_sync_days=90,
        enable_incremental_sync=True,
        lookback_minutes=5,
        max_records_per_page=2,
    )
    values.update(overrides)
    return SimpleNamespace(**values)


def recorder():
    calls = []
    emitter = Emitter(
        upsert=lambda table, row: calls.append(("upsert", table, row)),
        checkpoint=lambda state: calls.append(("checkpoint", state)),
        update=lambda table, row: calls.append(("update", table, row)),
        delete=lambda table, row: calls.append(("delete", table, row)),
    )
    return emitter, calls


def test_other_record_types_only_move_the_cursor():
    archive = [
        entry(1, "request", 500, "2026-02-01T10:00:00Z"),
        entry(2, "project", 10, "2026-02-01T10:00:01Z"),
        entry(3, "task", 501, "2026-02-01T10:00:02Z"),
        entry(4, "request", 502, "2026-02-01T10:00:03Z"),
    ]
    trash = [entry(5, "project", 11, "2026-02-02T08:00:00+01:00", bin=TRASH)]
    stub = ListingStub(archive, trash)
    lifecycle = ProjectLifecycle(settings(), stub, {}, {}, NOW)
    emitter, calls = recorder()

    counts = lifecycle.run({}, emitter)

    changes = [call for call in calls if call[0] != "checkpoint"]
    assert changes == [
        (
            "update",
            "projects",
            {"id": 10, "archived_at": "2026-02-01T10:00:01Z", "trashed_at": None},
        ),
        ("delete", "projects", {"id": 10}),
        (
            "update",
            "projects",
            {"id": 11, "trashed_at": "2026-02-02T07:00:00Z", "archived_at": None},
        ),
        ("delete", "projects", {"id": 11}),
    ]
    assert (counts.archived, counts.trashed, counts.ignored, counts.pages) == (1, 1, 3, 3)
    final = [call[1] for call in calls if call[0] == "checkpoint"][-1]
    # The cursor reached the last entry of any type.
    assert final[STATE_KEY]["archive"] == {"cursor": "2026-02-01T10:00:03Z", "walk": None}
    assert final[STATE_KEY]["trash"] == {"cursor": "2026-02-02T07:00:00Z", "walk": None}


def test_update_and_delete_of_a_project_share_one_checkpoint_batch():
    """The SDK merges an update and a delete of one key only within a batch; a checkpoint
    between them would commit the update alone, and an update revives a deleted row."""
    archive = [entry(n, "project", 100 + n, f"2026-02-01T10:00:0{n}Z") for n in range(5)]
    lifecycle = ProjectLifecycle(settings(), ListingStub(archive), {}, {}, NOW)
    emitter, calls = recorder()
    lifecycle.run({}, emitter)
    kinds = [call[0] for call in calls]
    for index, kind in enumerate(kinds):
        if kind == "update":
            assert kinds[index + 1] == "delete"
            assert calls[index][2]["id"] == calls[index + 1][2]["id"]


def test_first_sync_uses_the_initial_window_and_later_ones_the_cursor():
    stub = ListingStub([entry(1, "project", 1, "2026-02-20T00:00:00Z")])
    lifecycle = ProjectLifecycle(settings(), stub, {}, {}, NOW)
    emitter, calls = recorder()
    lifecycle.run({}, emitter)
    first = stub.calls[0][1]
    assert first["created_at"] == ">=2025-12-01T12:00:00Z"  # 90 days before NOW
    assert first["sort"] == "created_at,id" and first["per_page"] == "2"

    saved = [call[1] for call in calls if call[0] == "checkpoint"][-1]
    stub.calls.clear()
    ProjectLifecycle(settings(), stub, saved, {}, NOW).run({}, recorder()[0])
    assert stub.calls[0][1]["created_at"] == ">=2026-02-19T23:55:00Z"  # cursor - lookback


def test_projects_synced_before_this_feature_read_the_listings_in_full():
    stub = ListingStub()
    synced_before = {"projects": TableState(cursor="2026-02-01T00:00:00Z")}
    lifecycle = ProjectLifecycle(settings(), stub, {"version": 1}, synced_before, NOW)
    lifecycle.run(dict(synced_before), recorder()[0])
    assert [query.get("created_at") for _, query in stub.calls] == [None, None]


def test_without_projects_nothing_is_read_and_the_saved_section_is_kept():
    stub = ListingStub([entry(1, "project", 1)])
    saved = with_lifecycle(dump_state({}), {"archive": TableState(cursor="2026-01-01T00:00:00Z")})
    lifecycle = ProjectLifecycle(settings(tables=("products",)), stub, saved, {}, NOW)
    assert lifecycle.run({}, recorder()[0]) is None
    assert stub.calls == []
    assert lifecycle.full_state(dump_state({}))[STATE_KEY] == saved[STATE_KEY]
    assert STATE_KEY not in ProjectLifecycle(
        settings(tables=("products",)), stub, {}, {}, NOW
    ).full_state(dump_state({}))


def test_table_checkpoints_carry_the_planned_lifecycle_walks():
    lifecycle = ProjectLifecycle(settings(), ListingStub(), {}, {}, NOW)
    emitter, calls = recorder()
    lifecycle.keep_in_checkpoints(emitter).checkpoint(dump_state({}))
    (state,) = [call[1] for call in calls]
    assert state[STATE_KEY]["archive"]["walk"]["query"] == {
        "op": ">=",
        "at": "2025-12-01T12:00:00Z",
    }


def test_a_lifecycle_cursor_in_the_future_is_refused_before_any_request():
    """It would make every later walk ask for entries created after it and skip them all."""
    stub = ListingStub([entry(1, "project", 1)])
    saved = with_lifecycle(dump_state({}), {"trash": TableState(cursor="2062-01-01T00:00:00Z")})
    with pytest.raises(StateError, match="'lifecycle.trash.cursor'"):
        ProjectLifecycle(settings(), stub, saved, {}, NOW)
    assert stub.calls == []
