"""Query semantics of collection requests: filters, sorting, field selection and cursors.

Kept free of HTTP and locking so the rules in xurrent_api.md §2-§3 live in one testable place.
Every rejection raises ApiError carrying the status and the documented ``{"message": ...}`` body.
"""

from __future__ import annotations

import base64
import json
import operator
import re
import time
from datetime import datetime, timezone

from .schema import BOOL, DATE, DATETIME, ENUM, INT, ORGREF, REF, CollectionSpec

#: Query parameters that steer paging/selection rather than filter rows.
NON_FILTER_PARAMS = {"per_page", "page", "search_after", "search_before", "fields", "sort"}
#: Fields every record carries without being asked for (and that the docs do not list).
IMPLICIT_FIELDS = ("nodeID", "account")
CURSOR_FORMATS = ("capture", "opaque")

_RANGE_RE = re.compile(r"(>=|<=|>|<)([^<>]*)")


class ApiError(Exception):
    """An API error response: status plus JSON body."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(status, message, headers)
        self.status = status
        self.message = message
        self.body = {"message": message}
        self.headers = headers or {}

    def __str__(self):
        return self.message


def parse_datetime(text: str, field: str) -> int:
    """Parse a filter datetime (any ISO 8601 offset, or a date) into epoch seconds.

    A space where the offset should be means a raw ``+`` was decoded by the URL parser; the real
    API cannot parse that either, so it is a 400 (the documented pitfall).
    """
    value = text
    if " " in value or not value:
        raise ApiError(400, f"Invalid date/time value for field '{field}': {text!r}")
    try:
        if len(value) == 10:
            parsed = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=timezone.utc)
        else:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, f"Invalid date/time value for field '{field}': {text!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)  # naive values are read as UTC
    return int(parsed.timestamp())


def to_epoch(moment) -> int:
    """Accept datetime, epoch number or None (= now) and return whole epoch seconds."""
    if moment is None:
        return int(time.time())
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return int(moment.timestamp())
    return int(moment)


def parse_date(text: str, field: str) -> str:
    """A date filter operand: yyyy-mm-dd text (DX-TYPES), compared as stored text."""
    try:
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise ApiError(400, f"Invalid date value for field '{field}': {text!r}") from None
    return text


def _scalar(kind: str, text: str, field: str):
    """Convert one filter operand to the comparable stored form."""
    if kind == DATETIME:
        return parse_datetime(text, field)
    if kind == DATE:
        return parse_date(text, field)
    if kind in (INT, REF, ORGREF):
        try:
            return int(text)
        except ValueError:
            raise ApiError(400, f"Invalid integer value for field '{field}': {text!r}") from None
    return text


def _row_value(kind: str, row: dict, field: str):
    value = row.get(field)
    if kind in (REF, ORGREF) and value is not None:
        return value.get("id")
    return value


def _filter_name(spec: CollectionSpec, raw_name: str) -> str:
    """The field a filter parameter names: ``ids`` is ``id``, ``team_id`` is ``team``."""
    name = raw_name[:-1] if raw_name.endswith("!") else raw_name
    if name == "ids":
        return "id"
    if name.endswith("_id") and name[:-3] in spec.fields:
        return name[:-3]  # team_id style alias for reference filters
    return name


def compile_filters(spec: CollectionSpec, params: list[tuple[str, str]], unknown=frozenset()):
    """Turn query parameters into a list of row predicates (AND-ed), or raise 400.

    ``unknown`` names fields this server version does not know: they are rejected like any
    name that is not a field at all.
    """
    predicates = []
    unknown_names, not_allowed = [], []
    for raw_name, value in params:
        if raw_name in NON_FILTER_PARAMS:
            continue
        name = _filter_name(spec, raw_name)
        if name not in spec.fields or name in unknown:
            unknown_names.append(raw_name)
        elif name not in spec.filterable:
            not_allowed.append(raw_name)
        else:
            predicates.append(_compile_one(spec, name, value, raw_name.endswith("!")))
    if unknown_names:
        raise ApiError(400, f"Unknown fields: {', '.join(unknown_names)}")
    if not_allowed:
        raise ApiError(400, f"Filtering not allowed on fields: {', '.join(not_allowed)}")
    return predicates


def _compile_one(spec: CollectionSpec, name: str, value: str, negate: bool):
    kind = spec.fields[name]
    if kind == BOOL:
        return _compile_bool(name, value, negate)
    if value.startswith("!"):
        negate, value = (not negate), value[1:]
        if value == "":
            return lambda row: _row_value(kind, row, name) is not None  # present
    if value == "":
        if negate:
            return lambda row: _row_value(kind, row, name) is not None
        return lambda row: _row_value(kind, row, name) is None
    if value[0] in "<>":
        if negate:
            raise ApiError(400, f"Field '{name}' does not support the '!' operator with a range")
        return _compile_range(kind, name, value)
    if "," in value and kind in (INT, ENUM, REF, ORGREF):
        wanted = {_scalar(kind, part, name) for part in value.split(",") if part != ""}
        if negate:
            return lambda row: _row_value(kind, row, name) not in wanted
        return lambda row: _row_value(kind, row, name) in wanted
    target = _scalar(kind, value, name)
    if negate:
        return lambda row: _row_value(kind, row, name) != target
    return lambda row: _row_value(kind, row, name) == target


def _compile_bool(name: str, value: str, negate: bool):
    if value and value[0] in "<>":
        operator = _RANGE_RE.match(value).group(1)
        raise ApiError(400, f"Field '{name}' does not support the '={operator}' operator")
    if value.startswith("!"):
        negate, value = (not negate), value[1:]
    if "," in value:
        raise ApiError(400, f"Cannot filter on a set of values for field '{name}'")
    if value not in ("true", "false"):
        raise ApiError(400, f"Invalid boolean value for field '{name}': {value!r}")
    wanted = (value == "true") != negate
    return lambda row: bool(row.get(name)) == wanted


_RANGE_CHECKS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


def _compile_range(kind: str, name: str, value: str):
    if kind not in (INT, DATETIME, DATE):
        raise ApiError(400, f"Field '{name}' does not support the '{value[:2]}' operator")
    parts = _RANGE_RE.findall(value)
    well_formed = "".join(op + operand for op, operand in parts) == value and 1 <= len(parts) <= 2
    bounded = len(parts) < 2 or (parts[0][0][0], parts[1][0][0]) == (">", "<")
    if not (well_formed and bounded):
        raise ApiError(400, f"Invalid range value for field '{name}': {value!r}")
    checks = [(_RANGE_CHECKS[op], _scalar(kind, operand, name)) for op, operand in parts]

    def predicate(row):
        current = row.get(name)
        return current is not None and all(check(current, bound) for check, bound in checks)

    return predicate


# --- sorting -------------------------------------------------------------------------------


class Desc:
    """Inverts ordering of a key element so one tuple key serves mixed asc/desc sorts."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __lt__(self, other):
        return other.value < self.value

    def __gt__(self, other):
        return other.value > self.value

    def __eq__(self, other):
        return self.value == other.value

    def __hash__(self):
        return hash(self.value)


def parse_sort(spec: CollectionSpec, text: str | None, unknown=frozenset()) -> list:
    """Sort spec with an id tie-breaker appended so every order is total and deterministic."""
    if text is None or text.strip() == "":
        order = list(spec.default_sort)
    else:
        order, rejected = [], []
        for item in text.split(","):
            item = item.strip()
            if not item:
                continue
            descending = item.startswith("-")
            name = item.lstrip("-")
            if name not in spec.sortable or name in unknown:
                rejected.append(name)
            order.append((name, descending))
        if rejected:
            raise ApiError(400, f"Sorting not allowed on fields: {', '.join(rejected)}")
    if "id" not in [name for name, _ in order]:
        order.append(("id", False))
    return order


def cursor_values(spec: CollectionSpec, order, row: dict) -> list:
    """The search_after values of a row: raw sort values, datetimes in epoch milliseconds."""
    values = []
    for name, _ in order:
        kind = spec.fields[name]
        value = row.get(name)
        if value is not None:
            if kind in (REF, ORGREF):
                value = value.get("id")
            elif kind == DATETIME:
                value = value * 1000
        values.append(value)
    return values


_NUMERIC = (INT, REF, ORGREF, DATETIME)
_LOWEST, _HIGHEST = float("-inf"), float("inf")


def key_from_values(values: list, order, spec: CollectionSpec) -> tuple:
    """Sort key from cursor values; nulls sort first ascending (last descending).

    The key is flat so that sorting and bisecting compare plain numbers where possible: a
    numeric value is one element (negated when descending, nulls as -inf/+inf), a string is a
    (flag, value) pair (flag 0 for null, 1 ascending or -1 descending, the value wrapped in Desc
    when descending). Comparing two keys therefore orders rows exactly as the sort spec says.
    """
    key = []
    for value, (name, descending) in zip(values, order):
        if spec.fields[name] in _NUMERIC:
            if value is None:
                key.append(_HIGHEST if descending else _LOWEST)
            else:
                key.append(-value if descending else value)
        elif value is None:
            key += (0, 0)
        elif descending:
            key += (-1, Desc(value))
        else:
            key += (1, value)
    return tuple(key)


def make_key(spec: CollectionSpec, order):
    """A row -> sort key function equal to ``key_from_values(cursor_values(row))``.

    Built once per request and called for every row when a sorted view is (re)built, so the
    common shapes (ascending numeric fields) get a specialised closure.
    """
    kinds = [spec.fields[name] for name, _ in order]
    plain = all(kind in (INT, DATETIME) for kind in kinds) and not any(d for _, d in order)
    if plain and len(order) == 2:  # e.g. updated_at,id: the incremental-sync walk
        (first, _), (second, _) = order
        f1, f2 = (1000 if kind == DATETIME else 1 for kind in kinds)

        def pair_key(row):
            a, b = row.get(first), row.get(second)
            return (_LOWEST if a is None else a * f1, _LOWEST if b is None else b * f2)

        return pair_key

    def key(row):
        return key_from_values(cursor_values(spec, order, row), order, spec)

    return key


def pack_sort_key(text: str) -> str:
    """A string sort value as the binary collation key captured cursors carry.

    Real cursors hold strings as opaque binary keys (15 bits per character, ending in
    ``\\u0000\\u0001``), never as the readable name. Here the UTF-8 bytes plus a 0x01 sentinel
    are packed 15 bits per character (below the surrogate range), so the key stays reversible
    for the simulator and unreadable for a client.
    """
    data = text.encode("utf-8") + b"\x01"
    bits = len(data) * 8
    chars = -(-bits // 15)
    number = int.from_bytes(data, "big") << (chars * 15 - bits)
    shifts = range(15 * (chars - 1), -1, -15)
    return "".join(chr((number >> shift) & 0x7FFF) for shift in shifts) + "\x00\x01"


def unpack_sort_key(key: str) -> str:
    """Invert pack_sort_key; anything that is not such a key raises ValueError."""
    body = key[:-2]
    if not body or key[-2:] != "\x00\x01" or any(ord(char) > 0x7FFF for char in body):
        raise ValueError("not a sort key")
    number = 0
    for char in body:
        number = (number << 15) | ord(char)
    size = len(body) * 15 // 8
    data = (number >> (len(body) * 15 - size * 8)).to_bytes(size, "big").rstrip(b"\x00")
    if not data.endswith(b"\x01"):
        raise ValueError("not a sort key")
    return data[:-1].decode("utf-8")


_OPAQUE_MAGIC = b"\x8f\x02"


def _scramble(data: bytes) -> bytes:
    return bytes(byte ^ 0x5A for byte in data)


def encode_cursor(offset: int, values: list, cursor_format: str = "capture") -> str:
    """A search_after/search_before token: ``offset`` is the index of the row it points at.

    "capture" is the shape of captured cursors (urlsafe base64 of compact JSON, non-ASCII text
    raw UTF-8); "opaque" scrambles the same bytes so that nothing in them is JSON.
    """
    packed = [pack_sort_key(value) if isinstance(value, str) else value for value in values]
    payload = {"offset": offset, "cursor": packed}
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if cursor_format == "opaque":
        raw = _OPAQUE_MAGIC + _scramble(raw)
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _cursor_payload(text: str, cursor_format: str):
    """Base64 (either alphabet, padding optional) to the JSON payload; ValueError if not."""
    padded = text.strip().replace("+", "-").replace("/", "_")
    padded += "=" * (-len(padded) % 4)
    raw = base64.urlsafe_b64decode(padded.encode("ascii"))
    if cursor_format == "opaque":
        if not raw.startswith(_OPAQUE_MAGIC):
            raise ValueError("not an opaque cursor")
        raw = _scramble(raw[len(_OPAQUE_MAGIC) :])
    return json.loads(raw.decode("utf-8"))


def _cursor_value(kind: str, value):
    """One decoded sort value in stored form (strings unpacked); ValueError if mistyped."""
    if value is None:
        return None
    if kind in (INT, REF, ORGREF, DATETIME):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError("not an integer")
        return value
    if not isinstance(value, str):
        raise ValueError("not a string")
    return unpack_sort_key(value)


def decode_cursor(spec, order, text: str, param: str, cursor_format: str = "capture"):
    """Validate an opaque cursor into (offset, sort values); anything not ours is a 400."""
    try:
        data = _cursor_payload(text, cursor_format)
        if not isinstance(data, dict) or set(data) != {"offset", "cursor"}:
            raise ValueError("not a cursor")
        offset, values = data["offset"], data["cursor"]
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise ValueError("bad offset")
        if not isinstance(values, list) or len(values) != len(order):
            raise ValueError("bad values")
        kinds = [spec.fields[name] for name, _ in order]
        return offset, [_cursor_value(kind, value) for kind, value in zip(kinds, values)]
    except ValueError:
        raise ApiError(400, f"Parameter '{param}' is invalid") from None


def parse_fields(spec, text: str | None, unknown=frozenset(), implicit: str = "error"):
    """Selected fields (id first) and whether disabled was explicitly requested.

    ``unknown`` are fields this server version lacks; ``implicit`` says what naming an
    always-returned field (nodeID, account) does: "error" (Unknown fields) or "ignore".
    """
    if text is None:
        return [name for name in spec.default_fields if name not in unknown], False
    names = [part.strip() for part in text.split(",") if part.strip()]
    if implicit == "ignore":
        names = [name for name in names if name not in IMPLICIT_FIELDS]
    rejected = [name for name in names if name not in spec.fields or name in unknown]
    if rejected:
        raise ApiError(400, f"Unknown fields: {', '.join(rejected)}")
    blocked = [name for name in names if name in spec.not_selectable]
    if blocked:
        raise ApiError(400, f"Field selection not allowed on fields: {', '.join(blocked)}")
    selected = ["id"]
    for name in names:
        if name not in selected:
            selected.append(name)
    return selected, "disabled" in names
