"""Filter operators and range forms of xurrent_api.md §3.1 on id, created_at and updated_at."""

from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest


def utc(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def ids(api, **params):
    params.setdefault("per_page", 100)
    response = api.get("/products", params)
    assert response.status_code == 200, response.text
    return sorted(row["id"] for row in response.json())


@pytest.fixture
def truth(sim):
    return sim.ground_truth("products")


def test_id_operators(api, truth):
    all_ids = [row["id"] for row in truth]
    a, b, c = all_ids[3], all_ids[10], all_ids[20]
    assert ids(api, id=str(a)) == [a]
    assert ids(api, id=f"!{a}") == [i for i in all_ids if i != a]
    assert ids(api, id=f"{a},{b},{c}") == [a, b, c]
    assert ids(api, ids=f"{a},{b}") == [a, b]
    assert ids(api, id=f"!{a},{b}") == [i for i in all_ids if i not in (a, b)]
    assert ids(api, id=f"<{b}") == [i for i in all_ids if i < b]
    assert ids(api, id=f"<={b}") == [i for i in all_ids if i <= b]
    assert ids(api, id=f">{b}") == [i for i in all_ids if i > b]
    assert ids(api, id=f">={b}") == [i for i in all_ids if i >= b]
    assert ids(api, id=f">{a}<{c}") == [i for i in all_ids if a < i < c]
    assert ids(api, id=f">={a}<={c}") == [i for i in all_ids if a <= i <= c]
    assert ids(api, id=f">={a}<{c}") == [i for i in all_ids if a <= i < c]


def test_empty_and_present(api, truth):
    assert ids(api, id="") == []
    assert ids(api, id="!") == [row["id"] for row in truth]


@pytest.mark.parametrize("field", ["created_at", "updated_at"])
def test_datetime_operators_with_offsets(api, truth, field):
    moments = sorted({utc(row[field]) for row in truth})
    pivot, upper = moments[len(moments) // 3], moments[2 * len(moments) // 3]

    def expect(check):
        return sorted(row["id"] for row in truth if check(utc(row[field])))

    zulu = pivot.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    plus = pivot.astimezone(timezone(timedelta(hours=2))).isoformat()
    minus = pivot.astimezone(timezone(timedelta(hours=-5))).isoformat()
    top = upper.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    for value in (zulu, plus, minus):
        assert ids(api, **{field: f">={value}"}) == expect(lambda t: t >= pivot)
        assert ids(api, **{field: f">{value}"}) == expect(lambda t: t > pivot)
        assert ids(api, **{field: f"<{value}"}) == expect(lambda t: t < pivot)
        assert ids(api, **{field: f"<={value}"}) == expect(lambda t: t <= pivot)
        assert ids(api, **{field: value}) == expect(lambda t: t == pivot)
        assert ids(api, **{field: f"!{value}"}) == expect(lambda t: t != pivot)
    assert ids(api, **{field: f">{zulu}<{top}"}) == expect(lambda t: pivot < t < upper)
    assert ids(api, **{field: f">={plus}<={top}"}) == expect(lambda t: pivot <= t <= upper)
    assert ids(api, **{field: f">={zulu}<{top}"}) == expect(lambda t: pivot <= t < upper)


def test_raw_plus_in_offset_is_400(api, sim):
    url = sim.api_url + "/products?updated_at=>=2026-01-01T10:00:00+01:00"
    response = api.get(url)
    assert response.status_code == 400
    encoded = sim.api_url + "/products?updated_at=" + quote(">=2026-01-01T10:00:00+01:00")
    assert api.get(encoded).status_code == 200


def test_filters_combine_with_and(api, truth):
    pivot = sorted(row["id"] for row in truth)[30]
    result = ids(api, id=f">{pivot}", disabled="false")
    assert result == sorted(r["id"] for r in truth if r["id"] > pivot and not r["disabled"])


def test_disabled_filter(api, truth):
    assert ids(api, disabled="true") == sorted(r["id"] for r in truth if r["disabled"])
    assert ids(api, disabled="false") == sorted(r["id"] for r in truth if not r["disabled"])
    bad = api.get("/products", {"disabled": "true,false"})
    assert bad.json() == {"message": "Cannot filter on a set of values for field 'disabled'"}
    ranged = api.get("/products", {"disabled": ">true"})
    assert ranged.status_code == 400 and "does not support" in ranged.json()["message"]


def test_unknown_and_unfilterable(api):
    unknown = api.get("/products", {"colour": "red"})
    assert unknown.status_code == 400 and unknown.json() == {"message": "Unknown fields: colour"}
    blocked = api.get("/products", {"brand": "APC"})
    assert blocked.json() == {"message": "Filtering not allowed on fields: brand"}


def test_invalid_values_are_400(api):
    assert api.get("/products", {"updated_at": ">=yesterday"}).status_code == 400
    assert api.get("/products", {"id": ">abc"}).status_code == 400
    assert api.get("/products", {"id": "<5>3"}).status_code == 400


def test_reference_and_enum_filters(api, truth):
    team = next(row["support_team"]["id"] for row in truth if row["support_team"])
    expected = sorted(r["id"] for r in truth if (r["support_team"] or {}).get("id") == team)
    assert ids(api, support_team=str(team)) == expected
    assert ids(api, support_team_id=str(team)) == expected
    assert ids(api, support_team="") == sorted(r["id"] for r in truth if not r["support_team"])
    category = truth[0]["category"]
    assert ids(api, category=category) == sorted(
        r["id"] for r in truth if r["category"] == category
    )
