"""Email subscribers added through the Manage API: double opt-in by default, confirmed at once
with `skip_confirmation_notification`, over real HTTP and a real SMTP server."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from notifications.models import Subscriber
from notifications.subscriptions import subscriber_send_notice
from tests.factories import make_component
from tests.manage_api import ManageClient, key_for, user_with
from tests.notifications.factories import make_subscriber

pytestmark = pytest.mark.django_db(transaction=True)
pytest_plugins = ["tests.notifications.plugin"]


@pytest.fixture
def api(live_server, db) -> ManageClient:
    return ManageClient(live_server.url, key_for(User.objects.create_superuser("crm")))


def send_notices() -> None:
    """What the worker does with the notices requested (the tests run no worker)."""
    for subscriber_id in Subscriber.objects.exclude(notice="").values_list("pk", flat=True):
        subscriber_send_notice(subscriber_id=subscriber_id)


def test_without_skipping_the_address_gets_the_double_opt_in_email(api, smtp_sink):
    answer = api.post("/subscribers", json={"subscriber": {"email": "ada@example.com"}})
    assert answer.status_code == 201, answer.text
    assert answer.json()["state"] == "unconfirmed"
    assert answer.json()["skip_confirmation_notification"] is False
    send_notices()
    [message] = smtp_sink.messages_to("ada@example.com")
    body = message.get_body(("plain",))
    assert body is not None
    assert "/subscriptions/confirm/" in body.get_content()
    assert not Subscriber.objects.active().exists()


def test_skipping_the_confirmation_makes_an_active_subscriber_and_sends_nothing(api, smtp_sink):
    web = make_component("Web")
    answer = api.post(
        "/subscribers",
        json={
            "subscriber": {
                "email": "grace@example.com",
                "component_ids": [web.public_id],
                "skip_confirmation_notification": True,
            }
        },
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["state"] == "active"
    assert created["skip_confirmation_notification"] is True
    assert created["components"] == [web.public_id]
    subscriber = Subscriber.objects.active().get()
    assert subscriber.email == "grace@example.com"
    assert list(subscriber.components.all()) == [web]
    send_notices()
    assert smtp_sink.received == []


def test_skipping_confirms_an_address_waiting_for_its_link_and_drops_the_pending_email(
    api, smtp_sink
):
    api.post("/subscribers", json={"subscriber": {"email": "ada@example.com"}})
    answer = api.post(
        "/subscribers",
        content="subscriber[email]=ada@example.com&subscriber[skip_confirmation_notification]=true",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["state"] == "active"
    send_notices()
    assert smtp_sink.received == []
    assert Subscriber.objects.active().count() == 1


def test_skipping_leaves_an_active_address_as_it_is(api, smtp_sink):
    web, api_component = make_component("Web"), make_component("API")
    subscriber = make_subscriber(email="ada@example.com", components=[web])
    answer = api.post(
        "/subscribers",
        json={
            "subscriber": {
                "email": "ada@example.com",
                "component_ids": [api_component.public_id],
                "skip_confirmation_notification": True,
            }
        },
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["components"] == [web.public_id]
    send_notices()
    assert smtp_sink.received == []
    subscriber.refresh_from_db()
    assert subscriber.is_active


def test_a_skip_flag_that_is_not_a_boolean_gets_422(api):
    answer = api.post(
        "/subscribers",
        json={"subscriber": {"email": "ada@example.com", "skip_confirmation_notification": "sure"}},
    )
    assert answer.status_code == 422
    assert answer.json() == {"error": ["skip_confirmation_notification must be true or false"]}
    assert not Subscriber.objects.exists()


def test_a_key_whose_owner_may_only_read_subscribers_cannot_add_one(live_server, db):
    reader = ManageClient(
        live_server.url, key_for(user_with("notifications.view_subscriber", username="reader"))
    )
    answer = reader.post(
        "/subscribers",
        json={"subscriber": {"email": "ada@example.com", "skip_confirmation_notification": True}},
    )
    assert answer.status_code == 403
    assert not Subscriber.objects.exists()
