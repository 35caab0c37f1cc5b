"""What staff meet in the admin during an incident: the home page, one email preview, the
incident list's columns, groups with their components, templates, and their own time zone."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.models import Incident, IncidentTemplate
from statuspage.models import Component, ComponentGroup, StaffPreference
from tests.factories import make_component, make_group, make_incident, make_maintenance

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice() -> User:
    return User.objects.create_superuser("alice", "alice@example.com")


@pytest.fixture
def staff(client: Client, alice: User) -> Client:
    client.force_login(alice)
    return client


# The home page (item 4)


def test_the_home_page_starts_with_what_is_open_and_what_is_down(staff: Client) -> None:
    api = make_component("API", group=make_group("Core"))
    make_component("Website")
    incident = make_incident("Elevated API errors", components={api: "major_outage"})
    services.incident_post_update(
        incident=incident, status="identified", body="A bad deploy; rolling back."
    )
    running = make_maintenance("Database upgrade", starts_in=dt.timedelta(minutes=-5))
    services.maintenance_post_update(
        maintenance=running, status="in_progress", body="Started.", deliver_notifications=False
    )
    html = staff.get(reverse("admin:index")).content.decode()
    home = html[: html.index('id="content-main"')]
    assert "Elevated API errors" in home
    assert "A bad deploy; rolling back." in home
    assert "Database upgrade" in home
    assert "Core / API" in home and "Major outage" in home
    assert "Website" not in home
    update_url = reverse("admin:incidents_incident_change", args=[incident.pk]) + "#update-form"
    assert f'href="{update_url}">Post an update</a>' in home
    # The open incident comes before the stock list of sections.
    assert html.index("Elevated API errors") < html.index("Authentication and Authorization")


def test_a_quiet_home_page_says_so(staff: Client) -> None:
    make_component("API")
    html = staff.get(reverse("admin:index")).content.decode()
    assert "No open incident and no maintenance running." in html
    assert "Every component is operational." in html


# One email preview (item 3)


def test_an_incident_page_has_one_email_preview_and_it_previews_the_update_being_written(
    staff: Client,
) -> None:
    incident = make_incident()
    html = staff.get(reverse("admin:incidents_incident_change", args=[incident.pk])).content
    page = html.decode()
    assert len(re.findall(r"Preview the email", page)) == 1
    preview_url = reverse("admin:notifications_email_preview", args=[incident.pk])
    assert re.search(
        rf'<input type="submit" name="_preview_email" value="Preview the email of this update" '
        rf'formaction="{re.escape(preview_url)}"',
        page,
    )


# The incident list (item 7)


def test_the_incident_list_shows_short_dates_and_how_long_it_lasted(staff: Client) -> None:
    incident = make_incident("Elevated API errors")
    services.incident_post_update(incident=incident, status="resolved", body="Fixed.")
    incident.refresh_from_db()
    html = staff.get(reverse("admin:incidents_incident_changelist")).content.decode()
    started = timezone.localtime(incident.started_at)
    assert f"{started.day} {started:%b %Y, %H:%M}" in html
    assert '<td class="field-duration">' in html


# Groups and their components (item 5)


def test_a_new_group_goes_last(staff: Client) -> None:
    make_group("Core", position=3)
    response = staff.get(reverse("admin:statuspage_componentgroup_add"))
    assert response.context["adminform"].form.initial["position"] == "4"


def _group_form(**fields: str) -> dict[str, str]:
    data = {
        "name": "Payments",
        "description": "",
        "position": "5",
        "is_public": "on",
        "components-TOTAL_FORMS": "0",
        "components-INITIAL_FORMS": "0",
    }
    data.update(fields)
    return data


def test_a_group_takes_its_components_and_their_order_in_one_place(staff: Client) -> None:
    cards = make_component("Cards", position=0)
    invoices = make_component("Invoices", group=make_group("Billing"), position=0)
    response = staff.post(
        reverse("admin:statuspage_componentgroup_add"),
        {
            **_group_form(),
            "add_components": [str(invoices.pk), str(cards.pk)],
            "components-TOTAL_FORMS": "1",
            "components-0-name": "Refunds",
            "components-0-position": "0",
            "components-0-is_public": "on",
            "components-0-showcase": "on",
        },
    )
    assert response.status_code == 302
    group = ComponentGroup.objects.get(name="Payments")
    assert [c.name for c in group.components.order_by("position", "name")] == [
        "Refunds",
        "Cards",
        "Invoices",
    ]
    # Renumbered in the same page.
    ids = {c.name: c.pk for c in group.components.all()}
    rows = [("Refunds", "9"), ("Cards", "1"), ("Invoices", "2")]
    data = _group_form(**{"components-TOTAL_FORMS": "3", "components-INITIAL_FORMS": "3"})
    for index, (name, position) in enumerate(rows):
        data |= {
            f"components-{index}-id": str(ids[name]),
            f"components-{index}-group": str(group.pk),
            f"components-{index}-name": name,
            f"components-{index}-position": position,
            f"components-{index}-is_public": "on",
            f"components-{index}-showcase": "on",
        }
    response = staff.post(reverse("admin:statuspage_componentgroup_change", args=[group.pk]), data)
    assert response.status_code == 302
    assert [c.name for c in group.components.order_by("position")] == [
        "Cards",
        "Invoices",
        "Refunds",
    ]


def test_renumbering_components_keeps_a_status_set_meanwhile(staff: Client) -> None:
    group = make_group("Core")
    api = make_component("API", group=group)
    page = staff.get(reverse("admin:statuspage_componentgroup_change", args=[group.pk]))
    assert page.status_code == 200
    make_incident(components={api: "major_outage"})
    data = _group_form(
        name="Core",
        **{
            "components-TOTAL_FORMS": "1",
            "components-INITIAL_FORMS": "1",
            "components-0-id": str(api.pk),
            "components-0-group": str(group.pk),
            "components-0-name": "API",
            "components-0-position": "7",
            "components-0-is_public": "on",
            "components-0-showcase": "on",
        },
    )
    assert staff.post(page.wsgi_request.path, data).status_code == 302
    api.refresh_from_db()
    assert (api.position, api.status) == (7, "major_outage")


# Templates (item 8)


def test_a_template_sets_only_the_components_it_names(staff: Client) -> None:
    group = make_group("Core")
    api, web, jobs = (make_component(name, group=group) for name in ("API", "Web", "Jobs"))
    template = IncidentTemplate.objects.create(
        name="API down", incident_name="API unavailable", body="The API is down.", impact="major"
    )
    template.components.add(api)
    response = staff.post(
        reverse("admin:incidents_incident_add"),
        {
            "template": str(template.pk),
            "_template": "Fill in from the template",
            "name": "",
            "impact": "minor",
            "status": "investigating",
            "body": "",
            f"component_{web.pk}": "degraded_performance",
            f"component_{jobs.pk}": "",
            "deliver_notifications": "on",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert not form.is_bound
    assert form.initial["name"] == "API unavailable"
    assert form.initial[f"component_{api.pk}"] == "partial_outage"
    # What the template does not name stays as chosen.
    assert form.initial[f"component_{web.pk}"] == "degraded_performance"
    assert form.initial[f"component_{jobs.pk}"] == ""
    assert not Incident.objects.exists()


# Time zones (item 6)


def test_staff_pick_their_time_zone_and_type_local_times(staff: Client, alice: User) -> None:
    response = staff.post(
        reverse("admin:time_zone"), {"time_zone": "Asia/Tokyo", "next": "/admin/"}
    )
    assert response.status_code == 302
    assert StaffPreference.objects.get(user=alice).time_zone == "Asia/Tokyo"
    html = staff.get(reverse("admin:index")).content.decode()
    assert "Time zone: Asia/Tokyo" in html
    # A maintenance typed in Tokyo time is stored as that moment.
    api = make_component("API")
    page = staff.get(reverse("admin:incidents_maintenance_add"))
    assert "In your time zone (Asia/Tokyo)." in page.content.decode()
    response = staff.post(
        reverse("admin:incidents_maintenance_add"),
        {
            "name": "Network upgrade",
            "body": "We upgrade the routers.",
            "scheduled_for": "2030-03-01T09:00",
            "scheduled_until": "2030-03-01T10:00",
            "components": [str(api.pk)],
        },
    )
    assert response.status_code == 302
    maintenance = Incident.objects.get(name="Network upgrade")
    assert maintenance.scheduled_for == dt.datetime(2030, 3, 1, 0, 0, tzinfo=dt.UTC)


def test_the_time_zone_is_remembered_in_a_new_session(client: Client, alice: User) -> None:
    StaffPreference.objects.create(user=alice, time_zone="America/New_York")
    client.force_login(alice)
    assert "Time zone: America/New_York" in client.get(reverse("admin:index")).content.decode()


def test_public_pages_keep_the_page_time_zone(client: Client, alice: User) -> None:
    StaffPreference.objects.create(user=alice, time_zone="Asia/Tokyo")
    client.force_login(alice)
    make_component("API")
    html = client.get("/").content.decode()
    assert "Asia/Tokyo" not in html


def test_an_unknown_time_zone_is_refused(staff: Client) -> None:
    response = staff.post(reverse("admin:time_zone"), {"time_zone": "Mars/Olympus"})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not StaffPreference.objects.exists()
    assert Component.objects.count() == 0


def test_the_home_page_shows_only_what_the_staff_member_may_see(client: Client) -> None:
    api = make_component("API")
    make_incident("Elevated API errors", components={api: "major_outage"})
    viewer = User.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_component"))
    client.force_login(viewer)
    html = client.get(reverse("admin:index")).content.decode()
    assert "Elevated API errors" not in html
    assert "Open an incident" not in html
    assert "Major outage" in html
