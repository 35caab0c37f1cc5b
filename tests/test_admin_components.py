"""The components admin: status changes go through the status service and leave history."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from statuspage.models import Component, ComponentStatusChange
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
    client.force_login(User.objects.create_superuser("alice", "alice@example.com"))
    return client


def _form(component: Component, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": component.name,
        "group": component.group_id or "",
        "description": component.description,
        "status": component.status,
        "status_note": "",
        "loaded_status": component.status,
        "position": component.position,
        "start_date": "",
    }
    for flag in ("is_public", "showcase", "only_show_if_degraded"):
        if getattr(component, flag):
            data[flag] = "on"
    data.update(changes)
    return data


def _url(component: Component) -> str:
    return reverse("admin:statuspage_component_change", args=[component.pk])


def test_changing_the_status_records_a_manual_change(staff: Client) -> None:
    api = make_component("API")
    response = staff.post(
        _url(api), _form(api, status="degraded_performance", status_note="Slow queries")
    )
    assert response.status_code == 302
    api.refresh_from_db()
    assert api.status == "degraded_performance"
    change = ComponentStatusChange.objects.get(component=api)
    assert (change.from_status, change.to_status) == ("operational", "degraded_performance")
    assert change.reason == "manual"
    assert change.note == "Slow queries"


def test_editing_other_fields_records_no_status_change(staff: Client) -> None:
    api = make_component("API")
    staff.post(_url(api), _form(api, name="Public API", position=4))
    api.refresh_from_db()
    assert api.name == "Public API"
    assert api.position == 4
    assert not ComponentStatusChange.objects.exists()


def test_a_stale_form_does_not_undo_a_status_set_meanwhile(staff: Client) -> None:
    api = make_component("API")
    stale = _form(api, description="The public API")
    make_incident(components={api: "major_outage"})
    staff.post(_url(api), stale)
    api.refresh_from_db()
    assert api.description == "The public API"
    assert api.status == "major_outage"


def test_a_new_component_with_a_status_gets_it_through_the_history(staff: Client) -> None:
    response = staff.post(
        reverse("admin:statuspage_component_add"),
        {
            "name": "Webhooks",
            "group": "",
            "description": "",
            "status": "partial_outage",
            "status_note": "",
            "position": 3,
            "is_public": "on",
            "showcase": "on",
            "start_date": "",
        },
    )
    assert response.status_code == 302
    component = Component.objects.get(name="Webhooks")
    assert component.status == "partial_outage"
    assert list(component.status_changes.values_list("from_status", "to_status")) == [
        ("operational", "partial_outage")
    ]


def test_the_list_sets_positions_without_touching_statuses(staff: Client) -> None:
    api = make_component("API", position=1, status="major_outage")
    response = staff.post(
        reverse("admin:statuspage_component_changelist"),
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": api.pk,
            "form-0-position": "7",
            "form-0-is_public": "on",
            "form-0-showcase": "on",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    api.refresh_from_db()
    assert api.position == 7
    assert api.status == "major_outage"
    assert api.showcase


def test_the_set_status_action_goes_through_the_service(staff: Client) -> None:
    api = make_component("API", status="major_outage")
    web = make_component("Web")
    staff.post(
        reverse("admin:statuspage_component_changelist"),
        {"action": "set_status_operational", "_selected_action": [api.pk, web.pk]},
    )
    api.refresh_from_db()
    assert api.status == "operational"
    assert list(ComponentStatusChange.objects.values_list("component__name", "reason")) == [
        ("API", "manual")
    ]


def test_the_component_page_shows_its_recent_history_newest_first(staff: Client) -> None:
    api = make_component("API")
    staff.post(_url(api), _form(api, status="partial_outage", status_note="first note"))
    api.refresh_from_db()
    staff.post(_url(api), _form(api, status="major_outage", status_note="second note"))
    page = staff.get(_url(api)).content.decode()
    assert "first note" in page
    assert page.index("second note") < page.index("first note")


def test_the_status_history_cannot_be_edited(staff: Client) -> None:
    api = make_component("API")
    staff.post(_url(api), _form(api, status="partial_outage"))
    change = ComponentStatusChange.objects.get()
    assert staff.get(reverse("admin:statuspage_componentstatuschange_add")).status_code == 403
    response = staff.post(
        reverse("admin:statuspage_componentstatuschange_change", args=[change.pk]),
        {"to_status": "major_outage"},
    )
    assert response.status_code == 403
    change.refresh_from_db()
    assert change.to_status == "partial_outage"


def test_the_group_page_lists_its_components(staff: Client) -> None:
    group = make_group("Data centers")
    make_component("Frankfurt", group=group)
    page = staff.get(reverse("admin:statuspage_componentgroup_change", args=[group.pk]))
    assert page.status_code == 200
    assert "Frankfurt" in page.content.decode()
