"""Behaviour of the public JSON API: what it shows and hides, order and caps, HTTP rules
(HEAD, 405, CORS, ETag/304), the status roll-up, time zones and the number of queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents import services
from tests.factories import make_component, make_group, make_incident, make_maintenance
from website.caching import public_cache_control

ENDPOINTS = [
    "/api/v2/summary.json",
    "/api/v2/status.json",
    "/api/v2/components.json",
    "/api/v2/incidents.json",
    "/api/v2/incidents/unresolved.json",
    "/api/v2/scheduled-maintenances.json",
    "/api/v2/scheduled-maintenances/upcoming.json",
    "/api/v2/scheduled-maintenances/active.json",
]

UTC = dt.UTC


@pytest.fixture(autouse=True)
def _views_without_the_public_cache(settings: Any) -> None:
    """These tests pin the API views' own answers, request after request within one test
    transaction; the public cache in front of them is tested on its own."""
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if not m.endswith(".PublicCacheMiddleware")
    ]


def get_json(client: Client, url: str, **headers: str) -> Any:
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    return response.json()


def backfill(name: str, *, days_ago: float, **kwargs: Any) -> Any:
    end = timezone.now() - dt.timedelta(days=days_ago)
    return services.incident_backfill(
        name=name,
        impact=kwargs.pop("impact", "minor"),
        body=kwargs.pop("body", "It was slow."),
        started_at=end - dt.timedelta(hours=1),
        resolved_at=end,
        **kwargs,
    )


# What is shown and what is not


@pytest.mark.django_db
def test_it_never_shows_hidden_components_anywhere(client: Client) -> None:
    public_group = make_group("Core")
    hidden_group = make_group("Secret group", is_public=False)
    api = make_component("API", group=public_group)
    hidden = make_component("Secret component", group=public_group, is_public=False)
    in_hidden_group = make_component("Secret child", group=hidden_group)
    make_component("Secret loner", is_public=False)
    incident = make_incident(
        components={api: "partial_outage", hidden: "major_outage", in_hidden_group: "major_outage"}
    )
    services.incident_post_update(
        incident=incident,
        status="identified",
        body="Found it.",
        component_statuses={hidden: "partial_outage"},
    )
    make_maintenance(components=[hidden, in_hidden_group])

    for url in ENDPOINTS + [f"/api/v2/incidents/{incident.public_id}.json"]:
        body = client.get(url).content.decode()
        assert "Secret" not in body, url
        for component in (hidden, in_hidden_group):
            assert component.public_id not in body, url
        assert hidden_group.public_id not in body, url

    payload = get_json(client, f"/api/v2/incidents/{incident.public_id}.json")["incident"]
    assert [c["id"] for c in payload["components"]] == [api.public_id]
    first, latest = payload["incident_updates"][-1], payload["incident_updates"][0]
    assert [a["code"] for a in first["affected_components"]] == [api.public_id]
    assert latest["affected_components"] is None


@pytest.mark.django_db
def test_it_never_shows_draft_incidents(client: Client) -> None:
    draft = make_incident("Draft outage", impact="critical", is_draft=True)

    for url in ENDPOINTS:
        assert draft.public_id not in client.get(url).content.decode(), url
    assert get_json(client, "/api/v2/status.json")["status"]["indicator"] == "none"
    response = client.get(f"/api/v2/incidents/{draft.public_id}.json")
    assert response.status_code == 404
    assert response.json() == {"error": "Not found"}
    assert response["Access-Control-Allow-Origin"] == "*"

    services.incident_publish(incident=draft)
    assert client.get(f"/api/v2/incidents/{draft.public_id}.json").status_code == 200


@pytest.mark.django_db
def test_it_answers_404_for_an_unknown_incident_or_maintenance(client: Client) -> None:
    maintenance = make_maintenance()

    assert client.get("/api/v2/incidents/abcdefghijkl.json").status_code == 404
    assert client.get("/api/v2/scheduled-maintenances/abcdefghijkl.json").status_code == 404
    # Each kind is served at its own address only.
    assert client.get(f"/api/v2/incidents/{maintenance.public_id}.json").status_code == 404
    url = f"/api/v2/scheduled-maintenances/{maintenance.public_id}.json"
    assert get_json(client, url)["scheduled_maintenance"]["id"] == maintenance.public_id


@pytest.mark.django_db
def test_it_lists_groups_as_components_with_their_public_children(client: Client) -> None:
    group = make_group("Data centers", position=1, description="Where it runs.")
    us = make_component("US", group=group, position=0, status="degraded_performance")
    eu = make_component("EU", group=group, position=1, status="major_outage")
    make_component("Hidden", group=group, is_public=False, status="under_maintenance")
    loner = make_component("Billing", position=0)

    components = get_json(client, "/api/v2/components.json")["components"]

    assert [c["id"] for c in components] == [
        loner.public_id,
        group.public_id,
        us.public_id,
        eu.public_id,
    ]
    listed_group = components[1]
    assert listed_group["group"] is True
    assert listed_group["components"] == [us.public_id, eu.public_id]
    assert listed_group["status"] == "major_outage"
    assert listed_group["description"] == "Where it runs."
    assert components[2]["group_id"] == group.public_id
    assert components[2]["group"] is False
    assert "components" not in components[2]
    assert components[0]["group_id"] is None
    assert components[0]["description"] is None


@pytest.mark.django_db
def test_it_summarizes_unresolved_incidents_and_current_maintenance(client: Client) -> None:
    open_incident = make_incident("Open")
    resolved = make_incident("Resolved")
    services.incident_resolve(incident=resolved, body="Fixed.")
    upcoming = make_maintenance("Upcoming")
    running = make_maintenance("Running", starts_in=dt.timedelta(minutes=-1))
    services.maintenance_start(maintenance=running)
    done = make_maintenance("Done", starts_in=dt.timedelta(minutes=-1))
    services.maintenance_complete(maintenance=done)

    summary = get_json(client, "/api/v2/summary.json")

    assert [i["id"] for i in summary["incidents"]] == [open_incident.public_id]
    assert {m["id"] for m in summary["scheduled_maintenances"]} == {
        upcoming.public_id,
        running.public_id,
    }
    upcoming_only = get_json(client, "/api/v2/scheduled-maintenances/upcoming.json")
    assert [m["id"] for m in upcoming_only["scheduled_maintenances"]] == [upcoming.public_id]
    active = get_json(client, "/api/v2/scheduled-maintenances/active.json")
    assert [m["id"] for m in active["scheduled_maintenances"]] == [running.public_id]
    unresolved = get_json(client, "/api/v2/incidents/unresolved.json")
    assert [i["id"] for i in unresolved["incidents"]] == [open_incident.public_id]


@pytest.mark.django_db
def test_it_serializes_a_maintenance_with_its_window(client: Client, settings: Any) -> None:
    settings.SITE_URL = "https://status.example.com"
    with time_machine.travel(dt.datetime(2024, 3, 1, 12, 0, tzinfo=UTC), tick=False):
        maintenance = make_maintenance(starts_in=dt.timedelta(days=1), lasts=dt.timedelta(hours=3))

    payload = get_json(client, "/api/v2/scheduled-maintenances.json")["scheduled_maintenances"][0]

    assert payload["id"] == maintenance.public_id
    assert payload["scheduled_for"] == "2024-03-02T12:00:00.000Z"
    assert payload["scheduled_until"] == "2024-03-02T15:00:00.000Z"
    assert payload["impact"] == "maintenance"
    assert payload["shortlink"] == f"https://status.example.com/incidents/{maintenance.public_id}"


# Order and caps


@pytest.mark.django_db
def test_it_caps_lists_at_50_newest_first(client: Client) -> None:
    incidents = [backfill(f"Incident {n}", days_ago=60 - n) for n in range(55)]

    listed = get_json(client, "/api/v2/incidents.json")["incidents"]

    newest_first = [i.public_id for i in reversed(incidents)]
    assert [i["id"] for i in listed] == newest_first[:50]


@pytest.mark.django_db
def test_it_caps_maintenance_lists_at_50(client: Client) -> None:
    for n in range(52):
        make_maintenance(f"Window {n}", starts_in=dt.timedelta(days=n + 1))

    listed = get_json(client, "/api/v2/scheduled-maintenances.json")["scheduled_maintenances"]

    assert len(listed) == 50
    assert listed[0]["name"] == "Window 51"


@pytest.mark.django_db
def test_it_lists_incident_updates_newest_first(client: Client) -> None:
    start = timezone.now() - dt.timedelta(hours=3)
    incident = make_incident(started_at=start)
    services.incident_post_update(
        incident=incident,
        status="identified",
        body="Second",
        display_at=start + dt.timedelta(hours=1),
    )
    services.incident_post_update(
        incident=incident,
        status="monitoring",
        body="Third",
        display_at=start + dt.timedelta(hours=2),
    )

    updates = get_json(client, "/api/v2/incidents.json")["incidents"][0]["incident_updates"]

    assert [u["status"] for u in updates] == ["monitoring", "identified", "investigating"]
    assert [u["body"] for u in updates[:2]] == ["Third", "Second"]
    assert {u["incident_id"] for u in updates} == {incident.public_id}


# HTTP


@pytest.mark.django_db
@pytest.mark.parametrize("url", ENDPOINTS)
def test_it_answers_head_with_the_headers_of_get(client: Client, url: str) -> None:
    make_incident(components={make_component(): "major_outage"})
    get = client.get(url)

    head = client.head(url)

    assert head.status_code == 200
    assert head.content == b""
    assert head["ETag"] == get["ETag"]
    assert head["Content-Length"] == str(len(get.content))
    assert head["Content-Type"] == "application/json; charset=utf-8"


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_it_refuses_writes_with_405(client: Client, method: str) -> None:
    response = getattr(client, method)("/api/v2/summary.json")

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json()["error"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ENDPOINTS)
def test_it_is_shareable_and_cacheable(client: Client, url: str) -> None:
    response = client.get(url)

    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Cache-Control"] == public_cache_control()
    assert response["Cache-Control"].startswith("public, max-age=")
    assert response["ETag"].startswith('"')


@pytest.mark.django_db
@pytest.mark.parametrize("url", ENDPOINTS)
def test_it_answers_304_to_a_conditional_get(client: Client, url: str) -> None:
    make_component("API")
    etag = client.get(url)["ETag"]

    response = client.get(url, headers={"If-None-Match": etag})

    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Cache-Control"] == public_cache_control()


@pytest.mark.django_db
def test_it_matches_weak_and_listed_etags(client: Client) -> None:
    etag = client.get("/api/v2/status.json")["ETag"]

    weak = client.get("/api/v2/status.json", headers={"If-None-Match": f"W/{etag}"})
    listed = client.get("/api/v2/status.json", headers={"If-None-Match": f'"other", {etag}'})
    other = client.get("/api/v2/status.json", headers={"If-None-Match": '"other"'})

    assert (weak.status_code, listed.status_code, other.status_code) == (304, 304, 200)


@pytest.mark.django_db
def test_it_changes_the_etag_when_something_public_changes(client: Client) -> None:
    api = make_component("API")
    etag = client.get("/api/v2/summary.json")["ETag"]

    make_incident(components={api: "major_outage"})
    response = client.get("/api/v2/summary.json", headers={"If-None-Match": etag})

    assert response.status_code == 200
    assert response["ETag"] != etag
    assert response.json()["incidents"]


# The roll-up


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("component_statuses", "impacts", "indicator", "description"),
    [
        ([], [], "none", "All Systems Operational"),
        (["operational", "operational"], [], "none", "All Systems Operational"),
        (["degraded_performance"], [], "minor", "Minor Service Outage"),
        (["partial_outage", "degraded_performance"], [], "major", "Partial System Outage"),
        (["major_outage", "partial_outage"], [], "critical", "Major System Outage"),
        (["under_maintenance"], [], "maintenance", "Service Under Maintenance"),
        (["operational"], ["minor"], "minor", "Minor Service Outage"),
        (["degraded_performance"], ["critical"], "critical", "Major System Outage"),
        (["major_outage"], ["minor"], "critical", "Major System Outage"),
        (["operational"], ["none"], "none", "All Systems Operational"),
    ],
)
def test_it_rolls_up_the_status(
    client: Client,
    component_statuses: list[str],
    impacts: list[str],
    indicator: str,
    description: str,
) -> None:
    for status in component_statuses:
        make_component(status=status)
    for impact in impacts:
        make_incident(impact=impact)

    expected = {"indicator": indicator, "description": description}
    assert get_json(client, "/api/v2/status.json")["status"] == expected
    assert get_json(client, "/api/v2/summary.json")["status"] == expected


@pytest.mark.django_db
def test_it_leaves_hidden_drafts_and_resolved_out_of_the_roll_up(client: Client) -> None:
    make_component("Hidden", is_public=False, status="major_outage")
    make_component("In hidden group", group=make_group(is_public=False), status="major_outage")
    make_incident(impact="critical", is_draft=True)
    resolved = make_incident(impact="critical")
    services.incident_resolve(incident=resolved, body="Done.")

    for url in ("/api/v2/status.json", "/api/v2/summary.json"):
        assert get_json(client, url)["status"]["indicator"] == "none"


# Times


@pytest.mark.django_db
def test_it_writes_times_in_utc_with_z(client: Client) -> None:
    with time_machine.travel(dt.datetime(2022, 12, 14, 5, 4, 0, 407000, tzinfo=UTC), tick=False):
        make_component("API")

    page = get_json(client, "/api/v2/components.json")

    assert page["page"]["time_zone"] == "UTC"
    assert page["page"]["updated_at"] == "2022-12-14T05:04:00.407Z"
    assert page["components"][0]["updated_at"] == "2022-12-14T05:04:00.407Z"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (dt.datetime(2022, 2, 15, 21, 37, 37, 407000, tzinfo=UTC), "2022-02-15T13:37:37.407-08:00"),
        (dt.datetime(2022, 7, 1, 12, 0, tzinfo=UTC), "2022-07-01T05:00:00.000-07:00"),
    ],
)
def test_it_writes_times_with_the_page_zones_offset(
    client: Client, settings: Any, instant: dt.datetime, expected: str
) -> None:
    settings.TIME_ZONE = "America/Los_Angeles"
    with time_machine.travel(instant, tick=False):
        incident = make_incident(
            components={make_component(start_date=dt.date(2022, 1, 3)): "major_outage"}
        )

    payload = get_json(client, f"/api/v2/incidents/{incident.public_id}.json")

    assert payload["page"]["time_zone"] == "America/Los_Angeles"
    assert payload["page"]["updated_at"] == expected
    assert payload["incident"]["started_at"] == expected
    assert payload["incident"]["incident_updates"][0]["display_at"] == expected
    assert payload["incident"]["components"][0]["start_date"] == "2022-01-03"


@pytest.mark.django_db
def test_it_dates_the_page_by_its_last_public_change(client: Client) -> None:
    start = dt.datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        api = make_component("API")
        hidden = make_component("Hidden", is_public=False)
    assert (
        get_json(client, "/api/v2/status.json")["page"]["updated_at"] == "2024-05-01T10:00:00.000Z"
    )

    with time_machine.travel(start + dt.timedelta(hours=1), tick=False):
        hidden.description = "Changed where nobody sees it."
        hidden.save()
    assert (
        get_json(client, "/api/v2/status.json")["page"]["updated_at"] == "2024-05-01T10:00:00.000Z"
    )

    with time_machine.travel(start + dt.timedelta(hours=2), tick=False):
        make_incident(components={api: "degraded_performance"})
    for url in ENDPOINTS:
        assert get_json(client, url)["page"]["updated_at"] == "2024-05-01T12:00:00.000Z", url


# Speed


def build_page(size: int) -> None:
    groups = [make_group() for _ in range(size)]
    components = [make_component(group=groups[n % size]) for n in range(size * 2)]
    for n in range(size):
        incident = make_incident(components={components[n]: "partial_outage"})
        services.incident_post_update(
            incident=incident,
            status="identified",
            body="Found it.",
            component_statuses={components[n + 1]: "degraded_performance"},
        )
        if n % 2:
            services.incident_resolve(incident=incident, body="Fixed.")
        maintenance = make_maintenance(components=[components[n]])
        if n % 2:
            services.maintenance_start(maintenance=maintenance)


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_it_answers_every_endpoint_in_a_constant_number_of_queries(client: Client) -> None:
    build_page(2)
    incident = make_incident()
    maintenance = make_maintenance()
    urls = ENDPOINTS + [
        f"/api/v2/incidents/{incident.public_id}.json",
        f"/api/v2/scheduled-maintenances/{maintenance.public_id}.json",
    ]
    small = {url: count_queries(client, url) for url in urls}

    build_page(8)
    large = {url: count_queries(client, url) for url in urls}

    assert large == small
    assert max(large.values()) <= 8
    assert len(get_json(client, "/api/v2/incidents.json")["incidents"]) == 11


@pytest.mark.django_db
def test_the_lists_catalog_loading_serializes_exactly_as_the_prefetches_do() -> None:
    """load_for_serialization takes the components from the catalog instead of joining them
    again: every incident and maintenance must serialize byte for byte as through the
    prefetches, hidden components, order in the page and component changes included."""
    from website.api import encode_json
    from website.serializers import (
        load_for_serialization,
        public_incidents,
        serialize_incident,
        serialize_maintenance,
    )

    build_page(4)
    hidden_group = make_group("Secret group", is_public=False)
    hidden = make_component("Secret component", is_public=False)
    in_hidden_group = make_component("Secret child", group=hidden_group)
    late = make_component("Zeta", position=0)  # first on the page, whatever its name
    incident = make_incident(components={hidden: "major_outage", late: "partial_outage"})
    services.incident_post_update(
        incident=incident,
        status="identified",
        body="Found it.",
        component_statuses={in_hidden_group: "degraded_performance", late: "major_outage"},
    )

    from incidents.models import Incident

    loaded = load_for_serialization(Incident.objects.public())
    prefetched = list(public_incidents())
    assert [i.pk for i in loaded] == [i.pk for i in prefetched]
    assert len(loaded) == 9
    for ours, theirs in zip(loaded, prefetched, strict=True):
        serialize = serialize_maintenance if ours.is_maintenance else serialize_incident
        assert encode_json(serialize(ours)) == encode_json(serialize(theirs))
    changed = next(i for i in loaded if i.pk == incident.pk)
    components = changed.public_components  # type: ignore[attr-defined]  # set by the loader
    assert [c.name for c in components] == ["Zeta"]
    changes = changed.updates.all()[0].public_component_changes  # type: ignore[attr-defined]  # as above
    assert [c.component.name for c in changes] == ["Zeta"]
