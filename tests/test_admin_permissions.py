"""Staff permissions in the admin: every action and every page of our own asks for the
permission of what it does, and staff without it get 403 or are not offered the action."""

from __future__ import annotations

import itertools

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from notifications.models import Delivery, DeliveryStatus, Subscriber
from tests.factories import make_incident, make_maintenance
from tests.notifications.factories import make_subscriber
from tests.notifications.outbox import fan_out_pending

pytestmark = pytest.mark.django_db

SUBSCRIBERS = "/admin/notifications/subscriber/"
_names = itertools.count(1)


def make_staff(*permissions: str) -> User:
    """A staff user holding exactly these permissions ("app_label.codename")."""
    user = User.objects.create_user(f"staff{next(_names)}", is_staff=True)
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


def run_action(client: Client, action: str, subscribers: list[Subscriber]):
    return client.post(
        SUBSCRIBERS, {"action": action, "_selected_action": [s.pk for s in subscribers]}
    )


def offered_actions(client: Client) -> set[str]:
    page = client.get(SUBSCRIBERS)
    assert page.status_code == 200
    form = page.context["action_form"]
    if form is None:  # the admin leaves the form out when no action is allowed
        return set()
    return {value for value, _ in form.fields["action"].choices if value}


# Subscribers


def test_staff_who_may_only_view_subscribers_are_offered_no_action(client: Client) -> None:
    make_subscriber("ada@example.com")
    client.force_login(make_staff("notifications.view_subscriber"))
    assert offered_actions(client) == set()


def test_staff_who_may_only_view_subscribers_cannot_export_the_list(client: Client) -> None:
    ada = make_subscriber("ada@example.com")
    client.force_login(make_staff("notifications.view_subscriber"))
    response = run_action(client, "export_csv", [ada])
    assert "text/csv" not in response["Content-Type"]
    assert "Content-Disposition" not in response


def test_changing_subscribers_is_not_leave_to_export_them(client: Client) -> None:
    ada = make_subscriber("ada@example.com")
    client.force_login(
        make_staff("notifications.view_subscriber", "notifications.change_subscriber")
    )
    assert "export_csv" not in offered_actions(client)
    assert "Content-Disposition" not in run_action(client, "export_csv", [ada])


def test_the_export_permission_lets_staff_export_the_list(client: Client) -> None:
    ada = make_subscriber("ada@example.com")
    client.force_login(
        make_staff("notifications.view_subscriber", "notifications.export_subscriber")
    )
    assert offered_actions(client) == {"export_csv"}
    response = run_action(client, "export_csv", [ada])
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert b"ada@example.com" in response.content


def test_staff_who_may_only_view_subscribers_cannot_unsubscribe_or_enable_them(
    client: Client,
) -> None:
    ada = make_subscriber("ada@example.com")
    bob = make_subscriber("bob@example.com")
    Subscriber.objects.filter(pk=bob.pk).update(
        disabled_at=timezone.now(), disabled_reason="Bounced"
    )
    client.force_login(make_staff("notifications.view_subscriber"))

    run_action(client, "unsubscribe", [ada])
    run_action(client, "enable", [bob])

    ada.refresh_from_db()
    bob.refresh_from_db()
    assert ada.unsubscribed_at is None
    assert bob.disabled_at is not None


def test_the_change_permission_lets_staff_unsubscribe(client: Client) -> None:
    ada = make_subscriber("ada@example.com")
    client.force_login(
        make_staff("notifications.view_subscriber", "notifications.change_subscriber")
    )
    assert offered_actions(client) == {"unsubscribe", "enable", "resend_challenge"}
    run_action(client, "unsubscribe", [ada])
    ada.refresh_from_db()
    assert ada.unsubscribed_at is not None


def test_resending_a_subscribers_failed_deliveries_needs_the_deliveries_permission(
    client: Client,
) -> None:
    ada = make_subscriber("ada@example.com")
    make_incident()
    fan_out_pending()
    Delivery.objects.update(status=DeliveryStatus.FAILED, last_error="550 no such user")

    client.force_login(
        make_staff("notifications.view_subscriber", "notifications.change_subscriber")
    )
    run_action(client, "resend_failed", [ada])
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.FAILED}

    client.force_login(make_staff("notifications.view_subscriber", "notifications.change_delivery"))
    assert offered_actions(client) == {"resend_failed"}
    run_action(client, "resend_failed", [ada])
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.PENDING}


def test_importing_subscribers_needs_the_add_permission(client: Client) -> None:
    client.force_login(make_staff("notifications.view_subscriber"))
    assert client.get(f"{SUBSCRIBERS}import/").status_code == 403


# The email preview


def preview_url(incident_pk: int) -> str:
    return f"/admin/notifications/notificationevent/preview/{incident_pk}/"


def test_the_email_preview_of_a_draft_is_refused_to_staff_who_may_not_see_incidents(
    client: Client,
) -> None:
    draft = make_incident("Secret merger downtime", is_draft=True)
    client.force_login(make_staff("notifications.view_notificationevent"))
    response = client.get(preview_url(draft.pk))
    assert response.status_code == 403
    assert b"Secret merger" not in response.content


def test_the_email_preview_is_shown_to_staff_who_may_view_the_incident(client: Client) -> None:
    draft = make_incident("Secret merger downtime", is_draft=True)
    client.force_login(make_staff("incidents.view_incident"))
    response = client.get(preview_url(draft.pk))
    assert response.status_code == 200
    assert b"Secret merger" in response.content


def test_the_email_preview_of_a_maintenance_needs_the_maintenance_permission(
    client: Client,
) -> None:
    maintenance = make_maintenance()
    client.force_login(make_staff("incidents.view_incident"))
    assert client.get(preview_url(maintenance.pk)).status_code == 403
    client.force_login(make_staff("incidents.view_maintenance"))
    assert client.get(preview_url(maintenance.pk)).status_code == 200


def test_the_preview_of_an_update_being_written_needs_leave_to_post_it(client: Client) -> None:
    incident = make_incident()
    form = {"status": "identified", "body": "Found it.", "impact": "major"}
    client.force_login(make_staff("incidents.view_incident"))
    assert client.post(preview_url(incident.pk), form).status_code == 403
    client.force_login(make_staff("incidents.change_incident"))
    assert client.post(preview_url(incident.pk), form).status_code == 200
