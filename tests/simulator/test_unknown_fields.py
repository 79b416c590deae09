"""unknown_fields: a server version that lacks some fields (a real 2022 product record has no
workflow_template, workflow_manager or recurrence)."""

import pytest
from testkit import Api, make_config

from simulator import Simulator
from simulator.schema import SPECS

OLD_SERVER = frozenset({"products.workflow_template", "products.workflow_manager", "recurrence"})


@pytest.fixture
def old_api():
    with Simulator(make_config(unknown_fields=OLD_SERVER)) as sim:
        client = Api(sim)
        yield client
        client.session.close()


def test_selecting_an_unknown_field_is_400_naming_them(old_api):
    response = old_api.get("/products", {"fields": "name,workflow_template,recurrence"})
    assert response.status_code == 400
    assert response.json() == {"message": "Unknown fields: workflow_template, recurrence"}
    both = old_api.get("/products", {"fields": "bogus,workflow_manager"})
    assert both.json() == {"message": "Unknown fields: bogus, workflow_manager"}


def test_records_leave_unknown_fields_out(old_api):
    sim = old_api.sim
    missing = {"workflow_template", "workflow_manager", "recurrence"}
    known = [name for name in SPECS["products"].selectable() if name not in missing]
    rows = old_api.get("/products", {"per_page": 100, "fields": ",".join(known)}).json()
    assert rows and not any(missing & set(row) for row in rows)
    single = old_api.get(f"/products/{rows[0]['id']}").json()
    assert not missing & set(single)
    assert "brand" in single and "useful_life" in single
    assert not any(missing & set(row) for row in sim.ground_truth("products"))


def test_unknown_fields_are_scoped_and_filters_reject_them(old_api):
    assert old_api.get("/projects", {"fields": "subject,manager"}).status_code == 200
    response = old_api.get("/products", {"workflow_manager": "5"})
    assert response.status_code == 400
    assert response.json() == {"message": "Unknown fields: workflow_manager"}


def test_unknown_fields_switch_at_runtime(api, sim):
    assert api.get("/products", {"fields": "workflow_template"}).status_code == 200
    sim.configure(unknown_fields={"workflow_template"})
    assert api.get("/products", {"fields": "workflow_template"}).status_code == 400
    assert "workflow_template" not in sim.ground_truth("products")[0]
    sim.configure(unknown_fields=())
    assert "workflow_template" in sim.ground_truth("products")[0]
