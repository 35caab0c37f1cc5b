"""URL routes: the admin, the public JSON API, subscriptions, feeds, badges, the checker's charts
and the public site."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path(settings.ADMIN_PATH, admin.site.urls),
    path("api/v2/", include("website.api_urls")),
    path("api/v1/", include("manage.urls")),
    path("api/", include("manage.openapi_urls")),
    path("subscriptions/", include("notifications.urls")),
    path("", include("website.feed_urls")),
    path("", include("checker.urls")),
    path("", include("health.urls")),
    path("", include("website.site_urls")),
]
