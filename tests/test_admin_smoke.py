"""Every registered admin's list, add and change pages render with data in the database."""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from checker import alerts
from checker.models import HostBackoff, Level
from incidents import services
from incidents.models import IncidentTemplate
from manage.keys import api_key_create
from statuspage.models import FooterLink, PageSettings
from tests.checker.alerting import make_integration, make_rule, recorded_payload
from tests.checker.factories import feed, make_check
from tests.factories import make_component, make_group, make_incident, make_maintenance
from tests.notifications.factories import make_subscriber, make_webhook
from tests.notifications.outbox import fan_out_pending

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _plain_static_storage(settings) -> None:
    # The production storage needs a collectstatic manifest; pages under test need none.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def _some_of_everything() -> None:
    core = make_group("Core")
    api = make_component("API", group=core)
    web = make_component("Web")
    open_incident = make_incident(components={api: "partial_outage"})
    services.incident_post_update(
        incident=open_incident,
        status="identified",
        body="Found the cause.",
        component_statuses={web: "degraded_performance"},
    )
    done = make_incident("Over", components={web: "major_outage"})
    services.incident_resolve(incident=done, body="Fixed.")
    services.incident_publish_postmortem(incident=done, body="## Why\n\nA bug.")
    make_incident("Draft", is_draft=True)
    running = make_maintenance(components=[api])
    services.maintenance_start(maintenance=running)
    make_maintenance("Later", components=[web])
    template = IncidentTemplate.objects.create(
        name="Provider", incident_name="Provider outage", body="Our provider is down."
    )
    template.components.add(api)
    Group.objects.create(name="Support")
    # Subscribers, their deliveries and events; a check with a state change; a backed-off host.
    make_subscriber("ada@example.com")
    make_webhook("https://hooks.example.com/status")
    fan_out_pending()
    check = make_check(web)
    now = timezone.now()
    for seconds in (0, 60, 120):
        feed(check, Level.DOWN, now + dt.timedelta(seconds=seconds))
    api_key_create(name="Deploys", owner=User.objects.create_user("deployer"))
    page = PageSettings.objects.create(name="Example")
    FooterLink.objects.create(page=page, label="Terms", url="https://example.com/terms")
    HostBackoff.objects.create(
        host="status.example.com", until=now + dt.timedelta(minutes=5), reason="429"
    )
    # An alert integration with a rule, and the alerts it sent.
    integration, _ = make_integration()
    make_rule(integration, [api])
    alerts.alerts_receive(
        integration=integration,
        alerts=alerts.parse_payload(recorded_payload("grafana_firing.json")),
    )
    # What the login lockout records: a counted failure, a failed try, a login.
    request = {"user_agent": "Firefox", "ip_address": "192.0.2.10", "path_info": "/admin/login/"}
    apps.get_model("axes", "AccessAttempt").objects.create(
        username="ada", get_data="", post_data="username=ada", failures_since_start=2, **request
    )
    apps.get_model("axes", "AccessFailureLog").objects.create(
        username="ada", locked_out=False, **request
    )
    apps.get_model("axes", "AccessLog").objects.create(username="ada", **request)


def test_every_admin_page_renders(client: Client) -> None:
    _some_of_everything()
    client.force_login(User.objects.create_superuser("alice", "alice@example.com"))
    assert client.get(reverse("admin:index")).status_code == 200
    checked = 0
    for model, model_admin in admin.site._registry.items():
        app_label = model._meta.app_label
        prefix = f"admin:{app_label}_{model._meta.model_name}"
        changelist = client.get(reverse(f"{prefix}_changelist"))
        assert changelist.status_code == 200, model
        assert len(changelist.context["cl"].result_list) >= 1, model
        assert client.get(reverse("admin:app_list", args=[app_label])).status_code == 200
        if model_admin.has_add_permission(changelist.wsgi_request):
            assert client.get(reverse(f"{prefix}_add")).status_code == 200, model
        for obj in model_admin.get_queryset(changelist.wsgi_request):
            assert client.get(reverse(f"{prefix}_change", args=[obj.pk])).status_code == 200
            assert client.get(reverse(f"{prefix}_history", args=[obj.pk])).status_code == 200
            checked += 1
    assert checked >= 10


def test_the_changelists_filter_and_sort(client: Client) -> None:
    _some_of_everything()
    client.force_login(User.objects.create_superuser("alice", "alice@example.com"))
    for url, expected in [
        (reverse("admin:incidents_incident_changelist") + "?status=postmortem", ["Over"]),
        (reverse("admin:incidents_incident_changelist") + "?is_draft__exact=1", ["Draft"]),
        (
            reverse("admin:incidents_maintenance_changelist") + "?status=in_progress",
            ["Database upgrade"],
        ),
        (
            reverse("admin:statuspage_component_changelist") + "?status__exact=under_maintenance",
            ["API"],
        ),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert [str(row) for row in response.context["cl"].result_list] == expected, url
    for url in [
        reverse("admin:incidents_incident_changelist") + "?o=2.-4",
        reverse("admin:incidents_maintenance_changelist") + "?o=6",
        reverse("admin:statuspage_component_changelist") + "?o=3",
        reverse("admin:statuspage_componentgroup_changelist") + "?o=5",
    ]:
        assert client.get(url).status_code == 200, url


def test_an_incident_page_links_to_its_email_preview(client: Client) -> None:
    incident = make_incident("Queue delays")
    client.force_login(User.objects.create_superuser("alice", "alice@example.com"))
    page = client.get(reverse("admin:incidents_incident_change", args=[incident.pk]))
    preview_url = reverse("admin:notifications_email_preview", args=[incident.pk])
    assert preview_url in page.content.decode()
    preview = client.get(preview_url)
    assert preview.status_code == 200
    assert "Queue delays" in preview.content.decode()
