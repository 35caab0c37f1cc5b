"""Email notifications end to end in this process: outbox events are fanned out and sent to a
real SMTP server (aiosmtpd on 127.0.0.1), which keeps what it accepted."""

import datetime as dt
import email
import email.policy
import re
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from incidents import services as incident_services
from incidents.models import Incident, OutboxEvent
from notifications import claims, fanout, sending, sweeper
from notifications.emails import event_email
from notifications.models import Delivery, DeliveryStatus, Subscriber, SubscriberKind
from tests.factories import make_component, make_group, make_incident, make_maintenance
from tests.notifications.factories import make_subscriber
from tests.notifications.outbox import deliver_everything, fan_out_pending, send_due
from website.serializers import with_serialization_prefetches

pytest_plugins = ["tests.notifications.plugin"]
pytestmark = pytest.mark.django_db


def subjects(sink, address):
    return [m["Subject"] for m in sink.messages_to(address)]


def test_it_sends_a_multipart_email_with_one_click_unsubscribe_headers(smtp_sink, settings):
    settings.SITE_URL = "https://status.example.com"
    api = make_component("API")
    make_subscriber("ada@example.com")
    incident = make_incident(
        "Elevated API errors in the US data center",
        body="We are **investigating** elevated error rates.",
        components={api: "major_outage"},
    )
    deliver_everything()

    [message] = smtp_sink.messages_to("ada@example.com")
    assert message["Subject"] == "[Investigating] Elevated API errors in the US data center"
    assert message["To"] == "ada@example.com"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "We are **investigating** elevated error rates." in text
    assert "We are <strong>investigating</strong> elevated error rates." in html
    incident_url = f"https://status.example.com/incidents/{incident.public_id}"
    assert incident_url in text and incident_url in html
    assert "API (Major outage)" in text
    assert "Operational -> Major outage" in text

    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = re.fullmatch(
        r"<(https://status\.example\.com/subscriptions/unsubscribe/\S+)>",
        message["List-Unsubscribe"].strip(),
    )
    assert unsubscribe, message["List-Unsubscribe"]
    assert unsubscribe.group(1) in text
    assert "/subscriptions/manage/" in text and "/subscriptions/manage/" in html

    # The header's link works the way a mail provider uses it.
    path = unsubscribe.group(1).removeprefix("https://status.example.com")
    response = Client(enforce_csrf_checks=True).post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert Subscriber.objects.get().unsubscribed_at is not None


def test_it_says_what_happened_in_the_subject(smtp_sink):
    api = make_component("API")
    make_subscriber("ada@example.com")
    incident = make_incident("Login failures", components={api: "partial_outage"})
    incident_services.incident_post_update(incident=incident, status="identified", body="Found it.")
    incident_services.incident_resolve(incident=incident, body="Fixed.")
    incident_services.incident_publish_postmortem(
        incident=incident, body="# What happened\n\nA bad deploy."
    )
    maintenance = make_maintenance("Database upgrade", starts_in=dt.timedelta(minutes=-1))
    incident_services.maintenance_start(maintenance=maintenance)
    incident_services.maintenance_complete(maintenance=maintenance)
    deliver_everything()

    assert subjects(smtp_sink, "ada@example.com") == [
        "[Investigating] Login failures",
        "[Identified] Login failures",
        "[Resolved] Login failures",
        "[Postmortem] Login failures",
        "[Scheduled maintenance] Database upgrade",
        "[Maintenance in progress] Database upgrade",
        "[Maintenance completed] Database upgrade",
    ]
    postmortem = smtp_sink.messages_to("ada@example.com")[3]
    assert re.search(
        r"<h1 style=\"[^\"]*\">What happened</h1>", postmortem.get_body(("html",)).get_content()
    )


def test_it_sends_only_to_subscribers_of_an_affected_component_or_of_all(smtp_sink):
    api, web = make_component("API"), make_component("Web")
    make_subscriber("all@example.com")
    make_subscriber("api@example.com", components=[api])
    make_subscriber("web@example.com", components=[web])
    make_subscriber("both@example.com", components=[api, web])
    make_subscriber("unconfirmed@example.com", confirmed=False)
    make_subscriber("left@example.com", unsubscribed_at=timezone.now())
    make_subscriber("disabled@example.com", disabled_at=timezone.now(), disabled_reason="Bounced.")
    make_incident(components={api: "major_outage"})
    deliver_everything()
    assert sorted(smtp_sink.counts()) == ["all@example.com", "api@example.com", "both@example.com"]


def test_it_sends_an_incident_without_components_only_to_those_who_follow_everything(smtp_sink):
    api = make_component("API")
    make_subscriber("all@example.com")
    make_subscriber("api@example.com", components=[api])
    make_incident(components={})
    deliver_everything()
    assert list(smtp_sink.counts()) == ["all@example.com"]


def test_it_never_shows_hidden_components_or_picks_recipients_by_them(smtp_sink):
    api = make_component("API")
    internal = make_component("Internal ledger", is_public=False)
    billing = make_component("Billing engine", group=make_group("Back office", is_public=False))
    make_subscriber("all@example.com")
    make_subscriber("internal@example.com", components=[internal, billing])
    make_incident(
        components={api: "major_outage", internal: "major_outage", billing: "partial_outage"}
    )
    deliver_everything()
    [message] = smtp_sink.messages_to("all@example.com")
    raw = message.as_string()
    assert "API" in raw
    assert "Internal ledger" not in raw
    assert "Billing engine" not in raw
    assert "internal@example.com" not in smtp_sink.counts()


def test_it_notifies_nobody_of_a_draft_until_it_is_published(smtp_sink):
    api = make_component("API")
    make_subscriber("ada@example.com")
    incident = make_incident(
        "Checker saw an outage", is_draft=True, components={api: "major_outage"}
    )
    deliver_everything()
    assert smtp_sink.received == []
    incident_services.incident_publish(incident=incident)
    deliver_everything()
    assert subjects(smtp_sink, "ada@example.com") == ["[Investigating] Checker saw an outage"]


def test_it_sends_nothing_for_an_update_posted_without_notifying(smtp_sink):
    make_subscriber("ada@example.com")
    incident = make_incident()
    deliver_everything()
    incident_services.incident_post_update(
        incident=incident, status="identified", body="Quiet note.", deliver_notifications=False
    )
    deliver_everything()
    assert len(smtp_sink.received) == 1


def test_it_sends_nothing_twice_when_an_event_is_fanned_out_again(smtp_sink):
    make_subscriber("ada@example.com")
    make_subscriber("bob@example.com")
    make_incident()
    event = OutboxEvent.objects.get(kind="incident_created")
    assert fanout.event_fan_out(event_id=event.pk) == 2
    assert fanout.event_fan_out(event_id=event.pk) is None
    # Even a fan-out that slips past the claim (say, the row was reset by hand) adds nothing.
    OutboxEvent.objects.filter(pk=event.pk).update(processed_at=None)
    fanout.event_fan_out(event_id=event.pk)
    assert Delivery.objects.count() == 2
    send_due()
    send_due()
    assert smtp_sink.counts() == {"ada@example.com": 1, "bob@example.com": 1}


def test_it_sends_a_batch_over_one_smtp_connection(smtp_sink, settings):
    settings.NOTIFY_EMAIL_BATCH_SIZE = 50
    for n in range(12):
        make_subscriber(f"person{n}@example.com")
    make_incident()
    fan_out_pending()
    sessions_before = smtp_sink.sessions
    assert sending.deliveries_send_batch(channel=SubscriberKind.EMAIL) == 12
    assert len(smtp_sink.received) == 12
    assert smtp_sink.sessions - sessions_before == 1


def test_it_retries_a_refused_recipient_and_still_sends_to_the_others(smtp_sink, settings):
    settings.NOTIFY_RETRY_BASE_SECONDS = 60
    make_subscriber("ada@example.com")
    make_subscriber("gone@example.com")
    make_subscriber("cyd@example.com")
    smtp_sink.refuse["gone@example.com"] = "550 5.1.1 No such user here"
    make_incident()
    deliver_everything()

    assert sorted(smtp_sink.counts()) == ["ada@example.com", "cyd@example.com"]
    refused = Delivery.objects.get(subscriber__email="gone@example.com")
    assert refused.status == DeliveryStatus.PENDING
    assert refused.attempts == 1
    assert "550 5.1.1 No such user here" in refused.last_error
    assert refused.next_attempt_at > timezone.now() + dt.timedelta(seconds=50)
    assert send_due() == 0  # not due yet

    del smtp_sink.refuse["gone@example.com"]
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61)):
        assert send_due() == 1
    assert smtp_sink.counts() == {"ada@example.com": 1, "cyd@example.com": 1, "gone@example.com": 1}
    refused.refresh_from_db()
    assert refused.status == DeliveryStatus.SENT
    assert refused.attempts == 2


def test_it_gives_up_after_the_last_attempt_and_disables_after_repeated_failures(
    smtp_sink, settings
):
    settings.NOTIFY_MAX_ATTEMPTS = 2
    settings.NOTIFY_DISABLE_AFTER_FAILURES = 2
    subscriber = make_subscriber("gone@example.com")
    smtp_sink.refuse["gone@example.com"] = "550 5.1.1 No such user here"
    incident = make_incident()
    incident_services.incident_post_update(incident=incident, status="identified", body="Found it.")
    later = timezone.now()
    for _ in range(3):
        with time_machine.travel(later):
            deliver_everything()
        later += dt.timedelta(hours=2)

    assert smtp_sink.received == []
    assert set(Delivery.objects.values_list("status", "attempts")) == {(DeliveryStatus.FAILED, 2)}
    subscriber.refresh_from_db()
    assert subscriber.state == "disabled"
    assert "550 5.1.1 No such user here" in subscriber.disabled_reason


def test_it_fails_a_batch_fast_with_the_mail_server_down_and_sends_it_later(smtp_sink, settings):
    for n in range(5):
        make_subscriber(f"person{n}@example.com")
    make_incident()
    real_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 9  # discard: nothing listens there
    deliver_everything()
    assert set(Delivery.objects.values_list("status", "attempts")) == {(DeliveryStatus.PENDING, 1)}
    errors = Delivery.objects.values_list("last_error", flat=True)
    assert all("Could not talk to the mail server" in error for error in errors)

    settings.EMAIL_PORT = real_port
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=2)):
        assert send_due() == 5
    assert len(smtp_sink.counts()) == 5


def test_it_never_claims_a_claimed_delivery_again():
    make_subscriber("ada@example.com")
    make_incident()
    fan_out_pending()
    first = claims.deliveries_claim(channel=SubscriberKind.EMAIL, limit=10)
    second = claims.deliveries_claim(channel=SubscriberKind.EMAIL, limit=10)
    assert len(first.deliveries) == 1
    assert second.deliveries == []


def test_it_takes_back_the_claims_of_a_stopped_worker_and_sends_them_once(smtp_sink, settings):
    settings.NOTIFY_CLAIM_LEASE_SECONDS = 300
    make_subscriber("ada@example.com")
    make_subscriber("bob@example.com")
    make_incident()
    fan_out_pending()
    abandoned = claims.deliveries_claim(channel=SubscriberKind.EMAIL, limit=10)
    assert len(abandoned.deliveries) == 2  # and then the worker died

    assert sweeper.outbox_sweep().released == 0
    assert send_due() == 0
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=301)):
        assert sweeper.outbox_sweep().released == 2
        assert send_due() == 2
    assert smtp_sink.counts() == {"ada@example.com": 1, "bob@example.com": 1}
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {2}


def test_it_sends_nothing_to_a_subscriber_who_left_before_the_send(smtp_sink):
    subscriber = make_subscriber("ada@example.com")
    make_incident()
    fan_out_pending()
    subscriber.unsubscribed_at = timezone.now()
    subscriber.save()
    send_due()
    assert smtp_sink.received == []
    assert Delivery.objects.get().status == DeliveryStatus.CANCELLED


def test_it_does_not_add_subscribers_to_an_event_fanned_out_before_they_came(smtp_sink):
    make_subscriber("ada@example.com")
    make_incident()
    fan_out_pending()
    make_subscriber("late@example.com")
    deliver_everything()
    assert list(smtp_sink.counts()) == ["ada@example.com"]


def _comparable(raw: bytes) -> dict[str, Any]:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    headers = {
        name: " ".join(str(value).split())
        for name, value in message.items()
        if name not in ("Date", "Content-Type")
    }
    parts = [(p.get_content_type(), p.get_content()) for p in message.iter_parts()]
    return {"headers": headers, "type": message.get_content_type(), "parts": parts}


def test_it_sends_over_smtp_exactly_what_djangos_backend_would():
    api = make_component("Zürich API")
    subscriber = make_subscriber("ada@example.com")
    incident = make_incident(
        "Erreurs élevées → API",
        body="Nous enquêtons. **Désolés**.",
        components={api: "major_outage"},
    )
    incident = with_serialization_prefetches(Incident.objects.filter(pk=incident.pk)).get()
    content = event_email(kind="incident_created", incident=incident, update_id=None)

    # What django.core.mail.backends.smtp.EmailBackend hands to smtplib:
    django_message = content.for_subscriber(subscriber, delivery_id=7).message()
    django_bytes = django_message.as_bytes(linesep="\r\n")
    assert content.wire is not None
    wire_bytes = content.wire.for_subscriber(subscriber, delivery_id=7)
    assert _comparable(wire_bytes) == _comparable(django_bytes)
    assert _comparable(wire_bytes)["headers"]["Subject"] == "[Investigating] Erreurs élevées → API"


def test_it_encodes_an_international_domain_the_way_django_does(smtp_sink):
    make_subscriber("ada@bücher.example")
    make_incident()
    deliver_everything()
    assert list(smtp_sink.counts()) == ["ada@xn--bcher-kva.example"]


def test_it_still_sends_a_message_with_very_long_lines_whole(smtp_sink):
    make_subscriber("ada@example.com")
    long_line = "All requests are failing. " * 60
    incident = make_incident(body=long_line)
    incident = with_serialization_prefetches(Incident.objects.filter(pk=incident.pk)).get()
    assert event_email(kind="incident_created", incident=incident, update_id=None).wire is None
    deliver_everything()
    [message] = smtp_sink.messages_to("ada@example.com")
    assert long_line.strip() in message.get_body(("plain",)).get_content()
    assert "/subscriptions/unsubscribe/" in message["List-Unsubscribe"]


def test_it_prunes_finished_deliveries_after_the_retention_period(smtp_sink, settings):
    settings.NOTIFY_DELIVERY_RETENTION_DAYS = 90
    make_subscriber("ada@example.com")
    make_subscriber("gone@example.com")
    smtp_sink.refuse["gone@example.com"] = "450 Try later"
    make_incident()
    deliver_everything()
    assert sweeper.deliveries_prune(now=timezone.now() + dt.timedelta(days=89)) == 0
    assert sweeper.deliveries_prune(now=timezone.now() + dt.timedelta(days=91), chunk=1) == 1
    assert list(Delivery.objects.values_list("status", flat=True)) == [DeliveryStatus.PENDING]


def test_an_event_whose_email_cannot_be_built_fails_alone_and_the_batch_goes_on(smtp_sink):
    make_subscriber("ada@example.com")
    broken = make_incident("Broken name")
    fine = make_incident("Queue delays")
    # Stored before names refused line breaks: a header cannot carry it.
    Incident.objects.filter(pk=broken.pk).update(name="Broken\r\nBcc: victim@example.org")
    fan_out_pending()
    assert sending.deliveries_send_batch(channel=SubscriberKind.EMAIL) == 2
    assert subjects(smtp_sink, "ada@example.com") == ["[Investigating] Queue delays"]
    assert "victim@example.org" not in smtp_sink.counts()
    failed = Delivery.objects.get(event__incident=broken)
    assert failed.status == DeliveryStatus.FAILED
    assert failed.last_error.startswith("The message could not be built")
    assert Delivery.objects.get(event__incident=fine).status == DeliveryStatus.SENT
    assert not Delivery.objects.filter(status=DeliveryStatus.SENDING).exists()
    assert Subscriber.objects.get(email="ada@example.com").is_active


def test_resolve_and_postmortem_emails_list_only_real_changes(smtp_sink):
    api = make_component("API")
    docs = make_component("Docs")
    make_subscriber("ada@example.com")
    incident = make_incident("Login failures", components={api: "partial_outage"})
    incident_services.incident_post_update(
        incident=incident,
        status="identified",
        body="Found it.",
        component_statuses={docs: "operational"},
    )
    incident_services.incident_resolve(incident=incident, body="Fixed.")
    incident_services.incident_publish_postmortem(incident=incident, body="A bad deploy.")
    deliver_everything()

    identified, resolved, postmortem = (
        m.get_body(("plain",)).get_content() for m in smtp_sink.messages_to("ada@example.com")[1:]
    )
    assert "Operational -> Operational" not in identified
    assert "API: Partial outage -> Operational" in resolved
    assert "Operational -> Operational" not in resolved
    assert "Changed in this update" not in postmortem
