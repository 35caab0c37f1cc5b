import logging

from django.apps import AppConfig


class WebsiteConfig(AppConfig):
    """The public site: pages, the v2 JSON API, feeds, badges, the published site and its fast
    path, and the public cache. No models."""

    name = "website"
    label = "website"

    def ready(self) -> None:
        from celery.signals import worker_ready

        from website import publishing

        publishing.connect_signals()
        logging.getLogger("django.request").addFilter(publishing.QuietPublisherNotFound())
        # Workers publish too, so the page stays fresh while no web process is busy.
        worker_ready.connect(_start_publisher, weak=False, dispatch_uid="website.publisher")


def _start_publisher(**kwargs: object) -> None:
    from website.publishing import start_background_publisher

    start_background_publisher(eager=True)
