"""At most one email per incident per NOTIFY_MIN_INTERVAL_SECONDS per subscriber: updates
arriving inside the interval are held and told in one message with the latest state and what
changed; the first event goes at once, nothing is lost, and webhooks get every event."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from incidents import services as incident_services
from notifications import sending, sweeper
from notifications.models import Delivery, DeliveryStatus, SubscriberKind
from notifications.outcomes import BatchOutcomes
from tests.factories import make_component, make_incident
from tests.notifications.factories import make_subscriber, make_webhook
from tests.notifications.outbox import deliver_everything, fan_out_pending, send_due

pytest_plugins = ["tests.notifications.plugin"]
pytestmark = pytest.mark.django_db

INTERVAL = 300


@pytest.fixture(autouse=True)
def interval(settings):
    settings.NOTIFY_MIN_INTERVAL_SECONDS = INTERVAL


def subjects(sink, address):
    return [m["Subject"] for m in sink.messages_to(address)]


def test_a_flapping_incident_mails_each_subscriber_at_most_twice_in_five_minutes(smtp_sink):
    api = make_component("API")
    people = ["ada@example.com", "bob@example.com"]
    for address in people:
        make_subscriber(address)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        incident = make_incident("API unreachable", components={api: "major_outage"})
        deliver_everything()
    # A target flapping every 20 s for 5 minutes: resolved, failing again, resolved, ...
    for step in range(1, 16):
        with time_machine.travel(start + dt.timedelta(seconds=20 * step), tick=False):
            if step % 2:
                incident_services.incident_resolve(incident=incident, body="Reachable again.")
            else:
                incident_services.incident_post_update(
                    incident=incident,
                    status="investigating",
                    body="Unreachable again.",
                    component_statuses={api: "major_outage"},
                )
            deliver_everything()
    with time_machine.travel(start + dt.timedelta(seconds=INTERVAL), tick=False):
        deliver_everything()

    assert smtp_sink.counts() == {address: 2 for address in people}
    assert subjects(smtp_sink, "ada@example.com") == [
        "[Investigating] API unreachable",
        "[Resolved] API unreachable",
    ]
    latest = smtp_sink.messages_to("ada@example.com")[1].get_body(("plain",)).get_content()
    assert "Earlier updates since our last email" in latest
    assert latest.count("Unreachable again.") == 7
    # Nothing lost: every event's delivery is recorded as sent, told in one of the two emails.
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert Delivery.objects.count() == 16 * len(people)


def test_the_first_event_goes_at_once_and_the_resolution_within_the_interval(smtp_sink):
    api = make_component("API")
    make_subscriber("ada@example.com")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        incident = make_incident("API errors", components={api: "partial_outage"})
        deliver_everything()
    assert subjects(smtp_sink, "ada@example.com") == ["[Investigating] API errors"]

    with time_machine.travel(start + dt.timedelta(seconds=60), tick=False):
        incident_services.incident_post_update(
            incident=incident,
            status="identified",
            body="A faulty load balancer.",
            component_statuses={api: "major_outage"},
        )
        deliver_everything()
    with time_machine.travel(start + dt.timedelta(seconds=120), tick=False):
        resolution = incident_services.incident_resolve(incident=incident, body="All good.")
        deliver_everything()
    with time_machine.travel(start + dt.timedelta(seconds=INTERVAL - 1), tick=False):
        deliver_everything()
    assert len(smtp_sink.received) == 1  # held: told within the interval of the first

    with time_machine.travel(start + dt.timedelta(seconds=INTERVAL), tick=False):
        deliver_everything()
    first, second = smtp_sink.messages_to("ada@example.com")
    assert second["Subject"] == "[Resolved] API errors"
    text = second.get_body(("plain",)).get_content()
    assert "All good." in text and "A faulty load balancer." in text
    # What changed since the last email: the API went from partial outage to operational,
    # through the held update's major outage.
    assert "Partial outage -> Operational" in text
    carrier = Delivery.objects.get(event__update=resolution)
    assert second["Message-ID"].startswith(f"<delivery-{carrier.pk}@")
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}


def test_a_new_incident_is_not_held_by_another_incidents_email(smtp_sink):
    make_subscriber("ada@example.com")
    make_incident("API errors")
    deliver_everything()
    make_incident("Dashboard errors")
    deliver_everything()
    assert subjects(smtp_sink, "ada@example.com") == [
        "[Investigating] API errors",
        "[Investigating] Dashboard errors",
    ]


def test_webhooks_get_every_event_at_once(webhook_receiver, smtp_sink):
    make_webhook(webhook_receiver.url)
    incident = make_incident("API errors")
    deliver_everything()
    incident_services.incident_post_update(
        incident=incident, status="identified", body="A faulty load balancer."
    )
    deliver_everything()
    incident_services.incident_resolve(incident=incident, body="All good.")
    deliver_everything()
    statuses = [r.payload["incident"]["status"] for r in webhook_receiver.received]
    assert statuses == ["investigating", "identified", "resolved"]


class WorkerKilled(BaseException):
    """Stands in for SIGKILL: nothing after it runs, not even `except Exception`."""


def test_a_coalesced_email_accepted_before_its_worker_died_is_not_sent_again(
    smtp_sink, settings, monkeypatch
):
    settings.NOTIFY_CLAIM_LEASE_SECONDS = 45
    make_subscriber("ada@example.com")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        incident = make_incident("API errors")
        deliver_everything()
    with time_machine.travel(start + dt.timedelta(seconds=60), tick=False):
        incident_services.incident_post_update(
            incident=incident, status="identified", body="A faulty load balancer."
        )
        incident_services.incident_resolve(incident=incident, body="All good.")
        fan_out_pending()

    # The worker dies once the mail server took the coalesced email, before the batch's
    # outcomes reach the database: only the journal knows.
    def dies_after_the_batch_was_sent(self, now):
        raise WorkerKilled

    monkeypatch.setattr(BatchOutcomes, "save", dies_after_the_batch_was_sent)
    due = start + dt.timedelta(seconds=INTERVAL)
    with time_machine.travel(due, tick=False), pytest.raises(WorkerKilled):
        sending.deliveries_send_batch(channel=SubscriberKind.EMAIL)
    monkeypatch.undo()
    assert subjects(smtp_sink, "ada@example.com")[-1] == "[Resolved] API errors"
    assert Delivery.objects.filter(status=DeliveryStatus.SENDING).count() == 2

    with time_machine.travel(due + dt.timedelta(seconds=46), tick=False):
        swept = sweeper.outbox_sweep()
        assert (swept.recovered, swept.released) == (2, 0)
        assert send_due() == 0
    assert len(smtp_sink.messages_to("ada@example.com")) == 2
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
