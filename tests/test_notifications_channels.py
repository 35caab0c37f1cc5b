"""Channels: one class per kind of subscriber, looked up in one registry by the fan-out, the
sending loop and the sweeper, and each the judge of which refusals are for good."""

from __future__ import annotations

from typing import ClassVar

import pytest

from incidents import services as incident_services
from incidents.models import EventKind
from notifications.channels import CHANNELS
from notifications.channels.base import Channel
from notifications.models import Delivery, DeliveryStatus, SubscriberKind
from notifications.transports import TransportError
from tests.factories import make_incident
from tests.notifications.factories import make_subscriber, make_webhook
from tests.notifications.outbox import deliver_everything

pytest_plugins = ["tests.notifications.plugin"]
pytestmark = pytest.mark.django_db


def test_every_subscriber_kind_has_its_channel():
    assert set(CHANNELS) == set(SubscriberKind.values)
    assert all(channel.kind == kind for kind, channel in CHANNELS.items())


@pytest.mark.parametrize("status", [408, 425, 429])
def test_a_webhook_endpoint_that_says_not_now_is_tried_again(webhook_receiver, status):
    webhook_receiver.secret = make_webhook(webhook_receiver.url).secret
    webhook_receiver.answers.append((status, 0))
    make_incident()
    deliver_everything()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert delivery.last_error.startswith(f"HTTP {status}")


def test_an_email_the_mail_server_refuses_outright_is_still_tried_again(smtp_sink):
    make_subscriber("full@example.com")
    smtp_sink.refuse["full@example.com"] = "550 Mailbox full"
    make_incident()
    deliver_everything()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert "550 Mailbox full" in delivery.last_error


class Pigeon(Channel):
    """A channel of our own for the test: it hears of new incidents only, loses its way to
    some lofts (worth another try) and is turned away by others (for good)."""

    kind = SubscriberKind.WEBHOOK
    flown: ClassVar[list[tuple[str, str]]] = []

    @classmethod
    def batch_size(cls) -> int:
        return 2

    @classmethod
    def tells(cls, event_kind: str) -> bool:
        return event_kind == EventKind.INCIDENT_CREATED

    def send(self, delivery: Delivery) -> None:
        loft = delivery.subscriber.url
        if loft.endswith("/lost"):
            raise TransportError("The pigeon lost its way")
        if loft.endswith("/closed"):
            raise TransportError("The loft is closed", code=1)
        self.flown.append((loft, self.batch.event(delivery).kind))

    def permanent(self, error: TransportError) -> bool:
        return error.code is not None


def test_a_channel_in_the_registry_is_all_the_delivery_code_needs(monkeypatch):
    monkeypatch.setitem(CHANNELS, SubscriberKind.WEBHOOK, Pigeon)
    monkeypatch.setattr(Pigeon, "flown", [])
    for loft in ("home", "barn", "lost", "closed"):
        make_webhook(f"https://{loft}.example/{loft}")
    incident = make_incident()
    incident_services.incident_post_update(incident=incident, status="identified", body="Found.")

    assert deliver_everything() == 4  # the update is not for pigeons
    assert sorted(Pigeon.flown) == [
        ("https://barn.example/barn", "incident_created"),
        ("https://home.example/home", "incident_created"),
    ]
    outcomes = dict(Delivery.objects.values_list("subscriber__url", "status"))
    assert outcomes == {
        "https://home.example/home": DeliveryStatus.SENT,
        "https://barn.example/barn": DeliveryStatus.SENT,
        "https://lost.example/lost": DeliveryStatus.PENDING,
        "https://closed.example/closed": DeliveryStatus.FAILED,
    }
