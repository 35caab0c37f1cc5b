from django.apps import AppConfig


class WebsiteConfig(AppConfig):
    """The public site: pages, the v2 JSON API, feeds, badges and the public cache. No models."""

    name = "website"
    label = "website"
