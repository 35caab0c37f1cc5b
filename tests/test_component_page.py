"""A component's public page: its status, uptime bar, response-time chart and incidents."""

import datetime as dt

import pytest
from django.utils import timezone

from checker.models import Level
from checker.rollups import rollups_advance
from incidents import services
from tests.checker.factories import feed, make_check
from tests.factories import make_component, make_group, make_incident

pytestmark = pytest.mark.django_db


def test_it_shows_the_status_bar_chart_and_incidents(client):
    group = make_group("Data centers")
    us = make_component("US data center", group=group, description="Our main region.")
    check = make_check(us)
    feed(check, Level.UP, timezone.now() - dt.timedelta(hours=2))
    rollups_advance()
    incident = make_incident("Packet loss", components={us: "partial_outage"})
    services.incident_resolve(incident=incident, body="Fixed.")

    page = client.get(f"/components/{us.public_id}")

    assert page.status_code == 200
    html = page.content.decode()
    assert "US data center" in html and "Data centers" in html and "Our main region." in html
    assert 'class="uptime__days"' in html
    chart = f"/components/{us.public_id}/response-time.svg?range=7d"
    assert chart in html
    assert client.get(chart).status_code == 200
    assert "Packet loss" in html and incident.get_absolute_url() in html


def test_the_chart_shows_only_when_a_check_has_measured_something(client):
    plain = make_component("Docs")
    assert "response-time.svg" not in client.get(f"/components/{plain.public_id}").content.decode()
    check = make_check(plain)
    assert "response-time.svg" not in client.get(f"/components/{plain.public_id}").content.decode()
    feed(check, Level.UP, timezone.now() - dt.timedelta(hours=2))
    # Measured, but its hour not rolled up yet: the chart would have nothing to draw.
    assert "response-time.svg" not in client.get(f"/components/{plain.public_id}").content.decode()
    rollups_advance()
    assert "response-time.svg" in client.get(f"/components/{plain.public_id}").content.decode()


def test_the_home_page_links_each_component_to_its_page(client):
    api = make_component("API")
    assert f'href="/components/{api.public_id}"' in client.get("/").content.decode()


def test_hidden_and_unknown_components_are_not_found(client):
    hidden = make_component("Internal queue", is_public=False)
    hidden_group = make_group("Staff tools", is_public=False)
    grouped = make_component("Billing console", group=hidden_group)
    for public_id in (hidden.public_id, grouped.public_id, "nosuchthing1"):
        assert client.get(f"/components/{public_id}").status_code == 404


def test_draft_incidents_stay_off_the_page(client):
    api = make_component("API")
    make_incident("Secret trouble", is_draft=True, components={api: "major_outage"})
    assert "Secret trouble" not in client.get(f"/components/{api.public_id}").content.decode()


def test_the_home_page_subscribe_form_links_to_the_component_choice(client):
    make_component("API")
    html = client.get("/").content.decode()
    assert 'id="subscribe-form"' in html
    assert 'name="components"' not in html
    assert 'href="/subscriptions/"' in html
    assert 'name="components"' in client.get("/subscriptions/").content.decode()
