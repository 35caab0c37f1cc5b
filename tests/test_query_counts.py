"""The home page's SQL queries stay few and do not grow with components, groups or history."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents.demo import build_demo, build_large, wipe

MAX_QUERIES = 12


def build_small() -> None:
    """5 components (4 in a group, 1 ungrouped), 90 days of history, one open incident."""
    build_large(groups=1, per_group=4, components=5, incidents=30, days=90)


def home_page_queries(client: Client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("home"))
    assert response.status_code == 200
    return len(queries), response.content.decode()


@pytest.mark.django_db
def test_it_renders_the_small_page_in_few_queries(client, django_assert_max_num_queries):
    build_small()

    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(reverse("home"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Core API services" in page
    assert "Background processing" in page


@pytest.mark.django_db
def test_it_renders_the_standard_demo_in_few_queries(client, django_assert_max_num_queries):
    build_demo()

    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(reverse("home"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Conferencing providers" in page
    assert "Increased latency for background jobs" in page


@pytest.mark.django_db
def test_it_renders_the_large_page_in_no_more_queries_than_the_small_one(
    client, django_assert_max_num_queries
):
    build_small()
    small_count, _ = home_page_queries(client)
    wipe()
    build_large()

    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(reverse("home"))
    large_count, page = home_page_queries(client)

    assert response.status_code == 200
    assert "Payments" in page
    assert "Card payments" in page
    assert large_count <= small_count
