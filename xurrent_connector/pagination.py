"""Walk one collection query page by page, following ``Link: rel="next"``.

This is the fetch half of the fetch/consume seam: it only requests pages and summarises each
(rows, next link, position, last id, throttled). Flattening, upserting and checkpointing live
in sync.py, so a later change can move this generator onto a background thread behind a
bounded queue without touching the consumer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Mapping, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from .errors import XurrentApiError
from .state import PageSummary
from .tables import RecordFormatError, to_utc_text

SORT = "updated_at,id"
THROTTLED_HEADER = "X-Pagination-Throttled"


class ApiClient(Protocol):
    """The part of ``XurrentClient`` a walk needs."""

    def get(self, path_or_url: str, params: dict | None = None): ...


class StaleLinkError(Exception):
    """A next link the API refused with 400 (for example an expired search_after cursor).

    The walk can be restarted from its last position; raised instead of the API error so the
    consumer can tell a stale link from a query the API rejects.
    """

    def __init__(self, message: str):
        super().__init__(message)


class UnexpectedResponseError(XurrentApiError):
    """A 2xx answer that is not a page of records (not a JSON array of objects with ids)."""


@dataclass(frozen=True)
class Page:
    """One fetched page. ``position``/``last_id`` describe its last row (None when empty)."""

    rows: list
    next_link: str | None
    position: str | None
    last_id: int | None
    throttled: bool

    def summary(self) -> PageSummary:
        """What the state keeps of this page once its rows are upserted (state.after_page)."""
        return PageSummary(
            row_count=len(self.rows),
            next_link=self.next_link,
            position=self.position,
            last_id=self.last_id,
            throttled=self.throttled,
        )


def first_request(fields: tuple[str, ...], per_page: int, filters: dict) -> dict:
    """Query parameters of a walk's first page (next links carry them on)."""
    params = {"sort": SORT, "per_page": str(per_page), "fields": ",".join(fields)}
    params.update(filters)
    return params


def iter_pages(
    client: ApiClient,
    start: str,
    params: dict | None = None,
    *,
    carry: Mapping[str, str] | None = None,
    position_field: str = "updated_at",
) -> Iterator[Page]:
    """Yield the pages of one walk, starting at a path with params or at a saved next link.

    Stops after the first page without a next link, so no request is made for an empty last
    page. ``carry`` holds the parameters every page must be asked with (sort, per_page, fields,
    filters): the documented next link only promises ``search_after``, so any of them a link
    lacks is added back rather than silently getting default fields or order. A 400 on a
    followed link becomes ``StaleLinkError``; any other failure propagates.
    ``position_field`` is the timestamp the walk is sorted and filtered on (``created_at`` for
    the archive and trash listings, lifecycle.py).
    """
    carry = carry if carry is not None else (params or {})
    is_link = params is None
    url, query = (with_carried_params(start, carry), None) if is_link else (start, params)
    while True:
        try:
            response = client.get(url, query)
        except XurrentApiError as error:
            if is_link and error.status == 400:
                raise StaleLinkError("the API refused a saved next link (HTTP 400)") from None
            raise
        page = to_page(response, url, position_field)
        yield page
        if page.next_link is None:
            return
        url, query, is_link = with_carried_params(page.next_link, carry), None, True


def with_carried_params(link: str, carry: Mapping[str, str]) -> str:
    """``link`` with every ``carry`` parameter it lacks appended (present ones are kept)."""
    if not carry:
        return link
    parts = urlsplit(link)
    present = parse_qs(parts.query, keep_blank_values=True)
    missing = [(key, value) for key, value in carry.items() if key not in present]
    if not missing:
        return link
    query = "&".join(part for part in (parts.query, urlencode(missing)) if part)
    return urlunsplit(parts._replace(query=query))


def to_page(response, url: str, position_field: str = "updated_at") -> Page:
    """Summarise one response; the rows themselves are passed on untouched.

    ``position`` is the last row's ``position_field`` in UTC: the walk's sort key and cursor.
    """
    rows = response.data
    if not isinstance(rows, list):
        raise UnexpectedResponseError(
            f"Expected a JSON array of records from {_without_query(url)}, "
            f"got {type(rows).__name__}.",
            status=response.status,
        )
    position = last_id = None
    if rows:
        last = rows[-1]
        try:
            position = to_utc_text(last[position_field])
            last_id = int(last["id"])
        except (KeyError, TypeError, ValueError, RecordFormatError):
            raise UnexpectedResponseError(
                f"A record from {_without_query(url)} lacks a valid id or {position_field}.",
                status=response.status,
            ) from None
    throttled = str(response.headers.get(THROTTLED_HEADER, "")).strip().lower() == "true"
    return Page(rows, response.links.get("next"), position, last_id, throttled)


def _without_query(url: str) -> str:
    """URLs in messages without their query (cursors and filters are noise there)."""
    return url.split("?", 1)[0]
