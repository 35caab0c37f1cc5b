"""Confirm links work once: a link is bound to the subscription's state when it was sent, so an
old one cannot bring back an address that has left since."""

import re

import pytest
from django.core import mail
from django.test import Client

from notifications import tokens
from notifications.models import Subscriber
from notifications.subscriptions import (
    subscriber_send_notice,
    subscription_confirm,
    subscription_leave,
)

pytestmark = pytest.mark.django_db


def confirm_link(client: Client, email: str) -> str:
    client.post("/subscriptions/", {"email": email})
    subscriber = Subscriber.objects.get(email=email)
    subscriber_send_notice(subscriber_id=subscriber.pk)
    match = re.search(r"/subscriptions/confirm/[^\s\"<]+", str(mail.outbox[-1].body))
    assert match
    return match.group(0)


def leave(client: Client, subscriber: Subscriber) -> None:
    client.post(f"/subscriptions/unsubscribe/{tokens.unsubscribe_token(subscriber)}")


def test_an_old_confirm_link_does_not_bring_back_an_address_that_left(client):
    link = confirm_link(client, "ada@example.com")
    assert client.post(link).status_code == 200
    subscriber = Subscriber.objects.get()
    assert subscriber.is_active

    leave(client, subscriber)
    replay = client.post(link)

    assert replay.status_code == 400
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is not None
    assert not subscriber.is_active


def test_a_confirm_link_from_before_leaving_does_not_confirm_a_later_request(client):
    first = confirm_link(client, "ada@example.com")
    client.post(first)
    leave(client, Subscriber.objects.get())
    second = confirm_link(client, "ada@example.com")

    assert client.post(first).status_code == 400
    assert not Subscriber.objects.get().is_active
    assert client.post(second).status_code == 200
    assert Subscriber.objects.get().is_active


def test_a_confirm_link_is_refused_once_used(client):
    link = confirm_link(client, "ada@example.com")
    assert client.post(link).status_code == 200
    assert client.get(link).status_code == 400


def test_two_links_sent_while_pending_both_work(client):
    first = confirm_link(client, "ada@example.com")
    second = confirm_link(client, "ada@example.com")
    assert client.post(second).status_code == 200
    assert Subscriber.objects.get().is_active
    # The other one was for the same pending state, which is gone now.
    assert client.post(first).status_code == 400


def test_the_service_refuses_a_subscriber_read_before_its_state_changed(client):
    link = confirm_link(client, "ada@example.com")
    stale = tokens.subscriber_from_confirm_token(link.rpartition("/")[2])
    subscription_confirm(subscriber=stale)
    subscription_leave(subscriber=Subscriber.objects.get())
    assert subscription_confirm(subscriber=stale) is False
    assert not Subscriber.objects.get().is_active
