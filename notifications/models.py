"""Subscribers (email addresses and webhook endpoints) with the components they follow, and
deliveries: one row per outbox event and subscriber, the record of what was sent and why not."""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower
from django.utils import timezone

from incidents.models import OutboxEvent
from statuspage.models import Component, public_id_field


def new_webhook_secret() -> str:
    return secrets.token_hex(32)


class SubscriberKind(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"
    CHAT = "chat", "Chat channel"


class ChatService(models.TextChoices):
    """The chat services whose incoming webhooks a chat subscriber posts to."""

    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"
    DISCORD = "discord", "Discord"
    MATTERMOST = "mattermost", "Mattermost"
    GOOGLE_CHAT = "google_chat", "Google Chat"


class Notice(models.TextChoices):
    """A one-off email to a subscriber about the subscription itself."""

    NONE = "", "None"
    CONFIRM = "confirm", "Confirm the subscription"
    ALREADY_SUBSCRIBED = "already_subscribed", "Already subscribed"


class SubscriberQuerySet(models.QuerySet["Subscriber"]):
    def active(self) -> SubscriberQuerySet:
        """Confirmed, still subscribed and not disabled: the only subscribers that get anything."""
        return self.filter(
            confirmed_at__isnull=False, unsubscribed_at__isnull=True, disabled_at__isnull=True
        )

    def awaiting_challenge(self) -> SubscriberQuerySet:
        """Webhooks signed up on the public page whose endpoint has not echoed its challenge
        yet (and that are still wanted): they get nothing but the challenge."""
        return self.filter(
            kind=SubscriberKind.WEBHOOK, confirmed_at__isnull=True, unsubscribed_at__isnull=True
        ).exclude(challenge="")

    def unconfirmed_since(self, cutoff: object) -> SubscriberQuerySet:
        """Never confirmed and last asked for before `cutoff`, with no challenge still being
        tried: nobody can confirm these any more."""
        return self.filter(
            confirmed_at__isnull=True, requested_at__lt=cutoff, challenge_next_at__isnull=True
        )

    def following(self, component_ids: list[int]) -> SubscriberQuerySet:
        """Subscribers who follow every component, or chose one of `component_ids`."""
        chosen = Subscriber.components.through.objects.filter(subscriber_id=OuterRef("pk"))
        return self.filter(~Exists(chosen) | Exists(chosen.filter(component_id__in=component_ids)))


class Subscriber(models.Model):
    public_id = public_id_field()
    kind = models.CharField(max_length=8, choices=SubscriberKind.choices)
    email = models.EmailField(
        max_length=254, blank=True, help_text="Email subscribers: where notifications go."
    )
    url = models.URLField(
        "webhook URL", max_length=500, blank=True, help_text="Webhook subscribers: where we POST."
    )
    chat_service = models.CharField(
        max_length=16,
        choices=ChatService.choices,
        blank=True,
        help_text="Chat channels: the service whose incoming webhook the URL is.",
    )
    secret = models.CharField(
        max_length=64,
        default=new_webhook_secret,
        help_text="Webhooks: the key of the X-Statuspage-Signature HMAC.",
    )
    components = models.ManyToManyField(
        Component,
        blank=True,
        related_name="+",
        help_text="None chosen: every component.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # When the address last asked to subscribe, or the URL was last signed up: the confirmation
    # window runs from here, and an unconfirmed row is pruned once it has passed.
    requested_at = models.DateTimeField(default=timezone.now)
    notice = models.CharField(max_length=24, choices=Notice.choices, blank=True, default="")
    notice_requested_at = models.DateTimeField(null=True, blank=True)
    # Webhooks signed up on the public page prove the endpoint wants our messages by echoing a
    # challenge; until then they are unconfirmed and get nothing else.
    self_registered = models.BooleanField(
        "signed up on the public page",
        default=False,
        help_text="Confirmed by answering a challenge; sent to public internet addresses only.",
    )
    challenge = models.CharField(
        max_length=64, blank=True, help_text="What the endpoint must echo; empty when not waiting."
    )
    challenge_attempts = models.PositiveSmallIntegerField(default=0)
    challenge_next_at = models.DateTimeField(
        null=True, blank=True, help_text="When the challenge is sent next; empty once given up."
    )
    challenge_error = models.TextField(blank=True)

    objects = SubscriberQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        # The address list is personal data: viewing subscribers one by one is not leave to
        # carry the whole list away.
        permissions = [("export_subscriber", "Can export the subscriber list as CSV")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[v for v, _ in SubscriberKind.choices]),
                name="subscriber_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(kind="email", url="") & ~Q(email="")
                | Q(kind__in=["webhook", "chat"]) & ~Q(url=""),
                name="subscriber_has_address",
            ),
            models.CheckConstraint(
                condition=Q(kind="chat") & Q(chat_service__in=[v for v, _ in ChatService.choices])
                | ~Q(kind="chat") & Q(chat_service=""),
                name="subscriber_chat_service_iff_chat",
            ),
            # One row per chat webhook, as per email address: asking again reuses it.
            models.UniqueConstraint(
                fields=["url"], condition=Q(kind="chat"), name="subscriber_chat_url_unique"
            ),
            models.UniqueConstraint(
                Lower("email"), condition=Q(kind="email"), name="subscriber_email_unique"
            ),
            models.CheckConstraint(
                condition=Q(notice__in=[v for v, _ in Notice.choices]),
                name="subscriber_notice_valid",
            ),
            models.CheckConstraint(
                condition=Q(disabled_at__isnull=True) | ~Q(disabled_reason=""),
                name="subscriber_disabled_has_reason",
            ),
            models.CheckConstraint(condition=~Q(secret=""), name="subscriber_secret_not_empty"),
            models.CheckConstraint(
                condition=Q(challenge="") | Q(kind="webhook", confirmed_at__isnull=True),
                name="subscriber_challenge_only_pending_webhooks",
            ),
            # One sign-up in progress per URL: asking again restarts it instead of adding rows.
            models.UniqueConstraint(
                fields=["url"],
                condition=Q(kind="webhook", confirmed_at__isnull=True),
                name="subscriber_pending_webhook_url_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["challenge_next_at"],
                name="subscriber_challenge_due_idx",
                condition=~Q(challenge=""),
            ),
        ]

    def __str__(self) -> str:
        return self.address

    @property
    def address(self) -> str:
        return self.email if self.kind == SubscriberKind.EMAIL else self.url

    @property
    def is_active(self) -> bool:
        return (
            self.confirmed_at is not None
            and self.unsubscribed_at is None
            and self.disabled_at is None
        )

    @property
    def state(self) -> str:
        if self.disabled_at is not None:
            return "disabled"
        if self.unsubscribed_at is not None:
            return "unsubscribed"
        if self.confirmed_at is None:
            return "unconfirmed"
        return "active"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class DeliveryQuerySet(models.QuerySet["Delivery"]):
    def due(self, now: object) -> DeliveryQuerySet:
        return self.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)


class Delivery(models.Model):
    """One event for one subscriber. The unique pair makes a repeated fan-out harmless; workers
    claim rows by moving them from pending to sending with a claim token."""

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    # The subscriber's kind, copied so each transport's workers claim only their own rows.
    channel = models.CharField(max_length=8, choices=SubscriberKind.choices)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(
                fields=["channel", "next_attempt_at", "id"],
                name="delivery_due_idx",
                condition=Q(status="pending"),
            ),
            models.Index(
                fields=["claimed_at"], name="delivery_claimed_idx", condition=Q(status="sending")
            ),
            models.Index(fields=["claim_token"], name="delivery_claim_token_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "subscriber"], name="delivery_once_per_event_and_subscriber"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[v for v, _ in DeliveryStatus.choices]),
                name="delivery_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=[v for v, _ in SubscriberKind.choices]),
                name="delivery_channel_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="sending", claimed_at__isnull=False) & ~Q(claim_token="")
                | ~Q(status="sending") & Q(claimed_at__isnull=True, claim_token=""),
                name="delivery_claimed_iff_sending",
            ),
            models.CheckConstraint(
                condition=Q(status="sent", sent_at__isnull=False)
                | ~Q(status="sent") & Q(sent_at__isnull=True),
                name="delivery_sent_at_iff_sent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.subscriber}"


class NotificationEvent(OutboxEvent):
    """Outbox events seen from the notifications side, for the admin's delivery counts."""

    class Meta:
        proxy = True
        verbose_name = "notification event"
        ordering = ["-created_at", "-id"]


class RateLimitCounter(models.Model):
    """Requests counted for one rate limit, one key (a keyed digest of the client's network, the
    address or the domain) and one fixed window. Kept in the database rather than in the cache
    that public pages fill, so that no amount of page traffic can evict a count."""

    scope = models.CharField(max_length=32)
    key = models.CharField(max_length=64)
    window_ends_at = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "key", "window_ends_at"], name="ratelimit_counter_unique"
            ),
        ]
        indexes = [models.Index(fields=["window_ends_at"], name="ratelimit_counter_ends_idx")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key[:8]}… {self.count}"
