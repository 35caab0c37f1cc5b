"""Incidents and scheduled maintenance (one table, told apart by `kind`), their updates,
the components they affect, and incident templates."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from statuspage.models import COMPONENT_STATUS_VALUES, Component, ComponentStatus, public_id_field
from statuspage.text import StaffTextModel


class Kind(models.TextChoices):
    INCIDENT = "incident", "Incident"
    MAINTENANCE = "maintenance", "Scheduled maintenance"


class IncidentStatus(models.TextChoices):
    INVESTIGATING = "investigating", "Investigating"
    IDENTIFIED = "identified", "Identified"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"
    POSTMORTEM = "postmortem", "Postmortem"


class MaintenanceStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    IN_PROGRESS = "in_progress", "In progress"
    VERIFYING = "verifying", "Verifying"
    COMPLETED = "completed", "Completed"


class Impact(models.TextChoices):
    NONE = "none", "None"
    MINOR = "minor", "Minor"
    MAJOR = "major", "Major"
    CRITICAL = "critical", "Critical"
    MAINTENANCE = "maintenance", "Maintenance"


INCIDENT_STATUSES = [v for v, _ in IncidentStatus.choices]
MAINTENANCE_STATUSES = [v for v, _ in MaintenanceStatus.choices]
ALL_STATUSES = INCIDENT_STATUSES + MAINTENANCE_STATUSES
UNRESOLVED_INCIDENT_STATUSES = [
    IncidentStatus.INVESTIGATING,
    IncidentStatus.IDENTIFIED,
    IncidentStatus.MONITORING,
]
ACTIVE_MAINTENANCE_STATUSES = [MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING]
CLOSED_STATUSES = [
    IncidentStatus.RESOLVED,
    IncidentStatus.POSTMORTEM,
    MaintenanceStatus.COMPLETED,
]
STATUS_LABELS = dict(IncidentStatus.choices) | dict(MaintenanceStatus.choices)


class IncidentQuerySet(models.QuerySet["Incident"]):
    def public(self) -> IncidentQuerySet:
        return self.filter(is_draft=False)

    def incidents(self) -> IncidentQuerySet:
        return self.filter(kind=Kind.INCIDENT)

    def maintenances(self) -> IncidentQuerySet:
        return self.filter(kind=Kind.MAINTENANCE)

    def unresolved(self) -> IncidentQuerySet:
        return self.filter(kind=Kind.INCIDENT, status__in=UNRESOLVED_INCIDENT_STATUSES)

    def maintenance_active(self) -> IncidentQuerySet:
        return self.filter(kind=Kind.MAINTENANCE, status__in=ACTIVE_MAINTENANCE_STATUSES)

    def maintenance_upcoming(self) -> IncidentQuerySet:
        return self.filter(kind=Kind.MAINTENANCE, status=MaintenanceStatus.SCHEDULED)

    def open(self) -> IncidentQuerySet:
        """Unresolved incidents and running maintenances: what can hold a component's status."""
        return self.filter(
            Q(kind=Kind.INCIDENT, status__in=UNRESOLVED_INCIDENT_STATUSES)
            | Q(kind=Kind.MAINTENANCE, status__in=ACTIVE_MAINTENANCE_STATUSES)
        )


class Incident(StaffTextModel):
    one_line_fields = ("name",)
    message_fields = ("postmortem_body",)

    public_id = public_id_field()
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.INCIDENT)
    name = models.CharField(max_length=300)
    status = models.CharField(
        max_length=16, choices=IncidentStatus.choices + MaintenanceStatus.choices
    )
    impact = models.CharField(max_length=16, choices=Impact.choices, default=Impact.NONE)
    is_draft = models.BooleanField(
        "draft", default=False, help_text="Drafts are visible to staff only."
    )
    backfilled = models.BooleanField(default=False, help_text="Entered after the fact.")
    started_at = models.DateTimeField(default=timezone.now)
    monitoring_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    scheduled_until = models.DateTimeField(null=True, blank=True)
    auto_transition = models.BooleanField(
        default=True, help_text="Start and complete the maintenance at its window's edges."
    )
    postmortem_body = models.TextField(blank=True)
    postmortem_published_at = models.DateTimeField(null=True, blank=True)
    postmortem_updated_at = models.DateTimeField(
        null=True, blank=True, help_text="When the postmortem's text was last saved."
    )
    # Set through the Manage API: the impact a tool chose (empty: none chosen), and a free JSON
    # object kept for the tool (an alerting tool keeps its alert's id there).
    impact_override = models.CharField(
        max_length=16, choices=Impact.choices, blank=True, default=""
    )
    metadata = models.JSONField(default=dict, blank=True)
    components: models.ManyToManyField[Component, IncidentComponent] = models.ManyToManyField(
        Component, through="IncidentComponent", related_name="incidents", blank=True
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["kind", "status"]),
            models.Index(fields=["started_at"]),
            models.Index(fields=["updated_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="incident_name_not_empty"),
            models.CheckConstraint(
                condition=Q(kind__in=[v for v, _ in Kind.choices]), name="incident_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(impact__in=[v for v, _ in Impact.choices]),
                name="incident_impact_valid",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind=Kind.INCIDENT, status__in=INCIDENT_STATUSES)
                    | Q(kind=Kind.MAINTENANCE, status__in=MAINTENANCE_STATUSES)
                ),
                name="incident_status_matches_kind",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind=Kind.INCIDENT, scheduled_for__isnull=True, scheduled_until__isnull=True)
                    | Q(
                        kind=Kind.MAINTENANCE,
                        scheduled_for__isnull=False,
                        scheduled_until__isnull=False,
                        scheduled_until__gt=models.F("scheduled_for"),
                    )
                ),
                name="incident_window_only_for_maintenance",
            ),
            models.CheckConstraint(
                condition=Q(status__in=CLOSED_STATUSES, resolved_at__isnull=False)
                | (~Q(status__in=CLOSED_STATUSES) & Q(resolved_at__isnull=True)),
                name="incident_resolved_at_iff_closed",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=models.F("started_at")),
                name="incident_resolved_after_start",
            ),
            models.CheckConstraint(
                condition=~Q(status=IncidentStatus.POSTMORTEM)
                | Q(postmortem_published_at__isnull=False),
                name="incident_postmortem_status_needs_publication",
            ),
            models.CheckConstraint(
                condition=Q(postmortem_published_at__isnull=True) | ~Q(postmortem_body=""),
                name="incident_published_postmortem_has_body",
            ),
            models.CheckConstraint(
                condition=Q(impact_override__in=["", *[v for v, _ in Impact.choices]]),
                name="incident_impact_override_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("incident", kwargs={"public_id": self.public_id})

    @property
    def is_maintenance(self) -> bool:
        return self.kind == Kind.MAINTENANCE

    @property
    def is_open(self) -> bool:
        if self.is_maintenance:
            return self.status in ACTIVE_MAINTENANCE_STATUSES
        return self.status in UNRESOLVED_INCIDENT_STATUSES

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


class Maintenance(Incident):
    """Scheduled maintenances, for their own admin pages."""

    class Meta:
        proxy = True
        verbose_name = "scheduled maintenance"


class IncidentComponent(models.Model):
    """A component an incident or maintenance affects, with the status it currently gives it."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="affected")
    component = models.ForeignKey(Component, on_delete=models.PROTECT, related_name="affected_by")
    status = models.CharField(max_length=32, choices=ComponentStatus.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "component"], name="incidentcomponent_unique"
            ),
            models.CheckConstraint(
                condition=Q(status__in=COMPONENT_STATUS_VALUES),
                name="incidentcomponent_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.component} in {self.incident}"


class IncidentUpdate(StaffTextModel):
    message_fields = ("body",)

    public_id = public_id_field()
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(
        max_length=16, choices=IncidentStatus.choices + MaintenanceStatus.choices
    )
    body = models.TextField()
    display_at = models.DateTimeField(default=timezone.now)
    deliver_notifications = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-display_at", "-id"]
        indexes = [models.Index(fields=["incident", "-display_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ALL_STATUSES), name="incidentupdate_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_status_display()} update of {self.incident}"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


class UpdateComponentChange(models.Model):
    """An affected component's old and new status, as set by one update."""

    update = models.ForeignKey(
        IncidentUpdate, on_delete=models.CASCADE, related_name="component_changes"
    )
    component = models.ForeignKey(Component, on_delete=models.PROTECT, related_name="+")
    old_status = models.CharField(max_length=32, choices=ComponentStatus.choices)
    new_status = models.CharField(max_length=32, choices=ComponentStatus.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["update", "component"], name="updatechange_unique"),
            models.CheckConstraint(
                condition=Q(old_status__in=COMPONENT_STATUS_VALUES)
                & Q(new_status__in=COMPONENT_STATUS_VALUES),
                name="updatechange_statuses_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.component}: {self.old_status} → {self.new_status}"


class IncidentTemplate(StaffTextModel):
    """A ready-made incident for common situations, picked when creating an incident."""

    one_line_fields = ("name", "incident_name")
    message_fields = ("body",)

    name = models.CharField(max_length=200, unique=True)
    incident_name = models.CharField(max_length=300)
    status = models.CharField(
        max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.INVESTIGATING
    )
    impact = models.CharField(max_length=16, choices=Impact.choices, default=Impact.MINOR)
    body = models.TextField()
    components = models.ManyToManyField(Component, blank=True, related_name="+")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=UNRESOLVED_INCIDENT_STATUSES),
                name="incidenttemplate_status_open",
            ),
            models.CheckConstraint(
                condition=~Q(name="") & ~Q(incident_name="") & ~Q(body=""),
                name="incidenttemplate_texts_not_empty",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class EventKind(models.TextChoices):
    INCIDENT_CREATED = "incident_created", "Incident created"
    INCIDENT_UPDATED = "incident_updated", "Incident updated"
    POSTMORTEM_PUBLISHED = "postmortem_published", "Postmortem published"
    MAINTENANCE_SCHEDULED = "maintenance_scheduled", "Maintenance scheduled"
    MAINTENANCE_UPDATED = "maintenance_updated", "Maintenance updated"
    MAINTENANCE_REMINDER = "maintenance_reminder", "Maintenance reminder"
    COMPONENT_STATUS_CHANGED = "component_status_changed", "Component status changed"


class OutboxEvent(models.Model):
    """Something subscribers must be told, written in the same transaction as the change.

    Workers that announce it claim the row by setting `processed_at` with a conditional update;
    a periodic sweeper picks up rows left unprocessed.
    """

    kind = models.CharField(max_length=32, choices=EventKind.choices)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    update = models.ForeignKey(
        IncidentUpdate, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    status_change = models.ForeignKey(
        "statuspage.ComponentStatusChange",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="events",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="outbox_unprocessed_idx",
                condition=Q(processed_at__isnull=True),
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[v for v, _ in EventKind.choices]), name="outbox_kind_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind=EventKind.COMPONENT_STATUS_CHANGED, status_change__isnull=False)
                    | (~Q(kind=EventKind.COMPONENT_STATUS_CHANGED) & Q(incident__isnull=False))
                ),
                name="outbox_event_has_subject",
            ),
            models.UniqueConstraint(
                fields=["incident"],
                condition=Q(kind=EventKind.MAINTENANCE_REMINDER),
                name="outbox_one_reminder_per_maintenance",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class ImportedRecord(models.Model):
    """What an import made of an object of another status page: the source's own id, kept so
    that importing the same page again finds what it made instead of making it twice."""

    class Kind(models.TextChoices):
        GROUP = "group", "Component group"
        COMPONENT = "component", "Component"
        INCIDENT = "incident", "Incident or maintenance"
        UPDATE = "update", "Update"

    source = models.CharField(max_length=500, help_text="The imported page's base URL.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    source_id = models.CharField(max_length=100)
    local_id = models.BigIntegerField(help_text="The primary key of what was made here.")
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "kind", "source_id"], name="importedrecord_unique_source_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.source_id} from {self.source}"
