"""Services, service instances, contracts and configuration items: what the organization runs.

The 60 services that products and projects have always referenced are the first services here,
with the same ids, names, providers and disabled flags. Configuration items take their rule set
(and usually their support team and service) from their product, as in the real API.
"""

from __future__ import annotations

from .draws import (
    CURRENCIES,
    ORG_UNIT,
    RAILS_ZONES,
    CollectionBuilder,
    cumulative,
    yyyy_mm_dd,
)

DAY = 86400
IMPACTS = ("low", "medium", "high", "top")
ENVIRONMENTS = ("Production", "Acceptance", "Test", "Development")
SERVICE_INSTANCE_STATUSES = ("being_prepared", "in_production", "discontinued")
SERVICE_INSTANCE_WEIGHTS = cumulative((1, 8, 1))
CONTRACT_CATEGORIES = (
    "lease_contract",
    "maintenance_contract",
    "support_contract",
    "support_and_maintenance_contract",
    "other_type_of_contract",
)
CI_STATUSES = (
    "in_production",
    "installed",
    "in_stock",
    "ordered",
    "being_built",
    "reserved",
    "in_transit",
    "being_tested",
    "standby_for_continuity",
    "lent_out",
    "undergoing_maintenance",
    "broken_down",
    "being_repaired",
    "archived",
    "to_be_removed",
    "lost_or_stolen",
    "removed",
)
CI_STATUS_WEIGHTS = cumulative((40, 15, 8, 3, 2, 2, 1, 2, 1, 1, 2, 1, 1, 9, 3, 1, 8))
LICENSE_TYPES = (
    "concurrent_user_license",
    "cpu_license",
    "installed_user_license",
    "named_user_license",
    "unlimited_user_license",
    "other_type_of_license",
)
#: Rule sets whose CIs carry purchase data (the captured CI of a rule set without financial
#: data had none).
FINANCIAL_RULE_SETS = ("logical_asset_with_financial_data", "physical_asset", "server")
LICENSED_RULE_SETS = ("software", "license_certificate")
SOFTWARE_RULE_SETS = ("software", "software_distribution_package", "license_certificate")
#: Share of CIs and contracts whose warranty or contract runs out within 90 days of the anchor.
EXPIRING_SOON = 0.08


class AssetBuilder(CollectionBuilder):
    """Generates services, service instances, contracts and CIs, each from its own stream."""

    collections = ("services", "service_instances", "contracts", "cis")

    def __init__(self, config, anchor, world, legacy_services: list):
        super().__init__(config, anchor, world)
        self.legacy_services = legacy_services
        self._label_numbers: dict[str, int] = {}

    def build(self, counts: dict):
        world = self.world
        world.add_referenced(
            "services", self.services(counts["services"]), missing="Retired Service"
        )
        world.add("service_instances", self.service_instances(counts["service_instances"]))
        world.add("contracts", self.contracts(counts["contracts"]))
        world.add("cis", self.cis(counts["cis"]))

    def new_row(self, collection: str, row_id: int, moment: int) -> dict:
        self._use(collection)
        if collection == "services":
            return self.service(row_id, moment, None)
        if collection == "service_instances":
            return self.service_instance(row_id, moment)
        if collection == "contracts":
            return self.contract(row_id, moment)
        return self.ci(row_id, moment)

    # --- services -------------------------------------------------------------------------

    def services(self, count: int) -> list[dict]:
        """The legacy services first (provider and disabled flag as before), then new ones."""
        self._use("services")
        return [
            self.service(service_id, created, known)
            for service_id, created, known in self._first_release_first(
                self.legacy_services, count
            )
        ]

    def service(self, service_id: int, created: int, known) -> dict:
        rand = self.rng.random
        if known:
            name, provider = known["name"], dict(known["provider"])
            disabled = bool(known.get("disabled"))
        else:
            name = f"{self._one_of(ORG_UNIT)} Service {service_id}"
            provider = self._pick("organizations")
            disabled = rand() < 0.1
        record = {
            "id": service_id,
            "sourceID": None,  # every captured service had none
            "source": None,
            "name": name,
            "provider": provider,
            "support_team": self._pick("teams", null_rate=0.05),
            "disabled": disabled,
            "service_owner": self._pick("people", null_rate=0.1),
        }
        for role, null_rate in (
            ("availability_manager", 0.6),
            ("capacity_manager", 0.6),
            ("change_manager", 0.3),
            ("continuity_manager", 0.7),
            ("knowledge_manager", 0.5),
            ("problem_manager", 0.4),
            ("release_manager", 0.5),
        ):
            record[role] = self._pick("people", null_rate=null_rate)
        record.update(
            impact=self._one_of(IMPACTS),
            keywords=self._one_of((None, "email, mail", "laptop, hardware", "erp, finance")),
            description=self._one_of((None, f"Delivers {name.lower()} to the business.")),
            survey=None,
            picture_uri=None,
            attachments=[],
            custom_fields=self._custom_fields(),
            ui_extension=None,
            created_at=created,
            updated_at=self._updated(created),
        )
        return record

    # --- service instances ----------------------------------------------------------------

    def service_instances(self, count: int) -> list[dict]:
        self._use("service_instances")
        ids, times = self._ids(1300, count), self._times(count)
        return [self.service_instance(i, t) for i, t in zip(ids, times)]

    def service_instance(self, instance_id: int, created: int) -> dict:
        rand = self.rng.random
        service = self._pick("services", dangling=False)  # an instance always has its service
        return {
            "id": instance_id,
            "sourceID": f"SI-{instance_id}" if rand() < 0.2 else None,
            "source": None,
            "name": f"{service['name']} {self._one_of(ENVIRONMENTS)} {instance_id}",
            "service": service,
            "status": self._weighted(SERVICE_INSTANCE_STATUSES, SERVICE_INSTANCE_WEIGHTS),
            "support_team": self._pick("teams", null_rate=0.1),
            "first_line_team": self._pick("teams", null_rate=0.4),
            "time_zone": self._one_of(RAILS_ZONES),
            "impact": self._one_of(IMPACTS),
            "picture_uri": None,
            "remarks": self._one_of((None, None, "Hosted externally", "Shared platform")),
            "attachments": [],
            "custom_fields": self._custom_fields(),
            "ui_extension": None,
            "created_at": created,
            "updated_at": self._updated(created),
        }

    # --- contracts ------------------------------------------------------------------------

    def contracts(self, count: int) -> list[dict]:
        self._use("contracts")
        ids, times = self._ids(2000, count), self._times(count)
        return [self.contract(i, t) for i, t in zip(ids, times)]

    def contract(self, contract_id: int, created: int) -> dict:
        rand = self.rng.random
        category = self._one_of(CONTRACT_CATEGORIES)
        supplier = self._pick("organizations", null_rate=0.05)
        label = category.replace("_", " ").capitalize()
        record = {
            "id": contract_id,
            "sourceID": f"CON-{contract_id}" if rand() < 0.3 else None,
            "source": None,
            "name": f"{label} {contract_id}",
            "category": category,
            "customer": self._pick("organizations", null_rate=0.2),
            "customer_rep": self._pick("people", null_rate=0.4),
            "supplier": supplier,
            "supplier_contact": self._pick("people", null_rate=0.7),
            "time_zone": self._one_of(RAILS_ZONES),
            "remarks": self._one_of((None, None, "Auto-renews", "Under review")),
            "attachments": [],
            "custom_fields": self._custom_fields(),
            "ui_extension": None,
            "created_at": created,
            "updated_at": self._updated(created),
        }
        record.update(self._contract_term(created))
        return record

    def _contract_term(self, created: int) -> dict:
        """Start, expiry and notice dates with the status they imply at the anchor; some run
        out within 90 days of it, a few are still being prepared (no dates yet)."""
        rand = self.rng.random
        if rand() < 0.05:
            return {"status": "being_prepared", "start_date": None, "expiry_date": None}
        length = self._one_of((365, 730, 1095)) * DAY
        start = created + self._between(0, 90) * DAY
        if rand() < EXPIRING_SOON:
            start = self.anchor + self._between(1, 90) * DAY - length
        expiry = start + length
        if start > self.anchor:
            status = "scheduled_for_activation"
        elif expiry < self.anchor:
            status = "expired"
        else:
            status = "active"
        notice = expiry - self._one_of((30, 60, 90)) * DAY if rand() < 0.6 else None
        return {
            "status": status,
            "start_date": yyyy_mm_dd(start),
            "expiry_date": yyyy_mm_dd(expiry),
            "notice_date": None if notice is None else yyyy_mm_dd(notice),
        }

    # --- configuration items --------------------------------------------------------------

    def cis(self, count: int) -> list[dict]:
        self._use("cis")
        ids, times = self._ids(171000, count), self._times(count)
        rows = [self.ci(i, t) for i, t in zip(ids, times)]
        self._apply_tie_blocks(rows)
        return rows

    def ci(self, ci_id: int, created: int) -> dict:
        """A CI of an existing product, with that product's rule set."""
        rand = self.rng.random
        products = self.world.rows["products"]
        if products:
            index = self._index(len(products))
            product, product_ref = products[index], self.world.pools["products"].refs[index]
        else:
            product, product_ref = {}, None
        rule_set = product.get("rule_set") or "physical_asset"
        status = self._weighted(CI_STATUSES, CI_STATUS_WEIGHTS)
        record = {
            "id": ci_id,
            "sourceID": f"CMDB-{ci_id}" if rand() < 0.3 else None,
            "software": rule_set in SOFTWARE_RULE_SETS,
            "source": None,
            "label": self._label(product.get("category")),
            "name": product.get("name") or f"Configuration item {ci_id}",
            "alternate_names": [f"host-{ci_id}.widget.example"] if rand() < 0.1 else None,
            "status": status,
            "product": product_ref,
            "rule_set": rule_set,
            "support_team": self._support_team(product),
            "service": product.get("service") if rand() < 0.7 else self._pick("services"),
            "site": self._pick("sites", null_rate=0.3),
            "location": f"Rack {self._between(1, 40)}" if rand() < 0.3 else None,
            "supplier": self._pick("organizations", null_rate=0.3),
            "financial_owner": self._pick("organizations", null_rate=0.4),
            "assetID": f"AST{ci_id}" if rand() < 0.5 else None,
            "workflow_manager": self._pick("people", null_rate=0.9),
            "workflow_template": None,
            "recurrence": {"frequency": "yearly", "interval": 1} if rand() < 0.02 else None,
            "remarks": self._one_of((None, None, "Spare", "Replaced under warranty")),
            "attachments": [],
            "custom_fields": self._custom_fields(),
            "created_at": created,
            "updated_at": self._updated(created),
        }
        record.update(self._ci_financials(rule_set, created))
        record.update(self._ci_license(rule_set))
        record.update(self._ci_hardware(ci_id, rule_set, status, created))
        return record

    def _label(self, category) -> str:
        """Labels count up per product category prefix (help: "MON00002" after "MON00001")."""
        prefix = (category or "ci").split("/")[-1][:3].upper()
        number = self._label_numbers.get(prefix, 0) + 1
        self._label_numbers[prefix] = number
        return f"{prefix}{number:05d}"

    def _support_team(self, product: dict):
        rand = self.rng.random
        if product.get("support_team") and rand() < 0.8:
            return product["support_team"]
        return self._pick("teams", null_rate=0.1)

    def _ci_financials(self, rule_set: str, created: int) -> dict:
        """Purchase data for rule sets with financial data; warranties for hardware, some of
        them expiring within 90 days of the anchor."""
        rand = self.rng.random
        if rule_set not in FINANCIAL_RULE_SETS:
            return {"in_use_since": None, "purchase_value": None, "purchase_value_currency": None}
        in_use = created + self._between(0, 30) * DAY
        value = self._decimal(200, 25000) if rand() < 0.9 else None
        warranty = None
        if rule_set != "logical_asset_with_financial_data" and rand() < 0.8:
            warranty = in_use + self._one_of((1, 2, 3, 5)) * 365 * DAY
            if rand() < EXPIRING_SOON:
                warranty = self.anchor + self._between(1, 90) * DAY
        return {
            "in_use_since": yyyy_mm_dd(min(in_use, self.anchor)),
            "purchase_value": value,
            "purchase_value_currency": self._one_of(CURRENCIES) if value else None,
            "warranty_expiry_date": None if warranty is None else yyyy_mm_dd(warranty),
            "end_of_support_date": (yyyy_mm_dd(in_use + 7 * 365 * DAY) if rand() < 0.3 else None),
        }

    def _ci_license(self, rule_set: str) -> dict:
        rand = self.rng.random
        if rule_set not in LICENSED_RULE_SETS:
            return {}
        expiry = self.anchor + self._between(-200, 700) * DAY if rand() < 0.6 else None
        return {
            "license_type": self._one_of(LICENSE_TYPES),
            "license_expiry_date": None if expiry is None else yyyy_mm_dd(expiry),
            "nr_of_licenses": self._one_of((None, 10, 25, 100, 500)),
            "temporary_license": rand() < 0.05,
            "site_license": rand() < 0.1,
        }

    def _ci_hardware(self, ci_id: int, rule_set: str, status: str, created: int) -> dict:
        """Servers report processors, cores and memory; discovered hardware a last-seen time."""
        record = {}
        if rule_set in ("physical_asset", "server"):
            record["serial_nr"] = f"SN{self.rng.getrandbits(40):010X}"
            if status in ("in_production", "installed"):
                record["last_seen_at"] = max(created, self.anchor - self._between(0, 30 * DAY))
        if rule_set == "server":
            processors = self._one_of((1, 2, 4))
            record.update(
                systemID=f"srv{ci_id}",
                nr_of_processors=processors,
                nr_of_cores=processors * self._one_of((4, 8, 16)),
                ram_amount=self._one_of((16, 32, 64, 128, 256)),
            )
        return record
