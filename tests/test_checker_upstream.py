"""Upstream checks: follow a component on another Statuspage page (ours included) and mirror it."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
import time_machine

from checker.models import CheckKind, CheckState, Level
from checker.probes.upstream import judge
from checker.services import checks_run_due
from incidents.models import Incident
from tests.checker.factories import make_check, probe_once
from tests.checker.servers import Reply, local_server
from tests.factories import make_component, make_incident

T0 = dt.datetime(2026, 3, 2, 4, 44, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)

SUMMARY: dict[str, Any] = {
    "page": {"id": "acme", "name": "Acme Status", "url": "https://status.acme.test"},
    "components": [
        {"id": "k2x9", "name": "Payments API", "status": "operational", "group": False},
        {"id": "p7q1", "name": "Dashboard", "status": "operational", "group": False},
    ],
    "incidents": [],
    "scheduled_maintenances": [],
    "status": {"indicator": "none", "description": "All Systems Operational"},
}


def summary(status: str, incident: str | None = None) -> dict:
    document = copy.deepcopy(SUMMARY)
    document["components"][0]["status"] = status
    if incident:
        document["incidents"].append(
            {"id": "i1", "name": incident, "components": [{"id": "k2x9", "name": "Payments API"}]}
        )
    return document


def test_it_finds_the_component_by_id_or_by_name():
    document = summary("partial_outage", incident="Elevated errors")
    by_id = judge(document, "k2x9")
    by_name = judge(document, "payments api")
    assert by_id == by_name
    assert by_id.level == Level.DOWN
    assert by_id.observed_status == "partial_outage"
    assert by_id.error == "Acme Status reports Payments API as partial outage (“Elevated errors”)"
    assert by_id.public == "the upstream status page reports a partial outage"
    assert judge(document, "p7q1").level == Level.UP


def test_a_component_the_page_does_not_list_is_inconclusive():
    outcome = judge(summary("operational"), "Search")
    assert outcome.inconclusive
    assert outcome.error == "Acme Status lists no component “Search”"
    assert outcome.public == "the upstream page lists no such component"


def test_maintenance_upstream_is_not_a_failure_but_is_mirrored():
    outcome = judge(summary("under_maintenance"), "k2x9")
    assert outcome.level == Level.UP
    assert outcome.observed_status == "under_maintenance"


def test_an_unreadable_page_says_nothing_about_the_component():
    with local_server() as server:
        server.routes["/api/v2/summary.json"] = Reply(status=502, body="bad gateway")
        outcome = probe_once(
            kind=CheckKind.UPSTREAM, upstream_url=server.url("/"), upstream_component="k2x9"
        )
    assert outcome.inconclusive
    assert outcome.error == "the upstream page answered HTTP 502"


@pytest.mark.django_db
def test_it_mirrors_the_component_as_the_summary_changes_between_probes(settings):
    settings.CHECKER_TICK_SECONDS = 1
    current = {"document": summary("operational")}
    with local_server() as server:
        server.routes["/api/v2/summary.json"] = lambda seen: Reply.json(current["document"])
        with time_machine.travel(T0 - dt.timedelta(hours=1), tick=False):
            payments = make_component("Payments")
            check = make_check(
                payments,
                kind=CheckKind.UPSTREAM,
                upstream_url=server.url("/"),
                upstream_component="Payments API",
                failure_threshold=1,
                success_threshold=1,
            )

        def probe_at(minute: int, document: dict) -> None:
            current["document"] = document
            with time_machine.travel(T0 + minute * MINUTE, tick=False):
                assert checks_run_due() == 1
            payments.refresh_from_db()

        probe_at(0, summary("operational"))
        assert payments.status == "operational"
        assert CheckState.objects.get(owner=check).state == "up"

        probe_at(2, summary("partial_outage", incident="Elevated errors"))
        assert payments.status == "partial_outage"
        incident = Incident.objects.get()
        assert incident.updates.get().body == (
            "Since 04:46 UTC, the upstream status page reports a partial outage for Payments."
        )
        assert CheckState.objects.get(owner=check).last_error == (
            "Acme Status reports Payments API as partial outage (“Elevated errors”)"
        )

        probe_at(4, summary("major_outage", incident="Elevated errors"))
        assert payments.status == "major_outage"
        assert incident.updates.count() == 2

        probe_at(6, summary("operational"))
        assert payments.status == "operational"
        incident.refresh_from_db()
        assert incident.status == "resolved"
        assert incident.updates.latest("display_at", "id").body == (
            "From 04:46 to 04:50 UTC (4 minutes), the upstream status page reported a partial "
            "outage for Payments. They pass again."
        )

        probe_at(8, summary("under_maintenance"))
        assert payments.status == "under_maintenance"
        assert payments.status_changes.latest("changed_at", "id").reason == "checker"
        probe_at(10, summary("operational"))
        assert payments.status == "operational"
        assert Incident.objects.count() == 1
        assert server.hits("/api/v2/summary.json") == 6


@pytest.mark.django_db
def test_checks_following_one_page_share_one_request(settings):
    with local_server() as server:
        server.routes["/api/v2/summary.json"] = Reply.json(summary("operational"))
        for name in ("Payments API", "Dashboard"):
            make_check(
                kind=CheckKind.UPSTREAM, upstream_url=server.url("/"), upstream_component=name
            )
        assert checks_run_due() == 2
    assert server.hits("/api/v2/summary.json") == 1
    assert {s.state for s in CheckState.objects.all()} == {"up"}


@pytest.mark.django_db(transaction=True)
def test_it_follows_a_component_on_our_own_api(live_server):
    database = make_component("Database")
    make_incident("Replica lag", components={database: "major_outage"})
    outcome = probe_once(
        kind=CheckKind.UPSTREAM,
        upstream_url=live_server.url,
        upstream_component=database.public_id,
    )
    assert outcome.level == Level.DOWN
    assert outcome.observed_status == "major_outage"
    assert outcome.error.endswith("reports Database as major outage (“Replica lag”)")


@pytest.mark.django_db
def test_a_page_read_before_is_asked_for_with_its_etag(settings):
    settings.CHECKER_TICK_SECONDS = 1

    def answer(seen) -> Reply:
        if seen.headers.get("If-None-Match") == '"v1"':
            return Reply(status=304, body=b"")
        reply = Reply.json(summary("partial_outage"))
        reply.headers["ETag"] = '"v1"'
        return reply

    with local_server() as server:
        server.routes["/api/v2/summary.json"] = answer
        with time_machine.travel(T0 - dt.timedelta(hours=1), tick=False):
            payments = make_component("Payments")
            make_check(
                payments,
                kind=CheckKind.UPSTREAM,
                upstream_url=server.url("/api/v2/summary.json"),
                upstream_component="k2x9",
                failure_threshold=2,
            )
        for step in range(2):
            with time_machine.travel(T0 + step * dt.timedelta(seconds=70), tick=False):
                checks_run_due()
        first, second = server.seen
    assert "If-None-Match" not in first.headers
    assert second.headers["If-None-Match"] == '"v1"'
    payments.refresh_from_db()
    assert payments.status == "partial_outage"  # the 304 counted as the same answer again
