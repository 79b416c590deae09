"""Hostile behaviours: how a misbehaving API (or a proxy in front of it) answers, each a switch
that is off by default (simulator/README.md lists them).

- Odd records (``record_faults``, {"<collection>/<id>": kind}): the record is changed on its
  way out in collection pages only, so ``ground_truth`` keeps what it should have been. The
  kinds are ``RECORD_FAULTS``.
- Faulty answers (fault kinds of ``fault_schedule``): ``trickle`` (status and headers at once,
  then the body ``trickle_bytes`` at a time every ``trickle_interval_seconds``), ``html`` (a
  200 with an HTML login page), ``empty_page`` (no rows, and a next link that continues where
  the page should have started), ``oversize_page`` (the page and the next one as one: more rows
  than ``per_page``), ``repeat_cursor`` (the next link repeats the cursor the request came
  with) and ``repeat_page`` (a next link that looks new but asks for the same page again).
- ``content_type``: what every answer claims to be; ``retry_after_text``: what every 429 says
  in ``Retry-After``; ``burst_429_budget``: whether a burst 429 reports its user's real hourly
  budget; ``clock_offset_seconds``: a server clock ahead of or behind this machine's.

The marker parameter ``_sim`` in a link makes a followed link differ from the request it came
from; the server drops it before serving.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

#: Fault kinds of the schedule that change an answer rather than replace it.
PAGE_FAULTS = ("empty_page", "oversize_page", "repeat_cursor", "repeat_page")
MARKER = "_sim"
LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><h1>Your session has "
    b"expired</h1><form action=/login method=post></form></body></html>"
)
HALF_EMOJI = "\ud83d"  # the first half of a surrogate pair, alone

#: Where each odd-record kind changes a record, per collection: a path into the record. A kind
#: missing for a collection (no decimal field in sites, say) cannot be asked for there.
FAULT_TARGETS = {
    #: The record's own text title.
    "title": {
        **{
            name: ("name",)
            for name in (
                "organizations",
                "products",
                "people",
                "teams",
                "sites",
                "services",
                "service_instances",
                "cis",
                "contracts",
            )
        },
        "projects": ("subject",),
        "project_tasks": ("subject",),
        "time_entries": ("description",),
    },
    #: A number the connector stores as an integer (a reference's id where the record has no
    #: other integer than its own id).
    "text_for_number": {
        "organizations": ("parent", "id"),
        "products": ("useful_life",),
        "projects": ("effort",),
        "people": ("manager", "id"),
        "teams": ("manager", "id"),
        "sites": ("ui_extension", "id"),
        "services": ("support_team", "id"),
        "service_instances": ("service", "id"),
        "cis": ("nr_of_cores",),
        "contracts": ("customer_rep", "id"),
        "project_tasks": ("planned_effort",),
        "time_entries": ("time_spent",),
    },
    "text_for_reference": {
        "organizations": ("manager",),
        "products": ("service",),
        "projects": ("service",),
        "people": ("manager",),
        "teams": ("manager",),
        "sites": ("ui_extension",),
        "services": ("support_team",),
        "service_instances": ("service",),
        "cis": ("product",),
        "contracts": ("customer_rep",),
        "project_tasks": ("team",),
        "time_entries": ("person",),
    },
    "bad_decimal": {
        "products": ("salvage_value",),
        "projects": ("cost_of_effort",),
        "people": ("cost_per_hour",),
        "cis": ("purchase_value",),
        "time_entries": ("cost",),
    },
}
#: Where an archive or trash entry names the type of the record it holds.
_BIN_TYPE = {"archive": "archived", "trash": "trashed"}


def fault_applies(kind: str, collection: str) -> bool:
    """Whether odd-record ``kind`` can be asked for in ``collection`` (the kinds that change
    no particular field apply everywhere)."""
    if kind == "broken_reference":
        return collection in _BIN_TYPE
    if kind in ("lone_surrogate", "object_for_text"):
        return collection in FAULT_TARGETS["title"]
    return collection in FAULT_TARGETS.get(kind, {collection: ()})


def _title(collection: str) -> str:
    return FAULT_TARGETS["title"][collection][0]


def _set(record: dict, path: tuple, value) -> None:
    """Put ``value`` at ``path`` (copying the references on the way: they may be shared)."""
    for key in path[:-1]:
        nested = record.get(key)
        record[key] = dict(nested) if isinstance(nested, dict) else {}
        record = record[key]
    record[path[-1]] = value


def _lone_surrogate(collection: str, record: dict) -> None:
    record[_title(collection)] = f"{record.get(_title(collection)) or ''} {HALF_EMOJI}"


def _lone_surrogate_in_json(collection: str, record: dict) -> None:
    record["custom_fields"] = [{"id": "note", "value": f"half {HALF_EMOJI} emoji"}]


def _broken_reference(collection: str, record: dict) -> None:
    """An archive or trash entry whose record reference holds no usable id."""
    record[record.get(_BIN_TYPE[collection]) or "project"] = {"id": "none", "display_name": "?"}


#: What each odd-record kind does to a rendered record.
RECORD_FAULTS = {
    "lone_surrogate": _lone_surrogate,
    "lone_surrogate_in_json": _lone_surrogate_in_json,
    "text_for_number": lambda c, r: _set(r, FAULT_TARGETS["text_for_number"][c], "twelve"),
    "object_for_text": lambda c, r: r.update({_title(c): {"text": r.get(_title(c))}}),
    "text_for_reference": lambda c, r: _set(
        r, FAULT_TARGETS["text_for_reference"][c], "see the service desk"
    ),
    "bad_decimal": lambda c, r: _set(r, FAULT_TARGETS["bad_decimal"][c], "NaN"),
    "no_id": lambda c, r: r.pop("id", None),
    "no_updated_at": lambda c, r: r.pop("updated_at", None),
    "bad_updated_at": lambda c, r: r.update({"updated_at": "yesterday"}),
    "broken_reference": _broken_reference,
}


def parse_record_faults(value) -> dict[str, str]:
    """``{"products/5003": "lone_surrogate"}`` from a dict or CLI text
    ``products/5003:lone_surrogate,organizations/1002:no_id``."""
    if not value:
        return {}
    pairs = value.items() if isinstance(value, dict) else _pairs(value)
    faults = {}
    for target, kind in pairs:
        collection, _, row_id = str(target).partition("/")
        if kind not in RECORD_FAULTS or not row_id.isdigit():
            raise ValueError(f"record fault {target}:{kind} is not '<collection>/<id>:<kind>'")
        if not fault_applies(kind, collection):
            raise ValueError(f"record fault {kind} has no field to change in {collection}")
        faults[f"{collection}/{int(row_id)}"] = kind
    return faults


def _pairs(text: str):
    for item in filter(None, (part.strip() for part in text.split(","))):
        target, _, kind = item.rpartition(":")
        yield target, kind


def odd_records(collection: str, rows: list, faults: dict) -> list:
    """The rendered rows of a page with each odd record changed as its fault says."""
    if not faults:
        return rows
    odd = []
    for row in rows:
        kind = faults.get(f"{collection}/{row.get('id')}")
        if kind is not None:
            row = dict(row)
            RECORD_FAULTS[kind](collection, row)
        odd.append(row)
    return odd


def without_marker(params: list) -> list:
    """The request's parameters without the marker a hostile link added."""
    return [(name, value) for name, value in params if name != MARKER]


def page_fault(kind: str, seq: int, request_url: str, rows: list, headers: dict, following):
    """The rows and headers of a collection page as fault ``kind`` changes them.

    ``request_url`` is the URL the page was asked with (its own cursor included); ``following``
    serves the next page (its rows and headers) for ``oversize_page``.
    """
    if kind == "oversize_page":
        more, more_headers = following(headers)
        if more is None:
            return rows, headers
        merged = {name: value for name, value in headers.items() if name != "Link"}
        if "Link" in more_headers:
            merged["Link"] = more_headers["Link"]
        return rows + more, merged
    if kind == "repeat_cursor":
        return rows, {**headers, "Link": f'<{request_url}>; rel="next"'}
    marked = _with_marker(request_url, f"{kind}-{seq}")
    if kind == "empty_page":
        return [], {**headers, "Link": f'<{marked}>; rel="next"'}
    return rows, {**headers, "Link": f'<{marked}>; rel="next"'}  # repeat_page


def _with_marker(url: str, mark: str) -> str:
    parts = urlsplit(url)
    query = without_marker(parse_qsl(parts.query, keep_blank_values=True)) + [(MARKER, mark)]
    encoded = urlencode(query, quote_via=quote, safe=",")
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{encoded}"


def next_cursor(headers: dict) -> str | None:
    """The ``search_after`` of a page's next link, or None on the last page."""
    match = re.search(r'<([^>]*)>;\s*rel="next"', headers.get("Link", ""))
    return dict(parse_qsl(urlsplit(match.group(1)).query)).get("search_after") if match else None
