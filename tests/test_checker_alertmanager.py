"""Debian's real Prometheus Alertmanager, run on 127.0.0.1 with a webhook receiver pointed at a
live server, drives a component through firing and resolved."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from django.db import OperationalError
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from checker.models import IncidentMode, OutageStatus, ReceivedAlert
from incidents.models import Incident
from statuspage.models import Component
from tests.checker.alerting import make_integration, make_rule, rfc3339
from tests.factories import make_component
from tests.site_processes import free_port, require, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
# How long Alertmanager may take to group, send and retry (it waits a second per group here).
PATIENCE_SECONDS = 60


class Alertmanager:
    def __init__(self, port: int, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = log

    def post(self, alerts: list[dict]) -> None:
        response = httpx.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=10)
        assert response.status_code == 200, response.text

    def wait(self, what: str, condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + PATIENCE_SECONDS
        while time.monotonic() < deadline:
            try:
                if condition():
                    return
            except OperationalError:
                # A local run's in-memory SQLite refuses a read while the live server writes
                # ("table is locked"); ask again. (Alertmanager retries what we refuse.)
                pass
            time.sleep(0.5)
        said = [line for line in self.log.read_text().splitlines() if "flushing" not in line]
        raise AssertionError(f"{what}; Alertmanager said:\n" + "\n".join(said[-30:]))


def receiver_config(url: str, token: str) -> str:
    """A route and webhook receiver as the README gives them, with short waits for the test
    (and one group, so that the webhooks come one at a time: the in-memory SQLite database a
    local run shares between the live server's threads takes one writer at a time)."""
    return f"""
route:
  receiver: statuspage
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: statuspage
    webhook_configs:
      - url: {url}/integrations/alerts
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {token}
"""


@pytest.fixture
def api() -> Component:
    return make_component("API")


@pytest.fixture
def alertmanager(tmp_path: Path, live_server: LiveServer, api: Component) -> Iterator[Alertmanager]:
    require(
        os.access(ALERTMANAGER, os.X_OK),
        "Debian's prometheus-alertmanager is not installed",
    )
    integration, token = make_integration()
    make_rule(
        integration,
        [api],
        matchers="service=api\nseverity=~critical|page",
        status=OutageStatus.MAJOR_OUTAGE,
        mode=IncidentMode.PUBLISH,
    )
    config = tmp_path / "alertmanager.yml"
    config.write_text(receiver_config(live_server.url, token))
    port = free_port()
    log = tmp_path / "alertmanager.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                ALERTMANAGER,
                f"--config.file={config}",
                f"--storage.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
                "--log.level=debug",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(port)
        yield Alertmanager(port, log)
    finally:
        process.terminate()
        process.wait(timeout=10)


def status_of(component: Component) -> str:
    component.refresh_from_db()
    return component.status


def test_alertmanager_drives_a_component_through_firing_and_resolved(
    alertmanager: Alertmanager, api: Component
) -> None:
    started = timezone.now() - dt.timedelta(minutes=5)
    alert = {
        "labels": {"alertname": "HighErrorRate", "service": "api", "severity": "critical"},
        "annotations": {"summary": "5xx above 5%"},
        "startsAt": rfc3339(started),
        "endsAt": rfc3339(timezone.now() + dt.timedelta(hours=1)),
        "generatorURL": "http://prometheus.example:9090/graph",
    }
    unrelated = {
        "labels": {"alertname": "DiskFull", "service": "db", "severity": "critical"},
        "startsAt": rfc3339(started),
        "endsAt": rfc3339(timezone.now() + dt.timedelta(hours=1)),
    }
    alertmanager.post([alert, unrelated])

    alertmanager.wait("the API never went down", lambda: status_of(api) == "major_outage")
    incident = Incident.objects.get()
    assert incident.name == "Major outage of API"
    assert incident.is_open
    # The unrelated alert is recorded too (in the same notification, or the next one when a
    # busy machine lets the group's wait pass between the two).
    alertmanager.wait(
        "the unrelated alert never arrived",
        lambda: ReceivedAlert.objects.filter(status="firing").count() == 2,
    )

    ended = timezone.now() - dt.timedelta(seconds=1)
    alertmanager.post([{**alert, "endsAt": rfc3339(ended)}])

    alertmanager.wait("the API never came back", lambda: status_of(api) == "operational")
    incident.refresh_from_db()
    assert not incident.is_open
    # Alertmanager reports the end we gave it; the incident ends then (to Alertmanager's
    # millisecond precision).
    assert incident.resolved_at is not None
    assert abs(incident.resolved_at - ended) < dt.timedelta(seconds=1)
    assert ReceivedAlert.objects.get(labels__alertname="DiskFull").status == "firing"
