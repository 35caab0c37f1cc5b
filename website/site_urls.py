"""Routes of the public status site."""

from django.urls import path

from website import branding, views

urlpatterns = [
    path("", views.home, name="home"),
    path("incidents/<str:public_id>", views.incident_detail, name="incident"),
    path("components/<str:public_id>", views.component_detail, name="component"),
    path("history", views.history, name="history"),
    path("live", views.live, name="live"),
    path("branding.css", branding.stylesheet, name="branding-css"),
    path("branding/<str:name>", branding.logo, name="branding-logo"),
]
