"""Project phases, project tasks and time entries: the work done for the projects.

Every project gets three to five phases whose statuses follow the project's; a task belongs to
a phase of its project and finishes no later than the project. A time entry is spent by an
existing person for that person's organization, on a project task (with the project's customer
and service), on a time allocation, or now and then on a request or workflow task, which no
collection here serves (so those references dangle by nature).
"""

from __future__ import annotations

from .draws import CURRENCIES, CollectionBuilder, cumulative, yyyy_mm_dd

DAY = 86400
PHASE_NAMES = {
    3: ("Initiation", "Implementation", "Closure"),
    4: ("Initiation", "Planning", "Implementation", "Closure"),
    5: ("Initiation", "Planning", "Implementation", "Testing", "Closure"),
}
TASK_SUBJECTS = (
    "Kick-off meeting",
    "Design review",
    "Order hardware",
    "Configure network",
    "Migrate data",
    "User acceptance test",
    "Train key users",
    "Go-live",
    "Budget approval",
    "Decommission old system",
)
TASK_CATEGORIES = ("activity", "approval", "milestone")
TASK_CATEGORY_WEIGHTS = cumulative((8, 1, 1))
UNFINISHED = ("registered", "assigned", "accepted", "in_progress", "waiting_for")
FINISHED = ("completed", "completed", "completed", "failed", "canceled")
#: Approval tasks are approved or rejected rather than completed or failed.
APPROVAL_OUTCOME = {"completed": "approved", "failed": "rejected"}
PLANNED_MINUTES = (60, 240, 480, 960, 2400, 4800)
#: Time allocations (display keys as in the docs' time entry sample); no collection serves them.
TIME_ALLOCATIONS = tuple(
    {"id": ta_id, "group": group, "name": name, "localized_group": group, "localized_name": name}
    for ta_id, group, name in (
        (4, "Project", "Transparency of Performance (TOP)"),
        (5, "Operations", "Monitoring"),
        (6, "Operations", "Patching"),
        (7, "Overhead", "Team meeting"),
        (8, "Overhead", "Training"),
    )
)
EFFORT_CLASSES = ({"id": 1, "name": "Standard"}, {"id": 2, "name": "Overtime"})
REQUEST_SUBJECTS = (
    "Expense reporting is slow",
    "Windows password reset required",
    "New laptop for a new hire",
    "VPN drops every hour",
)


class WorkBuilder(CollectionBuilder):
    """Generates the phases of every project, then project tasks and time entries."""

    collections = ("project_tasks", "time_entries")
    other_streams = ("phases",)

    def __init__(self, config, anchor, world):
        super().__init__(config, anchor, world)
        self.phases: dict[int, dict] = {}  # phase id -> phase (with its project's id)
        self._phases_of: dict[int, list[dict]] = {}
        self._next_phase_id = 300
        self._projects_by_id: dict[int, dict] = {}

    def build(self, counts: dict):
        world = self.world
        self._projects_by_id = {row["id"]: row for row in world.rows["projects"]}
        for project in world.rows["projects"]:
            self.add_phases(project)
        tasks = self.project_tasks(counts["project_tasks"])
        world.add_referenced("project_tasks", tasks, display="subject", missing="Removed Task")
        world.add("time_entries", self.time_entries(counts["time_entries"]))

    def new_row(self, collection: str, row_id: int, moment: int) -> dict:
        self._use(collection)
        if collection == "project_tasks":
            projects = self.world.rows["projects"]
            project = self._one_of(projects) if projects else None
            return self.project_task(row_id, moment, moment, project)
        return self.time_entry(row_id, moment)

    # --- phases ---------------------------------------------------------------------------

    def add_phases(self, project: dict):
        """Three to five phases: the ones before the current phase completed, the current one
        with the project's status, the later ones registered (all completed when it is); a
        phase ends when the next one starts, the last one when the project completes."""
        self._use("phases")
        names = PHASE_NAMES[self._between(3, 5)]
        created = project["created_at"]
        end = project["completed_at"] or self.anchor
        starts = sorted(self._between(created, max(created, end)) for _ in names)
        ends = starts[1:] + [end]
        current = {"registered": -1, "completed": len(names)}.get(project["status"])
        if current is None:
            current = self._index(len(names))
        phases = []
        for position, name in enumerate(names):
            if position < current:
                status, started, completed = "completed", starts[position], ends[position]
            elif position == current:
                status, started, completed = project["status"], starts[position], None
            else:
                status, started, completed = "registered", None, None
            phase = {
                "id": self._next_phase_id,
                "project": project["id"],
                "name": name,
                "position": position + 1,
                "status": status,
                "started_at": started,
                "completed_at": completed,
                "created_at": created,
                "updated_at": completed or started or created,
            }
            self._next_phase_id += 1
            self.phases[phase["id"]] = phase
            phases.append(phase)
        self._phases_of[project["id"]] = phases

    # --- project tasks --------------------------------------------------------------------

    def project_tasks(self, count: int) -> list[dict]:
        """Tasks spread over the projects, created during their project's life."""
        self._use("project_tasks")
        projects = self.world.rows["projects"]
        planned = []
        for _ in range(count):
            project = self._one_of(projects) if projects else None
            start = project["created_at"] if project else self.anchor - 365 * DAY
            end = (project or {}).get("completed_at") or self.anchor
            planned.append((self._between(start, max(start, end)), end, project))
        planned.sort(key=lambda item: item[0])
        ids = self._ids(24000, count)
        rows = [self.project_task(i, *item) for i, item in zip(ids, planned)]
        self._apply_tie_blocks(rows)
        return rows

    def project_task(self, task_id: int, created: int, end: int, project) -> dict:
        rand = self.rng.random
        phase = self._one_of(self._phases_of[project["id"]]) if project else None
        category = self._weighted(TASK_CATEGORIES, TASK_CATEGORY_WEIGHTS)
        status = self._task_status(category, phase["status"] if phase else "in_progress")
        finished = None
        if status not in UNFINISHED:
            finished = self._between(created, max(created, min(end, self.anchor)))
        planned_duration = self._one_of(PLANNED_MINUTES)
        start = created + self._between(0, 10) * DAY
        record = {
            "id": task_id,
            "sourceID": f"PT-{task_id}" if rand() < 0.1 else None,
            "source": None,
            "subject": self._one_of(TASK_SUBJECTS),
            "category": category,
            "status": status,
            "project": self._project_ref(project),
            "phase": {"id": phase["id"], "name": phase["name"]} if phase else None,
            "team": self._pick("teams", null_rate=0.1),
            "manager": project.get("manager") if project else None,
            "supplier": self._pick("organizations", null_rate=0.95),
            "planned_duration": planned_duration,
            "planned_effort": self._one_of([m for m in PLANNED_MINUTES if m <= planned_duration]),
            "required_approvals": self._between(1, 3) if category == "approval" else None,
            "resolution_duration": None if finished is None else (finished - created) // 60,
            "start_at": start,
            "assigned_at": None if status == "registered" else min(self.anchor, created + 3600),
            "anticipated_assignment_at": start if status == "registered" else None,
            "completion_target_at": start + planned_duration * 60,
            "deadline": self._deadline(created, finished),
            "finished_at": finished,
            "urgent": rand() < 0.05,
            "work_hours_are_24x7": rand() < 0.1,
            "checked_items": ["Backup verified"] if rand() < 0.1 else [],
            "instructions": self._one_of(
                (None, "Follow the runbook.", "Coordinate with the CAB.")
            ),
            "attachments": [],
            "custom_fields": self._custom_fields(),
            "created_at": created,
        }
        record["updated_at"] = max(self._updated(created), finished or created)
        return record

    def _project_ref(self, project):
        if project is None:
            return None
        return {"id": project["id"], "subject": project["subject"]}

    def _task_status(self, category: str, phase_status: str) -> str:
        """Finished in a completed phase, registered in a phase not started, else either."""
        rand = self.rng.random
        if phase_status == "registered":
            return "registered"
        if phase_status == "completed" or rand() < 0.5:
            status = self._one_of(FINISHED)
        else:
            status = self._one_of(UNFINISHED)
        if category == "approval":
            return APPROVAL_OUTCOME.get(status, status)
        if category == "milestone":
            return "completed" if status not in UNFINISHED else "registered"
        return status

    def _deadline(self, created: int, finished):
        """Some tasks have a deadline; unfinished ones now and then missed it already."""
        draw = self.rng.random()
        if draw < 0.7:
            return None
        if finished is None and draw < 0.85:
            return max(created, self.anchor - self._between(1, 30) * DAY)  # in the past
        return (finished or self.anchor) + self._between(1, 30) * DAY

    # --- time entries ---------------------------------------------------------------------

    def time_entries(self, count: int) -> list[dict]:
        self._use("time_entries")
        ids, times = self._ids(200, count), self._times(count)
        rows = [self.time_entry(i, t) for i, t in zip(ids, times)]
        self._apply_tie_blocks(rows)
        return rows

    def time_entry(self, entry_id: int, created: int) -> dict:
        """Time an existing person spent, for that person's organization."""
        rand = self.rng.random
        people = self.world.rows["people"]
        index = self._index(len(people)) if people else None
        person = {} if index is None else people[index]
        spent_on = created - self._between(0, 3) * DAY
        time_spent = self._one_of((15, 30, 45, 60, 90, 120, 240, 480))
        record = {
            "id": entry_id,
            "date": yyyy_mm_dd(spent_on),
            "time_spent": time_spent,
            "started_at": (
                spent_on // DAY * DAY + self._between(7, 17) * 3600 if rand() < 0.4 else None
            ),
            "person": None if index is None else self.world.pools["people"].refs[index],
            "organization": person.get("organization"),
            "effort_class": self._one_of(EFFORT_CLASSES) if rand() < 0.3 else None,
            "correction": rand() < 0.02,
            "deleted": rand() < 0.03,
            "sla": None,
            "created_at": created,
            "updated_at": self._updated(created),
        }
        record.update(self._work_done(person))
        record.update(self._money(person, time_spent))
        return record

    def _work_done(self, person: dict) -> dict:
        """What the time was spent on: exactly one of a project task, a time allocation, a
        request, a workflow task or a problem."""
        draw = self.rng.random()
        tasks = self.world.rows["project_tasks"]
        if draw < 0.45 and tasks:
            index = self._index(len(tasks))
            project = self._projects_by_id.get((tasks[index]["project"] or {}).get("id"), {})
            return {
                "project_task": self.world.pools["project_tasks"].refs[index],
                "customer": project.get("customer"),
                "service": project.get("service"),
                "description": None,
            }
        if draw < 0.85:
            return {
                "time_allocation": self._one_of(TIME_ALLOCATIONS),
                "customer": person.get("organization"),
                "service": self._pick("services", null_rate=0.5),
                "description": self._one_of(("Weekly patch round", "Team meeting", "Training")),
            }
        kind = "request" if draw < 0.97 else ("task" if draw < 0.99 else "problem")
        return {
            kind: {"id": self._between(70000, 99999), "subject": self._one_of(REQUEST_SUBJECTS)},
            "note_id": self._between(1_000_000, 9_999_999),
            "customer": person.get("organization"),
            "service": self._pick("services", null_rate=0.2),
            "description": None,
        }

    def _money(self, person: dict, time_spent: int) -> dict:
        """Cost at the person's hourly rate; a charge for the entries billed to a customer."""
        rand = self.rng.random
        rate = person.get("cost_per_hour")
        money = {
            "cost": None if rate is None else f"{float(rate) * time_spent / 60:.2f}",
            "cost_currency": person.get("cost_per_hour_currency") if rate else None,
        }
        if rand() < 0.3:
            charge_rate = self._one_of((75, 95, 120, 150))
            money.update(
                charge_type=self._one_of(("time_material", "fixed_price")),
                charge_rate=f"{charge_rate}.0",
                charge=f"{charge_rate * time_spent / 60:.2f}",
                charge_currency=self._one_of(CURRENCIES),
                rateID=f"RATE-{charge_rate}",
                agreementID=f"SLA-{self._between(100, 999)}",
                activityID=f"ACT-{self._between(10, 99)}",
            )
        return money
