"""Webhook endpoints signing up on the public page: the form, the SSRF guard, the rate limits,
and the signed challenge a real endpoint on 127.0.0.1 must echo before it gets anything else."""

import datetime as dt
import html
import ipaddress
import re
import socket
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from incidents.models import OutboxEvent
from notifications import endpoints, subscriptions, sweeper, tasks
from notifications.models import Delivery, DeliveryStatus, Subscriber
from statuspage.celery import app
from tests.factories import make_component, make_incident
from tests.notifications.factories import make_webhook
from tests.notifications.outbox import deliver_everything

pytest_plugins = ["tests.notifications.plugin"]
pytestmark = pytest.mark.django_db

PAGE = "/subscriptions/webhooks"


@pytest.fixture
def eager_tasks():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def local_endpoints(settings):
    """The receivers of these tests listen on 127.0.0.1, which the guard refuses by default."""
    settings.NOTIFY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True


@pytest.fixture
def guarded(settings):
    settings.NOTIFY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False


class FakeDns(dict[str, list[str]]):
    """Host name -> addresses, and the names looked up."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups: list[str] = []


@pytest.fixture
def fake_dns(monkeypatch):
    """Host name -> addresses, answered instead of the system's resolver (the tests make no
    DNS queries); a name not listed does not exist."""
    records = FakeDns()

    def getaddrinfo(host, port, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        records.lookups.append(host)
        if host not in records:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (a, port),
            )
            for a in records[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return records


def sign_up(client: Client, url: str, *components: str, **extra: Any):
    return client.post(PAGE, {"url": url, "components": list(components)}, **extra)


def shown_secret(response) -> str:  # noqa: ANN001
    pattern = r'<pre class="webhook-secret"><code>([0-9a-f]{64})</code></pre>'
    match = re.search(pattern, text(response))
    assert match, text(response)
    return match.group(1)


def text(response) -> str:  # noqa: ANN001
    return response.content.decode()


def commit(callbacks: list) -> None:
    for callback in callbacks:
        callback()


# The form


def test_it_shows_the_form_with_a_csrf_token_and_never_caches_it(client):
    make_component("API")
    response = client.get(PAGE)
    assert response.status_code == 200
    page = text(response)
    assert 'name="csrfmiddlewaretoken"' in page
    assert 'name="url"' in page and "API" in page
    assert "webhook_challenge" in page
    assert "no-store" in response["Cache-Control"]


def test_it_refuses_a_post_without_the_csrf_token(local_endpoints, webhook_receiver):
    response = sign_up(Client(enforce_csrf_checks=True), webhook_receiver.url)
    assert response.status_code == 403
    assert not Subscriber.objects.exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "Enter the URL of your endpoint."),
        ("not a url", "Enter a full URL, like https://example.com/hooks/status."),
        ("ftp://files.example.com/hook", "Use an http:// or https:// URL."),
        ("https://ada:pw@hooks.example.com/x", "Leave the user name and password out"),
        ("https://hooks.example.com/" + "a" * 500, "This URL is too long"),
        ("https://status.corp.internal/hook", "status.corp.internal is a name on a local"),
        ("https://hooks.example.com:99999/x", "The port in this URL is not a number"),
    ],
)
def test_it_explains_what_is_wrong_with_a_url(client, guarded, fake_dns, url, message):
    fake_dns["hooks.example.com"] = ["93.184.215.14"]
    response = sign_up(client, url)
    assert response.status_code == 400
    assert message in html.unescape(text(response))
    assert 'aria-invalid="true"' in text(response)
    assert not Subscriber.objects.exists()


def test_it_accepts_a_host_name_without_looking_it_up_in_the_request(
    client, guarded, fake_dns, django_capture_on_commit_callbacks
):
    fake_dns["hooks.example.com"] = ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    with django_capture_on_commit_callbacks() as callbacks:
        response = sign_up(client, "HTTPS://Hooks.Example.com/status")
    assert response.status_code == 200
    assert fake_dns.lookups == []  # the worker sending the challenge looks it up
    subscriber = Subscriber.objects.get()
    assert subscriber.url == "https://hooks.example.com/status"
    assert (subscriber.self_registered, subscriber.state) == (True, "unconfirmed")
    assert len(callbacks) == 1


# The SSRF guard


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://db.localhost/hook",
        "http://nas.local/hook",
    ],
)
def test_it_refuses_urls_that_point_to_private_addresses(client, guarded, fake_dns, url):
    response = sign_up(client, url)
    assert response.status_code == 400
    assert "We only send webhooks to addresses on the public internet." in text(response)
    assert not Subscriber.objects.exists()


@pytest.mark.parametrize(
    ("host", "error"),
    [
        ("internal.example.com", "points to a private, local or reserved network address"),
        ("mixed.example.com", "points to a private, local or reserved network address"),
        ("nowhere.example.net", "Could not resolve nowhere.example.net"),
    ],
)
def test_the_challenge_refuses_a_name_that_resolves_to_a_private_address_or_nowhere(
    client, guarded, fake_dns, host, error
):
    fake_dns["internal.example.com"] = ["10.0.0.7"]
    fake_dns["mixed.example.com"] = ["93.184.215.14", "172.16.0.1"]
    assert sign_up(client, f"http://{host}/hook").status_code == 200
    subscriber = Subscriber.objects.get()

    assert subscriptions.webhook_challenge_send(subscriber_id=subscriber.pk) == "retry"
    subscriber.refresh_from_db()
    assert subscriber.state == "unconfirmed"
    assert error in subscriber.challenge_error
    assert fake_dns.lookups == [host]  # and no connection was made


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("100.64.0.1", False),
        ("169.254.169.254", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("0.0.0.0", False),
        ("fe80::1", False),
        ("ff02::1", False),
        ("::ffff:10.0.0.1", False),
        ("64:ff9b::7f00:1", False),
        ("2002:7f00:1::", False),
    ],
)
def test_it_tells_public_addresses_from_the_rest(address, public):
    assert endpoints.is_public_address(ipaddress.ip_address(address)) is public


def test_it_checks_the_address_again_when_sending(
    settings, webhook_receiver, eager_tasks, django_capture_on_commit_callbacks
):
    """A name that pointed to a public address at sign-up and to 127.0.0.1 now is refused at
    the connection: here the receiver's own address, once the setting is off."""
    settings.NOTIFY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    with django_capture_on_commit_callbacks(execute=True):
        subscriptions.webhook_signup(url=webhook_receiver.url)
    settings.NOTIFY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    subscriber = Subscriber.objects.get()
    assert subscriber.state == "unconfirmed"  # the receiver did not echo; it has one request
    subscriber.challenge_next_at = timezone.now()
    subscriber.save()
    webhook_receiver.echo_challenges = "text"

    assert subscriptions.webhook_challenge_send(subscriber_id=subscriber.pk) == "retry"
    subscriber.refresh_from_db()
    assert subscriber.state == "unconfirmed"
    assert "127.0.0.1 points to a private, local or reserved" in subscriber.challenge_error
    assert len(webhook_receiver.received) == 1


def test_it_refuses_notifications_to_a_signed_up_endpoint_that_turned_private(
    settings, webhook_receiver, eager_tasks, django_capture_on_commit_callbacks
):
    settings.NOTIFY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    webhook_receiver.echo_challenges = "text"
    with django_capture_on_commit_callbacks(execute=True):
        webhook_receiver.secret = subscriptions.webhook_signup(url=webhook_receiver.url).secret
    assert Subscriber.objects.get().is_active
    settings.NOTIFY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False

    make_incident()
    deliver_everything()
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert "private, local or reserved network address" in delivery.last_error
    assert len(webhook_receiver.received) == 1  # the challenge only


def test_staff_added_endpoints_may_stay_on_the_internal_network(guarded, webhook_receiver):
    hook = make_webhook(webhook_receiver.url)
    webhook_receiver.secret = hook.secret
    make_incident()
    deliver_everything()
    assert Delivery.objects.get().status == DeliveryStatus.SENT


# The challenge


@pytest.mark.parametrize("echo", ["text", "json"])
def test_an_endpoint_that_echoes_the_challenge_becomes_active_and_gets_incidents(
    client, local_endpoints, webhook_receiver, eager_tasks, django_capture_on_commit_callbacks, echo
):
    api = make_component("API")
    webhook_receiver.echo_challenges = echo
    with django_capture_on_commit_callbacks() as callbacks:
        response = sign_up(client, webhook_receiver.url, api.public_id)
    assert response.status_code == 200
    assert "Almost there" in text(response)
    secret = shown_secret(response)
    subscriber = Subscriber.objects.get()
    assert subscriber.secret == secret
    assert subscriber.state == "unconfirmed"
    assert list(subscriber.components.all()) == [api]
    assert webhook_receiver.received == []  # nothing left during the web request

    webhook_receiver.secret = secret
    commit(callbacks)  # the task runs after the commit, in a worker (here eagerly)
    [challenge] = webhook_receiver.received
    assert challenge.headers["X-Statuspage-Event"] == "webhook_challenge"
    assert challenge.signature_valid
    assert set(challenge.payload) == {"meta", "page", "challenge"}
    assert len(challenge.payload["challenge"]) >= 32
    subscriber.refresh_from_db()
    assert subscriber.state == "active"
    assert (subscriber.challenge, subscriber.challenge_error) == ("", "")

    incident = make_incident("Elevated API errors", components={api: "major_outage"})
    deliver_everything()
    events = {r.headers["X-Statuspage-Event"]: r for r in webhook_receiver.received[1:]}
    assert set(events) == {"incident_created", "component_status_changed"}
    assert all(r.signature_valid for r in events.values())
    assert events["incident_created"].payload["incident"]["id"] == incident.public_id


def test_an_endpoint_that_does_not_echo_stays_pending_and_gets_nothing(
    client, local_endpoints, webhook_receiver, eager_tasks, django_capture_on_commit_callbacks,
    settings, admin_client,
):  # fmt: skip
    settings.NOTIFY_MAX_ATTEMPTS = 3
    settings.NOTIFY_RETRY_BASE_SECONDS = 60
    api = make_component("API")
    with django_capture_on_commit_callbacks(execute=True):
        webhook_receiver.secret = shown_secret(sign_up(client, webhook_receiver.url))
    subscriber = Subscriber.objects.get()
    assert subscriber.state == "unconfirmed"
    assert subscriber.challenge_attempts == 1
    error = "The endpoint answered 2xx without the HMAC of the challenge: ok"
    assert subscriber.challenge_error == error
    assert subscriber.challenge_next_at is not None
    assert subscriber.challenge_next_at - timezone.now() > dt.timedelta(seconds=55)

    make_incident(components={api: "major_outage"})
    deliver_everything()
    assert OutboxEvent.objects.filter(processed_at__isnull=True).count() == 0
    assert Delivery.objects.count() == 0
    assert len(webhook_receiver.received) == 1

    # Retried by the sweeper with backoff, then given up.
    webhook_receiver.answers.append((503, 0))
    for attempt in (2, 3):
        assert subscriber.challenge_next_at is not None
        later = subscriber.challenge_next_at + dt.timedelta(seconds=1)
        with time_machine.travel(later), django_capture_on_commit_callbacks(execute=True):
            assert sweeper.outbox_sweep(now=later).challenges == 1
        subscriber.refresh_from_db()
        assert subscriber.challenge_attempts == attempt
    assert subscriber.challenge_next_at is None
    assert subscriber.state == "unconfirmed"
    assert subscriber.challenge_error.startswith(
        "The endpoint answered 2xx without the HMAC of the challenge"
    )
    assert len(webhook_receiver.received) == 3
    events = {r.headers["X-Statuspage-Event"] for r in webhook_receiver.received}
    assert events == {"webhook_challenge"}
    assert sweeper.outbox_sweep(now=timezone.now() + dt.timedelta(days=1)).challenges == 0

    page = admin_client.get(f"/admin/notifications/subscriber/{subscriber.pk}/change/")
    assert "Gave up after 3 of 3 attempts." in html.unescape(text(page))
    assert "without the HMAC of the challenge" in text(page)


def test_a_challenge_is_sent_once_even_if_two_workers_get_the_task(
    local_endpoints, webhook_receiver, django_capture_on_commit_callbacks
):
    webhook_receiver.echo_challenges = "text"
    with django_capture_on_commit_callbacks():
        webhook_receiver.secret = subscriptions.webhook_signup(url=webhook_receiver.url).secret
    subscriber = Subscriber.objects.get()
    tasks.send_webhook_challenge(subscriber.pk)
    tasks.send_webhook_challenge(subscriber.pk)
    assert len(webhook_receiver.received) == 1
    subscriber.refresh_from_db()
    assert subscriber.is_active


def test_signing_up_again_while_pending_keeps_the_first_secret(
    client, local_endpoints, webhook_receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        first = shown_secret(sign_up(client, webhook_receiver.url))
        second = shown_secret(sign_up(client, webhook_receiver.url))
    subscriber = Subscriber.objects.get()
    assert first != second
    assert subscriber.secret == first
    webhook_receiver.secret = first
    webhook_receiver.echo_challenges = "json"
    tasks.send_webhook_challenge(subscriber.pk)
    [challenge] = webhook_receiver.received
    assert challenge.signature_valid
    subscriber.refresh_from_db()
    assert subscriber.is_active


# Revealing nothing


def test_an_active_url_answers_exactly_as_a_new_one_and_stays_as_it_was(
    client, local_endpoints, webhook_receiver, django_capture_on_commit_callbacks
):
    api, web = make_component("API"), make_component("Web")
    existing = make_webhook(webhook_receiver.url, components=[api])
    new_url = webhook_receiver.url.replace("/hooks/status", "/other")
    with django_capture_on_commit_callbacks() as callbacks:
        known = sign_up(client, webhook_receiver.url, web.public_id)
        new = sign_up(client, new_url, web.public_id)
    assert known.status_code == new.status_code == 200

    def masked(response, url: str) -> str:  # noqa: ANN001
        # The CSRF token is masked afresh on every page, whatever was posted.
        page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", text(response))
        return page.replace(url, "URL").replace(shown_secret(response), "SECRET")

    assert masked(known, webhook_receiver.url) == masked(new, new_url)
    assert shown_secret(known) != existing.secret

    existing.refresh_from_db()
    assert existing.is_active
    assert list(existing.components.all()) == [api]
    assert Subscriber.objects.filter(url=webhook_receiver.url).count() == 1
    assert len(callbacks) == 1  # a challenge for the new URL only
    assert Subscriber.objects.get(url=new_url).state == "unconfirmed"


def test_a_robot_that_fills_the_trap_gets_the_same_page_and_nothing_is_stored(
    client, local_endpoints, webhook_receiver
):
    response = client.post(PAGE, {"url": webhook_receiver.url, "website": "http://spam"})
    assert response.status_code == 200
    assert "Almost there" in text(response)
    shown_secret(response)
    assert not Subscriber.objects.exists()


# Rate limits


def test_it_limits_sign_ups_per_client_address(
    client, local_endpoints, webhook_receiver, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFY_SUBSCRIBE_LIMIT_PER_IP = 2
    with django_capture_on_commit_callbacks():
        for n in range(2):
            assert sign_up(client, f"{webhook_receiver.url}/{n}").status_code == 200
        refused = sign_up(client, f"{webhook_receiver.url}/3")
        other_network = sign_up(client, f"{webhook_receiver.url}/4", REMOTE_ADDR="192.0.2.9")
    assert refused.status_code == 429
    assert "Too many sign-ups have come from your network" in text(refused)
    assert other_network.status_code == 200
    assert Subscriber.objects.count() == 3


def test_it_limits_sign_ups_per_url(
    client, local_endpoints, webhook_receiver, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFY_SUBSCRIBE_LIMIT_PER_EMAIL = 2
    with django_capture_on_commit_callbacks() as callbacks:
        for n in range(3):
            response = sign_up(client, webhook_receiver.url, REMOTE_ADDR=f"192.0.2.{n + 1}")
    assert response.status_code == 429
    assert "This URL has been signed up several times in the last hour" in text(response)
    assert len(callbacks) == 1  # signing up a pending URL again sends no second challenge


def test_staff_can_send_a_given_up_challenge_again(
    local_endpoints, webhook_receiver, admin_client, settings, eager_tasks,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    settings.NOTIFY_MAX_ATTEMPTS = 1
    with django_capture_on_commit_callbacks(execute=True):
        subscriptions.webhook_signup(url=webhook_receiver.url)
    subscriber = Subscriber.objects.get()
    assert (subscriber.state, subscriber.challenge_next_at) == ("unconfirmed", None)

    webhook_receiver.secret = subscriber.secret
    webhook_receiver.echo_challenges = "text"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/notifications/subscriber/",
            {"action": "resend_challenge", "_selected_action": [subscriber.pk]},
            follow=True,
        )
    assert "1 challenges queued again." in text(response)
    subscriber.refresh_from_db()
    assert subscriber.state == "active"
    assert len(webhook_receiver.received) == 2
