"""The sign-up pages follow the page settings: a channel staff turned off (email, webhooks, chat,
or subscriptions altogether) is not offered and its sign-ups are refused with a message, while
the subscribers signed up before keep being notified and keep their links."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse

from notifications import tokens
from notifications.models import Subscriber
from notifications.subscriptions import chat_create, subscriber_send_notice
from statuspage.models import PageSettings
from statuspage.services import page_settings_update
from tests.factories import make_component, make_incident
from tests.manage_api import ManageClient, key_for
from tests.notifications.chat import ChatReceiver
from tests.notifications.factories import make_subscriber, make_webhook
from tests.notifications.outbox import deliver_everything

pytest_plugins = ["tests.notifications.plugin"]
pytestmark = pytest.mark.django_db

SUBSCRIBE = "/subscriptions/"
WEBHOOKS = "/subscriptions/webhooks"
CHAT = "/subscriptions/chat"
SLACK_URL = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"


def offer(**switches: bool) -> None:
    PageSettings.objects.update_or_create(pk=1, defaults=switches)


def html(response) -> str:  # noqa: ANN001 - Django's test response
    return response.content.decode()


def sign_up_everywhere(client: Client) -> list:
    return [
        client.post(SUBSCRIBE, {"email": "ada@example.com"}),
        client.post(WEBHOOKS, {"url": "https://hooks.example.com/status"}),
        client.post(CHAT, {"service": "slack", "url": SLACK_URL}),
    ]


def path_of(url: str) -> str:
    return urlsplit(url).path


@pytest.fixture
def local_receivers(settings):
    settings.NOTIFY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True


@pytest.fixture
def slack(local_receivers):
    receiver = ChatReceiver("slack").start()
    yield receiver
    receiver.stop()


def test_every_channel_is_offered_by_default(client: Client) -> None:
    subscribe = html(client.get(SUBSCRIBE))
    assert '<form id="subscribe-form"' in subscribe
    assert f'href="{CHAT}"' in subscribe and f'href="{WEBHOOKS}"' in subscribe
    assert '<form id="webhook-signup"' in html(client.get(WEBHOOKS))
    assert '<form id="chat-signup"' in html(client.get(CHAT))
    assert "Get notified by email" in html(client.get("/"))


def test_with_email_off_the_subscribe_page_offers_the_channels_left(client: Client) -> None:
    offer(allow_email_subscribers=False)
    response = client.get(SUBSCRIBE)
    assert response.status_code == 200
    page = html(response)
    assert "Email subscriptions are not offered" in page
    assert 'name="email"' not in page
    assert f'href="{CHAT}"' in page and f'href="{WEBHOOKS}"' in page
    assert f'href="{reverse("history-atom")}"' in page
    assert "Get notified by email" not in html(client.get("/"))


def test_an_email_subscription_posted_with_email_off_is_refused(client: Client) -> None:
    api = make_component("API")
    offer(allow_email_subscribers=False)
    response = client.post(SUBSCRIBE, {"email": "ada@example.com", "components": [api.public_id]})
    assert response.status_code == 403
    assert "Email subscriptions are not offered" in html(response)
    # A home page rendered before the switch posts through htmx: the notice takes the form's
    # place (htmx swaps only 2xx answers).
    swapped = client.post(SUBSCRIBE, {"email": "ada@example.com"}, HTTP_HX_REQUEST="true")
    assert swapped.status_code == 200
    assert html(swapped).startswith('<div class="card subscribe" id="subscribe-form"')
    assert "Email subscriptions are not offered" in html(swapped)
    assert not Subscriber.objects.exists()
    for pk in Subscriber.objects.exclude(notice="").values_list("pk", flat=True):
        subscriber_send_notice(subscriber_id=pk)
    assert mail.outbox == []


def test_with_webhooks_off_the_page_keeps_the_documentation_and_refuses_sign_ups(
    client: Client,
) -> None:
    offer(allow_webhook_subscribers=False)
    page = html(client.get(WEBHOOKS))
    assert "Webhook sign-ups are not offered" in page
    assert "Checking the signature" in page  # for the endpoints signed up before
    assert "<form" not in page.split("<main", 1)[-1]
    response = client.post(WEBHOOKS, {"url": "https://hooks.example.com/status"})
    assert response.status_code == 403
    assert "Webhook sign-ups are not offered" in html(response)
    assert "signing secret, shown only this once" not in html(response)
    assert not Subscriber.objects.exists()
    # The email form no longer points to webhooks; chat is still offered.
    subscribe = html(client.get(SUBSCRIBE))
    assert f'href="{WEBHOOKS}"' not in subscribe
    assert f'href="{CHAT}"' in subscribe


def test_with_chat_off_the_chat_page_refuses_channels(client: Client) -> None:
    offer(allow_chat_subscribers=False)
    page = html(client.get(CHAT))
    assert "Chat channels are not offered" in page
    assert 'name="url"' not in page
    response = client.post(CHAT, {"service": "slack", "url": SLACK_URL})
    assert response.status_code == 403
    assert "Chat channels are not offered" in html(response)
    assert not Subscriber.objects.exists()
    for page in (html(client.get(SUBSCRIBE)), html(client.get("/"))):
        assert f'href="{CHAT}"' not in page
        assert f'href="{WEBHOOKS}"' in page
    assert '<form id="webhook-signup"' in html(client.get(WEBHOOKS))


def test_with_subscriptions_off_no_channel_is_offered(client: Client) -> None:
    offer(allow_page_subscribers=False)
    for path in (SUBSCRIBE, WEBHOOKS, CHAT):
        page = html(client.get(path))
        assert "This page does not offer subscriptions" in page, path
        assert "<form" not in page.split("<main", 1)[-1], path
        # The feeds are the way left to follow the page.
        assert f'href="{reverse("history-rss")}"' in page
        assert f'href="{CHAT}"' not in page and f'href="{SUBSCRIBE}"' not in page
    for response in sign_up_everywhere(client):
        assert response.status_code == 403
        assert "This page does not offer subscriptions" in html(response)
    assert not Subscriber.objects.exists()
    offer(allow_page_subscribers=False, allow_rss_atom_feeds=False)
    assert "You can still follow us" not in html(client.get(SUBSCRIBE))


def test_subscribers_signed_up_before_keep_being_notified(
    client: Client, smtp_sink, webhook_receiver, slack
) -> None:
    api = make_component("API")
    ada = make_subscriber("ada@example.com")
    make_webhook(webhook_receiver.url)
    chat_create(service="slack", url=slack.url)
    offer(
        allow_page_subscribers=False,
        allow_email_subscribers=False,
        allow_webhook_subscribers=False,
        allow_chat_subscribers=False,
    )
    make_incident("Database down", components={api: "major_outage"})
    deliver_everything()
    assert len(smtp_sink.messages_to("ada@example.com")) == 1
    incidents = [
        r.payload["incident"]["name"] for r in webhook_receiver.received if "incident" in r.payload
    ]
    assert incidents == ["Database down"]
    assert [post.payload["text"] for post in slack.received] == ["[Investigating] Database down"]
    # Their links still work: choose components, then leave.
    manage = path_of(tokens.manage_url(ada))
    assert client.post(manage, {"components": [api.public_id]}).status_code == 200
    assert list(ada.components.all()) == [api]
    assert client.post(path_of(tokens.unsubscribe_url(ada))).status_code == 200
    ada.refresh_from_db()
    assert not ada.is_active


def test_a_confirmation_asked_for_before_the_switch_still_confirms(client: Client) -> None:
    pending = make_subscriber("ada@example.com", confirmed=False)
    offer(allow_email_subscribers=False)
    assert client.post(path_of(tokens.confirm_url(pending))).status_code == 200
    pending.refresh_from_db()
    assert pending.is_active


def _page_settings_form(**switches: str) -> dict[str, str]:
    return {
        "name": "",
        "headline": "",
        "page_description": "",
        "url": "",
        "support_url": "",
        "notifications_from_email": "",
        "notifications_email_footer": "",
        "footer_links-TOTAL_FORMS": "0",
        "footer_links-INITIAL_FORMS": "0",
        **switches,
    }


def test_staff_turn_chat_channels_off_in_the_admin(client: Client) -> None:
    client.force_login(User.objects.create_superuser("alice", "alice@example.com"))
    add = reverse("admin:statuspage_pagesettings_add")
    assert 'name="allow_chat_subscribers"' in html(client.get(add))
    # Unticked boxes are absent from a form post: chat and single-incident are off.
    response = client.post(
        add,
        _page_settings_form(
            allow_page_subscribers="on",
            allow_email_subscribers="on",
            allow_webhook_subscribers="on",
            allow_rss_atom_feeds="on",
        ),
    )
    assert response.status_code == 302
    row = PageSettings.objects.get()
    assert (row.allow_chat_subscribers, row.allow_incident_subscribers) == (False, False)
    client.logout()
    assert "Chat channels are not offered" in html(client.get(CHAT))
    assert '<form id="webhook-signup"' in html(client.get(WEBHOOKS))


def test_the_single_incident_switch_is_accepted_and_changes_no_page(client: Client) -> None:
    # There are no subscriptions to one incident: the switch is stored (the Manage API writes
    # it through this service) and every channel stays offered.
    page_settings_update(changes={"allow_incident_subscribers": False})
    assert PageSettings.objects.get().allow_incident_subscribers is False
    assert '<form id="subscribe-form"' in html(client.get(SUBSCRIBE))
    assert '<form id="webhook-signup"' in html(client.get(WEBHOOKS))
    assert '<form id="chat-signup"' in html(client.get(CHAT))
    assert [response.status_code for response in sign_up_everywhere(client)] == [200, 200, 200]


@pytest.mark.django_db(transaction=True)
def test_the_manage_api_accepts_the_single_incident_switch_and_leaves_chat_alone(
    live_server,  # noqa: ANN001 - pytest-django's live server
) -> None:
    api = ManageClient(live_server.url, key_for(User.objects.create_superuser("brand")))
    path = f"pages/{settings.STATUSPAGE_ID}"
    # Closed before the test ends, so no server thread outlives the test's database.
    with api.http:
        answer = api.patch(
            path,
            json={"page": {"allow_incident_subscribers": False, "allow_chat_subscribers": False}},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["allow_incident_subscribers"] is False
        assert "allow_chat_subscribers" not in api.get(path).json()
        chat_page = api.http.get(live_server.url + CHAT).text
        subscribe_page = api.http.get(live_server.url + SUBSCRIBE).text
    row = PageSettings.objects.get()
    assert (row.allow_incident_subscribers, row.allow_chat_subscribers) == (False, True)
    assert '<form id="chat-signup"' in chat_page
    assert '<form id="subscribe-form"' in subscribe_page
