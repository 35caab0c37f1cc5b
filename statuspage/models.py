"""Component groups, components, their status history, the daily uptime rollup and the page's
settings (branding)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from statuspage.contrast import contrast_problems
from statuspage.ids import new_public_id
from statuspage.text import StaffTextModel


class ComponentStatus(models.TextChoices):
    OPERATIONAL = "operational", "Operational"
    DEGRADED_PERFORMANCE = "degraded_performance", "Degraded performance"
    PARTIAL_OUTAGE = "partial_outage", "Partial outage"
    MAJOR_OUTAGE = "major_outage", "Major outage"
    UNDER_MAINTENANCE = "under_maintenance", "Under maintenance"


COMPONENT_STATUS_VALUES = [value for value, _ in ComponentStatus.choices]


def public_id_field() -> models.CharField:
    return models.CharField(max_length=12, unique=True, default=new_public_id, editable=False)


class ComponentGroupQuerySet(models.QuerySet["ComponentGroup"]):
    def public(self) -> ComponentGroupQuerySet:
        return self.filter(is_public=True)


class ComponentGroup(StaffTextModel):
    """One level of grouping; the API lists a group as a component with `group: true`."""

    one_line_fields = ("name",)
    message_fields = ("description",)

    public_id = public_id_field()
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    is_public = models.BooleanField("public", default=True)
    collapsed = models.BooleanField(
        default=False, help_text="Show the group folded on the public page."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ComponentGroupQuerySet.as_manager()

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="componentgroup_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name


class ComponentQuerySet(models.QuerySet["Component"]):
    def public(self) -> ComponentQuerySet:
        """Public components whose group, if any, is public too."""
        return self.filter(is_public=True).filter(Q(group__isnull=True) | Q(group__is_public=True))


class Component(StaffTextModel):
    one_line_fields = ("name",)
    message_fields = ("description",)

    public_id = public_id_field()
    group = models.ForeignKey(
        ComponentGroup,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="components",
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Shown as a tooltip on the public page.")
    status = models.CharField(
        max_length=32, choices=ComponentStatus.choices, default=ComponentStatus.OPERATIONAL
    )
    status_changed_at = models.DateTimeField(
        default=timezone.now,
        editable=False,
        help_text="When the current status began; the open end of the status history.",
    )
    position = models.PositiveIntegerField(default=0)
    showcase = models.BooleanField(default=True, help_text="Show 90-day uptime bars.")
    only_show_if_degraded = models.BooleanField(default=False)
    is_public = models.BooleanField("public", default=True)
    start_date = models.DateField(
        null=True, blank=True, help_text="Uptime is counted from this day (default: creation)."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ComponentQuerySet.as_manager()

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=COMPONENT_STATUS_VALUES), name="component_status_valid"
            ),
            models.CheckConstraint(condition=~Q(name=""), name="component_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tracked_since(self) -> dt.date:
        """First day uptime is counted for."""
        return self.start_date or timezone.localdate(self.created_at)


class ChangeReason(models.TextChoices):
    INCIDENT = "incident", "Incident"
    MAINTENANCE = "maintenance", "Maintenance"
    MANUAL = "manual", "Manual"
    CHECKER = "checker", "Checker"


class ComponentStatusChange(models.Model):
    """One change of a component's status: the history uptime is computed from."""

    component = models.ForeignKey(
        Component, on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(max_length=32, choices=ComponentStatus.choices)
    to_status = models.CharField(max_length=32, choices=ComponentStatus.choices)
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)
    reason = models.CharField(max_length=16, choices=ChangeReason.choices)
    # The incident or maintenance that caused it, if any (kept loose: components know no incidents).
    incident_public_id = models.CharField(max_length=12, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [models.Index(fields=["component", "changed_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(from_status__in=COMPONENT_STATUS_VALUES)
                & Q(to_status__in=COMPONENT_STATUS_VALUES),
                name="statuschange_statuses_valid",
            ),
            models.CheckConstraint(
                condition=~Q(from_status=models.F("to_status")),
                name="statuschange_changes_something",
            ),
            models.CheckConstraint(
                condition=Q(reason__in=[value for value, _ in ChangeReason.choices]),
                name="statuschange_reason_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.component}: {self.from_status} → {self.to_status} at {self.changed_at}"


class UptimeDay(models.Model):
    """Seconds a component spent in each non-operational status on one day of the page's zone.

    Written by the status services whenever a stretch of history closes; the public page reads
    these rows instead of aggregating the history on every view.
    """

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="uptime_days")
    date = models.DateField()
    major_outage_seconds = models.PositiveIntegerField(default=0)
    partial_outage_seconds = models.PositiveIntegerField(default=0)
    degraded_seconds = models.PositiveIntegerField(default=0)
    maintenance_seconds = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["component", "date"]
        constraints = [
            models.UniqueConstraint(fields=["component", "date"], name="uptimeday_unique_day"),
            models.CheckConstraint(
                condition=Q(major_outage_seconds__lte=86400 + 3600)
                & Q(partial_outage_seconds__lte=86400 + 3600)
                & Q(degraded_seconds__lte=86400 + 3600)
                & Q(maintenance_seconds__lte=86400 + 3600),
                name="uptimeday_seconds_within_a_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.component} on {self.date}"


class HeartbeatKind(models.TextChoices):
    # A worker's beat is a task beat sends to one queue: it proves beat, the broker and a worker
    # consuming that queue. The checker's is written by each tick of the checker.
    WORKER = "worker", "Worker"
    CHECKER = "checker", "Checker"


class Heartbeat(models.Model):
    """When a background process last showed it was alive: one row per kind and name (a
    worker's queue), moved forward in place on every beat."""

    kind = models.CharField(max_length=16, choices=HeartbeatKind.choices)
    name = models.CharField(max_length=200, blank=True)
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="heartbeat_once_per_kind_name"),
            models.CheckConstraint(
                condition=Q(kind__in=[value for value, _ in HeartbeatKind.choices]),
                name="heartbeat_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.name}".strip()


# Branding: the one row of page settings


_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
HEX_COLOUR = RegexValidator(
    r"^#[0-9a-fA-F]{6}$", "Type a colour as # and six hexadecimal digits, e.g. #1d5fc4."
)
LOGO_EXTENSIONS = ("png", "jpg", "jpeg", "gif", "webp", "svg", "ico")


def _logo_path(instance: models.Model, filename: str) -> str:
    """A new name for every upload, so a logo's address never serves two different files."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "png"
    return f"branding/{new_public_id()}.{extension}"


# Colours read as text, and colours drawn as status bars, icons and borders.
TEXT_COLOUR_FIELDS = ("css_font_color", "css_light_font_color", "css_link_color")
STATUS_COLOUR_FIELDS = ("css_greens", "css_yellows", "css_oranges", "css_reds", "css_blues")


def colour_field(verbose_name: str, help_text: str) -> models.CharField:
    return models.CharField(
        verbose_name, max_length=7, blank=True, validators=[HEX_COLOUR], help_text=help_text
    )


def logo_field(verbose_name: str, help_text: str) -> models.FileField:
    return models.FileField(
        verbose_name,
        upload_to=_logo_path,
        blank=True,
        max_length=200,
        validators=[FileExtensionValidator(list(LOGO_EXTENSIONS))],
        help_text=help_text,
    )


class PageSettings(StaffTextModel):
    """How the page presents itself: one row, edited in the admin, read through
    `statuspage.branding.current_page()`.

    Field names are those of the `page` object of Statuspage's Manage API, so the write API can
    serve the row as it is. An empty name falls back to the STATUSPAGE_NAME setting, an empty
    colour to the built-in theme.
    """

    one_line_fields = ("name", "headline")
    message_fields = ("page_description", "notifications_email_footer")

    name = models.CharField(
        max_length=200, blank=True, help_text="Empty: the STATUSPAGE_NAME setting."
    )
    url = models.URLField(
        "company website", blank=True, help_text="The logo links here (empty: the status page)."
    )
    headline = models.CharField(
        max_length=200, blank=True, help_text="One line shown at the top of the home page."
    )
    page_description = models.TextField(
        "about", blank=True, help_text="A few sentences about the page (Markdown)."
    )
    support_url = models.URLField(
        "support link", blank=True, help_text="Where visitors ask for help; shown in the header."
    )
    hidden_from_search = models.BooleanField(
        default=False, help_text="Ask search engines not to index the page."
    )
    allow_page_subscribers = models.BooleanField(
        "offer subscriptions", default=True, help_text="Visitors may subscribe to the page."
    )
    allow_incident_subscribers = models.BooleanField(
        "offer subscriptions to one incident",
        default=True,
        help_text="Stored for the API: this page has no subscriptions to one incident.",
    )
    allow_email_subscribers = models.BooleanField("offer email", default=True)
    allow_webhook_subscribers = models.BooleanField("offer webhooks", default=True)
    # Not a field of Statuspage's page object (it has no chat channels): set in the admin only.
    allow_chat_subscribers = models.BooleanField(
        "offer chat channels",
        default=True,
        help_text="Slack, Teams, Discord, Mattermost, Google Chat.",
    )
    allow_rss_atom_feeds = models.BooleanField("offer Atom and RSS feeds", default=True)
    notifications_from_email = models.EmailField(
        blank=True, help_text="Empty: the DEFAULT_FROM_EMAIL setting."
    )
    notifications_email_footer = models.TextField(blank=True)

    css_body_background_color = colour_field("background", "The page's background.")
    css_font_color = colour_field("text", "Body text.")
    css_light_font_color = colour_field("secondary text", "Dates, captions, hints.")
    css_link_color = colour_field("links and accent", "Links, buttons and focus rings.")
    css_border_color = colour_field("borders", "Card and table borders.")
    css_greens = colour_field("operational", "Operational status and its uptime bars.")
    css_yellows = colour_field("degraded performance", "Degraded status and its bars.")
    css_oranges = colour_field("partial outage", "Partial outage status and its bars.")
    css_reds = colour_field("major outage", "Major outage status and its bars.")
    css_blues = colour_field("maintenance", "Maintenance status and its bars.")
    css_graph_color = colour_field("graphs", "Response-time charts.")
    css_no_data = colour_field("no data", "Days before a component existed.")

    transactional_logo = logo_field(
        "logo", "The header logo on light backgrounds, also used in emails."
    )
    transactional_logo_dark = logo_field(
        "logo for dark backgrounds", "Shown in the header in dark mode (empty: the logo)."
    )
    email_logo = logo_field("email logo", "Empty: the logo.")
    favicon_logo = logo_field("favicon", "The browser tab's icon (empty: the built-in one).")

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "page settings"
        verbose_name_plural = "page settings"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="pagesettings_one_row")]

    def __str__(self) -> str:
        return "Page settings"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """Refuse colours too close to the background to read (statuspage.contrast).

        A value that is not a colour at all is left to its field's own validation, which
        full_clean reports beside this (a background that is not a colour: the built-in one).
        """
        super().clean()

        def colour(name: str) -> str:
            value = getattr(self, name)
            return value if _COLOUR.fullmatch(value) else ""

        problems = contrast_problems(
            background=colour("css_body_background_color"),
            text={name: colour(name) for name in TEXT_COLOUR_FIELDS},
            graphics={name: colour(name) for name in STATUS_COLOUR_FIELDS},
        )
        if problems:
            raise ValidationError(problems)


class FooterLink(StaffTextModel):
    """A link in the public pages' footer, in `position` order."""

    one_line_fields = ("label",)

    page = models.ForeignKey(PageSettings, on_delete=models.CASCADE, related_name="footer_links")
    label = models.CharField(max_length=100)
    url = models.URLField("address")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(label=""), name="footerlink_label_not_empty"),
        ]

    def __str__(self) -> str:
        return self.label


def validate_time_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            "%(value)s is not a time zone name such as Europe/Paris.",
            code="time_zone",
            params={"value": value},
        ) from None


class StaffPreference(models.Model):
    """What one staff member chose for the admin: the time zone dates are shown and typed in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_preference"
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="Empty: the page's time zone (the TIME_ZONE setting).",
    )

    class Meta:
        verbose_name = "staff preference"

    def __str__(self) -> str:
        return f"{self.user}: {self.time_zone or 'page time zone'}"
