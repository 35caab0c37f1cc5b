"""Adding a chat channel on the public page: its URL checked (https, the service's own hosts,
public addresses), a message with a confirmation link posted in the channel, nothing else until
someone there confirms; and staff adding one in the admin."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from notifications import tokens
from notifications.endpoints import EndpointRefused
from notifications.forms import check_chat_url
from notifications.models import Notice, Subscriber, SubscriberKind
from notifications.subscriptions import subscriber_send_notice
from tests.factories import make_component, make_incident
from tests.notifications.chat import ChatReceiver
from tests.notifications.outbox import deliver_everything

pytest_plugins = ["tests.notifications.plugin"]
pytestmark = pytest.mark.django_db

CHAT = "/subscriptions/chat"


@pytest.fixture
def local_receivers(settings):
    settings.NOTIFY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True


@pytest.fixture
def slack(local_receivers):
    receiver = ChatReceiver("slack").start()
    yield receiver
    receiver.stop()


def send_notices() -> None:
    for pk in Subscriber.objects.exclude(notice="").values_list("pk", flat=True):
        subscriber_send_notice(subscriber_id=pk)


def link_in(post, path: str) -> str:
    found = re.search(rf"http://127\.0\.0\.1:8000{path}[^\"|>\s]+", str(post.payload))
    assert found, post.payload
    return found[0].removeprefix("http://127.0.0.1:8000")


def test_a_channel_confirms_through_the_link_posted_in_it(client: Client, slack) -> None:
    api = make_component("API")
    page = client.post(
        CHAT, {"service": "slack", "url": slack.url, "components": [api.public_id]}
    ).content.decode()
    assert "Almost there: confirm in your channel" in page
    subscriber = Subscriber.objects.get(kind=SubscriberKind.CHAT)
    assert (subscriber.chat_service, subscriber.self_registered) == ("slack", True)
    assert not subscriber.is_active

    make_incident("Before confirming", components={api: "major_outage"})
    deliver_everything()
    send_notices()
    [notice] = slack.received
    assert notice.problems == []
    assert (
        notice.payload["text"]
        == "[Subscription] Confirm the updates of Example Status in this channel"
    )

    confirm = link_in(notice, "/subscriptions/confirm/")
    shown = client.get(confirm).content.decode()
    assert "your Slack channel" in shown and slack.url not in shown
    client.post(confirm)
    subscriber.refresh_from_db()
    assert subscriber.is_active and list(subscriber.components.all()) == [api]

    make_incident("After confirming", components={api: "major_outage"})
    deliver_everything()
    assert [p.payload["text"] for p in slack.received[1:]] == ["[Investigating] After confirming"]


def test_asking_again_for_an_active_channel_posts_its_manage_link(client: Client, slack) -> None:
    client.post(CHAT, {"service": "slack", "url": slack.url})
    send_notices()
    client.post(link_in(slack.received[0], "/subscriptions/confirm/"))

    again = client.post(CHAT, {"service": "slack", "url": slack.url}).content.decode()

    assert "Almost there: confirm in your channel" in again  # the page says the same
    subscriber = Subscriber.objects.get(kind=SubscriberKind.CHAT)
    assert subscriber.notice == Notice.ALREADY_SUBSCRIBED
    send_notices()
    assert "/subscriptions/manage/" in str(slack.received[1].payload)
    assert Subscriber.objects.count() == 1


@pytest.mark.parametrize(
    ("service", "url", "reason"),
    [
        ("slack", "http://hooks.slack.com/services/T0/B0/x", "https://"),
        ("slack", "https://example.com/services/T0/B0/x", "not a Slack webhook URL"),
        ("discord", "https://hooks.slack.com/services/T0/B0/x", "not a Discord webhook URL"),
        ("google_chat", "https://chat.example.com/v1/spaces/x", "not a Google Chat webhook URL"),
        ("teams", "https://evil.example/webhook.office.com", "not a Microsoft Teams webhook"),
        ("mattermost", "https://10.0.0.8/hooks/x", "private"),
        ("mattermost", "https://chat.internal/hooks/x", "local network"),
    ],
)
def test_it_refuses_urls_that_are_not_the_services_webhooks(service, url, reason) -> None:
    with pytest.raises(EndpointRefused, match=reason):
        check_chat_url(service, url, public=True)


@pytest.mark.parametrize(
    ("service", "url"),
    [
        ("slack", "https://hooks.slack.com/services/T0/B0/x"),
        ("discord", "https://discord.com/api/webhooks/1/x"),
        ("google_chat", "https://chat.googleapis.com/v1/spaces/AAA/messages?key=k&token=t"),
        ("teams", "https://acme.webhook.office.com/webhookb2/x"),
        ("teams", "https://prod-1.westeurope.logic.azure.com:443/workflows/x"),
        ("mattermost", "https://chat.example.com/hooks/x"),
    ],
)
def test_it_takes_each_services_own_webhook_urls(service, url) -> None:
    check_chat_url(service, url, public=True)


def test_the_form_says_why_a_url_is_refused(client: Client) -> None:
    response = client.post(CHAT, {"service": "slack", "url": "https://example.com/hook"})
    assert response.status_code == 400
    assert "This is not a Slack webhook URL" in response.content.decode()
    assert not Subscriber.objects.exists()


def test_the_manage_and_unsubscribe_pages_do_not_show_the_webhook_url(
    client: Client, slack
) -> None:
    client.post(CHAT, {"service": "slack", "url": slack.url})
    subscriber = Subscriber.objects.get()
    manage = client.get(f"/subscriptions/manage/{tokens.manage_token(subscriber)}")
    unsubscribe = client.get(f"/subscriptions/unsubscribe/{tokens.unsubscribe_token(subscriber)}")
    for page in (manage.content.decode(), unsubscribe.content.decode()):
        assert slack.url not in page
        assert "your Slack channel" in page
