"""Public routes of the checker; included at the site's root."""

from django.urls import path

from checker import views

urlpatterns = [
    path(
        "components/<str:public_id>/response-time.svg",
        views.component_response_time,
        name="component_response_time",
    ),
]
