"""Live updates of the home page: a poll answers 204 while nothing changed, otherwise the
page's sections to swap in place."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents import services
from tests.factories import make_component, make_incident

pytestmark = pytest.mark.django_db(transaction=True)

SECTIONS = ["status-banner", "active-incidents", "maintenances", "components", "past-incidents"]


def poll_url(page: str) -> str:
    match = re.search(r'hx-get="(/live\?v=[^"]+)"', page)
    assert match, "the page has no live-update poller"
    return match.group(1)


def test_the_home_page_polls_for_news_and_loads_htmx(client):
    make_component("API")
    page = client.get("/").content.decode()
    assert 'hx-trigger="every 30s"' in page
    assert "htmx" in page and "<script" in page
    for section in SECTIONS:
        assert f'id="{section}"' in page


def test_a_poll_with_nothing_new_is_204_without_queries(client):
    make_component("API")
    url = poll_url(client.get("/").content.decode())
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.content == b""
    assert len(queries) == 0


@pytest.mark.public_cache
def test_a_poll_after_a_change_brings_the_sections_out_of_band(client):
    api = make_component("API")
    url = poll_url(client.get("/").content.decode())
    incident = make_incident("Login failures", components={api: "major_outage"})

    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    for section in SECTIONS:
        assert re.search(rf'id="{section}"[^>]*hx-swap-oob="true"', body), section
    assert "Login failures" in body
    assert "Major System Outage" in body
    next_url = poll_url(body)
    assert next_url != url

    assert client.get(next_url).status_code == 204
    services.incident_resolve(incident=incident, body="Fixed.")
    resolved = client.get(next_url).content.decode()
    assert "All Systems Operational" in resolved


def test_polling_can_be_turned_off(client, settings):
    settings.LIVE_UPDATE_SECONDS = 0
    make_component("API")
    page = client.get("/").content.decode()
    assert "hx-get" not in page
