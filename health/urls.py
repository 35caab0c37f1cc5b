"""Routes of the health and metrics endpoints."""

from django.urls import path

from health import views

urlpatterns = [
    path("health", views.health, name="health"),
    path("health/live", views.live, name="health-live"),
    path("metrics", views.metrics, name="metrics"),
]
