"""The SVG status badges, parsed as XML: their texts, colours and headers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from django.test import Client

from incidents import services
from tests.factories import make_component, make_group, make_incident, make_maintenance
from website.caching import public_cache_control

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def _views_without_the_public_cache(settings: Any) -> None:
    """These tests pin the badge views' own answers; the public cache has its own tests."""
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if not m.endswith(".PublicCacheMiddleware")
    ]


def parse_badge(client: Client, url: str) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{SVG}svg"
    texts = [t.text for t in root.iter(f"{SVG}text") if t.get("aria-hidden") != "true"]
    fills = [r.get("fill") for r in root.iterfind(f"{SVG}g/{SVG}rect")]
    return {
        "texts": texts,
        "label_colour": fills[0],
        "colour": fills[1],
        "title": root.findtext(f"{SVG}title"),
        "aria_label": root.get("aria-label"),
        "width": int(root.get("width", "")),
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("component_status", "impact", "message", "colour"),
    [
        ("operational", None, "All Systems Operational", "#4c1"),
        ("under_maintenance", None, "Service Under Maintenance", "#007ec6"),
        ("degraded_performance", None, "Minor Service Outage", "#dfb317"),
        ("partial_outage", None, "Partial System Outage", "#fe7d37"),
        ("operational", "critical", "Major System Outage", "#e05d44"),
    ],
)
def test_it_shows_the_overall_status(
    client: Client, component_status: str, impact: str | None, message: str, colour: str
) -> None:
    make_component(status=component_status)
    if impact:
        make_incident(impact=impact)

    badge = parse_badge(client, "/badge.svg")

    assert badge["texts"] == ["status", message]
    assert badge["colour"] == colour
    assert badge["label_colour"] == "#555"
    assert badge["aria_label"] == f"status: {message}"


@pytest.mark.django_db
def test_it_follows_the_roll_up_when_an_incident_opens_and_resolves(client: Client) -> None:
    api = make_component("API")
    incident = make_incident(components={api: "major_outage"})
    assert parse_badge(client, "/badge.svg")["texts"][1] == "Major System Outage"

    services.incident_resolve(incident=incident, body="Fixed.")

    assert parse_badge(client, "/badge.svg")["texts"][1] == "All Systems Operational"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "message", "colour"),
    [
        ("operational", "Operational", "#4c1"),
        ("degraded_performance", "Degraded performance", "#dfb317"),
        ("partial_outage", "Partial outage", "#fe7d37"),
        ("major_outage", "Major outage", "#e05d44"),
        ("under_maintenance", "Under maintenance", "#007ec6"),
    ],
)
def test_it_shows_a_components_status(
    client: Client, status: str, message: str, colour: str
) -> None:
    component = make_component("Payments API", status=status, group=make_group())

    badge = parse_badge(client, f"/badge/{component.public_id}.svg")

    assert badge["texts"] == ["Payments API", message]
    assert badge["colour"] == colour


@pytest.mark.django_db
def test_it_shows_a_running_maintenance_on_its_component(client: Client) -> None:
    db = make_component("Database")
    maintenance = make_maintenance(components=[db])
    services.maintenance_start(maintenance=maintenance)

    badge = parse_badge(client, f"/badge/{db.public_id}.svg")

    assert badge["texts"] == ["Database", "Under maintenance"]


@pytest.mark.django_db
def test_it_escapes_names(client: Client) -> None:
    component = make_component("R&D <\"tools\"> 'x' </text><script>alert(1)</script>")

    response = client.get(f"/badge/{component.public_id}.svg")
    badge = parse_badge(client, f"/badge/{component.public_id}.svg")

    assert b"<script>" not in response.content
    assert badge["texts"][0] == component.name
    assert badge["title"] == f"{component.name}: Operational"
    assert response["Content-Security-Policy"].startswith("default-src 'none'")


@pytest.mark.django_db
def test_it_widens_the_badge_for_longer_names(client: Client) -> None:
    short = make_component("DB")
    long = make_component("Customer-facing GraphQL gateway")
    wide = make_component("東京リージョン")

    widths = {
        c.name: parse_badge(client, f"/badge/{c.public_id}.svg")["width"]
        for c in (short, long, wide)
    }

    assert widths["DB"] < widths["東京リージョン"] < widths["Customer-facing GraphQL gateway"]


@pytest.mark.django_db
def test_it_answers_404_for_hidden_and_unknown_components(client: Client) -> None:
    hidden = make_component("Hidden", is_public=False)
    in_hidden_group = make_component("Child", group=make_group(is_public=False))

    for public_id in (hidden.public_id, in_hidden_group.public_id, "abcdefghijkl"):
        response = client.get(f"/badge/{public_id}.svg")
        assert response.status_code == 404
        assert b"Hidden" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/badge.svg", "badge-of-component"])
def test_it_is_cacheable_briefly_and_conditional(client: Client, url: str) -> None:
    component = make_component()
    if url == "badge-of-component":
        url = f"/badge/{component.public_id}.svg"

    first = client.get(url)
    again = client.get(url, headers={"If-None-Match": first["ETag"]})
    head = client.head(url)

    assert first["Cache-Control"] == public_cache_control()
    assert again.status_code == 304
    assert again.content == b""
    assert (head.status_code, head.content, head["ETag"]) == (200, b"", first["ETag"])


@pytest.mark.django_db
def test_it_refuses_writes(client: Client) -> None:
    assert client.post("/badge.svg").status_code == 405
