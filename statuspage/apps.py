"""Components, their status history and uptime rollups, and the public site."""

from django.apps import AppConfig


class StatuspageConfig(AppConfig):
    name = "statuspage"
    verbose_name = "Components"
