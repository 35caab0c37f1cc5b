"""The public subscription pages: subscribe with double opt-in, confirm, manage, unsubscribe."""

import datetime as dt
import re
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.template import Context, Template
from django.test import Client
from django.utils import timezone

from notifications import tokens
from notifications.models import Delivery, DeliveryStatus, Notice, Subscriber
from notifications.subscriptions import subscriber_send_notice
from tests.factories import make_component, make_group, make_incident
from tests.notifications.factories import make_subscriber
from tests.notifications.outbox import fan_out_pending

pytestmark = pytest.mark.django_db

SUBSCRIBE = "/subscriptions/"


def subscribe(client: Client, email: str, *components: str, **extra: Any):
    return client.post(SUBSCRIBE, {"email": email, "components": list(components)}, **extra)


def send_notices() -> None:
    for subscriber_id in Subscriber.objects.exclude(notice="").values_list("pk", flat=True):
        subscriber_send_notice(subscriber_id=subscriber_id)


def link_in(body: str, kind: str) -> str:
    match = re.search(rf"http://[^\s\"]+/subscriptions/{kind}/[^\s\"<]+", body)
    assert match, f"no {kind} link in:\n{body}"
    return match.group(0).removeprefix("http://127.0.0.1:8000")


def test_it_shows_the_form_with_public_components_only(client):
    make_component("API")
    make_component("Internal tools", is_public=False)
    make_component("Billing", group=make_group("Back office", is_public=False))
    response = client.get(SUBSCRIBE)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="email"' in html
    assert "API" in html
    assert "Internal tools" not in html
    assert "Billing" not in html


def test_it_asks_a_new_address_to_confirm_before_sending_anything(client):
    api = make_component("API")
    response = subscribe(client, "Ada@Example.COM", api.public_id)
    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    subscriber = Subscriber.objects.get()
    assert subscriber.email == "Ada@example.com"
    assert subscriber.confirmed_at is None
    assert subscriber.notice == Notice.CONFIRM
    assert list(subscriber.components.all()) == [api]

    send_notices()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["Ada@example.com"]
    assert "/subscriptions/confirm/" in mail.outbox[0].body

    make_incident(components={api: "major_outage"})
    fan_out_pending()
    assert Delivery.objects.count() == 0


def test_it_answers_an_address_already_subscribed_exactly_as_a_new_one(client):
    api, web = make_component("API"), make_component("Web")
    existing = make_subscriber("known@example.com", components=[api])
    known = subscribe(client, "known@example.com", web.public_id).content.decode()
    new = subscribe(client, "nobody@example.com", web.public_id).content.decode()
    assert known.replace("known@example.com", "X") == new.replace("nobody@example.com", "X")

    assert list(existing.components.all()) == [api]
    send_notices()
    to_known = next(m for m in mail.outbox if m.to == ["known@example.com"])
    assert "already subscribed" in to_known.subject
    assert "/subscriptions/manage/" in to_known.body
    assert "/subscriptions/confirm/" not in to_known.body


def test_it_confirms_on_a_click_not_on_opening_the_link(client):
    subscribe(client, "ada@example.com")
    send_notices()
    confirm = link_in(str(mail.outbox[0].body), "confirm")

    page = client.get(confirm)
    assert page.status_code == 200
    assert "Confirm my subscription" in page.content.decode()
    assert Subscriber.objects.get().confirmed_at is None

    done = client.post(confirm)
    assert done.status_code == 200
    assert "You are subscribed" in done.content.decode()
    assert Subscriber.objects.get().is_active


def test_it_says_a_confirmation_link_expired_and_confirms_nothing(client, settings):
    settings.NOTIFY_CONFIRM_MAX_AGE_HOURS = 48
    subscribe(client, "ada@example.com")
    send_notices()
    confirm = link_in(str(mail.outbox[0].body), "confirm")
    with time_machine.travel(timezone.now() + dt.timedelta(hours=49)):
        response = client.post(confirm)
    assert response.status_code == 400
    assert "This link has expired" in response.content.decode()
    assert Subscriber.objects.get().confirmed_at is None


def test_it_refuses_a_tampered_link_politely(client):
    subscriber = make_subscriber()
    token = tokens.manage_token(subscriber)
    response = client.get(f"/subscriptions/manage/{token[:-2]}xx")
    assert response.status_code == 400
    assert "This link is not valid" in response.content.decode()
    # A token for another action does not work either.
    assert (
        client.get(f"/subscriptions/manage/{tokens.unsubscribe_token(subscriber)}").status_code
        == 400
    )


def test_it_changes_the_components_followed_on_the_manage_page(client):
    api, web = make_component("API"), make_component("Web")
    subscriber = make_subscriber(components=[api])
    url = f"/subscriptions/manage/{tokens.manage_token(subscriber)}"
    page = client.get(url).content.decode()
    assert f'value="{api.public_id}" checked' in page
    response = client.post(url, {"action": "save", "components": [web.public_id]})
    assert response.status_code == 200
    assert "Saved" in response.content.decode()
    assert list(subscriber.components.all()) == [web]
    client.post(url, {"action": "save"})
    assert list(subscriber.components.all()) == []


def test_it_protects_the_manage_page_against_csrf(client):
    subscriber = make_subscriber()
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(
        f"/subscriptions/manage/{tokens.manage_token(subscriber)}", {"action": "leave"}
    )
    assert response.status_code == 403
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is None


def test_it_cancels_what_was_not_sent_yet_when_someone_leaves(client):
    api = make_component("API")
    subscriber = make_subscriber()
    make_incident(components={api: "major_outage"})
    fan_out_pending()
    response = client.post(
        f"/subscriptions/manage/{tokens.manage_token(subscriber)}", {"action": "leave"}
    )
    assert "You are unsubscribed" in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is not None
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.CANCELLED}


def test_it_unsubscribes_with_one_click_without_a_csrf_token():
    subscriber = make_subscriber()
    mail_provider = Client(enforce_csrf_checks=True)
    response = mail_provider.post(
        f"/subscriptions/unsubscribe/{tokens.unsubscribe_token(subscriber)}",
        {"List-Unsubscribe": "One-Click"},
    )
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is not None


def test_it_needs_a_valid_unsubscribe_token_for_one_click():
    subscriber = make_subscriber()
    mail_provider = Client(enforce_csrf_checks=True)
    for token in (
        tokens.manage_token(subscriber),
        "nonsense",
        tokens.unsubscribe_token(subscriber)[:-1],
    ):
        response = mail_provider.post(
            f"/subscriptions/unsubscribe/{token}", {"List-Unsubscribe": "One-Click"}
        )
        assert response.status_code == 400
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is None


def test_it_asks_before_unsubscribing_when_the_link_is_opened(client):
    subscriber = make_subscriber()
    url = f"/subscriptions/unsubscribe/{tokens.unsubscribe_token(subscriber)}"
    assert "Stop sending updates" in client.get(url).content.decode()
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is None
    assert "You are unsubscribed" in client.post(url).content.decode()


def test_it_makes_someone_who_left_confirm_again_to_come_back(client):
    subscriber = make_subscriber("ada@example.com")
    client.post(f"/subscriptions/unsubscribe/{tokens.unsubscribe_token(subscriber)}")
    subscribe(client, "ada@example.com")
    subscriber.refresh_from_db()
    assert not subscriber.is_active
    assert subscriber.notice == Notice.CONFIRM


def test_it_limits_requests_from_one_client_address(client, settings):
    settings.NOTIFY_SUBSCRIBE_LIMIT_PER_IP = 2
    assert subscribe(client, "a@example.com").status_code == 200
    assert subscribe(client, "b@example.com").status_code == 200
    response = subscribe(client, "c@example.com")
    assert response.status_code == 429
    assert "Too many subscription requests have come from your network" in response.content.decode()
    assert not Subscriber.objects.filter(email="c@example.com").exists()
    other_client = subscribe(client, "c@example.com", REMOTE_ADDR="10.1.2.3")
    assert other_client.status_code == 200


def test_it_limits_requests_for_one_email_address(client, settings):
    settings.NOTIFY_SUBSCRIBE_LIMIT_PER_EMAIL = 2
    subscribe(client, "ada@example.com", REMOTE_ADDR="10.0.0.1")
    subscribe(client, "ADA@example.com", REMOTE_ADDR="10.0.0.2")
    response = subscribe(client, "ada@EXAMPLE.com", REMOTE_ADDR="10.0.0.3")
    assert response.status_code == 429
    assert "already sent several emails to this address" in response.content.decode()
    assert Subscriber.objects.get().notice_requested_at is not None


def test_it_gives_a_friendly_error_for_a_bad_address(client):
    response = subscribe(client, "not-an-address")
    assert response.status_code == 200
    assert "Enter a valid email address, like name@example.com." in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert not Subscriber.objects.exists()


def test_it_gives_an_error_for_a_component_that_is_not_listed(client):
    hidden = make_component("Internal", is_public=False)
    response = subscribe(client, "ada@example.com", hidden.public_id)
    assert "no longer listed" in response.content.decode()
    assert not Subscriber.objects.exists()


def test_it_tells_a_robot_the_same_and_does_nothing(client):
    response = client.post(SUBSCRIBE, {"email": "victim@example.com", "website": "http://spam"})
    assert "Check your inbox" in response.content.decode()
    assert not Subscriber.objects.exists()


def test_it_gives_htmx_the_form_partial_back(client):
    response = subscribe(client, "ada@example.com", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith("<link")  # the partial, not a whole page
    assert "<html" not in html
    assert "Check your inbox" in html


def test_it_renders_the_form_in_any_page_with_a_template_tag():
    make_component("API")
    make_component("Internal tools", is_public=False)
    html = Template("{% load subscriptions %}<main>{% subscribe_form %}</main>").render(Context())
    assert 'action="/subscriptions/"' in html
    assert "API" in html
    assert "Internal tools" not in html
    assert "csrfmiddlewaretoken" not in html  # safe in a page served from the public cache
