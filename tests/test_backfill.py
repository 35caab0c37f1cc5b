"""Backfilling a past incident: its whole timeline at its own times, its postmortem at its real
publication date, the API and the feeds telling those times, and components whose history
begins after the incident."""

from __future__ import annotations

import datetime as dt
from typing import Any

import feedparser
import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.models import Incident
from incidents.services import PastUpdate
from statuspage.models import ComponentStatusChange
from tests.factories import make_component, make_incident

pytestmark = pytest.mark.django_db

START = dt.datetime(2017, 2, 28, 17, 37, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _plain_pages(settings: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if not m.endswith(".PublicCacheMiddleware")
    ]


@pytest.fixture
def staff(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("alice", "alice@example.com"))
    return client


def _local(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


def _three_day_outage(**extra: Any) -> Incident:
    storage = make_component("Storage", created_at=START - dt.timedelta(days=400))
    return services.incident_backfill(
        name="Storage outage",
        impact="major",
        started_at=START,
        component_statuses={storage: "major_outage"},
        updates=[
            PastUpdate(at=START, status="investigating", body="We are investigating."),
            PastUpdate(
                at=START + dt.timedelta(days=1),
                status="identified",
                body="Recovering.",
                component_statuses={storage: "partial_outage"},
            ),
            PastUpdate(at=START + dt.timedelta(days=2), status="resolved", body="All recovered."),
        ],
        **extra,
    )


def test_it_keeps_each_update_of_the_timeline_at_its_own_time() -> None:
    incident = _three_day_outage()
    updates = list(incident.updates.order_by("display_at"))
    assert [(u.status, u.display_at) for u in updates] == [
        ("investigating", START),
        ("identified", START + dt.timedelta(days=1)),
        ("resolved", START + dt.timedelta(days=2)),
    ]
    assert [u.created_at for u in updates] == [u.display_at for u in updates]
    assert [u.updated_at for u in updates] == [u.display_at for u in updates]
    assert incident.created_at == START
    assert incident.updated_at == incident.resolved_at == START + dt.timedelta(days=2)
    assert incident.backfilled
    assert not incident.events.exists()


def test_each_component_status_of_the_timeline_goes_into_its_history() -> None:
    incident = _three_day_outage()
    changes = list(
        ComponentStatusChange.objects.filter(incident_public_id=incident.public_id)
        .order_by("changed_at", "id")
        .values_list("to_status", "changed_at")
    )
    assert ("major_outage", START) in changes
    assert ("partial_outage", START + dt.timedelta(days=1)) in changes
    assert changes[-1] == ("operational", START + dt.timedelta(days=2))
    second = incident.updates.get(status="identified")
    assert [(c.old_status, c.new_status) for c in second.component_changes.all()] == [
        ("major_outage", "partial_outage")
    ]


def test_a_backfilled_postmortem_takes_its_real_publication_date() -> None:
    published = START + dt.timedelta(days=9)
    incident = _three_day_outage(
        postmortem_body="## Root cause\n\nA full disk.", postmortem_published_at=published
    )
    assert incident.status == "postmortem"
    assert incident.postmortem_published_at == published
    assert incident.updated_at == published


def test_a_postmortem_published_before_the_resolution_is_refused() -> None:
    with pytest.raises(ValidationError, match="published after the incident is resolved"):
        _three_day_outage(postmortem_body="Text.", postmortem_published_at=START)


def test_a_timeline_must_end_with_its_resolving_update() -> None:
    with pytest.raises(ValidationError, match="ends with its closing update"):
        services.incident_backfill(
            name="Unfinished",
            impact="minor",
            started_at=START,
            updates=[PastUpdate(at=START, status="investigating", body="Looking.")],
        )
    assert not Incident.objects.exists()


def test_the_api_tells_the_backfilled_times(client: Client) -> None:
    incident = _three_day_outage()
    document = client.get(f"/api/v2/incidents/{incident.public_id}.json").json()["incident"]
    assert document["created_at"].startswith("2017-02-28T17:37:00")
    assert document["updated_at"].startswith("2017-03-02T17:37:00")
    by_status = {u["status"]: u for u in document["incident_updates"]}
    assert by_status["identified"]["created_at"].startswith("2017-03-01T17:37:00")
    assert by_status["identified"]["updated_at"] == by_status["identified"]["created_at"]


@pytest.mark.parametrize("url", ["/history.atom", "/history.rss"])
def test_the_feeds_put_a_backfilled_incident_in_its_place_in_time(client: Client, url: str) -> None:
    recent = make_incident("Recent incident")
    old = _three_day_outage()
    feed = feedparser.parse(client.get(url).content)
    titles = [entry.title for entry in feed.entries]
    assert titles == [recent.name, old.name]
    old_entry = feed.entries[1]
    assert old_entry.published_parsed[:3] == (2017, 2, 28)
    if "updated_parsed" in old_entry and url.endswith(".atom"):
        assert old_entry.updated_parsed[:3] == (2017, 3, 2)


def test_a_component_younger_than_the_incident_is_refused_without_consent() -> None:
    young = make_component("New API", created_at=START + dt.timedelta(days=30))
    with pytest.raises(ValidationError, match="before the history of New API"):
        services.incident_backfill(
            name="Old outage",
            impact="minor",
            started_at=START,
            resolved_at=START + dt.timedelta(hours=1),
            body="Over.",
            component_statuses={young: "major_outage"},
        )
    assert not Incident.objects.exists()


def test_with_consent_the_components_start_moves_back_and_counts_the_incident() -> None:
    young = make_component("New API", created_at=START + dt.timedelta(days=30))
    services.incident_backfill(
        name="Old outage",
        impact="minor",
        started_at=START,
        resolved_at=START + dt.timedelta(hours=1),
        body="Over.",
        component_statuses={young: "major_outage"},
        move_component_starts=True,
    )
    young.refresh_from_db()
    assert young.tracked_since == START.date()
    assert young.uptime_days.get(date=START.date()).major_outage_seconds == 3600


def test_the_admin_backfills_a_whole_timeline_with_its_postmortem(staff: Client) -> None:
    api = make_component("API", created_at=START - dt.timedelta(days=10))
    form = {
        "name": "API outage",
        "impact": "major",
        "started_at": _local(START),
        "timeline-TOTAL_FORMS": "3",
        "timeline-INITIAL_FORMS": "0",
        "timeline-0-at": _local(START),
        "timeline-0-status": "investigating",
        "timeline-0-body": "We are looking into errors.",
        "timeline-1-at": _local(START + dt.timedelta(hours=5)),
        "timeline-1-status": "monitoring",
        "timeline-1-body": "A fix is out.",
        "timeline-2-status": "investigating",
        "resolved_at": _local(START + dt.timedelta(days=1)),
        "body": "Resolved.",
        "postmortem_body": "## What happened\n\nA bad deploy.",
        "postmortem_published_at": _local(START + dt.timedelta(days=4)),
        f"component_{api.pk}": "major_outage",
    }
    response = staff.post(reverse("admin:incidents_incident_backfill"), form)
    assert response.status_code == 302, response.content.decode()
    incident = Incident.objects.get()
    assert [(u.status, u.display_at) for u in incident.updates.order_by("display_at")] == [
        ("investigating", START),
        ("monitoring", START + dt.timedelta(hours=5)),
        ("resolved", START + dt.timedelta(days=1)),
    ]
    assert incident.monitoring_at == START + dt.timedelta(hours=5)
    assert incident.postmortem_published_at == START + dt.timedelta(days=4)
    assert incident.status == "postmortem"


def test_the_admin_offers_more_rows_and_keeps_what_was_typed(staff: Client) -> None:
    form = {
        "name": "Long outage",
        "impact": "minor",
        "timeline-TOTAL_FORMS": "3",
        "timeline-INITIAL_FORMS": "0",
        "timeline-0-at": _local(START),
        "timeline-0-status": "identified",
        "timeline-0-body": "Typed before asking for rows.",
        "_more_updates": "1",
    }
    response = staff.post(reverse("admin:incidents_incident_backfill"), form)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="timeline-5-body"' in html
    assert "Typed before asking for rows." in html
    assert not Incident.objects.exists()


def test_the_admin_warns_of_a_younger_component_and_moves_it_when_asked(staff: Client) -> None:
    young = make_component("New API", created_at=START + dt.timedelta(days=30))
    form = {
        "name": "Old outage",
        "impact": "minor",
        "started_at": _local(START),
        "resolved_at": _local(START + dt.timedelta(hours=1)),
        "body": "Over.",
        f"component_{young.pk}": "major_outage",
    }
    refused = staff.post(reverse("admin:incidents_incident_backfill"), form)
    assert refused.status_code == 200
    html = refused.content.decode()
    assert 'id="early-components"' in html and "New API" in html
    assert not Incident.objects.exists()
    accepted = staff.post(
        reverse("admin:incidents_incident_backfill"), {**form, "move_component_starts": "on"}
    )
    assert accepted.status_code == 302
    young.refresh_from_db()
    assert young.tracked_since == START.date()
