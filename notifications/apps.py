"""App config for subscribers and notifications."""

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Subscribers and notifications"
