"""``update_rows(changes=...)``: a chosen user edit, served over HTTP like any other edit."""

import pytest


def test_changes_replace_the_default_edit_and_bump_updated_at(api, sim):
    before = {row["id"]: row for row in sim.ground_truth("products")}
    chosen = sorted(before)[:3]
    changed = sim.update_rows("products", ids=chosen, changes={"category": None, "brand": ""})
    assert changed == chosen
    after = {row["id"]: row for row in sim.ground_truth("products")}
    served = {
        row["id"]: row
        for row in api.get(
            "/products", {"per_page": 100, "fields": "category,brand,useful_life"}
        ).json()
    }
    for product_id in chosen:
        assert after[product_id]["category"] is None and after[product_id]["brand"] == ""
        assert served[product_id]["category"] is None and served[product_id]["brand"] == ""
        # Only the requested change: the default edit (useful_life) did not happen.
        assert after[product_id]["useful_life"] == before[product_id]["useful_life"]
        assert after[product_id]["updated_at"] != before[product_id]["updated_at"]
    untouched = sorted(before)[3]
    assert after[untouched] == before[untouched]


@pytest.mark.parametrize("field", ["nope", "id", "created_at", "updated_at"])
def test_changes_refuse_unknown_and_protected_fields(sim, field):
    with pytest.raises(ValueError, match=field):
        sim.update_rows("projects", count=1, changes={field: None})
