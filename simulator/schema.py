"""Declarative description of every collection the simulator serves.

One spec per collection (fields with types, default collection fields, filterable and sortable
fields, default order) keeps the request handling generic: the same code filters, sorts, selects
and pages organizations, products, projects, archive and trash, exactly as the docs describe each.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

# Field kinds. "datetime" values are stored as integer epoch seconds and rendered per record zone;
# "ref" values are dicts with an "id" (the record type they point at is in ``ref_types``);
# "orgref" are references to organizations (get the referenced record's name, disabled flag and
# owning account at render time); "binref" is the project pointer of archive and trash entries.
INT, STR, ENUM, BOOL, DATETIME, REF, ORGREF, DECIMAL, JSON, BINREF = (
    "int",
    "str",
    "enum",
    "bool",
    "datetime",
    "ref",
    "orgref",
    "decimal",
    "json",
    "binref",
)


@dataclass(frozen=True)
class CollectionSpec:
    """What the docs say about one collection (xurrent_api.md §6, §7)."""

    name: str
    record_type: str
    fields: dict  # field name -> kind, in rendering order
    default_fields: tuple
    filterable: tuple
    sortable: tuple
    default_sort: tuple  # ((field, descending), ...)
    not_selectable: tuple = ()
    boolean_filters: tuple = ()
    predefined: tuple = ()  # path segments such as "disabled" / "enabled"
    ref_types: tuple = ()  # ((REF field, GraphQL type of the referenced record), ...)

    @cached_property
    def _ref_type_map(self) -> dict:
        return dict(self.ref_types)

    def ref_type(self, name: str) -> str:
        return self._ref_type_map.get(name, "Record")

    def selectable(self) -> list[str]:
        return [name for name in self.fields if name not in self.not_selectable]


ORGANIZATIONS = CollectionSpec(
    name="organizations",
    record_type="Organization",
    fields={
        "id": INT,
        "sourceID": STR,
        "source": STR,
        "name": STR,
        "parent": ORGREF,
        "manager": REF,
        "substitute": REF,
        "business_unit": BOOL,
        "business_unit_organization": ORGREF,
        "region": STR,
        "financialID": STR,
        "disabled": BOOL,
        "end_user_privacy": BOOL,
        "order_template": REF,
        "picture_uri": STR,
        "remarks": STR,
        "custom_fields": JSON,
        "addresses": JSON,
        "contacts": JSON,
        "attachments": JSON,
        "ui_extension": REF,
        "created_at": DATETIME,
        "updated_at": DATETIME,
    },
    default_fields=("id", "sourceID", "name", "parent", "manager", "created_at", "updated_at"),
    filterable=(
        "id",
        "source",
        "sourceID",
        "name",
        "disabled",
        "created_at",
        "updated_at",
        "financialID",
        "parent",
    ),
    sortable=("id", "sourceID", "name", "created_at", "updated_at"),
    default_sort=(("name", False),),
    boolean_filters=("disabled",),
    predefined=("disabled", "enabled", "directory", "support_domain"),
    ref_types=(
        ("manager", "Person"),
        ("substitute", "Person"),
        ("order_template", "RequestTemplate"),
        ("ui_extension", "UiExtension"),
    ),
)

PRODUCTS = CollectionSpec(
    name="products",
    record_type="Product",
    fields={
        "id": INT,
        "sourceID": STR,
        "source": STR,
        "name": STR,
        "category": ENUM,
        "brand": STR,
        "model": STR,
        "productID": STR,
        "service": REF,
        "support_team": REF,
        "supplier": ORGREF,
        "financial_owner": ORGREF,
        "rule_set": ENUM,
        "depreciation_method": ENUM,
        "rate": INT,
        "useful_life": INT,
        "salvage_value": DECIMAL,
        "salvage_value_currency": ENUM,
        "disabled": BOOL,
        "recurrence": JSON,
        "workflow_template": REF,
        "workflow_manager": REF,
        "picture_uri": STR,
        "remarks": STR,
        "custom_fields": JSON,
        "ui_extension": REF,
        "attachments": JSON,
        "created_at": DATETIME,
        "updated_at": DATETIME,
    },
    default_fields=(
        "id",
        "sourceID",
        "name",
        "category",
        "support_team",
        "service",
        "created_at",
        "updated_at",
    ),
    filterable=(
        "id",
        "source",
        "sourceID",
        "name",
        "disabled",
        "category",
        "rule_set",
        "support_team",
        "service",
        "created_at",
        "updated_at",
    ),
    sortable=("id", "sourceID", "name", "support_team", "service", "created_at", "updated_at"),
    default_sort=(("name", False),),
    boolean_filters=("disabled",),
    predefined=("disabled", "enabled"),
    ref_types=(
        ("service", "Service"),
        ("support_team", "Team"),
        ("workflow_template", "WorkflowTemplate"),
        ("workflow_manager", "Person"),
        ("ui_extension", "UiExtension"),
    ),
)

PROJECTS = CollectionSpec(
    name="projects",
    record_type="Project",
    fields={
        "id": INT,
        "sourceID": STR,
        "source": STR,
        "subject": STR,
        "category": ENUM,
        "status": ENUM,
        "manager": REF,
        "customer": ORGREF,
        "service": REF,
        "program": STR,
        "justification": ENUM,
        "risk_level": ENUM,
        "completion_reason": ENUM,
        "completion_target_at": DATETIME,
        "completed_at": DATETIME,
        "resolution_duration": INT,
        "effort": INT,
        "cost_of_effort": DECIMAL,
        "cost_of_purchases": DECIMAL,
        "value": DECIMAL,
        "total_cost": DECIMAL,
        "roi": INT,
        "value_currency": ENUM,
        "time_zone": STR,
        "work_hours": REF,
        "note": STR,
        "custom_fields": JSON,
        "ui_extension": REF,
        "attachments": JSON,
        "created_at": DATETIME,
        "updated_at": DATETIME,
    },
    default_fields=(
        "id",
        "sourceID",
        "subject",
        "manager",
        "category",
        "status",
        "completion_target_at",
        "completed_at",
        "service",
        "created_at",
        "updated_at",
    ),
    filterable=(
        "id",
        "source",
        "sourceID",
        "subject",
        "category",
        "status",
        "completion_target_at",
        "completed_at",
        "service",
        "created_at",
        "updated_at",
    ),
    sortable=(
        "id",
        "sourceID",
        "subject",
        "category",
        "status",
        "completion_target_at",
        "completed_at",
        "service",
        "created_at",
        "updated_at",
    ),
    default_sort=(("id", True),),
    not_selectable=("note",),
    predefined=("completed", "open"),
    ref_types=(
        ("manager", "Person"),
        ("service", "Service"),
        ("work_hours", "Calendar"),
        ("ui_extension", "UiExtension"),
    ),
)


def _bin_spec(name: str, verb: str) -> CollectionSpec:
    """Archive and trash share one shape: only the verb in two field names differs."""
    return CollectionSpec(
        name=name,
        record_type=name.capitalize(),
        fields={
            "id": INT,
            "created_at": DATETIME,
            f"{verb}_by": REF,
            verb: STR,
            "project": BINREF,
        },
        default_fields=("id", "created_at", f"{verb}_by", verb, "project"),
        filterable=("id", "created_at"),
        sortable=("id", "created_at"),
        default_sort=(("created_at", True),),
        ref_types=((f"{verb}_by", "Person"),),
    )


ARCHIVE = _bin_spec("archive", "archived")
TRASH = _bin_spec("trash", "trashed")

SPECS = {spec.name: spec for spec in (ORGANIZATIONS, PRODUCTS, PROJECTS, ARCHIVE, TRASH)}
DATA_COLLECTIONS = ("organizations", "products", "projects")
