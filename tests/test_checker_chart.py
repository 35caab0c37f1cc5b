"""The response-time chart: SVG drawn on the server from rollups, public for public components."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
import time_machine

from checker.models import CheckKind, CheckResult, RollupPeriod
from checker.rollups import roll_up
from tests.checker.factories import make_check
from tests.factories import make_component

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.checker.urls")]

NOW = dt.datetime(2026, 3, 2, 12, 30, tzinfo=dt.UTC)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def measured(check, *, hours_ago: int, latencies: list[int]) -> None:
    start = (NOW - dt.timedelta(hours=hours_ago)).replace(minute=0)
    CheckResult.objects.bulk_create(
        CheckResult(owner=check, at=start + dt.timedelta(minutes=n), level=0, latency_ms=ms)
        for n, ms in enumerate(latencies)
    )
    roll_up(RollupPeriod.HOUR, start)


def chart_of(client, component, query: str = ""):
    return client.get(f"/components/{component.public_id}/response-time.svg{query}")


def test_it_draws_the_mean_and_p95_of_each_hour(client):
    api = make_component("API")
    check = make_check(api, name="the API")
    for hours_ago in (1, 2, 5):
        measured(check, hours_ago=hours_ago, latencies=[100, 110, 120, 900])
    response = chart_of(client, api)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    assert response["Cache-Control"] == "public, max-age=300"
    root = ET.fromstring(response.content)
    assert root.findtext(f"{SVG}title") == "Response time of the API"
    paths = {p.get("class"): p.get("d", "") for p in root.iter(f"{SVG}path")}
    mean, p95 = paths["mean s1"], paths["p95 s1"]
    # Hours 5, 2 and 1 ago: a lone point, then a segment of two (a gap breaks the line).
    assert mean.count("M") == 2 and mean.count("L") == 1
    assert p95.count("M") == 2
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert "1 s" in labels  # the axis reaches just past the 900 ms p95


def test_it_says_so_when_nothing_was_measured_yet(client):
    api = make_component()
    make_check(api)
    response = chart_of(client, api)
    assert b"No response times measured yet" in response.content
    ET.fromstring(response.content)


def test_the_ninety_day_range_reads_daily_rollups(client):
    api = make_component()
    check = make_check(api)
    day = (NOW - dt.timedelta(days=3)).replace(hour=0, minute=0)
    CheckResult.objects.create(owner=check, at=day + dt.timedelta(hours=1), level=0, latency_ms=40)
    roll_up(RollupPeriod.DAY, day)
    daily = chart_of(client, api, "?range=90d")
    hourly = chart_of(client, api, "?range=24h")
    assert b'class="mean s1" d="M' in daily.content
    assert b"No response times measured yet" in hourly.content


def test_a_hidden_component_has_no_public_chart(client):
    hidden = make_component(is_public=False)
    make_check(hidden)
    assert chart_of(client, hidden).status_code == 404


def test_upstream_checks_are_not_charted(client):
    payments = make_component("Payments")
    upstream = make_check(payments, kind=CheckKind.UPSTREAM)
    measured(upstream, hours_ago=1, latencies=[300])
    assert b"No response times measured yet" in chart_of(client, payments).content


def test_visitors_can_only_read_it(client):
    api = make_component()
    assert client.post(f"/components/{api.public_id}/response-time.svg").status_code == 405
