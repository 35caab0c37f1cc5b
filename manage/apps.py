"""App config for the Manage API and its keys."""

from django.apps import AppConfig


class ManageConfig(AppConfig):
    name = "manage"
    verbose_name = "Manage API"
