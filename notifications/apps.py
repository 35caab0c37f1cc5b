"""App config for subscribers and notifications: hears of outbox events after their commit."""

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Subscribers and notifications"

    def ready(self) -> None:
        from incidents.outbox import event_recorded
        from notifications.receivers import fan_out_on_event

        event_recorded.connect(fan_out_on_event, dispatch_uid="notifications.fan_out_on_event")
