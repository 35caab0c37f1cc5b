"""What probed servers say never becomes public text: a hostile server's reason phrase, JSON
value, upstream page names or malformed answer stays out of the incidents the checker writes
(which are Markdown, shown on the page and mailed), and staff still see it in the admin."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from checker.models import AutomatedIncident, Check, CheckKind, CheckState, CheckTransition
from checker.services import checks_run_due
from incidents.models import Incident, IncidentUpdate
from statuspage.markdown import render_markdown
from statuspage.models import Component
from tests.checker.factories import make_check
from tests.checker.servers import LocalServer, Reply, local_server
from tests.factories import make_component, make_incident

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 4, 44, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
# A phishing link and a tracking image, as a hostile server would slip them in.
HOSTILE = "[Reset your password](https://evil.test/login) ![](https://evil.test/pixel.gif)"
# The same, short enough for the detail to quote a JSON value whole.
SHORT_HOSTILE = "[Reset](https://evil.test/l) ![](https://evil.test/p.gif)"
MARKERS = ["evil.test", "Reset", "gif", "](", "!["]


@pytest.fixture
def server(settings: Any) -> Iterator[LocalServer]:
    settings.CHECKER_TICK_SECONDS = 1
    # These tests are about the words of incidents, not about how long a failure must last.
    settings.CHECKER_MIN_OUTAGE_SECONDS = 0
    with local_server() as running:
        yield running


@pytest.fixture
def payments() -> Component:
    with time_machine.travel(T0 - dt.timedelta(hours=1), tick=False):
        return make_component("Payments")


@pytest.fixture
def staff(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("alice", "alice@example.com"))
    return client


def new_check(component: Component, **fields: Any) -> Check:
    with time_machine.travel(T0 - dt.timedelta(hours=1), tick=False):
        return make_check(
            component, name="the payments API", failure_threshold=1, success_threshold=1, **fields
        )


def tick(minute: int) -> None:
    with time_machine.travel(T0 + minute * MINUTE, tick=False):
        assert checks_run_due() == 1


def assert_public_text_is_ours(text: str) -> None:
    for marker in MARKERS:
        assert marker not in text, f"{marker!r} reached public text: {text!r}"
    rendered = render_markdown(text)
    assert "<a" not in rendered
    assert "<img" not in rendered


def assert_published_nothing_of_theirs(client: Client, incident: Incident) -> None:
    for update in IncidentUpdate.objects.filter(incident=incident):
        assert_public_text_is_ours(update.body)
    assert_public_text_is_ours(incident.name)
    page = client.get(incident.get_absolute_url())
    assert page.status_code == 200
    assert "evil.test" not in page.content.decode()
    for automated in AutomatedIncident.objects.filter(incident=incident):
        assert_public_text_is_ours(automated.cause)


def assert_staff_see(staff: Client, check: Check, raw: str) -> None:
    state = CheckState.objects.get(owner=check)
    assert raw in state.last_error or raw in CheckTransition.objects.get(owner=check).reason
    page = staff.get(reverse("admin:checker_check_change", args=[check.pk])).content.decode()
    assert html.escape(raw) in page
    assert '<img src="https://evil.test' not in page
    assert '<a href="https://evil.test' not in page


def test_a_hostile_reason_phrase_stays_out_of_the_incident(server, payments, client, staff):
    server.routes["/health"] = Reply()
    check = new_check(payments, url=server.url("/health"))
    tick(0)
    server.routes["/health"] = Reply(status=500, reason=HOSTILE)
    tick(2)
    incident = Incident.objects.get()
    body = incident.updates.get().body
    assert body == "Since 04:46 UTC, checks of the payments API fail: HTTP 500."
    assert_published_nothing_of_theirs(client, incident)
    assert_staff_see(staff, check, f"HTTP 500 {HOSTILE} (expected 200-299)")

    server.routes["/health"] = Reply()
    tick(4)
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert_published_nothing_of_theirs(client, incident)


def test_a_hostile_json_value_stays_out_of_the_incident(server, payments, client, staff):
    server.routes["/status"] = Reply.json({"status": SHORT_HOSTILE})
    check = new_check(
        payments,
        url=server.url("/status"),
        json_conditions=[{"path": "status", "op": "==", "value": "ok"}],
    )
    tick(0)
    incident = Incident.objects.get()
    body = incident.updates.get().body
    assert body == (
        "Since 04:44 UTC, checks of the payments API fail: "
        "a field of the JSON response is not as expected."
    )
    assert_published_nothing_of_theirs(client, incident)
    assert_staff_see(staff, check, f'the JSON field status is "{SHORT_HOSTILE}"')


def test_hostile_upstream_names_stay_out_of_the_incident(server, payments, client, staff):
    def page(status: str) -> dict[str, Any]:
        return {
            "page": {"id": "x", "name": HOSTILE},
            "components": [{"id": "k2x9", "name": HOSTILE, "status": status}],
            "incidents": [{"id": "i1", "name": HOSTILE, "components": [{"id": "k2x9"}]}],
        }

    current = {"status": "operational"}
    server.routes["/api/v2/summary.json"] = lambda seen: Reply.json(page(current["status"]))
    check = new_check(
        payments,
        kind=CheckKind.UPSTREAM,
        upstream_url=server.url("/"),
        upstream_component="k2x9",
    )
    tick(0)
    current["status"] = "major_outage"
    tick(2)
    incident = Incident.objects.get()
    assert incident.updates.get().body == (
        "Since 04:46 UTC, the upstream status page reports a major outage for the payments API."
    )
    assert_published_nothing_of_theirs(client, incident)
    assert_staff_see(staff, check, f"{HOSTILE} reports {HOSTILE} as major outage")

    current["status"] = "operational"
    tick(4)
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert incident.updates.latest("display_at", "id").body == (
        "From 04:46 to 04:48 UTC (2 minutes), the upstream status page reported a major outage "
        "for the payments API. They pass again."
    )
    assert_published_nothing_of_theirs(client, incident)


def test_a_malformed_answer_quoted_by_the_http_library_stays_out(server, payments, client, staff):
    server.routes["/health"] = Reply(garbage=f"{HOSTILE}\r\n\r\n".encode())
    check = new_check(payments, url=server.url("/health"))
    tick(0)
    incident = Incident.objects.get()
    assert incident.updates.get().body == (
        "Since 04:44 UTC, checks of the payments API fail: the server's answer is not valid HTTP."
    )
    assert_published_nothing_of_theirs(client, incident)
    assert_staff_see(staff, check, HOSTILE)


def test_evidence_posted_to_a_staff_incident_quotes_nothing_of_theirs(
    server, payments, client, staff
):
    server.routes["/health"] = Reply()
    check = new_check(payments, url=server.url("/health"))
    tick(0)
    with time_machine.travel(T0 + MINUTE, tick=False):
        incident = make_incident("Payments are slow", components={payments: "partial_outage"})
    server.routes["/health"] = Reply(status=503, reason=HOSTILE)
    tick(2)
    evidence = incident.updates.latest("display_at", "id")
    assert evidence.body == (
        "Automated checks: since 04:46 UTC, checks of the payments API fail: HTTP 503."
    )
    assert not evidence.deliver_notifications
    assert_published_nothing_of_theirs(client, incident)
    assert_staff_see(staff, check, HOSTILE)
