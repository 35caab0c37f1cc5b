"""Staff admin for subscribers, deliveries and the notification events: who gets what, what
went out, what failed and why; resending, CSV import and export, and the email preview."""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from incidents import services as incident_services
from incidents.forms import IncidentUpdateForm, MaintenanceUpdateForm, ordered_components
from incidents.models import (
    EventKind,
    Incident,
    IncidentUpdate,
    Maintenance,
    UpdateComponentChange,
)
from notifications import csvio, sending, subscriptions
from notifications.emails import event_email
from notifications.endpoints import EndpointRefused
from notifications.forms import check_chat_url
from notifications.models import (
    ChatService,
    Delivery,
    DeliveryStatus,
    NotificationEvent,
    Subscriber,
    SubscriberKind,
    SubscriberQuerySet,
)
from statuspage.models import Component
from website.serializers import with_serialization_prefetches

HISTORY_ROWS = 20
MAX_IMPORT_BYTES = 5 * 1024 * 1024


def _deliveries_url(**filters: object) -> str:
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return reverse("admin:notifications_delivery_changelist") + (f"?{query}" if query else "")


def _resend(
    modeladmin: admin.ModelAdmin, request: HttpRequest, deliveries: QuerySet[Delivery]
) -> None:
    count = sending.deliveries_resend(deliveries=deliveries)
    if count:
        modeladmin.message_user(
            request, f"{count} failed or cancelled deliveries queued again.", messages.SUCCESS
        )
    else:
        modeladmin.message_user(
            request, "Nothing to resend: none of them failed or was cancelled.", messages.WARNING
        )


# Subscribers


class WebhookAddForm(forms.ModelForm):
    """Staff add webhook endpoints and chat channels; email addresses subscribe themselves
    (double opt-in) or come in through the CSV import."""

    destination = forms.ChoiceField(
        label="Send to",
        choices=[("webhook", "A webhook endpoint (Statuspage JSON, signed)")]
        + [(value, f"A {label} channel") for value, label in ChatService.choices],
        required=False,
        initial="webhook",
        help_text="A chat channel gets messages formatted for its service.",
    )
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text="The endpoint to POST the JSON messages to (https:// recommended), or the "
        "chat channel's incoming-webhook URL.",
    )

    class Meta:
        model = Subscriber
        fields = ["url", "components"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        destination = cleaned.get("destination") or "webhook"
        cleaned["destination"] = destination
        url = cleaned.get("url")
        if destination != "webhook" and url:
            url = subscriptions.normalize_url(url)
            try:
                check_chat_url(destination, url, public=False)
            except EndpointRefused as refused:
                self.add_error("url", refused.message)
                return cleaned
            if Subscriber.objects.filter(kind=SubscriberKind.CHAT, url=url).exists():
                self.add_error("url", "This channel is in the list already.")
            cleaned["url"] = url
        return cleaned


class ImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file", help_text='A header line with at least an "email" column.'
    )
    confirmed = forms.BooleanField(
        required=False,
        label="These people already confirmed their subscription elsewhere",
        help_text="Otherwise each new address gets a confirmation email first.",
    )

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError("The file is larger than 5 MB; split it into parts.")
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(
                "The file is not UTF-8 text; save it as CSV UTF-8."
            ) from None


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("active", "Active"),
            ("unconfirmed", "Waiting for confirmation"),
            ("unsubscribed", "Unsubscribed"),
            ("disabled", "Disabled"),
        ]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Subscriber]
    ) -> QuerySet[Subscriber]:
        value = self.value()
        assert isinstance(queryset, SubscriberQuerySet)  # the model's own, from the manager
        if value == "active":
            return queryset.active()
        if value == "unconfirmed":
            return queryset.filter(confirmed_at__isnull=True)
        if value == "unsubscribed":
            return queryset.filter(unsubscribed_at__isnull=False)
        if value == "disabled":
            return queryset.filter(disabled_at__isnull=False)
        return queryset


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = [
        "address",
        "kind",
        "state_label",
        "followed",
        "created_at",
        "consecutive_failures",
    ]
    list_filter = ["kind", StateFilter]
    search_fields = ["email", "url"]
    ordering = ["-created_at", "-id"]
    filter_horizontal = ["components"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ["export_csv", "resend_failed", "enable", "resend_challenge", "unsubscribe"]
    change_list_template = "notifications/admin/subscriber_change_list.html"
    readonly_fields = [
        "kind",
        "chat_service",
        "email",
        "secret",
        "state_label",
        "disabled_reason",
        "self_registered",
        "challenge_state",
        "created_at",
        "confirmed_at",
        "unsubscribed_at",
        "disabled_at",
        "consecutive_failures",
        "delivery_history",
    ]

    def get_fields(self, request: HttpRequest, obj: Subscriber | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("destination", "url", "components")
        editable = ["url", "components"] if obj.kind == SubscriberKind.WEBHOOK else ["components"]
        webhook_only = {"secret", "challenge_state"}
        shown = [
            f
            for f in self.readonly_fields
            if (f not in webhook_only or obj.kind == SubscriberKind.WEBHOOK)
            and (f != "chat_service" or obj.kind == SubscriberKind.CHAT)
            and (f != "self_registered" or obj.kind != SubscriberKind.EMAIL)
        ]
        return (*shown[:2], *editable, *shown[2:])

    def get_form(
        self,
        request: HttpRequest,
        obj: Subscriber | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> type[forms.ModelForm[Subscriber]]:
        if obj is None:
            kwargs["form"] = WebhookAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Subscriber | None = None) -> list[str]:
        return [] if obj is None else self.readonly_fields

    def save_model(
        self, request: HttpRequest, obj: Subscriber, form: forms.ModelForm, change: bool
    ) -> None:
        if not change:
            destination = form.cleaned_data.get("destination") or "webhook"
            if destination == "webhook":
                obj.kind = SubscriberKind.WEBHOOK
            else:
                obj.kind = SubscriberKind.CHAT
                obj.chat_service = destination
            obj.confirmed_at = timezone.now()
        super().save_model(request, obj, form, change)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Subscriber]:
        return super().get_queryset(request).annotate(followed_count=Count("components"))

    @admin.display(description="state")
    def state_label(self, subscriber: Subscriber) -> str:
        return {
            "active": "Active",
            "unconfirmed": "Waiting for confirmation",
            "unsubscribed": "Unsubscribed",
            "disabled": "Disabled",
        }[subscriber.state]

    @admin.display(description="challenge")
    def challenge_state(self, subscriber: Subscriber) -> str:
        """Where a webhook signed up on the public page stands with its challenge."""
        if not subscriber.self_registered:
            return "None: added by staff."
        if subscriber.confirmed_at is not None:
            return f"Passed after {subscriber.challenge_attempts} attempt(s)."
        tried = f"{subscriber.challenge_attempts} of {settings.NOTIFY_MAX_ATTEMPTS} attempts"
        error = f" Last error: {subscriber.challenge_error}" if subscriber.challenge_error else ""
        if subscriber.challenge_next_at is None:
            return f"Gave up after {tried}.{error}"
        when = timezone.localtime(subscriber.challenge_next_at).strftime("%Y-%m-%d %H:%M")
        return f"Waiting for the endpoint to echo it ({tried}; next at {when}).{error}"

    @admin.display(description="components", ordering="followed_count")
    def followed(self, subscriber: Subscriber) -> str:
        count = getattr(subscriber, "followed_count", None)
        if count is None:
            count = subscriber.components.count()
        return f"{count} chosen" if count else "All"

    @admin.display(description="recent deliveries")
    def delivery_history(self, subscriber: Subscriber) -> SafeString | str:
        deliveries = list(
            subscriber.deliveries.select_related("event__incident").order_by("-id")[:HISTORY_ROWS]
        )
        if not deliveries:
            return "None yet."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    timezone.localtime(d.created_at).strftime("%Y-%m-%d %H:%M"),
                    f"{d.event.get_kind_display()}: {d.event.incident or ''}",
                    d.get_status_display(),
                    d.attempts,
                    d.last_error or "",
                )
                for d in deliveries
            ),
        )
        return format_html(
            '<table class="notifications-history"><thead><tr><th>Created</th><th>Event</th>'
            "<th>Status</th><th>Attempts</th><th>Last error</th></tr></thead><tbody>{}</tbody>"
            '</table><p><a href="{}">All deliveries of this subscriber</a></p>',
            rows,
            _deliveries_url(subscriber__id__exact=subscriber.pk),
        )

    # Each action asks for what it does: exporting the address list its own permission,
    # changing a subscription the change permission, resending the deliveries' permission.
    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notifications.export_subscriber")

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notifications.change_delivery")

    @admin.action(description="Export the selected subscribers as CSV", permissions=["export"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> HttpResponse:
        body = csvio.subscribers_export(queryset.prefetch_related("components").order_by("id"))
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="subscribers-{stamp}.csv"'
        return response

    @admin.action(description="Resend their failed deliveries", permissions=["resend"])
    def resend_failed(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        _resend(self, request, Delivery.objects.filter(subscriber__in=queryset))

    @admin.action(
        description="Enable again (after fixing the address or endpoint)", permissions=["change"]
    )
    def enable(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        count = 0
        for subscriber in queryset.filter(disabled_at__isnull=False):
            subscriptions.subscriber_enable(subscriber=subscriber)
            count += 1
        self.message_user(request, f"{count} subscribers enabled again.", messages.SUCCESS)

    @admin.action(
        description="Send the webhook challenge again (pending sign-ups)", permissions=["change"]
    )
    def resend_challenge(self, request: HttpRequest, queryset: SubscriberQuerySet) -> None:
        count = sum(
            subscriptions.webhook_challenge_restart(subscriber=s)
            for s in queryset.awaiting_challenge()
        )
        self.message_user(request, f"{count} challenges queued again.", messages.SUCCESS)

    @admin.action(description="Unsubscribe", permissions=["change"])
    def unsubscribe(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        count = sum(subscriptions.subscription_leave(subscriber=s) for s in queryset)
        self.message_user(request, f"{count} subscribers unsubscribed.", messages.SUCCESS)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="notifications_subscriber_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        report = None
        if request.method == "POST":
            form = ImportForm(request.POST, request.FILES)
            if form.is_valid():
                report = csvio.subscribers_import(
                    text=form.cleaned_data["file"], confirmed=form.cleaned_data["confirmed"]
                )
                if not report.errors:
                    self.message_user(
                        request,
                        f"Imported {report.created} subscribers; {report.already_there} were "
                        f"already there; {report.webhooks_skipped} webhook lines skipped.",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(
                        reverse("admin:notifications_subscriber_changelist")
                    )
        else:
            form = ImportForm()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Import subscribers",
            "form": form,
            "report": report,
        }
        return TemplateResponse(request, "notifications/admin/import.html", context)


# Deliveries


class EventKindFilter(admin.SimpleListFilter):
    title = "event"
    parameter_name = "event_kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(EventKind.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> QuerySet[Delivery]:
        return queryset.filter(event__kind=self.value()) if self.value() else queryset


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "subscriber",
        "event",
        "channel",
        "status",
        "attempts",
        "sent_at",
        "next_attempt_at",
        "error",
    ]
    list_filter = ["status", "channel", EventKindFilter]
    search_fields = ["subscriber__email", "subscriber__url", "last_error"]
    list_select_related = ["subscriber", "event"]
    actions = ["resend"]
    list_per_page = 100

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return False

    @admin.display(description="last error")
    def error(self, delivery: Delivery) -> str:
        return delivery.last_error[:120]

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notifications.change_delivery")

    @admin.action(
        description="Resend the selected failed or cancelled deliveries", permissions=["resend"]
    )
    def resend(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        _resend(self, request, queryset)


# Events


@admin.register(NotificationEvent)
class NotificationEventAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "kind",
        "incident",
        "processed_at",
        "pending",
        "sent",
        "failed",
        "cancelled",
        "preview",
    ]
    list_filter = ["kind"]
    list_select_related = ["incident"]
    actions = ["resend_failed"]
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[NotificationEvent]:
        def count(*statuses: str) -> Count:
            return Count("deliveries", filter=Q(deliveries__status__in=statuses))

        return (
            super()
            .get_queryset(request)
            .annotate(
                pending_count=count(DeliveryStatus.PENDING, DeliveryStatus.SENDING),
                sent_count=count(DeliveryStatus.SENT),
                failed_count=count(DeliveryStatus.FAILED),
                cancelled_count=count(DeliveryStatus.CANCELLED),
            )
        )

    def _count_link(self, event: NotificationEvent, count: int, status: str) -> SafeString | int:
        if not count:
            return 0
        return format_html(
            '<a href="{}">{}</a>',
            _deliveries_url(event__id__exact=event.pk, status__exact=status),
            count,
        )

    @admin.display(description="pending", ordering="pending_count")
    def pending(self, event: NotificationEvent) -> SafeString | int:
        return self._count_link(event, event.pending_count, DeliveryStatus.PENDING)  # type: ignore[attr-defined]  # get_queryset's annotation

    @admin.display(description="sent", ordering="sent_count")
    def sent(self, event: NotificationEvent) -> SafeString | int:
        return self._count_link(event, event.sent_count, DeliveryStatus.SENT)  # type: ignore[attr-defined]  # get_queryset's annotation

    @admin.display(description="failed", ordering="failed_count")
    def failed(self, event: NotificationEvent) -> SafeString | int:
        return self._count_link(event, event.failed_count, DeliveryStatus.FAILED)  # type: ignore[attr-defined]  # get_queryset's annotation

    @admin.display(description="cancelled", ordering="cancelled_count")
    def cancelled(self, event: NotificationEvent) -> SafeString | int:
        return self._count_link(event, event.cancelled_count, DeliveryStatus.CANCELLED)  # type: ignore[attr-defined]  # get_queryset's annotation

    @admin.display(description="email")
    def preview(self, event: NotificationEvent) -> SafeString | str:
        if event.incident_id is None:
            return ""
        url = reverse("admin:notifications_email_preview", args=[event.incident_id])
        return format_html('<a href="{}">Preview</a>', url)

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notifications.change_delivery")

    @admin.action(
        description="Resend the failed deliveries of the selected events", permissions=["resend"]
    )
    def resend_failed(self, request: HttpRequest, queryset: QuerySet[NotificationEvent]) -> None:
        _resend(self, request, Delivery.objects.filter(event__in=queryset))

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "preview/<int:incident_id>/",
                self.admin_site.admin_view(self.preview_view),
                name="notifications_email_preview",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request: HttpRequest, incident_id: int) -> HttpResponse:
        """The email subscribers get for the incident's latest update, as it would be sent now;
        or, posted from the update form, for the update being written (nothing is saved)."""
        incident = get_object_or_404(
            with_serialization_prefetches(Incident.objects.all()), pk=incident_id
        )
        # The incident's own admin decides: a draft or an unannounced maintenance is no more
        # visible through its email than through its page. A posted draft update is shown
        # only to staff who may post it.
        incident_admin = self.admin_site.get_model_admin(
            Maintenance if incident.is_maintenance else Incident
        )
        may_see = (
            incident_admin.has_change_permission(request, incident)
            if request.method == "POST"
            else incident_admin.has_view_or_change_permission(request, incident)
        )
        if not may_see:
            raise PermissionDenied
        draft: IncidentUpdate | None = None
        errors: list[str] = []
        if request.method == "POST":
            draft, errors = draft_update(incident, request.POST)
        kind = preview_kind(incident, draft=draft is not None)
        content = event_email(
            kind=kind,
            incident=draft.incident if draft is not None else incident,
            update_id=None,
            update=draft,
        )
        sample = Subscriber(
            public_id="preview", kind=SubscriberKind.EMAIL, email="subscriber@example.com"
        )
        message = content.for_subscriber(sample, delivery_id=0)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Email preview: {incident.name}",
            "incident": incident,
            "draft": draft,
            "errors": errors,
            "kind_label": EventKind(kind).label,
            "message": message,
            "headers": [
                (name, message.extra_headers[name])
                for name in ("List-Unsubscribe", "List-Unsubscribe-Post")
            ],
            "text": message.body,
            "html": message.alternatives[0][0],
        }
        return TemplateResponse(request, "notifications/admin/preview.html", context)


def draft_update(incident: Incident, data: Any) -> tuple[IncidentUpdate | None, list[str]]:
    """The update the incident's update form describes, unsaved, or the form's errors.

    The services' own plan decides it, as when the update is posted: its status and message,
    the component changes it announces, and, as its `incident`, a copy of the incident as it
    would stand afterwards (status, impact, affected components with their new statuses).
    """
    form: IncidentUpdateForm | MaintenanceUpdateForm
    if incident.is_maintenance:
        form = MaintenanceUpdateForm(data, maintenance=incident)
    else:
        form = IncidentUpdateForm(data, incident=incident, components=ordered_components())
    if not form.is_valid():
        return None, [
            f"{form.fields[name].label or name}: {' '.join(map(str, messages))}"
            if name in form.fields
            else " ".join(map(str, messages))
            for name, messages in form.errors.items()
        ]
    status = form.cleaned_data["status"]
    body = form.cleaned_data["body"]
    after = copy.copy(incident)
    if isinstance(form, MaintenanceUpdateForm):
        body = incident_services.maintenance_update_body(
            maintenance=incident, status=status, body=body
        )
        plan = incident_services.maintenance_update_plan(maintenance=incident, status=status)
    else:
        plan = incident_services.incident_update_plan(
            incident=incident, status=status, component_statuses=form.component_statuses()
        )
        after.impact = form.cleaned_data["impact"]
    after.status = plan.incident_status
    planned = {p.component.pk: p for p in plan.components}
    shown: list[Component] = incident.public_components  # type: ignore[attr-defined]  # the prefetch's to_attr
    components = list(
        Component.objects.public()
        .select_related("group")
        .filter(pk__in={c.pk for c in shown} | planned.keys())
        .order_by("position", "name", "pk")
    )
    changes = []
    for component in components:
        if component.pk in planned:
            change = planned[component.pk]
            component.status = change.after
            changes.append(
                UpdateComponentChange(
                    component=component, old_status=change.before, new_status=change.after
                )
            )
    # Set as with_serialization_prefetches would, for the serializers to read.
    after.public_components = components  # type: ignore[attr-defined]
    now = timezone.now()
    update = IncidentUpdate(
        incident=after, status=plan.update_status, body=body, display_at=now, created_at=now
    )
    update.public_component_changes = changes  # type: ignore[attr-defined]  # as above
    return update, []


def preview_kind(incident: Incident, *, draft: bool = False) -> str:
    """The event the incident's latest update (or a draft of the next one) is announced as."""
    first = not draft and incident.updates.count() <= 1
    if incident.is_maintenance:
        return EventKind.MAINTENANCE_SCHEDULED if first else EventKind.MAINTENANCE_UPDATED
    return EventKind.INCIDENT_CREATED if first else EventKind.INCIDENT_UPDATED
