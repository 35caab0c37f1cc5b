"""Debian's nginx with the shipped configuration (deploy/nginx/) serves the published mirror, and
keeps serving every public URL when the application server is stopped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.site_processes import Site, running_site


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    with running_site(tmp_path_factory.mktemp("nginx-site")) as instance:
        yield instance


def _public_urls(site: Site) -> list[str]:
    summary = httpx.get(site.url("/api/v2/summary.json")).json()
    incidents = httpx.get(site.url("/api/v2/incidents.json")).json()["incidents"]
    component = next(c for c in summary["components"] if not c["group"])
    incident = incidents[0]
    return [
        "/",
        "/?utm_source=newsletter",
        "/history",
        "/history?page=2",
        "/history.atom",
        "/history.rss",
        "/badge.svg",
        f"/badge/{component['id']}.svg",
        f"/components/{component['id']}",
        f"/incidents/{incident['id']}",
        "/live",
        "/api/v2/summary.json",
        "/api/v2/status.json",
        "/api/v2/components.json",
        "/api/v2/incidents.json",
        "/api/v2/incidents/unresolved.json",
        f"/api/v2/incidents/{incident['id']}.json",
        "/api/v2/scheduled-maintenances.json",
        "/api/v2/scheduled-maintenances/upcoming.json",
        "/api/v2/scheduled-maintenances/active.json",
    ]


def test_nginx_serves_the_published_site_as_the_application_server_would(site):
    for path in ("/api/v2/summary.json", "/api/v2/components.json", "/history.atom"):
        direct = httpx.get(f"http://127.0.0.1:{site.app_port}{path}")
        through = httpx.get(site.url(path))
        assert through.status_code == 200
        assert through.content == direct.content, path
        assert through.headers["content-type"] == direct.headers["content-type"], path
    api = httpx.get(site.url("/api/v2/summary.json"))
    assert api.headers["access-control-allow-origin"] == "*"
    assert json.loads(api.content)["page"]["name"]


def test_nginx_sends_the_precompressed_bodies(site):
    packed = httpx.get(site.url("/"), headers={"Accept-Encoding": "br"})
    assert packed.headers["content-encoding"] == "br"
    zipped = httpx.get(site.url("/"), headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    plain = httpx.get(site.url("/"), headers={"Accept-Encoding": "identity"})
    # httpx decodes both; what travelled is the published compressed file.
    assert packed.content == plain.content
    assert zipped.content == plain.content
    published = Path(site.env["PUBLISH_ROOT"]) / "current"
    assert packed.num_bytes_downloaded == (published / "index.html.br").stat().st_size
    assert zipped.num_bytes_downloaded == (published / "index.html.gz").stat().st_size


def test_the_live_poll_is_empty_for_the_current_token(site):
    home = httpx.get(site.url("/")).text
    token = home.split("/live?v=", 1)[1].split('"', 1)[0]
    current = httpx.get(site.url(f"/live?v={token}"))
    assert current.status_code == 200
    assert current.content == b""
    stale = httpx.get(site.url("/live?v=0"))
    assert 'id="components"' in stale.text
    assert httpx.get(site.url("/live?v=../index.html")).content != home.encode()


def test_a_hostile_page_parameter_stays_inside_the_mirror(site):
    page = httpx.get(site.url("/history?page=../../../../etc/passwd"))
    assert page.status_code == 200
    assert "root:" not in page.text


def test_with_the_database_gone_every_public_page_answers_and_a_sign_up_says_503(site):
    database = Path(site.env["DATABASE_URL"].removeprefix("sqlite:///"))
    kept = database.with_suffix(".kept")
    database.rename(kept)
    try:
        database.write_bytes(b"this file is not a database " * 100)
        assert httpx.get(site.url("/")).status_code == 200
        assert httpx.get(site.url("/api/v2/summary.json")).status_code == 200
        app = f"http://127.0.0.1:{site.app_port}"
        # A sign-up page: its standby copy, which takes nothing.
        paused = httpx.get(f"{app}/subscriptions/")
        assert paused.status_code == 200
        assert "Sign-ups are paused for a moment" in paused.text
        assert "<form" not in paused.text
        # A public page the publication never held: missing, as far as anyone can tell.
        assert httpx.get(f"{app}/incidents/not-published-yet").status_code == 404
        # What would need the database to act is refused, and says when to come back.
        posted = httpx.post(f"{app}/subscriptions/", data={"email": "someone@example.com"})
        assert posted.status_code == 503
        assert posted.headers["retry-after"] == "30"
    finally:
        kept.replace(database)
    assert httpx.get(f"http://127.0.0.1:{site.app_port}/subscriptions/").status_code == 200


def test_with_the_application_server_stopped_every_public_url_still_answers(site):
    urls = _public_urls(site)
    before = {path: httpx.get(site.url(path)).content for path in urls}
    charts = [path + "/response-time.svg" for path in urls if path.startswith("/components/")]
    before_charts = {
        chart + query: httpx.get(site.url(chart + query)).content
        for chart in charts
        for query in ("", "?range=7d")
    }
    site.stop_app()
    for path in urls:
        response = httpx.get(site.url(path))
        assert response.status_code == 200, path
        assert response.content == before[path], path
    stylesheet = before["/"].decode().split('rel="stylesheet" href="', 1)[1].split('"', 1)[0]
    assert httpx.get(site.url(stylesheet)).status_code == 200
    missing = httpx.get(site.url("/incidents/doesnotexist"))
    assert missing.status_code == 503
    assert missing.headers["retry-after"] == "30"
    # The sign-up pages and the charts: the standby copies the publication keeps.
    for path in ("/subscriptions/", "/subscriptions/webhooks"):
        paused = httpx.get(site.url(path))
        assert paused.status_code == 200, path
        assert "Sign-ups are paused for a moment" in paused.text, path
        assert paused.headers["cache-control"] == "no-store", path
    chart = charts[0]
    for query in ("", "?range=7d"):
        answer = httpx.get(site.url(chart + query))
        assert answer.status_code == 200, query
        assert answer.headers["content-type"].startswith("image/svg+xml"), query
        assert answer.content == before_charts[chart + query], query
    # Never by their own address.
    assert httpx.get(site.url("/_standby/subscriptions/index.html")).status_code != 200
