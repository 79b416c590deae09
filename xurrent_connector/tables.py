"""Declarative specs of the replicated collections: endpoint, requested fields, columns, types.

One spec per collection keeps `schema()`, the `fields=` list and row flattening in agreement:
all three derive from the same column list, so a column cannot be declared without being
requested, or requested without being declared.

Every column owns one small conversion function, chosen when the spec is built. The per-row
path is then a single pass over (name, function) pairs with no type sniffing, which keeps
flattening cheap for profiling later.

Conversion rules (see xurrent_api.md §6 and fivetran_sdk.md §2.3):

* datetimes: any ISO 8601 offset is normalised to an aware UTC string ``...Z`` that the SDK
  accepts for UTC_DATETIME; a value without an offset is read as UTC.
* decimals: the API sends exact decimal strings; they are passed through unchanged into
  DECIMAL(38, 10) (28 integer digits, 10 fractional: money and ROI-like values fit without
  rounding; the SDK rejects float and Decimal objects).
* references: ``<field>_id`` (LONG) and ``<field>_name`` (STRING). The service provider of a
  product or project also gets ``service_provider_id``/``_name`` and, because providers can
  live in a trusted account, ``service_provider_account_id``. Other cross-account references
  keep only id and name: their account is not needed to join inside this account's data.
* arrays, hashes and custom fields: JSON columns receiving the Python list/dict itself.
* ``disabled``: requested explicitly and always a real boolean (absent means false).
* ``null`` stays ``None``; enums are plain strings (legacy values such as
  ``na_cost_is_zero`` must survive).

Not replicated: write-only ``*_attachments`` fields (never returned) and the projects ``note``
(not selectable through ``fields=``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

Record = dict
Extractor = Callable[[Record], Any]

LONG = "LONG"
STRING = "STRING"
BOOLEAN = "BOOLEAN"
UTC_DATETIME = "UTC_DATETIME"
JSON = "JSON"
#: Exact decimals: 28 integer digits and 10 fractional digits. Wider than any documented
#: money amount; the SDK stores an integer-part overflow as NULL, so leave generous headroom.
DECIMAL = {"type": "DECIMAL", "precision": 38, "scale": 10}

UTC = timezone.utc

ALL_TABLES = ("organizations", "products", "projects")


class RecordFormatError(ValueError):
    """An API value that cannot be represented in its declared column type."""


# --- value conversions (each chosen once per column) -----------------------------------------


def to_utc_text(value: str | None) -> str | None:
    """Normalise an ISO 8601 timestamp with any offset to ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``.

    The API renders timestamps in a local zone (``-05:00``, ``+01:00``, ``Z`` ...). One
    canonical UTC form keeps the warehouse, the filters and the saved cursors consistent, and
    it is exactly what the SDK accepts for UTC_DATETIME. Every value is parsed (no shortcut for
    strings that merely look canonical) so that garbage fails here, naming the record.
    """
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise RecordFormatError(f"not an ISO 8601 date-time: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return format_utc(parsed)


def to_utc_datetime(value: str | None) -> datetime | None:
    """An aware datetime for a UTC_DATETIME column (any ISO 8601 offset; none means UTC).

    The column path hands the SDK the parsed object rather than canonical text: the SDK
    re-parses every datetime *string* with ``strptime`` (about 10 us each, several per row),
    while an aware datetime is converted to UTC arithmetically, to the same stored value.
    """
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise RecordFormatError(f"not an ISO 8601 date-time: {value!r}") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed


def format_utc(moment: datetime) -> str:
    """Canonical UTC text of an aware datetime (microseconds only when present)."""
    return moment.astimezone(UTC).isoformat()[:-6] + "Z"


def parse_utc(text: str) -> datetime:
    """Aware UTC datetime from a canonical (or any ISO 8601) timestamp text."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def to_decimal_text(value: Any) -> str | None:
    """Exact decimal text for a DECIMAL column.

    The API sends decimals as strings; those pass through untouched so no digit is lost. The
    SDK rejects float and Decimal objects, so a number that arrives unquoted is turned into its
    shortest round-trip text instead.
    """
    if value is None or type(value) is str:
        return value
    if isinstance(value, bool):
        raise RecordFormatError(f"not a decimal: {value!r}")
    if isinstance(value, (int, float)):
        return repr(value)
    raise RecordFormatError(f"not a decimal: {value!r}")


def to_int(value: Any) -> int | None:
    """Integers as int; the API's integers are JSON numbers, but tolerate numeric strings."""
    if value is None or type(value) is int:
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        raise RecordFormatError(f"not an integer: {value!r}") from None


def to_bool(value: Any) -> bool | None:
    """Booleans that may be null stay null; anything else becomes a real bool."""
    if value is None:
        return None
    return bool(value)


# --- columns ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One warehouse column: its name, its declared SDK type and how to get it from a record.

    ``source`` is the top-level API field the column is read from; it decides the ``fields=``
    list unless ``requested`` is False (fields the API returns on its own and may refuse to
    select). ``extract`` receives the whole record so nested references need no special case.
    """

    name: str
    sdk_type: Any
    source: str
    extract: Extractor
    requested: bool = True


def _getter(field: str, convert: Callable[[Any], Any] | None) -> Extractor:
    if convert is None:
        return lambda record: record.get(field)
    return lambda record: convert(record.get(field))


def long(field: str, name: str | None = None) -> list[Column]:
    return [Column(name or field, LONG, field, _getter(field, to_int))]


def string(field: str, name: str | None = None) -> list[Column]:
    """Text and enum values (enums stay strings: legacy values must survive)."""
    return [Column(name or field, STRING, field, _getter(field, None))]


def implicit_string(field: str, name: str) -> list[Column]:
    """A text field the API adds by itself and that is not asked for with ``fields=``.

    ``nodeID`` (the GraphQL global id) is treated by the official .NET SDK as always returned
    and not selectable; asking for it risks a 400 on the whole walk, so it is stored when
    present and null otherwise.
    """
    return [Column(name, STRING, field, _getter(field, None), requested=False)]


def boolean(field: str) -> list[Column]:
    return [Column(field, BOOLEAN, field, _getter(field, to_bool))]


def flag(field: str) -> list[Column]:
    """A boolean the API omits when false (``disabled``): absent or null means False."""
    return [Column(field, BOOLEAN, field, lambda record: record.get(field) is True)]


def utc(field: str) -> list[Column]:
    return [Column(field, UTC_DATETIME, field, _getter(field, to_utc_datetime))]


def decimal(field: str) -> list[Column]:
    return [Column(field, DECIMAL, field, _getter(field, to_decimal_text))]


def json_value(field: str) -> list[Column]:
    """Arrays, hashes and custom fields: the parsed value itself (the SDK serialises it)."""
    return [Column(field, JSON, field, _getter(field, None))]


def lifecycle_moment(name: str) -> list[Column]:
    """A moment the connector records itself instead of reading it from the record.

    ``archived_at``/``trashed_at`` on projects: an upsert always writes null (a project the
    API lists is live, so upserting a restored project clears them), and lifecycle.py sets one
    with ``op.update`` when the project shows up in the archive or the trash. Not requested:
    the collection has no such field.
    """
    return [Column(name, UTC_DATETIME, name, lambda record: None, requested=False)]


def _ref_part(field: str, key: str) -> Extractor:
    def extract(record: Record):
        reference = record.get(field)
        return None if reference is None else reference.get(key)

    return extract


def _ref_display(field: str, keys: tuple[str, ...]) -> Extractor:
    if len(keys) == 1:
        return _ref_part(field, keys[0])

    def extract(record: Record):
        reference = record.get(field)
        if reference is None:
            return None
        for key in keys:
            value = reference.get(key)
            if value is not None:
                return value
        return None

    return extract


def reference(field: str, display: tuple[str, ...] = ("name",)) -> list[Column]:
    """A reference object ``{id, name}`` (or null) as ``<field>_id`` and ``<field>_name``.

    ``display`` lists the keys holding the reference's label: most records are labelled by
    ``name``, templates by ``subject`` (the first present key wins).
    """
    return [
        Column(f"{field}_id", LONG, field, _ref_part(field, "id")),
        Column(f"{field}_name", STRING, field, _ref_display(field, display)),
    ]


def service_with_provider(field: str = "service") -> list[Column]:
    """The service reference plus its nested provider (an organization, possibly in a trusted
    account, in which case the provider's account id is kept: the provider id alone would be
    ambiguous across accounts)."""

    def provider_part(*keys: str) -> Extractor:
        def extract(record: Record):
            value = record.get(field)
            for key in ("provider",) + keys:
                if value is None:
                    return None
                value = value.get(key)
            return value

        return extract

    return reference(field) + [
        Column(f"{field}_provider_id", LONG, field, provider_part("id")),
        Column(f"{field}_provider_name", STRING, field, provider_part("name")),
        Column(f"{field}_provider_account_id", STRING, field, provider_part("account", "id")),
    ]


# --- table specs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableSpec:
    """A replicated collection: endpoint path, declared columns and row flattening."""

    name: str
    path: str
    columns: tuple[Column, ...]

    def __post_init__(self):
        names = [column.name for column in self.columns]
        duplicates = {name for name in names if names.count(name) > 1}
        if duplicates:
            raise ValueError(f"{self.name}: duplicate columns {sorted(duplicates)}")
        # Precompute the per-row plan once: a tuple of (column name, extractor) pairs.
        object.__setattr__(
            self, "_plan", tuple((column.name, column.extract) for column in self.columns)
        )

    @property
    def api_fields(self) -> tuple[str, ...]:
        """The exact ``fields=`` list: every source field once, in column order (``id`` is
        always returned and is therefore not requested)."""
        seen: dict[str, None] = {}
        for column in self.columns:
            if column.requested and column.source != "id":
                seen.setdefault(column.source, None)
        return tuple(seen)

    def schema_entry(self) -> dict:
        return {
            "table": self.name,
            "primary_key": ["id"],
            "columns": {column.name: column.sdk_type for column in self.columns},
        }

    def flatten(self, record: Record) -> dict:
        """One API record as one warehouse row (every declared column present)."""
        return {name: extract(record) for name, extract in self._plan}


def _columns(*groups: Iterable[Column]) -> tuple[Column, ...]:
    return tuple(column for group in groups for column in group)


_COMMON_HEAD = (
    long("id"),
    implicit_string("nodeID", "node_id"),
    string("sourceID", "source_id"),
)
_TIMESTAMPS = (utc("created_at"), utc("updated_at"))

ORGANIZATIONS = TableSpec(
    name="organizations",
    path="/organizations",
    columns=_columns(
        *_COMMON_HEAD,
        string("source"),
        string("name"),
        reference("parent"),
        reference("manager"),
        reference("substitute"),
        boolean("business_unit"),
        reference("business_unit_organization"),
        string("region"),
        string("financialID", "financial_id"),
        flag("disabled"),
        boolean("end_user_privacy"),
        reference("order_template", display=("subject", "name")),
        string("picture_uri"),
        string("remarks"),
        json_value("custom_fields"),
        json_value("addresses"),
        json_value("contacts"),
        json_value("attachments"),
        reference("ui_extension", display=("title", "name")),
        *_TIMESTAMPS,
    ),
)

PRODUCTS = TableSpec(
    name="products",
    path="/products",
    columns=_columns(
        *_COMMON_HEAD,
        string("source"),
        string("name"),
        string("category"),
        string("brand"),
        string("model"),
        string("productID", "product_id"),
        service_with_provider(),
        reference("support_team"),
        reference("supplier"),
        reference("financial_owner"),
        string("rule_set"),
        string("depreciation_method"),
        long("rate"),
        long("useful_life"),
        decimal("salvage_value"),
        string("salvage_value_currency"),
        flag("disabled"),
        json_value("recurrence"),
        reference("workflow_template", display=("subject", "name")),
        reference("workflow_manager"),
        string("picture_uri"),
        string("remarks"),
        json_value("custom_fields"),
        reference("ui_extension", display=("title", "name")),
        json_value("attachments"),
        *_TIMESTAMPS,
    ),
)

PROJECTS = TableSpec(
    name="projects",
    path="/projects",
    columns=_columns(
        *_COMMON_HEAD,
        string("source"),
        string("subject"),
        string("category"),
        string("status"),
        reference("manager"),
        reference("customer"),
        service_with_provider(),
        string("program"),
        string("justification"),
        string("risk_level"),
        string("completion_reason"),
        utc("completion_target_at"),
        utc("completed_at"),
        long("resolution_duration"),
        long("effort"),
        decimal("cost_of_effort"),
        decimal("cost_of_purchases"),
        decimal("value"),
        decimal("total_cost"),
        long("roi"),
        string("value_currency"),
        string("time_zone"),
        reference("work_hours"),
        json_value("custom_fields"),
        reference("ui_extension", display=("title", "name")),
        json_value("attachments"),
        *_TIMESTAMPS,
        lifecycle_moment("archived_at"),
        lifecycle_moment("trashed_at"),
    ),
)

TABLES: dict[str, TableSpec] = {spec.name: spec for spec in (ORGANIZATIONS, PRODUCTS, PROJECTS)}


def schema_declarations() -> list[dict]:
    """What `schema()` returns: all three tables with every column declared."""
    return [TABLES[name].schema_entry() for name in ALL_TABLES]
