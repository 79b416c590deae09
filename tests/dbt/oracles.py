"""The figures of the package's organization chart, asset inventory and project progress,
computed in Python from the simulator's ground truth (the records as the API shows them), never
from the package's SQL: the tests compare the models with these.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timezone

TASK_STATUSES = (
    "registered",
    "declined",
    "assigned",
    "accepted",
    "in_progress",
    "waiting_for",
    "failed",
    "rejected",
    "completed",
    "approved",
    "canceled",
)
FINISHED = {"completed", "approved", "failed", "rejected", "canceled"}
COMPLETED = {"completed", "approved"}
WARNING_DAYS = 90


def _id(reference) -> int | None:
    return (reference or {}).get("id")


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


# --- organization chart ------------------------------------------------------------------------


def organization_chart(sim, limit: int = 50) -> dict[int, dict]:
    """Per live, enabled person: the walk up the managers (over every person the API shows,
    disabled ones included), how it ended, the reports below and the organization's headcount."""
    people = {record["id"]: record for record in sim.ground_truth("people")}
    chart = {pid: person for pid, person in people.items() if not person.get("disabled")}
    chains = {person_id: _walk_up(people, person_id, limit) for person_id in chart}
    reports, direct = Counter(), Counter()
    for chain, _ in chains.values():
        for steps, manager in enumerate(chain[1:], start=1):
            reports[manager] += 1
            direct[manager] += steps == 1
    headcount = Counter(_id(person.get("organization")) for person in chart.values())
    return {
        person_id: {
            "management_depth": len(chain) - 1,
            "top_manager_id": chain[-1],
            "chain_end": end,
            "manager_id_path": "/" + "/".join(str(node) for node in reversed(chain)) + "/",
            "manager_status": _manager_status(people, _id(chart[person_id].get("manager"))),
            "direct_report_count": direct[person_id],
            "report_count": reports[person_id],
            "organization_headcount": headcount[_id(chart[person_id].get("organization"))],
        }
        for person_id, (chain, end) in chains.items()
    }


def _walk_up(people: dict, person_id: int, limit: int) -> tuple[list[int], str]:
    """The person and the managers above them, and how the walk ended."""
    chain = [person_id]
    while True:
        manager = _id(people[chain[-1]].get("manager"))
        if manager is None:
            return chain, "top_level"
        if manager not in people:
            return chain, "manager_missing"
        if manager in chain:
            return chain, "cycle"
        if len(chain) - 1 >= limit:
            return chain, "max_depth"
        chain.append(manager)


def _manager_status(people: dict, manager: int | None) -> str | None:
    if manager is None:
        return None
    if manager not in people:
        return "unknown"
    return "disabled" if people[manager].get("disabled") else "active"


# --- asset inventory ---------------------------------------------------------------------------


DEPRECIATED = {
    "straight_line",
    "sum_of_the_years_digits",
    "double_declining_balance",
    "reducing_balance",
}


def book_value(ci: dict, product: dict | None, today: date) -> tuple[str, float | None]:
    """(basis, value) of a CI today, by its product's depreciation method."""
    basis = _book_value_basis(ci, product)
    if basis == "not_depreciated":
        return basis, float(ci["purchase_value"])
    if basis != "depreciated":
        return basis, None
    cost = float(ci["purchase_value"])
    salvage = min(float(product["salvage_value"] or 0), cost)
    years = max((today - _day(ci["in_use_since"])).days, 0) / 365.25
    life, rate = product.get("useful_life"), product.get("rate")
    method = product["depreciation_method"]
    if method == "straight_line":
        return basis, cost - (cost - salvage) * min(years / life, 1.0)
    if method == "sum_of_the_years_digits":
        return basis, cost - (cost - salvage) * _digits_used(life, years)
    kept = 1 - 2 / life if method == "double_declining_balance" else 1 - rate / 100
    return basis, max(cost * max(kept, 0.0) ** years, salvage)


def _book_value_basis(ci: dict, product: dict | None) -> str:
    method = (product or {}).get("depreciation_method")
    if product is None:
        return "no_product"
    if ci.get("purchase_value") is None:
        return "no_purchase_value"
    if method == "not_depreciated":
        return "not_depreciated"
    if method not in DEPRECIATED:
        return "unknown_method"
    if ci.get("in_use_since") is None:
        return "no_in_use_since"
    if method == "reducing_balance":
        return "depreciated" if (product.get("rate") or 0) > 0 else "no_rate"
    return "depreciated" if (product.get("useful_life") or 0) > 0 else "no_useful_life"


def _digits_used(life: int, years: float) -> float:
    """The share of the sum of the years' digits used up after `years`: year k of `life`
    takes (life - k + 1) of the digits 1 + ... + life, spread evenly over the year."""
    used, whole = 0.0, 0
    while whole < life and whole + 1 <= years:
        used += life - whole
        whole += 1
    if whole < life:
        used += (years - whole) * (life - whole)
    return used / (life * (life + 1) / 2)


def asset_inventory(sim, today: date) -> dict[int, dict]:
    """Per live CI: the book value and its basis, the warranty and supplier contract flags."""
    products = {record["id"]: record for record in sim.ground_truth("products")}
    contracts = [
        contract
        for contract in sim.ground_truth("contracts")
        if _day(contract.get("expiry_date")) and _day(contract["expiry_date"]) >= today
    ]
    result = {}
    for ci in sim.ground_truth("cis"):
        basis, value = book_value(ci, products.get(_id(ci.get("product"))), today)
        warranty = _day(ci.get("warranty_expiry_date"))
        warranty_expiring = bool(warranty) and 0 <= (warranty - today).days <= WARNING_DAYS
        contract = _supplier_contract(ci, contracts)
        contract_expiring = bool(contract) and (contract[0] - today).days <= WARNING_DAYS
        result[ci["id"]] = {
            "book_value_basis": basis,
            "book_value": None if value is None else round(value, 2),
            "is_warranty_expiring": warranty_expiring,
            "supplier_contract_id": contract[1] if contract else None,
            "is_contract_expiring": contract_expiring,
        }
    return result


def _supplier_contract(ci: dict, contracts: list[dict]) -> tuple | None:
    """(expiry date, id) of the open contract of the CI's supplier, for the CI's financial
    owner or for no customer, that ends first."""
    supplier, owner = _id(ci.get("supplier")), _id(ci.get("financial_owner"))
    if supplier is None:
        return None
    parties = {(supplier, None), (supplier, owner)}
    candidates = sorted(
        (_day(contract["expiry_date"]), contract["id"])
        for contract in contracts
        if (_id(contract.get("supplier")), _id(contract.get("customer"))) in parties
    )
    return candidates[0] if candidates else None


# --- project progress --------------------------------------------------------------------------


def project_progress(sim, now: datetime | None = None) -> dict[tuple, dict]:
    """Per (live project, phase id): its live tasks by status, planned effort, time written
    (live time entries), overdue tasks; and per project the share of tasks completed."""
    now = now or datetime.now(timezone.utc)
    projects = {record["id"]: record for record in sim.ground_truth("projects")}
    spent, entries = Counter(), Counter()
    for entry in sim.ground_truth("time_entries"):
        if not entry.get("deleted") and _id(entry.get("project_task")) is not None:
            spent[_id(entry["project_task"])] += entry["time_spent"] or 0
            entries[_id(entry["project_task"])] += 1
    rows: dict[tuple, dict] = defaultdict(_empty_phase)
    for task in sim.ground_truth("project_tasks"):
        if _id(task.get("project")) in projects:
            row = rows[(task["project"]["id"], _id(task.get("phase")))]
            _count_task(row, task, now, spent[task["id"]], entries[task["id"]])
    with_tasks = {project_id for project_id, _ in rows}
    for project_id in set(projects) - with_tasks:
        rows[(project_id, None)]  # a project without tasks: one row of zeros
    totals, completed = Counter(), Counter()
    for (project_id, _), row in rows.items():
        totals[project_id] += row["task_count"]
        completed[project_id] += row["completed_or_approved_task_count"]
    for (project_id, _), row in rows.items():
        share = completed[project_id] / totals[project_id] if totals[project_id] else None
        row["project_completed_share"] = share
    return dict(rows)


def _empty_phase() -> dict:
    return {
        "task_count": 0,
        **{f"{status}_task_count": 0 for status in TASK_STATUSES},
        "other_status_task_count": 0,
        "completed_or_approved_task_count": 0,
        "overdue_task_count": 0,
        "planned_effort_minutes": 0,
        "time_spent_minutes": 0,
        "time_entry_count": 0,
    }


def _count_task(row: dict, task: dict, now: datetime, spent: int, entries: int) -> None:
    status = task.get("status")
    deadline = _moment(task.get("deadline"))
    row["task_count"] += 1
    if status in TASK_STATUSES:
        row[f"{status}_task_count"] += 1
    else:
        row["other_status_task_count"] += 1
    row["completed_or_approved_task_count"] += status in COMPLETED
    row["overdue_task_count"] += bool(deadline and deadline < now and status not in FINISHED)
    row["planned_effort_minutes"] += task.get("planned_effort") or 0
    row["time_spent_minutes"] += spent
    row["time_entry_count"] += entries
