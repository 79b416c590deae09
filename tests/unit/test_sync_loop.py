"""The sync loop against a tiny in-test API stub, for corners the simulator cannot produce:
next links that drop their parameters, and links that are refused again and again.

The stub implements only what these tests need: the updated_at/id filters, ascending
(updated_at, id) order, per_page, and next links carrying an offset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from fivetran_connector_sdk_common.logger import Logging

from xurrent_connector import progress as progress_module
from xurrent_connector.errors import XurrentApiError
from xurrent_connector.pagination import iter_pages
from xurrent_connector.state import load_state
from xurrent_connector.sync import Emitter, run_sync

API = "https://api.example.test/v1"
T1 = "2024-05-01T10:00:00Z"
T2 = "2024-05-01T10:00:05Z"


@pytest.fixture(autouse=True)
def log_level():
    previous = Logging.LOG_LEVEL
    Logging.LOG_LEVEL = Logging.Level.WARNING  # keep the test output quiet
    yield
    Logging.LOG_LEVEL = previous


@dataclass
class Response:
    data: list
    links: dict
    status: int = 200
    headers: dict = field(default_factory=dict)


class StubApi:
    """Serves /products from ``rows``; ``refuse_links`` answers every next link with 400."""

    def __init__(self, rows, *, refuse_links=False, bare_links=False):
        self.rows = sorted(rows, key=lambda row: (row["updated_at"], row["id"]))
        self.refuse_links = refuse_links
        self.bare_links = bare_links
        self.calls: list[tuple[str, dict]] = []
        self.stats = SimpleNamespace(requests=0, retries=0, throttled_429=0)

    def get(self, url, params=None):
        self.stats.requests += 1
        is_link = "://" in url
        query = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
        query.update(params or {})
        self.calls.append((url, query))
        if is_link and self.refuse_links:
            raise XurrentApiError("HTTP 400 (search_after is invalid)", status=400)
        matching = [row for row in self.rows if self._matches(row, query)]
        offset = int(query.get("offset", 0))
        per_page = int(query["per_page"])
        page = matching[offset : offset + per_page]
        links = {}
        if offset + per_page < len(matching):
            kept = (
                ""
                if self.bare_links
                else "&".join(f"{key}={value}" for key, value in query.items() if key != "offset")
            )
            links["next"] = f"{API}/products?offset={offset + per_page}&{kept}".rstrip("&")
        return Response([dict(row) for row in page], links)

    @staticmethod
    def _matches(row, query):
        moment = row["updated_at"]
        bound = query.get("updated_at")
        if bound:
            if bound.startswith(">="):
                if not moment >= bound[2:]:
                    return False
            elif bound.startswith(">"):
                if not moment > bound[1:]:
                    return False
            elif moment != bound:
                return False
        if "id" in query and not row["id"] > int(query["id"][1:]):
            return False
        return True


def settings(**overrides):
    values = dict(
        tables=("products",),
        api_url=API,
        initial_sync_days=None,
        enable_incremental_sync=True,
        lookback_minutes=5,
        max_records_per_page=2,
    )
    values.update(overrides)
    return SimpleNamespace(**values)


def recorder():
    """Records the ids of the data rows upserted (sync_health rows are health.py's to test)."""
    upserts, checkpoints = [], []

    def upsert(table, row):
        if table != "sync_health":
            upserts.append(row["id"])

    emitter = Emitter(upsert=upsert, checkpoint=lambda state: checkpoints.append(state))
    return emitter, upserts, checkpoints


def rows_at(moment, ids):
    return [{"id": row_id, "updated_at": moment, "name": f"p{row_id}"} for row_id in ids]


def test_bare_next_links_are_given_the_walk_parameters_back():
    api = StubApi(rows_at(T1, range(1, 8)), bare_links=True)
    emitter, upserts, _ = recorder()
    run_sync(settings(), {}, api, emitter=emitter)
    assert sorted(upserts) == list(range(1, 8))
    for url, query in api.calls:
        assert query["sort"] == "updated_at,id"
        assert query["per_page"] == "2"
        assert "name" in query["fields"].split(",")


def test_links_refused_every_time_still_finish_by_splitting_the_second():
    rows = rows_at(T1, range(1, 8)) + rows_at(T2, [20, 21, 22])
    api = StubApi(rows, refuse_links=True)
    emitter, upserts, checkpoints = recorder()
    final = run_sync(settings(), {}, api, emitter=emitter)

    assert set(upserts) == {row["id"] for row in rows}
    assert final["tables"]["products"] == {"cursor": T2, "walk": None}
    queries = [query for url, query in api.calls if "://" not in url]
    # After a second refusal at the same position, the restart is exact (by id), not inclusive.
    assert any(q.get("updated_at") == T1 and q.get("id", "").startswith(">") for q in queries)
    assert len(api.calls) < 40  # terminated, no loop
    for state in checkpoints:
        load_state(state)  # every checkpoint is a valid, loadable state


def test_checkpoint_after_every_page_and_a_final_one_per_table():
    api = StubApi(rows_at(T1, range(1, 6)))
    emitter, upserts, checkpoints = recorder()
    run_sync(settings(), {}, api, emitter=emitter)
    # Pages of 2, 2 and 1 rows, then the one committing the table's sync_health row.
    assert len(checkpoints) == 4
    assert checkpoints[0]["tables"]["products"]["walk"]["position"] == T1
    assert checkpoints[-1]["tables"]["products"] == {"cursor": T1, "walk": None}


def test_iter_pages_turns_a_400_on_the_first_request_into_an_api_error():
    class Refusing:
        def get(self, url, params=None):
            raise XurrentApiError("HTTP 400: bad filter", status=400)

    with pytest.raises(XurrentApiError):
        list(iter_pages(Refusing(), "/products", {"per_page": "2"}))


def test_progress_logs_at_milestones_not_per_page(monkeypatch):
    lines = []
    monkeypatch.setattr(progress_module.log, "info", lines.append)
    clock = [0.0]
    client = SimpleNamespace(
        stats=SimpleNamespace(
            snapshot=lambda: {
                "requests": 7,
                "retries": 1,
                "throttled_429": 0,
                "ratelimit_limit": 3600,
                "ratelimit_remaining": 3500,
            }
        )
    )
    table = progress_module.TableProgress("products", client, monotonic=lambda: clock[0])
    for _ in range(25):
        table.page(100, "2024-05-01T10:00:00Z")
        clock[0] += 0.1
    assert len(lines) == 2  # after pages 10 and 20
    assert "1000 rows in 10 pages" in lines[0] and "3500/3600" in lines[0]
    clock[0] += 31
    table.page(100, T1)
    assert len(lines) == 3  # 30 s passed
    summary = table.finished(T1)
    assert summary["rows"] == 2600 and summary["pages"] == 26
    assert "done, 2600 rows" in lines[-1]


def test_incremental_second_run_reads_from_cursor_minus_lookback():
    api = StubApi(rows_at(T1, [1]))
    emitter, _, _ = recorder()
    state = {"version": 1, "tables": {"products": {"cursor": T2, "walk": None}}}
    run_sync(settings(), state, api, emitter=emitter)
    assert api.calls[0][1]["updated_at"] == ">=2024-05-01T09:55:05Z"
