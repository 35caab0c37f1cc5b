"""Component groups, components, their status history and the daily uptime rollup."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils import timezone

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
