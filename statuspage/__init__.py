"""The project package: settings, URLs, the Celery app, components and the public site."""

from statuspage.celery import app as celery_app

__all__ = ["celery_app"]
