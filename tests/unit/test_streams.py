"""The streams: flattening every column kind, null handling, the declared schema and fields,
and how archive and trash entries become soft deletes of projects."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from fivetran_connector_sdk_cli.type_coercion import encode_row_data
from fivetran_connector_sdk_core.model import DataType
from testkit import Recorder

import connector
from xurrent_connector.errors import RecordFormatError
from xurrent_connector.repair import UNREADABLE, RepairedRow
from xurrent_connector.streams import (
    ARCHIVE,
    DECIMAL,
    ORGANIZATIONS,
    PRODUCTS,
    PROJECTS,
    STREAMS,
    TABLES,
    TRASH,
    sync_groups,
    to_bool,
    to_decimal_text,
    to_int,
    to_text,
)
from xurrent_connector.timestamps import parse_timestamp, to_utc_text

OWN = "widget"  # the connection's account


def flat(stream, record: dict) -> dict:
    """A record flattened as the sync does it, for a connection to account ``OWN``."""
    return stream.flatten(record, OWN)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_decimals_keep_the_api_string_and_never_become_floats():
    assert to_decimal_text("320000.0") == "320000.0"
    assert to_decimal_text("0.1000000000000000055511") == "0.1000000000000000055511"
    assert to_decimal_text(None) is None
    assert to_decimal_text(12) == "12"
    assert to_decimal_text(0.1) == "0.1"
    assert type(to_decimal_text(0.1)) is str
    with pytest.raises(RecordFormatError):
        to_decimal_text(True)
    with pytest.raises(RecordFormatError):
        to_decimal_text({"amount": 1})


@pytest.mark.parametrize("garbage", ["abc", "NaN", "1,5", "", float("nan"), float("inf")])
def test_a_decimal_that_is_no_number_is_refused(garbage):
    """The warehouse refuses such text at the checkpoint of the whole page."""
    with pytest.raises(RecordFormatError):
        to_decimal_text(garbage)


def test_integers():
    assert to_int(42) == 42
    assert to_int("42") == 42
    assert to_int(12.0) == 12
    assert to_int(None) is None
    for garbage in ("forty", 12.5, True, "1_000", 2**63, "99999999999999999999", {"id": 1}):
        with pytest.raises(RecordFormatError):
            to_int(garbage)


def test_booleans_and_text_take_only_their_own_type():
    assert to_bool(False) is False and to_bool(None) is None
    assert to_text("x") == "x" and to_text(None) is None
    for garbage in ("false", 0, [True]):
        with pytest.raises(RecordFormatError):
            to_bool(garbage)
    for garbage in (42, {"text": "x"}, ["x"], True):
        with pytest.raises(RecordFormatError):
            to_text(garbage)


def _product(**overrides):
    record = {
        "id": 34,
        "nodeID": "Z2lkOi8vUHJvZHVjdC8zNA",
        "name": "APC NetShelter SX 48U Rack",
        "category": "rack_enclosure",
        "sourceID": None,
        "source": None,
        "brand": "APC",
        "model": "NetShelter SX",
        "productID": "AR3100",
        "service": {
            "id": 26,
            "name": "Rack Space",
            "provider": {
                "id": 30,
                "name": "Widget Data Center, External IT",
                "account": {"id": "widget-dc", "name": "Widget Data Center"},
            },
        },
        "support_team": {"id": 13, "name": "Unix Servers"},
        "supplier": None,
        "financial_owner": {"id": 51, "name": "Widget North America, Inc.", "disabled": True},
        "rule_set": "physical_asset",
        "depreciation_method": "na_cost_is_zero",
        "rate": 20,
        "useful_life": 5,
        "salvage_value": "1250.75",
        "salvage_value_currency": "USD",
        "recurrence": {"frequency": "monthly", "interval": 1},
        "workflow_template": {"id": 3, "subject": "Rack installation"},
        "workflow_manager": None,
        "picture_uri": None,
        "remarks": "Line one\nline two",
        "custom_fields": [{"id": "tier", "value": "gold"}, {"id": "cc", "value": None}],
        "ui_extension": None,
        "attachments": [],
        "created_at": "2016-03-14T03:10:50-06:00",
        "updated_at": "2016-03-14T03:10:50-06:00",
        "disabled": True,
    }
    record.update(overrides)
    return record


def test_product_row_covers_every_column_kind():
    row = flat(PRODUCTS, _product())
    assert row["id"] == 34
    assert row["node_id"] == "Z2lkOi8vUHJvZHVjdC8zNA"
    assert row["source_id"] is None and row["source"] is None
    assert row["product_id"] == "AR3100"
    assert row["depreciation_method"] == "na_cost_is_zero"  # legacy enum survives
    assert (row["service_id"], row["service_name"]) == (26, "Rack Space")
    assert row["service_provider_id"] == 30
    assert row["service_provider_name"] == "Widget Data Center, External IT"
    assert row["service_provider_account_id"] == "widget-dc"
    assert (row["support_team_id"], row["support_team_name"]) == (13, "Unix Servers")
    assert row["supplier_id"] is None and row["supplier_name"] is None
    assert row["financial_owner_id"] == 51
    assert (row["workflow_template_id"], row["workflow_template_name"]) == (3, "Rack installation")
    assert row["rate"] == 20 and row["useful_life"] == 5
    assert row["salvage_value"] == "1250.75"
    assert row["disabled"] is True
    assert row["recurrence"] == {"frequency": "monthly", "interval": 1}
    assert row["custom_fields"] == [{"id": "tier", "value": "gold"}, {"id": "cc", "value": None}]
    assert row["attachments"] == []
    assert row["remarks"] == "Line one\nline two"
    # Aware datetimes (the SDK stores the instant; see the encoder test below).
    assert row["created_at"] == row["updated_at"] == utc("2016-03-14T09:10:50Z")
    assert set(row) == set(PRODUCTS.schema_entry()["columns"])


def test_absent_disabled_is_false_and_absent_fields_are_null():
    record = _product()
    del record["disabled"], record["recurrence"], record["nodeID"]
    row = flat(PRODUCTS, record)
    assert row["disabled"] is False
    assert row["recurrence"] is None
    assert row["node_id"] is None


def test_null_references_and_provider_without_account():
    row = flat(
        PRODUCTS, _product(service={"id": 1, "name": "S", "provider": {"id": 2, "name": "P"}})
    )
    assert row["service_provider_id"] == 2
    # A reference without an account lives in the connection's account (DX-TYPES).
    assert row["service_provider_account_id"] == OWN
    row = flat(PRODUCTS, _product(service=None))
    assert row["service_id"] is None
    assert row["service_provider_id"] is None and row["service_provider_account_id"] is None


def test_the_owning_account_is_the_records_or_else_the_connections():
    directory = {"id": "widget-directory", "name": "Widget Directory"}
    row = flat(PRODUCTS, _product(account=directory, supplier={"id": 7, "account": directory}))
    assert row["account_id"] == "widget-directory"
    assert row["supplier_account_id"] == "widget-directory"
    assert row["financial_owner_account_id"] == OWN  # a reference of the own account
    row = flat(PRODUCTS, _product())
    assert row["account_id"] == OWN
    assert row["supplier_account_id"] is None  # no supplier, no account
    organization = flat(ORGANIZATIONS, {"id": 1, "parent": {"id": 2, "account": directory}})
    assert organization["parent_account_id"] == "widget-directory"
    assert organization["business_unit_organization_account_id"] is None
    project = flat(PROJECTS, {"id": 3, "customer": {"id": 4, "name": "C"}})
    assert (project["account_id"], project["customer_account_id"]) == (OWN, OWN)
    # The account is returned by the API itself: it is never asked for with fields=.
    assert all("account" not in stream.fields for stream in TABLES.values())


def test_a_ui_extension_is_named_by_its_name_not_its_title():
    extension = {"id": 9, "name": "Organization Details", "title": "Details", "nodeID": "x"}
    row = flat(ORGANIZATIONS, {"id": 1, "ui_extension": extension})
    assert (row["ui_extension_id"], row["ui_extension_name"]) == (9, "Organization Details")


def test_organization_row():
    record = {
        "id": 50,
        "sourceID": None,
        "name": "Widget North America, Finance",
        "parent": {"id": 51, "name": "Widget North America, Inc."},
        "manager": {"id": 120, "name": "Carolyn Goldrat"},
        "substitute": None,
        "business_unit": False,
        "business_unit_organization": None,
        "financialID": "FIN000050",
        "disabled": False,
        "end_user_privacy": None,
        "addresses": [{"id": 501, "label": "work", "city": "Chicago"}],
        "contacts": [],
        "custom_fields": None,
        "created_at": "2016-03-22T21:02:50-05:00",
        "updated_at": "2016-03-22T21:03:36-05:00",
    }
    row = flat(ORGANIZATIONS, record)
    assert row["financial_id"] == "FIN000050"
    assert (row["parent_id"], row["parent_name"]) == (51, "Widget North America, Inc.")
    assert (row["manager_id"], row["manager_name"]) == (120, "Carolyn Goldrat")
    assert row["business_unit"] is False
    assert row["end_user_privacy"] is None  # null stays null, never False
    assert row["disabled"] is False
    assert row["addresses"] == [{"id": 501, "label": "work", "city": "Chicago"}]
    assert row["custom_fields"] is None
    assert row["updated_at"] == utc("2016-03-23T02:03:36Z")


def test_project_row_decimals_and_datetimes():
    record = {
        "id": 7345,
        "subject": "Warehouse Ordering (WHO)",
        "category": "large",
        "status": "in_progress",
        "completion_target_at": "2017-01-13T09:00:00-06:00",
        "completed_at": None,
        "cost_of_effort": "320000.0",
        "total_cost": "335000.0",
        "roi": -12,
        "resolution_duration": None,
        "service": {
            "id": 41,
            "name": "Warehouse Management",
            "provider": {"id": 44, "name": "Widget DC", "account": {"id": "widget"}},
            "localized_name": "Warehouse Management",
        },
        "created_at": "2016-11-13T13:17:00-06:00",
        "updated_at": "2016-12-23T05:09:09-06:00",
    }
    row = flat(PROJECTS, record)
    assert row["completion_target_at"] == utc("2017-01-13T15:00:00Z")
    assert row["completed_at"] is None
    assert row["cost_of_effort"] == "320000.0" and row["total_cost"] == "335000.0"
    assert row["cost_of_purchases"] is None
    assert row["roi"] == -12
    assert row["service_provider_account_id"] == "widget"
    assert "disabled" not in row  # projects have no disabled flag
    assert "note" not in row


def test_fields_list_matches_the_columns_and_skips_unselectable_fields():
    for spec in TABLES.values():
        fields = spec.fields
        assert "id" not in fields  # implicit
        assert "nodeID" not in fields  # returned by the API itself, not selectable per .NET SDK
        assert len(fields) == len(set(fields))
        assert "created_at" in fields and "updated_at" in fields
    assert "disabled" in ORGANIZATIONS.fields and "disabled" in PRODUCTS.fields
    assert "note" not in PROJECTS.fields
    assert "service" in PRODUCTS.fields and "financialID" in ORGANIZATIONS.fields
    assert "archived_at" not in PROJECTS.fields  # set by the archive stream, not read
    for listing in (ARCHIVE, TRASH):
        assert listing.fields == ()  # the listings' default fields are all there is
        assert listing.sort == "created_at,id"
    assert {stream.sort for stream in TABLES.values()} == {"updated_at,id"}


def test_schema_declares_every_column_with_a_type():
    declarations = {entry["table"]: entry for entry in connector.schema({})}
    assert set(declarations) == set(TABLES) | {"sync_health"}
    assert declarations["sync_health"]["primary_key"] == ["sync_id", "table_name"]
    del declarations["sync_health"]
    for entry in declarations.values():
        assert entry["primary_key"] == ["id"]
        columns = entry["columns"]
        assert columns["id"] == "LONG"
        assert columns["updated_at"] == "UTC_DATETIME"
        for column, declared in columns.items():
            assert column == column.lower(), column  # already snake_case: no renaming surprises
            assert declared in (
                "LONG",
                "STRING",
                "BOOLEAN",
                "UTC_DATETIME",
                "NAIVE_DATE",
                "JSON",
                DECIMAL,
            )
    assert declarations["projects"]["columns"]["value"] == DECIMAL
    assert declarations["products"]["columns"]["disabled"] == "BOOLEAN"
    assert declarations["organizations"]["columns"]["custom_fields"] == "JSON"

    assert declarations["configuration_items"]["columns"]["warranty_expiry_date"] == "NAIVE_DATE"
    assert list(STREAMS) == [*TABLES, "archive", "trash"]
    assert list(TABLES)[:3] == ["organizations", "products", "projects"]


# --- the SDK stores the aware datetimes exactly as it would store canonical text --------------

MOMENTS = [
    "2016-03-22T21:02:50-05:00",
    "2016-03-14T03:10:50-06:00",
    "2017-01-13T09:00:00+01:00",
    "2016-03-30T11:26:45Z",
    "2016-03-30T11:26:45.250+02:00",
    "2016-03-30T11:26:45.123456-03:30",
    "2016-03-30T11:26:45",  # no offset: read as UTC
    "2024-12-31T23:30:00-01:00",
    "2024-03-31T01:59:59+00:00",
]


@pytest.mark.parametrize("moment", MOMENTS)
def test_sdk_encodes_the_datetime_object_like_the_canonical_text(moment):
    """Columns carry aware datetimes rather than text, which spares the SDK a ``strptime``
    per value; its own encoder (the first step of ``op.upsert``) must give the same bytes."""
    types = {"t": DataType.UTC_DATETIME}
    as_object = encode_row_data(types, {"t": parse_timestamp(moment)})
    as_text = encode_row_data(types, {"t": to_utc_text(moment)})
    assert as_object == as_text


@pytest.mark.parametrize("garbage", ["yesterday", "", "2016-13-40T00:00:00Z", 12345])
def test_an_unparseable_datetime_is_unreadable_and_the_rest_of_the_row_kept(garbage):
    with pytest.raises(RecordFormatError):
        parse_timestamp(garbage)
    row = flat(PROJECTS, {"id": 1, "subject": "Move", "created_at": garbage})
    assert type(row) is RepairedRow
    assert row["created_at"] is UNREADABLE
    assert (row["id"], row["subject"], row["updated_at"]) == (1, "Move", None)


@pytest.mark.parametrize(
    "field, value, columns",
    [
        ("useful_life", "twelve", ["useful_life"]),
        ("rate", 2.5, ["rate"]),
        ("name", {"text": "Rack"}, ["name"]),
        ("brand", 42, ["brand"]),
        ("disabled", "false", ["disabled"]),
        ("salvage_value", "NaN", ["salvage_value"]),
        ("support_team", "Unix Servers", ["support_team_id", "support_team_name"]),
        ("support_team", {"id": "13", "name": ["x"]}, ["support_team_name"]),
        ("supplier", {"id": 1, "name": "x", "account": "widget-dc"}, ["supplier_account_id"]),
        ("service", {"id": 26, "provider": {"id": "thirty"}}, ["service_provider_id"]),
    ],
)
def test_a_value_of_the_wrong_type_is_unreadable_in_its_columns_only(field, value, columns):
    sound = flat(PRODUCTS, _product())
    row = flat(PRODUCTS, _product(**{field: value}))
    assert type(row) is RepairedRow and type(sound) is dict
    assert sorted(name for name, cell in row.items() if cell is UNREADABLE) == sorted(columns)
    assert {k: v for k, v in row.items() if k not in columns and not k.startswith(field)} == {
        k: v for k, v in sound.items() if k not in columns and not k.startswith(field)
    }


def test_flattened_project_datetimes_are_aware():
    row = flat(
        PROJECTS,
        {"id": 1, "created_at": MOMENTS[0], "updated_at": MOMENTS[6], "completed_at": None},
    )
    assert row["created_at"] == datetime.fromisoformat("2016-03-23T02:02:50+00:00")
    assert row["updated_at"].utcoffset().total_seconds() == 0
    assert row["completed_at"] is None
    assert row["archived_at"] is None and row["trashed_at"] is None  # upserted rows are live


# --- archive and trash entries ------------------------------------------------------------------


def entry(entry_id, kind, record_id, created_at="2026-02-01T10:00:00-06:00", listing=ARCHIVE):
    """An entry shaped as documented: the record sits under a key named after its type."""
    return {
        "id": entry_id,
        "created_at": created_at,
        f"{listing.type_field}_by": {"id": 1, "name": "System"},
        listing.type_field: kind,
        kind: {"id": record_id, "href": f"https://x/v1/{kind}s/{record_id}", "display_name": "x"},
    }


def test_entries_name_the_table_and_the_id_and_other_types_none():
    assert ARCHIVE.target(entry(1, "project", 42)) == (PROJECTS, 42)
    assert ARCHIVE.target(entry(1, "Project", 42)) == (PROJECTS, 42)
    assert ARCHIVE.target(entry(2, "request", 42)) is None
    assert TRASH.target(entry(3, "project", 7, listing=TRASH)) == (PROJECTS, 7)
    # The type field of the other listing does not count.
    assert ARCHIVE.target(entry(3, "project", 7, listing=TRASH)) is None
    kinds = {"person": "people", "ci": "configuration_items", "project_task": "project_tasks"}
    for kind, table in {**kinds, "time_entry": "time_entries"}.items():
        assert ARCHIVE.target(entry(4, kind, 5)) == (TABLES[table], 5)


def test_a_listing_for_some_tables_skips_the_entries_of_the_others():
    listing = ARCHIVE.for_tables([TABLES["people"], TABLES["teams"]])
    assert listing.target(entry(1, "person", 9)) == (TABLES["people"], 9)
    assert listing.target(entry(2, "project", 9)) is None
    assert ARCHIVE.target(entry(2, "project", 9)) == (PROJECTS, 9)  # the original is unchanged


@pytest.mark.parametrize("reference", [None, {}, {"id": "abc"}, "7", {"id": 2.5}])
def test_an_entry_without_a_usable_reference_is_refused_naming_the_entry(reference):
    """The walker skips such an entry, counted and reported, rather than fail every sync."""
    broken = entry(9, "project", 1)
    broken["project"] = reference
    with pytest.raises(RecordFormatError, match="Entry 9 of /archive"):
        ARCHIVE.target(broken)


def test_a_non_object_entry_is_refused():
    with pytest.raises(RecordFormatError, match="not a JSON object"):
        TRASH.target(["project", 1])


def test_a_project_entry_becomes_an_update_then_a_delete_with_the_moment_in_utc():
    op = Recorder()
    assert ARCHIVE.apply(entry(1, "project", 2), op, OWN) == 1
    assert TRASH.apply(entry(2, "project", 3, "2026-02-02T08:00:00+01:00", TRASH), op, OWN) == 1
    assert ARCHIVE.apply(entry(3, "request", 4), op, OWN) == 0
    assert op.calls == [
        (
            "update",
            "projects",
            {"id": 2, "archived_at": utc("2026-02-01T16:00:00Z"), "trashed_at": None},
        ),
        ("delete", "projects", {"id": 2}),
        (
            "update",
            "projects",
            {"id": 3, "trashed_at": utc("2026-02-02T07:00:00Z"), "archived_at": None},
        ),
        ("delete", "projects", {"id": 3}),
    ]


@pytest.mark.parametrize("bad", [None, "yesterday"])
def test_an_entry_without_a_valid_moment_still_deletes_its_project(bad):
    """The entry says the project is gone: it is marked deleted, its moment unreadable (the
    writer stores NULL and counts it)."""
    op = Recorder()
    assert ARCHIVE.apply(entry(1, "project", 2, created_at=bad), op, OWN) == 1
    (_, _, row), delete = op.calls
    assert type(row) is RepairedRow
    assert row == {"id": 2, "archived_at": UNREADABLE, "trashed_at": None}
    assert delete == ("delete", "projects", {"id": 2})


# --- the tables added for references, assets and work --------------------------------------------


def test_a_time_entry_flagged_deleted_is_a_deleted_row_and_a_live_one_is_not():
    op = Recorder()
    entries = TABLES["time_entries"]
    assert entries.apply({"id": 1, "updated_at": "2026-02-01T10:00:00Z", "deleted": True}, op, OWN)
    assert not entries.apply({"id": 2, "updated_at": "2026-02-01T10:00:00Z"}, op, OWN)
    assert [(call[0], call[2]["id"]) for call in op.calls] == [
        ("upsert", 1),
        ("delete", 1),
        ("upsert", 2),
    ]
    assert op.calls[0][2]["deleted"] is True and op.calls[2][2]["deleted"] is False


def test_references_to_people_and_sites_carry_their_account_and_people_names_are_personal():
    record = {
        "id": 3,
        "manager": {"id": 7, "name": "Ann", "account": {"id": "widget-directory"}},
        "site": {"id": 8, "name": "HQ"},
    }
    row = flat(TABLES["people"], record)
    assert (row["manager_id"], row["manager_name"]) == (7, "Ann")
    assert row["manager_account_id"] == "widget-directory" and row["site_account_id"] == OWN
    personal = TABLES["people"].personal_columns
    assert {"name", "primary_email", "contacts", "addresses", "manager_name"} <= set(personal)
    assert "site_name" not in personal and "organization_name" not in personal
    assert ORGANIZATIONS.personal_columns == ("manager_name", "substitute_name")


def test_dates_stay_dates_and_garbage_is_unreadable_not_fatal():
    row = flat(TABLES["contracts"], {"id": 1, "expiry_date": "2027-01-31", "start_date": None})
    assert row["expiry_date"] == date(2027, 1, 31) and row["start_date"] is None
    row = flat(TABLES["contracts"], {"id": 1, "notice_date": "2027-01-31T00:00:00Z"})
    assert type(row) is RepairedRow and row["notice_date"] is UNREADABLE


def test_a_left_out_column_is_neither_declared_nor_written_nor_asked_for():
    people = TABLES["people"].without({"primary_email", "manager_name"})
    assert "primary_email" not in people.fields and "manager" in people.fields  # id still needed
    assert {"primary_email", "manager_name"}.isdisjoint(people.schema_entry()["columns"])
    row = people.flatten({"id": 1, "primary_email": "a@b.test", "manager": {"id": 2}}, OWN)
    assert "primary_email" not in row and "manager_name" not in row and row["manager_id"] == 2
    assert "primary_email" in TABLES["people"].fields  # the declaration itself is unchanged


def test_a_sync_reads_the_chosen_tables_then_the_listings_their_records_can_be_in():
    names = [[stream.name for stream in group] for group in sync_groups(["teams", "sites"])]
    assert names == [["teams", "sites"]]  # neither goes to the archive or the trash
    groups = sync_groups(["organizations", "time_entries"], {("time_entries", "description")})
    assert [[stream.name for stream in group] for group in groups] == [
        ["organizations", "time_entries"],
        ["archive"],
        ["trash"],
    ]
    assert "description" not in groups[0][1].fields
    assert set(groups[1][0].tables) == {"time_entry"}


def test_configuration_items_are_read_from_cis():
    assert TABLES["configuration_items"].path == "/cis"
    assert TABLES["configuration_items"].bin_type == "ci"


def test_every_name_is_the_one_fivetran_gives_it_so_the_warehouse_matches_the_schema():
    """Fivetran renames columns it finds unsafe (``time_format_24h`` -> ``time_format_24_h``):
    every declared name is already what its renaming makes of it."""
    from fivetran_connector_sdk_core.renaming import redshift_safe, safe_drop_underscores

    for entry in connector.schema({}):
        assert safe_drop_underscores(entry["table"]) == entry["table"]
        for column in entry["columns"]:
            assert redshift_safe(column) == column, column
