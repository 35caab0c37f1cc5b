"""Factory functions for checks, and a way to feed a check outcomes at chosen times."""

from __future__ import annotations

import datetime as dt
from typing import Any

import time_machine

from checker import services
from checker.models import Check, CheckKind, CheckState, Level
from checker.probes import Outcome
from statuspage.models import Component
from tests.factories import make_component


def make_check(component: Component | None = None, **fields: Any) -> Check:
    fields.setdefault("kind", CheckKind.HTTP)
    if fields["kind"] == CheckKind.HTTP:
        fields.setdefault("url", "http://127.0.0.1:9/health")
    elif fields["kind"] in (CheckKind.TCP, CheckKind.TLS):
        fields.setdefault("host", "127.0.0.1")
        fields.setdefault("port", 9)
    elif fields["kind"] == CheckKind.UPSTREAM:
        fields.setdefault("upstream_url", "http://127.0.0.1:9/")
        fields.setdefault("upstream_component", "API")
    fields.setdefault("timeout_seconds", 2.0)
    check = Check.objects.create(component=component or make_component(), **fields)
    CheckState.objects.create(owner=check, next_run_at=check.created_at)
    return check


def feed(
    check: Check, level: int, at: dt.datetime, error: str = "", **extra: Any
) -> services.Recorded:
    """Process one outcome for `check` as if a probe had seen it at `at` (record, then act),
    with the clock at that moment. `error` is the public wording and, unless `extra` gives
    the detail as `error_detail`, the detail too."""
    if level != Level.UP and not error:
        error = "connection refused"
    detail = extra.pop("error_detail", error)
    outcome = Outcome(
        level=level, error=detail, public=error, check_id=check.pk, at=at, latency_ms=12, **extra
    )
    with time_machine.travel(at, tick=False):
        return services.checks_process_outcomes([outcome])


def probe_once(**fields: Any) -> Outcome:
    """Run one probe of an unsaved check with these fields, through the real runner."""
    from checker.probes import ProbeSpec
    from checker.runner import Job, run_batch

    fields.setdefault("timeout_seconds", 2.0)
    check = Check(**fields)
    check.pk = 1
    (outcome,) = run_batch(
        [Job(ProbeSpec.from_check(check), 0.0)], max_concurrency=10, max_per_host=4
    )
    return outcome
