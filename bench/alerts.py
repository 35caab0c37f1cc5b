"""Benchmark of inbound alerts: what one Alertmanager payload costs the web process.

In a fresh database (a SQLite file in a temporary folder, or PostgreSQL's `alerts_dev`,
recreated), it makes an integration with one rule per component, then posts Alertmanager
payloads to /integrations/alerts through Django's request handler (in process: no network) and
prints, for each step, the milliseconds it took and the queries it ran:

- the first payload, whose alerts fire on every component (it opens one incident each),
- the same payload again (what Alertmanager's repeat costs),
- one more alert on a component already down,
- the payload that resolves the first ones (every component but the one the extra alert keeps
  down comes back, and its incident is resolved).

Usage (from the project's root):

    .venv/bin/python bench/alerts.py                       # SQLite, 1,000 alerts on 20 rules
    .venv/bin/python bench/alerts.py --postgres --alerts 100 --rules 5

This is not a test: it prints figures, it does not judge them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/alerts_dev"


def payload(
    alerts: int, rules: int, *, start: dt.datetime, end: dt.datetime | None, first: int = 0
) -> bytes:
    def stamp(moment: dt.datetime | None) -> str:
        return moment.isoformat().replace("+00:00", "Z") if moment else "0001-01-01T00:00:00Z"

    items = [
        {
            "status": "resolved" if end else "firing",
            "labels": {"alertname": "HighErrorRate", "service": f"s{n % rules}", "pod": f"p{n}"},
            "annotations": {"summary": "5xx above 5%"},
            "startsAt": stamp(start),
            "endsAt": stamp(end),
            "fingerprint": f"{n:016x}",
        }
        for n in range(first, first + alerts)
    ]
    body = {"version": "4", "status": "resolved" if end else "firing", "alerts": items}
    return json.dumps(body).encode()


def measure(alerts: int, rules: int) -> list[tuple[str, int, float, int]]:
    """In the child process: build the data, post the payloads, time each."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from checker import alerts as inbound
    from checker.models import AlertIntegration, AlertRule
    from statuspage.models import Component

    call_command("migrate", verbosity=0)
    integration = AlertIntegration(name="Bench")
    token = inbound.integration_issue_token(integration=integration)
    for number in range(rules):
        rule = AlertRule.objects.create(
            integration=integration, name=f"Rule {number}", matchers=f"service=s{number}"
        )
        rule.components.set([Component.objects.create(name=f"Service {number}")])
        inbound.alert_rule_sync(rule=rule)

    client = Client()
    start = timezone.now() - dt.timedelta(minutes=10)
    steps = [
        ("first payload (opens incidents)", payload(alerts, rules, start=start, end=None)),
        ("the same payload again", payload(alerts, rules, start=start, end=None)),
        ("one more alert", payload(1, rules, start=start, end=None, first=alerts)),
        ("resolving payload", payload(alerts, rules, start=start, end=timezone.now())),
    ]
    rows = []
    for name, body in steps:
        with CaptureQueriesContext(connection) as queries:
            began = time.perf_counter()
            response = client.post(
                f"/integrations/alerts/{token}", body, content_type="application/json"
            )
            elapsed = time.perf_counter() - began
        assert response.status_code == 200, response.content
        rows.append((name, len(body), elapsed * 1000, len(queries.captured_queries)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--rules", type=int, default=20)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.alerts, args.rules)))
        return
    with tempfile.TemporaryDirectory(prefix="statuspage-bench-") as directory:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=f"sqlite:///{directory}/bench.sqlite3",
            VAR_DIR=directory,
            DJANGO_SETTINGS_MODULE="statuspage.settings",
            DEBUG="false",
            # Production settings want a key; this throwaway one lives as long as the data.
            SECRET_KEY=secrets.token_urlsafe(50),
            PUBLISH_MODE="off",
        )
        if args.postgres:
            env["DATABASE_URL"] = POSTGRES_URL
            for sql in ("DROP DATABASE IF EXISTS alerts_dev", "CREATE DATABASE alerts_dev"):
                subprocess.run(
                    ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql],
                    check=True,
                    env={**os.environ, "PGOPTIONS": "--client-min-messages=warning"},
                )
        completed = subprocess.run(
            [sys.executable, __file__, "--child", "--alerts", str(args.alerts)]
            + ["--rules", str(args.rules)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
    if completed.returncode != 0:
        sys.exit(f"the benchmark failed:\n{completed.stderr}")
    rows = json.loads(completed.stdout.strip().splitlines()[-1])
    database = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{args.alerts} alerts on {args.rules} rules (one component each), {database}")
    print(f"{'step':<34} {'bytes':>9} {'ms':>8} {'queries':>8}")
    for name, size, milliseconds, queries in rows:
        print(f"{name:<34} {size:>9,} {milliseconds:>8.0f} {queries:>8}")


if __name__ == "__main__":
    main()
