"""Components, their status history and uptime rollups, and the public site."""

from django.apps import AppConfig


class StatuspageConfig(AppConfig):
    name = "statuspage"
    verbose_name = "Components"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from statuspage.models import Component, ComponentGroup, FooterLink, PageSettings

        # Saves from anywhere (the admin's plain field edits included) move the public version.
        for model in (Component, ComponentGroup, PageSettings, FooterLink):
            post_save.connect(_changed, sender=model, dispatch_uid=f"public-save-{model.__name__}")
            post_delete.connect(_changed, sender=model, dispatch_uid=f"public-del-{model.__name__}")


def _changed(sender: type, **kwargs: object) -> None:
    from statuspage.branding import forget
    from statuspage.version import public_changed

    forget()
    public_changed()
