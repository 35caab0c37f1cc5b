"""The `demo` command: a believable page, built once, with a rollup that matches its history."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from incidents.demo import build_large
from incidents.models import Incident, IncidentTemplate, IncidentUpdate
from statuspage.models import Component, ComponentGroup, ComponentStatusChange, UptimeDay
from statuspage.uptime import split_by_day
from tests.factories import make_component

MODELS = [ComponentGroup, Component, Incident, IncidentUpdate, IncidentTemplate, UptimeDay]
COLUMNS = {
    "major_outage": "major_outage_seconds",
    "partial_outage": "partial_outage_seconds",
    "degraded_performance": "degraded_seconds",
    "under_maintenance": "maintenance_seconds",
}


def demo(*args: str) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {model.__name__: model._default_manager.count() for model in MODELS}


def rollup_mismatches() -> list[str]:
    """Differences between the stored UptimeDay rows and the closed stretches of the history."""
    problems = []
    for component in Component.objects.all():
        changes = list(ComponentStatusChange.objects.filter(component=component))
        expected: dict[dt.date, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for change, following in zip(changes, changes[1:], strict=False):
            if change.to_status != following.from_status:
                problems.append(f"{component}: history breaks at {following.changed_at}")
            column = COLUMNS.get(change.to_status)
            if column:
                for day, seconds in split_by_day(change.changed_at, following.changed_at):
                    expected[day][column] += seconds
        stored = {row.date: row for row in UptimeDay.objects.filter(component=component)}
        for day in sorted(set(expected) | set(stored)):
            for column in COLUMNS.values():
                want = round(expected.get(day, {}).get(column, 0))
                got = getattr(stored[day], column) if day in stored else 0
                if abs(want - got) > 1:
                    problems.append(f"{component} on {day}: {column} is {got}, expected {want}")
    return problems


@pytest.mark.django_db
def test_it_builds_groups_providers_and_a_hidden_component():
    demo()

    assert list(ComponentGroup.objects.values_list("name", flat=True)) == [
        "Core API services",
        "Data centers",
        "Conferencing providers",
        "Calendar providers",
    ]
    core = Component.objects.filter(group__name="Core API services")
    assert set(core.values_list("name", flat=True)) == {
        "API",
        "Background processing",
        "Developer dashboard",
        "Scheduler",
    }
    assert Component.objects.filter(name="US data center", group__name="Data centers").exists()
    assert Component.objects.filter(name="German data center").exists()
    assert Component.objects.filter(group=None, is_public=True).count() >= 2
    assert Component.objects.filter(is_public=False).count() == 1
    assert IncidentTemplate.objects.count() >= 1


@pytest.mark.django_db
def test_running_it_twice_leaves_the_same_data():
    demo()
    first = counts()

    output = demo()

    assert "nothing to do" in output
    assert counts() == first


@pytest.mark.django_db
def test_reset_rebuilds_the_same_data():
    demo()
    first = counts()

    demo("--reset")

    assert counts() == first


@pytest.mark.django_db
def test_it_leaves_a_database_with_its_own_components_alone():
    make_component("Our own API")

    demo()

    assert list(Component.objects.values_list("name", flat=True)) == ["Our own API"]
    assert not Incident.objects.exists()


@pytest.mark.django_db
def test_it_leaves_one_incident_open_holding_its_component():
    demo()

    open_incident = Incident.objects.unresolved().get()
    assert open_incident.impact == "minor"
    assert open_incident.updates.count() >= 2
    jobs = Component.objects.get(name="Background processing")
    assert jobs.status == "degraded_performance"
    assert open_incident.affected.filter(component=jobs).exists()


@pytest.mark.django_db
def test_its_history_has_incidents_of_every_impact_with_timelines():
    demo()

    past = Incident.objects.incidents().exclude(status__in=["investigating", "identified"])
    assert {"none", "minor", "major", "critical"} <= set(past.values_list("impact", flat=True))
    oldest = timezone.localdate() - dt.timedelta(days=90)
    assert all(timezone.localdate(i.started_at) >= oldest for i in past)
    for incident in past.filter(backfilled=False):
        statuses = list(incident.updates.order_by("display_at").values_list("status", flat=True))
        assert 2 <= len(statuses) <= 5, incident
        assert statuses[-1] == "resolved", incident


@pytest.mark.django_db
def test_it_publishes_a_long_markdown_postmortem():
    demo()

    incident = Incident.objects.get(status="postmortem")
    body = incident.postmortem_body
    assert incident.postmortem_published_at is not None
    assert len(body) > 2000
    assert "\n## " in body
    assert "\n- " in body
    assert "```" in body
    assert "\n| " in body
    assert "](https://" in body


@pytest.mark.django_db
def test_it_schedules_an_upcoming_maintenance():
    demo()

    upcoming = Incident.objects.maintenance_upcoming().get()
    assert upcoming.scheduled_for is not None
    assert upcoming.scheduled_for > timezone.now()
    assert upcoming.affected.filter(component__name="US data center").exists()
    assert Incident.objects.maintenances().filter(status="completed").exists()


@pytest.mark.django_db
def test_a_major_outage_shows_in_the_uptime_rollup_on_its_day():
    demo()

    incident = Incident.objects.get(name="API and dashboard unavailable in the US data center")
    row = UptimeDay.objects.get(
        component__name="US data center", date=timezone.localdate(incident.started_at)
    )

    # Major outage from 14:02 until the monitoring update at 15:05.
    assert row.major_outage_seconds == 63 * 60
    assert row.partial_outage_seconds == 0


@pytest.mark.django_db
def test_the_demo_rollup_matches_its_history():
    demo()

    assert ComponentStatusChange.objects.count() > 20
    assert rollup_mismatches() == []


@pytest.mark.django_db
def test_the_large_builder_rollup_matches_its_history():
    build_large(groups=3, components=20, incidents=300, days=200)

    assert Incident.objects.incidents().count() == 300
    assert Incident.objects.filter(backfilled=True).exists()
    assert Incident.objects.filter(backfilled=False, status="resolved").exists()
    assert Incident.objects.unresolved().count() == 1
    assert rollup_mismatches() == []
