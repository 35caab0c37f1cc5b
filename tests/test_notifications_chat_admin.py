"""Staff add chat channels in the admin: a channel of any of the services, active at once,
its URL checked like the public page's except that it may be on the internal network."""

from __future__ import annotations

import pytest

from notifications.models import Subscriber, SubscriberKind
from tests.factories import make_component, make_incident
from tests.notifications.chat import ChatReceiver
from tests.notifications.outbox import deliver_everything

pytest_plugins = ["tests.notifications.plugin"]
pytestmark = pytest.mark.django_db

SUBSCRIBERS = "/admin/notifications/subscriber/"


def test_staff_add_a_teams_channel_that_is_told_at_once(admin_client, settings):
    settings.NOTIFY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    receiver = ChatReceiver("teams").start()
    try:
        api = make_component("API")
        response = admin_client.post(
            f"{SUBSCRIBERS}add/",
            {"destination": "teams", "url": receiver.url, "components": [api.pk]},
        )
        assert response.status_code == 302
        channel = Subscriber.objects.get()
        assert (channel.kind, channel.chat_service, channel.is_active) == ("chat", "teams", True)
        page = admin_client.get(f"{SUBSCRIBERS}{channel.pk}/change/").content.decode()
        assert "Microsoft Teams" in page and channel.secret not in page

        make_incident("API errors", components={api: "major_outage"})
        deliver_everything()
    finally:
        receiver.stop()
    [post] = receiver.received
    assert post.problems == []
    assert post.payload["attachments"][0]["content"]["body"][1]["text"] == "API errors"


def test_staff_get_the_reason_a_chat_url_is_refused(admin_client):
    response = admin_client.post(
        f"{SUBSCRIBERS}add/", {"destination": "slack", "url": "https://example.com/hook"}
    )
    assert response.status_code == 200
    assert "This is not a Slack webhook URL" in response.content.decode()
    assert not Subscriber.objects.exists()


def test_staff_may_add_a_mattermost_on_the_internal_network(admin_client):
    response = admin_client.post(
        f"{SUBSCRIBERS}add/", {"destination": "mattermost", "url": "https://10.0.0.8/hooks/abc"}
    )
    assert response.status_code == 302
    assert Subscriber.objects.get().kind == SubscriberKind.CHAT


def test_a_webhook_is_still_what_the_add_form_makes_by_default(admin_client):
    response = admin_client.post(f"{SUBSCRIBERS}add/", {"url": "https://hooks.example.com/s"})
    assert response.status_code == 302
    assert Subscriber.objects.get().kind == SubscriberKind.WEBHOOK
