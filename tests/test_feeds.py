"""The Atom and RSS history feeds, read back with feedparser as a feed reader would."""

from __future__ import annotations

import datetime as dt
from typing import Any

import feedparser
import pytest
import time_machine
from django.test import Client

from incidents import services
from tests.factories import make_component, make_incident, make_maintenance

FEEDS = ["/history.atom", "/history.rss"]
SITE = "https://status.example.com"


@pytest.fixture(autouse=True)
def _site(settings: Any) -> None:
    settings.SITE_URL = SITE
    settings.STATUSPAGE_NAME = "Example"
    # These tests pin the feed views' own answers; the public cache in front has its own tests.
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if not m.endswith(".PublicCacheMiddleware")
    ]


def parse(client: Client, url: str) -> Any:
    response = client.get(url)
    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert feed.bozo == 0, feed.get("bozo_exception")
    return feed


def entry_html(entry: Any) -> str:
    return entry.content[0].value if "content" in entry else entry.description


def build_history() -> dict[str, Any]:
    start = dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.UTC)
    api = make_component("API")
    with time_machine.travel(start, tick=False):
        old = make_incident("Old outage", components={api: "major_outage"})
    with time_machine.travel(start + dt.timedelta(hours=1), tick=False):
        services.incident_resolve(incident=old, body="Fixed by *restarting* the pool.")
        services.incident_publish_postmortem(incident=old, body="## Root cause\n\nA leak.")
    with time_machine.travel(start + dt.timedelta(days=1), tick=False):
        maintenance = make_maintenance("Database upgrade")
    with time_machine.travel(start + dt.timedelta(days=2), tick=False):
        new = make_incident("Slow dashboard", impact="minor", body="Looking into it.")
    with time_machine.travel(start + dt.timedelta(days=2, minutes=20), tick=False):
        services.incident_post_update(incident=new, status="identified", body="A slow query.")
        make_incident("Draft incident", is_draft=True)
    return {"old": old, "maintenance": maintenance, "new": new}


@pytest.mark.django_db
@pytest.mark.parametrize("url", FEEDS)
def test_it_lists_public_incidents_and_maintenances_newest_first(client: Client, url: str) -> None:
    history = build_history()

    feed = parse(client, url)

    expected = [history[key] for key in ("new", "maintenance", "old")]
    assert [e.title for e in feed.entries] == [i.name for i in expected]
    links = [f"{SITE}/incidents/{i.public_id}" for i in expected]
    assert [e.id for e in feed.entries] == links
    assert [e.link for e in feed.entries] == links
    assert feed.feed.title == "Example status history"
    assert feed.feed.link == f"{SITE}/"


@pytest.mark.django_db
@pytest.mark.parametrize("url", FEEDS)
def test_it_renders_the_timeline_to_html(client: Client, url: str) -> None:
    build_history()

    entries = parse(client, url).entries

    newest = entry_html(entries[0])
    assert (
        newest.index("Identified") < newest.index("A slow query.") < newest.index("Investigating")
    )
    assert "Mar 3, 2024 09:20 UTC" in newest
    oldest = entry_html(entries[2])
    assert "<em>restarting</em>" in oldest
    assert "<h2>Root cause</h2>" in oldest
    assert oldest.index("Postmortem") < oldest.index("Resolved")
    assert "Scheduled from" in entry_html(entries[1])


@pytest.mark.django_db
def test_it_dates_the_entries(client: Client) -> None:
    build_history()

    entries = parse(client, "/history.atom").entries

    assert entries[0].published == "2024-03-03T09:00:00+00:00"
    assert entries[0].updated == "2024-03-03T09:20:00+00:00"
    assert entries[2].published == "2024-03-01T09:00:00+00:00"
    assert entries[2].updated == "2024-03-01T10:00:00+00:00"


@pytest.mark.django_db
def test_it_shows_times_in_the_page_zone(client: Client, settings: Any) -> None:
    settings.TIME_ZONE = "America/Los_Angeles"
    with time_machine.travel(dt.datetime(2024, 1, 10, 20, 30, tzinfo=dt.UTC), tick=False):
        make_incident()

    html = entry_html(parse(client, "/history.atom").entries[0])

    assert "Jan 10, 2024 12:30 PST" in html
    assert 'datetime="2024-01-10T12:30:00-08:00"' in html


@pytest.mark.django_db
@pytest.mark.parametrize("url", FEEDS)
def test_it_escapes_and_sanitizes(client: Client, url: str) -> None:
    make_incident("R&D <tools> down", body="<script>alert(1)</script> **bold**")

    response = client.get(url)
    feed = parse(client, url)

    assert b"<script>" not in response.content
    html = entry_html(feed.entries[0])
    assert "script" not in html
    assert "<strong>bold</strong>" in html
    assert feed.entries[0].title.startswith("R&D")


@pytest.mark.django_db
@pytest.mark.parametrize("url", FEEDS)
def test_it_serves_an_empty_feed(client: Client, url: str) -> None:
    make_incident("Only a draft", is_draft=True)

    assert parse(client, url).entries == []


@pytest.mark.django_db
def test_it_keeps_the_50_most_recent(client: Client) -> None:
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    for n in range(53):
        with time_machine.travel(start + dt.timedelta(hours=n), tick=False):
            make_incident(f"Incident {n}")

    entries = parse(client, "/history.atom").entries

    assert len(entries) == 50
    assert entries[0].title == "Incident 52"
    assert entries[-1].title == "Incident 3"


@pytest.mark.django_db
@pytest.mark.parametrize("url", FEEDS)
def test_it_answers_304_to_a_conditional_get(client: Client, url: str) -> None:
    make_incident()
    first = client.get(url)

    again = client.get(url, headers={"If-None-Match": first["ETag"]})

    assert again.status_code == 304
    assert again.content == b""
    assert first["Cache-Control"].startswith("public, max-age=")


@pytest.mark.django_db
def test_it_refuses_writes(client: Client) -> None:
    assert client.post("/history.atom").status_code == 405


@pytest.mark.django_db
def test_it_reads_the_feed_in_a_constant_number_of_queries(
    client: Client, django_assert_max_num_queries: Any
) -> None:
    for n in range(12):
        incident = make_incident(f"Incident {n}")
        services.incident_post_update(incident=incident, status="identified", body=f"Cause {n}")

    # Incidents with their updates, and the page settings (the feed's title names the page).
    with django_assert_max_num_queries(3):
        assert client.get("/history.atom").status_code == 200
