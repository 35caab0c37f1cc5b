"""App config for incidents and maintenance."""

from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents and maintenance"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from incidents.models import Incident, IncidentComponent, IncidentUpdate

        # Any saved or deleted incident row moves the public version (see website.caching).
        for model in (Incident, IncidentUpdate, IncidentComponent):
            post_save.connect(_changed, sender=model, dispatch_uid=f"public-save-{model.__name__}")
            post_delete.connect(_changed, sender=model, dispatch_uid=f"public-del-{model.__name__}")


def _changed(sender: type, **kwargs: object) -> None:
    from statuspage.version import public_changed

    public_changed()
