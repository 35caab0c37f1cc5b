"""Webhook sign-up against interference: an endpoint that reflects requests cannot pass the
challenge, signing up a pending URL again cannot break its owner's sign-up, and challenges go
through a queue of their own."""

import re

import pytest
from django.test import Client

from notifications import subscriptions, tasks
from notifications.models import Subscriber
from statuspage.celery import app

pytestmark = pytest.mark.django_db

PAGE = "/subscriptions/webhooks"


@pytest.fixture
def local_endpoints(settings):
    settings.NOTIFY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True


def sign_up(client: Client, url: str) -> str:
    """Sign `url` up and return the secret the page shows."""
    response = client.post(PAGE, {"url": url})
    assert response.status_code == 200
    match = re.search(
        r'<pre class="webhook-secret"><code>([0-9a-f]{64})</code></pre>', response.content.decode()
    )
    assert match
    return match.group(1)


def test_an_endpoint_that_echoes_the_request_back_does_not_pass(
    client, local_endpoints, webhook_receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        webhook_receiver.secret = sign_up(client, webhook_receiver.url)
    webhook_receiver.echo_challenges = "echo"
    subscriber = Subscriber.objects.get()
    assert subscriptions.webhook_challenge_send(subscriber_id=subscriber.pk) == "retry"
    subscriber.refresh_from_db()
    assert not subscriber.is_active


@pytest.mark.parametrize("raw", [True, False])
def test_the_challenge_itself_is_not_an_answer(
    client, local_endpoints, webhook_receiver, django_capture_on_commit_callbacks, raw
):
    with django_capture_on_commit_callbacks():
        secret = sign_up(client, webhook_receiver.url)
    challenge = Subscriber.objects.get().challenge
    body = challenge if raw else f'{{"answer": "{challenge}"}}'
    assert not subscriptions.challenge_answered(body.encode(), challenge=challenge, secret=secret)
    expected = subscriptions.challenge_answer(challenge=challenge, secret=secret)
    assert subscriptions.challenge_answered(
        f"{expected}\n".encode(), challenge=challenge, secret=secret
    )


def test_someone_else_signing_up_a_pending_url_does_not_break_its_sign_up(
    client, local_endpoints, webhook_receiver, django_capture_on_commit_callbacks
):
    owner = Client()
    with django_capture_on_commit_callbacks():
        owners_secret = sign_up(owner, webhook_receiver.url)
    challenge = Subscriber.objects.get().challenge
    with django_capture_on_commit_callbacks() as callbacks:
        attackers_secret = sign_up(client, webhook_receiver.url)
    assert attackers_secret != owners_secret
    assert callbacks == []  # no second challenge while the first is still being tried
    subscriber = Subscriber.objects.get()
    assert (subscriber.secret, subscriber.challenge) == (owners_secret, challenge)

    webhook_receiver.secret = owners_secret
    webhook_receiver.echo_challenges = "text"
    assert subscriptions.webhook_challenge_send(subscriber_id=subscriber.pk) == "confirmed"


def test_a_pending_url_whose_challenge_gave_up_gets_it_again_with_the_same_secret(
    client, local_endpoints, webhook_receiver, django_capture_on_commit_callbacks, settings
):
    settings.NOTIFY_MAX_ATTEMPTS = 1
    with django_capture_on_commit_callbacks():
        secret = sign_up(client, webhook_receiver.url)
    subscriber = Subscriber.objects.get()
    assert subscriptions.webhook_challenge_send(subscriber_id=subscriber.pk) == "gave_up"
    with django_capture_on_commit_callbacks() as callbacks:
        sign_up(client, webhook_receiver.url)
    assert len(callbacks) == 1
    subscriber.refresh_from_db()
    assert subscriber.secret == secret
    webhook_receiver.secret = secret
    webhook_receiver.echo_challenges = "json"
    assert subscriptions.webhook_challenge_send(subscriber_id=subscriber.pk) == "confirmed"


def test_challenges_have_their_own_queue_and_deliveries_keep_theirs():
    router = app.amqp.router
    queue_of = {
        name: router.route({}, name)["queue"].name
        for name in (tasks.send_webhook_challenge.name, tasks.send_deliveries.name)
    }
    assert queue_of == {
        "notifications.send_webhook_challenge": "challenges",
        "notifications.send_deliveries": "notifications",
    }
