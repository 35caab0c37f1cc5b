"""What /health reports: a probe of each backend, the background processes' heartbeats, and one
overall status.

The page renders from its database and its cache, so those two are critical: either one down
makes the status "down" (HTTP 503), unless a publication of the site is live, which the web
processes serve without either. The rest (the broker, the workers, the checker) the page can do
without for a while: trouble there makes the status "degraded" and the answer stays 200, so a
load balancer never takes out a page that still serves because a background process stalled.

Each probe runs in a thread of its own and the report waits for them at most HEALTH_TIMEOUT_MS,
so a backend that hangs makes its probe "down" instead of holding the request.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import kombu
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from statuspage.models import Heartbeat, HeartbeatKind
from statuspage.version import public_version
from website.publishing import publication_status

logger = logging.getLogger(__name__)

OK, DEGRADED, DOWN = "ok", "degraded", "down"
STALE, MISSING, UNKNOWN = "stale", "missing", "unknown"

HeartbeatRows = list[tuple[str, str, dt.datetime]]


@dataclass(frozen=True)
class ProbeOutcome:
    value: Any = None
    error: Exception | None = None
    seconds: float = 0.0
    timed_out: bool = False


def run_side_by_side(
    probes: dict[str, Callable[[], Any]], *, timeout: float
) -> dict[str, ProbeOutcome]:
    """Run the probes at once, each in a thread of its own, and wait at most `timeout` seconds.

    A probe still running then is reported as timed out and left to finish on its own: its
    thread is a daemon, and the probes close what they open.
    """
    outcomes: dict[str, ProbeOutcome] = {}

    def run(name: str, probe: Callable[[], Any]) -> None:
        started = time.monotonic()
        try:
            value = probe()
        except Exception as error:
            outcomes[name] = ProbeOutcome(error=error, seconds=time.monotonic() - started)
        else:
            outcomes[name] = ProbeOutcome(value=value, seconds=time.monotonic() - started)

    threads = [
        threading.Thread(target=run, args=(name, probe), name=f"health-{name}", daemon=True)
        for name, probe in probes.items()
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    finished = dict(outcomes)
    late = ProbeOutcome(seconds=timeout, timed_out=True)
    return {name: finished.get(name, late) for name in probes}


def probe_database() -> HeartbeatRows:
    """One round trip on a connection of this thread, then the heartbeats."""
    try:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # The server gives up too, instead of working on for a probe nobody waits for.
                cursor.execute(f"SET statement_timeout = {int(settings.HEALTH_TIMEOUT_MS)}")
            cursor.execute("SELECT 1")
        return list(Heartbeat.objects.values_list("kind", "name", "last_seen_at"))
    finally:
        connection.close()


def probe_cache() -> int:
    """Store a value and read it back; returns the public version, which lives in the cache."""
    # A key of its own, so probes of several processes at once cannot read each other's value.
    key, value = f"health:probe:{uuid.uuid4().hex}", uuid.uuid4().hex
    cache.set(key, value, timeout=60)
    try:
        if cache.get(key) != value:
            raise RuntimeError("the cache did not return what was just stored in it")
    finally:
        cache.delete(key)
    return public_version()


def probe_broker() -> None:
    """Open a connection to the broker Celery publishes to (for Redis, that includes a PING)."""
    url = settings.CELERY_BROKER_URL
    options = dict(getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {})
    if url.startswith("filesystem://"):
        # The embedded broker has no server: it works as long as its folder takes new files. The
        # first process to send a task makes it, so one not made yet is made here likewise.
        folder = options.get("folder", ".")
        os.makedirs(folder, exist_ok=True)
        if not os.access(folder, os.W_OK):
            raise PermissionError("the broker folder is not writable")
        return
    seconds = settings.HEALTH_TIMEOUT_MS / 1000
    # A broker that accepts the connection and then says nothing must not hold the thread for
    # ever either.
    options.setdefault("socket_timeout", seconds)
    options.setdefault("socket_connect_timeout", seconds)
    with kombu.Connection(url, connect_timeout=seconds, transport_options=options) as broker:
        broker.ensure_connection(max_retries=0)


@dataclass(frozen=True)
class HealthReport:
    status: str
    checks: dict[str, dict[str, Any]]

    @property
    def http_status(self) -> int:
        return 503 if self.status == DOWN else 200

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "checks": self.checks}


def _probe_result(outcome: ProbeOutcome, *, name: str, critical: bool) -> dict[str, Any]:
    result: dict[str, Any] = {
        "status": OK,
        "critical": critical,
        "duration_ms": round(outcome.seconds * 1000, 1),
    }
    if outcome.timed_out:
        result |= {"status": DOWN, "error": f"no answer within {settings.HEALTH_TIMEOUT_MS} ms"}
    elif outcome.error is not None:
        # The details (addresses, names) go to the log, not to an unauthenticated page.
        logger.warning("health: the %s probe failed: %r", name, outcome.error)
        result |= {"status": DOWN, "error": type(outcome.error).__name__}
    return result


def _age(seen: dt.datetime | None, now: dt.datetime) -> float | None:
    return None if seen is None else round(max(0.0, (now - seen).total_seconds()), 1)


def _beat(seen: dt.datetime | None, now: dt.datetime) -> dict[str, Any]:
    age = _age(seen, now)
    if age is None:
        return {"status": MISSING, "age_seconds": None}
    return {"status": STALE if age > settings.HEALTH_STALE_SECONDS else OK, "age_seconds": age}


def _heartbeat_checks(rows: HeartbeatRows | None, now: dt.datetime) -> dict[str, dict[str, Any]]:
    """The workers (one beat per queue) and the checker's tick; unknown without the database."""
    if rows is None:
        unknown = {"status": UNKNOWN, "critical": False}
        return {"workers": dict(unknown), "checker": dict(unknown)}
    seen = {(kind, name): at for kind, name, at in rows}
    queues = {
        queue.name: _beat(seen.get((HeartbeatKind.WORKER, queue.name)), now)
        for queue in settings.CELERY_TASK_QUEUES
    }
    workers_ok = all(queue["status"] == OK for queue in queues.values())
    checker = _beat(seen.get((HeartbeatKind.CHECKER, "")), now)
    return {
        "workers": {"status": OK if workers_ok else STALE, "critical": False, "queues": queues},
        "checker": {**checker, "critical": False},
    }


def _public_version_check(version: int | None, now: dt.datetime) -> dict[str, Any]:
    """How long ago something public last changed. Information only: a page where nothing
    happened for a week is fine."""
    if version is None:
        return {"status": UNKNOWN, "critical": False, "age_seconds": None}
    changed_at = dt.datetime.fromtimestamp(version / 1e9, tz=dt.UTC)
    return {"status": OK, "critical": False, "age_seconds": _age(changed_at, now)}


def _publication_check(outcome: ProbeOutcome) -> dict[str, Any] | None:
    """The live publication, where the site is published as files. The publisher redoes it at
    least every PUBLISH_INTERVAL_SECONDS, so one much older than that is stale: the publisher
    stopped, and visitors see the site as it was."""
    if outcome.timed_out or outcome.error is not None:
        return _probe_result(outcome, name="publication", critical=False)
    if outcome.value is None:
        return None
    age = outcome.value["age_seconds"]
    stale_after = settings.PUBLISH_INTERVAL_SECONDS + settings.HEALTH_STALE_SECONDS
    return {
        "status": STALE if age > stale_after else OK,
        "critical": False,
        "age_seconds": round(age, 1),
        "duration_seconds": round(outcome.value["duration_seconds"], 3),
    }


def overall_status(checks: dict[str, dict[str, Any]]) -> str:
    if any(check["critical"] and check["status"] != OK for check in checks.values()):
        # The published copy answers visitors without the database or the cache, even a stale
        # one: the page as it was beats no page.
        serves_published = checks.get("publication", {}).get("status") in (OK, STALE)
        return DEGRADED if serves_published else DOWN
    if any(check["status"] != OK for check in checks.values()):
        return DEGRADED
    return OK


def health_report() -> HealthReport:
    outcomes = run_side_by_side(
        {
            "database": probe_database,
            "cache": probe_cache,
            "broker": probe_broker,
            "publication": publication_status,
        },
        timeout=settings.HEALTH_TIMEOUT_MS / 1000,
    )
    now = timezone.now()
    checks = {
        "database": _probe_result(outcomes["database"], name="database", critical=True),
        "cache": _probe_result(outcomes["cache"], name="cache", critical=True),
        "broker": _probe_result(outcomes["broker"], name="broker", critical=False),
    }
    heartbeats = outcomes["database"].value if checks["database"]["status"] == OK else None
    checks |= _heartbeat_checks(heartbeats, now)
    version = outcomes["cache"].value if checks["cache"]["status"] == OK else None
    checks["public_version"] = _public_version_check(version, now)
    publication = _publication_check(outcomes["publication"])
    if publication is not None:
        checks["publication"] = publication
    return HealthReport(status=overall_status(checks), checks=checks)


def silent_processes(now: dt.datetime | None = None) -> list[str]:
    """What staff should hear about the background processes: one sentence for each that has
    been silent longer than HEALTH_STALE_SECONDS (a few of its intervals) or never beat."""
    now = now or timezone.now()
    seen = {
        (kind, name): at
        for kind, name, at in Heartbeat.objects.values_list("kind", "name", "last_seen_at")
    }

    def silence(kind: str, name: str = "") -> str | None:
        at = seen.get((kind, name))
        if at is None:
            return "never"
        age = (now - at).total_seconds()
        if age <= settings.HEALTH_STALE_SECONDS:
            return None
        return f"for {_minutes(age)}"

    alerts = []
    queues = [queue.name for queue in settings.CELERY_TASK_QUEUES]
    silent = {name: s for name in queues if (s := silence(HeartbeatKind.WORKER, name))}
    if silent and len(silent) == len(queues):
        alerts.append(
            "No worker heartbeat from any queue "
            f"({silent[queues[0]]}): the workers or beat, which sends the heartbeats, are not "
            "running. Notifications, maintenance automation and checks are not being done."
        )
    else:
        alerts += [
            f"No worker has taken the “{name}” queue’s heartbeat ({when}): its tasks wait."
            for name, when in silent.items()
        ]
    checker = silence(HeartbeatKind.CHECKER)
    if checker is not None:
        alerts.append(f"The checker has not run ({checker}): checks are not being probed.")
    return alerts


def _minutes(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{minutes // 60} hours"
