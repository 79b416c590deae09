"""The hostile switches: each one off by default, and each doing what simulator/hostile.py says
when on, seen from a plain HTTP client."""

import json
import time
from email.utils import parsedate_to_datetime

import pytest
from testkit import Api, make_config

from simulator import Simulator
from simulator.cli import build_parser, config_from_args
from simulator.hostile import RECORD_FAULTS, fault_applies, parse_record_faults
from simulator.schema import SPECS

PAGE = {"per_page": 5, "sort": "updated_at,id", "fields": "name,useful_life,service"}


def first_page(api, **extra):
    return api.get("/products", {**PAGE, **extra})


def test_every_hostile_switch_is_off_by_default(sim, api):
    config = sim.config
    assert (config.content_type, config.retry_after_text, config.record_faults) == (
        None,
        None,
        {},
    )
    assert (config.burst_429_budget, config.clock_offset_seconds) == ("zero", 0.0)
    response = first_page(api)
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "\\ud83d" not in response.text


def test_odd_records_change_pages_but_not_the_ground_truth(sim, api):
    ids = [row["id"] for row in first_page(api).json()]
    faults = dict(zip((f"products/{i}" for i in ids), ("lone_surrogate", "no_id")))
    faults[f"products/{ids[2]}"] = "text_for_reference"
    sim.configure(record_faults=faults)
    response = first_page(api)
    assert b"\\ud83d" in response.content  # a JSON escape of half an emoji, alone
    rows = response.json()
    assert rows[0]["name"].endswith("\ud83d")
    assert "id" not in rows[1]
    assert rows[2]["service"] == "see the service desk"
    truth = {row["id"]: row for row in sim.ground_truth("products")}
    assert not truth[ids[0]]["name"].endswith("\ud83d") and truth[ids[2]]["service"]


def test_record_faults_are_named_and_checked():
    faults = parse_record_faults("products/5003:no_id, archive/2:broken_reference")
    assert faults == {"products/5003": "no_id", "archive/2": "broken_reference"}
    assert set(RECORD_FAULTS) >= {"lone_surrogate", "no_updated_at", "bad_decimal"}
    for wrong in ("products/x:no_id", "products/1:teapot", "sites/201:bad_decimal"):
        with pytest.raises(ValueError):
            parse_record_faults(wrong)


@pytest.mark.parametrize(
    "collection", [name for name in SPECS if name not in ("archive", "trash")]
)
def test_every_odd_record_kind_that_applies_changes_a_record_of_every_collection(
    sim, api, collection
):
    """A record of every collection served with each kind that names a field there: the walk
    answers 200 and that record differs from how it is served without the fault."""
    record_id = min(row["id"] for row in sim.ground_truth(collection))
    params = {"per_page": 100, "fields": ",".join(SPECS[collection].selectable())}
    kinds = [kind for kind in RECORD_FAULTS if fault_applies(kind, collection)]
    assert {"text_for_number", "text_for_reference", "object_for_text"} <= set(kinds)

    def served() -> dict:
        rows, _ = api.walk(f"/{collection}", params)
        return next(row for row in rows if row.get("id", record_id) == record_id)

    plain = served()
    for kind in kinds:
        sim.configure(record_faults={f"{collection}/{record_id}": kind})
        assert served() != plain, kind


def test_a_trickled_body_arrives_whole(sim, api):
    sim.configure(fault_schedule={2: "trickle"}, trickle_bytes=512, trickle_interval_seconds=0)
    expected = first_page(api).content
    assert first_page(api).content == expected
    assert sim.stats()["faults"] == {"trickle": 1}


def test_an_html_page_answers_200(sim, api):
    sim.configure(fault_schedule={1: "html"})
    response = first_page(api)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")


def test_a_lying_content_type_leaves_the_body_as_it_is(sim, api):
    expected = first_page(api).json()
    sim.configure(content_type="text/html; charset=iso-8859-1")
    response = first_page(api)
    assert response.headers["Content-Type"] == "text/html; charset=iso-8859-1"
    assert json.loads(response.content) == expected


def test_an_empty_page_links_to_where_it_should_have_started(sim, api):
    expected = first_page(api).json()
    sim.configure(fault_schedule={2: "empty_page"})
    empty = first_page(api)
    assert empty.json() == []
    following = api.get(empty.links["next"]["url"])
    assert following.json() == expected


def test_an_oversize_page_holds_the_next_one_too(sim, api):
    two_pages = first_page(api).json() + api.get(first_page(api).links["next"]["url"]).json()
    sim.configure(fault_schedule={4: "oversize_page"})
    oversize = first_page(api)
    assert oversize.json() == two_pages  # ten rows for per_page=5
    assert api.get(oversize.links["next"]["url"]).json()[0]["id"] != two_pages[-1]["id"]


def test_a_repeated_cursor_links_to_the_request_itself(sim, api):
    second_url = first_page(api).links["next"]["url"]
    sim.configure(fault_schedule={2: "repeat_cursor"})
    second = api.get(second_url)
    assert second.links["next"]["url"] == second_url


def test_a_repeated_page_looks_new_but_answers_the_same_rows(sim, api):
    sim.configure(fault_schedule={1: "repeat_page"})
    page = first_page(api)
    again = api.get(page.links["next"]["url"])
    assert "_sim=" in page.links["next"]["url"]
    assert again.json() == page.json()


@pytest.mark.parametrize("text", ["soon", "", "-5", "1.5", "NaN"])
def test_retry_after_text_replaces_every_429s_retry_after(text):
    config = make_config(rate_limit=True, burst_limit=1, burst_window_seconds=60)
    with Simulator(config) as sim:
        api = Api(sim)
        sim.configure(retry_after_text=text, fault_schedule={1: "429"})
        injected = api.get("/products")
        assert (injected.status_code, injected.headers["Retry-After"]) == (429, text)
        assert api.get("/products").status_code == 200
        limited = api.get("/products")  # the limiter's own burst refusal
        assert (limited.status_code, limited.headers["Retry-After"]) == (429, text)
        assert limited.headers["X-RateLimit-Remaining"] == "0"  # burst_429_budget="zero"


def test_a_burst_429_can_report_the_hour_as_it_is():
    config = make_config(rate_limit=True, burst_limit=1, burst_window_seconds=60)
    with Simulator(config) as sim:
        api = Api(sim)
        sim.configure(burst_429_budget="actual")
        assert api.get("/products").status_code == 200
        limited = api.get("/products")
        assert limited.status_code == 429
        assert limited.headers["X-RateLimit-Remaining"] == "3599"
        sim.configure(fault_schedule={3: "429"})
        injected = api.get("/products")
        assert injected.headers["X-RateLimit-Remaining"] == "3599"
        assert injected.headers["Retry-After"] == "1"


@pytest.mark.parametrize("offset", [600, -3 * 3600])
def test_a_skewed_clock_shows_in_the_date_header_and_the_data(offset):
    with Simulator(make_config(anchor=None, clock_offset_seconds=offset)) as sim:
        response = Api(sim).get("/products")
        server_now = parsedate_to_datetime(response.headers["Date"]).timestamp()
        assert abs(server_now - (time.time() + offset)) < 5
        assert abs(sim.anchor - (time.time() + offset)) < 5


def test_the_command_line_sets_every_hostile_switch():
    argv = ["--trickle-bytes", "4", "--trickle-interval", "0.5", "--content-type", "text/html"]
    argv += ["--retry-after-text", "soon", "--burst-429-budget", "actual"]
    argv += ["--clock-offset", "-600", "--record-faults", "products/5003:no_id"]
    argv += ["--fault-schedule", "3:trickle,4:repeat_cursor"]
    config = config_from_args(build_parser().parse_args(argv))
    assert (config.trickle_bytes, config.trickle_interval_seconds) == (4, 0.5)
    assert (config.content_type, config.retry_after_text) == ("text/html", "soon")
    assert (config.burst_429_budget, config.clock_offset_seconds) == ("actual", -600)
    assert config.record_faults == {"products/5003": "no_id"}
    assert config.fault_schedule == {3: "trickle", 4: "repeat_cursor"}
