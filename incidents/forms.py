"""Staff forms for incidents and maintenances: they validate input for the services, never save."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.db.models import F, OrderBy
from django.utils import timezone
from django.utils.functional import lazy

from incidents.models import (
    CLOSED_STATUSES,
    Impact,
    Incident,
    IncidentStatus,
    IncidentTemplate,
    MaintenanceStatus,
)
from incidents.services import EarlyComponent, PastUpdate, components_starting_after
from statuspage.models import Component, ComponentStatus
from statuspage.text import normalize_newlines, validate_message, validate_one_line

NOT_AFFECTED = ""
# Components without a group first, then group by group (as listed under their group's heading).
COMPONENT_ORDER: list[str | OrderBy] = [
    F("group__position").asc(nulls_first=True),
    "group__name",
    "group_id",
    "position",
    "name",
]
COMPONENT_FIELD_PREFIX = "component_"

INCIDENT_IMPACTS = [(v, label) for v, label in Impact.choices if v != Impact.MAINTENANCE]
OPEN_STATUSES = [
    (v, label)
    for v, label in IncidentStatus.choices
    if v in (IncidentStatus.INVESTIGATING, IncidentStatus.IDENTIFIED, IncidentStatus.MONITORING)
]
UPDATE_STATUSES = [
    (v, label) for v, label in IncidentStatus.choices if v != IncidentStatus.POSTMORTEM
]

# Read when the form renders: the zone staff chose is active then (statuspage.timezones).
_TIME_HELP = lazy(lambda: f"In your time zone ({timezone.get_current_timezone_name()}).", str)()
_MARKDOWN_HELP = "Markdown: **bold**, _italic_, [links](https://example.com), lists, `code`."


def _datetime_field(label: str, help_text: str = _TIME_HELP, required: bool = True) -> forms.Field:
    return forms.DateTimeField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class MessageField(forms.CharField):
    """A message staff type: CR LF from the browser becomes LF, other control characters fail."""

    default_validators = [validate_message]

    def to_python(self, value: Any) -> str | None:
        text = super().to_python(value)
        return normalize_newlines(text) if text else text


def _message_field(
    label: str = "Message", help_text: str = _MARKDOWN_HELP, required: bool = True
) -> forms.CharField:
    return MessageField(
        label=label,
        required=required,
        strip=False,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 8, "class": "vLargeTextField"}),
    )


def _notify_field() -> forms.BooleanField:
    return forms.BooleanField(
        label="Notify subscribers",
        required=False,
        initial=True,
        help_text="Untick for a correction or a small note that should send no email or webhook.",
    )


def ordered_components() -> list[Component]:
    """Every component, grouped as on the public page (hidden ones too: staff may need them)."""
    return list(Component.objects.select_related("group").order_by(*COMPONENT_ORDER))


def component_label(component: Component) -> str:
    return f"{component.group.name} / {component.name}" if component.group else component.name


class ComponentChoiceField(forms.ModelMultipleChoiceField):
    """Components to tick, each labelled with its group."""

    def label_from_instance(self, obj: Component) -> str:
        return component_label(obj)


class ComponentStatusesMixin(forms.BaseForm):
    """One status select per component, named `component_<pk>`.

    A component the incident already affects must keep a status; any other one may stay
    "not affected". `component_statuses()` gives what the services take: {Component: status}.
    """

    def add_component_fields(
        self, components: Iterable[Component], affected: dict[int, str] | None = None
    ) -> None:
        affected = affected or {}
        self._components = list(components)
        for component in self._components:
            current = affected.get(component.pk)
            choices = list(ComponentStatus.choices)
            if current is None:
                choices = [(NOT_AFFECTED, "Not affected"), *choices]
            self.fields[f"{COMPONENT_FIELD_PREFIX}{component.pk}"] = forms.ChoiceField(
                label=component.name,
                choices=choices,
                required=False,
                initial=current or NOT_AFFECTED,
            )
        self._affected = affected

    def component_rows(self) -> list[dict[str, Any]]:
        """What the template lists: each component's group, name and select."""
        return [
            {
                "group": component.group,
                "component": component,
                "field": self[f"{COMPONENT_FIELD_PREFIX}{component.pk}"],
                "affected": component.pk in self._affected,
            }
            for component in self._components
        ]

    def component_statuses(self) -> dict[Component, str]:
        """The statuses chosen that differ from what the incident already gives."""
        chosen = {}
        for component in self._components:
            status = self.cleaned_data.get(f"{COMPONENT_FIELD_PREFIX}{component.pk}")
            if not status:
                # An affected component cannot be dropped: keep what it has.
                continue
            if status != self._affected.get(component.pk):
                chosen[component] = status
        return chosen


class IncidentOpenForm(ComponentStatusesMixin, forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=300,
        validators=[validate_one_line],
        widget=forms.TextInput(attrs={"class": "vTextField"}),
        help_text="What visitors see as the title, e.g. “Elevated error rates on the API”.",
    )
    impact = forms.ChoiceField(
        choices=INCIDENT_IMPACTS,
        initial=Impact.MINOR,
        help_text="Minor: degraded or partly down. Major: a core service down for some. "
        "Critical: down for everyone.",
    )
    status = forms.ChoiceField(choices=OPEN_STATUSES, initial=IncidentStatus.INVESTIGATING)
    body = _message_field(help_text=f"The first update visitors read. {_MARKDOWN_HELP}")
    deliver_notifications = _notify_field()
    is_draft = forms.BooleanField(
        label="Save as a draft",
        required=False,
        help_text="A draft is visible to staff only until it is published. "
        "Components still take the statuses chosen below.",
    )

    def __init__(self, *args: Any, components: Iterable[Component], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_component_fields(components)

    @staticmethod
    def initial_from_template(template: IncidentTemplate) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "name": template.incident_name,
            "impact": template.impact,
            "status": template.status,
            "body": template.body,
        }
        for component in template.components.all():
            initial[f"{COMPONENT_FIELD_PREFIX}{component.pk}"] = ComponentStatus.PARTIAL_OUTAGE
        return initial


class TemplateChoiceForm(forms.Form):
    """Picks a template to pre-fill the new incident form (a GET form)."""

    template = forms.ModelChoiceField(
        label="Start from a template",
        queryset=IncidentTemplate.objects.all(),
        required=False,
        empty_label="No template",
    )


class PastUpdateForm(forms.Form):
    """One earlier update of a backfilled incident; a row left empty is skipped."""

    at = _datetime_field("Posted", required=False)
    status = forms.ChoiceField(choices=OPEN_STATUSES, initial=IncidentStatus.INVESTIGATING)
    body = _message_field(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("at")) != bool((data.get("body") or "").strip()):
            raise forms.ValidationError("An earlier update needs both its time and its message.")
        return data


PastUpdateFormSet = forms.formset_factory(PastUpdateForm, extra=3, max_num=50, absolute_max=50)
BACKFILL_MORE_ROWS = 3


class IncidentBackfillForm(ComponentStatusesMixin, forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=300,
        validators=[validate_one_line],
        widget=forms.TextInput(attrs={"class": "vTextField"}),
    )
    impact = forms.ChoiceField(choices=INCIDENT_IMPACTS, initial=Impact.MINOR)
    started_at = _datetime_field("Started")
    resolved_at = _datetime_field("Resolved", help_text=f"When it was resolved. {_TIME_HELP}")
    body = _message_field(
        help_text=f"The resolving update, shown at the time it was resolved. {_MARKDOWN_HELP}"
    )
    postmortem_body = _message_field(
        label="Postmortem",
        required=False,
        help_text=f"Optional: the postmortem as it was published. {_MARKDOWN_HELP}",
    )
    postmortem_published_at = _datetime_field(
        "Postmortem published",
        help_text=f"When the postmortem was published (default: when it was resolved). "
        f"{_TIME_HELP}",
        required=False,
    )
    move_component_starts = forms.BooleanField(
        label="Move component starts back",
        required=False,
        help_text="If an affected component's history begins after this incident started, "
        "move its start back to the incident's day so the incident counts in its uptime.",
    )

    def __init__(
        self, *args: Any, components: Iterable[Component], more_rows: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.add_component_fields(components)
        data = args[0] if args else kwargs.get("data")
        if data is not None and "timeline-TOTAL_FORMS" not in data:
            data = None  # posted without earlier updates (a client that knows only the rest)
        self.timeline = PastUpdateFormSet(data, prefix="timeline")
        if more_rows and data is not None:
            # Re-shown with more empty rows: the rows typed so far stay.
            rows = self.timeline.total_form_count() + BACKFILL_MORE_ROWS
            data = data.copy()
            data["timeline-TOTAL_FORMS"] = str(min(rows, 50))
            self.timeline = PastUpdateFormSet(data, prefix="timeline")

    def is_valid(self) -> bool:
        timeline_valid = not self.timeline.is_bound or self.timeline.is_valid()
        return all([super().is_valid(), timeline_valid])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("postmortem_published_at") and not (data.get("postmortem_body") or "").strip():
            self.add_error("postmortem_body", "A publication date needs the postmortem.")
        return data

    def past_updates(self) -> list[PastUpdate]:
        """The whole timeline for incident_backfill: the earlier updates, then the resolving one."""
        earlier = [
            PastUpdate(at=row["at"], status=row["status"], body=row["body"])
            for row in (f.cleaned_data for f in self.timeline.forms if self.timeline.is_bound)
            if row.get("at")
        ]
        data = self.cleaned_data
        resolving = PastUpdate(
            at=data["resolved_at"], status=IncidentStatus.RESOLVED, body=data["body"]
        )
        return [*earlier, resolving]

    def early_components(self) -> list[EarlyComponent]:
        """The affected components whose history begins after the incident started."""
        started_at = getattr(self, "cleaned_data", {}).get("started_at")
        if started_at is None:
            return []
        return components_starting_after(self.component_statuses(), started_at)


class IncidentUpdateForm(ComponentStatusesMixin, forms.Form):
    status = forms.ChoiceField(
        choices=UPDATE_STATUSES,
        help_text="Resolving releases every affected component: back to operational unless "
        "another open incident or maintenance still holds it.",
    )
    body = _message_field()
    impact = forms.ChoiceField(
        choices=INCIDENT_IMPACTS, help_text="Change it if the picture changed."
    )
    deliver_notifications = _notify_field()

    def __init__(
        self,
        *args: Any,
        incident: Incident,
        components: Iterable[Component],
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault(
            "status",
            IncidentStatus.RESOLVED if incident.status in CLOSED_STATUSES else incident.status,
        )
        kwargs["initial"].setdefault("impact", incident.impact)
        super().__init__(*args, **kwargs)
        self.incident = incident
        affected = dict(incident.affected.values_list("component_id", "status"))
        self.add_component_fields(components, affected)

    def changed_impact(self) -> str | None:
        impact = self.cleaned_data["impact"]
        return impact if impact != self.incident.impact else None


class PostmortemForm(forms.Form):
    body = _message_field(
        label="Postmortem",
        required=False,
        help_text="Long markdown is welcome: headings (##), lists, links, code blocks.",
    )
    deliver_notifications = forms.BooleanField(
        label="Notify subscribers when publishing", required=False, initial=True
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["body"].widget.attrs["rows"] = 24


class IncidentEditForm(forms.Form):
    """Rename an incident or change its impact (subscribers are not told)."""

    name = forms.CharField(max_length=300, validators=[validate_one_line])
    impact = forms.ChoiceField(choices=INCIDENT_IMPACTS)


class MaintenanceScheduleForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=300,
        validators=[validate_one_line],
        widget=forms.TextInput(attrs={"class": "vTextField"}),
        help_text="E.g. “Database upgrade in the EU data center”.",
    )
    body = _message_field(
        help_text=f"What will happen and what visitors may notice. {_MARKDOWN_HELP}"
    )
    scheduled_for = _datetime_field("From")
    scheduled_until = _datetime_field("Until")
    components = ComponentChoiceField(
        queryset=Component.objects.select_related("group").order_by(*COMPONENT_ORDER),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="They show “under maintenance” while it runs.",
    )
    deliver_notifications = _notify_field()
    auto_transition = forms.BooleanField(
        label="Start and complete automatically",
        required=False,
        initial=True,
        help_text="At the window's edges. Untick to start and complete it by hand.",
    )


class MaintenanceEditForm(forms.Form):
    """Rename a maintenance or move its window; once it runs only the end can move."""

    name = forms.CharField(
        label="Name",
        max_length=300,
        validators=[validate_one_line],
        widget=forms.TextInput(attrs={"class": "vTextField"}),
    )
    scheduled_for = _datetime_field("From")
    scheduled_until = _datetime_field("Until")
    body = _message_field(
        label="Tell visitors",
        required=False,
        help_text="Optional: posted as an update, e.g. “We moved this maintenance by a week.” "
        + _MARKDOWN_HELP,
    )
    deliver_notifications = _notify_field()

    def __init__(self, *args: Any, maintenance: Incident, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "name": maintenance.name,
                "scheduled_for": maintenance.scheduled_for,
                "scheduled_until": maintenance.scheduled_until,
            },
        )
        super().__init__(*args, **kwargs)
        self.maintenance = maintenance
        if maintenance.status != MaintenanceStatus.SCHEDULED:
            field = self.fields["scheduled_for"]
            field.disabled = True
            field.help_text = "It has started: only the end can move."

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.fields["scheduled_for"].disabled:  # the exact start, not the form's minutes
            data["scheduled_for"] = self.maintenance.scheduled_for
        start, end = data.get("scheduled_for"), data.get("scheduled_until")
        if start and end and end <= start:
            self.add_error("scheduled_until", "The window must end after it starts.")
        return data


_NEXT_MAINTENANCE_STATUS: dict[str, str] = {
    MaintenanceStatus.SCHEDULED: MaintenanceStatus.IN_PROGRESS,
    MaintenanceStatus.IN_PROGRESS: MaintenanceStatus.VERIFYING,
    MaintenanceStatus.VERIFYING: MaintenanceStatus.COMPLETED,
    MaintenanceStatus.COMPLETED: MaintenanceStatus.COMPLETED,
}


class MaintenanceUpdateForm(forms.Form):
    status = forms.ChoiceField(
        label="New status",
        help_text="In progress puts the components under maintenance; completed releases them.",
    )
    body = _message_field(
        required=False,
        help_text="Leave it empty to post the standard message when starting or completing. "
        + _MARKDOWN_HELP,
    )
    deliver_notifications = _notify_field()

    def __init__(self, *args: Any, maintenance: Incident, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault(
            "status", _NEXT_MAINTENANCE_STATUS.get(maintenance.status, maintenance.status)
        )
        super().__init__(*args, **kwargs)
        self.maintenance = maintenance
        offered_after: dict[str, list[MaintenanceStatus]] = {
            MaintenanceStatus.SCHEDULED: [
                MaintenanceStatus.SCHEDULED,
                MaintenanceStatus.IN_PROGRESS,
                MaintenanceStatus.COMPLETED,
            ],
            MaintenanceStatus.IN_PROGRESS: [
                MaintenanceStatus.IN_PROGRESS,
                MaintenanceStatus.VERIFYING,
                MaintenanceStatus.COMPLETED,
            ],
            MaintenanceStatus.VERIFYING: [
                MaintenanceStatus.IN_PROGRESS,
                MaintenanceStatus.VERIFYING,
                MaintenanceStatus.COMPLETED,
            ],
            MaintenanceStatus.COMPLETED: [MaintenanceStatus.COMPLETED],
        }
        offered = offered_after.get(maintenance.status, list(MaintenanceStatus))
        status = self.fields["status"]
        assert isinstance(status, forms.ChoiceField)
        status.choices = [(v, label) for v, label in MaintenanceStatus.choices if v in offered]
