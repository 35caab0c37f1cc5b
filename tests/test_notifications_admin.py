"""The staff's view of notifications: counts per event, each subscriber's history, resending,
CSV import and export, adding webhooks, and the email preview."""

import csv
import html
import io
import re

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from incidents import services as incident_services
from incidents.models import OutboxEvent
from notifications.models import Delivery, DeliveryStatus, Notice, Subscriber, SubscriberKind
from tests.factories import make_component, make_incident, make_maintenance
from tests.notifications.factories import make_subscriber
from tests.notifications.outbox import deliver_everything, fan_out_pending

pytest_plugins = ["tests.notifications.plugin"]
pytestmark = pytest.mark.django_db

SUBSCRIBERS = "/admin/notifications/subscriber/"


def import_csv(admin_client, text: str, *, confirmed: bool = False):
    upload = SimpleUploadedFile("subscribers.csv", text.encode(), content_type="text/csv")
    data = {"file": upload, **({"confirmed": "on"} if confirmed else {})}
    return admin_client.post(f"{SUBSCRIBERS}import/", data, follow=True)


def test_it_shows_per_event_how_many_deliveries_are_pending_sent_and_failed(
    admin_client, smtp_sink
):
    for n in range(3):
        make_subscriber(f"ok{n}@example.com")
    make_subscriber("gone@example.com")
    make_subscriber("later@example.com")
    smtp_sink.refuse["gone@example.com"] = "550 No such user"
    make_incident("Elevated API errors")
    fan_out_pending()
    Delivery.objects.filter(subscriber__email="gone@example.com").update(attempts=5)
    Delivery.objects.filter(subscriber__email="later@example.com").update(
        next_attempt_at="2999-01-01T00:00:00Z"
    )
    deliver_everything()

    page = admin_client.get("/admin/notifications/notificationevent/").content.decode()
    event = OutboxEvent.objects.get()
    counts = {
        column: int(value)
        for column, value in re.findall(
            r'<td class="field-(pending|sent|failed|cancelled)">(?:<a href="[^"]*">)?(\d+)', page
        )
    }
    assert counts == {"pending": 1, "sent": 3, "failed": 1, "cancelled": 0}
    assert "Elevated API errors" in page
    assert f"?event__id__exact={event.pk}&amp;status__exact=failed" in page


def test_it_shows_a_subscribers_deliveries_with_their_errors(admin_client, smtp_sink):
    subscriber = make_subscriber("gone@example.com")
    smtp_sink.refuse["gone@example.com"] = "550 5.1.1 Mailbox does not exist"
    make_incident("Elevated API errors")
    deliver_everything()
    page = admin_client.get(f"{SUBSCRIBERS}{subscriber.pk}/change/").content.decode()
    assert "Incident created: Elevated API errors" in page
    assert "550 5.1.1 Mailbox does not exist" in page
    assert "All deliveries of this subscriber" in page


def test_it_resends_failed_deliveries_and_leaves_sent_ones(admin_client, smtp_sink):
    make_subscriber("ok@example.com")
    make_subscriber("gone@example.com")
    smtp_sink.refuse["gone@example.com"] = "550 No such user"
    make_incident()
    fan_out_pending()
    Delivery.objects.filter(subscriber__email="gone@example.com").update(attempts=5)
    deliver_everything()
    failed = Delivery.objects.get(status=DeliveryStatus.FAILED)

    response = admin_client.post(
        "/admin/notifications/delivery/",
        {
            "action": "resend",
            "_selected_action": list(Delivery.objects.values_list("pk", flat=True)),
        },
        follow=True,
    )
    assert "1 failed or cancelled deliveries queued again." in response.content.decode()
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (DeliveryStatus.PENDING, 0)

    del smtp_sink.refuse["gone@example.com"]
    deliver_everything()
    assert smtp_sink.counts() == {"ok@example.com": 1, "gone@example.com": 1}


def test_it_lets_staff_add_a_webhook_that_is_active_at_once(admin_client):
    api = make_component("API")
    response = admin_client.post(
        f"{SUBSCRIBERS}add/", {"url": "https://hooks.example.com/status", "components": [api.pk]}
    )
    assert response.status_code == 302
    hook = Subscriber.objects.get()
    assert hook.kind == SubscriberKind.WEBHOOK
    assert hook.is_active
    assert len(hook.secret) == 64
    assert list(hook.components.all()) == [api]
    page = admin_client.get(f"{SUBSCRIBERS}{hook.pk}/change/").content.decode()
    assert hook.secret in page


def test_it_exports_one_line_per_subscriber(admin_client):
    api, web = make_component("API"), make_component("Web")
    make_subscriber("ada@example.com", components=[api, web])
    make_subscriber("bob@example.com")
    response = admin_client.post(
        SUBSCRIBERS,
        {
            "action": "export_csv",
            "_selected_action": list(Subscriber.objects.values_list("pk", flat=True)),
        },
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["email"], r["components"], r["state"]) for r in rows] == [
        ("ada@example.com", "API; Web", "active"),
        ("bob@example.com", "", "active"),
    ]


def test_it_imports_an_exported_file_again(admin_client):
    api = make_component("API")
    make_subscriber("ada@example.com", components=[api])
    exported = admin_client.post(
        SUBSCRIBERS, {"action": "export_csv", "_selected_action": [Subscriber.objects.get().pk]}
    ).content.decode()
    Subscriber.objects.all().delete()
    response = import_csv(admin_client, exported, confirmed=True)
    assert "Imported 1 subscribers" in response.content.decode()
    imported = Subscriber.objects.get()
    assert imported.is_active
    assert list(imported.components.all()) == [api]


def test_it_asks_each_imported_address_to_confirm_unless_told_otherwise(admin_client):
    make_subscriber("known@example.com")
    response = import_csv(admin_client, "email\nnew@example.com\nKNOWN@example.com\n")
    assert "Imported 1 subscribers; 1 were already there" in response.content.decode()
    new = Subscriber.objects.get(email="new@example.com")
    assert not new.is_active
    assert new.notice == Notice.CONFIRM


def test_it_imports_nothing_from_a_file_with_bad_lines_and_says_which(admin_client):
    make_component("API")
    text = (
        "email,components\n"
        "good@example.com,API\n"
        "not-an-address,\n"
        ",API\n"
        "ok@example.com,API; Teleporter\n"
    )
    response = import_csv(admin_client, text, confirmed=True)
    page = response.content.decode()
    assert "Line 3: &quot;not-an-address&quot; is not a valid email address." in page
    assert "Line 4: the email address is missing." in page
    assert "Line 5: there is no component called &quot;Teleporter&quot;." in page
    assert not Subscriber.objects.exists()


def test_it_refuses_a_file_without_an_email_column(admin_client):
    page = import_csv(admin_client, "address\nada@example.com\n").content.decode()
    assert "one of them must be &quot;email&quot;" in page
    assert not Subscriber.objects.exists()


def test_it_previews_subject_text_and_html_of_the_latest_update(admin_client):
    api = make_component("API")
    make_component("Internal", is_public=False)
    incident = make_incident(
        "Elevated API errors in the US data center", components={api: "major_outage"}
    )
    incident_services.incident_post_update(
        incident=incident, status="monitoring", body="A fix is **rolling out**."
    )
    response = admin_client.get(f"/admin/notifications/notificationevent/preview/{incident.pk}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "[Monitoring] Elevated API errors in the US data center" in page
    assert "A fix is **rolling out**." in page
    assert (
        "A fix is &lt;strong&gt;rolling out&lt;/strong&gt;." in page
    )  # inside the iframe's srcdoc
    assert "List-Unsubscribe-Post" in page
    assert "Internal" not in page


def test_it_previews_a_maintenance(admin_client):
    maintenance = make_maintenance("Database upgrade")
    page = admin_client.get(f"/admin/notifications/notificationevent/preview/{maintenance.pk}/")
    assert "[Scheduled maintenance] Database upgrade" in page.content.decode()


def test_it_previews_the_email_of_an_update_before_it_is_posted(admin_client):
    api, web = make_component("API"), make_component("Web")
    make_component("Internal", is_public=False)
    incident = make_incident("Elevated API errors", components={api: "major_outage"})
    detail = admin_client.get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()
    preview_url = f"/admin/notifications/notificationevent/preview/{incident.pk}/"
    assert f'formaction="{preview_url}"' in detail  # the update form's "Preview the email"
    events = OutboxEvent.objects.count()

    response = admin_client.post(
        preview_url,
        {
            "status": "identified",
            "body": "A bad **deploy**; rolling back.",
            f"component_{api.pk}": "partial_outage",
            f"component_{web.pk}": "degraded_performance",
            "impact": "major",
            "deliver_notifications": "on",
        },
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "[Identified] Elevated API errors" in page
    assert "A bad **deploy**; rolling back." in page
    assert "API: Major outage -&gt; Partial outage" in page
    assert "Web: Operational -&gt; Degraded performance" in page
    assert "Nothing has been saved or sent." in page
    assert incident.updates.count() == 1 and OutboxEvent.objects.count() == events


def test_it_previews_a_resolution_and_a_maintenance_start_with_their_changes(admin_client):
    db = make_component("Database")
    incident = make_incident("Replication lag", components={db: "degraded_performance"})
    page = admin_client.post(
        f"/admin/notifications/notificationevent/preview/{incident.pk}/",
        {"status": "resolved", "body": "All caught up.", "impact": "minor"},
    ).content.decode()
    assert "[Resolved] Replication lag" in page
    assert "Database: Degraded performance -&gt; Operational" in page

    incident_services.incident_resolve(incident=incident, body="Done.")
    maintenance = make_maintenance("Database upgrade", components=[db])
    page = admin_client.post(
        f"/admin/notifications/notificationevent/preview/{maintenance.pk}/",
        {"status": "in_progress", "body": ""},
    ).content.decode()
    assert "[Maintenance in progress] Database upgrade" in page
    assert "The scheduled maintenance is now in progress." in page
    assert "Database: Operational -&gt; Under maintenance" in page


def email_text(page: str) -> str:
    match = re.search(r'<pre id="preview-text"[^>]*>(.*?)</pre>', page, re.S)
    assert match is not None
    return html.unescape(match.group(1))


def preview_then_post(admin_client, incident, data: dict[str, str]) -> tuple[str, str]:
    """The email previewed from the update form, and the email of the update once posted with
    the same form, at the same frozen moment."""
    preview_url = f"/admin/notifications/notificationevent/preview/{incident.pk}/"
    admin_url = "maintenance" if incident.is_maintenance else "incident"
    with time_machine.travel(timezone.now(), tick=False):
        previewed = email_text(admin_client.post(preview_url, data).content.decode())
        posted = admin_client.post(f"/admin/incidents/{admin_url}/{incident.pk}/change/", data)
        assert posted.status_code == 302
        sent = email_text(admin_client.get(preview_url).content.decode())
    return previewed, sent


def test_the_preview_of_a_resolution_is_the_email_sent_when_another_incident_holds_a_component(
    admin_client,
):
    api, web = make_component("API"), make_component("Web")
    make_incident("Slow responses", components={api: "degraded_performance"})
    errors = make_incident("Errors", components={api: "major_outage", web: "partial_outage"})

    previewed, sent = preview_then_post(
        admin_client, errors, {"status": "resolved", "body": "Errors fixed.", "impact": "major"}
    )

    assert previewed == sent
    assert "API: Major outage -> Degraded performance" in previewed
    assert "Web: Partial outage -> Operational" in previewed
    assert "- API (Degraded performance)" in previewed
    assert "Status: Resolved" in previewed


def test_the_preview_of_an_update_adding_a_component_is_the_email_sent(admin_client):
    api, web = make_component("API"), make_component("Web")
    incident = make_incident("Errors", components={api: "major_outage"})

    previewed, sent = preview_then_post(
        admin_client,
        incident,
        {
            "status": "identified",
            "body": "The web app is affected too.",
            "impact": "critical",
            f"component_{web.pk}": "partial_outage",
            "deliver_notifications": "on",
        },
    )

    assert previewed == sent
    assert "Web: Operational -> Partial outage" in previewed
    assert "- Web (Partial outage)" in previewed and "- API (Major outage)" in previewed
    assert "Impact: Critical" in previewed


def test_the_preview_of_a_maintenance_start_is_the_email_sent(admin_client):
    db = make_component("Database")
    maintenance = make_maintenance(components=[db])

    previewed, sent = preview_then_post(
        admin_client, maintenance, {"status": "in_progress", "body": ""}
    )

    assert previewed == sent
    assert "Database: Operational -> Under maintenance" in previewed


def test_it_says_what_is_wrong_when_the_update_form_is_incomplete(admin_client):
    incident = make_incident("Elevated API errors")
    response = admin_client.post(
        f"/admin/notifications/notificationevent/preview/{incident.pk}/",
        {"status": "identified", "body": "", "impact": "minor"},
    )
    page = response.content.decode()
    assert 'id="preview-errors"' in page
    assert "Message: This field is required." in page


def test_it_shows_the_preview_to_staff_only(client):
    incident = make_incident()
    response = client.get(f"/admin/notifications/notificationevent/preview/{incident.pk}/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_it_lets_only_staff_who_may_change_deliveries_resend(client, django_user_model):
    make_subscriber("ada@example.com")
    make_incident()
    fan_out_pending()
    viewer = django_user_model.objects.create_user("viewer", password="unused", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_delivery"))
    client.force_login(viewer)
    page = client.get("/admin/notifications/delivery/").content.decode()
    assert "ada@example.com" in page
    assert 'value="resend"' not in page


def test_it_imports_nothing_when_an_address_cannot_get_public_mail(admin_client):
    text = "email\ngood@example.com\nops@localhost\n"
    page = import_csv(admin_client, text, confirmed=True).content.decode()
    assert "Line 3: &quot;ops@localhost&quot;" in page
    assert not Subscriber.objects.exists()


def test_it_imports_one_spelling_of_a_mailbox_once(admin_client):
    text = "email\nAda@EXAMPLE.org\nAda@example.org\n"
    import_csv(admin_client, text, confirmed=True)
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["Ada@example.org"]
