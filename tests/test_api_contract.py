"""Contract tests: every API endpoint's answer validates against the JSON Schemas in
tests/schemas/, written from spec/statuspage-api-v2.md, for realistic data and edge cases."""

from __future__ import annotations

import copy
import datetime as dt
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

from incidents import services
from incidents.models import Incident
from tests.factories import make_component, make_group, make_incident, make_maintenance

SCHEMAS = Path(__file__).parent / "schemas"

LIST_ENDPOINTS = [
    ("/api/v2/summary.json", "summary.json"),
    ("/api/v2/status.json", "status.json"),
    ("/api/v2/components.json", "components.json"),
    ("/api/v2/incidents.json", "incidents.json"),
    ("/api/v2/incidents/unresolved.json", "incidents-unresolved.json"),
    ("/api/v2/scheduled-maintenances.json", "scheduled-maintenances.json"),
    ("/api/v2/scheduled-maintenances/upcoming.json", "scheduled-maintenances-upcoming.json"),
    ("/api/v2/scheduled-maintenances/active.json", "scheduled-maintenances-active.json"),
]


@cache
def _registry() -> Registry:
    resources = []
    for path in SCHEMAS.glob("*.json"):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


def validator(schema_file: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / schema_file).read_text())
    return Draft202012Validator(schema, registry=_registry())


def assert_valid(payload: Any, schema_file: str) -> None:
    errors = sorted(validator(schema_file).iter_errors(payload), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def fetch(client: Client, url: str) -> Any:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.json()


def assert_every_endpoint_valid(client: Client) -> dict[str, Any]:
    answers = {}
    for url, schema_file in LIST_ENDPOINTS:
        answers[url] = payload = fetch(client, url)
        assert_valid(payload, schema_file)
    for incident in Incident.objects.public().incidents():
        assert_valid(fetch(client, f"/api/v2/incidents/{incident.public_id}.json"), "incident.json")
    for maintenance in Incident.objects.public().maintenances():
        url = f"/api/v2/scheduled-maintenances/{maintenance.public_id}.json"
        assert_valid(fetch(client, url), "scheduled-maintenance.json")
    return answers


def build_realistic_page() -> None:
    """Groups of components, open and resolved incidents with timelines, a postmortem, and
    scheduled, running and completed maintenance, like a real vendor's page."""
    now = timezone.now()
    core = make_group("Core services", position=0, description="What every request goes through.")
    regions = make_group("Data centers", position=1, collapsed=True)
    make_group("Empty group", position=2)
    api = make_component("API", group=core, position=0, description="REST and GraphQL.")
    dashboard = make_component("Dashboard", group=core, position=1)
    webhooks = make_component("Webhooks", group=core, position=2, only_show_if_degraded=True)
    us = make_component("US East", group=regions, position=0, start_date=dt.date(2021, 3, 1))
    eu = make_component("EU West", group=regions, position=1, showcase=False)
    make_component("Billing", position=3)
    make_component("Internal admin", is_public=False)

    outage = make_incident(
        "Elevated API error rates",
        impact="major",
        components={api: "partial_outage", webhooks: "degraded_performance"},
        started_at=now - dt.timedelta(hours=2),
    )
    services.incident_post_update(
        incident=outage,
        status="identified",
        body="A bad deploy. Rolling back.",
        component_statuses={api: "major_outage"},
    )
    services.incident_post_update(
        incident=outage, status="monitoring", body="Rolled back; **watching** error rates."
    )

    resolved = make_incident(
        "US East unreachable",
        impact="critical",
        components={us: "major_outage"},
        started_at=now - dt.timedelta(days=3),
    )
    services.incident_post_update(incident=resolved, status="identified", body="Fiber cut.")
    services.incident_resolve(incident=resolved, body="Traffic is flowing again.")
    services.incident_publish_postmortem(
        incident=resolved,
        body="# What happened\n\n1. A fiber cut\n2. Failover took too long\n\n```\nretry()\n```",
    )

    services.incident_backfill(
        name="Slow dashboard",
        impact="minor",
        body="Dashboard pages loaded slowly.",
        started_at=now - dt.timedelta(days=10, hours=2),
        resolved_at=now - dt.timedelta(days=10),
        component_statuses={dashboard: "degraded_performance"},
    )
    make_incident("Draft: investigating", impact="minor", is_draft=True)

    make_maintenance("Database upgrade", components=[api, eu])
    running = make_maintenance(
        "EU network maintenance", starts_in=dt.timedelta(minutes=-5), components=[eu]
    )
    services.maintenance_start(maintenance=running)
    done = make_maintenance("Old maintenance", starts_in=dt.timedelta(days=-5), components=[us])
    services.maintenance_start(maintenance=done)
    services.maintenance_complete(maintenance=done)


@pytest.mark.django_db
def test_it_validates_every_endpoint_for_a_realistic_page(client: Client) -> None:
    build_realistic_page()
    answers = assert_every_endpoint_valid(client)

    summary = answers["/api/v2/summary.json"]
    assert [c["name"] for c in summary["components"]] == [
        "Core services", "API", "Dashboard", "Webhooks",
        "Data centers", "US East", "EU West",
        "Empty group",
        "Billing",
    ]  # fmt: skip
    assert [i["name"] for i in summary["incidents"]] == ["Elevated API error rates"]
    assert {m["status"] for m in summary["scheduled_maintenances"]} == {"scheduled", "in_progress"}
    assert len(answers["/api/v2/incidents.json"]["incidents"]) == 3
    assert len(answers["/api/v2/scheduled-maintenances.json"]["scheduled_maintenances"]) == 3


@pytest.mark.django_db
def test_it_validates_every_endpoint_with_no_components_at_all(client: Client) -> None:
    answers = assert_every_endpoint_valid(client)

    assert answers["/api/v2/components.json"]["components"] == []
    assert answers["/api/v2/status.json"]["page"]["updated_at"] is None


@pytest.mark.django_db
def test_it_validates_a_group_with_no_children(client: Client) -> None:
    make_group("Nothing here yet")
    make_component("Hidden child", group=make_group("Only hidden"), is_public=False)

    answers = assert_every_endpoint_valid(client)

    groups = answers["/api/v2/components.json"]["components"]
    assert [(g["name"], g["components"], g["status"]) for g in groups] == [
        ("Nothing here yet", [], "operational"),
        ("Only hidden", [], "operational"),
    ]


@pytest.mark.django_db
def test_it_validates_an_incident_with_no_affected_components(client: Client) -> None:
    make_component("API")
    incident = make_incident("Email delays", impact="minor")

    assert_every_endpoint_valid(client)

    payload = fetch(client, f"/api/v2/incidents/{incident.public_id}.json")["incident"]
    assert payload["components"] == []
    assert payload["incident_updates"][0]["affected_components"] is None


@pytest.mark.django_db
def test_it_validates_a_running_maintenance(client: Client) -> None:
    db = make_component("Database")
    maintenance = make_maintenance(starts_in=dt.timedelta(minutes=-1), components=[db])
    services.maintenance_start(maintenance=maintenance)
    services.incident_post_update(
        incident=maintenance, status="verifying", body="Checking the replicas."
    )

    answers = assert_every_endpoint_valid(client)

    active = answers["/api/v2/scheduled-maintenances/active.json"]["scheduled_maintenances"]
    assert [(m["status"], m["impact"]) for m in active] == [("verifying", "maintenance")]
    assert answers["/api/v2/summary.json"]["status"]["indicator"] == "maintenance"


@pytest.mark.django_db
def test_it_validates_unicode_names(client: Client) -> None:
    group = make_group("数据中心 🌏")
    names = ["API 🚀", "東京リージョン", "خدمة الدفع", "Zürich «ß»"]
    components = [make_component(name, group=group) for name in names]
    make_incident(
        "تأخير في الرسائل 📨",
        body="调查中… **مهم** 🔥",
        components={components[2]: "major_outage"},
    )

    answers = assert_every_endpoint_valid(client)

    listed = {c["name"] for c in answers["/api/v2/components.json"]["components"]}
    assert set(names) <= listed
    response = client.get("/api/v2/incidents/unresolved.json")
    assert "تأخير في الرسائل 📨".encode() in response.content


# The schemas themselves: well-formed, and strict enough to catch a broken answer.


@pytest.mark.parametrize("path", sorted(SCHEMAS.glob("*.json")), ids=lambda p: p.name)
def test_it_has_well_formed_schemas(path: Path) -> None:
    Draft202012Validator.check_schema(json.loads(path.read_text()))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "break_it",
    [
        pytest.param(lambda p: p["page"].pop("time_zone"), id="missing page key"),
        pytest.param(lambda p: p["page"].update(extra=1), id="extra page key"),
        pytest.param(
            lambda p: p["page"].update(updated_at="2022-12-14T05:04:00Z"), id="no milliseconds"
        ),
        pytest.param(
            lambda p: p["page"].update(updated_at="2022-12-14T05:04:00.000"), id="no offset"
        ),
        pytest.param(lambda p: p["status"].update(indicator="bad"), id="unknown indicator"),
        pytest.param(lambda p: p["components"][0].update(status="down"), id="component status"),
        pytest.param(lambda p: p["components"][0].pop("components"), id="group without ids"),
        pytest.param(lambda p: p["components"][1].update(components=[]), id="ids on component"),
        pytest.param(lambda p: p["components"][1].update(description=""), id="empty description"),
        pytest.param(lambda p: p["components"][1].update(id="ABC"), id="short id"),
        pytest.param(lambda p: p["incidents"][0].pop("monitoring_at"), id="omitted null"),
        pytest.param(lambda p: p["incidents"][0].update(status="scheduled"), id="incident status"),
        pytest.param(
            lambda p: p["incidents"][0]["incident_updates"][0].update(tweet_id=""), id="tweet id"
        ),
        pytest.param(
            lambda p: p["incidents"][0]["incident_updates"][0].update(affected_components=[{}]),
            id="affected component shape",
        ),
        pytest.param(
            lambda p: p["scheduled_maintenances"][0].pop("scheduled_until"), id="no window end"
        ),
        pytest.param(
            lambda p: p["scheduled_maintenances"][0].update(status="resolved"),
            id="maintenance status",
        ),
    ],
)
def test_it_rejects_a_broken_summary(client: Client, break_it: Any) -> None:
    api = make_component("API", group=make_group("Core"))
    make_incident(components={api: "partial_outage"})
    make_maintenance(components=[api])
    payload = fetch(client, "/api/v2/summary.json")
    assert_valid(payload, "summary.json")

    broken = copy.deepcopy(payload)
    break_it(broken)

    with pytest.raises(ValidationError):
        validator("summary.json").validate(broken)
