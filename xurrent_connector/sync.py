"""The walker: every stream is read the same way, and every page is committed before the next.

For each stream: plan from its saved state (resume, incremental or initial window), then walk
pages sorted by ``<cursor field>,id``: request a page, turn its records into operations, keep
the stream state after the page, checkpoint. A refused page cursor restarts the walk from the
last position; a capped walk continues from its last row and splits a second by id (state.py
decides both). A run that dies anywhere resumes from the last page it committed, without a gap.

Streams run in groups: the three tables at once, then the archive, then the trash (a project
archived after the tables read it is then deleted in the same sync; one moved from the archive
to the trash ends trashed). Within a group every walk fetches on a worker thread, one page
ahead, while this thread decides what comes next, writes pages in the order they arrive and
checkpoints: a sync costs about the larger of waiting for the API and writing rows, not their
sum. A walk waits a round trip per page, so at 100 ms or more one walk cannot use the burst
rate (10 requests a second); while fewer walks are in flight than the rate times the response
time needs, a long walk is split in two (state.py). All threads share the client and so its
one pacer. If a walk fails, the pages that arrived with the failure are still written, every
unfinished stream gets a ``failed`` health row, and the error propagates.
"""

from __future__ import annotations

import math
import re
import statistics
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping

from fivetran_connector_sdk import Logging as log
from fivetran_connector_sdk import Operations

from .errors import RateLimitExhausted, RecordFormatError, XurrentApiError
from .health import FAILED, HEALTH_TABLE, RATE_LIMITED, SKIPPED, SUCCEEDED, SyncHealth
from .metrics import log_summary
from .pacing import BURST_LIMIT, BURST_WINDOW_SECONDS
from .redact import redact
from .repair import SKIPPED as SKIPPED_RECORD
from .repair import GuardedOperations, Reports
from .state import (
    PageSummary,
    Walk,
    after_page,
    cursor_params,
    dump_state,
    load_state,
    plan,
    restart_after_refused_cursor,
    split,
)
from .streams import Stream, TableStream, sync_groups, to_int
from .timestamps import format_utc, parse_timestamp, parse_utc, utc_now

THROTTLED_HEADER = "X-Pagination-Throttled"
#: The most walks in flight at once: enough for the burst rate up to 400 ms a page.
WALKS_AT_ONCE = 6
#: Walks in flight per request a second the burst limit allows, per second a page takes: the
#: margin covers the time between a page's arrival and its successor's send.
WALKS_PER_RATE_SECOND = 1.5 * BURST_LIMIT / BURST_WINDOW_SECONDS
#: A walk is split only when, at the pace of its last page, this many pages are left.
SPLIT_MIN_PAGES = 4
RESPONSE_SAMPLES = 10


@dataclass(frozen=True)
class Page:
    """One fetched page and the walk that fetched it (restarted, if its cursor was refused).

    ``skipped`` says where each record that could not become a row sat; ``deep_text``: the
    body may hold text UTF-8 cannot encode; ``loop``: the error that ends the walk once the
    page is written (its next link repeats a cursor the walk followed before).
    """

    walk: Walk
    records: list
    summary: PageSummary
    skipped: tuple = ()
    deep_text: bool = False
    loop: XurrentApiError | None = None


def run_sync(
    settings, saved_state: Any, client, op=Operations, now: Callable[[], datetime] = utc_now
) -> dict:
    """Sync every configured stream through ``op`` (the SDK's ``Operations``); returns the state.

    The saved state is validated before the first request, so an unusable one fails fast with
    instructions. Streams not configured this time keep their state.
    """
    groups = sync_groups(settings.tables, settings.exclude_columns or ())
    streams = [stream for group in groups for stream in group]
    sync = Sync(settings, client, op, load_state(saved_state, now()), now, streams)
    for stream in streams:
        sync.plan(stream)
    try:
        sync.health.identify()
        for group in groups:
            sync.run(group)
            require_a_readable_table(sync, groups[0])
    except RateLimitExhausted as error:
        unfinished = close_unfinished(sync, streams, RATE_LIMITED, error)
        log.warning(
            f"Xurrent's rate limit stopped this sync: {error}. Not finished: "
            f"{', '.join(unfinished)}; the next sync resumes where this one stopped."
        )
    except BaseException as error:
        close_unfinished(sync, streams, FAILED, error)
        raise
    health = sync.health
    log_summary(list(health.streams.values()), time.monotonic() - health.clock_started)
    return dump_state(sync.states)


def close_unfinished(sync: "Sync", streams: list[Stream], status: str, error) -> list[str]:
    """Give every stream of ``sync`` that did not finish (stopped, or never started) a
    ``sync_health`` row with ``status``, committed with the state it reached; returns their
    names. Never masks the error that ended the sync with one of recording it."""
    unfinished = sync.health.unfinished(stream.name for stream in streams)
    try:
        for name in unfinished:
            sync.finish(name, status, error, ask=False)
    except Exception as health_error:  # noqa: BLE001 - the sync's error is the one to raise
        log.warning(f"{HEALTH_TABLE}: could not record the sync's end: {redact(health_error)}")
    return unfinished


def require_a_readable_table(sync: "Sync", tables: list[Stream]) -> None:
    """A sync that could read none of its tables has failed, whatever else it did."""
    if tables and all(table.name in sync.skipped for table in tables):
        reasons = "; ".join(sync.health.streams[table.name].error for table in tables)
        raise XurrentApiError(
            f"None of the selected tables could be read ({reasons}). Check the token's "
            "scopes and the tables setting.",
            kind="nothing_readable",
        )


class Sync:
    """One sync's walker: the stream states every checkpoint serialises whole."""

    def __init__(self, settings, client, op, states: dict, now, streams: list[Stream]):
        self.settings, self.client, self.op, self.states = settings, client, op, states
        self.health = SyncHealth(settings, client, now)
        self.reports = Reports(op)
        self.started_at = self.health.started_at
        self.modes: dict[str, str] = {}
        #: The fields asked for, per stream: fewer when a server does not know some.
        self.fields = {stream.name: stream.fields for stream in streams}
        #: Streams the API refused to list (403, 404): skipped for the rest of this sync.
        self.skipped: set[str] = set()

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
        """Walk a group of streams concurrently; write each page, then checkpoint.

        Every decision about walks (continue, follow, split) is taken here, on this thread, as
        a page arrives; its successors are sent for before its rows are written. A failed
        fetch is raised after the pages that arrived with it are written, and
        ``client.cancel`` ends every other walk's waits and requests.
        """
        pool = ThreadPoolExecutor(
            max_workers=WALKS_AT_ONCE + len(streams), thread_name_prefix="xurrent-walk"
        )
        pending: dict[Future, tuple[Stream, Walk]] = {}

        def send(stream: Stream, walk: Walk) -> None:
            pending[pool.submit(self.fetch, stream, walk)] = (stream, walk)

        if len(streams) > 1:
            log.info(f"Fetching {len(streams)} streams at once, one page ahead each")
        try:
            for stream in streams:
                self.start(stream)
                for walk in self.states[stream.name].walks:
                    send(stream, walk)
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda future: future.exception() is not None):
                    stream, walk = pending.pop(future)
                    page = self.page_of(stream, future)
                    if page is None:
                        continue  # the stream is skipped: its state stays where it was
                    for following in self.receive(stream, walk, page, in_flight=len(pending)):
                        send(stream, following)
                    self.write(stream, page)
        except BaseException:
            self.client.cancel()
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def page_of(self, stream: Stream, future: Future) -> Page | None:
        """The page a fetch brought, or None once ``stream`` is skipped: a collection the
        token may not read (403) or this server does not have (404) is skipped for the sync,
        visibly (a warning, a ``skipped`` health row), while every other stream goes on."""
        if stream.name in self.skipped:
            return None
        try:
            return future.result()
        except XurrentApiError as error:
            if error.status not in (403, 404):
                raise
            reason = skip_reason(stream, error)
        self.skipped.add(stream.name)
        log.warning(f"{stream.name}: skipped for this sync: {reason}")
        self.op.warning(f"Xurrent table {stream.name} skipped: {reason}")
        self.finish(stream.name, SKIPPED, SkippedStream(reason))
        return None

    def start(self, stream: Stream) -> None:
        metrics = self.health.start(stream.name)
        state = self.states[stream.name]
        plans = " and ".join(walk.query.describe(stream.cursor_field) for walk in state.walks)
        metrics.started(self.modes[stream.name], plans, state.cursor)

    def fetch(self, stream: Stream, walk: Walk) -> Page:
        """The next page of ``walk`` (runs on a worker thread)."""
        metrics = self.health.streams[stream.name]
        while True:
            try:
                params = page_params(stream, walk, self.fields[stream.name], self.settings)
                response = self.client.get(stream.path, params, metrics)
            except XurrentApiError as error:
                fields = self.fields[stream.name]
                walk, self.fields[stream.name] = recovered(stream, walk, fields, error, metrics)
                continue
            summary, records, skipped = summarise(stream, response, walk.end)
            repeated = repeated_page(stream, walk, summary, records)
            if repeated is not None:
                raise repeated
            loop = repeated_cursor(stream, walk, summary)
            return Page(walk, records, summary, skipped, response.may_hold_surrogates, loop)

    def receive(self, stream: Stream, walk: Walk, page: Page, in_flight: int) -> tuple:
        """Advance the stream's state past ``page`` of ``walk``; returns the walks to fetch
        next: its own next page, its successor, or the two halves of a split."""
        state, following = after_page(self.states[stream.name], walk, page.walk, page.summary)
        if page.loop is not None:  # the walk ends here (``write``); its state says where
            self.states[stream.name] = state
            return ()
        describe = stream.cursor_field
        if following and page.summary.next_page is None:
            capped = page.walk.throttled or page.summary.throttled
            reason = "the server capped the walk" if capped else ""
            self.health.streams[stream.name].continued(
                reason or f"finished {page.walk.query.describe(describe)}",
                following[0].query.describe(describe),
            )
        elif following and in_flight + 1 < self.walks_wanted(stream):
            halves = split(
                state, following[0], page.summary.first_position, self.started_at, SPLIT_MIN_PAGES
            )
            if halves is not None:
                state, following = halves
                log.debug(
                    f"{stream.name}: split at {describe} {following[1].query.at}; the rows "
                    "before it and from it on are read at once"
                )
        self.states[stream.name] = state
        return following

    def walks_wanted(self, stream: Stream) -> int:
        """How many walks in flight keep the burst rate busy at ``stream``'s response time
        (the median of its last requests)."""
        recent = self.health.streams[stream.name].response_seconds[-RESPONSE_SAMPLES:]
        if not recent:
            return 1
        return min(WALKS_AT_ONCE, math.ceil(WALKS_PER_RATE_SECOND * statistics.median(recent)))

    def write(self, stream: Stream, page: Page) -> None:
        """Write one page and commit it with the stream's state (and its ``sync_health`` row
        when no walk of the stream is left); then end the sync if the page's walk loops.

        Rows go through ``GuardedOperations``, which stores what the warehouse cannot take as
        sent repaired; a record that cannot become a row is skipped: both counted, and
        reported once per stream and sync (repair.py)."""
        metrics = self.health.streams[stream.name]
        op = GuardedOperations(self.op, self.reports, stream, metrics, page.deep_text)
        deleted, skipped = 0, list(page.skipped)
        for record in page.records:
            try:
                deleted += stream.apply(record, op, self.settings.account_id)
            except RecordFormatError as problem:  # an entry that cannot be applied
                skipped.append(str(problem).rstrip("."))
        if skipped:
            metrics.skipped_records += len(skipped)
            message = f"{stream.name}: {skipped[0]}; it was skipped"
            self.reports.once(stream.name, SKIPPED_RECORD, message)
        upserted = len(page.records) if isinstance(stream, TableStream) else 0
        metrics.page(len(page.records), upserted, deleted, page.summary.position)
        if self.states[stream.name].walks:
            self.op.checkpoint(dump_state(self.states))
        else:
            self.finish(stream.name, SUCCEEDED)
        if page.loop is not None:
            raise page.loop

    def finish(self, name: str, status: str, error=None, ask: bool = True) -> None:
        """Commit a stream's ``sync_health`` row with the state (``ask=False``: no request to
        learn the API user, the budget is used up or the sync is failing)."""
        reached = self.states[name].reached
        self.op.upsert(HEALTH_TABLE, self.health.row(name, status, reached, error, ask))
        self.op.checkpoint(dump_state(self.states))


def recovered(stream: Stream, walk: Walk, fields: tuple, error, metrics) -> tuple:
    """The walk and fields to go on with past a 400 that is not the end of the walk: fields
    this server does not know (left out for the rest of the sync, their columns stay NULL), or
    a refused page cursor (restart at the last position). Any other failure is raised."""
    if error.status != 400:
        raise error
    known = without_unknown_fields(stream, fields, error)
    if known is not None:
        return walk, known
    if walk.next_page is None:
        raise error
    restarted = restart_after_refused_cursor(walk)
    plan_text = restarted.query.describe(stream.cursor_field)
    metrics.continued("the API refused the page cursor (HTTP 400)", plan_text)
    return restarted, fields


def page_params(stream: Stream, walk: Walk, fields: tuple, settings) -> dict:
    """The query of a walk's next page: the stream's own parameters, the walk's filter and
    the cursor of the previous page."""
    params = {"sort": stream.sort, "per_page": str(settings.max_records_per_page)}
    if fields:
        params["fields"] = ",".join(fields)
    params.update(walk.query.params(stream.cursor_field))
    params.update(walk.next_page or {})
    return params


def summarise(stream: Stream, response, end: str | None = None) -> tuple[PageSummary, list, tuple]:
    """What a page means for the state (its first and last positioned row's moment, the last
    one's id, the next page cursor, the throttle flag), the records that can become rows, and
    where each one that cannot (no usable id: no primary key) sat. Rows at or past ``end`` are
    left out: the stream's next walk reads them, and this walk is done.

    A record whose cursor field cannot be read still lands (repair.py) but never gives the
    position: the cursor moves only to a moment the API stamped on a row that was read.
    """
    records = response.data
    if not isinstance(records, list):
        raise XurrentApiError(
            f"Expected a JSON array of records from {stream.path}, got "
            f"{type(records).__name__}.",
            response.status,
            "unexpected_response",
        )
    records, skipped = with_ids(stream, records)

    def positioned(indices) -> tuple[int | None, datetime | None]:
        """The first of ``indices`` whose record has a readable cursor field, and its moment."""
        for index in indices:
            at = moment(stream, records[index])
            if at is not None:
                return index, at
        return None, None

    end_at = None if end is None else parse_utc(end)
    last, last_at = positioned(range(len(records) - 1, -1, -1))
    reached_end = end_at is not None and last_at is not None and last_at >= end_at
    if reached_end:  # sorted ascending: keep the rows before the first one past the end
        cut = next(i for i, record in enumerate(records) if _at_or_past(stream, record, end_at))
        records = records[:cut]
        last, last_at = positioned(range(cut - 1, -1, -1))
    first, first_at = positioned(range(len(records)))
    throttled = str(response.headers.get(THROTTLED_HEADER, "")).strip().lower() == "true"
    summary = PageSummary(
        row_count=0 if last is None else len(records),  # rows that move the position
        next_page=None if reached_end else next_page(stream, response.links),
        position=None if last is None else format_utc(last_at),
        last_id=None if last is None else to_int(records[last]["id"]),
        throttled=throttled,
        first_position=None if first is None else format_utc(first_at),
        reached_end=reached_end,
    )
    return summary, records, skipped


def moment(stream: Stream, record: Mapping) -> datetime | None:
    """A record's cursor field as an instant, or None when it has none that can be read."""
    try:
        return parse_timestamp(record.get(stream.cursor_field))
    except RecordFormatError:
        return None


def _at_or_past(stream: Stream, record: Mapping, end_at: datetime) -> bool:
    at = moment(stream, record)
    return at is not None and at >= end_at


def with_ids(stream: Stream, records: list) -> tuple[list, tuple]:
    """The records that can become rows (an integer ``id``: the primary key, and the walk's
    tie-breaker), and where each one that cannot sat, for the report (never its values)."""
    usable = [record for record in records if _usable_id(record)]
    if len(usable) == len(records):
        return records, ()
    skipped = []
    for record in records:
        if not _usable_id(record):
            at = moment(stream, record) if isinstance(record, Mapping) else None
            where = f"at {stream.cursor_field} {format_utc(at)}" if at else "on this page"
            skipped.append(f"a record without a usable id ({where}) cannot become a row")
    return usable, tuple(skipped)


def _usable_id(record: Any) -> bool:
    try:
        return isinstance(record, Mapping) and to_int(record.get("id")) is not None
    except RecordFormatError:
        return False


def repeated_page(stream: Stream, walk: Walk, summary: PageSummary, records: list):
    """The error that ends ``walk`` when the API answered it a page it read before (the same
    first and last record at the same moments; an empty page counts too): a server that
    loops with fresh-looking cursors. Remembers the page otherwise. Costs one request. A last
    page (no next link) ends the walk, so it cannot loop: an empty collection's one empty
    page, read after a stray empty page that linked on, is the end, not a loop."""
    if summary.next_page is None:
        return None
    ids = (records[0].get("id"), records[-1].get("id")) if records else (None, None)
    page = ("page", *ids, summary.first_position, summary.position, len(records))
    if page not in walk.seen:
        walk.seen.add(page)
        return None
    return _loop(stream, walk, summary, "answered a page this walk has read already")


def repeated_cursor(stream: Stream, walk: Walk, summary: PageSummary):
    """The error that ends ``walk`` once this page is written, when its next link repeats a
    page cursor the walk followed before (a server that hands out the same ``search_after``
    again): found before the request, so a loop of this kind costs none."""
    if walk.next_page:
        walk.seen.add(("cursor", *sorted(walk.next_page.items())))
    following = summary.next_page
    if following is None or ("cursor", *sorted(following.items())) not in walk.seen:
        return None
    return _loop(stream, walk, summary, "linked to a page cursor this walk has followed already")


def _loop(stream: Stream, walk: Walk, summary: PageSummary, what: str) -> XurrentApiError:
    position, last_id = summary.position or walk.position, summary.last_id or walk.last_id
    where = walk.query.describe(stream.cursor_field)
    if position is not None:
        where = f"{stream.cursor_field} {position}, id {last_id}"
    return XurrentApiError(
        f"{stream.name}: the API {what} (at {where}): its pagination loops, so this walk "
        "stops rather than ask for the same pages again. Every row read before is saved and "
        "the next sync resumes there; if it happens again, the API or a proxy in front of it "
        "is at fault.",
        kind="pagination_loop",
    )


class SkippedStream(Exception):
    """Why a stream was skipped, for its ``sync_health`` row."""


def skip_reason(stream: Stream, error: XurrentApiError) -> str:
    """Why ``stream`` cannot be read, in the user's terms, from a 403 or a 404."""
    if error.status == 403:
        return (
            f"HTTP 403 on {stream.path}: the token lacks the read scope for {stream.name}; "
            "add it to the token, or leave the table out of the tables setting"
        )
    return (
        f"HTTP 404 on {stream.path}: this Xurrent server does not have it (an older version?); "
        "leave the table out of the tables setting"
    )


def without_unknown_fields(stream: Stream, fields: tuple, error) -> tuple | None:
    """``fields`` less those a 400 names as unknown to this server (they are left out for the
    rest of the sync, their columns stay empty), or None when it names none we can drop."""
    unknown = unknown_fields(error.detail) & set(fields)
    if not unknown or unknown & {"id", stream.cursor_field}:
        return None
    log.warning(
        f"{stream.name}: this Xurrent server does not know the field(s) "
        f"{', '.join(sorted(unknown))}; they are left out for this sync and their columns "
        "stay empty"
    )
    return tuple(field for field in fields if field not in unknown)


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
