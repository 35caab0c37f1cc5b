"""A checker worker's tick end to end: a real endpoint, the clock moved by time-machine,
thresholds, incidents, and politeness towards hosts that ask us to slow down."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from checker import tasks
from checker.models import CheckResult, CheckState, HostBackoff
from incidents.models import Incident
from tests.checker.factories import make_check
from tests.checker.servers import Reply, local_server
from tests.factories import make_component

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 4, 44, tzinfo=dt.UTC)
# Ticks 70 s apart: a 60 s check (± its jitter) is due at every one of them.
STEP = dt.timedelta(seconds=70)


@pytest.fixture
def server(settings):
    settings.CHECKER_TICK_SECONDS = 1
    with local_server() as running:
        running.routes["/health"] = Reply()
        yield running


@pytest.fixture
def api():
    with time_machine.travel(T0 - dt.timedelta(hours=1), tick=False):
        return make_component("API")


def new_check(api, **fields):
    with time_machine.travel(T0 - dt.timedelta(hours=1), tick=False):
        return make_check(api, **fields)


def tick(step: int) -> int:
    with time_machine.travel(T0 + step * STEP, tick=False):
        return tasks.run_due_checks()


def test_an_endpoint_that_fails_opens_an_incident_and_its_recovery_resolves_it(server, api):
    check = new_check(api, name="the API", url=server.url("/health"))
    assert tick(0) == 1
    assert CheckState.objects.get(owner=check).state == "up"

    server.routes["/health"] = Reply(status=500)
    tick(1)
    tick(2)
    assert not Incident.objects.exists()
    tick(3)
    incident = Incident.objects.get()
    assert incident.updates.get().body == "Since 04:45 UTC, checks of the API fail: HTTP 500."
    assert CheckState.objects.get(owner=check).last_error == (
        "HTTP 500 Internal Server Error (expected 200-299)"
    )
    api.refresh_from_db()
    assert api.status == "major_outage"

    server.routes["/health"] = Reply()
    tick(4)
    tick(5)
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert incident.updates.latest("display_at", "id").body.startswith(
        "From 04:45 to 04:48 UTC (3 minutes), "
    )
    api.refresh_from_db()
    assert api.status == "operational"
    assert server.hits("/health") == 6
    assert CheckResult.objects.filter(owner=check).count() == 6


def test_a_host_that_answers_429_is_left_alone_until_it_allows(server, api):
    server.routes["/busy"] = Reply(status=429, headers={"Retry-After": "600"})
    check = new_check(api, url=server.url("/busy"))
    tick(0)
    backoff = HostBackoff.objects.get(host="127.0.0.1")
    assert backoff.until == T0 + dt.timedelta(seconds=600)
    tick(1)
    tick(2)
    assert server.hits("/busy") == 1
    state = CheckState.objects.get(owner=check)
    assert state.state == "unknown"
    assert state.last_error.startswith("not probed: 127.0.0.1 asked us to wait until")
    assert not CheckResult.objects.exists()
    tick(9)
    assert server.hits("/busy") == 2


def test_without_retry_after_the_backoff_doubles(server, api):
    server.routes["/busy"] = Reply(status=429)
    new_check(api, url=server.url("/busy"))
    tick(0)
    assert HostBackoff.objects.get().until == T0 + dt.timedelta(seconds=60)
    tick(1)
    backoff = HostBackoff.objects.get()
    assert backoff.strikes == 2
    assert backoff.until == T0 + STEP + dt.timedelta(seconds=120)


def test_a_503_with_retry_after_delays_the_next_probe(server, api):
    server.routes["/maint"] = Reply(status=503, headers={"Retry-After": "240"})
    check = new_check(api, url=server.url("/maint"), interval_seconds=60)
    tick(0)
    assert CheckState.objects.get(owner=check).next_run_at >= T0 + dt.timedelta(seconds=240)
    assert CheckResult.objects.get().level == 2


def test_the_rollup_and_prune_tasks_run(server, api):
    check = new_check(api, url=server.url("/health"))
    tick(0)
    with time_machine.travel(T0 + dt.timedelta(minutes=10), tick=False):
        assert tasks.roll_up_results()["hours"] > 0
    assert check.rollups.count() == 1
    with time_machine.travel(T0 + dt.timedelta(days=8), tick=False):
        assert tasks.prune_results() == 1
    assert check.rollups.count() == 1
