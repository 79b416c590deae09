"""Query semantics of collection requests: filters, sorting, field selection and cursors.

Kept free of HTTP and locking so the rules in xurrent_api.md §2-§3 live in one testable place.
Every rejection raises ApiError carrying the status and the documented ``{"message": ...}`` body.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime, timezone

from .schema import BOOL, DATETIME, ENUM, INT, ORGREF, REF, CollectionSpec

#: Query parameters that steer paging/selection rather than filter rows.
NON_FILTER_PARAMS = {"per_page", "page", "search_after", "search_before", "fields", "sort"}

_RANGE_RE = re.compile(r"(>=|<=|>|<)([^<>]*)")


class ApiError(Exception):
    """An API error response: status plus JSON body."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.body = {"message": message}
        self.headers = headers or {}


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


def _scalar(kind: str, text: str, field: str):
    """Convert one filter operand to the comparable stored form."""
    if kind == DATETIME:
        return parse_datetime(text, field)
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


def compile_filters(spec: CollectionSpec, params: list[tuple[str, str]]):
    """Turn query parameters into a list of row predicates (AND-ed), or raise 400."""
    predicates = []
    unknown, not_allowed = [], []
    for raw_name, value in params:
        if raw_name in NON_FILTER_PARAMS:
            continue
        negate_name = raw_name.endswith("!")
        name = raw_name[:-1] if negate_name else raw_name
        if name == "ids":
            name = "id"
        elif name.endswith("_id") and name[:-3] in spec.fields:
            name = name[:-3]  # team_id style alias for reference filters
        if name not in spec.fields:
            unknown.append(raw_name)
            continue
        if name not in spec.filterable:
            not_allowed.append(raw_name)
            continue
        predicates.append(_compile_one(spec, name, value, negate_name))
    if unknown:
        raise ApiError(400, f"Unknown fields: {', '.join(unknown)}")
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


def _compile_range(kind: str, name: str, value: str):
    if kind not in (INT, DATETIME):
        raise ApiError(400, f"Field '{name}' does not support the '{value[:2]}' operator")
    parts = _RANGE_RE.findall(value)
    if "".join(op + operand for op, operand in parts) != value or not 1 <= len(parts) <= 2:
        raise ApiError(400, f"Invalid range value for field '{name}': {value!r}")
    if len(parts) == 2 and not (parts[0][0].startswith(">") and parts[1][0].startswith("<")):
        raise ApiError(400, f"Invalid range value for field '{name}': {value!r}")
    checks = []
    for operator, operand in parts:
        bound = _scalar(kind, operand, name)
        checks.append((operator, bound))

    def predicate(row):
        current = row.get(name)
        if current is None:
            return False
        for operator, bound in checks:
            if operator == ">" and not current > bound:
                return False
            if operator == ">=" and not current >= bound:
                return False
            if operator == "<" and not current < bound:
                return False
            if operator == "<=" and not current <= bound:
                return False
        return True

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


def parse_sort(spec: CollectionSpec, text: str | None) -> list[tuple[str, bool]]:
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
            if name not in spec.sortable:
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


def encode_cursor(offset: int, values: list) -> str:
    raw = json.dumps({"offset": offset, "cursor": values}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(spec: CollectionSpec, order, text: str, param: str) -> tuple[int, list]:
    """Validate an opaque cursor; anything that is not one of ours is a 400."""
    error = ApiError(400, f"Parameter '{param}' is invalid")
    try:
        padded = text.strip().replace("+", "-").replace("/", "_")
        padded += "=" * (-len(padded) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise error from None
    if not isinstance(data, dict) or set(data) != {"offset", "cursor"}:
        raise error
    offset, values = data["offset"], data["cursor"]
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise error
    if not isinstance(values, list) or len(values) != len(order):
        raise error
    for value, (name, _) in zip(values, order):
        kind = spec.fields[name]
        if value is None:
            continue
        numeric = kind in (INT, REF, ORGREF, DATETIME)
        if numeric and (not isinstance(value, int) or isinstance(value, bool)):
            raise error
        if not numeric and not isinstance(value, str):
            raise error
    return offset, values


def parse_fields(spec: CollectionSpec, text: str | None) -> tuple[list[str], bool]:
    """Selected fields (id first) and whether disabled was explicitly requested."""
    if text is None:
        return list(spec.default_fields), False
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in spec.fields]
    if unknown:
        raise ApiError(400, f"Unknown fields: {', '.join(unknown)}")
    blocked = [name for name in names if name in spec.not_selectable]
    if blocked:
        raise ApiError(400, f"Field selection not allowed on fields: {', '.join(blocked)}")
    selected = ["id"]
    for name in names:
        if name not in selected:
            selected.append(name)
    return selected, "disabled" in names
