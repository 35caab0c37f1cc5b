"""Who may use the admin: staff only, and posting needs the change permission; CSRF everywhere."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from incidents.models import Incident
from tests.factories import make_component, make_incident, make_maintenance

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _plain_static_storage(settings) -> None:
    # The production storage needs a collectstatic manifest; pages under test need none.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def _incident_pages(incident: Incident) -> list[str]:
    return [
        reverse("admin:index"),
        reverse("admin:incidents_incident_changelist"),
        reverse("admin:incidents_incident_add"),
        reverse("admin:incidents_incident_backfill"),
        reverse("admin:incidents_incident_change", args=[incident.pk]),
        reverse("admin:incidents_incident_postmortem", args=[incident.pk]),
        reverse("admin:statuspage_component_changelist"),
    ]


def test_anonymous_visitors_are_sent_to_the_login(client: Client) -> None:
    incident = make_incident()
    for url in _incident_pages(incident):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url


def test_anonymous_posts_change_nothing(client: Client) -> None:
    incident = make_incident()
    response = client.post(
        reverse("admin:incidents_incident_change", args=[incident.pk]),
        {"status": "resolved", "body": "Fixed.", "impact": "major"},
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "investigating"


def test_a_user_who_is_not_staff_cannot_log_in(client: Client) -> None:
    User.objects.create_user("bob", "bob@example.com", "a-long-password")
    response = client.post(
        reverse("admin:login"), {"username": "bob", "password": "a-long-password"}
    )
    assert response.status_code == 200
    assert "staff account" in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302


def test_a_logged_in_user_who_is_not_staff_gets_no_admin_page(client: Client) -> None:
    incident = make_incident()
    client.force_login(User.objects.create_user("bob", "bob@example.com"))
    for url in _incident_pages(incident):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url


def test_staff_without_permissions_cannot_post_an_update(client: Client) -> None:
    api = make_component("API")
    incident = make_incident(components={api: "major_outage"})
    client.force_login(User.objects.create_user("carol", "carol@example.com", is_staff=True))
    url = reverse("admin:incidents_incident_change", args=[incident.pk])

    assert client.get(url).status_code == 403
    response = client.post(
        url,
        {
            "status": "resolved",
            "body": "Fixed.",
            "impact": "major",
            f"component_{api.pk}": "major_outage",
        },
    )
    assert response.status_code == 403
    incident.refresh_from_db()
    api.refresh_from_db()
    assert incident.status == "investigating"
    assert incident.updates.count() == 1
    assert api.status == "major_outage"


def test_staff_without_permissions_cannot_open_publish_or_write_postmortems(client: Client) -> None:
    incident = make_incident(is_draft=True)
    maintenance = make_maintenance()
    client.force_login(User.objects.create_user("carol", "carol@example.com", is_staff=True))
    assert client.post(reverse("admin:incidents_incident_add"), {"name": "X"}).status_code == 403
    assert client.post(reverse("admin:incidents_incident_backfill"), {}).status_code == 403
    assert (
        client.post(reverse("admin:incidents_incident_publish", args=[incident.pk])).status_code
        == 403
    )
    assert (
        client.post(
            reverse("admin:incidents_incident_postmortem", args=[incident.pk]),
            {"body": "Text", "_save": "1"},
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("admin:incidents_maintenance_change", args=[maintenance.pk]),
            {"status": "in_progress", "body": ""},
        ).status_code
        == 403
    )
    incident.refresh_from_db()
    maintenance.refresh_from_db()
    assert incident.is_draft
    assert incident.postmortem_body == ""
    assert maintenance.status == "scheduled"
    assert Incident.objects.count() == 2


def test_staff_with_view_permission_only_see_the_incident_without_the_form(client: Client) -> None:
    incident = make_incident()
    user = User.objects.create_user("dave", "dave@example.com", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_incident"))
    client.force_login(user)
    url = reverse("admin:incidents_incident_change", args=[incident.pk])

    page = client.get(url)
    assert page.status_code == 200
    assert "We are investigating elevated error rates." in page.content.decode()
    assert page.context["form"] is None
    assert (
        client.post(url, {"status": "resolved", "body": "Fixed.", "impact": "major"}).status_code
        == 403
    )
    incident.refresh_from_db()
    assert incident.status == "investigating"


def test_staff_with_the_change_permission_can_post_an_update(client: Client) -> None:
    incident = make_incident()
    user = User.objects.create_user("erin", "erin@example.com", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="change_incident"))
    client.force_login(user)
    response = client.post(
        reverse("admin:incidents_incident_change", args=[incident.pk]),
        {"status": "identified", "body": "Found it.", "impact": "major"},
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "identified"


def test_forms_without_the_csrf_token_are_refused() -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.create_superuser("alice", "alice@example.com"))
    incident = make_incident()
    response = client.post(
        reverse("admin:incidents_incident_change", args=[incident.pk]),
        {"status": "resolved", "body": "Fixed.", "impact": "major"},
    )
    assert response.status_code == 403
    incident.refresh_from_db()
    assert incident.status == "investigating"


def test_every_custom_form_carries_the_csrf_token(client: Client) -> None:
    client.force_login(User.objects.create_superuser("alice", "alice@example.com"))
    incident = make_incident(is_draft=True)
    maintenance = make_maintenance()
    for url in [
        reverse("admin:incidents_incident_add"),
        reverse("admin:incidents_incident_backfill"),
        reverse("admin:incidents_incident_change", args=[incident.pk]),
        reverse("admin:incidents_incident_postmortem", args=[incident.pk]),
        reverse("admin:incidents_maintenance_add"),
        reverse("admin:incidents_maintenance_change", args=[maintenance.pk]),
    ]:
        page = client.get(url).content.decode()
        posts = page.count('method="post"')
        assert posts >= 1, url
        # The logout form in the header has one too.
        assert page.count('name="csrfmiddlewaretoken"') == posts, url
