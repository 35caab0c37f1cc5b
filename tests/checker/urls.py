"""The site's routes with the checker's public routes included, as the project's urls will."""

from django.urls import include, path

from statuspage.urls import urlpatterns as site_urlpatterns

urlpatterns = [path("", include("checker.urls")), *site_urlpatterns]
