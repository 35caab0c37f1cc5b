"""Staff admin for incidents, scheduled maintenances and incident templates.

The admin never writes an incident, an update or a component status itself: its pages are
forms whose valid input goes to `incidents.services`, and a `ValidationError` from a service
comes back to the same form as an error. Fields the services own are never editable here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, QuerySet
from django.forms import Form
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString

from incidents import services
from incidents.forms import (
    INCIDENT_IMPACTS,
    IncidentBackfillForm,
    IncidentEditForm,
    IncidentOpenForm,
    IncidentUpdateForm,
    MaintenanceEditForm,
    MaintenanceScheduleForm,
    MaintenanceUpdateForm,
    PostmortemForm,
    TemplateChoiceForm,
    ordered_components,
)
from incidents.models import (
    CLOSED_STATUSES,
    Incident,
    IncidentStatus,
    IncidentTemplate,
    Kind,
    Maintenance,
    MaintenanceStatus,
)
from statuspage.admin import status_badge
from statuspage.markdown import render_markdown


def _choice_filter(parameter: str, title: str, choices: list[tuple[str, str]]) -> type:
    """A list filter offering only the choices that make sense for one kind."""

    class ChoiceFilter(admin.SimpleListFilter):
        parameter_name = parameter

        def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
            return choices

        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            if self.value():
                return queryset.filter(**{parameter: self.value()})
            return queryset

    ChoiceFilter.title = title
    return ChoiceFilter


# The admin's home page begins with what needs attention (templatetags/staff_home.py).
admin.site.index_template = "admin/status_index.html"


def short_datetime(value: dt.datetime | None) -> str:
    """A date and time in the admin's time zone, short enough for a list column."""
    if value is None:
        return "-"
    return date_format(timezone.localtime(value), "j M Y, H:i")


def short_span(delta: dt.timedelta) -> str:
    """How long something lasted, in the two largest units: "3 d 4 h", "2 h 5 min", "40 s"."""
    seconds = max(int(delta.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (seconds, "s")]
    shown = [f"{n} {unit}" for n, unit in parts if n][:2]
    return " ".join(shown) or "0 s"


def _service_error(form: Form, error: ValidationError) -> None:
    form.add_error(None, error.messages)


class IncidentAdminBase(admin.ModelAdmin):
    """What incidents and maintenances share: read-only rows, service-backed pages, timeline."""

    kind: str
    detail_template: str
    search_fields = ["name", "updates__body"]
    search_help_text = "Searches names and the text of updates."
    date_hierarchy = "started_at"
    list_per_page = 50

    # Rows change only through the services: deleting too goes through incident_delete, one
    # incident at a time on its own confirmation page (no bulk action).
    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        incident = self.get_incident(request, object_id)
        if incident is None:
            return self.redirect_missing(request, object_id)
        if not self.has_delete_permission(request, incident):
            raise PermissionDenied
        if request.method == "POST" and request.POST.get("post") == "yes":
            name = str(incident)
            self.log_deletions(request, self.model.objects.filter(pk=incident.pk))
            services.incident_delete(incident=incident)
            self.message_user(request, f"“{name}” was deleted.", messages.SUCCESS)
            return HttpResponseRedirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
            )
        events = incident.events.all()
        context = self.page_context(
            request,
            title=f"Delete: {incident.name}",
            incident=incident,
            updates=incident.updates.count(),
            events=events.count(),
            deliveries=events.aggregate(n=Count("deliveries"))["n"],
            pending=events.filter(deliveries__status__in=["pending", "sending"]).count(),
        )
        return TemplateResponse(request, "admin/incidents/incident/delete.html", context)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Incident]:
        return super().get_queryset(request).filter(kind=self.kind)

    @admin.display(description="status", ordering="status")
    def status_label(self, incident: Incident) -> SafeString:
        return status_badge(incident.status, incident.status_label)

    @admin.display(description="draft", boolean=True, ordering="is_draft")
    def draft(self, incident: Incident) -> bool:
        return incident.is_draft

    @admin.display(description="started", ordering="started_at")
    def started(self, incident: Incident) -> str:
        return short_datetime(incident.started_at)

    @admin.display(description="lasted", ordering="resolved_at")
    def duration(self, incident: Incident) -> str:
        if incident.resolved_at is None:
            return "ongoing"
        return short_span(incident.resolved_at - incident.started_at)

    # Helpers for the custom pages.

    def redirect_missing(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """What the admin's own pages answer for an id that names no row."""
        # A private helper of ModelAdmin, absent from django-stubs.
        return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)  # type: ignore[attr-defined]

    def page_context(
        self, request: HttpRequest, *, title: str, incident: Incident | None = None, **extra: Any
    ) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "title": title,
            "original": incident,
            "has_view_permission": self.has_view_permission(request, incident),
            "has_change_permission": self.has_change_permission(request, incident),
            "has_delete_permission": self.has_delete_permission(request, incident),
            **extra,
        }

    def change_url(self, incident: Incident) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[incident.pk]
        )

    def get_incident(self, request: HttpRequest, object_id: str) -> Incident | None:
        return self.get_object(request, unquote(object_id))

    def timeline(self, incident: Incident) -> list[Any]:
        return list(
            incident.updates.prefetch_related("component_changes__component").order_by(
                "-display_at", "-id"
            )
        )

    def preview_of(self, request: HttpRequest) -> SafeString | None:
        if "_preview" not in request.POST:
            return None
        return render_markdown(request.POST.get("body", ""))

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The page of one incident or maintenance: its state, the update form, the timeline."""
        incident = self.get_incident(request, object_id)
        if incident is None:
            return self.redirect_missing(request, object_id)
        if not self.has_view_or_change_permission(request, incident):
            raise PermissionDenied
        can_change = self.has_change_permission(request, incident)
        preview = None
        if request.method == "POST":
            if not can_change:
                raise PermissionDenied
            form = self.update_form(incident, data=request.POST)
            preview = self.preview_of(request)
            if preview is None and form.is_valid():
                try:
                    message = self.post_update(request, incident, form)
                except ValidationError as error:
                    _service_error(form, error)
                else:
                    self.log_change(request, incident, message)
                    self.message_user(request, message, messages.SUCCESS)
                    return HttpResponseRedirect(self.change_url(incident))
        else:
            form = self.update_form(incident)
        context = self.page_context(
            request,
            title=incident.name,
            incident=incident,
            form=form if can_change else None,
            preview=preview,
            affected=incident.affected.select_related("component__group").order_by(
                "component__group__position", "component__position", "component__name"
            ),
            timeline=self.timeline(incident),
            **(extra_context or {}),
        )
        return TemplateResponse(request, self.detail_template, context)

    def update_form(self, incident: Incident, data: Any = None) -> Form:
        raise NotImplementedError

    def post_update(self, request: HttpRequest, incident: Incident, form: Any) -> str:
        raise NotImplementedError


@admin.register(Incident)
class IncidentAdmin(IncidentAdminBase):
    kind = Kind.INCIDENT
    detail_template = "admin/incidents/incident/detail.html"
    list_display = [
        "name",
        "status_label",
        "impact_label",
        "started",
        "duration",
        "draft",
        "backfilled",
    ]
    list_filter = [
        _choice_filter(
            "status",
            "status",
            [(v, label) for v, label in IncidentStatus.choices],
        ),
        _choice_filter("impact", "impact", INCIDENT_IMPACTS),
        "is_draft",
        "backfilled",
        ("started_at", admin.DateFieldListFilter),
    ]
    actions = ["publish_drafts"]

    @admin.display(description="impact", ordering="impact")
    def impact_label(self, incident: Incident) -> SafeString:
        return format_html(
            '<span class="sp-badge sp-impact-{}">{}</span>',
            incident.impact,
            incident.get_impact_display(),
        )

    @admin.action(description="Publish the selected drafts", permissions=["change"])
    def publish_drafts(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        drafts = list(queryset.filter(is_draft=True))
        for incident in drafts:
            services.incident_publish(incident=incident)
            self.log_change(request, incident, "Published the draft.")
        self.message_user(request, f"{len(drafts)} draft(s) published.", messages.SUCCESS)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("backfill/", wrap(self.backfill_view), name=f"{prefix}_backfill"),
            path(
                "by-public-id/<str:public_id>/",
                wrap(self.by_public_id_view),
                name=f"{prefix}_by_public_id",
            ),
            path(
                "<path:object_id>/postmortem/",
                wrap(self.postmortem_view),
                name=f"{prefix}_postmortem",
            ),
            path(
                "<path:object_id>/publish/",
                wrap(self.publish_view),
                name=f"{prefix}_publish",
            ),
            path("<path:object_id>/edit/", wrap(self.edit_view), name=f"{prefix}_edit"),
            *super().get_urls(),
        ]

    # Opening an incident.

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        components = ordered_components()
        template_form = TemplateChoiceForm(request.GET or None)
        if request.method == "POST" and "_template" in request.POST:
            # Fill in from a template what it names; everything else stays as typed.
            template_form = TemplateChoiceForm(request.POST)
            typed: dict[str, Any] = {
                key: request.POST.get(key) for key in request.POST if key != "csrfmiddlewaretoken"
            }
            typed["deliver_notifications"] = "deliver_notifications" in request.POST
            typed["is_draft"] = "is_draft" in request.POST
            if template_form.is_valid() and template_form.cleaned_data["template"]:
                typed.update(
                    IncidentOpenForm.initial_from_template(template_form.cleaned_data["template"])
                )
            form = IncidentOpenForm(initial=typed, components=components)
            preview = None
        elif request.method == "POST":
            form = IncidentOpenForm(request.POST, components=components)
            preview = self.preview_of(request)
            if preview is None and form.is_valid():
                data = form.cleaned_data
                try:
                    incident = services.incident_open(
                        name=data["name"],
                        impact=data["impact"],
                        status=data["status"],
                        body=data["body"],
                        component_statuses=form.component_statuses(),
                        deliver_notifications=data["deliver_notifications"],
                        is_draft=data["is_draft"],
                    )
                except ValidationError as error:
                    _service_error(form, error)
                else:
                    self.log_addition(request, incident, "Opened the incident.")
                    state = "saved as a draft" if incident.is_draft else "opened"
                    self.message_user(
                        request, f"The incident “{incident}” was {state}.", messages.SUCCESS
                    )
                    return HttpResponseRedirect(self.change_url(incident))
        else:
            preview = None
            initial: dict[str, Any] = {}
            if template_form.is_valid() and template_form.cleaned_data["template"]:
                initial = IncidentOpenForm.initial_from_template(
                    template_form.cleaned_data["template"]
                )
            form = IncidentOpenForm(initial=initial, components=components)
        context = self.page_context(
            request,
            title="Open an incident",
            form=form,
            template_form=template_form,
            has_templates=IncidentTemplate.objects.exists(),
            preview=preview,
        )
        return TemplateResponse(request, "admin/incidents/incident/open.html", context)

    def backfill_view(self, request: HttpRequest) -> HttpResponse:
        """Enter an incident after the fact: resolved at once, no notification."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        components = ordered_components()
        preview = None
        if request.method == "POST":
            more_rows = "_more_updates" in request.POST
            form = IncidentBackfillForm(request.POST, components=components, more_rows=more_rows)
            preview = self.preview_of(request)
            if preview is None and not more_rows and form.is_valid():
                data = form.cleaned_data
                try:
                    incident = services.incident_backfill(
                        name=data["name"],
                        impact=data["impact"],
                        started_at=data["started_at"],
                        updates=form.past_updates(),
                        component_statuses=form.component_statuses(),
                        postmortem_body=data["postmortem_body"] or "",
                        postmortem_published_at=data["postmortem_published_at"],
                        move_component_starts=data["move_component_starts"],
                    )
                except ValidationError as error:
                    _service_error(form, error)
                else:
                    self.log_addition(request, incident, "Backfilled the incident.")
                    self.message_user(
                        request, f"The past incident “{incident}” was recorded.", messages.SUCCESS
                    )
                    return HttpResponseRedirect(self.change_url(incident))
        else:
            form = IncidentBackfillForm(components=components)
        context = self.page_context(
            request, title="Backfill a past incident", form=form, preview=preview
        )
        return TemplateResponse(request, "admin/incidents/incident/backfill.html", context)

    # The incident's page.

    def update_form(self, incident: Incident, data: Any = None) -> IncidentUpdateForm:
        return IncidentUpdateForm(data, incident=incident, components=ordered_components())

    def post_update(self, request: HttpRequest, incident: Incident, form: Any) -> str:
        data = form.cleaned_data
        update = services.incident_post_update(
            incident=incident,
            status=data["status"],
            body=data["body"],
            component_statuses=form.component_statuses(),
            deliver_notifications=data["deliver_notifications"],
            impact=form.changed_impact(),
        )
        return f"Posted a “{update.status_label}” update."

    def publish_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        incident = self.get_incident(request, object_id)
        if incident is None:
            return self.redirect_missing(request, object_id)
        if not self.has_change_permission(request, incident):
            raise PermissionDenied
        if incident.is_draft:
            services.incident_publish(incident=incident)
            self.log_change(request, incident, "Published the draft.")
            self.message_user(request, "The incident is public now.", messages.SUCCESS)
        else:
            self.message_user(request, "The incident was already public.", messages.INFO)
        return HttpResponseRedirect(self.change_url(incident))

    def edit_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Rename the incident or change its impact, through incident_edit."""
        incident = self.get_incident(request, object_id)
        if incident is None:
            return self.redirect_missing(request, object_id)
        if not self.has_change_permission(request, incident):
            raise PermissionDenied
        if request.method == "POST":
            form = IncidentEditForm(request.POST)
            if form.is_valid():
                try:
                    services.incident_edit(
                        incident=incident,
                        name=form.cleaned_data["name"],
                        impact=form.cleaned_data["impact"],
                    )
                except ValidationError as error:
                    _service_error(form, error)
                else:
                    self.log_change(request, incident, "Renamed or changed the impact.")
                    self.message_user(request, "Saved.", messages.SUCCESS)
                    return HttpResponseRedirect(self.change_url(incident))
        else:
            form = IncidentEditForm(initial={"name": incident.name, "impact": incident.impact})
        context = self.page_context(
            request, title=f"Edit: {incident.name}", incident=incident, form=form
        )
        return TemplateResponse(request, "admin/incidents/incident/edit.html", context)

    def postmortem_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Write, preview, save and publish the incident's postmortem."""
        incident = self.get_incident(request, object_id)
        if incident is None:
            return self.redirect_missing(request, object_id)
        if not self.has_view_or_change_permission(request, incident):
            raise PermissionDenied
        can_change = self.has_change_permission(request, incident)
        preview = None
        if request.method == "POST":
            if not can_change:
                raise PermissionDenied
            form = PostmortemForm(request.POST)
            preview = self.preview_of(request)
            if preview is None and form.is_valid():
                body = form.cleaned_data["body"]
                try:
                    if "_publish" in request.POST:
                        services.incident_publish_postmortem(
                            incident=incident,
                            body=body,
                            deliver_notifications=form.cleaned_data["deliver_notifications"],
                        )
                        message = "Published the postmortem."
                    else:
                        services.incident_save_postmortem(incident=incident, body=body)
                        message = "Saved the postmortem."
                except ValidationError as error:
                    _service_error(form, error)
                else:
                    self.log_change(request, incident, message)
                    self.message_user(request, message, messages.SUCCESS)
                    return HttpResponseRedirect(
                        reverse("admin:incidents_incident_postmortem", args=[incident.pk])
                    )
        else:
            form = PostmortemForm(initial={"body": incident.postmortem_body})
        context = self.page_context(
            request,
            title=f"Postmortem: {incident.name}",
            incident=incident,
            form=form if can_change else None,
            preview=preview,
            is_resolved=incident.status in CLOSED_STATUSES,
        )
        return TemplateResponse(request, "admin/incidents/incident/postmortem.html", context)

    def by_public_id_view(self, request: HttpRequest, public_id: str) -> HttpResponseRedirect:
        """Redirect to the admin page of an incident or maintenance known by its public id."""
        incident = get_object_or_404(Incident, public_id=public_id)
        model = Maintenance if incident.is_maintenance else Incident
        if not self.admin_site.get_model_admin(model).has_view_or_change_permission(
            request, incident
        ):
            raise PermissionDenied
        model_name = "maintenance" if incident.is_maintenance else "incident"
        return HttpResponseRedirect(
            reverse(f"admin:incidents_{model_name}_change", args=[incident.pk])
        )


@admin.register(Maintenance)
class MaintenanceAdmin(IncidentAdminBase):
    kind = Kind.MAINTENANCE
    detail_template = "admin/incidents/maintenance/detail.html"
    list_display = [
        "name",
        "status_label",
        "window",
        "auto_transition",
        "component_count",
    ]
    list_filter = [
        _choice_filter("status", "status", list(MaintenanceStatus.choices)),
        "auto_transition",
        ("scheduled_for", admin.DateFieldListFilter),
    ]
    date_hierarchy = "scheduled_for"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Incident]:
        return super().get_queryset(request).annotate(component_count=Count("affected"))

    def get_urls(self) -> list[URLPattern]:
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        edit = self.admin_site.admin_view(self.edit_view)
        return [path("<path:object_id>/edit/", edit, name=f"{prefix}_edit"), *super().get_urls()]

    def edit_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Rename the maintenance or move its window (incident_edit, maintenance_reschedule),
        optionally telling visitors and subscribers in an update."""
        maintenance = self.get_incident(request, object_id)
        if maintenance is None:
            return self.redirect_missing(request, object_id)
        if not self.has_change_permission(request, maintenance):
            raise PermissionDenied
        if request.method == "POST":
            form = MaintenanceEditForm(request.POST, maintenance=maintenance)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    with transaction.atomic():
                        services.incident_edit(incident=maintenance, name=data["name"])
                        services.maintenance_reschedule(
                            maintenance=maintenance,
                            scheduled_for=data["scheduled_for"],
                            scheduled_until=data["scheduled_until"],
                            body=data["body"],
                            deliver_notifications=data["deliver_notifications"],
                        )
                except ValidationError as error:
                    _service_error(form, error)
                else:
                    self.log_change(request, maintenance, "Renamed or rescheduled.")
                    self.message_user(request, "Saved.", messages.SUCCESS)
                    return HttpResponseRedirect(self.change_url(maintenance))
        else:
            form = MaintenanceEditForm(maintenance=maintenance)
        context = self.page_context(
            request, title=f"Edit: {maintenance.name}", incident=maintenance, form=form
        )
        return TemplateResponse(request, "admin/incidents/maintenance/edit.html", context)

    @admin.display(description="window", ordering="scheduled_for")
    def window(self, maintenance: Incident) -> str:
        start, end = maintenance.scheduled_for, maintenance.scheduled_until
        if start is None or end is None:
            return "-"
        local_start, local_end = timezone.localtime(start), timezone.localtime(end)
        if local_start.date() == local_end.date():
            return f"{short_datetime(start)} to {date_format(local_end, 'H:i')}"
        return f"{short_datetime(start)} to {short_datetime(end)}"

    @admin.display(description="components", ordering="component_count")
    def component_count(self, maintenance: Incident) -> int:
        return maintenance.component_count  # type: ignore[attr-defined]  # get_queryset's annotation

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        preview = None
        if request.method == "POST":
            form = MaintenanceScheduleForm(request.POST)
            preview = self.preview_of(request)
            if preview is None and form.is_valid():
                data = form.cleaned_data
                try:
                    maintenance = services.maintenance_schedule(
                        name=data["name"],
                        body=data["body"],
                        scheduled_for=data["scheduled_for"],
                        scheduled_until=data["scheduled_until"],
                        components=data["components"],
                        deliver_notifications=data["deliver_notifications"],
                        auto_transition=data["auto_transition"],
                    )
                except ValidationError as error:
                    _service_error(form, error)
                else:
                    self.log_addition(request, maintenance, "Scheduled the maintenance.")
                    self.message_user(
                        request, f"The maintenance “{maintenance}” was scheduled.", messages.SUCCESS
                    )
                    return HttpResponseRedirect(self.change_url(maintenance))
        else:
            form = MaintenanceScheduleForm()
        context = self.page_context(
            request, title="Schedule a maintenance", form=form, preview=preview
        )
        return TemplateResponse(request, "admin/incidents/maintenance/schedule.html", context)

    def update_form(self, incident: Incident, data: Any = None) -> MaintenanceUpdateForm:
        return MaintenanceUpdateForm(data, maintenance=incident)

    def post_update(self, request: HttpRequest, incident: Incident, form: Any) -> str:
        data = form.cleaned_data
        was = incident.status
        update = services.maintenance_post_update(
            maintenance=incident,
            status=data["status"],
            body=data["body"],
            deliver_notifications=data["deliver_notifications"],
        )
        if was == MaintenanceStatus.SCHEDULED and update.status == MaintenanceStatus.IN_PROGRESS:
            return "Started the maintenance."
        if was != MaintenanceStatus.COMPLETED and update.status == MaintenanceStatus.COMPLETED:
            return "Completed the maintenance."
        return f"Posted a “{update.status_label}” update."


@admin.register(IncidentTemplate)
class IncidentTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "incident_name", "status", "impact", "use_link"]
    list_filter = ["status", "impact"]
    search_fields = ["name", "incident_name", "body"]
    filter_horizontal = ["components"]
    fieldsets = [
        (None, {"fields": ["name"]}),
        (
            "The incident it opens",
            {
                "fields": ["incident_name", "status", "impact", "body", "components"],
                "description": "These pre-fill the new incident form; staff can still edit them "
                "there. Components start as “partial outage”.",
            },
        ),
    ]

    def formfield_for_choice_field(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "status":
            kwargs["choices"] = [
                (v, label)
                for v, label in IncidentStatus.choices
                if v not in (IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM)
            ]
        if db_field.name == "impact":
            kwargs["choices"] = INCIDENT_IMPACTS
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    @admin.display(description="")
    def use_link(self, template: IncidentTemplate) -> SafeString:
        url = reverse("admin:incidents_incident_add")
        return format_html(
            '<a href="{}?template={}">Open an incident with it</a>', url, template.pk
        )
