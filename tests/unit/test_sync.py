"""The walker against a small in-test API, for corners the simulator cannot produce: refused
cursors, listings of mixed record types, walks split at slow responses, fetching ahead.

The stub API takes the client's real signature (``get(path, params, metrics)``) and serves the
three documented cursor filters, ascending (timestamp, id) order, ``per_page`` and next links
carrying an ``offset`` cursor. It can refuse every cursor, and its archive and trash mix project
entries with entries of other record types, as the real listings do. Everything else is covered
end to end against the simulator in tests/integration.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from testkit import Recorder

from xurrent_connector.errors import StateError, XurrentApiError
from xurrent_connector.options import parse_settings
from xurrent_connector.state import load_state
from xurrent_connector.sync import WALKS_AT_ONCE, run_sync, unknown_fields

API = "https://api.example.test/v1"
T1 = "2024-05-01T10:00:00Z"
T2 = "2024-05-01T10:00:05Z"
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
WAIT_SECONDS = 5.0  # an upper bound for conditions that should hold almost at once


class StubApi:
    """Serves ``collections`` ({"/products": rows, "/archive": entries, ...})."""

    def __init__(self, collections, *, refuse_cursors=False, next_path=None, refused=None):
        self.collections = {
            path: sorted(
                rows, key=lambda row: (row.get("updated_at") or row["created_at"], row["id"])
            )
            for path, rows in collections.items()
        }
        self.refuse_cursors = refuse_cursors
        self.next_path = next_path
        #: {path: (status, from the n-th request of that path on)}, as a server that lacks a
        #: collection (404) or a token that lacks its scope (403) answers.
        self.refused = refused or {}
        self.calls: list[tuple[str, dict]] = []

    credentials_in_use = "primary"

    def get(self, path, params=None, metrics=None):
        if path == "/me":  # who the credentials belong to, for sync_health
            return SimpleNamespace(status=200, data={"id": 7, "name": "Stub User"}, links={})
        query = dict(params or {})
        self.calls.append((path, query))
        if metrics is not None:
            metrics.attempt("ok")
        status, after = self.refused.get(path, (None, 0))
        if status and sum(1 for called, _ in self.calls if called == path) > after:
            raise XurrentApiError(f"GET /v1{path} answered HTTP {status}.", status, "refused")
        if "offset" in query and self.refuse_cursors:
            raise XurrentApiError("HTTP 400 (search_after is invalid)", 400, "bad_request")
        field = query["sort"].split(",")[0]
        matching = [row for row in self.collections[path] if matches(row, field, query)]
        offset, per_page = int(query.get("offset", 0)), int(query["per_page"])
        links = {}
        if offset + per_page < len(matching):
            links["next"] = f"{API}{self.next_path or path}?offset={offset + per_page}"
        page = [dict(row) for row in matching[offset : offset + per_page]]
        return SimpleNamespace(
            status=200, data=page, links=links, headers={}, may_hold_surrogates=False
        )

    cancelled = False

    def cancel(self) -> None:
        """The sync stops the client this way when it fails."""
        self.cancelled = True


def matches(row, field, query) -> bool:
    moment, bound = row[field], query.get(field)
    if bound and bound.startswith(">="):
        return moment >= bound[2:]
    if bound and bound.startswith(">"):
        return moment > bound[1:]
    if bound:
        return moment == bound and row["id"] > int(query["id"][1:])
    return True


def settings(**overrides):
    configuration = {
        "account_id": "widget",
        "oauth_token": "stub-token",
        "base_url": API,
        "tables": "products",
        "initial_sync_days": "all",
        "max_records_per_page": "2",
    }
    configuration.update(overrides)
    return parse_settings(configuration)


def rows_at(moment, ids):
    return [{"id": row_id, "updated_at": moment, "name": f"p{row_id}"} for row_id in ids]


def sync(api, state=None, **overrides) -> tuple[Recorder, dict]:
    op = Recorder()
    final = run_sync(settings(**overrides), state or {}, api, op=op, now=lambda: NOW)
    return op, final


def product_ids(op: Recorder) -> list[int]:
    return [row["id"] for row in op.rows("products")]


# --- walking --------------------------------------------------------------------------------------


def test_every_page_is_asked_with_the_streams_own_parameters_and_the_cursor():
    """Next links carry only a cursor (``per_page`` and the rest may be missing): each page is
    requested with the stream's parameters and the link's cursor, from the configured API."""
    api = StubApi({"/products": rows_at(T1, range(1, 8))})
    op, _ = sync(api)
    assert sorted(product_ids(op)) == list(range(1, 8))
    assert [query.get("offset") for _, query in api.calls] == [None, "2", "4", "6"]
    for path, query in api.calls:
        assert path == "/products"
        assert query["sort"] == "updated_at,id" and query["per_page"] == "2"
        assert "name" in query["fields"].split(",")


def test_cursors_refused_every_time_still_finish_by_splitting_the_second():
    rows = rows_at(T1, range(1, 8)) + rows_at(T2, [20, 21, 22])
    api = StubApi({"/products": rows}, refuse_cursors=True)
    op, final = sync(api)

    assert set(product_ids(op)) == {row["id"] for row in rows}
    assert final["streams"]["products"] == {"cursor": T2, "walks": []}
    queries = [query for _, query in api.calls if "offset" not in query]
    # After a second refusal at the same position, the restart is exact (by id), not inclusive.
    assert any(q.get("updated_at") == T1 and q.get("id", "").startswith(">") for q in queries)
    assert len(api.calls) < 40  # terminated, no loop
    for state in op.states:
        load_state(state, NOW)  # every checkpoint is a valid, loadable state


def test_a_checkpoint_after_every_page_and_the_health_row_in_the_last_one():
    api = StubApi({"/products": rows_at(T1, range(1, 6))})
    op, _ = sync(api)
    kinds = [call[0] if call[0] == "checkpoint" else call[1] for call in op.calls]
    # Pages of 2, 2 and 1 rows; the last page's checkpoint also commits the sync_health row.
    assert kinds == ["products"] * 2 + ["checkpoint"] + ["products"] * 2 + ["checkpoint"] + [
        "products",
        "sync_health",
        "checkpoint",
    ]
    assert op.states[0]["streams"]["products"]["walks"][0]["position"] == T1
    assert op.states[-1]["streams"]["products"] == {"cursor": T1, "walks": []}
    (health,) = op.rows("sync_health")
    assert (health["status"], health["rows_upserted"], health["pages"]) == ("succeeded", 5, 3)


def test_a_400_on_a_request_without_cursor_is_an_error_not_a_restart():
    class Refusing(StubApi):
        def get(self, path, params=None, metrics=None):
            self.calls.append((path, params))
            raise XurrentApiError("HTTP 400: bad filter", 400, "bad_request")

    api = Refusing({"/products": []})
    with pytest.raises(XurrentApiError, match="bad filter"):
        sync(api)
    assert len(api.calls) == 1


def test_a_next_link_outside_the_streams_path_is_refused():
    api = StubApi({"/products": rows_at(T1, range(1, 8))}, next_path="/people")
    with pytest.raises(XurrentApiError, match="refusing to follow it"):
        sync(api)
    assert len(api.calls) == 1


def test_incremental_second_run_reads_from_cursor_minus_lookback():
    api = StubApi({"/products": rows_at(T1, [1])})
    state = {"version": 2, "streams": {"products": {"cursor": T2, "walks": []}}}
    sync(api, state)
    assert api.calls[0][1]["updated_at"] == ">=2024-05-01T09:55:05Z"


class UnknownFields(StubApi):
    """A server that answers 400 naming unknown fields while they are asked for."""

    def __init__(self, collections, unknown):
        super().__init__(collections)
        self.unknown = unknown

    def get(self, path, params=None, metrics=None):
        asked = set((params or {}).get("fields", "").split(","))
        if asked & self.unknown:
            self.calls.append((path, dict(params)))
            detail = "Unknown fields: " + ", ".join(sorted(asked & self.unknown))
            raise XurrentApiError(
                f"HTTP 400. Server message: {detail}.", 400, "bad_request", detail
            )
        return super().get(path, params, metrics)


def test_unknown_fields_are_dropped_for_the_sync_and_the_request_repeated():
    api = UnknownFields({"/products": rows_at(T1, range(1, 4))}, {"brand", "recurrence"})
    op, _ = sync(api)
    assert sorted(product_ids(op)) == [1, 2, 3]
    fields = [set(query["fields"].split(",")) for _, query in api.calls]
    assert {"brand", "recurrence"} <= fields[0]
    assert all(not {"brand", "recurrence"} & asked for asked in fields[1:])
    assert all("name" in asked for asked in fields)


def test_a_server_that_does_not_know_the_cursor_field_fails_the_sync():
    api = UnknownFields({"/products": rows_at(T1, [1])}, {"updated_at"})
    with pytest.raises(XurrentApiError, match="Unknown fields: updated_at"):
        sync(api)


def test_unknown_field_names_are_read_from_the_servers_message():
    assert unknown_fields("Unknown fields: workflow_template, recurrence") == {
        "workflow_template",
        "recurrence",
    }
    assert unknown_fields("Unknown field: nodeID.") == {"nodeID"}
    assert unknown_fields("Parameter 'search_after' is invalid") == set()
    assert unknown_fields("") == set()


# --- the archive and trash streams --------------------------------------------------------------


def entry(entry_id, kind, record_id, created_at, listing="archive"):
    verb = "archived" if listing == "archive" else "trashed"
    reference = {"id": record_id, "href": f"{API}/{kind}s/{record_id}", "display_name": "x"}
    return {"id": entry_id, "created_at": created_at, verb: kind, kind: reference}


def listings(archive=(), trash=(), projects=()):
    return StubApi({"/projects": list(projects), "/archive": list(archive), "/trash": list(trash)})


def test_other_record_types_in_the_listings_only_move_the_cursor():
    archive = [
        entry(1, "request", 500, "2026-02-01T10:00:00Z"),
        entry(2, "project", 10, "2026-02-01T10:00:01Z"),
        entry(3, "task", 501, "2026-02-01T10:00:02Z"),
        entry(4, "request", 502, "2026-02-01T10:00:03Z"),
    ]
    trash = [entry(5, "project", 11, "2026-02-02T08:00:00+01:00", "trash")]
    op, final = sync(listings(archive, trash), tables="projects")

    changes = [call for call in op.calls if call[0] in ("update", "delete")]
    moment = datetime.fromisoformat
    assert changes == [
        (
            "update",
            "projects",
            {"id": 10, "archived_at": moment("2026-02-01T10:00:01+00:00"), "trashed_at": None},
        ),
        ("delete", "projects", {"id": 10}),
        (
            "update",
            "projects",
            {"id": 11, "trashed_at": moment("2026-02-02T07:00:00+00:00"), "archived_at": None},
        ),
        ("delete", "projects", {"id": 11}),
    ]
    health = {row["table_name"]: row for row in op.rows("sync_health")}
    assert (health["archive"]["rows_deleted"], health["archive"]["pages"]) == (1, 2)
    assert (health["trash"]["rows_deleted"], health["trash"]["pages"]) == (1, 1)
    # The cursor reached the last entry of any type.
    assert final["streams"]["archive"] == {"cursor": "2026-02-01T10:00:03Z", "walks": []}
    assert final["streams"]["trash"] == {"cursor": "2026-02-02T07:00:00Z", "walks": []}


def test_update_and_delete_of_a_project_share_one_checkpoint_batch():
    """The SDK merges an update and a delete of one key only within a batch; a checkpoint
    between them would commit the update alone, and an update revives a deleted row."""
    archive = [entry(n, "project", 100 + n, f"2026-02-01T10:00:0{n}Z") for n in range(5)]
    op, _ = sync(listings(archive), tables="projects")
    kinds = [call[0] for call in op.calls]
    assert kinds.count("update") == 5
    for index, kind in enumerate(kinds):
        if kind == "update":
            assert kinds[index + 1] == "delete"
            assert op.calls[index][2]["id"] == op.calls[index + 1][2]["id"]


def test_the_listings_start_at_the_initial_window_then_at_their_cursor():
    api = listings([entry(1, "project", 1, "2026-02-20T00:00:00Z")])
    op = Recorder()
    run_sync(settings(tables="projects", initial_sync_days="90"), {}, api, op=op, now=lambda: NOW)
    first = dict(api.calls)["/archive"]
    assert first["created_at"] == ">=2025-12-01T12:00:00Z"  # 90 days before NOW
    assert first["sort"] == "created_at,id" and first["per_page"] == "2"
    assert "fields" not in first

    api.calls.clear()
    run_sync(settings(tables="projects"), op.states[-1], api, op=Recorder(), now=lambda: NOW)
    assert dict(api.calls)["/archive"]["created_at"] == ">=2026-02-19T23:55:00Z"


def test_without_projects_the_listings_are_not_read_and_their_state_is_kept():
    api = listings([entry(1, "project", 1, T1)])
    api.collections["/products"] = rows_at(T1, [1])
    saved = {"version": 2, "streams": {"archive": {"cursor": "2026-01-01T00:00:00Z"}}}
    _, final = sync(api, saved, tables="products")
    assert [path for path, _ in api.calls] == ["/products"]
    assert final["streams"]["archive"] == {"cursor": "2026-01-01T00:00:00Z", "walks": []}


def test_every_checkpoint_carries_the_planned_walks_of_the_whole_sync():
    """A sync that fails before reaching the listings resumes them from this sync's plan."""
    op, _ = sync(listings(projects=rows_at(T1, [1, 2, 3])), tables="projects")
    first = op.states[0]["streams"]
    assert first["archive"]["walks"] == [{"query": {"op": ">=", "at": None}}]
    assert first["trash"]["walks"] == [{"query": {"op": ">=", "at": None}}]


def test_a_cursor_in_the_future_is_refused_before_any_request():
    """It would make every later walk ask for entries created after it and skip them all."""
    api = listings([entry(1, "project", 1, T1)])
    saved = {"version": 2, "streams": {"trash": {"cursor": "2062-01-01T00:00:00Z"}}}
    with pytest.raises(StateError, match="'streams.trash.cursor'"):
        sync(api, saved, tables="projects")
    assert api.calls == []


# --- fetching ahead, and walks split in ranges ---------------------------------------------------


class TimedApi(StubApi):
    """A ``StubApi`` that reports ``seconds`` per answer to the metrics (as the real client
    reports each response time), can fail one path after some pages, can hold its answers
    until released, and stops answering once cancelled, as the real client does."""

    def __init__(self, collections, seconds=0.0, fail_path=None, fail_after=None):
        super().__init__(collections)
        self.seconds, self.fail_path, self.fail_after = seconds, fail_path, fail_after
        self.cancelled = False
        self.released = threading.Event()
        self.released.set()
        self.lock = threading.Lock()

    def get(self, path, params=None, metrics=None):
        if path == "/me":
            return super().get(path, params, metrics)
        self.released.wait(WAIT_SECONDS)
        if self.cancelled:
            raise XurrentApiError("The sync was stopped.", kind="cancelled")
        with self.lock:
            done = sum(1 for called, _ in self.calls if called == path)
            if path == self.fail_path and done >= self.fail_after:
                self.calls.append((path, dict(params)))
                raise XurrentApiError("HTTP 503 after 3 attempts", 503, "server_error")
            response = super().get(path, params, None)
        if metrics is not None:
            metrics.attempt("ok", self.seconds)
        return response


def spread(count, start="2024-01-01T00:00:00Z", hours=6):
    """``count`` products updated ``hours`` apart."""
    first = datetime.fromisoformat(start)
    return [
        {
            "id": number,
            "updated_at": (first + timedelta(hours=hours * number)).isoformat()[:-6] + "Z",
            "name": f"p{number}",
        }
        for number in range(1, count + 1)
    ]


def walks_started(api, path) -> int:
    return sum(1 for called, query in api.calls if called == path and "offset" not in query)


def test_at_slow_responses_a_walk_is_split_and_every_row_is_written_once():
    rows = spread(60)
    api = TimedApi({"/products": rows}, seconds=0.5)  # one walk: 2 pages a second, not 10
    op, final = sync(api, max_records_per_page="3")
    assert sorted(product_ids(op)) == [row["id"] for row in rows]  # each exactly once
    assert 2 <= walks_started(api, "/products") <= len(rows) // 3
    # The topmost walk's range (it ends an hour before the sync) read nothing: the cursor is
    # the newest row read, not that walk's start, which only this machine's clock vouches for.
    assert final["streams"]["products"]["cursor"] == rows[-1]["updated_at"]
    assert final["streams"]["products"]["walks"] == []
    for state in op.states:  # every checkpoint loads (its walks in range order)
        load_state(state, NOW)
    assert max(len(state["streams"]["products"]["walks"]) for state in op.states) > 1
    (health,) = op.rows("sync_health")
    assert health["rows_upserted"] == len(rows) and health["requests"] == len(api.calls)


def test_at_fast_responses_one_walk_reads_the_stream():
    rows = spread(60)
    api = TimedApi({"/products": rows}, seconds=0.01)
    op, _ = sync(api, max_records_per_page="3")
    assert walks_started(api, "/products") == 1
    assert len(api.calls) == 20 and sorted(product_ids(op)) == [row["id"] for row in rows]


def test_no_more_walks_are_in_flight_than_the_limit():
    rows = spread(300, hours=1)
    api = TimedApi({"/products": rows}, seconds=5.0)  # wants far more walks than allowed
    op, _ = sync(api, max_records_per_page="3")
    assert sorted(product_ids(op)) == [row["id"] for row in rows]
    widest = max(len(state["streams"]["products"]["walks"]) for state in op.states)
    assert widest == WALKS_AT_ONCE


class HoldingRecorder(Recorder):
    """Writes wait while ``hold`` is set, as a slow destination would."""

    def __init__(self):
        super().__init__()
        self.hold = threading.Event()
        self.written = threading.Event()

    def upsert(self, table, data):
        self.written.set()
        while self.hold.is_set():
            time.sleep(0.005)
        super().upsert(table, data)


def test_a_walk_is_one_page_ahead_of_the_writes_never_more():
    api = TimedApi({"/products": spread(30)})
    op = HoldingRecorder()
    op.hold.set()  # the first page's first write blocks
    worker = threading.Thread(
        target=run_sync, args=(settings(max_records_per_page="3"), {}, api), kwargs={"op": op}
    )
    worker.start()
    try:
        assert op.written.wait(WAIT_SECONDS)
        assert wait_until(lambda: len(api.calls) == 2)  # the next page is fetched meanwhile
        time.sleep(0.05)  # room for a (wrong) third request; no timing is asserted
        assert len(api.calls) == 2
    finally:
        op.hold.clear()
        worker.join(WAIT_SECONDS)
    assert len(product_ids(op)) == 30


def test_a_failed_walk_comes_after_the_pages_fetched_before_it_and_stops_the_others():
    api = TimedApi(
        {"/products": spread(40), "/organizations": spread(400, hours=1)},
        fail_path="/products",
        fail_after=2,
    )
    op = Recorder()
    with pytest.raises(XurrentApiError, match="HTTP 503"):
        run_sync(settings(tables="organizations,products"), {}, api, op=op, now=lambda: NOW)
    assert api.cancelled
    assert len(product_ids(op)) == 4  # the two pages fetched before the failure
    organizations = [row["id"] for row in op.rows("organizations")]
    assert organizations == list(range(1, len(organizations) + 1))  # in order, none lost
    calls = len(api.calls)
    assert wait_until(lambda: not walk_threads())
    assert len(api.calls) == calls  # nothing after the stop
    health = {row["table_name"]: row["status"] for row in op.rows("sync_health")}
    assert health == {"organizations": "failed", "products": "failed"}


def test_an_error_in_the_writes_stops_every_walk():
    class Failing(Recorder):
        def upsert(self, table, data):
            raise ValueError("bad record")

    api = TimedApi({"/products": spread(40), "/organizations": spread(400, hours=1)})
    with pytest.raises(ValueError):
        run_sync(settings(tables="organizations,products"), {}, api, op=Failing(), now=lambda: NOW)
    assert api.cancelled
    calls = len(api.calls)
    assert wait_until(lambda: not walk_threads())
    assert len(api.calls) == calls  # nothing after the stop


def wait_until(condition) -> bool:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline and not condition():
        time.sleep(0.005)
    return condition()


def walk_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("xurrent-walk")]


# --- tables the API refuses to list --------------------------------------------------------------


def teams_at(moment, ids):
    return [{"id": row_id, "updated_at": moment, "name": f"t{row_id}"} for row_id in ids]


@pytest.mark.parametrize("status, words", [(403, "lacks the read scope"), (404, "does not have")])
def test_a_table_the_api_refuses_is_skipped_visibly_and_the_others_sync(status, words):
    api = StubApi(
        {"/products": rows_at(T1, range(1, 6)), "/teams": teams_at(T1, [1])},
        refused={"/teams": (status, 0)},
    )
    op, final = sync(api, tables="products,teams")
    assert sorted(product_ids(op)) == [1, 2, 3, 4, 5]
    warnings = [call[1] for call in op.calls if call[0] == "warning"]
    assert len(warnings) == 1 and "teams" in warnings[0] and words in warnings[0]
    health = {row["table_name"]: row for row in op.rows("sync_health")}
    assert health["teams"]["status"] == "skipped" and words in health["teams"]["error"]
    assert health["products"]["status"] == "succeeded"
    assert final["streams"]["teams"]["cursor"] is None  # nothing read: the next sync starts over


def test_a_table_refused_after_its_first_page_keeps_that_page_and_resumes_there():
    api = StubApi(
        {"/teams": teams_at(T1, range(1, 6)), "/products": rows_at(T1, [1])},
        refused={"/teams": (403, 1)},
    )
    op, final = sync(api, tables="teams,products", max_records_per_page="2")
    assert [row["id"] for row in op.rows("teams")] == [1, 2]
    walk = final["streams"]["teams"]["walks"][0]
    assert (walk["position"], walk["last_id"]) == (T1, 2)
    api.refused = {}
    op, final = sync(api, final, tables="teams,products", max_records_per_page="2")
    assert [row["id"] for row in op.rows("teams")][-3:] == [3, 4, 5]
    assert final["streams"]["teams"]["walks"] == []


def test_a_sync_that_can_read_none_of_its_tables_fails_naming_why():
    api = StubApi(
        {"/products": [], "/teams": []},
        refused={"/products": (403, 0), "/teams": (404, 0)},
    )
    op = Recorder()
    with pytest.raises(XurrentApiError, match="None of the selected tables could be read"):
        run_sync(settings(tables="products,teams"), {}, api, op=op, now=lambda: NOW)
    assert {row["status"] for row in op.rows("sync_health")} == {"skipped"}


# --- a server whose pages loop, repeat or hold odd records ----------------------------------------


class PagedApi(StubApi):
    """Serves fixed pages of products: page ``n`` is ``pages[n]`` and links to
    ``links[n]`` (None: the last page), whatever the filter says. Links may point back."""

    def __init__(self, pages, links):
        super().__init__({"/products": []})
        self.pages, self.links = pages, links

    def get(self, path, params=None, metrics=None):
        if path == "/me":
            return super().get(path, params, metrics)
        self.calls.append((path, dict(params or {})))
        offset = int((params or {}).get("offset", 0))
        following = self.links[offset]
        links = {} if following is None else {"next": f"{API}/products?offset={following}"}
        return SimpleNamespace(
            status=200,
            data=[dict(row) if isinstance(row, dict) else row for row in self.pages[offset]],
            links=links,
            headers={},
            may_hold_surrogates=False,
        )


P0, P1, P2 = rows_at(T1, [1, 2]), rows_at(T1, [3, 4]), rows_at(T2, [5, 6])


def failed_health(op: Recorder) -> dict:
    (health,) = op.rows("sync_health")
    assert health["status"] == "failed"
    return health


@pytest.mark.parametrize("back_to", [2, 1])
def test_a_next_link_repeating_a_followed_cursor_ends_the_sync_without_asking_again(back_to):
    api = PagedApi([P0, P1, P2], [1, 2, back_to])
    op = Recorder()
    with pytest.raises(XurrentApiError, match="pagination loops") as caught:
        run_sync(settings(), {}, api, op=op, now=lambda: NOW)
    assert caught.value.kind == "pagination_loop"
    assert (
        f"products: the API linked to a page cursor this walk has followed already (at "
        f"updated_at {T2}, id 6)" in str(caught.value)
    )
    assert len(api.calls) == 3  # the repeated cursor is never asked for
    assert product_ids(op) == [1, 2, 3, 4, 5, 6]  # the page with the loop is written too
    (walk,) = op.states[-1]["streams"]["products"]["walks"]
    assert walk["position"] == T2 and walk["last_id"] == 6
    assert "pagination loops" in failed_health(op)["error"]
    # Fixed, the server lets the next sync resume from the saved cursor and finish.
    fixed = PagedApi([P0, P1, P2, rows_at(T2, [7])], [1, 2, 3, None])
    op, final = sync(fixed, op.states[-1])
    assert fixed.calls[0][1]["offset"] == str(back_to)
    assert product_ids(op)[-1] == 7 and final["streams"]["products"]["walks"] == []


def test_the_same_page_under_a_fresh_cursor_costs_one_request():
    api = PagedApi([P0, P1, P1, P2], [1, 2, 3, None])
    op = Recorder()
    with pytest.raises(XurrentApiError, match="answered a page this walk has read already"):
        run_sync(settings(), {}, api, op=op, now=lambda: NOW)
    assert len(api.calls) == 3
    assert product_ids(op) == [1, 2, 3, 4]
    assert op.states[-1]["streams"]["products"]["walks"][0]["last_id"] == 4


def test_one_empty_page_that_links_on_is_followed_a_second_one_ends_the_walk():
    op, _ = sync(PagedApi([P0, [], P2], [1, 2, None]))
    assert product_ids(op) == [1, 2, 5, 6]
    api = PagedApi([P0, [], [], P2], [1, 2, 3, None])
    with pytest.raises(XurrentApiError, match="answered a page this walk has read already"):
        sync(api)
    assert len(api.calls) == 3


def test_an_empty_page_that_links_on_to_an_empty_last_page_ends_the_walk_cleanly():
    """An empty collection's one (empty, linkless) page after a stray empty page that linked
    on: the walk is over, nothing loops."""
    api = PagedApi([[], []], [1, None])
    op, final = sync(api)
    assert len(api.calls) == 2 and product_ids(op) == []
    assert final["streams"]["products"]["walks"] == []
    (health,) = op.rows("sync_health")
    assert health["status"] == "succeeded"


def test_a_page_larger_than_per_page_is_taken_whole():
    op, final = sync(PagedApi([P0 + P1 + P2, rows_at(T2, [7])], [1, None]))
    assert product_ids(op) == [1, 2, 3, 4, 5, 6, 7]
    assert final["streams"]["products"] == {"cursor": T2, "walks": []}


def test_a_record_without_an_id_is_skipped_and_one_without_its_cursor_lands_behind_it():
    page = [
        {"id": 1, "updated_at": T1, "name": "first"},
        {"updated_at": T2, "name": "no id"},
        "not even an object",
        {"id": 3, "name": "no updated_at"},
    ]
    op, final = sync(PagedApi([page], [None]))
    assert product_ids(op) == [1, 3]
    assert op.rows("products")[1]["updated_at"] is None
    # The cursor moves to the last moment the API stamped on a row that landed.
    assert final["streams"]["products"] == {"cursor": T1, "walks": []}
    (health,) = op.rows("sync_health")
    assert (health["status"], health["skipped_records"], health["repaired_values"]) == (
        "succeeded",
        2,
        1,
    )
    skipped, missing = sorted(op.warnings())
    assert skipped.startswith(
        f"products: a record without a usable id (at updated_at {T2}) cannot become a row"
    )
    assert "column updated_at of record 3 has none" in missing
