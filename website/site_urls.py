"""Routes of the public status site."""

from django.urls import path

from website import views

urlpatterns = [
    path("", views.home, name="home"),
    path("incidents/<str:public_id>", views.incident_detail, name="incident"),
    path("components/<str:public_id>", views.component_detail, name="component"),
    path("history", views.history, name="history"),
    path("live", views.live, name="live"),
]
