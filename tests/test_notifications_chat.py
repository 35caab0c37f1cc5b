"""Chat channels: incidents told in Slack, Mattermost, Discord, Microsoft Teams and Google Chat,
each message POSTed to an incoming webhook on 127.0.0.1 that checks it has its service's shape
(tests/notifications/chat.py) and refuses it otherwise, as the service would."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone

from incidents import services as incident_services
from notifications import sending, sweeper
from notifications.models import ChatService, Delivery, DeliveryStatus, Subscriber, SubscriberKind
from notifications.subscriptions import chat_create
from notifications.transports import WebhookTransport
from tests.factories import make_component, make_incident, make_maintenance
from tests.notifications.chat import ChatReceiver
from tests.notifications.factories import make_subscriber
from tests.notifications.outbox import deliver_everything, fan_out_pending, send_due

pytest_plugins = ["tests.notifications.plugin"]
pytestmark = pytest.mark.django_db


@pytest.fixture(params=[service.value for service in ChatService])
def channel(request: pytest.FixtureRequest) -> Iterator[tuple[ChatReceiver, Subscriber]]:
    receiver = ChatReceiver(request.param).start()
    yield receiver, chat_create(service=request.param, url=receiver.url)
    receiver.stop()


def test_each_service_gets_the_incident_in_its_own_format(channel, smtp_sink):
    receiver, subscriber = channel
    api = make_component("API")
    incident = make_incident(
        "Elevated API errors",
        impact="critical",
        body="We are looking into <errors> & timeouts. @everyone",
        components={api: "major_outage"},
    )
    incident_services.incident_post_update(
        incident=incident,
        status="monitoring",
        body="A fix is out.",
        component_statuses={api: "degraded_performance"},
    )
    incident_services.incident_resolve(incident=incident, body="All good.")
    incident_services.incident_publish_postmortem(incident=incident, body="# Why\n\nA deploy.")

    deliver_everything()

    assert [post.problems for post in receiver.received] == [[], [], [], []]
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    first, monitoring, resolved, postmortem = (post.payload for post in receiver.received)
    service = receiver.service
    if service == "slack":
        assert first["text"] == "[Investigating] Elevated API errors"
        assert first["attachments"][0]["color"] == "#c42530"
        assert monitoring["attachments"][0]["color"] == "#1f66c9"
        body = first["attachments"][0]["blocks"][1]["text"]["text"]
        assert "&lt;errors&gt; &amp; timeouts" in body  # no Slack markup from staff text
        button = first["attachments"][0]["blocks"][3]["elements"][0]
        assert button["text"]["text"] == "View the incident"
        assert button["url"].startswith("http://127.0.0.1:8000/incidents/")
    elif service == "mattermost":
        attachment = first["attachments"][0]
        assert attachment["title"] == "Elevated API errors"
        assert attachment["fields"] == [
            {"short": True, "title": "API", "value": "Operational → Major outage"}
        ]
        assert resolved["attachments"][0]["color"] == "#17804a"
    elif service == "discord":
        embed = first["embeds"][0]
        assert embed["color"] == 0xC42530
        assert first["allowed_mentions"] == {"parse": []}  # "@everyone" pings nobody
        assert embed["fields"] == [
            {"name": "API", "value": "Operational → Major outage", "inline": True}
        ]
        assert monitoring["embeds"][0]["fields"][0]["value"] == (
            "Major outage → Degraded performance"
        )
        assert monitoring["embeds"][0]["color"] == 0x1F66C9
    elif service == "teams":
        card = first["attachments"][0]["content"]
        assert card["body"][0] == {
            "type": "TextBlock",
            "text": "Investigating",
            "weight": "Bolder",
            "color": "Attention",
        }
        assert card["actions"][0]["title"] == "View the incident"
        assert {"title": "API", "value": "Degraded performance → Operational"} in (
            resolved["attachments"][0]["content"]["body"][-2]["facts"]
        )
        assert monitoring["attachments"][0]["content"]["body"][0]["color"] == "Accent"
    else:
        card = first["cardsV2"][0]["card"]
        assert card["header"]["title"] == "Elevated API errors"
        paragraph = card["sections"][0]["widgets"][0]["textParagraph"]["text"]
        assert "&lt;errors&gt; &amp; timeouts" in paragraph
        assert first["text"] == "[Investigating] Elevated API errors"
    assert "Postmortem" in str(postmortem) and "Read the postmortem" in str(postmortem)
    assert "/subscriptions/unsubscribe/" in str(first)
    assert smtp_sink.received == []  # nothing went out by email


def test_a_maintenance_is_told_in_maintenance_blue_with_its_window():
    receiver = ChatReceiver("slack").start()
    try:
        chat_create(service="slack", url=receiver.url)
        make_maintenance("Database upgrade", components=[make_component("Database")])
        deliver_everything()
    finally:
        receiver.stop()
    [post] = receiver.received
    assert post.problems == []
    assert post.payload["attachments"][0]["color"] == "#1f66c9"
    assert "window" in post.payload["attachments"][0]["blocks"][0]["text"]["text"]
    assert post.payload["text"] == "[Scheduled maintenance] Database upgrade"


def test_a_channel_follows_only_its_components():
    receiver = ChatReceiver("discord").start()
    try:
        api, web = make_component("API"), make_component("Web")
        chat_create(service="discord", url=receiver.url, components=[web])
        make_incident("API errors", components={api: "major_outage"})
        make_incident("Web errors", components={web: "partial_outage"})
        deliver_everything()
    finally:
        receiver.stop()
    assert [p.payload["embeds"][0]["title"] for p in receiver.received] == ["Web errors"]


def test_a_deleted_webhook_fails_at_once_and_a_rate_limit_is_retried(settings):
    receiver = ChatReceiver("slack").start()
    try:
        subscriber = chat_create(service="slack", url=receiver.url)
        receiver.answers.extend([429, 404])
        make_incident("API errors")
        deliver_everything()
        delivery = Delivery.objects.get(subscriber=subscriber)
        assert delivery.status == DeliveryStatus.PENDING and "429" in delivery.last_error

        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)
        send_due()
    finally:
        receiver.stop()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and "404" in delivery.last_error
    assert len(receiver.received) == 2


class WorkerKilled(BaseException):
    """Stands in for SIGKILL: nothing after it runs, not even `except Exception`."""


def test_a_worker_killed_mid_batch_posts_nothing_twice(settings, monkeypatch):
    settings.NOTIFY_CLAIM_LEASE_SECONDS = 300
    receivers = [ChatReceiver(service).start() for service in ("slack", "discord", "teams")]
    try:
        for receiver in receivers:
            chat_create(service=receiver.service, url=receiver.url)
        make_incident("API errors")
        fan_out_pending()
        real_post = WebhookTransport.post
        posted: list[str] = []

        def dies_on_the_third_message(self, **kwargs):
            if len(posted) == 2:
                raise WorkerKilled
            real_post(self, **kwargs)
            posted.append(kwargs["url"])

        monkeypatch.setattr(WebhookTransport, "post", dies_on_the_third_message)
        with pytest.raises(WorkerKilled):
            sending.deliveries_send_batch(channel=SubscriberKind.CHAT)
        monkeypatch.setattr(WebhookTransport, "post", real_post)

        with time_machine.travel(timezone.now() + dt.timedelta(seconds=301)):
            swept = sweeper.outbox_sweep()
            assert (swept.recovered, swept.released) == (2, 1)
            assert send_due() == 1
    finally:
        for receiver in receivers:
            receiver.stop()
    assert [len(receiver.received) for receiver in receivers] == [1, 1, 1]
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 3


def test_email_subscribers_and_chat_channels_are_told_apart(smtp_sink):
    receiver = ChatReceiver("mattermost").start()
    try:
        chat_create(service="mattermost", url=receiver.url)
        make_subscriber("ada@example.com")
        make_incident("API errors")
        deliver_everything()
    finally:
        receiver.stop()
    assert len(receiver.received) == 1
    assert list(smtp_sink.counts()) == ["ada@example.com"]


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "chat", "url": "https://hooks.slack.com/services/x", "chat_service": ""},
        {"kind": "chat", "url": "https://hooks.slack.com/services/x", "chat_service": "irc"},
        {"kind": "chat", "url": "", "chat_service": "slack"},
        {"kind": "email", "email": "ada@example.com", "chat_service": "slack"},
    ],
)
def test_the_database_refuses_a_chat_channel_without_its_service_and_url(fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscriber.objects.create(**fields)


def test_the_database_keeps_one_row_per_chat_webhook_url():
    chat_create(service="slack", url="https://hooks.slack.com/services/x")
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscriber.objects.create(
            kind="chat", url="https://hooks.slack.com/services/x", chat_service="slack"
        )
