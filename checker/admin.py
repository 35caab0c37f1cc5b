"""Staff pages of the checker: checks with their state and chart, state changes, host backoffs,
and the alert integrations with their rules and the alerts they sent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from checker import alerts, services
from checker.charts import DEFAULT_RANGE, RANGES
from checker.messages import clock
from checker.models import (
    AlertIntegration,
    AlertRule,
    AlertStatus,
    Check,
    CheckKind,
    CheckState,
    CheckTransition,
    HostBackoff,
    ReceivedAlert,
)
from checker.views import render_chart

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldsetSpec

PROBE_FIELDS = {
    "kind",
    "url",
    "method",
    "request_headers",
    "request_body",
    "expected_status_codes",
    "body_contains",
    "json_conditions",
    "follow_redirects",
    "tls_verify",
    "degraded_latency_ms",
    "host",
    "port",
    "tls_days_left_threshold",
    "upstream_url",
    "upstream_component",
    "failure_threshold",
    "success_threshold",
}


def _state(check: Check) -> CheckState | None:
    try:
        return check.state
    except CheckState.DoesNotExist:
        return None


@admin.register(Check)
class CheckAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "component",
        "kind",
        "state_badge",
        "last_result",
        "interval_seconds",
        "incident_mode",
        "is_active",
    )
    list_filter = ("kind", "is_active", "state__state", "incident_mode")
    list_select_related = ("component", "state")
    search_fields = ("name", "url", "host", "upstream_url", "upstream_component", "component__name")
    readonly_fields = ("state_summary", "recent_transitions", "response_time")
    actions = ("run_now", "pause", "resume")
    fieldsets = (
        (None, {"fields": ("component", "name", "kind", "is_active")}),
        (
            "HTTP(S) request",
            {
                "description": "Used by HTTP(S) checks.",
                "fields": (
                    "url",
                    "method",
                    "request_headers",
                    "request_body",
                    "expected_status_codes",
                    "body_contains",
                    "json_conditions",
                    ("follow_redirects", "tls_verify"),
                    "degraded_latency_ms",
                ),
            },
        ),
        (
            "TCP connect and TLS certificate",
            {
                "description": "Used by TCP and TLS checks (TLS checks also use “verify TLS”).",
                "fields": ("host", "port", "tls_days_left_threshold"),
            },
        ),
        (
            "Upstream status page",
            {
                "description": "Follow a component on another Statuspage-compatible page "
                "and mirror its status.",
                "fields": ("upstream_url", "upstream_component"),
            },
        ),
        (
            "Schedule and thresholds",
            {
                "fields": (
                    ("interval_seconds", "timeout_seconds"),
                    ("failure_threshold", "success_threshold"),
                )
            },
        ),
        ("On a confirmed failure", {"fields": ("outage_status", "incident_mode")}),
        ("Where it stands", {"fields": ("state_summary", "recent_transitions", "response_time")}),
    )

    def get_readonly_fields(
        self, request: HttpRequest, obj: Check | None = None
    ) -> tuple[str, ...]:
        return self.readonly_fields if obj is not None else ()

    def has_change_permission(self, request: HttpRequest, obj: Check | None = None) -> bool:
        # An alert rule keeps its checks in step; staff change the rule instead.
        if obj is not None and obj.kind == CheckKind.ALERT:
            return False
        return super().has_change_permission(request, obj)

    def get_fieldsets(self, request: HttpRequest, obj: Check | None = None) -> _FieldsetSpec:
        if obj is None:
            return self.fieldsets[:-1]
        return self.fieldsets

    def save_model(
        self, request: HttpRequest, obj: Check, form: forms.ModelForm[Check], change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        services.check_saved(
            check=obj, probe_changed=not change or bool(PROBE_FIELDS & set(form.changed_data))
        )

    @admin.display(description="state", ordering="state__state")
    def state_badge(self, check: Check) -> str:
        state = _state(check)
        if not check.is_active:
            return "paused"
        return state.get_state_display() if state else "not yet run"

    @admin.display(description="last result", ordering="state__last_result_at")
    def last_result(self, check: Check) -> str:
        state = _state(check)
        if state is None or state.last_result_at is None:
            return "—"
        text = clock(state.last_result_at)
        if state.last_error:
            text += f": {state.last_error}"
        elif state.last_latency_ms is not None:
            text += f": {state.last_latency_ms:,} ms"
        return text

    @admin.display(description="state")
    def state_summary(self, check: Check) -> SafeString:
        state = _state(check)
        if state is None:
            return format_html("Not run yet.")
        recent = state.recent[-check.failure_threshold :]
        failures = sum(1 for _, level in recent if level)
        since = f" since {clock(state.state_since)}" if state.state_since else ""
        rows = [
            ("State", f"{state.get_state_display()}{since}"),
            ("Recent results", f"{failures} of the last {len(recent)} failed or were slow"),
            ("Calls for", state.get_desired_status_display()),
            ("Last result", self.last_result(check)),
            ("Next run", clock(state.next_run_at) if check.is_active else "paused"),
        ]
        return format_html(
            "<dl class='checker-state'>{}</dl>",
            format_html_join("", "<dt>{}</dt><dd>{}</dd>", rows),
        )

    @admin.display(description="state changes")
    def recent_transitions(self, check: Check) -> SafeString:
        transitions = list(check.transitions.all()[:10])
        if not transitions:
            return format_html("{}", "None yet.")
        items = format_html_join(
            "",
            "<tr><td>{}</td><td>{} → {}</td><td>{}</td></tr>",
            (
                (clock(t.at), t.get_from_state_display(), t.get_to_state_display(), t.reason)
                for t in transitions
            ),
        )
        link = reverse("admin:checker_checktransition_changelist") + f"?owner__id__exact={check.pk}"
        return format_html(
            "<table><thead><tr><th>When</th><th>Change</th><th>Why</th></tr></thead>"
            "<tbody>{}</tbody></table><p><a href='{}'>All state changes</a></p>",
            items,
            link,
        )

    @admin.display(description="response time")
    def response_time(self, check: Check) -> SafeString:
        links = format_html_join(
            " · ",
            "<a href='{}?range={}'>{}</a>",
            ((reverse("admin:checker_check_chart", args=[check.pk]), key, key) for key in RANGES),
        )
        chart = render_chart([check], DEFAULT_RANGE).content.decode()
        # Our own template, with every value escaped by the template engine.
        return format_html("{}<p>{}</p>", mark_safe(chart), links)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:pk>/response-time.svg",
                self.admin_site.admin_view(self.chart_view),
                name="checker_check_chart",
            ),
            *super().get_urls(),
        ]

    def chart_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        check = get_object_or_404(Check, pk=pk)
        if not self.has_view_permission(request, check):
            return HttpResponse(status=403)
        range_key = request.GET.get("range", DEFAULT_RANGE)
        response = render_chart([check], range_key if range_key in RANGES else DEFAULT_RANGE)
        response["Cache-Control"] = "private, max-age=60"
        return response

    @admin.action(description="Run the selected checks now", permissions=["change"])
    def run_now(self, request: HttpRequest, queryset: QuerySet[Check]) -> None:
        for check in queryset:
            services.check_run_soon(check=check)
        self.message_user(request, f"{queryset.count()} checks will run within a tick.")

    @admin.action(description="Pause the selected checks", permissions=["change"])
    def pause(self, request: HttpRequest, queryset: QuerySet[Check]) -> None:
        count = queryset.update(is_active=False)
        self.message_user(
            request,
            f"Paused {count} checks. Incidents they opened stay open until staff resolve them.",
            messages.WARNING,
        )

    @admin.action(description="Resume the selected checks", permissions=["change"])
    def resume(self, request: HttpRequest, queryset: QuerySet[Check]) -> None:
        count = queryset.update(is_active=True)
        for check in queryset:
            services.check_saved(check=check, probe_changed=True)
        self.message_user(request, f"Resumed {count} checks.")


@admin.register(CheckTransition)
class CheckTransitionAdmin(admin.ModelAdmin):
    """Every confirmed state change of every check: where flapping shows."""

    list_display = ("at", "owner", "from_state", "to_state", "reason")
    list_filter = ("to_state", "owner__kind")
    list_select_related = ("owner", "owner__component")
    date_hierarchy = "at"
    search_fields = ("owner__name", "owner__component__name", "reason")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(HostBackoff)
class HostBackoffAdmin(admin.ModelAdmin):
    """Hosts that asked the checker to slow down; delete a row to lift its backoff."""

    list_display = ("host", "until", "strikes", "reason")
    search_fields = ("host",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


def _endpoint(token: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("alerts_inbound_token", args=[token])


@admin.register(AlertIntegration)
class AlertIntegrationAdmin(admin.ModelAdmin):
    """An alerting system allowed to post alerts; its token is shown once, when issued."""

    list_display = ("name", "token_prefix", "is_active", "last_received_at", "rule_count")
    readonly_fields = ("token_prefix", "created_at", "last_received_at", "rule_list")
    fields = ("name", "is_active", "token_prefix", "created_at", "last_received_at", "rule_list")
    actions = ("issue_token",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[AlertIntegration]:
        return super().get_queryset(request).prefetch_related("rules")

    @admin.display(description="rules")
    def rule_count(self, integration: AlertIntegration) -> int:
        return len(integration.rules.all())

    @admin.display(description="rules")
    def rule_list(self, integration: AlertIntegration) -> SafeString:
        rules = list(integration.rules.all())
        add = reverse("admin:checker_alertrule_add") + f"?integration={integration.pk}"
        items = format_html_join(
            "",
            "<li><a href='{}'>{}</a></li>",
            ((reverse("admin:checker_alertrule_change", args=[r.pk]), r.name) for r in rules),
        )
        return format_html("<ul>{}</ul><p><a href='{}'>Add a rule</a></p>", items, add)

    def _show_token(self, request: HttpRequest, integration: AlertIntegration, token: str) -> None:
        self.message_user(
            request,
            format_html(
                "The token of “{}” is shown only now. Point the alerting system at {} "
                "(or at {} with the header Authorization: Bearer {}).",
                integration.name,
                _endpoint(token),
                settings.SITE_URL.rstrip("/") + reverse("alerts_inbound"),
                token,
            ),
            messages.WARNING,
        )

    def save_model(
        self,
        request: HttpRequest,
        obj: AlertIntegration,
        form: forms.ModelForm[AlertIntegration],
        change: bool,
    ) -> None:
        if not change:
            self._show_token(request, obj, alerts.integration_issue_token(integration=obj))
            return
        super().save_model(request, obj, form, change)
        if "is_active" in form.changed_data:
            for rule in obj.rules.all():
                alerts.alert_rule_sync(rule=rule)

    @admin.action(
        description="Issue a new token (the old one stops working)", permissions=["change"]
    )
    def issue_token(self, request: HttpRequest, queryset: QuerySet[AlertIntegration]) -> None:
        for integration in queryset:
            self._show_token(
                request, integration, alerts.integration_issue_token(integration=integration)
            )


class AlertRuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = (
            "integration",
            "name",
            "matchers",
            "components",
            "outage_status",
            "incident_mode",
            "is_active",
        )
        widgets = {"matchers": forms.Textarea(attrs={"rows": 4, "cols": 60})}

    def clean_matchers(self) -> str:
        text: str = self.cleaned_data["matchers"]
        try:
            alerts.parse_matchers(text)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None
        return text


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    """Label matchers to components: while a matching alert fires, the components take the
    rule's status (and an incident opens, if the rule says so) through the checker's automation."""

    form = AlertRuleForm
    list_display = (
        "name",
        "integration",
        "matchers",
        "outage_status",
        "incident_mode",
        "is_active",
    )
    list_filter = ("integration", "is_active", "outage_status")
    list_select_related = ("integration",)
    filter_horizontal = ("components",)
    readonly_fields = ("firing_now",)
    search_fields = ("name", "matchers")

    @admin.display(description="firing now")
    def firing_now(self, rule: AlertRule) -> SafeString:
        if rule.pk is None:
            return format_html("{}", "—")
        matchers = alerts.rule_matchers(rule)
        if matchers is None:
            return format_html("{}", "The matchers do not parse: this rule matches nothing.")
        firing = [
            alert
            for alert in ReceivedAlert.objects.filter(
                integration=rule.integration_id, status=AlertStatus.FIRING
            )
            if alerts.rule_matches(matchers, alert.labels)
        ]
        if not firing:
            return format_html("{}", "No matching alert fires.")
        return format_html_join(
            "", "<p>{} since {}</p>", ((str(alert), clock(alert.starts_at)) for alert in firing)
        )

    def save_related(
        self,
        request: HttpRequest,
        form: forms.ModelForm[AlertRule],
        formsets: list[forms.BaseFormSet],
        change: bool,
    ) -> None:
        super().save_related(request, form, formsets, change)
        alerts.alert_rule_sync(rule=form.instance)


@admin.register(ReceivedAlert)
class ReceivedAlertAdmin(admin.ModelAdmin):
    """The alerts the integrations sent, as last heard of (read only)."""

    list_display = ("__str__", "integration", "status", "starts_at", "ends_at", "received_at")
    list_filter = ("status", "integration")
    list_select_related = ("integration",)
    search_fields = ("fingerprint",)
    readonly_fields = (
        "integration",
        "fingerprint",
        "status",
        "labels",
        "starts_at",
        "ends_at",
        "received_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
