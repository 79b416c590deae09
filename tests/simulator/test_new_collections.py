"""The nine collections added to the first three: shapes and key order, consistent references
resolved at request time, the relations between records, and the presets' volumes."""

import re
from datetime import datetime, timedelta, timezone

import pytest
from testkit import ANCHOR, Api, make_config, served_references

from simulator import SCALES, Simulator
from simulator.schema import DATA_COLLECTIONS, SPECS

NEW = (
    "people",
    "teams",
    "sites",
    "services",
    "service_instances",
    "cis",
    "contracts",
    "project_tasks",
    "time_entries",
)
FIRST_THREE = ("organizations", "products", "projects")
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
DANGLING_FLOOR = 900_000  # ids of records that do not exist (the suppliers' range)
WORK_KEYS = {"project_task", "time_allocation", "request", "task", "problem"}


def utc(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


class Truth:
    """A simulator that nobody changes, and its ground truth rendered once per collection."""

    def __init__(self, sim):
        self.sim, self.store, self._truth = sim, sim.store, {}

    def __call__(self, collection):
        if collection not in self._truth:
            self._truth[collection] = self.sim.ground_truth(collection)
        return self._truth[collection]

    def by_id(self, collection):
        return {row["id"]: row for row in self(collection)}


@pytest.fixture(scope="module")
def small():
    """The small scale, for the read-only checks (no HTTP server needed)."""
    return Truth(Simulator(make_config(scale="small")))


def truth_by_id(sim, collection):
    return {row["id"]: row for row in sim.ground_truth(collection)}


# --- volumes ------------------------------------------------------------------------------


def test_presets_and_explicit_counts():
    sim = Simulator(make_config())
    assert {name: len(sim.store.rows[name]) for name in DATA_COLLECTIONS} == SCALES["tiny"]
    assert set(SCALES["seed"]) == set(DATA_COLLECTIONS)
    assert SCALES["seed"]["cis"] == 50000 and SCALES["seed"]["time_entries"] == 60000
    counted = Simulator(make_config(people=230, cis=3, time_entries=0))
    assert [len(counted.store.rows[name]) for name in ("people", "cis", "time_entries")] == [
        230,
        3,
        0,
    ]


def test_the_first_releases_people_teams_and_services_are_records():
    sim = Simulator(make_config())
    generator = sim.store.generator
    for collection, pool in (
        ("people", generator.people),
        ("teams", generator.teams),
        ("services", generator.services),
    ):
        rows = sim.store.rows[collection]
        for known in pool:
            record = rows[known["id"]]
            assert record["name"] == known["name"]
            assert bool(record.get("disabled")) == bool(known.get("disabled"))
        assert len(rows) > len(pool)  # and more records after them
        assert min(set(rows) - {known["id"] for known in pool}) > max(k["id"] for k in pool)


# --- shapes -------------------------------------------------------------------------------


@pytest.mark.parametrize("collection", NEW)
def test_collection_records_follow_the_default_fields_in_order(api, sim, collection):
    spec = SPECS[collection]
    rows = api.get(f"/{collection}", {"per_page": 100}).json()
    assert rows
    for row in rows:
        assert set(spec.default_fields) - set(row) <= set(spec.omitted_when_null)
        tail = ["localized_name"] if collection == "services" else []
        tail += ["disabled"] if row.get("disabled") else []
        tail += ["account"] if "account" in row else []
        expected = [name for name in spec.default_fields if name in row] + tail + ["nodeID"]
        assert list(row) == expected
        assert ("account" in row) == (sim.account_of(collection, row["id"]) != "A")


@pytest.mark.parametrize("collection", NEW)
def test_single_records_carry_every_field_alphabetically(api, sim, collection):
    spec = SPECS[collection]
    for row in sim.ground_truth(collection)[:5]:
        single = api.get(f"/{collection}/{row['id']}").json()
        assert single == row
        keys = list(single)
        assert keys[-1] == "nodeID" and keys[:-1] == sorted(keys[:-1])
        assert set(spec.selectable()) - set(single) <= set(spec.omitted_when_null)


def test_directory_records_carry_their_account_and_services_their_localized_name(small):
    people = small("people")
    assert 0.22 < sum("account" in row for row in people) / len(people) < 0.38
    assert {"account" in row for row in small("sites")} == {True, False}
    for collection in ("teams", "cis", "time_entries"):
        assert not any("account" in row for row in small(collection))
    services = small("services")
    assert all(row["localized_name"] == row["name"] for row in services)
    assert "localized_name" not in SPECS["services"].fields  # returned, not selectable


def test_values_have_the_documented_shapes(small):
    people = small("people")
    assert {row["send_email_notifications"] for row in people} == {
        "always",
        "when_offline",
        "never",
    }
    costs = [row["cost_per_hour"] for row in people if row["cost_per_hour"]]
    assert costs and all(isinstance(cost, str) and "." in cost for cost in costs)
    currencies = {row["cost_per_hour_currency"] for row in people} - {None}
    assert currencies and all(code == code.lower() for code in currencies)
    cis = small("cis")
    values = [row for row in cis if row["purchase_value"]]
    assert values and all(isinstance(row["purchase_value"], str) for row in values)
    assert all(row["purchase_value_currency"].islower() for row in values)
    dates = [row[name] for row in cis for name in ("in_use_since", "warranty_expiry_date")]
    dated = [value for value in dates if value]
    assert dated and all(DATE.match(value) for value in dated)
    for collection in NEW:
        for row in small(collection):
            assert utc(row["updated_at"]) >= utc(row["created_at"])
            for name in ("created_at", "updated_at"):
                assert not DATE.match(row[name])  # datetimes, not dates


def test_disabled_records_and_their_references():
    sim = Simulator(make_config(people=600, teams=200, sites=100, services=200))
    for collection in ("people", "teams", "sites", "services"):
        truth = sim.ground_truth(collection)
        share = sum(row["disabled"] for row in truth) / len(truth)
        assert 0.01 < share < 0.2, collection
    people = truth_by_id(sim, "people")
    managers = [row["manager"] for row in people.values() if row["manager"]]
    disabled = [ref for ref in managers if ref["id"] in people and people[ref["id"]]["disabled"]]
    assert disabled and all(ref["disabled"] is True for ref in disabled)


def test_soon_expiring_warranties_and_contracts(small):
    anchor = utc(ANCHOR).date()
    window = [str(anchor + timedelta(days=days)) for days in (1, 90)]

    def within(value):
        return value is not None and window[0] <= value <= window[1]

    assert any(within(row["warranty_expiry_date"]) for row in small("cis"))
    contracts = small("contracts")
    assert any(within(row["expiry_date"]) for row in contracts)
    assert {row["status"] for row in contracts} >= {"active", "expired"}
    for row in contracts:
        if row["status"] == "active":
            assert row["start_date"] <= str(anchor) <= row["expiry_date"]


def test_tie_blocks_in_the_big_new_collections():
    sim = Simulator(make_config())
    size = sim.config.effective_tie_block_size()
    for collection in ("people", "cis", "project_tasks", "time_entries"):
        stamps = [row["updated_at"] for row in sim.store.rows[collection].values()]
        assert max(stamps.count(stamp) for stamp in set(stamps)) >= size, collection


# --- references -----------------------------------------------------------------------------


@pytest.mark.parametrize("scale", ["tiny", "small"])
def test_references_resolve_except_a_small_dangling_share(scale, small):
    truth = small if scale == "small" else Truth(Simulator(make_config()))
    ids = {name: set(truth.store.rows[name]) for name in DATA_COLLECTIONS}
    resolved = dangling = 0
    for collection in DATA_COLLECTIONS:
        for record in truth(collection):
            for field, target, reference in served_references(collection, record):
                if reference["id"] in ids[target]:
                    resolved += 1
                    continue
                assert reference["id"] >= DANGLING_FLOOR, (collection, field, reference)
                assert collection in NEW or target == "organizations", (collection, field)
                dangling += 1
    assert 0.01 < dangling / (resolved + dangling) < 0.06


def test_references_render_the_current_target(small):
    people, teams = small.by_id("people"), small.by_id("teams")
    products, orgs = small.by_id("products"), small.by_id("organizations")
    for task in small("project_tasks")[:300]:
        team = task["team"]
        if team and team["id"] in teams:
            expected = {"id": team["id"], "name": teams[team["id"]]["name"]}
            if teams[team["id"]]["sourceID"]:
                expected["sourceID"] = teams[team["id"]]["sourceID"]
            if teams[team["id"]]["disabled"]:
                expected["disabled"] = True
            assert team == expected | {"nodeID": team["nodeID"]}
    for person in list(people.values())[:300]:
        organization = person["organization"]
        if organization["id"] in orgs:
            assert organization["name"] == orgs[organization["id"]]["name"]
            assert organization.get("account") == orgs[organization["id"]].get("account")
    for ci in small("cis")[:300]:
        product = products[ci["product"]["id"]]
        assert list(ci["product"])[-2:] == ["nodeID", "brand"]  # captured order
        assert (ci["product"]["category"], ci["product"]["brand"]) == (
            product["category"],
            product["brand"],
        )
        assert ci["rule_set"] == product["rule_set"]


def references_to(target: str, record_id: int, sim) -> dict:
    """{(collection, record id): [references to the target record]} over every collection."""
    found = {}
    for collection in DATA_COLLECTIONS:
        for record in sim.ground_truth(collection):
            refs = [
                reference
                for _, name, reference in served_references(collection, record)
                if name == target and reference["id"] == record_id
            ]
            if refs:
                found[(collection, record["id"])] = (record["updated_at"], refs)
    return found


def test_a_renamed_person_shows_in_every_reference_at_once(api, sim):
    """The real API renders a reference from the record it names: a rename shows everywhere
    at once, although no referencing record's updated_at moves."""
    managers = [row["manager"]["id"] for row in sim.ground_truth("projects") if row["manager"]]
    person_id = max(set(managers), key=managers.count)
    before = references_to("people", person_id, sim)
    assert {collection for collection, _ in before} >= {"projects", "people"}
    sim.update_rows("people", ids=[person_id], changes={"name": "Renamed Person"})
    sim.set_disabled("people", person_id, True)
    after = references_to("people", person_id, sim)
    assert after.keys() == before.keys()
    for key, (updated_at, refs) in after.items():
        assert updated_at == before[key][0]
        assert all(ref["name"] == "Renamed Person" and ref["disabled"] for ref in refs)
    served = api.get("/people", {"per_page": 100, "name": "Renamed Person"}).json()
    assert [row["id"] for row in served] == [person_id]


def test_managers_form_a_tree_several_levels_deep(small):
    people = {row_id: row for row_id, row in small.store.rows["people"].items()}
    deepest = 0
    for person_id in people:
        seen, current = set(), person_id
        while current in people and people[current]["manager"]:
            assert current not in seen  # no cycles
            seen.add(current)
            current = people[current]["manager"]["id"]
        deepest = max(deepest, len(seen))
    assert deepest >= 4


def test_services_and_instances_point_at_existing_records(small):
    orgs, teams = set(small.store.rows["organizations"]), set(small.store.rows["teams"])
    services = small("services")
    assert any("account" in row["provider"] for row in services)  # directory providers
    resolved = [row for row in services if row["provider"]["id"] in orgs]
    assert len(resolved) / len(services) > 0.9
    for row in services:
        team = row["support_team"]
        assert team is None or team["id"] in teams or team["id"] >= DANGLING_FLOOR
    service_ids = set(small.store.rows["services"])
    assert all(row["service"]["id"] in service_ids for row in small("service_instances"))


# --- projects, phases, tasks and time ------------------------------------------------------


def test_phases_belong_to_their_tasks_project(small):
    phases = small.store.phases
    projects = small.store.rows["projects"]
    phase_keys = ["completed_at", "created_at", "id", "name", "position", "started_at"]
    phase_keys += ["status", "updated_at", "nodeID"]
    for task in small("project_tasks"):
        phase, project = task["phase"], task["project"]
        assert project["id"] in projects
        assert list(project) == ["id", "subject"] + ["sourceID"] * ("sourceID" in project) + [
            "nodeID"
        ]
        assert list(phase) == phase_keys
        assert phases[phase["id"]]["project"] == project["id"]
        if phase["status"] == "registered":
            assert task["status"] == "registered" and phase["started_at"] is None
    by_project = {}
    for phase in phases.values():
        by_project.setdefault(phase["project"], []).append(phase)
    for project_id, project in projects.items():
        own = sorted(by_project[project_id], key=lambda phase: phase["position"])
        assert 3 <= len(own) <= 5 and [p["position"] for p in own] == list(range(1, len(own) + 1))
        assert own[0]["name"] == "Initiation" and own[-1]["name"] == "Closure"
        if project["status"] == "completed":
            assert {phase["status"] for phase in own} == {"completed"}


def test_unfinished_tasks_may_have_missed_their_deadline(small):
    tasks = small("project_tasks")
    anchor = utc(ANCHOR)
    late = [
        t for t in tasks if t["deadline"] and not t["finished_at"] and utc(t["deadline"]) < anchor
    ]
    assert late
    assert all(t["planned_effort"] <= t["planned_duration"] for t in tasks)
    assert all(t["finished_at"] for t in tasks if t["status"] in ("completed", "approved"))


def test_time_entries_agree_with_their_person_task_and_project(small):
    people = small.store.rows["people"]
    tasks = small.store.rows["project_tasks"]
    projects = small.store.rows["projects"]
    kinds = set()
    for entry in small("time_entries"):
        person = people[entry["person"]["id"]]
        assert entry["organization"]["id"] == person["organization"]["id"]
        work = {key for key in WORK_KEYS if entry.get(key)}
        assert len(work) == 1, entry
        kinds |= work
        assert DATE.match(entry["date"])
        if "project_task" in entry:
            assert entry["time_allocation"] is None
            project = projects[tasks[entry["project_task"]["id"]]["project"]["id"]]
            assert (entry["customer"] or {}).get("id") == (project["customer"] or {}).get("id")
            assert (entry["service"] or {}).get("id") == (project["service"] or {}).get("id")
    assert {"project_task", "time_allocation", "request"} <= kinds
    deleted = [entry for entry in small("time_entries") if entry["deleted"]]
    assert deleted


def test_time_entries_leave_out_empty_work_pointers(api, sim):
    fields = "request,problem,project_task,task,time_allocation"
    rows = api.get("/time_entries", {"per_page": 100, "fields": fields}).json()
    assert any("request" in row for row in rows) and any("project_task" in row for row in rows)
    for row in rows:
        assert all(
            row[key] is not None
            for key in ("request", "problem", "project_task", "task")
            if key in row
        )
        assert "time_allocation" in row  # not a pointer the docs show missing: null stays


# --- filters, sorts and the incremental walk -------------------------------------------


@pytest.mark.parametrize("collection", DATA_COLLECTIONS)
def test_inclusive_updated_at_walk(api, sim, collection):
    truth = sim.ground_truth(collection)
    moments = sorted(utc(row["updated_at"]) for row in truth)
    pivot = moments[len(moments) // 2]
    since = pivot.strftime("%Y-%m-%dT%H:%M:%SZ")
    params = {"per_page": 7, "sort": "updated_at,id", "updated_at": f">={since}"}
    rows, responses = api.walk(f"/{collection}", params)
    expected = sorted(
        (utc(row["updated_at"]), row["id"]) for row in truth if utc(row["updated_at"]) >= pivot
    )
    assert [(utc(row["updated_at"]), row["id"]) for row in rows] == expected
    assert len(responses) > 1 or len(expected) <= 7


@pytest.mark.parametrize("collection", NEW)
def test_every_documented_filter_and_sort_is_accepted(api, collection):
    spec = SPECS[collection]
    for name in spec.filterable:
        value = "true" if name in spec.boolean_filters else "!"
        response = api.get(f"/{collection}", {name: value})
        assert response.status_code == 200, (name, response.text)
    for name in spec.sortable:
        assert api.get(f"/{collection}", {"sort": f"-{name}"}).status_code == 200, name
    assert api.get(f"/{collection}", {"sort": "remarks"}).status_code == 400


def test_date_and_reference_filters_on_time_entries(api, sim):
    truth = sim.ground_truth("time_entries")
    days = sorted({row["date"] for row in truth})
    low, high = days[len(days) // 4], days[3 * len(days) // 4]

    def ids(**params):
        params.setdefault("per_page", 100)
        response = api.get("/time_entries", params)
        assert response.status_code == 200, response.text
        return sorted(row["id"] for row in response.json())

    assert ids(date=f">={low}<{high}") == sorted(r["id"] for r in truth if low <= r["date"] < high)
    assert ids(date=low) == sorted(r["id"] for r in truth if r["date"] == low)
    person = truth[0]["person"]["id"]
    assert ids(person=str(person)) == sorted(r["id"] for r in truth if r["person"]["id"] == person)
    assert api.get("/time_entries", {"date": ">=yesterday"}).status_code == 400
    assert ids(deleted="true") == sorted(r["id"] for r in truth if r["deleted"])


def test_predefined_filters_of_the_new_collections(api, sim):
    def ids(path):
        rows, _ = api.walk(path, {"per_page": 100})
        return sorted(row["id"] for row in rows)

    people = sim.ground_truth("people")
    assert ids("/people/disabled") == [r["id"] for r in people if r["disabled"]]
    assert ids("/people/directory") == [r["id"] for r in people if "account" in r]
    assert ids("/people/internal") == [r["id"] for r in people if not r["guest"]]
    cis = sim.ground_truth("cis")
    inactive = ("archived", "to_be_removed", "lost_or_stolen", "removed")
    assert ids("/cis/inactive") == [r["id"] for r in cis if r["status"] in inactive]
    assert ids("/cis/active") == [r["id"] for r in cis if r["status"] not in inactive]
    contracts = sim.ground_truth("contracts")
    assert ids("/contracts/active") == [r["id"] for r in contracts if r["status"] == "active"]
    tasks = sim.ground_truth("project_tasks")
    open_ids = [r["id"] for r in tasks if not r["finished_at"]]
    assert ids("/project_tasks/open") == open_ids
    assert ids("/project_tasks?state=finished") == sorted(
        set(r["id"] for r in tasks) - set(open_ids)
    )
    assert api.get("/time_entries/open").status_code == 404  # time entries have none
    assert api.get("/teams/enabled").status_code == 200


def test_inserted_records_reference_existing_ones():
    with Simulator(make_config()) as sim:
        ids = {name: set(sim.store.rows[name]) for name in DATA_COLLECTIONS}
        for collection in NEW:
            new_ids = sim.insert_rows(collection, 3)
            assert min(new_ids) > max(ids[collection])
            for record in sim.ground_truth(collection):
                if record["id"] not in new_ids:
                    continue
                assert record["created_at"] == record["updated_at"]
                for _, target, reference in served_references(collection, record):
                    known = reference["id"] in sim.store.rows[target]
                    assert known or reference["id"] >= DANGLING_FLOOR
        project = sim.insert_rows("projects", 1)[0]
        assert {
            phase["status"] for phase in sim.store.phases.values() if phase["project"] == project
        } == {"registered"}
        assert Api(sim).get("/project_tasks", {"per_page": 1}).status_code == 200


def test_fewer_people_than_the_first_release_references():
    """With people=0 the old references dangle (rendered as stored) and an inserted person
    never takes over one of their ids."""
    with Simulator(make_config(people=0)) as sim:
        managers = [row["manager"] for row in sim.ground_truth("projects") if row["manager"]]
        assert managers and all("name" in ref for ref in managers)
        (new_id,) = sim.insert_rows("people", 1)
        assert new_id > max(person["id"] for person in sim.store.generator.people)
