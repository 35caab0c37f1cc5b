"""Fill an empty database with demo data: a realistic page, or a large one for benchmarks."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from incidents import demo


class Command(BaseCommand):
    help = (
        "Fill the database with a demo status page: component groups, third-party providers, "
        "90 days of incidents, a postmortem, an open incident and an upcoming maintenance. "
        "Does nothing when the database already holds components or incidents, so running it "
        "twice leaves the same data; --reset deletes every component, group, incident and "
        "template first and builds the demo again. --large builds 60 components in 8 groups "
        "and 2,000 incidents over two years instead, for benchmarks."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--large",
            action="store_true",
            help="Build the benchmark data set: 60 components in 8 groups, 2,000 incidents.",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete all components, groups, incidents and templates first "
            "(for demo databases only).",
        )

    def handle(self, *args: Any, large: bool, reset: bool, **options: Any) -> None:
        if demo.has_data():
            if not reset:
                self.stdout.write(
                    "The database already has components or incidents: nothing to do "
                    "(use --reset to rebuild the demo)."
                )
                return
            demo.wipe()
        began = time.perf_counter()
        if large:
            demo.build_large()
        else:
            demo.build_demo()
        took = time.perf_counter() - began
        kind = "Large benchmark" if large else "Demo"
        self.stdout.write(self.style.SUCCESS(f"{kind} data created in {took:.1f} s."))
