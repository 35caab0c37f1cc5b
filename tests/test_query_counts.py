"""The home page's SQL queries stay few and do not grow with components, groups or history."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents.demo import build_demo, build_large, wipe

MAX_QUERIES = 12


def build_short_history() -> None:
    """3 components (2 in one group, 1 ungrouped), 8 incidents over 120 days, one still open."""
    build_large(groups=1, per_group=2, components=3, incidents=8, days=120, open_incidents=1)


def build_longer_history() -> None:
    """Four times the components, groups and ungrouped ones, eight times the incidents over
    three times the days (so part of it is backfilled history before the page's window), two
    still open: any query made per component, group or incident shows up as a higher count."""
    build_large(groups=3, per_group=3, components=12, incidents=64, days=365, open_incidents=2)


def home_page_queries(client: Client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("home"))
    assert response.status_code == 200
    return len(queries), response.content.decode()


@pytest.mark.django_db
def test_it_renders_the_standard_demo_in_few_queries(client):
    build_demo()

    count, page = home_page_queries(client)

    assert count <= MAX_QUERIES
    assert "Conferencing providers" in page
    assert "Increased latency for background jobs" in page


@pytest.mark.django_db
def test_a_longer_history_takes_exactly_as_many_queries_as_a_short_one(client):
    build_short_history()
    short_count, short_page = home_page_queries(client)
    wipe()
    build_longer_history()
    longer_count, longer_page = home_page_queries(client)

    # The two pages really differ in size, so equal counts mean the count does not grow.
    assert "Core API services" in short_page
    assert "Data centers" not in short_page
    assert "Data centers" in longer_page
    assert "Conferencing providers" in longer_page
    assert short_count <= MAX_QUERIES
    assert longer_count == short_count
