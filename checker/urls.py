"""Routes of the checker (its public charts and the inbound alerts); included at the site's root."""

from django.urls import path

from checker import views

urlpatterns = [
    path(
        "components/<str:public_id>/response-time.svg",
        views.component_response_time,
        name="component_response_time",
    ),
    path("integrations/alerts", views.alerts_inbound, name="alerts_inbound"),
    path("integrations/alerts/<str:token>", views.alerts_inbound, name="alerts_inbound_token"),
]
