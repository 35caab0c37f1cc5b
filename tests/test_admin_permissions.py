"""Staff permissions in the admin: every action and every page of our own asks for the
permission of what it does, and staff without it get 403 or are not offered the action."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident
from notifications.models import Delivery, DeliveryStatus, Subscriber
from statuspage.models import ComponentStatus
from tests.checker.factories import make_check
from tests.factories import make_incident, make_maintenance
from tests.notifications.factories import make_subscriber
from tests.notifications.outbox import fan_out_pending

pytestmark = pytest.mark.django_db

SUBSCRIBERS = "/admin/notifications/subscriber/"
_names = itertools.count(1)


def make_staff(*permissions: str) -> User:
    """A staff user holding exactly these permissions ("app_label.codename")."""
    user = User.objects.create_user(f"staff{next(_names)}", is_staff=True)
    wanted = set(permissions)
    found = [p for p in Permission.objects.select_related("content_type") if _label(p) in wanted]
    assert len(found) == len(wanted), wanted - {_label(p) for p in found}
    user.user_permissions.add(*found)
    return user


def _label(permission: Permission) -> str:
    return f"{permission.content_type.app_label}.{permission.codename}"


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


# Every page of our own and every action, across the whole admin site.
#
# Both tables are checked against admin.site's registry, so a page or an action added without
# a row here fails the first tests below until someone decides which permission it needs.

STANDARD_PAGES = ("changelist", "add", "history", "delete", "change")


def custom_page_names() -> set[str]:
    names = set()
    for model_admin in admin.site._registry.values():
        opts = model_admin.opts
        standard = {f"{opts.app_label}_{opts.model_name}_{page}" for page in STANDARD_PAGES}
        names |= {p.name for p in model_admin.get_urls() if p.name and p.name not in standard}
    return names


def every_action() -> set[str]:
    superuser = User(is_active=True, is_staff=True, is_superuser=True)
    request = RequestFactory().get("/")
    request.user = superuser
    return {
        f"{model._meta.label_lower}.{name}"
        for model, model_admin in admin.site._registry.items()
        for name in model_admin.get_actions(request)
    }


@dataclass(frozen=True)
class Page:
    """A custom admin page: the permissions that open it, how to ask for it, what it answers."""

    grants: tuple[str, ...]
    args: Callable[[], list[object]] = list
    method: str = "get"
    answers: int = 200


def _draft_incident() -> Incident:
    return make_incident("Unannounced outage", is_draft=True)


PAGES: dict[str, Page] = {
    "incidents_incident_backfill": Page(("incidents.add_incident",)),
    "incidents_incident_by_public_id": Page(
        ("incidents.view_incident", "incidents.change_incident"),
        args=lambda: [_draft_incident().public_id],
        answers=302,
    ),
    "incidents_incident_postmortem": Page(
        ("incidents.view_incident", "incidents.change_incident"),
        args=lambda: [_draft_incident().pk],
    ),
    "incidents_incident_publish": Page(
        ("incidents.change_incident",),
        args=lambda: [_draft_incident().pk],
        method="post",
        answers=302,
    ),
    "incidents_incident_edit": Page(
        ("incidents.change_incident",), args=lambda: [_draft_incident().pk]
    ),
    "incidents_maintenance_edit": Page(
        ("incidents.change_maintenance",), args=lambda: [make_maintenance().pk]
    ),
    "notifications_subscriber_import": Page(("notifications.add_subscriber",)),
    "notifications_email_preview": Page(
        ("incidents.view_incident", "incidents.change_incident"),
        args=lambda: [_draft_incident().pk],
    ),
    "checker_check_chart": Page(
        ("checker.view_check", "checker.change_check"), args=lambda: [make_check().pk]
    ),
    "auth_user_password_change": Page(
        ("auth.change_user",),
        args=lambda: [User.objects.create_user(f"other{next(_names)}").pk],
    ),
}

# For each action, the permissions that each allow it.
ACTIONS: dict[str, tuple[str, ...]] = {
    "auth.group.delete_selected": ("auth.delete_group",),
    "auth.user.delete_selected": ("auth.delete_user",),
    "statuspage.componentgroup.delete_selected": ("statuspage.delete_componentgroup",),
    "statuspage.component.delete_selected": ("statuspage.delete_component",),
    **{
        f"statuspage.component.set_status_{status}": ("statuspage.change_component",)
        for status in ComponentStatus.values
    },
    "incidents.incident.publish_drafts": ("incidents.change_incident",),
    "incidents.incidenttemplate.delete_selected": ("incidents.delete_incidenttemplate",),
    "notifications.subscriber.delete_selected": ("notifications.delete_subscriber",),
    "notifications.subscriber.export_csv": ("notifications.export_subscriber",),
    "notifications.subscriber.resend_failed": ("notifications.change_delivery",),
    "notifications.subscriber.enable": ("notifications.change_subscriber",),
    "notifications.subscriber.resend_challenge": ("notifications.change_subscriber",),
    "notifications.subscriber.unsubscribe": ("notifications.change_subscriber",),
    "notifications.delivery.resend": ("notifications.change_delivery",),
    "notifications.notificationevent.resend_failed": ("notifications.change_delivery",),
    "checker.check.delete_selected": ("checker.delete_check",),
    "checker.check.run_now": ("checker.change_check",),
    "checker.check.pause": ("checker.change_check",),
    "checker.check.resume": ("checker.change_check",),
    "checker.checktransition.delete_selected": ("checker.delete_checktransition",),
    "checker.hostbackoff.delete_selected": ("checker.delete_hostbackoff",),
    "checker.alertintegration.delete_selected": ("checker.delete_alertintegration",),
    "checker.alertintegration.issue_token": ("checker.change_alertintegration",),
    "checker.alertrule.delete_selected": ("checker.delete_alertrule",),
    "checker.receivedalert.delete_selected": ("checker.delete_receivedalert",),
    "manage.apikey.delete_selected": ("manage.delete_apikey",),
    "manage.apikey.revoke": ("manage.delete_apikey",),
    "axes.accessattempt.delete_selected": ("axes.delete_accessattempt",),
    "axes.accessattempt.cleanup_expired_attempts": ("axes.delete_accessattempt",),
    "axes.accesslog.delete_selected": ("axes.delete_accesslog",),
    "axes.accessfailurelog.delete_selected": ("axes.delete_accessfailurelog",),
}


def every_permission_but(excluded: tuple[str, ...]) -> list[str]:
    return [
        _label(p)
        for p in Permission.objects.select_related("content_type")
        if _label(p) not in excluded
    ]


def test_every_custom_admin_page_has_a_permission_rule() -> None:
    assert custom_page_names() == set(PAGES)


def test_every_admin_action_has_a_permission_rule() -> None:
    assert every_action() == set(ACTIONS)


def test_every_admin_action_declares_the_permissions_it_needs() -> None:
    for model_admin in admin.site._registry.values():
        for action in model_admin.actions or []:
            function = getattr(model_admin, action) if isinstance(action, str) else action
            assert getattr(function, "allowed_permissions", ()), (model_admin, action)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_a_custom_page_refuses_staff_without_its_permission(client: Client, name: str) -> None:
    page = PAGES[name]
    url = reverse(f"admin:{name}", args=page.args())
    client.force_login(make_staff(*every_permission_but(page.grants)))
    assert getattr(client, page.method)(url).status_code == 403


@pytest.mark.parametrize("name", sorted(PAGES))
def test_a_custom_page_opens_for_each_permission_that_grants_it(client: Client, name: str) -> None:
    page = PAGES[name]
    for permission in page.grants:
        url = reverse(f"admin:{name}", args=page.args())
        client.force_login(make_staff(permission))
        response = getattr(client, page.method)(url)
        assert response.status_code == page.answers, permission
        if page.answers == 302:
            assert not response["Location"].startswith(reverse("admin:login"))


def _actions_for(user: User, model_label: str) -> set[str]:
    model = apps.get_model(model_label)
    request = RequestFactory().get("/")
    request.user = user
    return set(admin.site.get_model_admin(model).get_actions(request))


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_an_action_is_not_offered_to_staff_without_its_permission(action: str) -> None:
    model_label, name = action.rsplit(".", 1)
    user = make_staff(*every_permission_but(ACTIONS[action]))
    assert name not in _actions_for(user, model_label)


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_an_action_is_offered_to_staff_with_its_permission(action: str) -> None:
    model_label, name = action.rsplit(".", 1)
    app_label, model_name = model_label.split(".")
    for permission in ACTIONS[action]:
        user = make_staff(f"{app_label}.view_{model_name}", permission)
        assert name in _actions_for(user, model_label), permission
