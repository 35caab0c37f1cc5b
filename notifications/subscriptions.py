"""The life of a subscription: ask (double opt-in), confirm, choose components, leave; staff
adding webhooks and importing lists; webhooks signing up on the public page and confirming with
a challenge; and sending the notices about a subscription itself.

Asking never tells the asker anything about the address: whether it is new, waiting for
confirmation or long subscribed, the same thing happens on the page, and only the mailbox's
owner learns which (a confirmation link, or a note with their manage link). The same holds for
webhook URLs: only the endpoint learns, by receiving a challenge or not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from notifications import dispatch, payloads, tokens
from notifications.addresses import EmailRefused, canonical_email
from notifications.channels.chat_formats import ChatMessage, chat_payload, moment_text
from notifications.emails import branding, notice_email
from notifications.models import (
    Delivery,
    DeliveryStatus,
    Notice,
    Subscriber,
    SubscriberKind,
    new_webhook_secret,
)
from notifications.outcomes import retry_delay
from notifications.transports import (
    EmailTransport,
    TransportError,
    WebhookTransport,
    webhook_signature,
)
from statuspage.models import Component

logger = logging.getLogger(__name__)


def normalize_email(email: str) -> str:
    """The canonical spelling of `email` (notifications/addresses.py), or the trimmed text when
    it has none: callers that take such text refuse it, as subscription_request does."""
    try:
        return canonical_email(email)
    except EmailRefused:
        return email.strip()


def subscribers_prune_unconfirmed(*, now: dt.datetime | None = None, chunk: int = 1000) -> int:
    """Delete subscribers never confirmed whose confirmation window has passed: their links
    have expired, so the rows only fill the table. A chunk at a time, like deliveries."""
    now = now or timezone.now()
    stale = Subscriber.objects.unconfirmed_since(now - tokens.confirm_max_age())
    deleted = 0
    while ids := list(stale.order_by("pk").values_list("pk", flat=True)[:chunk]):
        deleted += stale.filter(pk__in=ids).delete()[1].get(Subscriber._meta.label, 0)
    return deleted


def _request_notice(subscriber: Subscriber, notice: str) -> None:
    subscriber.notice = notice
    subscriber.notice_requested_at = timezone.now()
    subscriber.save(update_fields=["notice", "notice_requested_at"])
    dispatch.publish_after_commit("send_subscriber_notice", subscriber.pk)


@transaction.atomic
def subscription_request(
    *, email: str, components: Iterable[Component] = (), confirmed: bool = False
) -> Subscriber:
    """Someone asks for `email` to be subscribed.

    A new, unconfirmed or departed address gets a confirmation link (and the components asked
    for, which count only once it is confirmed); an active one gets a note with its manage link
    and keeps its choice, since whoever asked may not own it. An address we will not mail
    raises EmailRefused.

    With `confirmed`, staff vouch that the address opted in elsewhere (as an import does): a
    new, unconfirmed or departed address is active at once with these components, an active
    one is left as it is, and no email is sent either way.
    """
    address = canonical_email(email)
    subscriber = (
        Subscriber.objects.select_for_update()
        .filter(kind=SubscriberKind.EMAIL, email__iexact=address)
        .first()
    )
    if subscriber is None:
        try:
            with transaction.atomic():
                subscriber = Subscriber.objects.create(kind=SubscriberKind.EMAIL, email=address)
        except IntegrityError:  # the same address asked twice at the same moment
            subscriber = Subscriber.objects.select_for_update().get(
                kind=SubscriberKind.EMAIL, email__iexact=address
            )
    if subscriber.is_active:
        if not confirmed:
            _request_notice(subscriber, Notice.ALREADY_SUBSCRIBED)
    elif confirmed:
        now = timezone.now()
        Subscriber.objects.filter(pk=subscriber.pk).update(
            requested_at=now,
            confirmed_at=now,
            unsubscribed_at=None,
            disabled_at=None,
            disabled_reason="",
            consecutive_failures=0,
            notice="",
            notice_requested_at=None,
        )
        subscriber.refresh_from_db()
        subscriber.components.set(list(components))
    else:
        subscriber.requested_at = timezone.now()
        subscriber.save(update_fields=["requested_at"])
        subscriber.components.set(list(components))
        _request_notice(subscriber, Notice.CONFIRM)
    return subscriber


@transaction.atomic
def subscription_confirm(*, subscriber: Subscriber) -> bool:
    """Confirm the address (again, after leaving or being disabled); False if already active,
    or if its state moved on since `subscriber` was read from a confirm link (a link is good
    for one confirmation only)."""
    current = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
    if current.is_active or tokens.confirm_state(current) != tokens.confirm_state(subscriber):
        return False
    subscriber = current
    subscriber.confirmed_at = timezone.now()
    subscriber.unsubscribed_at = None
    subscriber.disabled_at = None
    subscriber.disabled_reason = ""
    subscriber.consecutive_failures = 0
    subscriber.save(
        update_fields=[
            "confirmed_at",
            "unsubscribed_at",
            "disabled_at",
            "disabled_reason",
            "consecutive_failures",
        ]
    )
    return True


@transaction.atomic
def subscription_set_components(*, subscriber: Subscriber, components: Iterable[Component]) -> None:
    """Follow these components from now on (none: every component)."""
    subscriber.components.set(list(components))


@transaction.atomic
def subscription_leave(*, subscriber: Subscriber) -> bool:
    """Stop everything for this subscriber, including deliveries not sent yet; False if it had
    left already."""
    left = Subscriber.objects.filter(pk=subscriber.pk, unsubscribed_at__isnull=True).update(
        unsubscribed_at=timezone.now(), notice="", notice_requested_at=None
    )
    Delivery.objects.filter(subscriber=subscriber, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.CANCELLED, last_error="The subscriber unsubscribed."
    )
    return bool(left)


@transaction.atomic
def subscriber_enable(*, subscriber: Subscriber) -> None:
    """Staff turn a disabled subscriber back on (after the endpoint or mailbox was fixed)."""
    Subscriber.objects.filter(pk=subscriber.pk).update(
        disabled_at=None, disabled_reason="", consecutive_failures=0
    )


@transaction.atomic
def webhook_create(*, url: str, components: Iterable[Component] = ()) -> Subscriber:
    """Staff add a webhook subscriber: trusted, so it is confirmed at once."""
    subscriber = Subscriber.objects.create(
        kind=SubscriberKind.WEBHOOK, url=url.strip(), confirmed_at=timezone.now()
    )
    subscriber.components.set(list(components))
    return subscriber


# Webhooks signed up on the public page

CHALLENGE_EVENT = "webhook_challenge"


@dataclass(frozen=True)
class WebhookSignup:
    """What the sign-up page shows: the URL and its signing secret. For a URL that is already
    active the secret is a fresh random one stored nowhere, so the page looks the same."""

    url: str
    secret: str


def normalize_url(url: str) -> str:
    """Trim, and lower-case the scheme and host (the path is the endpoint's business)."""
    parts = urlsplit(url.strip())
    return urlunsplit(parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()))


def new_challenge() -> str:
    return secrets.token_urlsafe(32)


@transaction.atomic
def webhook_signup(*, url: str, components: Iterable[Component] = ()) -> WebhookSignup:
    """Someone signs up `url` on the public page.

    A new URL, or one that left or was disabled, becomes a pending subscriber with a fresh
    secret and a new challenge, which a worker sends after the commit. A URL already pending
    keeps its secret, challenge and components, since whoever asks again may not be whoever
    asked first (its challenge is only sent again if it had run out of attempts); an active
    URL stays exactly as it is. In both cases the page shows a random secret stored nowhere,
    so it looks the same as for a new URL.
    """
    address = normalize_url(url)
    existing = list(
        Subscriber.objects.select_for_update()
        .filter(kind=SubscriberKind.WEBHOOK, url=address)
        .order_by(F("confirmed_at").asc(nulls_first=True), "-id")
    )
    if any(subscriber.is_active for subscriber in existing):
        return WebhookSignup(url=address, secret=new_webhook_secret())
    subscriber = existing[0] if existing else None
    if subscriber is not None and subscriber.challenge and subscriber.unsubscribed_at is None:
        if subscriber.challenge_next_at is None:
            subscriber.challenge_attempts = 0
            subscriber.challenge_next_at = timezone.now()
            subscriber.save(update_fields=["challenge_attempts", "challenge_next_at"])
            dispatch.publish_after_commit("send_webhook_challenge", subscriber.pk)
        return WebhookSignup(url=address, secret=new_webhook_secret())
    if subscriber is None:
        try:
            with transaction.atomic():
                subscriber = Subscriber.objects.create(kind=SubscriberKind.WEBHOOK, url=address)
        except IntegrityError:  # the same URL signed up twice at the same moment
            return WebhookSignup(url=address, secret=new_webhook_secret())
    subscriber.secret = new_webhook_secret()
    subscriber.self_registered = True
    subscriber.confirmed_at = None
    subscriber.unsubscribed_at = None
    subscriber.disabled_at = None
    subscriber.disabled_reason = ""
    subscriber.consecutive_failures = 0
    subscriber.requested_at = timezone.now()
    subscriber.challenge = new_challenge()
    subscriber.challenge_attempts = 0
    subscriber.challenge_next_at = timezone.now()
    subscriber.challenge_error = ""
    subscriber.save()
    subscriber.components.set(list(components))
    dispatch.publish_after_commit("send_webhook_challenge", subscriber.pk)
    return WebhookSignup(url=address, secret=subscriber.secret)


def challenge_answer(*, challenge: str, secret: str) -> str:
    """What an endpoint must answer: HMAC-SHA256 of the challenge keyed with its signing
    secret, in hex. The request carries the challenge but not the secret, so an endpoint that
    echoes whatever it gets cannot pass; only one that holds the secret shown at sign-up can."""
    return hmac.new(secret.encode(), challenge.encode(), hashlib.sha256).hexdigest()


def challenge_answered(answer: bytes, *, challenge: str, secret: str) -> bool:
    """True when the answer's body is the expected answer (surrounding whitespace ignored), or
    a JSON object whose "answer" is it."""
    text = answer.decode("utf-8", errors="replace").strip()
    if text.startswith("{"):
        try:
            given = json.loads(text).get("answer")
        except (ValueError, AttributeError):
            return False
        text = given if isinstance(given, str) else ""
    expected = challenge_answer(challenge=challenge, secret=secret)
    return hmac.compare_digest(text.lower().encode(), expected.encode())


def webhook_challenge_send(*, subscriber_id: int, now: dt.datetime | None = None) -> str:
    """Send a pending webhook its challenge when an attempt is due; returns "confirmed",
    "retry", "gave_up", or "" when there was nothing to do.

    The attempt is claimed by moving its due time past the longest the request may take plus a
    claim lease, so a second worker finds nothing due and the sweeper tries again if this one
    stops. Every outcome is recorded only if the challenge is still the one sent: signing up
    again meanwhile starts afresh.
    """
    now = now or timezone.now()
    pending = Subscriber.objects.awaiting_challenge().filter(pk=subscriber_id)
    subscriber = pending.filter(challenge_next_at__lte=now).first()
    if subscriber is None:
        return ""
    claim_until = now + dt.timedelta(
        seconds=settings.NOTIFY_WEBHOOK_TIMEOUT + settings.NOTIFY_CLAIM_LEASE_SECONDS
    )
    claimed = pending.filter(
        challenge=subscriber.challenge, challenge_next_at=subscriber.challenge_next_at
    ).update(challenge_next_at=claim_until)
    if not claimed:
        return ""
    body = json.dumps(
        payloads.challenge_payload(
            challenge=subscriber.challenge, unsubscribe_url=tokens.unsubscribe_url(subscriber)
        ),
        separators=(",", ":"),
    ).encode()
    headers = {
        "X-Statuspage-Signature": webhook_signature(subscriber.secret, body),
        "X-Statuspage-Event": CHALLENGE_EVENT,
    }
    this_challenge = pending.filter(challenge=subscriber.challenge)
    attempts = subscriber.challenge_attempts + 1
    try:
        with WebhookTransport() as transport:
            answer = transport.post(
                url=subscriber.url,
                body=body,
                headers=headers,
                public_only=subscriber.self_registered,
            )
        if not challenge_answered(answer, challenge=subscriber.challenge, secret=subscriber.secret):
            excerpt = answer[:200].decode(errors="replace").strip()
            raise TransportError(
                "The endpoint answered 2xx without the HMAC of the challenge"
                + (f": {excerpt}" if excerpt else " (empty body).")
            )
    except TransportError as error:
        give_up = attempts >= settings.NOTIFY_MAX_ATTEMPTS
        finished = timezone.now()
        done = this_challenge.update(
            challenge_attempts=attempts,
            challenge_error=error.message[:2000],
            challenge_next_at=None if give_up else finished + retry_delay(attempts),
        )
        if not done:
            return ""
        return "gave_up" if give_up else "retry"
    done = this_challenge.update(
        confirmed_at=timezone.now(),
        challenge="",
        challenge_attempts=attempts,
        challenge_next_at=None,
        challenge_error="",
    )
    return "confirmed" if done else ""


@transaction.atomic
def webhook_challenge_restart(*, subscriber: Subscriber) -> bool:
    """Staff send a pending webhook its challenge again, with a fresh set of attempts (after
    the endpoint was fixed); False if it is not waiting for one."""
    restarted = (
        Subscriber.objects.awaiting_challenge()
        .filter(pk=subscriber.pk)
        .update(challenge_attempts=0, challenge_next_at=timezone.now())
    )
    if restarted:
        dispatch.publish_after_commit("send_webhook_challenge", subscriber.pk)
    return bool(restarted)


# Chat channels


@transaction.atomic
def chat_create(*, service: str, url: str, components: Iterable[Component] = ()) -> Subscriber:
    """Staff add a chat channel by its incoming-webhook URL: trusted, so confirmed at once. A
    URL already known becomes this channel again, active, with these components."""
    subscriber, _ = Subscriber.objects.select_for_update().update_or_create(
        kind=SubscriberKind.CHAT,
        url=normalize_url(url),
        defaults={
            "chat_service": service,
            "confirmed_at": timezone.now(),
            "unsubscribed_at": None,
            "disabled_at": None,
            "disabled_reason": "",
            "consecutive_failures": 0,
            "self_registered": False,
            "notice": "",
            "notice_requested_at": None,
        },
    )
    subscriber.components.set(list(components))
    return subscriber


@transaction.atomic
def chat_signup(*, service: str, url: str, components: Iterable[Component] = ()) -> Subscriber:
    """Someone adds a chat channel on the public page, as an email address subscribes: a new
    or departed channel is sent a message with a confirmation link (someone in the channel
    confirms), an active one a message with its manage link, and its choice stays as it is.
    Whoever knows a channel's webhook URL can post there anyway; the link keeps anyone else's
    channel from being subscribed by mistake."""
    address = normalize_url(url)
    subscriber = (
        Subscriber.objects.select_for_update().filter(kind=SubscriberKind.CHAT, url=address).first()
    )
    if subscriber is None:
        try:
            with transaction.atomic():
                subscriber = Subscriber.objects.create(
                    kind=SubscriberKind.CHAT,
                    url=address,
                    chat_service=service,
                    self_registered=True,
                )
        except IntegrityError:  # the same URL added twice at the same moment
            subscriber = Subscriber.objects.select_for_update().get(
                kind=SubscriberKind.CHAT, url=address
            )
    if subscriber.is_active:
        _request_notice(subscriber, Notice.ALREADY_SUBSCRIBED)
        return subscriber
    subscriber.chat_service = service
    subscriber.requested_at = timezone.now()
    subscriber.save(update_fields=["chat_service", "requested_at"])
    subscriber.components.set(list(components))
    _request_notice(subscriber, Notice.CONFIRM)
    return subscriber


def _chat_notice_send(subscriber: Subscriber, notice: str) -> None:
    """Post the notice about the subscription itself into the chat channel."""
    page_name = branding().name
    now = timezone.now()
    if notice == Notice.CONFIRM:
        message = ChatMessage(
            page_name=page_name,
            title=f"Confirm the updates of {page_name} in this channel",
            status="Subscription",
            colour="#1f66c9",
            when=moment_text(now),
            timestamp=now.isoformat(),
            text=(
                f"Someone asked for this channel to get the updates of {page_name}: incidents "
                "as they open, change and end, and scheduled maintenance. Nothing is posted "
                f"until someone here confirms. The link works for "
                f"{settings.NOTIFY_CONFIRM_MAX_AGE_HOURS} hours."
            ),
            url=tokens.confirm_url(subscriber),
            link_label="Confirm the subscription",
        )
    else:
        message = ChatMessage(
            page_name=page_name,
            title=f"This channel already gets the updates of {page_name}",
            status="Subscribed",
            colour="#17804a",
            when=moment_text(now),
            timestamp=now.isoformat(),
            text="Someone asked again; nothing changed. Choose components or leave here.",
            url=tokens.manage_url(subscriber),
            link_label="Choose components",
        )
    body = json.dumps(chat_payload(subscriber.chat_service, message), separators=(",", ":"))
    with WebhookTransport() as transport:
        transport.post(
            url=subscriber.url,
            body=body.encode(),
            headers={},
            public_only=subscriber.self_registered,
        )


# Notices


def subscriber_send_notice(*, subscriber_id: int) -> bool:
    """Send the notice a subscriber is waiting for (confirm, or already subscribed).

    The notice is claimed with a conditional update, so two workers never both send it. A
    notice the mail server refuses is dropped with a log line: the page told the visitor to
    look in their inbox, and they can ask again.
    """
    subscriber = Subscriber.objects.filter(pk=subscriber_id).exclude(notice="").first()
    if subscriber is None or subscriber.kind == SubscriberKind.WEBHOOK:
        return False
    notice = subscriber.notice
    claimed = Subscriber.objects.filter(pk=subscriber.pk, notice=notice).update(
        notice="", notice_requested_at=None
    )
    if not claimed:
        return False
    try:
        if subscriber.kind == SubscriberKind.CHAT:
            _chat_notice_send(subscriber, notice)
        else:
            with EmailTransport() as transport:
                transport.send(notice_email(subscriber, notice))
    except TransportError as error:
        logger.warning(
            "Could not send the %s notice to subscriber %s: %s", notice, subscriber.pk, error
        )
        return False
    return True
