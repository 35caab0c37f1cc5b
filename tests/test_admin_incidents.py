"""The incidents admin: opening, updating, previewing, resolving, drafts, templates, backfill."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident, IncidentTemplate, IncidentUpdate
from statuspage.models import ComponentStatusChange
from tests.factories import make_component, make_group, make_incident

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _plain_static_storage(settings) -> None:
    # The production storage needs a collectstatic manifest; pages under test need none.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def staff(client: Client) -> Client:
    user = User.objects.create_superuser("alice", "alice@example.com")
    client.force_login(user)
    return client


def _local(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


def _update_url(incident: Incident) -> str:
    return reverse("admin:incidents_incident_change", args=[incident.pk])


def test_it_opens_an_incident_and_sets_component_statuses(staff: Client) -> None:
    api = make_component("API", group=make_group("Core"))
    web = make_component("Web")
    response = staff.post(
        reverse("admin:incidents_incident_add"),
        {
            "name": "API errors",
            "impact": "major",
            "status": "investigating",
            "body": "We are looking into **errors**.",
            f"component_{api.pk}": "major_outage",
            f"component_{web.pk}": "",
            "deliver_notifications": "on",
        },
    )
    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _update_url(incident)
    assert incident.name == "API errors"
    assert incident.impact == "major"
    assert not incident.is_draft
    update = incident.updates.get()
    assert update.body == "We are looking into **errors**."
    assert update.deliver_notifications
    api.refresh_from_db()
    web.refresh_from_db()
    assert api.status == "major_outage"
    assert web.status == "operational"
    change = ComponentStatusChange.objects.get(component=api)
    assert (change.from_status, change.to_status) == ("operational", "major_outage")
    assert change.incident_public_id == incident.public_id


def test_it_opens_a_draft_without_notification_then_publishes_it(staff: Client) -> None:
    staff.post(
        reverse("admin:incidents_incident_add"),
        {
            "name": "Slow logins",
            "impact": "minor",
            "status": "identified",
            "body": "Slow.",
            "is_draft": "on",
        },
    )
    incident = Incident.objects.get()
    assert incident.is_draft
    assert incident.status == "identified"
    assert not incident.updates.get().deliver_notifications

    page = staff.get(_update_url(incident))
    assert "This incident is a draft" in page.content.decode()

    response = staff.post(reverse("admin:incidents_incident_publish", args=[incident.pk]))
    assert response.status_code == 302
    incident.refresh_from_db()
    assert not incident.is_draft


def test_it_does_not_publish_on_a_get(staff: Client) -> None:
    incident = make_incident(is_draft=True)
    response = staff.get(reverse("admin:incidents_incident_publish", args=[incident.pk]))
    assert response.status_code == 405
    incident.refresh_from_db()
    assert incident.is_draft


def test_it_shows_missing_fields_as_form_errors(staff: Client) -> None:
    response = staff.post(
        reverse("admin:incidents_incident_add"),
        {"name": "", "impact": "major", "status": "investigating"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors.keys() >= {"name", "body"}
    assert not Incident.objects.exists()


def test_it_prefills_the_new_incident_form_from_a_template(staff: Client) -> None:
    api = make_component("API")
    template = IncidentTemplate.objects.create(
        name="Provider down",
        incident_name="Our cloud provider is down",
        status="identified",
        impact="critical",
        body="Our provider has an outage.",
    )
    template.components.add(api)
    response = staff.get(reverse("admin:incidents_incident_add") + f"?template={template.pk}")
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["name"] == "Our cloud provider is down"
    assert form.initial["impact"] == "critical"
    assert form.initial[f"component_{api.pk}"] == "partial_outage"
    assert "Our provider has an outage." in response.content.decode()


def test_it_opens_an_incident_from_a_template(staff: Client) -> None:
    api = make_component("API")
    template = IncidentTemplate.objects.create(
        name="Provider down", incident_name="Provider outage", body="Our provider is down."
    )
    template.components.add(api)
    initial = (
        staff.get(reverse("admin:incidents_incident_add") + f"?template={template.pk}")
        .context["form"]
        .initial
    )
    response = staff.post(reverse("admin:incidents_incident_add"), initial)
    assert response.status_code == 302
    incident = Incident.objects.get()
    assert incident.name == "Provider outage"
    assert incident.updates.get().body == "Our provider is down."
    api.refresh_from_db()
    assert api.status == "partial_outage"


def test_it_posts_an_update_that_changes_component_statuses(staff: Client) -> None:
    api = make_component("API")
    incident = make_incident(components={api: "major_outage"})
    response = staff.post(
        _update_url(incident),
        {
            "status": "identified",
            "body": "The cause is a _bad deploy_.",
            "impact": "major",
            f"component_{api.pk}": "partial_outage",
            "deliver_notifications": "on",
            "_post": "Post the update",
        },
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "identified"
    api.refresh_from_db()
    assert api.status == "partial_outage"
    latest = incident.updates.latest("display_at", "id")
    assert latest.status == "identified"
    assert [(c.old_status, c.new_status) for c in latest.component_changes.all()] == [
        ("major_outage", "partial_outage")
    ]

    page = staff.get(_update_url(incident)).content.decode()
    assert "The cause is a <em>bad deploy</em>." in page
    # Newest first in the timeline.
    assert page.index("bad deploy") < page.index("We are investigating elevated error rates.")


def test_an_update_records_only_the_component_statuses_that_changed(staff: Client) -> None:
    api = make_component("API")
    web = make_component("Web")
    incident = make_incident(components={api: "major_outage", web: "degraded_performance"})
    staff.post(
        _update_url(incident),
        {
            "status": "monitoring",
            "body": "A fix is out.",
            "impact": "major",
            f"component_{api.pk}": "major_outage",
            f"component_{web.pk}": "operational",
        },
    )
    latest = incident.updates.latest("display_at", "id")
    assert [c.component for c in latest.component_changes.all()] == [web]
    assert not latest.deliver_notifications


def test_an_update_can_add_another_component(staff: Client) -> None:
    api = make_component("API")
    web = make_component("Web")
    incident = make_incident(components={api: "major_outage"})
    staff.post(
        _update_url(incident),
        {
            "status": "investigating",
            "body": "The website is affected too.",
            "impact": "major",
            f"component_{api.pk}": "major_outage",
            f"component_{web.pk}": "degraded_performance",
        },
    )
    assert set(incident.components.all()) == {api, web}
    web.refresh_from_db()
    assert web.status == "degraded_performance"


def test_an_update_can_change_the_impact(staff: Client) -> None:
    incident = make_incident(impact="minor")
    staff.post(
        _update_url(incident), {"status": "identified", "body": "Worse.", "impact": "critical"}
    )
    incident.refresh_from_db()
    assert incident.impact == "critical"


def test_the_preview_renders_the_message_and_saves_nothing(staff: Client) -> None:
    api = make_component("API")
    incident = make_incident(components={api: "major_outage"})
    response = staff.post(
        _update_url(incident),
        {
            "status": "resolved",
            "body": "All **fixed** <script>alert(1)</script>",
            "impact": "major",
            f"component_{api.pk}": "major_outage",
            "_preview": "Preview the message",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "All <strong>fixed</strong>" in page
    assert "<script>alert(1)</script>" not in page
    # The form comes back with what was typed.
    assert "All **fixed**" in page
    incident.refresh_from_db()
    assert incident.status == "investigating"
    assert incident.updates.count() == 1
    api.refresh_from_db()
    assert api.status == "major_outage"


def test_the_preview_on_the_new_incident_form_saves_nothing(staff: Client) -> None:
    response = staff.post(
        reverse("admin:incidents_incident_add"),
        {
            "name": "X",
            "impact": "minor",
            "status": "investigating",
            "body": "# Heading",
            "_preview": "1",
        },
    )
    assert response.status_code == 200
    assert "<h1>Heading</h1>" in response.content.decode()
    assert not Incident.objects.exists()


def test_it_resolves_an_incident_and_releases_the_components(staff: Client) -> None:
    api = make_component("API")
    incident = make_incident(components={api: "major_outage"})
    response = staff.post(
        _update_url(incident),
        {
            "status": "resolved",
            "body": "Fixed.",
            "impact": "major",
            f"component_{api.pk}": "major_outage",
        },
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert incident.resolved_at is not None
    api.refresh_from_db()
    assert api.status == "operational"
    assert list(api.status_changes.values_list("to_status", flat=True)) == [
        "major_outage",
        "operational",
    ]


def test_a_service_error_comes_back_as_a_form_error(staff: Client) -> None:
    incident = make_incident()
    response = staff.post(
        _update_url(incident), {"status": "identified", "body": "   ", "impact": "major"}
    )
    assert response.status_code == 200
    assert "An update needs a message." in response.content.decode()
    assert incident.updates.count() == 1


def test_it_backfills_a_past_incident(staff: Client) -> None:
    api = make_component("API")
    started = timezone.now() - dt.timedelta(days=3, hours=2)
    resolved = started + dt.timedelta(hours=1)
    response = staff.post(
        reverse("admin:incidents_incident_backfill"),
        {
            "name": "Outage last week",
            "impact": "major",
            "started_at": _local(started),
            "resolved_at": _local(resolved),
            "body": "The API was down for an hour.",
            f"component_{api.pk}": "major_outage",
        },
    )
    assert response.status_code == 302
    incident = Incident.objects.get()
    assert incident.backfilled
    assert incident.status == "resolved"
    assert incident.resolved_at is not None
    assert incident.resolved_at - incident.started_at == dt.timedelta(hours=1)
    api.refresh_from_db()
    assert api.status == "operational"
    assert api.status_changes.filter(to_status="major_outage").exists()


def test_a_backfill_that_ends_before_it_starts_is_refused(staff: Client) -> None:
    started = timezone.now() - dt.timedelta(days=1)
    response = staff.post(
        reverse("admin:incidents_incident_backfill"),
        {
            "name": "Backwards",
            "impact": "minor",
            "started_at": _local(started),
            "resolved_at": _local(started - dt.timedelta(hours=1)),
            "body": "Oops.",
        },
    )
    assert response.status_code == 200
    assert "must end after it starts" in response.content.decode()
    assert not Incident.objects.exists()


def test_the_changelist_finds_incidents_by_the_text_of_their_updates(staff: Client) -> None:
    make_incident("Disk full", body="The volume ran out of inodes.")
    make_incident("Network", body="A router failed.")
    response = staff.get(reverse("admin:incidents_incident_changelist") + "?q=inodes")
    assert [i.name for i in response.context["cl"].result_list] == ["Disk full"]


def test_the_incident_list_leaves_out_maintenances(staff: Client) -> None:
    from tests.factories import make_maintenance

    make_incident("Real incident")
    maintenance = make_maintenance("Upgrade")
    response = staff.get(reverse("admin:incidents_incident_changelist"))
    assert [i.name for i in response.context["cl"].result_list] == ["Real incident"]
    # And a maintenance is not reachable as an incident.
    response = staff.get(_update_url(maintenance))
    assert response.status_code == 302
    assert IncidentUpdate.objects.filter(incident=maintenance).count() == 1


def test_staff_delete_an_incident_posted_by_mistake_after_confirming(staff: Client) -> None:
    from notifications.models import Delivery
    from tests.notifications.factories import make_subscriber
    from tests.notifications.outbox import fan_out_pending

    api = make_component("API")
    make_subscriber("ada@example.com")
    incident = make_incident("Test incident, please ignore", components={api: "major_outage"})
    fan_out_pending()
    url = reverse("admin:incidents_incident_delete", args=[incident.pk])
    assert url in staff.get(_update_url(incident)).content.decode()

    page = staff.get(url).content.decode()
    assert "Delete <strong>Test incident, please ignore</strong> for good?" in page
    assert "Its 1 update leaves the page, the API and the feeds." in page
    assert "Its 2 notification events and 1 delivery are deleted" in page
    assert "never sent" in page  # the delivery is still pending
    assert Incident.objects.filter(pk=incident.pk).exists()

    response = staff.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:incidents_incident_changelist")
    assert not Incident.objects.filter(pk=incident.pk).exists()
    assert not Delivery.objects.exists()
    api.refresh_from_db()
    assert api.status == "operational"
    assert "Test incident" not in Client().get("/").content.decode()


def test_incidents_are_deleted_one_at_a_time_and_only_with_the_permission(
    staff: Client, client: Client, django_user_model
) -> None:
    from django.contrib.auth.models import Permission

    incident = make_incident()
    changelist = staff.get(reverse("admin:incidents_incident_changelist")).content.decode()
    assert "delete_selected" not in changelist

    editor = django_user_model.objects.create_user("ed", "ed@example.com", "pw", is_staff=True)
    editor.user_permissions.add(Permission.objects.get(codename="change_incident"))
    client.force_login(editor)
    url = reverse("admin:incidents_incident_delete", args=[incident.pk])
    assert url not in client.get(_update_url(incident)).content.decode()
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert Incident.objects.filter(pk=incident.pk).exists()


def test_the_status_history_links_back_to_the_incident(staff: Client) -> None:
    api = make_component("API")
    incident = make_incident(components={api: "major_outage"})
    url = reverse("admin:incidents_incident_by_public_id", args=[incident.public_id])
    page = staff.get(reverse("admin:statuspage_component_change", args=[api.pk])).content.decode()
    assert url in page
    response = staff.get(url)
    assert response["Location"] == _update_url(incident)


def test_staff_can_rename_an_incident_and_change_its_impact(client, django_user_model):
    from django.urls import reverse

    from tests.factories import make_incident

    staff = django_user_model.objects.create_superuser("edith", "edith@example.com", "pw")
    client.force_login(staff)
    incident = make_incident("Eror rates", impact="minor")
    url = reverse("admin:incidents_incident_edit", args=[incident.pk])
    change_page = client.get(reverse("admin:incidents_incident_change", args=[incident.pk]))
    assert url in change_page.content.decode()
    assert client.get(url).status_code == 200

    response = client.post(url, {"name": "Error rates", "impact": "critical"})

    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.name, incident.impact) == ("Error rates", "critical")
    refused = client.post(url, {"name": "  ", "impact": "critical"})
    assert refused.status_code == 200
    incident.refresh_from_db()
    assert incident.name == "Error rates"


def test_a_user_without_change_permission_cannot_rename(client, django_user_model):
    from django.contrib.auth.models import Permission
    from django.urls import reverse

    from tests.factories import make_incident

    viewer = django_user_model.objects.create_user("vic", "vic@example.com", "pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_incident"))
    client.force_login(viewer)
    incident = make_incident("Queue delays")
    url = reverse("admin:incidents_incident_edit", args=[incident.pk])
    assert client.post(url, {"name": "Hacked", "impact": "none"}).status_code == 403
    incident.refresh_from_db()
    assert incident.name == "Queue delays"
