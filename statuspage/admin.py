"""Staff admin for component groups, components and their status history.

A component's status is never saved directly: a change made here goes through
`component_set_status`, so the history and the uptime rollups stay complete.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, F, Max, QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, URLPattern, URLResolver, reverse
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from statuspage import timezones
from statuspage.branding import current_page
from statuspage.models import (
    ChangeReason,
    Component,
    ComponentGroup,
    ComponentStatus,
    ComponentStatusChange,
    FooterLink,
    PageSettings,
)
from statuspage.services import component_set_status


def _admin_title() -> str:
    return f"{current_page().name} admin"


# Read when a page renders, so a name saved in the page settings shows at once.
admin.site.site_header = lazy(_admin_title, str)()
admin.site.site_title = lazy(_admin_title, str)()
admin.site.index_title = "Status page"
# The home page lists what needs attention and every section; pages use the whole width.
admin.site.enable_nav_sidebar = False

_stock_urls = admin.site.get_urls


def _site_urls() -> list[URLPattern | URLResolver]:
    """The stock admin's pages and the site-wide ones of ours (the staff time zone)."""
    return [*timezones.admin_urls(), *_stock_urls()]


admin.site.get_urls = _site_urls  # type: ignore[method-assign]  # one site, one extra page

HISTORY_ROWS = 25


def status_badge(status: str, label: str) -> SafeString:
    """A coloured label for a component, incident or maintenance status."""
    return format_html('<span class="sp-badge sp-status-{}">{}</span>', status, label)


def incident_admin_link(incident_public_id: str) -> SafeString | str:
    """A link to the admin page of the incident or maintenance with this public id.

    Goes through a redirect the incidents admin provides, so components need not know
    the incident models.
    """
    if not incident_public_id:
        return ""
    try:
        url = reverse("admin:incidents_incident_by_public_id", args=[incident_public_id])
    except NoReverseMatch:
        return incident_public_id
    return format_html('<a href="{}">{}</a>', url, incident_public_id)


INLINE_FIELDS = ("name", "position", "is_public", "showcase")


class ComponentInline(admin.TabularInline):
    """The group's components in their order: rename them, renumber them, add new ones here.

    Statuses are not edited here (they change through incidents and the component's page).
    """

    model = Component
    fields = ["name", "position", "status_label", "is_public", "showcase"]
    readonly_fields = ["status_label"]
    ordering = ["position", "name"]
    extra = 1
    show_change_link = True
    can_delete = False

    @admin.display(description="status")
    def status_label(self, component: Component) -> SafeString | str:
        if component.pk is None:
            return status_badge(ComponentStatus.OPERATIONAL, ComponentStatus.OPERATIONAL.label)
        return status_badge(component.status, component.get_status_display())


class ComponentGroupForm(forms.ModelForm):
    """A group, with the components to move into it from elsewhere (they go last, in the order
    listed)."""

    add_components = forms.ModelMultipleChoiceField(
        label="Move components into this group",
        queryset=Component.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="Components of other groups or of none; they are added after the group's own.",
    )

    class Meta:
        model = ComponentGroup
        fields = ["name", "description", "position", "is_public", "collapsed"]
        help_texts = {"position": "Groups are shown by position, lower first."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Components of no group first on every database (SQLite and PostgreSQL disagree on
        # where NULL sorts), so the moved ones go last in the order this list shows them.
        others = Component.objects.select_related("group").order_by(
            F("group__position").asc(nulls_first=True),
            F("group__name").asc(nulls_first=True),
            "position",
            "name",
        )
        if self.instance.pk is not None:
            others = others.exclude(group=self.instance)
        field = self.fields["add_components"]
        field.queryset = others  # type: ignore[attr-defined]  # a ModelMultipleChoiceField
        field.label_from_instance = lambda c: (  # type: ignore[attr-defined]  # same field
            f"{c.group.name} / {c.name}" if c.group else c.name
        )


@admin.register(ComponentGroup)
class ComponentGroupAdmin(admin.ModelAdmin):
    form = ComponentGroupForm
    list_display = ["name", "position", "is_public", "collapsed", "component_count"]
    list_editable = ["position", "is_public", "collapsed"]
    list_filter = ["is_public", "collapsed"]
    search_fields = ["name", "description"]
    fieldsets = [
        (None, {"fields": ["name", "description", "position", "is_public", "collapsed"]}),
        ("Components", {"fields": ["add_components"]}),
        ("Identity", {"fields": ["public_id"], "classes": ["collapse"]}),
    ]
    readonly_fields = ["public_id"]
    inlines = [ComponentInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ComponentGroup]:
        return super().get_queryset(request).annotate(component_count=Count("components"))

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, str | list[str]]:
        """A new group goes after the others."""
        initial = super().get_changeform_initial_data(request)
        last = ComponentGroup.objects.aggregate(last=Max("position"))["last"]
        initial.setdefault("position", str(0 if last is None else last + 1))
        return initial

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        group = form.instance
        moved = form.cleaned_data.get("add_components") or []
        if moved:
            last = group.components.aggregate(last=Max("position"))["last"]
            position = 0 if last is None else last + 1
            for component in moved:
                component.group = group
                component.position = position
                position += 1
                # Only these fields, so a status set meanwhile is kept.
                component.save(update_fields=["group", "position", "updated_at"])

    def save_formset(
        self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool
    ) -> None:
        """Existing components save only what the row changed (never their status)."""
        if formset.model is not Component:
            super().save_formset(request, form, formset, change)
            return
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for row in formset.forms:
            if not row.has_changed():
                continue
            component = row.instance
            if component.pk is None:
                component.group = form.instance
                component.save()
                formset.new_objects.append(component)
            else:
                fields = [name for name in row.changed_data if name in INLINE_FIELDS]
                component.save(update_fields=[*fields, "updated_at"])
                formset.changed_objects.append((component, fields))

    @admin.display(description="components", ordering="component_count")
    def component_count(self, group: ComponentGroup) -> int:
        return group.component_count  # type: ignore[attr-defined]  # get_queryset's annotation


class ComponentAdminForm(forms.ModelForm):
    status_note = forms.CharField(
        label="Reason for the change",
        required=False,
        max_length=500,
        help_text="Optional; kept with the change in the status history.",
    )
    # The status the page showed: only a choice different from it is a change to make, so a
    # form opened before an incident changed the status does not undo that change.
    loaded_status = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["loaded_status"].initial = (
            self.instance.status if self.instance.pk else ComponentStatus.OPERATIONAL
        )

    class Meta:
        model = Component
        fields = [
            "name",
            "group",
            "description",
            "status",
            "status_note",
            "loaded_status",
            "position",
            "is_public",
            "showcase",
            "only_show_if_degraded",
            "start_date",
        ]
        help_texts = {
            "status": (
                "Changing it here is recorded as a manual change in the status history. "
                "Incidents and maintenances set it for you."
            ),
            "only_show_if_degraded": "Hide it on the public page while it is operational.",
            "is_public": "Hidden components never appear on the page, in the API, feeds or emails.",
            "position": "Lower numbers come first.",
        }


def _set_status_action(status: str, label: str) -> Callable[..., None]:
    def action(
        modeladmin: ComponentAdmin, request: HttpRequest, queryset: QuerySet[Component]
    ) -> None:
        changed = 0
        for component in queryset:
            if component_set_status(component=component, status=status, reason=ChangeReason.MANUAL):
                changed += 1
        modeladmin.message_user(
            request, f"{changed} component(s) set to {label.lower()}.", messages.SUCCESS
        )

    action.__name__ = f"set_status_{status}"
    return admin.action(description=f"Set status: {label}", permissions=["change"])(action)


@admin.register(Component)
class ComponentAdmin(admin.ModelAdmin):
    form = ComponentAdminForm
    list_display = [
        "name",
        "group",
        "status_label",
        "status_changed_at",
        "position",
        "is_public",
        "showcase",
        "only_show_if_degraded",
    ]
    list_display_links = ["name"]
    list_editable = ["position", "is_public", "showcase"]
    list_filter = ["status", "group", "is_public", "showcase", "only_show_if_degraded"]
    list_select_related = ["group"]
    search_fields = ["name", "description", "group__name"]
    ordering = ["group__position", "group__name", "position", "name"]
    actions = [_set_status_action(value, label) for value, label in ComponentStatus.choices]
    readonly_fields = ["status_changed_at", "public_id", "created_at", "status_history"]
    fieldsets = [
        (None, {"fields": ["name", "group", "description"]}),
        ("Status", {"fields": ["status", "status_note", "status_changed_at", "loaded_status"]}),
        (
            "On the public page",
            {
                "fields": [
                    "position",
                    "is_public",
                    "showcase",
                    "only_show_if_degraded",
                    "start_date",
                ]
            },
        ),
        ("Recent status history", {"fields": ["status_history"]}),
        ("Identity", {"fields": ["public_id", "created_at"], "classes": ["collapse"]}),
    ]

    @admin.display(description="status", ordering="status")
    def status_label(self, component: Component) -> SafeString:
        return status_badge(component.status, component.get_status_display())

    @admin.display(description="last changes, newest first")
    def status_history(self, component: Component) -> SafeString | str:
        if component.pk is None:
            return "No history yet."
        changes = list(component.status_changes.order_by("-changed_at", "-id")[:HISTORY_ROWS])
        if not changes:
            return "No change recorded yet."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{} &rarr; {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    timezone.localtime(change.changed_at).strftime("%Y-%m-%d %H:%M:%S %Z"),
                    status_badge(change.from_status, change.get_from_status_display()),
                    status_badge(change.to_status, change.get_to_status_display()),
                    change.get_reason_display(),
                    incident_admin_link(change.incident_public_id),
                    change.note,
                )
                for change in changes
            ),
        )
        return format_html(
            '<table class="sp-history"><thead><tr><th>When</th><th>Change</th><th>Why</th>'
            "<th>Incident</th><th>Note</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    def get_fieldsets(self, request: HttpRequest, obj: Component | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            # A new component has no history yet.
            return [fs for fs in fieldsets if fs[0] not in ("Recent status history", "Identity")]
        return fieldsets

    def save_model(
        self, request: HttpRequest, obj: Component, form: forms.ModelForm, change: bool
    ) -> None:
        """Save everything but the status; a new status goes through the status service."""
        wanted_status = form.cleaned_data.get("status")
        if change:
            # Only the fields the form changed, so a status set meanwhile (by an incident or
            # the checker) is not overwritten with the one this form was loaded with.
            model_fields = {f.name for f in Component._meta.concrete_fields}
            update_fields = [
                name for name in form.changed_data if name in model_fields and name != "status"
            ]
            if update_fields:
                obj.save(update_fields=[*update_fields, "updated_at"])
            loaded_status = form.cleaned_data.get("loaded_status")
            if loaded_status:
                status_changed = wanted_status != loaded_status
            else:
                status_changed = "status" in form.changed_data
        else:
            obj.status = ComponentStatus.OPERATIONAL
            obj.save()
            status_changed = wanted_status not in (None, ComponentStatus.OPERATIONAL)
        if status_changed and wanted_status:
            component_set_status(
                component=obj,
                status=wanted_status,
                reason=ChangeReason.MANUAL,
                note=form.cleaned_data.get("status_note", ""),
            )


@admin.register(ComponentStatusChange)
class ComponentStatusChangeAdmin(admin.ModelAdmin):
    """The status history, read-only: it is written by the status services alone."""

    list_display = [
        "changed_at",
        "component",
        "from_label",
        "to_label",
        "reason",
        "incident",
        "note",
    ]
    list_filter = ["reason", "to_status", "component"]
    list_select_related = ["component"]
    search_fields = ["component__name", "note", "incident_public_id"]
    date_hierarchy = "changed_at"
    ordering = ["-changed_at", "-id"]

    @admin.display(description="from", ordering="from_status")
    def from_label(self, change: ComponentStatusChange) -> SafeString:
        return status_badge(change.from_status, change.get_from_status_display())

    @admin.display(description="to", ordering="to_status")
    def to_label(self, change: ComponentStatusChange) -> SafeString:
        return status_badge(change.to_status, change.get_to_status_display())

    @admin.display(description="incident or maintenance")
    def incident(self, change: ComponentStatusChange) -> SafeString | str:
        return incident_admin_link(change.incident_public_id)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _https_by_default(db_field: Any, kwargs: dict[str, Any]) -> None:
    """An address typed without a scheme is taken as https."""
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")


class FooterLinkInline(admin.TabularInline):
    model = FooterLink
    fields = ["label", "url", "position"]
    extra = 1

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        _https_by_default(db_field, kwargs)
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(PageSettings)
class PageSettingsAdmin(admin.ModelAdmin):
    """The page's one row of settings (added once, never deleted)."""

    inlines = [FooterLinkInline]
    fieldsets = [
        (
            "The page",
            {
                "fields": [
                    "name",
                    "headline",
                    "page_description",
                    "url",
                    "support_url",
                    "hidden_from_search",
                ]
            },
        ),
        (
            "Logos",
            {
                "fields": [
                    "transactional_logo",
                    "transactional_logo_dark",
                    "email_logo",
                    "favicon_logo",
                ],
                "description": "PNG, JPEG, GIF, WebP, SVG or ICO. Each upload gets a new address.",
            },
        ),
        (
            "Colours",
            {
                "fields": [
                    "css_body_background_color",
                    "css_font_color",
                    "css_light_font_color",
                    "css_link_color",
                    "css_border_color",
                    "css_greens",
                    "css_yellows",
                    "css_oranges",
                    "css_reds",
                    "css_blues",
                    "css_no_data",
                ],
                "description": "For the light theme, as #rrggbb; empty keeps the built-in "
                "colour. Text and links need a contrast of 4.5:1 with the background and the "
                "white cards, status colours 3:1.",
            },
        ),
        (
            "Subscriptions offered",
            {
                "fields": [
                    "allow_page_subscribers",
                    "allow_incident_subscribers",
                    "allow_email_subscribers",
                    "allow_webhook_subscribers",
                    "allow_chat_subscribers",
                    "allow_rss_atom_feeds",
                ],
                "description": "Turning a channel off stops new sign-ups on the public pages; "
                "subscribers already signed up keep getting notified.",
            },
        ),
        ("Emails", {"fields": ["notifications_from_email", "notifications_email_footer"]}),
    ]

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        _https_by_default(db_field, kwargs)
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name.startswith("css_") and field is not None:
            field.widget = forms.TextInput(
                attrs={"size": 8, "placeholder": "#rrggbb", "pattern": "#[0-9a-fA-F]{6}"}
            )
        return field

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not PageSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# Failed logins (django-axes). Deleting a lockout's attempt row lifts the lockout; the clean-up
# of expired rows deletes rows too, so it asks for the delete permission like any deletion.
admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class LoginAttemptAdmin(AccessAttemptAdmin):
    @admin.action(description="Clean up expired attempts", permissions=["delete"])
    def cleanup_expired_attempts(
        self, request: HttpRequest, queryset: QuerySet[AccessAttempt]
    ) -> None:
        count = self.handler.clean_expired_user_attempts(request=request)
        self.message_user(request, f"Cleaned up {count} expired login attempts.")
