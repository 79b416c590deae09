"""The streams: what each one reads, how it is walked, and what it writes.

A stream is data, not code: a path, the timestamp it is walked by, and how a record becomes
operations. Twelve streams are tables (organizations, products, projects, people, teams, sites,
services, service instances, configuration items, contracts, project tasks and time entries,
walked by ``updated_at``): their columns decide the ``fields=`` list, the declared schema and
the flattening of a record into a row, so none of the three can disagree with another. Two
streams are the archive and trash listings (walked by ``created_at``): an entry of a record
type a synced table keeps (``bin_type``: project, person, ci, project_task, time_entry) marks
that row deleted (``update`` of ``archived_at``/``trashed_at``, then ``delete``); other entries
are skipped. A time entry whose ``deleted`` field is true is a deleted row too.

Conversion rules (xurrent_api.md §6, fivetran_sdk.md §2.3): datetimes in any ISO 8601 offset
become aware UTC datetimes, dates stay dates; decimals keep the API's exact text in
DECIMAL(38, 10); a reference becomes ``<field>_id`` and ``<field>_name`` (a reference to a
record a directory account may own, an organization, a person or a site, also
``<field>_account_id``; the service also its provider's id, name and account); arrays, hashes
and custom fields are JSON; ``disabled`` is always a boolean; null stays null. A value of another
type than its column's (a word in an integer, an object where text belongs) is read as
``UNREADABLE`` and stored as NULL, the rest of the row kept (repair.py). Columns that hold
personal data are marked: the ``exclude_columns`` option can leave any column out. Not
replicated: write-only ``*_attachments`` and the projects ``note``, which ``fields=`` cannot
select.
"""

from __future__ import annotations

import re
from copy import copy
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from .errors import RecordFormatError
from .repair import UNREADABLE, RepairedRow
from .timestamps import parse_date, parse_timestamp

LONG, STRING, BOOLEAN, UTC_DATETIME, JSON = "LONG", "STRING", "BOOLEAN", "UTC_DATETIME", "JSON"
NAIVE_DATE = "NAIVE_DATE"
#: Exact decimals with generous headroom: an integer-part overflow would be stored as NULL.
DECIMAL = {"type": "DECIMAL", "precision": 38, "scale": 10}

Record = Mapping[str, Any]
Extractor = Callable[[Record], Any]

LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1  # what a LONG column (and the SDK) takes
#: The types a text column takes as they are (others go through ``to_text``, which refuses).
_TEXT = (str, type(None))
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]{1,19}")
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


# --- value conversions (each chosen once per column) -------------------------------------------


def to_decimal_text(value: Any) -> str | None:
    """Exact decimal text: the API's strings pass untouched (the SDK refuses floats), if they
    are numbers (the warehouse refuses "abc" or "NaN" at the checkpoint of the whole page)."""
    if value is None or type(value) is str and _is_decimal_text(value):
        return value
    if type(value) in (int, float) and _DECIMAL_TEXT.fullmatch(repr(value)):
        return repr(value)
    raise RecordFormatError(f"not a decimal: {value!r}")


def _is_decimal_text(text: str) -> bool:
    """Whether ``text`` is a number (plain digits and one point, the API's form, is checked
    without the regular expression, at a fraction of its cost)."""
    if text.isascii() and text.replace(".", "", 1).isdigit():
        return True
    return _DECIMAL_TEXT.fullmatch(text) is not None


def to_int(value: Any) -> int | None:
    """An integer a LONG column takes: never a truncated fraction, a boolean or a word."""
    if type(value) is int and LONG_MIN <= value <= LONG_MAX or value is None:
        return value
    integral = type(value) is float and value.is_integer()
    if integral or type(value) is str and _INTEGER_TEXT.fullmatch(value):
        return to_int(int(value))
    raise RecordFormatError(f"not an integer: {value!r}")


def to_bool(value: Any) -> bool | None:
    if value is None or type(value) is bool:
        return value
    raise RecordFormatError(f"not a boolean: {value!r}")


def to_text(value: Any) -> str | None:
    if value is None or type(value) is str:
        return value
    raise RecordFormatError(f"not text: {type(value).__name__}")


# --- columns -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A warehouse column: its name, SDK type, the top-level API field it comes from, and how
    to read it from a whole record (so nested references need no special case).
    ``requested=False`` marks a column that is not asked for with ``fields=``; ``personal``
    one that holds personal data (a person's name, e-mail address, phone number, ...)."""

    name: str
    sdk_type: Any
    source: str
    extract: Extractor
    requested: bool = True
    personal: bool = False


def _getter(field: str, convert: Callable[[Any], Any] | None, passes: tuple = ()) -> Extractor:
    """Read ``field``; a value whose type is in ``passes`` is taken as it is, any other goes
    through ``convert`` (which raises on what its column cannot take): one call per value."""
    if convert is None:
        return lambda record: record.get(field)
    return lambda record: value if type(value := record.get(field)) in passes else convert(value)


def _nested(field: str, *keys: str, convert: Callable[[Any], Any] = to_text) -> Extractor:
    """Read a value inside a reference (``service.provider.id``); text, or with ``to_int``
    an id."""

    def extract(record: Record) -> Any:
        value = record.get(field)
        for key in keys:
            if value is None:
                return None
            value = value.get(key)
        if type(value) is str and convert is to_text or value is None:
            return value
        if type(value) is int and LONG_MIN <= value <= LONG_MAX and convert is to_int:
            return value
        return convert(value)

    return extract


def long(field: str, name: str | None = None) -> list[Column]:
    return [Column(name or field, LONG, field, _getter(field, to_int))]


def string(field: str, name: str | None = None, personal: bool = False) -> list[Column]:
    """Text and enums (enums stay strings: legacy values such as ``na_cost_is_zero`` survive)."""
    return [
        Column(name or field, STRING, field, _getter(field, to_text, _TEXT), personal=personal)
    ]


def boolean(field: str, name: str | None = None) -> list[Column]:
    return [Column(name or field, BOOLEAN, field, _getter(field, to_bool))]


def flag(field: str) -> list[Column]:
    """A boolean the API leaves out when false (``disabled``): absent or null is False."""

    def extract(record: Record) -> bool:
        value = record.get(field)
        return value is True or value is not None and value is not False and to_bool(value)

    return [Column(field, BOOLEAN, field, extract)]


def timestamp(field: str) -> list[Column]:
    return [Column(field, UTC_DATETIME, field, _getter(field, parse_timestamp))]


def date(field: str) -> list[Column]:
    """A calendar day (``yyyy-mm-dd``): no time, no zone."""
    return [Column(field, NAIVE_DATE, field, _getter(field, parse_date))]


def decimal(field: str) -> list[Column]:
    return [Column(field, DECIMAL, field, _getter(field, to_decimal_text))]


def json_value(field: str, personal: bool = False) -> list[Column]:
    """Arrays, hashes and custom fields: the parsed value itself (the SDK serialises it)."""
    return [Column(field, JSON, field, _getter(field, None), personal=personal)]


def implicit_string(field: str, name: str) -> list[Column]:
    """Text the API returns on every record by itself and that ``fields=`` cannot select
    (``nodeID``: captures show it everywhere; the .NET SDK never selects it)."""
    return [Column(name, STRING, field, _getter(field, to_text, _TEXT), requested=False)]


def set_by_lifecycle(name: str) -> list[Column]:
    """``archived_at``/``trashed_at``: no API field; an upsert writes null (a listed record is
    live, so upserting a restored one clears them) and the archive or trash stream sets one
    with ``update``."""
    return [Column(name, UTC_DATETIME, name, lambda record: None, requested=False)]


#: What an account column holds until ``flatten`` knows the connection's account: the record
#: (or reference) exists and names no account, so it lives in the configured one (DX-TYPES: "If
#: a resource or reference to a resource does not expose an account field, the account of the
#: resource is equal to the account of the authenticated user").
OWN_ACCOUNT = object()


def _account(*path: str) -> Extractor:
    def extract(record: Record) -> Any:
        value = record
        for key in path:
            value = value.get(key)
            if value is None:
                return None
        account = value.get("account")
        if account is None:
            return OWN_ACCOUNT
        return (
            account_id if type(account_id := account.get("id")) in _TEXT else to_text(account_id)
        )

    return extract


def owning_account() -> list[Column]:
    """``account_id``: the account that owns the record. Not requested: the API adds it by
    itself, and only when another account (a directory account) owns the record."""
    return [Column("account_id", STRING, "account", _account(), requested=False)]


def reference(field: str, *labels: str, personal: bool = False) -> list[Column]:
    """A reference ``{id, name}`` (or null) as ``<field>_id`` and ``<field>_name``; ``labels``
    lists the keys that may hold the label, first present wins (projects and templates use
    ``subject``)."""
    labels = labels or ("name",)

    def label(record: Record) -> Any:
        value = record.get(field)
        if value is None:
            return None
        text = next((value[key] for key in labels if value.get(key) is not None), None)
        return text if type(text) in _TEXT else to_text(text)

    return [
        Column(f"{field}_id", LONG, field, _nested(field, "id", convert=to_int)),
        Column(f"{field}_name", STRING, field, label, personal=personal),
    ]


def owned_reference(field: str, personal: bool = False) -> list[Column]:
    """A reference to a record a directory account may own, with the account it lives in:
    such records are referenced from the directory's support-domain accounts, and an id is
    only known to be unique within its account."""
    account = Column(f"{field}_account_id", STRING, field, _account(field))
    return reference(field, personal=personal) + [account]


def organization(field: str) -> list[Column]:
    return owned_reference(field)


def person(field: str) -> list[Column]:
    """A person: the name is personal data."""
    return owned_reference(field, personal=True)


def site(field: str) -> list[Column]:
    return owned_reference(field)


def service_with_provider() -> list[Column]:
    """The service plus its provider, an organization that may live in a trusted account (its
    account id is kept: the provider id alone would be ambiguous across accounts)."""
    return reference("service") + [
        Column(
            "service_provider_id",
            LONG,
            "service",
            _nested("service", "provider", "id", convert=to_int),
        ),
        Column("service_provider_name", STRING, "service", _nested("service", "provider", "name")),
        Column("service_provider_account_id", STRING, "service", _account("service", "provider")),
    ]


# --- streams -----------------------------------------------------------------------------------


class Stream:
    """What every stream has: a name (state key, sync_health row), a path and a cursor field.

    Walks are sorted by ``<cursor_field>,id`` and filtered on ``cursor_field`` (state.py).
    """

    name: str
    path: str
    cursor_field: str
    fields: tuple[str, ...] = ()

    @property
    def sort(self) -> str:
        return f"{self.cursor_field},id"

    def apply(self, record: Record, op: Any, own_account: str) -> int:
        """Send the operations of one record to ``op`` (the SDK's ``Operations``); return how
        many rows were marked deleted. ``own_account``: the connection's account."""
        raise NotImplementedError


class TableStream(Stream):
    """A collection replicated into a table, primary key ``id``.

    ``path``: the collection, when its name differs from the table's (``/cis``). ``bin_type``:
    the record type its records have in the archive and trash listings, which adds the
    ``archived_at`` and ``trashed_at`` columns. ``deleted_field``: a boolean field that marks a
    record deleted (time entries), which makes its row a deleted row.
    """

    cursor_field = "updated_at"

    def __init__(
        self,
        name: str,
        columns: Iterable[Iterable[Column]],
        *,
        path: str | None = None,
        bin_type: str | None = None,
        deleted_field: str | None = None,
    ):
        self.name = name
        self.path = path or f"/{name}"
        self.bin_type = bin_type
        self.deleted_field = deleted_field
        lifecycle = (set_by_lifecycle("archived_at"), set_by_lifecycle("trashed_at"))
        groups = (*columns, *(lifecycle if bin_type else ()))
        self._set_columns(tuple(column for group in groups for column in group))

    def _set_columns(self, columns: tuple[Column, ...]) -> None:
        self.columns = columns
        names = [column.name for column in columns]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.name}: a column is declared twice")
        self._plan = tuple((column.name, column.extract) for column in columns)
        self._accounts = tuple(c.name for c in columns if c.name.endswith("account_id"))
        requested = (c.source for c in columns if c.requested and c.source != "id")
        self.fields = tuple(dict.fromkeys(requested))  # every source field once, in order

    def without(self, column_names) -> "TableStream":
        """This table without some columns: not in the schema, never written, and not asked
        for with ``fields=`` unless another column still needs their field (a reference's
        id needs the reference, so the name still arrives, and is dropped)."""
        if not column_names:
            return self
        narrowed = copy(self)
        narrowed._set_columns(tuple(c for c in self.columns if c.name not in column_names))
        return narrowed

    @property
    def personal_columns(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if column.personal)

    def schema_entry(self) -> dict:
        return {
            "table": self.name,
            "primary_key": ["id"],
            "columns": {column.name: column.sdk_type for column in self.columns},
        }

    def flatten(self, record: Record, own_account: str) -> dict:
        """One record as one row, every declared column present; ``own_account`` is the
        connection's account, where records and references without an account live.

        A value that cannot be read as its column's type (a word in a LONG column, an object
        where text belongs) does not stop the row: it becomes ``UNREADABLE`` in a
        ``RepairedRow``, which the walker's writer stores as NULL and counts (repair.py).
        """
        try:
            row = {name: extract(record) for name, extract in self._plan}
        except (AttributeError, LookupError, TypeError, ValueError):
            row = RepairedRow({name: _readable(extract, record) for name, extract in self._plan})
        for name in self._accounts:
            if row[name] is OWN_ACCOUNT:
                row[name] = own_account
        return row

    def apply(self, record: Record, op: Any, own_account: str) -> int:
        op.upsert(self.name, self.flatten(record, own_account))
        if self.deleted_field is None or record.get(self.deleted_field) is not True:
            return 0
        op.delete(self.name, {"id": record["id"]})  # merged with the upsert: a deleted row
        return 1


def _readable(extract: Extractor, record: Record) -> Any:
    try:
        return extract(record)
    except (AttributeError, LookupError, TypeError, ValueError):
        return UNREADABLE


class BinStream(Stream):
    """The archive or the trash listing: an entry of a record type one of ``tables`` keeps
    soft-deletes that table's row; entries of other types are skipped.

    Both calls of an entry go into the same checkpoint batch, where the SDK merges them: the
    row ends deleted with its moment set. The other bin's column is cleared because a record
    sits in one bin at a time. An update or delete of a row never synced does nothing.
    """

    cursor_field = "created_at"

    def __init__(self, name: str, type_field: str, column: str, other_column: str, tables=()):
        self.name = name
        self.path = f"/{name}"
        self.type_field = type_field
        self.column = column
        self.other_column = other_column
        #: The tables whose rows this listing deletes, by the record type of their entries.
        self.tables = {table.bin_type: table for table in tables if table.bin_type}

    def for_tables(self, tables: Iterable[TableStream]) -> "BinStream":
        """This listing for the tables a sync writes (entries of other tables are skipped)."""
        narrowed = copy(self)
        narrowed.tables = {t.bin_type: t for t in tables if t.bin_type in self.tables}
        return narrowed

    def target(self, entry: Any) -> tuple[TableStream, int] | None:
        """The table and record id an entry names, or None for a record type not synced.

        Raises ``RecordFormatError`` for an entry without a usable reference: the walker skips
        it, counted and reported, rather than fail every sync on it.
        """
        if not isinstance(entry, Mapping):
            raise RecordFormatError(f"An entry of {self.path} is not a JSON object.")
        kind = entry.get(self.type_field)
        table = self.tables.get(kind.lower()) if isinstance(kind, str) else None
        if table is None:
            return None
        reference = entry.get(kind, entry.get(table.bin_type))  # keyed by the type
        try:
            return table, to_int(reference["id"])
        except (TypeError, KeyError, RecordFormatError):
            raise RecordFormatError(
                f"Entry {entry.get('id')!r} of {self.path} is a {table.bin_type} entry without "
                f"a valid {table.bin_type} reference."
            ) from None

    def apply(self, record: Record, op: Any, own_account: str) -> int:
        """Mark the entry's record deleted, with the moment it moved to this bin; when that
        moment cannot be read, the record is still marked deleted (the moment NULL, counted
        as a repaired value): the entry says it is gone."""
        target = self.target(record)
        if target is None:
            return 0
        table, record_id = target
        try:
            moment = parse_timestamp(record.get(self.cursor_field))
        except RecordFormatError:
            moment = None
        row = {"id": record_id, self.column: moment, self.other_column: None}
        if moment is None:
            row = RepairedRow({**row, self.column: UNREADABLE})
        op.update(table.name, row)
        op.delete(table.name, {"id": record_id})
        return 1


_HEAD = (
    long("id"),
    owning_account(),
    implicit_string("nodeID", "node_id"),
    string("sourceID", "source_id"),
)
_TIMESTAMPS = (timestamp("created_at"), timestamp("updated_at"))

ORGANIZATIONS = TableStream(
    "organizations",
    (
        *_HEAD,
        string("source"),
        string("name"),
        organization("parent"),
        person("manager"),
        person("substitute"),
        boolean("business_unit"),
        organization("business_unit_organization"),
        string("region"),
        string("financialID", "financial_id"),
        flag("disabled"),
        boolean("end_user_privacy"),
        reference("order_template", "subject", "name"),
        string("picture_uri"),
        string("remarks"),
        json_value("custom_fields"),
        json_value("addresses"),
        json_value("contacts"),
        json_value("attachments"),
        reference("ui_extension"),
        *_TIMESTAMPS,
    ),
)

PRODUCTS = TableStream(
    "products",
    (
        *_HEAD,
        string("source"),
        string("name"),
        string("category"),
        string("brand"),
        string("model"),
        string("productID", "product_id"),
        service_with_provider(),
        reference("support_team"),
        organization("supplier"),
        organization("financial_owner"),
        string("rule_set"),
        string("depreciation_method"),
        long("rate"),
        long("useful_life"),
        decimal("salvage_value"),
        string("salvage_value_currency"),
        flag("disabled"),
        json_value("recurrence"),
        reference("workflow_template", "subject", "name"),
        person("workflow_manager"),
        string("picture_uri"),
        string("remarks"),
        json_value("custom_fields"),
        reference("ui_extension"),
        json_value("attachments"),
        *_TIMESTAMPS,
    ),
)

PROJECTS = TableStream(
    "projects",
    (
        *_HEAD,
        string("source"),
        string("subject"),
        string("category"),
        string("status"),
        person("manager"),
        organization("customer"),
        service_with_provider(),
        string("program"),
        string("justification"),
        string("risk_level"),
        string("completion_reason"),
        timestamp("completion_target_at"),
        timestamp("completed_at"),
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
        reference("ui_extension"),
        json_value("attachments"),
        *_TIMESTAMPS,
    ),
    bin_type="project",
)

PEOPLE = TableStream(
    "people",
    (
        *_HEAD,
        string("source"),
        string("name", personal=True),
        string("primary_email", personal=True),
        string("employeeID", "employee_id", personal=True),
        string("supportID", "support_id", personal=True),
        string("authenticationID", "authentication_id", personal=True),
        string("job_title", personal=True),
        string("location", personal=True),
        organization("organization"),
        site("site"),
        person("manager"),
        reference("work_hours"),
        flag("disabled"),
        boolean("guest"),
        boolean("vip"),
        string("locale"),
        string("time_zone"),
        boolean("time_format_24h", "time_format_24_h"),  # Fivetran's naming splits "24h"
        boolean("auto_translation"),
        string("do_not_translate_languages"),
        boolean("exclude_team_notifications"),
        boolean("oauth_person_enablement"),
        string("send_email_notifications"),
        string("show_notification_popup"),
        decimal("cost_per_hour"),
        string("cost_per_hour_currency"),
        string("picture_uri", personal=True),
        string("information", personal=True),
        json_value("addresses", personal=True),
        json_value("contacts", personal=True),
        json_value("attachments"),
        json_value("custom_fields"),
        reference("ui_extension"),
        *_TIMESTAMPS,
    ),
    bin_type="person",
)

TEAMS = TableStream(
    "teams",
    (
        *_HEAD,
        string("source"),
        string("name"),
        flag("disabled"),
        person("manager"),
        person("coordinator"),
        person("configuration_manager"),
        boolean("auto_assign"),
        reference("agile_board"),
        reference("scrum_workspace"),
        string("inbound_email_local_part"),
        reference("work_hours"),
        string("time_zone"),
        string("picture_uri"),
        string("remarks"),
        json_value("attachments"),
        json_value("custom_fields"),
        reference("ui_extension"),
        *_TIMESTAMPS,
    ),
)

SITES = TableStream(
    "sites",
    (
        *_HEAD,
        string("source"),
        string("name"),
        flag("disabled"),
        string("address"),
        string("city"),
        string("state"),
        string("zip"),
        string("country"),
        boolean("integration"),
        string("time_zone"),
        string("picture_uri"),
        string("remarks"),
        json_value("attachments"),
        json_value("custom_fields"),
        reference("ui_extension"),
        *_TIMESTAMPS,
    ),
)

SERVICES = TableStream(
    "services",
    (
        *_HEAD,
        string("source"),
        string("name"),
        organization("provider"),
        reference("support_team"),
        flag("disabled"),
        person("service_owner"),
        person("availability_manager"),
        person("capacity_manager"),
        person("change_manager"),
        person("continuity_manager"),
        person("knowledge_manager"),
        person("problem_manager"),
        person("release_manager"),
        string("impact"),
        string("keywords"),
        string("description"),
        reference("survey"),
        string("picture_uri"),
        json_value("attachments"),
        json_value("custom_fields"),
        reference("ui_extension"),
        *_TIMESTAMPS,
    ),
)

SERVICE_INSTANCES = TableStream(
    "service_instances",
    (
        *_HEAD,
        string("source"),
        string("name"),
        service_with_provider(),
        string("status"),
        reference("support_team"),
        reference("first_line_team"),
        string("time_zone"),
        string("impact"),
        string("picture_uri"),
        string("remarks"),
        json_value("attachments"),
        json_value("custom_fields"),
        reference("ui_extension"),
        *_TIMESTAMPS,
    ),
)

CONFIGURATION_ITEMS = TableStream(
    "configuration_items",
    (
        *_HEAD,
        boolean("software"),
        string("source"),
        string("label"),
        string("name"),
        json_value("alternate_names"),
        string("status"),
        reference("product"),
        string("rule_set"),
        reference("support_team"),
        service_with_provider(),
        site("site"),
        string("location"),
        organization("supplier"),
        organization("financial_owner"),
        string("assetID", "asset_id"),
        string("systemID", "system_id"),
        string("serial_nr"),
        date("in_use_since"),
        decimal("purchase_value"),
        string("purchase_value_currency"),
        date("warranty_expiry_date"),
        date("end_of_support_date"),
        string("license_type"),
        date("license_expiry_date"),
        long("nr_of_licenses"),
        boolean("temporary_license"),
        boolean("site_license"),
        long("nr_of_processors"),
        long("nr_of_cores"),
        long("ram_amount"),
        timestamp("last_seen_at"),
        person("workflow_manager"),
        reference("workflow_template", "subject", "name"),
        json_value("recurrence"),
        string("remarks"),
        json_value("attachments"),
        json_value("custom_fields"),
        *_TIMESTAMPS,
    ),
    path="/cis",
    bin_type="ci",
)

CONTRACTS = TableStream(
    "contracts",
    (
        *_HEAD,
        string("source"),
        string("name"),
        string("category"),
        string("status"),
        organization("customer"),
        person("customer_rep"),
        organization("supplier"),
        person("supplier_contact"),
        date("start_date"),
        date("expiry_date"),
        date("notice_date"),
        string("time_zone"),
        string("remarks"),
        json_value("attachments"),
        json_value("custom_fields"),
        reference("ui_extension"),
        *_TIMESTAMPS,
    ),
)

PROJECT_TASKS = TableStream(
    "project_tasks",
    (
        *_HEAD,
        string("source"),
        string("subject"),
        string("category"),
        string("status"),
        reference("project", "subject", "name"),
        reference("phase"),
        reference("team"),
        person("manager"),
        organization("supplier"),
        string("supplier_requestID", "supplier_request_id"),
        reference("skill_pool"),
        reference("template", "subject", "name"),
        reference("agile_board"),
        reference("agile_board_column"),
        long("agile_board_column_position"),
        long("planned_duration"),
        long("planned_effort"),
        long("required_approvals"),
        long("resolution_duration"),
        timestamp("start_at"),
        timestamp("anticipated_assignment_at"),
        timestamp("assigned_at"),
        timestamp("completion_target_at"),
        timestamp("deadline"),
        timestamp("finished_at"),
        boolean("urgent"),
        boolean("work_hours_are_24x7", "work_hours_are_24_x_7"),  # as Fivetran names it
        json_value("checked_items"),
        string("instructions"),
        json_value("attachments"),
        json_value("custom_fields"),
        *_TIMESTAMPS,
    ),
    bin_type="project_task",
)

TIME_ENTRIES = TableStream(
    "time_entries",
    (
        long("id"),
        owning_account(),
        implicit_string("nodeID", "node_id"),
        date("date"),
        long("time_spent"),
        timestamp("started_at"),
        person("person"),
        organization("organization"),
        organization("customer"),
        service_with_provider(),
        reference("time_allocation"),
        reference("effort_class"),
        string("description"),
        boolean("correction"),
        flag("deleted"),
        long("note_id"),
        reference("request", "subject", "name"),
        reference("problem", "subject", "name"),
        reference("project_task", "subject", "name"),
        reference("task", "subject", "name"),
        reference("sla"),
        string("activityID", "activity_id"),
        string("agreementID", "agreement_id"),
        string("rateID", "rate_id"),
        decimal("charge"),
        string("charge_currency"),
        decimal("charge_rate"),
        string("charge_type"),
        decimal("cost"),
        string("cost_currency"),
        *_TIMESTAMPS,
    ),
    bin_type="time_entry",
    deleted_field="deleted",
)

TABLES: dict[str, TableStream] = {
    table.name: table
    for table in (
        ORGANIZATIONS,
        PRODUCTS,
        PROJECTS,
        PEOPLE,
        TEAMS,
        SITES,
        SERVICES,
        SERVICE_INSTANCES,
        CONFIGURATION_ITEMS,
        CONTRACTS,
        PROJECT_TASKS,
        TIME_ENTRIES,
    )
}
TABLE_NAMES: tuple[str, ...] = tuple(TABLES)

#: Read after the tables (a record archived after the tables walk read it is then deleted in
#: the same sync), archive before trash (a record moving from one to the other ends trashed).
ARCHIVE = BinStream("archive", "archived", "archived_at", "trashed_at", TABLES.values())
TRASH = BinStream("trash", "trashed", "trashed_at", "archived_at", TABLES.values())
BINS: tuple[BinStream, ...] = (ARCHIVE, TRASH)
STREAMS: dict[str, Stream] = {**TABLES, **{b.name: b for b in BINS}}


def sync_groups(tables: Iterable[str], excluded: Iterable[tuple[str, str]] = ()) -> list[list]:
    """The streams of a sync in the order they run: the chosen tables at once (without the
    excluded ``(table, column)`` pairs), then the archive and then the trash, when a chosen
    table keeps records that go there."""
    left_out: dict[str, set] = {}
    for table, column in excluded:
        left_out.setdefault(table, set()).add(column)
    chosen = [TABLES[name].without(left_out.get(name)) for name in tables]
    groups: list[list] = [chosen]
    if any(table.bin_type for table in chosen):
        groups += [[listing.for_tables(chosen)] for listing in BINS]
    return groups
