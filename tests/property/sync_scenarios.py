"""Scenarios for the property test: what hypothesis draws, and how one scenario is played.

A scenario is a data set (sizes, blocks of identical ``updated_at``, rows around daylight-saving
changes, rows older than the initial window, odd records: half an emoji, a value of the wrong
type, no ``id``, no ``updated_at``), connector options (tables, page size, walk cap, window,
lookback, retry attempts, token or client credentials) and a sequence of syncs. Before and
during each sync (at an exact API request number, through a simulator request hook) rows are
inserted and updated; faults hit chosen requests (5xx, 429 with seconds, HTTP-date or unusable
``Retry-After``, timeouts, trickling bodies, dropped connections, malformed and truncated
bodies, HTML pages, empty, oversize and looping pages), access tokens expire, and a burst of
``retry_attempts`` faults crashes the sync at any page. The next sync resumes from the
state.json the SDK wrote. A final clean sync must then leave the warehouse equal to the
simulator's ground truth for the window, odd records as they should land.

The oracle is independent of the connector: expected rows come from ``testkit``
(written from the simulator's field kinds), the window from the wall clock around the runs,
and whether a failed sync was allowed to fail from the simulator's own request log.

This module is named uniquely (not ``conftest``/``strategies``) so it imports unambiguously.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from unittest import mock
from dataclasses import dataclass, field
from datetime import datetime

from hypothesis import strategies as st
from testkit import (
    ACCOUNT,
    ALL_TABLES,
    TOKEN,
    ConnectorRunner,
    collection_of,
    configuration_for,
    landed_as,
    mismatches,
    read_table,
)

import xurrent_connector.sync as sync_module
from simulator import SimConfig, Simulator
from simulator.hostile import fault_applies

TABLES = ALL_TABLES
#: Tables one scenario syncs at most: each costs the SDK's runner work at every checkpoint.
MAX_TABLES = 4

#: Distinctive so that a leak is unambiguous in any text (the session scanner knows it too).
CLIENT_ID = "property-client"
CLIENT_SECRET = "csec-PrOpErTy-6e1f0b9d4c27"

#: The client gives up after this long; a simulated "timeout" fault answers only after
#: SIM_TIMEOUT_SECONDS. Pages are served in milliseconds, so real slowness never looks like
#: a timeout, and a timeout fault costs half a second of wall time.
CLIENT_TIMEOUT_SECONDS = 0.5
SIM_TIMEOUT_SECONDS = 0.8

#: A connector that loops would otherwise hang the test until pytest-timeout kills it.
MAX_REQUESTS_PER_SYNC = 1500
#: Request numbers that faults and mutations are drawn from (a sync here makes 3-60 requests;
#: hypothesis favours small data, so most make fewer than 16).
MAX_EVENT_SEQ = 16
#: A crash early enough that most syncs reach it.
MAX_CRASH_SEQ = 10

#: A late write is at most lookback minus this many seconds late: a scenario takes seconds to
#: a minute on a loaded machine, and the final sync's lookback counts from its cursor.
LATE_WRITE_SLACK_SECONDS = 300

#: Faults a burst of retry_attempts of crashes a sync with (a trickle takes as long as a
#: timeout, CLIENT_TIMEOUT_SECONDS: it is drawn as a single fault only, to keep the time down).
CRASH_KINDS = ("500", "502", "503", "504", "timeout", "drop", "malformed", "truncated", "html")
#: Faults that use up retry_attempts (429s have their own throttle budget).
RETRIED_KINDS = CRASH_KINDS + ("trickle",)
#: Pages that loop: the walk (and the sync) stops with a clear error, the next one resumes.
LOOP_KINDS = ("repeat_cursor", "repeat_page")
FAULT_KINDS = RETRIED_KINDS + ("429", "empty_page", "oversize_page") + LOOP_KINDS
#: What a 429 may say in Retry-After (None: the simulator's own seconds or date).
RETRY_AFTER_TEXTS = (None, "soon", "", "-5", "1.5", "NaN", "99999999999")
#: Odd records (simulator/hostile.py) that every table can have.
RECORD_FAULT_KINDS = (
    "lone_surrogate",
    "lone_surrogate_in_json",
    "text_for_number",
    "object_for_text",
    "text_for_reference",
    "no_id",
    "no_updated_at",
    "bad_updated_at",
)


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


#: Instants around recent daylight-saving changes: 01:30 local happens twice on the US fall-back
#: day (EDT and EST), 02:30 twice in Amsterdam, and the spring-forward edges. Rows stamped here
#: render with offsets that differ by an hour for the same wall-clock time.
DST_MOMENTS = tuple(
    _epoch(text)
    for text in (
        "2026-11-01T05:30:00Z",  # 01:30 EDT, New York
        "2026-11-01T06:30:00Z",  # 01:30 EST, New York; 01:30 CDT, Chicago
        "2026-11-01T07:30:00Z",  # 01:30 CST, Chicago
        "2026-10-25T00:30:00Z",  # 02:30 CEST, Amsterdam
        "2026-10-25T01:30:00Z",  # 02:30 CET, Amsterdam
        "2026-03-08T06:59:59Z",  # last second of EST before the US spring-forward
        "2026-03-08T07:00:00Z",  # first second of EDT
        "2026-03-29T00:59:59Z",  # last second of CET
        "2026-03-29T01:00:00Z",  # first second of CEST
    )
)

#: Anchors (newest generated row) just after a DST change, so whole data sets straddle it.
DST_ANCHORS = ("2026-11-01T09:00:00Z", "2026-10-25T03:00:00Z", "2026-03-08T09:00:00Z")


# --- the scenario -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mutation:
    """A change to the source data.

    ``kind``: ``first``/``last`` update the oldest/newest rows of the window (in a walk sorted by
    updated_at these were already returned / are not yet returned), ``outside`` updates rows
    older than the window (they move into it), ``any`` updates random rows, ``insert`` adds
    rows, ``late`` updates rows with an updated_at ``seconds_late`` in the past (a late write,
    within the lookback), ``dst`` stamps rows with a DST moment (initial data only).
    """

    kind: str
    table: str
    count: int
    seconds_late: int = 0
    moment: int = 0


@dataclass(frozen=True)
class SyncStep:
    """One sync and what happens around it. Numbers are API request numbers of that sync."""

    before: tuple[Mutation, ...] = ()
    during: tuple[tuple[int, Mutation], ...] = ()
    faults: tuple[tuple[int, str], ...] = ()
    crash_at: int | None = None
    crash_kind: str = "503"
    token_expiry_at: int | None = None


@dataclass(frozen=True)
class Scenario:
    counts: tuple[tuple[str, int], ...]  # rows per collection, every collection
    tie_block_size: int
    tie_blocks: int
    history_days: int
    anchor: str | None
    initial: tuple[Mutation, ...]
    tables: tuple[str, ...]
    per_page: int
    walk_cap: int
    throttled_header: str
    initial_sync_days: int | None
    incremental: bool
    lookback_minutes: int
    retry_attempts: int
    client_credentials: bool
    retry_after_format: str
    walks_at_once: int  # 1: walks are never split; more: split whenever a walk allows it
    steps: tuple[SyncStep, ...]
    retry_after_text: str | None = None
    burst_429_budget: str = "zero"
    #: (kind, table, index into the table's ids): records odd from the start to the end.
    record_faults: tuple[tuple[str, str, int], ...] = ()

    def configuration(self, sim: Simulator) -> dict:
        configuration = configuration_for(
            sim,
            tables=",".join(self.tables),
            max_records_per_page=self.per_page,
            initial_sync_days="all" if self.initial_sync_days is None else self.initial_sync_days,
            enable_incremental_sync="true" if self.incremental else "false",
            lookback_minutes=self.lookback_minutes,
            retry_attempts=self.retry_attempts,
        )
        if self.client_credentials:
            del configuration["oauth_token"]
            configuration.update(
                client_id=CLIENT_ID, client_secret=CLIENT_SECRET, token_url=sim.token_url
            )
        return configuration


# --- strategies ---------------------------------------------------------------------------------


def mutations(tables: tuple[str, ...], lookback_minutes: int) -> st.SearchStrategy[Mutation]:
    kinds = ["first", "last", "outside", "any", "insert"]
    if lookback_minutes * 60 > LATE_WRITE_SLACK_SECONDS:
        kinds.append("late")
    return st.builds(
        Mutation,
        kind=st.sampled_from(kinds),
        table=st.sampled_from(tables),
        count=st.integers(1, 4),
        # Late by less than the lookback, minus slack for the scenario's own runtime.
        seconds_late=st.integers(1, max(1, lookback_minutes * 60 - LATE_WRITE_SLACK_SECONDS)),
    )


@st.composite
def sync_steps(draw, tables, lookback_minutes: int, client_credentials: bool) -> SyncStep:
    event_seq = st.integers(1, MAX_EVENT_SEQ)
    return SyncStep(
        before=tuple(draw(st.lists(mutations(tables, lookback_minutes), max_size=2))),
        during=tuple(
            draw(st.lists(st.tuples(event_seq, mutations(tables, lookback_minutes)), max_size=3))
        ),
        faults=tuple(
            draw(st.lists(st.tuples(event_seq, st.sampled_from(FAULT_KINDS)), max_size=4))
        ),
        crash_at=draw(st.none() | st.integers(1, MAX_CRASH_SEQ)),
        crash_kind=draw(st.sampled_from(CRASH_KINDS)),
        token_expiry_at=draw(st.none() | event_seq) if client_credentials else None,
    )


@st.composite
def scenarios(draw) -> Scenario:
    history_days = draw(st.sampled_from((60, 1, 3, 20, 400)))
    anchor = draw(st.none() | st.sampled_from(DST_ANCHORS))
    chosen = draw(st.sets(st.sampled_from(TABLES), min_size=1, max_size=MAX_TABLES))
    tables = tuple(name for name in TABLES if name in chosen)
    lookback_minutes = draw(st.sampled_from((10, 0, 1, 30)))
    client_credentials = draw(st.booleans())
    initial = draw(
        st.lists(
            st.builds(
                Mutation,
                kind=st.just("dst"),
                table=st.sampled_from(tables),
                count=st.integers(1, 3),
                moment=st.sampled_from(DST_MOMENTS),
            ),
            max_size=3,
        )
    )
    sizes = {"organizations": (0, 20), "products": (3, 30), "projects": (0, 14)}
    counts = tuple(
        (collection_of(table), draw(st.integers(*sizes.get(table, (0, 15))))) for table in TABLES
    )
    return Scenario(
        counts=counts,
        tie_block_size=draw(st.sampled_from((0, 4, 8, 12))),
        tie_blocks=draw(st.integers(1, 2)),
        history_days=history_days,
        anchor=anchor,
        initial=tuple(initial),
        tables=tables,
        per_page=draw(st.integers(3, 7)),
        walk_cap=draw(st.sampled_from((100000, 2, 4, 6, 10))),
        throttled_header=draw(st.sampled_from(("walk", "cap_page"))),
        initial_sync_days=draw(st.none() | st.sampled_from((10, 1, 2, 30, 300))),
        incremental=draw(st.booleans()),
        lookback_minutes=lookback_minutes,
        retry_attempts=draw(st.integers(1, 3)),
        client_credentials=client_credentials,
        retry_after_format=draw(st.sampled_from(("seconds", "http-date"))),
        walks_at_once=draw(st.sampled_from((4, 1, 2, 8))),
        retry_after_text=draw(st.sampled_from(RETRY_AFTER_TEXTS)),
        burst_429_budget=draw(st.sampled_from(("zero", "actual"))),
        record_faults=tuple(
            draw(
                st.lists(
                    st.tuples(
                        st.sampled_from(RECORD_FAULT_KINDS),
                        st.sampled_from(tables),
                        st.integers(0, 1000),
                    ).filter(lambda fault: fault_applies(fault[0], collection_of(fault[1]))),
                    max_size=1,  # two rows without updated_at could fill a capped walk
                )
            )
        ),
        steps=tuple(
            draw(
                st.lists(
                    sync_steps(tables, lookback_minutes, client_credentials),
                    min_size=1,
                    max_size=4,
                )
            )
        ),
    )


# --- playing a scenario -------------------------------------------------------------------------


@dataclass
class Outcome:
    """What a played scenario showed; ``problems`` is empty when every property held."""

    problems: list[str] = field(default_factory=list)
    syncs: int = 0
    crashed_syncs: int = 0
    requests: int = 0
    faults_served: dict = field(default_factory=dict)
    rows_expected: int = 0
    unauthorized_401: int = 0  # expired tokens the client refreshed
    looped_syncs: int = 0  # syncs stopped by pages that loop
    id_split_requests: int = 0  # pages of walks inside one second (updated_at=T and id>N)
    extra_walk_starts: int = 0  # walks begun on a collection after its first in one sync
    texts: list[str] = field(default_factory=list)  # every output, error and state written


def _starts_walk(query: dict) -> bool:
    """A first page: no cursor into a result set and no id bound inside one second."""
    return "search_after" not in query and "id" not in query


class _Events:
    """The simulator request hook: mutations and token expiry at exact request numbers."""

    def __init__(self, player: "ScenarioPlayer"):
        self.player = player
        self.during: dict[int, list[Mutation]] = {}
        self.token_expiry_at: int | None = None
        self.runaway = False

    def arm(self, step: SyncStep | None) -> None:
        self.during = {}
        self.token_expiry_at = None
        if step is not None:
            for seq, mutation in step.during:
                self.during.setdefault(seq, []).append(mutation)
            self.token_expiry_at = step.token_expiry_at

    def __call__(self, sim: Simulator, info: dict) -> None:
        seq = info["seq"]
        for mutation in self.during.pop(seq, ()):
            self.player.apply(mutation)
        if seq == self.token_expiry_at:
            with sim._lock:
                for token in sim.tokens.values():
                    if token.user.startswith("client:"):
                        token.expires_at = time.time() - 1
        if seq > MAX_REQUESTS_PER_SYNC and not self.runaway:
            self.runaway = True
            sim.configure(drop_rate=1.0)  # end the run: every request from now on fails


class ScenarioPlayer:
    """Plays one scenario against a fresh simulator through the SDK's real runner."""

    def __init__(self, scenario: Scenario, project_dir: str, capsys):
        self.scenario = scenario
        self.project_dir = project_dir
        self.capsys = capsys
        self.sim: Simulator | None = None
        self.window_days = scenario.initial_sync_days

    # --- source mutations -------------------------------------------------------------------

    def _window_start(self) -> float | None:
        if self.window_days is None:
            return None
        return time.time() - self.window_days * 86400

    def apply(self, mutation: Mutation) -> None:
        sim = self.sim
        collection = collection_of(mutation.table)
        if mutation.kind == "insert":
            sim.insert_rows(collection, mutation.count)
            return
        if mutation.kind == "any":
            sim.update_rows(collection, count=mutation.count)
            return
        ordered = sorted(
            (_epoch(record["updated_at"]), record["id"]) for record in sim.ground_truth(collection)
        )
        start = self._window_start()
        inside = [row_id for moment, row_id in ordered if start is None or moment >= start]
        outside = [row_id for moment, row_id in ordered if start is not None and moment < start]
        if mutation.kind == "first":
            ids = inside[: mutation.count]
        elif mutation.kind == "last":
            ids = inside[-mutation.count :]
        elif mutation.kind == "outside":
            ids = outside[-mutation.count :]
        else:  # late, dst: spread over the table
            ids = [row_id for _, row_id in ordered][:: max(1, len(ordered) // 3)][: mutation.count]
        if not ids:
            return
        if mutation.kind == "late":
            sim.update_rows(collection, ids=ids, at=int(time.time()) - mutation.seconds_late)
        elif mutation.kind == "dst":
            sim.update_rows(collection, ids=ids, at=mutation.moment)
        else:
            sim.update_rows(collection, ids=ids)

    def _record_faults(self) -> dict:
        """The scenario's odd records, on ids of the initial data."""
        faults = {}
        for kind, table, index in self.scenario.record_faults:
            collection = collection_of(table)
            ids = sorted(record["id"] for record in self.sim.ground_truth(collection))
            if ids:
                faults[f"{collection}/{ids[index % len(ids)]}"] = kind
        return faults

    # --- the run ----------------------------------------------------------------------------

    def play(self) -> Outcome:
        scenario = self.scenario
        config = SimConfig(
            token=TOKEN,
            account=ACCOUNT,
            **dict(scenario.counts),
            tie_block_size=scenario.tie_block_size,
            tie_blocks=scenario.tie_blocks,
            history_days=scenario.history_days,
            anchor=scenario.anchor,
            rate_limit=False,
            latency_ms=0,
            walk_cap=scenario.walk_cap,
            throttled_header=scenario.throttled_header,
            retry_after_format=scenario.retry_after_format,
            retry_after_text=scenario.retry_after_text,
            burst_429_budget=scenario.burst_429_budget,
            timeout_seconds=SIM_TIMEOUT_SECONDS,
            clients={CLIENT_ID: CLIENT_SECRET},
        )
        outcome = Outcome()
        with Simulator(config) as sim:
            self.sim = sim
            events = _Events(self)
            sim.add_request_hook(events)
            for mutation in scenario.initial:
                self.apply(mutation)
            sim.configure(record_faults=self._record_faults())
            runner = ConnectorRunner(self.project_dir, self.capsys)
            runner.client_settings_overrides = {"request_timeout_seconds": CLIENT_TIMEOUT_SECONDS}
            configuration = scenario.configuration(sim)
            first_started = time.time()
            # Response times on loopback never ask for a second walk: ask for as many as
            # the scenario allows, whatever the response time.
            with mock.patch.multiple(
                sync_module, WALKS_AT_ONCE=scenario.walks_at_once, WALKS_PER_RATE_SECOND=1e9
            ):
                final_started, final_finished = self._syncs(runner, configuration, events, outcome)
            self._compare(runner, outcome, first_started, final_started, final_finished)
            outcome.texts += self._texts_written()
            issued = [token for token, info in sim.tokens.items() if info.user != "user:api"]
            self._scan_for_secrets(outcome, [TOKEN, CLIENT_SECRET, *issued])
        return outcome

    def _syncs(self, runner, configuration, events, outcome) -> tuple[float, float]:
        """The scenario's syncs, then the ones that finish its work; returns when the final
        clean sync started and finished."""
        for number, step in enumerate(self.scenario.steps, start=1):
            for mutation in step.before:
                self.apply(mutation)
            self._sync(runner, configuration, step, events, outcome, f"sync {number}")
        if _open_walks(runner.saved_state()):
            # The last sync crashed: the next run resumes its walk where it stopped. A
            # late write behind that walk's position is, by design, caught by the lookback
            # of the sync after it (as in production), so finish the walk first.
            self._sync(runner, configuration, None, events, outcome, "clean resume")
        final_started = time.time()
        self._sync(runner, configuration, None, events, outcome, "final clean sync")
        return final_started, time.time()

    def _sync(self, runner, configuration, step, events, outcome, label) -> None:
        sim = self.sim
        sim.reset_stats()
        schedule = {}
        if step is not None:
            schedule.update({seq: kind for seq, kind in step.faults})
            if step.crash_at is not None:
                for offset in range(self.scenario.retry_attempts):
                    schedule[step.crash_at + offset] = step.crash_kind
        sim.configure(fault_schedule=schedule, drop_rate=0.0)
        events.arm(step)
        result = runner.run(configuration, expect_failure=None)
        events.arm(None)
        log = self._complete_request_log()
        outcome.syncs += 1
        outcome.requests += len(log)
        begun = [entry for entry in log if entry["status"] == 200 and _starts_walk(entry["query"])]
        walk_starts = Counter(entry["path"] for entry in begun)
        outcome.extra_walk_starts += sum(count - 1 for count in walk_starts.values())
        for entry in log:
            outcome.unauthorized_401 += entry["status"] == 401
            outcome.id_split_requests += "id" in entry["query"]
            if entry["fault"]:
                outcome.faults_served[entry["fault"]] = (
                    outcome.faults_served.get(entry["fault"], 0) + 1
                )
        outcome.texts += [result.output]
        if events.runaway:
            outcome.problems.append(f"{label}: more than {MAX_REQUESTS_PER_SYNC} requests")
        if result.error is not None:
            self._judge_failure(step, log, result.error, outcome, label)

    def _judge_failure(self, step, log, error, outcome, label) -> None:
        """A failed sync is right only when its faults explain it: retry_attempts faults in a
        row, or pages that loop."""
        error_text = f"{error}\n{error!r}"
        outcome.texts.append(error_text)
        if step is not None and _stopped_by_a_loop(log, error_text):
            outcome.looped_syncs += 1
            return
        exhausted = self._retries_exhausted(log)
        if step is None or not exhausted or "failed after" not in error_text:
            outcome.problems.append(
                f"{label} failed without a fault sequence that exhausts retry_attempts="
                f"{self.scenario.retry_attempts}: {_last_line(str(error))}"
            )
        else:
            outcome.crashed_syncs += 1

    def _complete_request_log(self) -> list[dict]:
        """The request log in request order, once requests still sleeping (a "timeout" fault
        the client gave up on) have been logged too."""
        sim = self.sim
        deadline = time.monotonic() + SIM_TIMEOUT_SECONDS + 2
        while True:
            with sim._lock:
                entries = [entry for entry in sim.request_log if entry["path"].startswith("/v1")]
                expected = sim._seq
            if len(entries) >= expected or time.monotonic() > deadline:
                return sorted(entries, key=lambda entry: entry["seq"])
            time.sleep(0.02)

    def _retries_exhausted(self, log: list[dict]) -> bool:
        """Whether one call met as many retryable non-429 faults as retry_attempts allows, so
        failing was the right outcome.

        A call's attempts are consecutive identical requests of one collection: tables may be
        fetched concurrently, so requests of different collections interleave in the log, but
        each collection's own requests are sequential.
        """
        attempts = self.scenario.retry_attempts
        previous: dict[str, str] = {}
        failures: dict[str, int] = {}
        for entry in log:
            path = entry["path"]
            key = json.dumps(entry["query"], sort_keys=True)
            if previous.get(path) != key:
                previous[path], failures[path] = key, 0
            if entry["fault"] in RETRIED_KINDS:
                failures[path] += 1
                if failures[path] >= attempts:
                    return True
        return False

    # --- the oracle -------------------------------------------------------------------------

    def _compare(self, runner, outcome, first_started, final_started, final_finished) -> None:
        """The warehouse equals the ground truth of the window: nothing missing, nothing
        extra, no duplicate key, every column equal (hence no stale version).

        The connector fixes its window start when a sync begins, somewhere between the first
        and the final sync; rows stamped inside that span of a few seconds (shifted back by
        initial_sync_days) may be on either side, and only they are left out of the check.
        """
        state = runner.saved_state() or {}
        faults = self.sim.config.record_faults
        for table in self.scenario.tables:
            truth = self.sim.ground_truth(collection_of(table))
            actual = read_table(self.project_dir, table)
            ids = [int(row["id"]) for row in actual]
            if len(ids) != len(set(ids)):
                outcome.problems.append(f"{table}: duplicate ids in the warehouse")
            if self.window_days is not None:
                shift = self.window_days * 86400
                lower, upper = first_started - shift - 1, final_finished - shift + 1
                ambiguous = {
                    record["id"]
                    for record in truth
                    if lower <= _epoch(record["updated_at"]) <= upper
                }
                truth = [
                    record
                    for record in truth
                    if record["id"] not in ambiguous and _epoch(record["updated_at"]) > upper
                ]
                actual = [row for row in actual if int(row["id"]) not in ambiguous]
            collection = collection_of(table)
            landed = (
                landed_as(collection, r, faults.get(f"{collection}/{r['id']}")) for r in truth
            )
            truth = [record for record in landed if record is not None]
            outcome.rows_expected += len(truth)
            outcome.problems += mismatches(table, actual, truth)
        for table in _open_walks(state):
            outcome.problems.append(f"{table}: a walk is still open after the final sync")

    # --- secrets ----------------------------------------------------------------------------

    def _texts_written(self) -> list[str]:
        """state.json, crash reports and any other text the runs left in the project."""
        texts = []
        for directory, _, names in os.walk(self.project_dir):
            for name in names:
                if name.endswith((".db", ".wal")):
                    continue
                with open(os.path.join(directory, name), errors="replace") as handle:
                    texts.append(handle.read())
        return texts

    @staticmethod
    def _scan_for_secrets(outcome: Outcome, secrets: list[str]) -> None:
        everything = "\n".join(outcome.texts)
        for secret in secrets:
            if secret and secret in everything:
                outcome.problems.append(f"a secret ({secret[:4]}…) appeared in output or files")


def _stopped_by_a_loop(log: list[dict], error_text: str) -> bool:
    """Whether a failed sync met pages that loop and said so: a next link repeating a cursor
    (on a first page it carries none at all), the same page again, or a second empty page."""
    served = Counter(entry["fault"] for entry in log if entry["fault"])
    looped = any(served[kind] for kind in LOOP_KINDS) or served["empty_page"] >= 2
    said = "pagination loops" in error_text or "carries no page cursor" in error_text
    return looped and said


def _open_walks(state: dict | None) -> list[str]:
    streams = (state or {}).get("streams") or {}
    return [name for name, entry in streams.items() if (entry or {}).get("walks")]


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else text[:300]
