"""The walker: every stream is read the same way, and every page is committed before the next.

For each stream: plan from its saved state (resume, incremental or initial window), then walk
pages sorted by ``<cursor field>,id``: request a page, turn its records into operations, keep
the stream state after the page, checkpoint. A refused page cursor restarts the walk from the
last position; a capped walk continues from its last row and splits a second by id (state.py
decides both). A run that dies anywhere resumes from the last page it committed, without a gap.

Streams run in groups: the three tables at once, then the archive, then the trash (a project
archived after the tables read it is then deleted in the same sync; one moved from the archive
to the trash ends trashed). Within a group each stream is fetched on its own worker thread one
page ahead, while this thread writes pages in the order they arrive: a sync costs about the
larger of waiting for the API and writing rows, not their sum. All threads share the client and
so its one pacer. If a stream fails, the pages other streams already fetched are still written,
every unfinished stream gets a ``failed`` health row, and the error propagates.
"""

from __future__ import annotations

import re
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import urlsplit

from fivetran_connector_sdk import Logging as log
from fivetran_connector_sdk import Operations

from .errors import RateLimitExhausted, RecordFormatError, XurrentApiError
from .metrics import FAILED, HEALTH_TABLE, RATE_LIMITED, SUCCEEDED, StreamMetrics, log_summary
from .redact import redact
from .state import (
    PageSummary,
    StreamState,
    after_page,
    cursor_params,
    dump_state,
    load_state,
    plan,
    restart_after_refused_cursor,
)
from .streams import BINS, STREAMS, TABLES, UTC, Stream, TableStream, to_utc_text

THROTTLED_HEADER = "X-Pagination-Throttled"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Page:
    """One fetched page and the stream state once its records are written."""

    records: list
    state: StreamState
    position: str | None


def run_sync(
    settings, saved_state: Any, client, op=Operations, now: Callable[[], datetime] = utc_now
) -> dict:
    """Sync every configured stream through ``op`` (the SDK's ``Operations``); returns the state.

    The saved state is validated before the first request, so an unusable one fails fast with
    instructions. Streams not configured this time keep their state.
    """
    sync = Sync(settings, client, op, load_state(saved_state, now()), now)
    groups = [[TABLES[name] for name in settings.tables]]
    if "projects" in settings.tables:
        groups += [[stream] for stream in BINS]
    streams = [stream for group in groups for stream in group]
    for stream in streams:
        sync.plan(stream)
    try:
        sync.identify()
        for group in groups:
            sync.run(group)
    except RateLimitExhausted as error:
        unfinished = sync.close_unfinished(streams, RATE_LIMITED, error)
        log.warning(
            f"Xurrent's rate limit stopped this sync: {error}. Not finished: "
            f"{', '.join(unfinished)}; the next sync resumes where this one stopped."
        )
    except BaseException as error:
        sync.close_unfinished(streams, FAILED, error)
        raise
    log_summary(list(sync.metrics.values()), time.monotonic() - sync.clock_started)
    return dump_state(sync.states)


class Sync:
    """One sync: the stream states every checkpoint serialises whole, and their metrics."""

    def __init__(self, settings, client, op, states: dict[str, StreamState], now):
        self.settings, self.client, self.op = settings, client, op
        self.states, self.now = states, now
        self.id = str(uuid.uuid4())  # two syncs can start in the same second
        self.started_at = now()
        self.clock_started = time.monotonic()
        self.modes: dict[str, str] = {}
        #: The fields asked for, per stream: fewer when a server does not know some.
        self.fields = {name: stream.fields for name, stream in STREAMS.items()}
        self.metrics: dict[str, StreamMetrics] = {}
        self.users: dict[str, tuple] = {}  # credentials -> (api_user_id, api_user_name)

    def identify(self) -> None:
        """Who the credentials in use belong to (``GET /v1/me``, once per credentials), for the
        audit columns of ``sync_health``; empty when the token lacks the 'me' scope."""
        if self.client.credentials_in_use in self.users:
            return
        try:
            me = self.client.get("/me").data
        except XurrentApiError as error:
            if error.status not in (403, 404):
                raise
            log.info(f"{HEALTH_TABLE}: the API user is not recorded ({error.status} on /v1/me)")
            me = None
        me = me if isinstance(me, dict) else {}
        # Keyed after the request: a refused primary token may have switched to the backup.
        self.users[self.client.credentials_in_use] = (me.get("id"), me.get("name"))

    def audit(self, ask: bool) -> dict:
        """The audit columns of a ``sync_health`` row written now; ``ask=False`` makes no
        request (the budget is used up, or the sync is failing)."""
        if ask:
            self.identify()  # the credentials may have changed to the backup ones
        credentials = self.client.credentials_in_use
        user_id, user_name = self.users.get(credentials, (None, None))
        return {
            "api_host": urlsplit(self.settings.api_url).netloc,
            "account_id": self.settings.account_id,
            "api_user_id": user_id,
            "api_user_name": user_name,
            "credentials": credentials,
        }

    def close_unfinished(self, streams: list[Stream], status: str, error) -> list[str]:
        """Give every stream of this sync that did not finish (stopped, or never started) a
        ``sync_health`` row with ``status``, committed with the state it reached; returns
        their names. Never masks the error that ended the sync with one of recording it."""
        unfinished = []
        try:
            for stream in streams:
                if stream.name not in self.metrics:
                    self.metrics[stream.name] = StreamMetrics(stream.name, self.now)
                if self.metrics[stream.name].status is None:
                    unfinished.append(stream.name)
                    self.finish(stream, status, error, audit=False)
        except Exception as health_error:  # noqa: BLE001 - the sync's error is the one to raise
            log.warning(f"{HEALTH_TABLE}: could not record the sync's end: {redact(health_error)}")
        return unfinished

    def plan(self, stream: Stream) -> None:
        """Fix where ``stream`` starts before any request, so that every checkpoint carries
        the planned walks of all streams of this sync."""
        self.states[stream.name], self.modes[stream.name] = plan(
            self.states.get(stream.name),
            now=self.started_at,
            initial_sync_days=self.settings.initial_sync_days,
            lookback_minutes=self.settings.lookback_minutes,
            incremental=self.settings.enable_incremental_sync,
        )

    def run(self, streams: list[Stream]) -> None:
        """Walk a group of streams concurrently; write each page, then checkpoint."""
        walks = {stream.name: self.start(stream) for stream in streams}
        if len(walks) > 1:
            log.info(f"Fetching {len(walks)} streams at once, one page ahead each")
        by_name = {stream.name: stream for stream in streams}
        for name, page in fetched_ahead(walks, self.client.cancel):
            if page is not None:
                self.write(by_name[name], page)

    def start(self, stream: Stream) -> Iterator[Page]:
        metrics = self.metrics[stream.name] = StreamMetrics(stream.name, self.now)
        state = self.states[stream.name]
        plan_text = state.walk.query.describe(stream.cursor_field)
        metrics.started(self.modes[stream.name], plan_text, state.cursor)
        return self.walk(stream, state, metrics)

    def walk(self, stream: Stream, state: StreamState, metrics: StreamMetrics) -> Iterator[Page]:
        """The pages of ``stream`` until it has no walk left (runs on a worker thread)."""
        refused_at = None
        while state.walk is not None:
            walk = state.walk
            try:
                response = self.client.get(stream.path, self.params(stream, walk), metrics)
            except XurrentApiError as error:
                state, refused_at = self.recover(stream, state, error, refused_at, metrics)
                continue
            summary, records = summarise(stream, response)
            state = after_page(state, summary)
            if summary.next_page is None and state.walk is not None:
                reason = (
                    "the server capped the walk" if walk.throttled or summary.throttled else ""
                )
                metrics.continued(
                    reason or f"finished {walk.query.describe(stream.cursor_field)}",
                    state.walk.query.describe(stream.cursor_field),
                )
            yield Page(records, state, summary.position)

    def recover(self, stream, state, error, refused_at, metrics) -> tuple[StreamState, Any]:
        """Go past a 400 that is not the end of the walk: fields this server does not know
        (left out for the rest of the sync, their columns stay NULL), or a refused page cursor
        (restart at the last position). Any other failure is raised."""
        if error.status != 400:
            raise error
        unknown = unknown_fields(error.detail) & set(self.fields[stream.name])
        if unknown and not unknown & {"id", stream.cursor_field}:
            self.fields[stream.name] = tuple(
                f for f in self.fields[stream.name] if f not in unknown
            )
            log.warning(
                f"{stream.name}: this Xurrent server does not know the field(s) "
                f"{', '.join(sorted(unknown))}; they are left out for this sync and their "
                "columns stay empty"
            )
            return state, refused_at
        walk = state.walk
        if walk.next_page is None:
            raise error
        restarted = restart_after_refused_cursor(walk, walk.position == refused_at)
        plan_text = restarted.query.describe(stream.cursor_field)
        metrics.continued("the API refused the page cursor (HTTP 400)", plan_text)
        return replace(state, walk=restarted), walk.position

    def params(self, stream: Stream, walk) -> dict:
        """The query of a walk's next page: the stream's own parameters, the walk's filter and
        the cursor of the previous page."""
        params = {"sort": stream.sort, "per_page": str(self.settings.max_records_per_page)}
        if self.fields[stream.name]:
            params["fields"] = ",".join(self.fields[stream.name])
        params.update(walk.query.params(stream.cursor_field))
        params.update(walk.next_page or {})
        return params

    def write(self, stream: Stream, page: Page) -> None:
        """Write one page, advance the stream's state and commit both with a checkpoint (with
        the stream's ``sync_health`` row when this page completes it)."""
        deleted = 0
        for record in page.records:
            deleted += stream.apply(record, self.op, self.settings.account_id)
        self.states[stream.name] = page.state
        upserted = len(page.records) if isinstance(stream, TableStream) else 0
        self.metrics[stream.name].page(len(page.records), upserted, deleted, page.position)
        if page.state.walk is None:
            self.finish(stream, SUCCEEDED)
        else:
            self.op.checkpoint(dump_state(self.states))

    def finish(self, stream: Stream, status: str, error=None, audit: bool = True) -> None:
        """Close a stream's figures and commit its ``sync_health`` row (``audit=False``: no
        request to learn the API user, the budget is used up)."""
        state = self.states[stream.name]
        reached = state.cursor if state.walk is None else state.walk.position or state.cursor
        metrics = self.metrics[stream.name]
        metrics.finish(status, reached, error)
        context = self.audit(ask=audit)
        self.op.upsert(HEALTH_TABLE, metrics.health_row(self.id, self.started_at, context))
        self.op.checkpoint(dump_state(self.states))


def summarise(stream: Stream, response) -> tuple[PageSummary, list]:
    """What a page means for the state: its position, last id, cursor and throttle flag."""
    records = response.data
    where = stream.path
    if not isinstance(records, list):
        raise XurrentApiError(
            f"Expected a JSON array of records from {where}, got {type(records).__name__}.",
            response.status,
            "unexpected_response",
        )
    position = last_id = None
    if records:
        try:
            position = to_utc_text(records[-1][stream.cursor_field])
            last_id = int(records[-1]["id"])
        except (KeyError, TypeError, ValueError, RecordFormatError):
            raise XurrentApiError(
                f"A record from {where} lacks a valid id or {stream.cursor_field}.",
                response.status,
                "unexpected_response",
            ) from None
    throttled = str(response.headers.get(THROTTLED_HEADER, "")).strip().lower() == "true"
    return (
        PageSummary(len(records), next_page(stream, response.links), position, last_id, throttled),
        records,
    )


def unknown_fields(detail: str) -> set[str]:
    """The fields a 400 names as unknown ("Unknown fields: a, b"), or none."""
    match = re.search(r"Unknown fields?: ([^.;]+)", detail or "")
    return {name.strip() for name in match.group(1).split(",")} if match else set()


def next_page(stream: Stream, links: Mapping[str, str]) -> dict | None:
    """The cursor parameters of the ``rel="next"`` link, or None on the last page.

    Only the link's cursor is used: the page is requested from the configured API with the
    stream's own parameters, so a link on another host never receives the token and a link
    that drops a parameter (``per_page`` at its default) cannot change the walk.
    """
    link = links.get("next")
    if link is None:
        return None
    cursor = cursor_params(link)
    if cursor is None or not link.split("?", 1)[0].endswith(stream.path):
        raise XurrentApiError(
            f"The API's next link for {stream.path} points elsewhere or carries no page cursor; "
            "refusing to follow it.",
            kind="unexpected_response",
        )
    return cursor


def fetched_ahead(
    walks: dict[str, Iterator[Page]], stop: Callable[[], None]
) -> Iterator[tuple[str, Page | None]]:
    """``(name, page)`` from several walks, each run on its own thread one page ahead, in the
    order pages arrive; ``(name, None)`` when a walk ends.

    A walk's error is raised after the pages already fetched by the others (they are written,
    not wasted); then ``stop`` ends every other walk's waits and requests.
    """
    pool = ThreadPoolExecutor(max_workers=max(1, len(walks)), thread_name_prefix="xurrent-walk")
    pending = {pool.submit(next, walk, None): name for name, walk in walks.items()}
    try:
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            # Pages before errors: a failure never throws away a page fetched next to it.
            for future in sorted(done, key=lambda future: future.exception() is not None):
                name = pending.pop(future)
                page = future.result()
                if page is not None:
                    pending[pool.submit(next, walks[name], None)] = name
                yield name, page
    except BaseException:
        stop()
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
