"""What the checker does to components and incidents on confirmed failures and recoveries,
and how it stays out of the way of what staff set by hand."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from checker.automation import components_reconcile
from checker.models import AutomatedIncident, CheckKind, IncidentMode, Level
from incidents import services as incident_services
from incidents.models import EventKind, Incident, OutboxEvent
from statuspage.models import ComponentStatusChange
from statuspage.services import component_set_status
from tests.checker.factories import feed, make_check
from tests.factories import make_component, make_incident

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 4, 44, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
UP, DEGRADED, DOWN = Level.UP, Level.DEGRADED, Level.DOWN


@pytest.fixture(autouse=True)
def before_the_outage():
    """Set-up happens an hour before T0; each outcome then moves the clock to its own time."""
    with time_machine.travel(T0 - dt.timedelta(hours=1), tick=False):
        yield


@pytest.fixture
def api():
    return make_component("US data center API")


@pytest.fixture
def check(api):
    return make_check(api, name="the US data center API", failure_threshold=3, success_threshold=2)


def run(check, levels, *, start=T0, error="connection timed out"):
    """Feed one outcome a minute from `start`; returns the time after the last one."""
    for minute, level in enumerate(levels):
        feed(check, level, start + minute * MINUTE, error=error if level else "")
    return start + len(levels) * MINUTE


def refreshed(component):
    component.refresh_from_db()
    return component


def latest_change(component):
    return ComponentStatusChange.objects.filter(component=component).order_by("-changed_at", "-id")[
        0
    ]


def test_one_blip_never_opens_an_incident(api, check):
    run(check, [UP, DOWN, UP, DOWN, DOWN, UP, UP], start=T0 - MINUTE)
    assert not Incident.objects.exists()
    assert refreshed(api).status == "operational"


def test_a_confirmed_failure_opens_an_incident_saying_what_fails_since_when(api, check):
    feed(check, UP, T0 - MINUTE)
    run(check, [DOWN, DOWN])
    assert not Incident.objects.exists()
    run(check, [DOWN], start=T0 + 2 * MINUTE)

    incident = Incident.objects.get()
    assert incident.name == "Major outage of US data center API"
    assert incident.impact == "critical"
    assert incident.status == "investigating"
    assert not incident.is_draft
    assert incident.started_at == T0
    (update,) = incident.updates.all()
    assert (
        update.body
        == "Since 04:44 UTC, checks of the US data center API fail: connection timed out."
    )
    assert refreshed(api).status == "major_outage"
    assert latest_change(api).reason == "checker"
    assert latest_change(api).changed_at == T0
    assert OutboxEvent.objects.filter(kind=EventKind.INCIDENT_CREATED, incident=incident).exists()
    assert AutomatedIncident.objects.get().incident == incident


def test_recovery_resolves_with_the_window_and_its_duration(api, check):
    feed(check, UP, T0 - MINUTE)
    after = run(check, [DOWN, DOWN, DOWN])
    run(check, [UP], start=after)
    assert Incident.objects.get().status == "investigating"
    run(check, [UP], start=after + MINUTE)

    incident = Incident.objects.get()
    assert incident.status == "resolved"
    assert incident.resolved_at == T0 + 3 * MINUTE
    assert incident.updates.latest("display_at", "id").body == (
        "From 04:44 to 04:47 UTC (3 minutes), checks of the US data center API failed: "
        "connection timed out. They pass again."
    )
    assert refreshed(api).status == "operational"
    assert latest_change(api).reason == "checker"


def test_the_outage_status_is_the_one_the_check_asks_for(api):
    check = make_check(api, outage_status="partial_outage", failure_threshold=1)
    run(check, [UP, DOWN, DOWN])  # a failure that lasts the minimum outage
    assert refreshed(api).status == "partial_outage"
    assert Incident.objects.get().impact == "major"


def test_a_draft_incident_waits_for_staff_and_announces_nothing(api):
    check = make_check(api, incident_mode=IncidentMode.DRAFT, failure_threshold=1)
    run(check, [UP, DOWN, DOWN])  # a failure that lasts the minimum outage
    incident = Incident.objects.get()
    assert incident.is_draft
    assert not OutboxEvent.objects.exists()


def test_status_only_sets_and_restores_the_status_without_an_incident(api):
    check = make_check(
        api, incident_mode=IncidentMode.STATUS_ONLY, failure_threshold=1, success_threshold=1
    )
    run(check, [UP, DOWN, DOWN])  # a failure that lasts the minimum outage
    assert refreshed(api).status == "major_outage"
    assert latest_change(api).reason == "checker"
    run(check, [UP], start=T0 + 5 * MINUTE)
    assert refreshed(api).status == "operational"
    assert not Incident.objects.exists()


def test_a_worse_state_posts_an_update_to_the_same_incident(api):
    check = make_check(api, failure_threshold=2, degraded_latency_ms=500)
    after = run(check, [UP, DEGRADED, DEGRADED], error="responded in 2,300 ms (slower than 500 ms)")
    incident = Incident.objects.get()
    assert incident.name == "Degraded performance of US data center API"
    assert refreshed(api).status == "degraded_performance"
    run(check, [DOWN, DOWN], start=after)
    incident = Incident.objects.get()
    assert incident.updates.count() == 2
    assert incident.impact == "critical"
    assert refreshed(api).status == "major_outage"
    assert "fail: connection timed out" in incident.updates.latest("display_at", "id").body


def test_a_second_failing_check_adds_no_second_incident(api, check):
    tls = make_check(api, kind=CheckKind.TLS, failure_threshold=1)
    feed(check, UP, T0 - MINUTE)
    run(check, [DOWN, DOWN, DOWN])
    run(tls, [DOWN], start=T0 + 3 * MINUTE)
    assert Incident.objects.count() == 1


def test_a_staff_incident_gets_evidence_quietly_and_is_never_resolved_by_the_checker(api, check):
    staff = make_incident("Network trouble", components={api: "partial_outage"})
    feed(check, UP, T0 - MINUTE)
    after = run(check, [DOWN, DOWN, DOWN])
    assert Incident.objects.count() == 1
    evidence = staff.updates.latest("display_at", "id")
    assert evidence.body == (
        "Automated checks: since 04:44 UTC, checks of the US data center API fail: "
        "connection timed out."
    )
    assert evidence.deliver_notifications is False
    assert refreshed(api).status == "partial_outage"

    run(check, [UP, UP], start=after)
    staff.refresh_from_db()
    assert staff.status == "investigating"
    assert (
        staff.updates.latest("display_at", "id").body
        == "Automated checks: checks of the US data center API pass again since 04:47 UTC."
    )
    assert refreshed(api).status == "partial_outage"


def test_a_status_set_by_hand_is_not_overridden(api, check):
    component_set_status(component=api, status="degraded_performance", reason="manual")
    feed(check, UP, T0 - MINUTE)
    after = run(check, [DOWN, DOWN, DOWN])
    assert refreshed(api).status == "degraded_performance"
    assert not Incident.objects.exists()
    run(check, [UP, UP], start=after)
    assert refreshed(api).status == "degraded_performance"
    assert latest_change(api).reason == "manual"


def test_a_status_set_back_to_operational_by_hand_does_not_silence_the_checker(api, check):
    component_set_status(component=api, status="major_outage", reason="manual")
    component_set_status(component=api, status="operational", reason="manual")
    feed(check, UP, T0 - MINUTE)
    run(check, [DOWN, DOWN, DOWN])
    assert Incident.objects.count() == 1


def test_an_update_by_staff_makes_the_incident_theirs(api, check):
    feed(check, UP, T0 - MINUTE)
    after = run(check, [DOWN, DOWN, DOWN])
    incident = Incident.objects.get()
    with time_machine.travel(after, tick=False):
        incident_services.incident_post_update(
            incident=incident, status="identified", body="A switch failed; we are replacing it."
        )
    run(check, [UP, UP], start=after + MINUTE)
    incident.refresh_from_db()
    assert incident.status == "identified"
    note = incident.updates.latest("display_at", "id")
    assert note.body.startswith("Automated checks: checks of the US data center API pass again")
    assert note.deliver_notifications is False


def test_an_incident_staff_resolved_is_not_reopened_until_the_next_failure(api, check):
    feed(check, UP, T0 - MINUTE)
    after = run(check, [DOWN, DOWN, DOWN])
    incident = Incident.objects.get()
    with time_machine.travel(after, tick=False):
        incident_services.incident_resolve(incident=incident, body="False alarm.")
    after = run(check, [DOWN, DOWN, DOWN], start=after)
    assert Incident.objects.count() == 1
    after = run(check, [UP, UP], start=after)
    run(check, [DOWN, DOWN, DOWN], start=after)
    assert Incident.objects.count() == 2
    assert Incident.objects.unresolved().count() == 1


def test_a_running_maintenance_keeps_the_checker_away(api, check):
    with time_machine.travel(T0 - dt.timedelta(hours=1), tick=False):
        maintenance = incident_services.maintenance_schedule(
            name="Switch upgrade",
            body="We replace the core switch.",
            scheduled_for=T0 - dt.timedelta(minutes=30),
            scheduled_until=T0 + dt.timedelta(hours=1),
            components=[api],
        )
    with time_machine.travel(T0 - dt.timedelta(minutes=30), tick=False):
        incident_services.maintenance_start(maintenance=maintenance)
    feed(check, UP, T0 - MINUTE)
    after = run(check, [DOWN, DOWN, DOWN])
    assert Incident.objects.incidents().count() == 0
    assert refreshed(api).status == "under_maintenance"

    with time_machine.travel(after, tick=False):
        incident_services.maintenance_complete(maintenance=maintenance)
    run(check, [DOWN], start=after)
    assert Incident.objects.incidents().count() == 1
    assert refreshed(api).status == "major_outage"


def test_pausing_the_check_leaves_its_incident_to_staff(api, check):
    feed(check, UP, T0 - MINUTE)
    after = run(check, [DOWN, DOWN, DOWN])
    check.is_active = False
    check.save()
    with time_machine.travel(after, tick=False):
        assert components_reconcile([api.pk]) == {api.pk: "no active checks"}
    assert Incident.objects.get().status == "investigating"
    assert refreshed(api).status == "major_outage"
