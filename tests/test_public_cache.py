"""The public cache: answers come from the cache until something public changes, then at once
reflect the change; conditional requests get 304 with no body."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from incidents import services
from tests.factories import make_component, make_incident

pytestmark = [pytest.mark.public_cache, pytest.mark.django_db(transaction=True)]

URLS = ["/", "/api/v2/summary.json", "/api/v2/status.json", "/history", "/history.atom"]


@pytest.mark.parametrize("url", URLS)
def test_a_second_request_is_served_from_the_cache_without_queries(client, url):
    make_component("API")
    first = client.get(url)
    assert first.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        second = client.get(url)
    assert second.status_code == 200
    assert second.content == first.content
    assert len(queries) == 0


def test_a_staff_update_is_visible_on_the_next_request(client):
    api = make_component("API")
    incident = make_incident("Elevated API errors", components={api: "major_outage"})
    assert b"Elevated API errors" in client.get("/").content
    assert client.get("/api/v2/summary.json").json()["status"]["indicator"] == "critical"

    services.incident_post_update(
        incident=incident, status="identified", body="A failing load balancer node."
    )
    page = client.get("/").content.decode()
    assert "A failing load balancer node." in page

    services.incident_resolve(incident=incident, body="Fixed.")
    summary = client.get("/api/v2/summary.json").json()
    assert summary["status"]["indicator"] == "none"
    assert summary["incidents"] == []


def test_a_plain_save_of_a_component_invalidates_too(client):
    api = make_component("API")
    assert b"API" in client.get("/api/v2/components.json").content
    api.name = "Public REST API"
    api.save()
    assert b"Public REST API" in client.get("/api/v2/components.json").content


@pytest.mark.parametrize("url", ["/", "/api/v2/summary.json"])
def test_a_matching_etag_gets_304_with_an_empty_body(client, url):
    make_component("API")
    first = client.get(url)
    etag = first["ETag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag


def test_a_conditional_request_on_a_cold_cache_gets_304_too(client):
    from django.core.cache import cache

    make_component("API")
    etag = client.get("/api/v2/summary.json")["ETag"]
    cache.clear()
    cold = Client().get("/api/v2/summary.json", headers={"If-None-Match": etag})
    assert cold.status_code == 304
    assert cold.content == b""


def test_a_stale_etag_gets_the_new_page(client):
    api = make_component("API")
    etag = client.get("/").get("ETag")
    make_incident("Queue delays", components={api: "degraded_performance"})
    response = client.get("/", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert b"Queue delays" in response.content


def test_answers_are_shareable_by_a_cdn(client, settings):
    settings.PUBLIC_CACHE_MAX_AGE = 20
    make_component("API")
    response = client.get("/")
    assert response["Cache-Control"] == "public, max-age=20, stale-while-revalidate=80"
    assert response["Last-Modified"].endswith("GMT")
    assert "Cookie" not in response.get("Vary", "")
    assert not response.cookies


def test_head_is_served_from_the_cache_without_a_body(client):
    make_component("API")
    get = client.get("/api/v2/summary.json")
    head = client.head("/api/v2/summary.json")
    assert head.status_code == 200
    assert head.content == b""
    assert head["Content-Length"] == str(len(get.content))
    assert head["ETag"] == get["ETag"]


def test_the_admin_is_never_cached(client, django_user_model):
    user = django_user_model.objects.create_superuser("staff", "s@example.com", "pw")
    client.force_login(user)
    first = client.get("/admin/")
    assert first.status_code == 200
    assert "public" not in first.get("Cache-Control", "")


def test_an_unknown_incident_is_not_cached_as_found(client):
    assert client.get("/incidents/doesnotexist").status_code == 404
    assert client.get("/incidents/doesnotexist").status_code == 404


def test_a_transaction_moves_the_version_once(monkeypatch):
    from statuspage import version

    bumps: list[int] = []
    real_bump = version.bump_public_version

    def counting_bump() -> None:
        bumps.append(1)
        real_bump()

    # public_changed compares against the module's function, so patch the name it schedules.
    monkeypatch.setattr(version, "bump_public_version", counting_bump)
    api = make_component("API")
    bumps.clear()
    make_incident(components={api: "major_outage"})
    assert len(bumps) == 1


def test_a_client_that_accepts_gzip_gets_the_page_compressed(client):
    import gzip

    for n in range(5):
        make_component(f"Component {n}")
    plain = client.get("/")
    packed = client.get("/", headers={"Accept-Encoding": "gzip, br"})
    assert packed["Content-Encoding"] == "gzip"
    assert packed["Vary"] == "Accept-Encoding"
    assert gzip.decompress(packed.content) == plain.content
    assert len(packed.content) < len(plain.content) / 3
    assert packed["ETag"] != plain["ETag"]
    again = client.get("/", headers={"Accept-Encoding": "gzip", "If-None-Match": packed["ETag"]})
    assert again.status_code == 304


def test_the_cached_page_moves_on_at_midnight(client):
    import datetime as dt

    import time_machine
    from django.utils import timezone

    make_component("API")
    today = timezone.localdate()
    first = client.get("/").content.decode()
    assert today.strftime("%b") in first
    with time_machine.travel(timezone.now() + dt.timedelta(days=1)):
        later = client.get("/").content.decode()
    tomorrow = today + dt.timedelta(days=1)
    assert f'datetime="{tomorrow.isoformat()}"' in later
    assert f'datetime="{tomorrow.isoformat()}"' not in first


def test_response_time_charts_are_not_held_by_the_public_cache():
    from website.caching import public_spec_for_path

    assert public_spec_for_path("/components/abc123def456") is not None
    assert public_spec_for_path("/components/abc123def456/response-time.svg") is None


def test_a_cached_answer_is_not_given_to_a_host_outside_allowed_hosts(client):
    make_component("API")
    assert client.get("/").status_code == 200
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/api/v2/summary.json", headers={"Host": "evil.example"}).status_code == 400


def test_query_strings_a_page_does_not_read_neither_render_nor_store(client):
    from django.core.cache import cache

    make_component("API")
    assert client.get("/").status_code == 200
    # The tests' cache is a LocMemCache: its private dict holds one item per stored entry.
    entries = cache._cache  # type: ignore[attr-defined]
    stored = len(entries)
    with CaptureQueriesContext(connection) as queries:
        for n in range(20):
            assert client.get(f"/?cb={n}&utm_source=x").status_code == 200
    assert len(queries) == 0
    assert len(entries) == stored
