"""Routes of the public Statuspage-compatible JSON API."""

from django.urls import path

from website import api

urlpatterns = [
    path("summary.json", api.summary, name="api-summary"),
    path("status.json", api.status, name="api-status"),
    path("components.json", api.components, name="api-components"),
    path("incidents.json", api.incidents, name="api-incidents"),
    path("incidents/unresolved.json", api.incidents_unresolved, name="api-incidents-unresolved"),
    path("incidents/<str:public_id>.json", api.incident_detail, name="api-incident"),
    path("scheduled-maintenances.json", api.maintenances, name="api-maintenances"),
    path(
        "scheduled-maintenances/upcoming.json",
        api.maintenances_upcoming,
        name="api-maintenances-upcoming",
    ),
    path(
        "scheduled-maintenances/active.json",
        api.maintenances_active,
        name="api-maintenances-active",
    ),
    path(
        "scheduled-maintenances/<str:public_id>.json",
        api.maintenance_detail,
        name="api-maintenance",
    ),
]
