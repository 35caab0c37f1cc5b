"""Route of the OpenAPI document (mounted at /api/)."""

from django.urls import path

from manage.openapi import openapi_json

urlpatterns = [path("openapi.json", openapi_json, name="openapi")]
