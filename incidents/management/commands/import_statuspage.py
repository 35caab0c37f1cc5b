"""Import another Statuspage-compatible page: manage.py import_statuspage https://status.example.com"""

from __future__ import annotations

from typing import Any

import httpx
from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.importer import SourceError, import_statuspage


class Command(BaseCommand):
    help = (
        "Recreate a Statuspage-compatible page here through its v2 API: components and groups, "
        "incidents with their whole timelines and maintenances, at their own times and without "
        "notifying anyone. Running it again changes nothing already imported (an incident still "
        "open there gets its new updates)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url", help="The page's address, or its /api/v2/ address.")

    def handle(self, *args: Any, url: str, **options: Any) -> None:
        try:
            report = import_statuspage(url)
        except (httpx.HTTPError, SourceError, ValueError) as error:
            raise CommandError(f"Could not import {url}: {error}") from error
        made = ", ".join(f"{n} {kind}" for kind, n in sorted(report.made.items()) if n)
        self.stdout.write(f"Imported {made}." if made else "Nothing new to import.")
        for reason in report.skipped:
            self.stdout.write(f"Left out {reason}.")
