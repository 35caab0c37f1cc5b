"""App config for the checker."""

from django.apps import AppConfig


class CheckerConfig(AppConfig):
    name = "checker"
    verbose_name = "Checker"

    def ready(self) -> None:
        from checker.views import components_with_response_times
        from website.extensions import register_response_time_source

        register_response_time_source(components_with_response_times)
