"""Publish the public site now (the web and worker processes also do it by themselves)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from website import publishing


class Command(BaseCommand):
    help = "Render every public page, API document, feed and badge into PUBLISH_ROOT."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-needed",
            action="store_true",
            help="Only when something changed or the publication is older than the interval.",
        )

    def handle(self, *args: object, if_needed: bool = False, **options: object) -> None:
        manifest = publishing.publish(force=not if_needed)
        if manifest is None:
            self.stdout.write("Nothing published: another process is publishing, or no need.")
            return
        self.stdout.write(
            f"Published {manifest.token} with {len(manifest.artifacts)} answers "
            f"in {manifest.duration:.2f} s into {publishing.root()}."
        )
