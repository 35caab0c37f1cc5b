"""Flap damping: a target that keeps going down and up for seconds at a time is not an incident
a minute, while a real outage is announced as fast as before."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from checker.models import AutomatedIncident, Level
from incidents import services as incident_services
from incidents.models import EventKind, Incident, OutboxEvent
from tests.checker.factories import feed, make_check
from tests.factories import make_component

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 4, 44, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
MINUTE = dt.timedelta(minutes=1)
UP, DOWN = Level.UP, Level.DOWN


@pytest.fixture(autouse=True)
def before_the_outage():
    with time_machine.travel(T0 - dt.timedelta(hours=1), tick=False):
        yield


@pytest.fixture
def api():
    return make_component("API")


@pytest.fixture
def eager(api):
    """The quickest check there is: every 10 s, one failure or one success changes its state."""
    return make_check(
        api, name="the API", interval_seconds=10, failure_threshold=1, success_threshold=1
    )


def flap(check, *, down: int, up: int, until: dt.datetime, start: dt.datetime = T0) -> None:
    """Probe every 10 s from `start` to `until`: failing for `down` seconds, then passing for
    `up` seconds, and again."""
    at = start
    while at < until:
        offset = (at - start).total_seconds() % (down + up)
        feed(check, DOWN if offset < down else UP, at, error="HTTP 500")
        at += 10 * SECOND


def steady(check, level: int, *, start: dt.datetime, until: dt.datetime) -> None:
    at = start
    while at < until:
        feed(check, level, at, error="HTTP 500")
        at += 10 * SECOND


def announced(incident: Incident) -> list[str]:
    return list(
        OutboxEvent.objects.filter(incident=incident)
        .exclude(kind=EventKind.COMPONENT_STATUS_CHANGED)
        .order_by("id")
        .values_list("kind", flat=True)
    )


def test_a_target_flapping_every_20_seconds_for_5_minutes_opens_no_incident(api, eager):
    feed(eager, UP, T0 - 10 * SECOND)
    flap(eager, down=20, up=20, until=T0 + 5 * MINUTE)

    assert not Incident.objects.exists()
    assert not OutboxEvent.objects.exists()
    api.refresh_from_db()
    assert api.status == "operational"


def test_without_damping_the_same_flapping_opens_an_incident_a_flap(settings, api, eager):
    settings.CHECKER_MIN_OUTAGE_SECONDS = 0
    settings.CHECKER_REOPEN_SECONDS = 0
    feed(eager, UP, T0 - 10 * SECOND)
    flap(eager, down=20, up=20, until=T0 + 5 * MINUTE)

    assert Incident.objects.count() == 8


def test_flapping_after_the_minimum_outage_reopens_one_incident(api, eager):
    feed(eager, UP, T0 - 10 * SECOND)
    flap(eager, down=70, up=20, until=T0 + 5 * MINUTE)

    incident = Incident.objects.get()
    bodies = list(incident.updates.order_by("display_at", "id").values_list("body", flat=True))
    assert bodies[0] == "Since 04:44 UTC, checks of the API fail: HTTP 500."
    reopenings = [body for body in bodies if body.startswith("The problem is back")]
    assert len(reopenings) == 2
    assert reopenings[0] == (
        "The problem is back after the checks passed from 04:45 UTC.\n\n"
        "Since 04:45 UTC, checks of the API fail: HTTP 500."
    )
    # Opened, then resolved and reopened twice, and resolved: one incident, six updates.
    assert announced(incident) == [EventKind.INCIDENT_CREATED] + [EventKind.INCIDENT_UPDATED] * 5
    assert incident.status == "resolved"
    assert AutomatedIncident.objects.get().incident == incident


def test_a_reopened_incident_is_investigating_again_and_resolves_with_the_new_window(api, eager):
    feed(eager, UP, T0 - 10 * SECOND)
    steady(eager, DOWN, start=T0, until=T0 + 2 * MINUTE)
    steady(eager, UP, start=T0 + 2 * MINUTE, until=T0 + 3 * MINUTE)
    incident = Incident.objects.get()
    assert incident.status == "resolved"
    assert incident.resolved_at == T0 + 2 * MINUTE

    steady(eager, DOWN, start=T0 + 3 * MINUTE, until=T0 + 4 * MINUTE + SECOND)
    incident.refresh_from_db()
    assert incident.status == "investigating"
    assert incident.resolved_at is None
    assert incident.started_at == T0
    api.refresh_from_db()
    assert api.status == "major_outage"

    steady(eager, UP, start=T0 + 4 * MINUTE + 10 * SECOND, until=T0 + 5 * MINUTE)
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert incident.updates.latest("display_at", "id").body == (
        "From 04:47 to 04:48 UTC (1 minute), checks of the API failed: HTTP 500. They pass again."
    )
    assert Incident.objects.count() == 1


def test_a_failure_after_the_cool_down_opens_a_new_incident(settings, api, eager):
    settings.CHECKER_REOPEN_SECONDS = 120
    feed(eager, UP, T0 - 10 * SECOND)
    steady(eager, DOWN, start=T0, until=T0 + 2 * MINUTE)
    steady(eager, UP, start=T0 + 2 * MINUTE, until=T0 + 5 * MINUTE)
    steady(eager, DOWN, start=T0 + 5 * MINUTE, until=T0 + 7 * MINUTE)

    first, second = Incident.objects.order_by("started_at")
    assert first.status == "resolved"
    assert second.status == "investigating"
    assert second.started_at == T0 + 5 * MINUTE


def test_an_incident_staff_wrote_to_is_not_reopened(api, eager):
    feed(eager, UP, T0 - 10 * SECOND)
    steady(eager, DOWN, start=T0, until=T0 + 2 * MINUTE)
    steady(eager, UP, start=T0 + 2 * MINUTE, until=T0 + 3 * MINUTE)
    first = Incident.objects.get()
    with time_machine.travel(T0 + 3 * MINUTE, tick=False):
        incident_services.incident_post_update(
            incident=first, status="resolved", body="The load balancer was replaced."
        )
    steady(eager, DOWN, start=T0 + 3 * MINUTE, until=T0 + 5 * MINUTE)

    first.refresh_from_db()
    assert first.status == "resolved"
    assert Incident.objects.count() == 2


def test_a_real_outage_is_announced_when_the_default_check_confirms_it(settings, api):
    """A check with the default interval and thresholds has failed for two minutes when it
    confirms: the minimum outage delays nothing."""
    check = make_check(api, name="the API")
    feed(check, UP, T0 - MINUTE)
    feed(check, DOWN, T0, error="HTTP 500")
    feed(check, DOWN, T0 + MINUTE, error="HTTP 500")
    assert not Incident.objects.exists()
    feed(check, DOWN, T0 + 2 * MINUTE, error="HTTP 500")

    incident = Incident.objects.get()
    assert incident.started_at == T0
    assert incident.created_at == T0 + 2 * MINUTE


def test_a_real_outage_of_a_quick_check_is_announced_once_it_lasted_the_minimum(api, eager):
    feed(eager, UP, T0 - 10 * SECOND)
    steady(eager, DOWN, start=T0, until=T0 + 60 * SECOND)
    assert not Incident.objects.exists()
    api.refresh_from_db()
    assert api.status == "operational"

    feed(eager, DOWN, T0 + 60 * SECOND, error="HTTP 500")
    incident = Incident.objects.get()
    assert incident.started_at == T0
    api.refresh_from_db()
    assert api.status == "major_outage"
