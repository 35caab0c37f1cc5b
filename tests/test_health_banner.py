"""The admin's red banner: shown on admin pages when the workers, beat or the checker have been
silent longer than a few of their intervals, and gone once they beat again."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from statuspage.models import HeartbeatKind
from statuspage.services import heartbeat_record

pytestmark = pytest.mark.django_db

PAGES = ["/admin/", "/admin/statuspage/component/"]


def beat_everything(at: dt.datetime) -> None:
    for queue in settings.CELERY_TASK_QUEUES:
        heartbeat_record(kind=HeartbeatKind.WORKER, name=queue.name, at=at)
    heartbeat_record(kind=HeartbeatKind.CHECKER, at=at)


def banner(client, path: str = "/admin/") -> str:  # noqa: ANN001 - pytest-django's client
    html = client.get(path).content.decode()
    start = html.find('class="messagelist sp-background-alerts"')
    return "" if start < 0 else html[start : html.index("</ul>", start)]


@pytest.mark.parametrize("path", PAGES)
def test_a_site_whose_workers_never_beat_shows_the_banner_on_every_admin_page(admin_client, path):
    text = banner(admin_client, path)
    assert "No worker heartbeat from any queue (never)" in text
    assert "The checker has not run (never)" in text


def test_fresh_heartbeats_show_no_banner(admin_client):
    beat_everything(timezone.now())
    assert banner(admin_client) == ""


def test_beats_older_than_the_stale_age_show_how_long_they_have_been_silent(admin_client):
    beat_everything(timezone.now() - dt.timedelta(minutes=17))
    text = banner(admin_client)
    assert "No worker heartbeat from any queue (for 17 minutes)" in text
    assert "The checker has not run (for 17 minutes)" in text


def test_one_queue_without_a_worker_is_named(admin_client):
    beat_everything(timezone.now())
    stale = timezone.now() - dt.timedelta(seconds=settings.HEALTH_STALE_SECONDS + 60)
    heartbeat_record(kind=HeartbeatKind.WORKER, name="notifications", at=stale)
    text = banner(admin_client)
    assert "the “notifications” queue" in text
    assert "any queue" not in text and "checker" not in text


def test_the_login_page_shows_no_banner(client):
    assert banner(client, "/admin/login/") == ""
