"""Webhook notifications: the Statuspage payloads, signed per subscriber, POSTed to a real HTTP
endpoint on 127.0.0.1 that checks the signature the way a receiver would."""

import datetime as dt
import json
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from incidents import services as incident_services
from notifications.models import Delivery, DeliveryStatus
from tests.factories import make_component, make_incident, make_maintenance
from tests.notifications.factories import make_webhook
from tests.notifications.outbox import deliver_everything, send_due
from tests.notifications.webhooks import signature_is_valid

pytest_plugins = ["tests.notifications.plugin"]
pytestmark = pytest.mark.django_db

SCHEMAS = Path(__file__).parent / "schemas"
POSTMORTEM_KEYS = ("postmortem_body", "postmortem_published_at")
PAGE_INDICATORS = {"none", "minor", "major", "critical", "maintenance"}


def assert_valid(instance: object, definition: str) -> None:
    """Check an object against a definition of the API's own schemas (tests/schemas)."""
    objects = json.loads((SCHEMAS / "objects.json").read_text())
    registry = Registry().with_resource(objects["$id"], Resource.from_contents(objects))
    validator = Draft202012Validator(
        {"$ref": f"{objects['$id']}#/$defs/{definition}"}, registry=registry
    )
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(instance)]
    assert not errors, errors


def assert_envelope(payload: dict, subscriber_unsubscribe: str | None = None) -> None:
    assert set(payload["meta"]) == {"unsubscribe", "documentation"}
    assert payload["meta"]["unsubscribe"].startswith(
        "http://127.0.0.1:8000/subscriptions/unsubscribe/"
    )
    assert payload["meta"]["documentation"] == "http://127.0.0.1:8000/subscriptions/webhooks"
    assert set(payload["page"]) == {"id", "status_indicator", "status_description"}
    assert payload["page"]["status_indicator"] in PAGE_INDICATORS


@pytest.fixture
def hook(webhook_receiver):
    subscriber = make_webhook(webhook_receiver.url)
    webhook_receiver.secret = subscriber.secret
    return subscriber


def test_it_posts_signed_statuspage_payloads(webhook_receiver, hook):
    api = make_component("API")
    incident = make_incident("Elevated API errors", components={api: "major_outage"})
    deliver_everything()

    kinds = {r.headers["X-Statuspage-Event"]: r for r in webhook_receiver.received}
    assert set(kinds) == {"incident_created", "component_status_changed"}
    for request in webhook_receiver.received:
        assert request.signature_valid
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["X-Statuspage-Signature"].startswith("sha256=")

    created = kinds["incident_created"].payload
    assert set(created) == {"meta", "page", "incident"}
    assert_envelope(created)
    assert created["page"] == {
        "id": created["page"]["id"],
        "status_indicator": "critical",
        "status_description": "Major System Outage",
    }
    assert created["incident"]["id"] == incident.public_id
    assert created["incident"]["postmortem_body"] is None
    assert_valid(
        {k: v for k, v in created["incident"].items() if k not in POSTMORTEM_KEYS}, "incident"
    )

    changed = kinds["component_status_changed"].payload
    assert set(changed) == {"meta", "page", "component_update", "component"}
    assert_envelope(changed)
    update = changed["component_update"]
    assert (update["old_status"], update["new_status"]) == ("operational", "major_outage")
    assert update["component_id"] == api.public_id == changed["component"]["id"]
    assert set(update) == {"created_at", "new_status", "old_status", "id", "component_id"}
    assert_valid(changed["component"], "component")


def test_it_fails_the_signature_check_with_another_secret_or_body(webhook_receiver, hook):
    make_incident()
    deliver_everything()
    [request] = webhook_receiver.received
    header = request.headers["X-Statuspage-Signature"]
    assert signature_is_valid(hook.secret, request.body, header)
    assert not signature_is_valid("another secret", request.body, header)
    assert not signature_is_valid(hook.secret, request.body + b" ", header)


def test_it_adds_the_postmortem_and_maintenance_fields(webhook_receiver, hook):
    incident = make_incident("Login failures")
    incident_services.incident_resolve(incident=incident, body="Fixed.")
    incident_services.incident_save_postmortem(incident=incident, body="Draft, not for anyone yet.")
    deliver_everything()
    assert all(r.payload["incident"]["postmortem_body"] is None for r in webhook_receiver.received)

    incident_services.incident_publish_postmortem(
        incident=incident, body="## Root cause\n\nA bad deploy."
    )
    make_maintenance("Database upgrade")
    webhook_receiver.received.clear()
    deliver_everything()
    by_kind = {r.headers["X-Statuspage-Event"]: r.payload for r in webhook_receiver.received}
    postmortem = by_kind["postmortem_published"]["incident"]
    assert postmortem["status"] == "postmortem"
    assert postmortem["postmortem_body"] == "## Root cause\n\nA bad deploy."
    assert postmortem["postmortem_published_at"].endswith("Z")
    maintenance = by_kind["maintenance_scheduled"]["incident"]
    assert maintenance["scheduled_for"] and maintenance["scheduled_until"]
    assert_valid(maintenance, "maintenance")


def test_it_keeps_the_delivery_id_on_retries(webhook_receiver, hook):
    webhook_receiver.answers.extend([(500, 0)])
    make_incident()
    deliver_everything()
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1)):
        send_due()
    first, second = webhook_receiver.received
    assert first.headers["X-Statuspage-Delivery"] == second.headers["X-Statuspage-Delivery"]


def test_it_retries_failures_with_exponential_backoff(webhook_receiver, hook, settings):
    settings.NOTIFY_RETRY_BASE_SECONDS = 60
    webhook_receiver.answers.extend([(500, 0), (503, 0)])
    make_incident()
    deliver_everything()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert delivery.last_error.startswith("HTTP 500")
    assert delivery.next_attempt_at and delivery.last_attempt_at
    assert delivery.next_attempt_at - delivery.last_attempt_at == dt.timedelta(seconds=60)

    with time_machine.travel(delivery.next_attempt_at + dt.timedelta(seconds=1)):
        send_due()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 2)
    assert delivery.next_attempt_at and delivery.last_attempt_at
    assert delivery.next_attempt_at - delivery.last_attempt_at == dt.timedelta(seconds=120)

    with time_machine.travel(delivery.next_attempt_at + dt.timedelta(seconds=1)):
        send_due()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 3)
    assert len(webhook_receiver.received) == 3


def test_it_counts_a_slow_endpoint_as_a_failure(webhook_receiver, hook, settings):
    settings.NOTIFY_WEBHOOK_TIMEOUT = 1
    webhook_receiver.answers.append((200, 2.5))
    make_incident()
    deliver_everything()
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_error == "No answer within 1 s"


@pytest.mark.parametrize("status", [302, 404, 410])
def test_it_does_not_retry_a_refusal(webhook_receiver, hook, status):
    webhook_receiver.answers.append((status, 0))
    make_incident()
    deliver_everything()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert delivery.last_error.startswith(f"HTTP {status}")


def test_it_disables_after_repeated_permanent_failures_and_says_why(
    webhook_receiver, hook, settings, admin_client
):
    settings.NOTIFY_DISABLE_AFTER_FAILURES = 3
    webhook_receiver.answers.extend([(410, 0)] * 3)
    for n in range(4):
        make_incident(f"Incident {n}")
    deliver_everything()
    hook.refresh_from_db()
    assert hook.state == "disabled"
    assert "3 deliveries in a row failed" in hook.disabled_reason
    assert "HTTP 410" in hook.disabled_reason
    statuses = sorted(Delivery.objects.values_list("status", flat=True))
    assert statuses == ["cancelled", "failed", "failed", "failed"]
    assert len(webhook_receiver.received) == 3

    page = admin_client.get(f"/admin/notifications/subscriber/{hook.pk}/change/").content.decode()
    assert "3 deliveries in a row failed" in page


def test_it_resets_the_failure_count_on_success(webhook_receiver, hook, settings):
    settings.NOTIFY_DISABLE_AFTER_FAILURES = 2
    webhook_receiver.answers.extend([(410, 0), (200, 0), (410, 0)])
    for n in range(3):
        make_incident(f"Incident {n}")
        deliver_everything()
    hook.refresh_from_db()
    assert hook.state == "active"
    assert hook.consecutive_failures == 1


def test_it_sends_webhooks_only_for_their_components(webhook_receiver):
    api, web = make_component("API"), make_component("Web")
    subscriber = make_webhook(webhook_receiver.url, components=[web])
    webhook_receiver.secret = subscriber.secret
    make_incident(components={api: "major_outage"})
    deliver_everything()
    assert webhook_receiver.received == []
    make_incident(components={web: "degraded_performance"})
    deliver_everything()
    assert {r.headers["X-Statuspage-Event"] for r in webhook_receiver.received} == {
        "incident_created",
        "component_status_changed",
    }


def test_it_stops_the_webhook_through_the_unsubscribe_link_in_meta(webhook_receiver, hook):
    make_incident()
    deliver_everything()
    link = webhook_receiver.received[0].payload["meta"]["unsubscribe"]
    response = Client(enforce_csrf_checks=True).post(link.removeprefix("http://127.0.0.1:8000"))
    assert response.status_code == 200
    make_incident()
    deliver_everything()
    assert len(webhook_receiver.received) == 1


def test_it_explains_the_signature_on_the_documentation_page(client):
    page = client.get("/subscriptions/webhooks").content.decode()
    assert "X-Statuspage-Signature" in page
    assert "hmac.compare_digest" in page
