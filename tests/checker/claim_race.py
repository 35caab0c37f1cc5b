"""Two checker workers (threads with their own connections) run the same due checks against a
local server, on a fresh SQLite file; prints how often each check's URL was requested.

Run as `python -m tests.checker.claim_race <sqlite path> <checks>` from the project's root.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import threading


def main(database: str, count: int) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from checker.models import Check, CheckState
    from checker.services import checks_run_due
    from statuspage.models import Component
    from tests.checker.servers import Reply, local_server

    call_command("migrate", verbosity=0)
    due = timezone.now() - dt.timedelta(seconds=1)
    with local_server() as server:
        component = Component.objects.create(name="API")
        for number in range(count):
            server.routes[f"/c/{number}"] = Reply()
            check = Check.objects.create(
                component=component, url=server.url(f"/c/{number}"), timeout_seconds=5
            )
            CheckState.objects.create(owner=check, next_run_at=due)
        connection.close()
        start = threading.Barrier(2)
        probed = [0, 0]
        errors: list[str] = []

        def worker(index: int) -> None:
            start.wait()
            try:
                # Both keep going while anything is due: losing one race is no reason to stop.
                while CheckState.objects.filter(next_run_at__lte=due).exists():
                    probed[index] += checks_run_due(limit=25)
            except Exception as exc:
                errors.append(repr(exc))
            finally:
                connection.close()

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        hits = {str(n): server.hits(f"/c/{n}") for n in range(count)}
    print(json.dumps({"hits": hits, "probed": probed, "errors": errors}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
