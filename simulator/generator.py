"""Deterministic generation of realistic seed data.

The data is shaped to exercise what a connector gets wrong in production: null references and
strings, references to organizations that do not exist, disabled records, decimals as strings,
legacy enum values, nested service/provider/account references, ids that correlate with
created_at, rows never updated (updated_at == created_at) and blocks of identical updated_at
larger than a page (bulk imports). Everything derives from seeded random.Random streams, so the
same seed and anchor give byte-identical data: organizations, products and projects from the
first stream exactly as in the first release, the nine collections added later from streams of
their own (generator_directory, generator_assets, generator_work), generated after them.
"""

from __future__ import annotations

import base64
import functools
import random

from .config import SimConfig
from .draws import (
    CALENDARS,
    CURRENCIES,
    ORG_UNIT,
    PEOPLE_FIRST,
    PEOPLE_LAST,
    RAILS_ZONES,
    Draws,
    World,
)
from .generator_assets import AssetBuilder
from .generator_directory import DirectoryBuilder
from .generator_work import WorkBuilder

ORG_PREFIX = "Widget Acme Globex Initech Umbrella Stark Wayne Tyrell Cyberdyne Soylent".split()
ORG_REGION = "North America|Europe|Asia Pacific|Latin America|Benelux|Nordics".split("|")
BRANDS = "APC Dell HP Lenovo Cisco Microsoft Adobe Apple Samsung Oracle Juniper Logitech".split()
MODELS = (
    "NetShelter SX|Latitude 7440|EliteBook 840|ThinkPad T14|Catalyst 9300|Office 365|"
    "Acrobat Reader|MacBook Pro|Galaxy Tab|Database 19c|EX4300|MX Keys"
)
MODELS = MODELS.split("|")
PRODUCT_CATEGORIES = (
    "software/browser_viewer_application",
    "software/office_suite",
    "software/database",
    "computer/laptop",
    "computer/desktop",
    "rack_enclosure",
    "network/switch",
    "network/router",
    "peripheral/keyboard",
    "mobile/tablet",
)
RULE_SETS = (
    "logical_asset_with_financial_data",
    "logical_asset_without_financial_data",
    "physical_asset",
    "server",
    "software",
    "software_distribution_package",
    "license_certificate",
)
DEPRECIATION = (
    "not_depreciated",
    "double_declining_balance",
    "reducing_balance",
    "straight_line",
    "sum_of_the_years_digits",
)
PROJECT_CATEGORIES = ("small", "medium", "large", "strategic")
STATUSES = ("registered", "in_progress", "progress_halted", "completed")
JUSTIFICATIONS = (
    "compliance",
    "correction",
    "expansion",
    "improvement",
    "maintenance",
    "move",
    "removal",
    "replacement",
)
RISK_LEVELS = ("low", "medium", "high", "very_high")
COMPLETION_REASONS = ("withdrawn", "rejected", "abandoned", "partial", "complete")
PROGRAMS = ("Digital Workplace", "Cloud Migration", "Security Uplift", "ERP Renewal")
SUBJECT_WORDS = (
    "Warehouse Ordering|Data Center Move|Laptop Refresh|Network Upgrade|CRM Rollout|"
    "Office Relocation|Backup Redesign|Identity Management|Mobile Workplace|Print Consolidation"
).split("|")
CITIES = (("Chicago", "IL", "US"), ("Amsterdam", None, "NL"), ("London", None, "GB"))
#: UI extensions per record category: (id, name, title). A reference carries both name and
#: title, and they differ (captured product reference: name "Виртуальный сервер", title
#: "Атрибуты"), so a client that stores the wrong one is caught.
UI_EXTENSIONS = {
    "organization": ((301, "Organization Details", "Details"),),
    "product": (
        (311, "Laptop Attributes", "Attributes"),
        (313, "Server Specification", "Specification"),
        (315, "Software License", "License"),
    ),
    "project": ((321, "Project Charter", "Charter"), (323, "Budget Tracking", "Budget")),
}


@functools.lru_cache(maxsize=1 << 18)
def node_id(domain: str, record_type: str, record_id: int) -> str:
    """GraphQL global id as captured: unpadded urlsafe base64 of "<domain>/<Type>/<id>".

    The docs' example ``NG1lLmNvbS9QZXJzb24vMTI`` is "4me.com/Person/12"; captures from an
    installation read "4me-qa.mos.ru/Workflow/14864".
    """
    raw = f"{domain}/{record_type}/{record_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class Generator(Draws):
    """Builds the initial data set; also supplies fresh rows for inserts during a run."""

    def __init__(self, config: SimConfig, anchor: int):
        super().__init__(config, anchor, random.Random(config.seed))
        # Shapes added later (null brand/model, disabled services, UI extensions) draw from their
        # own stream so the rest of the data stays what it was for a given seed.
        self.shape_rng = random.Random(config.seed + 7)
        rng = self.rng
        self.people = []
        for index in range(200):
            person = {
                "id": 100 + index * 3,
                "name": f"{rng.choice(PEOPLE_FIRST)} {rng.choice(PEOPLE_LAST)}",
            }
            if rng.random() < 0.05:
                person["disabled"] = True
            self.people.append(person)
        self.teams = [{"id": 10 + i, "name": f"{u} Team {i}"} for i, u in enumerate(ORG_UNIT * 3)]
        self.calendars = list(CALENDARS)
        self.org_names: dict[int, str] = {}
        self.services: list[dict] = []

    # --- helpers --------------------------------------------------------------------------

    def _person(self, null_rate: float = 0.15):
        if self.rng.random() < null_rate:
            return None
        return dict(self.rng.choice(self.people))

    def _ui_extension(self, category: str, rate: float):
        """A UI extension reference for a share of records (shape stream)."""
        shape = self.shape_rng
        if shape.random() >= rate:
            return None
        ext_id, name, title = shape.choice(UI_EXTENSIONS[category])
        return {
            "id": ext_id,
            "name": name,
            "category": category,
            "title": title,
            "localized_title": title,
        }

    def _org_ref(self, org_id: int):
        """Reference to an organization; unknown ids keep a plausible name."""
        name = self.org_names.get(org_id) or f"External Supplier {org_id}"
        return {"id": org_id, "name": name}

    # --- organizations --------------------------------------------------------------------

    def organization(self, org_id: int, created: int, existing: list[dict]) -> dict:
        rng = self.rng
        unit = rng.choice(ORG_UNIT)
        name = f"{rng.choice(ORG_PREFIX)} {rng.choice(ORG_REGION)}, {unit} {org_id}"
        self.org_names[org_id] = name
        parent = None
        if existing and rng.random() < 0.9:
            parent_row = existing[rng.randrange(max(0, len(existing) - 200), len(existing))]
            parent = {"id": parent_row["id"], "name": parent_row["name"]}
        business_unit = rng.random() < 0.1
        if business_unit:
            bu_org = {"id": org_id, "name": name}
        elif parent is not None:
            bu_org = rng.choice((None, dict(parent)))
        else:
            bu_org = None
        addresses = []
        if rng.random() < 0.4:
            city, state, country = rng.choice(CITIES)
            addresses.append(
                {
                    "id": org_id * 10 + 1,
                    "label": "work",
                    "address": f"{rng.randint(1, 999)} Main Street",
                    "city": city,
                    "state": state,
                    "zip": f"{rng.randint(10000, 99999)}",
                    "country": country,
                    "integration": False,
                }
            )
        contacts = []
        if rng.random() < 0.5:
            contacts.append({"id": org_id * 10 + 2, "label": "work", "telephone": "+1 555 0100"})
        if rng.random() < 0.3:
            contacts.append({"id": org_id * 10 + 3, "label": "work", "website": "https://x.test"})
        source = rng.choice((None, None, "4me", "import"))
        return {
            "id": org_id,
            "sourceID": f"ORG-{org_id}" if source else None,
            "source": source,
            "name": name,
            "parent": parent,
            "manager": self._person(0.2),
            "substitute": self._person(0.7),
            "business_unit": business_unit,
            "business_unit_organization": bu_org,
            "region": rng.choice(ORG_REGION) if business_unit else None,
            "financialID": f"FIN{org_id:06d}" if rng.random() < 0.5 else None,
            "disabled": rng.random() < 0.05,
            "end_user_privacy": rng.random() < 0.1,
            "order_template": None,
            "picture_uri": None,
            "remarks": rng.choice((None, None, "Key account", "Legacy entity")),
            "custom_fields": self._custom_fields(),
            "addresses": addresses,
            "contacts": contacts,
            "attachments": [],
            "ui_extension": self._ui_extension("organization", 0.2),
            "created_at": created,
            "updated_at": self._updated(created),
        }

    def organizations(self, count: int) -> list[dict]:
        rows: list[dict] = []
        for org_id, created in zip(self._ids(1000, count), self._times(count)):
            rows.append(self.organization(org_id, created, rows))
        self._apply_tie_blocks(rows)
        self._build_services(rows)
        return rows

    def _build_services(self, orgs: list[dict]):
        """Services with a nested provider; some providers live in a trusted account."""
        rng = self.rng
        for index in range(60):
            # Without organizations, a provider no organization can become: ids grow from 1, so
            # id 1 would take the name of the first organization inserted later.
            provider_org = rng.choice(orgs) if orgs else {"id": 899_999, "name": "Provider"}
            provider = {"id": provider_org["id"], "name": provider_org["name"]}
            if rng.random() < 0.2:
                provider["account"] = {"id": "widget-dc", "name": "Widget Data Center"}
            name = f"{rng.choice(ORG_UNIT)} Service {index}"
            service = {"id": 20 + index * 2, "name": name, "provider": provider}
            if self.shape_rng.random() < 0.1:
                service["disabled"] = True  # captured: references to disabled services say so
            self.services.append(service)

    def _service_ref(self, rate: float):
        """A reference to a service from the catalogue (provider may sit in another account)."""
        rng = self.rng
        if rng.random() >= rate or not self.services:
            return None
        chosen = rng.choice(self.services)
        reference = {key: value for key, value in chosen.items() if key != "provider"}
        reference["provider"] = dict(chosen["provider"])
        return reference

    # --- products -------------------------------------------------------------------------

    def _org_pointer(self, null_rate: float):
        """Mostly existing organizations, a few ids that the organizations list lacks."""
        rng = self.rng
        if rng.random() < null_rate:
            return None
        known = self._known_org_ids
        if not known or rng.random() < 0.05:
            return self._org_ref(rng.randint(900000, 999999))
        return self._org_ref(rng.choice(known))

    def product(self, product_id: int, created: int) -> dict:
        rng = self.rng
        brand = rng.choice(BRANDS)
        model = rng.choice(MODELS)
        service = self._service_ref(0.85)
        method = rng.choice(DEPRECIATION)
        if rng.random() < 0.03:
            method = "na_cost_is_zero"  # legacy value still present in real data
        salvage = None if rng.random() < 0.4 else f"{rng.randint(0, 5000)}.{rng.randint(0, 99)}"
        record = {
            "id": product_id,
            "sourceID": None if rng.random() < 0.7 else f"PRD-{product_id}",
            "source": None,
            "name": f"{brand} {model} {product_id}",
            "category": rng.choice(PRODUCT_CATEGORIES),
            "brand": brand,
            "model": model,
            "productID": None if rng.random() < 0.3 else f"{brand[:3].upper()}-{product_id}",
            "service": service,
            "support_team": None if rng.random() < 0.1 else dict(rng.choice(self.teams)),
            "supplier": self._org_pointer(0.3),
            "financial_owner": self._org_pointer(0.4),
            "rule_set": rng.choice(RULE_SETS),
            "depreciation_method": method,
            "rate": rng.choice((None, 10, 20, 25)),
            "useful_life": rng.choice((None, 3, 4, 5, 7)),
            "salvage_value": salvage,
            "salvage_value_currency": rng.choice(CURRENCIES) if salvage else None,
            "disabled": rng.random() < 0.05,
            "workflow_template": None,
            "workflow_manager": self._person(0.8),
            "picture_uri": None,
            "remarks": None,
            "custom_fields": self._custom_fields(),
            "ui_extension": None,
            "attachments": [],
            "created_at": created,
            "updated_at": self._updated(created),
        }
        if rng.random() < 0.03:
            record["recurrence"] = {"frequency": "monthly", "interval": 1, "day": [1]}
        self._product_shapes(record)
        return record

    def _product_shapes(self, record: dict):
        """Captured products lack a model or brand now and then (docs call both required)."""
        shape = self.shape_rng
        if shape.random() < 0.25:
            record["model"] = None
        if shape.random() < 0.03:
            record["brand"] = None
        record["ui_extension"] = self._ui_extension("product", 0.3)

    def products(self, count: int, org_ids: list[int]) -> list[dict]:
        self._known_org_ids = org_ids
        rows = [
            self.product(pid, created)
            for pid, created in zip(self._ids(5000, count), self._times(count))
        ]
        self._apply_tie_blocks(rows)
        return rows

    # --- projects -------------------------------------------------------------------------

    def project(self, project_id: int, created: int) -> dict:
        rng = self.rng
        status = rng.choice(STATUSES)
        completed = None
        reason = None
        if status == "completed":
            completed = min(self.anchor, created + rng.randint(86400, 86400 * 200))
            reason = rng.choice(COMPLETION_REASONS)
        target = None if rng.random() < 0.2 else created + rng.randint(86400 * 10, 86400 * 400)
        service = self._service_ref(0.8)
        money = self._project_money()
        known = self._known_org_ids
        record = {
            "id": project_id,
            "sourceID": None if rng.random() < 0.8 else f"PRJ-{project_id}",
            "source": rng.choice(("4me", None)),
            "subject": f"{rng.choice(SUBJECT_WORDS)} ({project_id})",
            "category": rng.choice(PROJECT_CATEGORIES),
            "status": status,
            "manager": self._person(0.1),
            "customer": self._org_ref(rng.choice(known)) if known else None,
            "service": service,
            "program": rng.choice((None, None) + PROGRAMS),
            "justification": rng.choice((None,) + JUSTIFICATIONS),
            "risk_level": rng.choice((None,) + RISK_LEVELS),
            "completion_reason": reason,
            "completion_target_at": target,
            "completed_at": completed,
            "resolution_duration": None if completed is None else (completed - created) // 60,
            **money,
            "time_zone": rng.choice(RAILS_ZONES),
            "work_hours": None if rng.random() < 0.3 else dict(rng.choice(self.calendars)),
            "note": "Kick-off notes (not selectable through fields=)",
            "custom_fields": self._custom_fields(),
            "ui_extension": None,
            "attachments": [],
            "created_at": created,
            "updated_at": self._updated(created),
        }
        record["ui_extension"] = self._ui_extension("project", 0.2)
        return record

    def _project_money(self) -> dict:
        """Effort, costs, value and ROI: decimals as strings, derived fields consistent."""
        rng = self.rng
        effort = rng.choice((None, 40, 120, 800, 2400))
        cost_effort = None if effort is None else f"{effort * 80}.0"
        purchases = rng.choice((None, "0.0", "15000.0", "320000.0"))
        total = None
        if cost_effort or purchases:
            total = f"{float(cost_effort or 0) + float(purchases or 0):.1f}"
        value = rng.choice((None, "50000.0", "320000.0", "1250000.0"))
        roi = None
        if value and total and float(total) > 0:
            roi = int((float(value) - float(total)) / float(total) * 100)
        return {
            "effort": effort,
            "cost_of_effort": cost_effort,
            "cost_of_purchases": purchases,
            "value": value,
            "total_cost": total,
            "roi": roi,
            "value_currency": "usd" if value else None,
        }

    def projects(self, count: int) -> list[dict]:
        rows = [
            self.project(pid, created)
            for pid, created in zip(self._ids(7000, count), self._times(count))
        ]
        self._apply_tie_blocks(rows)
        return rows

    def build(self, counts: dict) -> dict[str, list[dict]]:
        """Every collection's rows: the first three from the main stream exactly as before
        (so they stay byte-identical for a seed), then the rest from streams of their own."""
        orgs = self.organizations(counts["organizations"])
        products = self.products(counts["products"], [row["id"] for row in orgs])
        projects = self.projects(counts["projects"])
        world = self.world = World()
        world.add_referenced("organizations", orgs, missing="External Supplier")
        world.add_referenced("products", products)
        world.add_referenced("projects", projects, display="subject", missing="Removed Project")
        self.directory = DirectoryBuilder(self.config, self.anchor, world, self.people, self.teams)
        self.directory.build(counts)
        self.assets = AssetBuilder(self.config, self.anchor, world, self.services)
        self.assets.build(counts)
        self.work = WorkBuilder(self.config, self.anchor, world)
        self.work.build(counts)
        return world.rows

    def reserved_ids(self) -> dict[str, int]:
        """Per collection, the highest id the first three collections' references use: records
        inserted later start after it even when fewer records were generated, so that no new
        record takes over (and renames) an old reference."""
        return {
            "people": max(person["id"] for person in self.people),
            "teams": max(team["id"] for team in self.teams),
            "services": max(service["id"] for service in self.services),
        }

    def new_row(self, collection: str, row_id: int, moment: int) -> dict:
        """A fresh row for an insert at run time (created_at == updated_at == moment)."""
        if collection == "organizations":
            row = self.organization(row_id, moment, [])
        elif collection == "products":
            row = self.product(row_id, moment)
        elif collection == "projects":
            row = self.project(row_id, moment)
            row["completed_at"] = None
            row["status"] = "registered"
            row["completion_reason"] = None
            row["resolution_duration"] = None
            self.work.add_phases(row)
        else:
            builder = next(
                builder
                for builder in (self.directory, self.assets, self.work)
                if collection in builder.collections
            )
            row = builder.new_row(collection, row_id, moment)
        row["created_at"] = row["updated_at"] = moment
        return row
