"""The published site: every public answer is rendered once per change into a folder, and the
fast path serves it from memory whatever else is down: the database, the cache, a render."""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import io
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import brotli
import pytest
import time_machine
from django.core.cache import caches
from django.core.wsgi import get_wsgi_application
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone

from checker.models import RollupMark, RollupPeriod
from incidents import services
from tests.checker.factories import make_check
from tests.factories import make_component, make_incident, make_maintenance
from tests.site_processes import free_port, require, wait_for
from website import publishing
from website.fastpath import PublishedSite

pytestmark = [pytest.mark.published, pytest.mark.django_db(transaction=True)]


class Counting:
    """The real Django application, counting the requests that reach it."""

    def __init__(self) -> None:
        self.app = get_wsgi_application()
        self.paths: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.paths.append(environ["PATH_INFO"])
        return self.app(environ, start_response)


class Answer:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status_code = int(status.split()[0])
        self.headers = {name.lower(): value for name, value in headers}
        self.body = body

    def text(self) -> str:
        encoding = self.headers.get("content-encoding")
        if encoding == "gzip":
            return gzip.decompress(self.body).decode()
        if encoding == "br":
            return brotli.decompress(self.body).decode()
        return self.body.decode()


def published() -> publishing.Manifest:
    """The live publication, which every test here has once its story is written."""
    manifest = publishing.current_manifest()
    assert manifest is not None, "nothing is published"
    return manifest


def call(app: Any, url: str, *, method: str = "GET", **headers: str) -> Answer:
    path, _, query = url.partition("?")
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper()] = value
    captured: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], *_: Any) -> None:
        captured["status"], captured["headers"] = status, response_headers

    body = b"".join(app(environ, start_response))
    return Answer(captured["status"], captured["headers"], body)


@pytest.fixture
def site(settings) -> Iterator[tuple[PublishedSite, Counting]]:
    settings.PUBLISH_RELOAD_MS = 0
    django_app = Counting()
    yield PublishedSite(django_app), django_app


SIGN_UP_PAGES = ("/subscriptions/", "/subscriptions/webhooks", "/subscriptions/chat")


def public_urls(api, incident, maintenance) -> list[str]:
    return [
        "/",
        "/history",
        "/history.atom",
        "/history.rss",
        "/badge.svg",
        f"/badge/{api.public_id}.svg",
        f"/components/{api.public_id}",
        f"/incidents/{incident.public_id}",
        f"/incidents/{maintenance.public_id}",
        "/live",
        "/api/v2/summary.json",
        "/api/v2/status.json",
        "/api/v2/components.json",
        "/api/v2/incidents.json",
        "/api/v2/incidents/unresolved.json",
        f"/api/v2/incidents/{incident.public_id}.json",
        "/api/v2/scheduled-maintenances.json",
        "/api/v2/scheduled-maintenances/upcoming.json",
        "/api/v2/scheduled-maintenances/active.json",
        f"/api/v2/scheduled-maintenances/{maintenance.public_id}.json",
    ]


@pytest.fixture
def story():
    api = make_component("API")
    incident = make_incident("Elevated API errors", components={api: "major_outage"})
    maintenance = make_maintenance("Database upgrade", components=[api])
    return api, incident, maintenance


def test_a_change_publishes_every_public_url_and_the_fast_path_serves_it_alone(site, story):
    app, django_app = site
    assert publishing.current_manifest() is not None
    for url in public_urls(*story):
        answer = call(app, url)
        assert answer.status_code == 200, url
    assert django_app.paths == []


def test_published_documents_are_what_the_views_answer(site, story, client, settings):
    app, _ = site
    api, incident, maintenance = story
    # Every document refreshed, page.updated_at included (see the next test).
    settings.PUBLISH_INTERVAL_SECONDS = 0
    publishing.publish(force=True)
    for url in public_urls(*story):
        if not url.startswith("/api/") and not url.endswith((".svg", ".atom", ".rss")):
            continue
        assert call(app, url).body == client.get(url).content, url


def test_an_unchanged_incident_document_takes_a_new_page_stamp_once_an_interval(
    site, story, client, settings
):
    app, _ = site
    _api, incident, maintenance = story
    url = f"/api/v2/incidents/{incident.public_id}.json"
    maintenance_url = f"/api/v2/scheduled-maintenances/{maintenance.public_id}.json"
    services.incident_post_update(incident=incident, status="identified", body="Found it.")
    fresh = json.loads(call(app, url).body)
    assert fresh["incident"]["incident_updates"][0]["body"] == "Found it."
    assert fresh["page"] == client.get(url).json()["page"]
    # A change elsewhere: the untouched maintenance keeps the stamp it was rendered with...
    before = json.loads(call(app, maintenance_url).body)["page"]["updated_at"]
    services.incident_post_update(incident=incident, status="monitoring", body="Watching.")
    assert json.loads(call(app, maintenance_url).body)["page"]["updated_at"] == before
    # ...until a publication interval has passed.
    settings.PUBLISH_INTERVAL_SECONDS = 0
    publishing.publish(force=True)
    assert call(app, maintenance_url).body == client.get(maintenance_url).content


def test_a_staff_update_is_published_before_the_write_returns_in_inline_mode(site, story):
    app, _ = site
    _api, incident, _maintenance = story
    services.incident_post_update(incident=incident, status="identified", body="A bad node.")
    assert "A bad node." in call(app, f"/incidents/{incident.public_id}").text()
    assert "A bad node." in call(app, "/").text()


def test_unknown_query_parameters_are_the_published_page(site, story):
    app, django_app = site
    plain = call(app, "/")
    for url in ("/?cb=1", "/?utm_source=x&cb=2", "/history?cb=3", "/api/v2/summary.json?x=1"):
        answer = call(app, url)
        assert answer.status_code == 200, url
    assert call(app, "/?cb=99").body == plain.body
    assert django_app.paths == []


def test_a_page_parameter_the_history_does_not_have_goes_to_the_view(site, story):
    app, django_app = site
    assert call(app, "/history?page=1").body == call(app, "/history").body
    assert call(app, "/history?page=abc").status_code == 404
    assert django_app.paths == ["/history"]


def test_live_answers_204_for_the_published_token_and_the_sections_otherwise(site, story):
    app, django_app = site
    token = published().token
    assert f"/live?v={token}" in call(app, "/").text()
    assert call(app, f"/live?v={token}").status_code == 204
    stale = call(app, "/live?v=old")
    assert stale.status_code == 200
    assert 'id="components"' in stale.text()
    assert django_app.paths == []


def test_encodings_and_conditional_requests(site, story):
    app, _ = site
    for name in ("First", "Second", "Third", "Fourth"):
        make_component(f"{name} component with a long name to make the page big enough")
    plain = call(app, "/")
    packed = call(app, "/", accept_encoding="gzip, deflate, br")
    assert packed.headers["content-encoding"] == "br"
    assert packed.text() == plain.text()
    gzipped = call(app, "/", accept_encoding="gzip")
    assert gzipped.headers["content-encoding"] == "gzip"
    assert gzipped.text() == plain.text()
    assert len({plain.headers["etag"], packed.headers["etag"], gzipped.headers["etag"]}) == 3
    assert packed.headers["vary"] == "Accept-Encoding"
    again = call(app, "/", accept_encoding="br", if_none_match=packed.headers["etag"])
    assert again.status_code == 304
    assert again.body == b""
    head = call(app, "/", method="HEAD")
    assert head.status_code == 200
    assert head.body == b""
    assert head.headers["content-length"] == str(len(plain.body))


def test_published_answers_keep_the_headers_of_the_stack(site, story, client):
    app, _ = site
    page = call(app, "/")
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"].startswith("public, max-age=")
    summary = call(app, "/api/v2/summary.json")
    assert summary.headers["access-control-allow-origin"] == "*"
    assert summary.headers["content-type"] == "application/json; charset=utf-8"
    badge = call(app, "/badge.svg")
    assert (
        badge.headers["content-security-policy"]
        == client.get("/badge.svg")["Content-Security-Policy"]
    )


def test_a_host_that_is_not_allowed_is_left_to_django(site, story):
    app, django_app = site
    answer = call(app, "/", host="evil.example")
    assert answer.status_code == 400
    assert django_app.paths == ["/"]


def test_with_the_database_down_every_published_url_still_answers(site, story, django_db_blocker):
    app, _ = site
    urls = public_urls(*story)
    with django_db_blocker.block():
        for url in urls:
            assert call(app, url).status_code == 200, url
        assert call(app, "/?utm_source=newsletter").status_code == 200


def test_with_the_cache_empty_and_the_database_down_the_site_still_answers(
    site, story, django_db_blocker
):
    app, _ = site
    caches["default"].clear()
    fresh = PublishedSite(get_wsgi_application())  # a new process: nothing in memory
    with django_db_blocker.block():
        for url in public_urls(*story):
            assert call(fresh, url).status_code == 200, url


@contextlib.contextmanager
def database_failing() -> Iterator[None]:
    """Every statement fails as when the database server is gone (through Django's own hook for
    wrapping the statements a connection runs)."""

    def refuse(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        raise OperationalError("could not connect to server: Connection refused")

    with connection.execute_wrapper(refuse):
        yield


def test_with_the_database_down_sign_up_pages_answer_their_standby_copy(site, story):
    app, _ = site
    live = {url: call(app, url).text() for url in SIGN_UP_PAGES}
    assert 'id="subscribe-form"' in live["/subscriptions/"]
    assert 'id="webhook-signup"' in live["/subscriptions/webhooks"]
    with database_failing():
        for url in SIGN_UP_PAGES:
            answer = call(app, url, accept_encoding="gzip, br")
            assert answer.status_code == 200, url
            assert answer.headers["cache-control"] == "no-store", url
            text = answer.text()
            assert "Sign-ups are paused for a moment" in text, url
            assert "<form" not in text, url
            assert "csrfmiddlewaretoken" not in text, url
        # Nothing can be taken meanwhile: a sign-up is refused, not lost silently.
        posted = call(app, "/subscriptions/", method="POST")
        assert posted.status_code == 503
    # The database back, the pages are live again.
    assert 'id="subscribe-form"' in call(app, "/subscriptions/").text()


def test_with_the_database_down_a_chart_answers_as_last_drawn(site, story):
    app, _ = site
    api, _incident, _maintenance = story
    urls = [
        f"/components/{api.public_id}/response-time.svg",
        f"/components/{api.public_id}/response-time.svg?range=7d",
        f"/components/{api.public_id}/response-time.svg?range=90d&utm_source=x",
    ]
    before = {url: call(app, url).body for url in urls}
    with database_failing():
        for url in urls:
            answer = call(app, url)
            assert answer.status_code == 200, url
            assert answer.headers["content-type"].startswith("image/svg+xml"), url
            assert answer.body == before[url], url


def test_a_charts_standby_copy_is_drawn_again_only_when_what_it_shows_moves(story):
    api, _incident, _maintenance = story
    key = f"standby:/components/{api.public_id}/response-time.svg?range=24h"

    def copy(manifest: publishing.Manifest | None) -> Path:
        assert manifest is not None
        return publishing.root() / manifest.token / manifest.artifacts[key][0]

    # Three minutes into an hour, so that no hour nor ten minutes end during the test.
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    with time_machine.travel(hour + dt.timedelta(minutes=3), tick=True):
        first = copy(publishing.publish(force=True))
        second = copy(publishing.publish(force=True))
        assert os.path.samefile(first, second)  # linked, not drawn again

        make_check(api, name="Front door")  # something to draw now
        third = copy(publishing.publish(force=True))
        assert not os.path.samefile(second, third)
        assert "Front door" in third.read_text()

        # The checker closes an hour for good.
        RollupMark.objects.create(period=RollupPeriod.HOUR, start=hour - dt.timedelta(hours=1))
        fourth = copy(publishing.publish(force=True))
        assert not os.path.samefile(third, fourth)
        fifth = copy(publishing.publish(force=True))
        assert os.path.samefile(fourth, fifth)


def test_with_the_database_down_a_page_the_publication_never_held_is_missing(site, story):
    app, _ = site
    folder = publishing.current_folder()
    assert folder is not None
    published_404 = (folder / "404.html").read_bytes()
    with database_failing():
        for url in ("/incidents/no-such-incident", "/history?page=999", "/components/nope"):
            answer = call(app, url)
            assert answer.status_code == 404, url
            assert answer.headers["cache-control"] == "no-store", url
            assert answer.body == published_404, url
        document = call(app, "/api/v2/incidents/no-such-incident.json")
        assert document.status_code == 404
        assert json.loads(document.body) == {"error": "Not found"}
        assert document.headers["access-control-allow-origin"] == "*"


def test_a_reader_during_a_publish_gets_the_previous_publication_whole(site, story, settings):
    app, _ = site
    _api, incident, _maintenance = story
    before = call(app, f"/incidents/{incident.public_id}").text()
    settings.PUBLISH_MODE = "off"  # announce nothing; publish by hand below
    services.incident_post_update(incident=incident, status="identified", body="Found it.")
    settings.PUBLISH_MODE = "inline"

    seen: list[str] = []
    reading = threading.Event()
    stop = threading.Event()

    def read() -> None:
        reading.set()
        while not stop.is_set():
            seen.append(call(app, f"/incidents/{incident.public_id}").text())

    reader = threading.Thread(target=read)
    reader.start()
    reading.wait()
    publishing.publish(force=True)
    time.sleep(0.05)
    stop.set()
    reader.join()
    assert seen, "the reader read nothing"
    assert {text for text in seen} <= {before, call(app, f"/incidents/{incident.public_id}").text()}
    assert "Found it." in seen[-1]


def test_only_one_publisher_builds_at_a_time(story):
    with publishing._exclusive() as mine:
        assert mine
        assert publishing.publish(force=True) is None


def test_unchanged_incident_pages_are_linked_not_rendered_again(story):
    _api, incident, _maintenance = story
    first = publishing.publish(force=True)
    second = publishing.publish(force=True)
    assert first and second
    key = f"/incidents/{incident.public_id}"
    first_file = publishing.root() / first.token / first.artifacts[key][0]
    second_file = publishing.root() / second.token / second.artifacts[key][0]
    assert os.path.samefile(first_file, second_file)
    services.incident_post_update(incident=incident, status="identified", body="Moved on.")
    third = published()
    third_file = publishing.root() / third.token / third.artifacts[key][0]
    assert not os.path.samefile(second_file, third_file)
    assert "Moved on." in third_file.read_text()


def test_old_publications_are_pruned(story, settings):
    settings.PUBLISH_KEEP = 2
    for _ in range(4):
        publishing.publish(force=True)
    folders = [p for p in publishing.root().iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(folders) == 2, sorted(p.name for p in folders)


def test_the_folder_is_laid_out_for_a_plain_web_server(story):
    api, incident, maintenance = story
    folder = publishing.current_folder()
    assert folder is not None
    token = published().token
    for relative in (
        "index.html",
        "history.html",
        "history.atom",
        "history.rss",
        "badge.svg",
        f"badge/{api.public_id}.svg",
        f"components/{api.public_id}.html",
        f"incidents/{incident.public_id}.html",
        "live.html",
        f"live/{token}",
        "api/v2/summary.json",
        f"api/v2/incidents/{incident.public_id}.json",
        f"api/v2/scheduled-maintenances/{maintenance.public_id}.json",
        "404.html",
    ):
        assert (folder / relative).is_file(), relative


def test_time_alone_republishes(story, settings):
    import time_machine

    first = published()
    assert not publishing.needs_publishing()
    with time_machine.travel(time.time() + settings.PUBLISH_INTERVAL_SECONDS + 1):
        assert publishing.needs_publishing()
        later = publishing.publish()
    assert later is not None and later.token != first.token


def test_a_publish_that_fails_keeps_the_previous_publication(story, django_db_blocker):
    before = published()
    with django_db_blocker.block(), pytest.raises(RuntimeError):
        publishing.publish(force=True)
    assert published().token == before.token
    assert not list(publishing.root().glob(".build-*"))


# A real Redis, started by the test, stopped under the site


@pytest.fixture
def private_redis(tmp_path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    server = shutil.which("redis-server")
    require(server is not None, "redis-server is not installed")
    assert server is not None
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for(port, timeout=10)
    yield f"redis://127.0.0.1:{port}/0", process
    process.kill()
    process.wait()


def test_with_redis_stopped_every_public_url_still_answers(private_redis, settings, site):
    url, process = private_redis
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    api = make_component("API")
    incident = make_incident("Elevated API errors", components={api: "major_outage"})
    maintenance = make_maintenance("Database upgrade", components=[api])
    app, _ = site
    process.kill()
    process.wait()
    for public_url in public_urls(api, incident, maintenance):
        assert call(app, public_url).status_code == 200, public_url
    # A public URL the publication does not hold yet renders through Django, cache or not.
    newer = make_incident("Queue delays", components={api: "degraded_performance"})
    assert b"Queue delays" in Client().get(f"/incidents/{newer.public_id}").content


@pytest.mark.parametrize("page", ["\u0663", "9" * 5000, "99999999999999999999", "-1", "0", "1.5"])
def test_a_history_page_that_cannot_exist_is_404_not_an_error(client, page):
    assert client.get("/history", {"page": page}).status_code == 404


def test_a_component_status_change_does_not_render_every_incident_page_again(story):
    from statuspage.services import component_set_status

    api, incident, _maintenance = story
    before = published()
    component_set_status(component=api, status="partial_outage")
    after = published()
    assert after.token != before.token
    key = f"/incidents/{incident.public_id}"
    assert os.path.samefile(
        publishing.root() / before.token / before.artifacts[key][0],
        publishing.root() / after.token / after.artifacts[key][0],
    )
    # A rename is something every incident page naming the component shows: all render again.
    api.name = "Public API"
    api.save()
    renamed = published()
    page = publishing.root() / renamed.token / renamed.artifacts[key][0]
    assert "Public API" in page.read_text()


def test_the_pages_static_files_are_served_from_the_publication(site, story, settings, tmp_path):
    app, django_app = site
    static_root = tmp_path / "collected"
    (static_root / "css").mkdir(parents=True)
    (static_root / "admin").mkdir()
    css = b"body { color: black; }\n" * 100
    (static_root / "css" / "site.0123456789ab.css").write_bytes(css)
    (static_root / "css" / "site.0123456789ab.css.gz").write_bytes(gzip.compress(css))
    (static_root / "css" / "site.css").write_bytes(css)
    (static_root / "admin" / "base.css").write_bytes(b"admin")
    settings.STATIC_ROOT = static_root
    publishing.publish(force=True)

    hashed = call(app, "/static/css/site.0123456789ab.css", accept_encoding="gzip")
    assert hashed.status_code == 200
    assert hashed.headers["content-encoding"] == "gzip"
    assert hashed.text().encode() == css
    assert hashed.headers["content-type"] == "text/css; charset=utf-8"
    assert hashed.headers["cache-control"] == "public, max-age=31536000, immutable"
    plain = call(app, "/static/css/site.css")
    assert plain.body == css
    assert plain.headers["cache-control"] == "public, max-age=60"
    again = call(app, "/static/css/site.css", if_none_match=plain.headers["etag"])
    assert again.status_code == 304
    assert django_app.paths == []
    # Only the public pages' files are published, and nothing outside the folder is reachable.
    for path in ("/static/admin/base.css", "/static/../manifest.json", "/static/css/site.css.gz"):
        call(app, path)
    assert django_app.paths == [
        "/static/admin/base.css",
        "/static/../manifest.json",
        "/static/css/site.css.gz",
    ]


def _same_file(before: publishing.Manifest, after: publishing.Manifest, key: str) -> bool:
    return os.path.samefile(
        publishing.root() / before.token / before.artifacts[key][0],
        publishing.root() / after.token / after.artifacts[key][0],
    )


def test_a_component_page_renders_again_only_when_what_it_shows_changes(story):
    from statuspage.services import component_set_status

    api, _incident, _maintenance = story
    quiet = make_component("Website")
    web_page, web_badge = f"/components/{quiet.public_id}", f"/badge/{quiet.public_id}.svg"
    api_page, api_badge = f"/components/{api.public_id}", f"/badge/{api.public_id}.svg"
    first = publishing.publish(force=True)
    assert first is not None
    # Another component's status changes: this page and badge are the previous files.
    component_set_status(component=api, status="partial_outage")
    second = published()
    assert second.token != first.token
    assert _same_file(first, second, web_page) and _same_file(first, second, web_badge)
    assert not _same_file(first, second, api_page) and not _same_file(first, second, api_badge)
    assert (
        "Partial outage"
        in (publishing.root() / second.token / "badge" / f"{api.public_id}.svg").read_text()
    )
    # Its own status changes: both are rendered again and say so.
    component_set_status(component=quiet, status="major_outage")
    third = published()
    assert not _same_file(second, third, web_page) and not _same_file(second, third, web_badge)
    page = (publishing.root() / third.token / third.artifacts[web_page][0]).read_text()
    assert "Major outage" in page


def test_a_page_that_moves_with_the_clock_renders_again_each_interval(story, settings):
    import time_machine

    api, _incident, _maintenance = story  # the API has an open incident: its bar grows
    quiet = make_component("Website")
    first = publishing.publish(force=True)
    assert first is not None
    with time_machine.travel(time.time() + settings.PUBLISH_INTERVAL_SECONDS + 1):
        later = publishing.publish()
    assert later is not None and later.token != first.token
    assert not _same_file(first, later, f"/components/{api.public_id}")
    assert _same_file(first, later, f"/components/{quiet.public_id}")


def test_dropped_publications_are_deleted_off_the_publishers_path(story, settings):
    settings.PUBLISH_KEEP = 2
    settings.PUBLISH_MODE = "thread"
    for _ in range(4):
        publishing.publish(force=True)
    live = [
        p
        for p in publishing.root().iterdir()
        if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")
    ]
    assert len(live) == 2, sorted(p.name for p in live)
    deadline = time.monotonic() + 30
    while list(publishing.root().glob(f"{publishing.TRASH}*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not list(publishing.root().glob(f"{publishing.TRASH}*"))


def test_a_history_page_renders_again_only_when_its_incidents_change(story):
    from statuspage.services import component_set_status

    api, incident, _maintenance = story
    first = publishing.publish(force=True)
    assert first is not None
    component_set_status(component=api, status="degraded_performance")
    second = published()
    assert second.token != first.token
    assert _same_file(first, second, "/history")
    services.incident_post_update(incident=incident, status="identified", body="Found it.")
    third = published()
    assert not _same_file(second, third, "/history")
    assert (
        "Found it."
        in (publishing.root() / third.token / third.artifacts["/history"][0]).read_text()
    )


def test_an_unchanged_document_is_brought_up_to_date_without_a_render(
    site, story, client, settings, caplog
):
    import logging
    import re

    app, _ = site
    _api, incident, maintenance = story
    url = f"/api/v2/scheduled-maintenances/{maintenance.public_id}.json"
    publishing.publish(force=True)
    before = json.loads(call(app, url).body)["page"]["updated_at"]
    services.incident_post_update(incident=incident, status="identified", body="Found it.")
    settings.PUBLISH_INTERVAL_SECONDS = 0  # every document takes the new page stamp
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="website.publishing"):
        publishing.publish(force=True)
    found = re.findall(r"(\d+) brought up to date", caplog.text)
    assert found and int(found[-1]) >= 1, caplog.text
    body = call(app, url).body
    assert json.loads(body)["page"]["updated_at"] != before
    assert body == client.get(url).content


def test_a_web_process_leaves_publishing_to_a_live_workers_publisher(story, settings):
    import time_machine

    first = published()
    publishing._write_marker(time.time_ns())  # a change nobody has published yet
    with time_machine.travel(time.time() + settings.PUBLISH_FALLBACK_SECONDS + 5):
        publishing.publisher_seen()  # a worker's publisher looked a moment ago
        assert publishing.publish(grace=settings.PUBLISH_FALLBACK_SECONDS) is None
        assert published().token == first.token


def test_a_web_process_publishes_a_change_no_worker_took_once_the_grace_has_passed(story, settings):
    import time_machine

    first = published()
    publishing.publisher_seen()  # the last sign of a worker, long before the change
    with time_machine.travel(time.time() + settings.PUBLISH_FALLBACK_SECONDS + 5):
        publishing._write_marker(time.time_ns())
    with time_machine.travel(time.time() + 2 * settings.PUBLISH_FALLBACK_SECONDS + 10):
        later = publishing.publish(grace=settings.PUBLISH_FALLBACK_SECONDS)
    assert later is not None and later.token != first.token
