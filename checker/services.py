"""The checker's work: run the due checks, record what they saw, then act on confirmed changes."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from checker import automation, scheduler, states
from checker.db import lock_rows, update_rows
from checker.models import (
    Check,
    CheckKind,
    CheckResult,
    CheckState,
    CheckStateName,
    CheckTransition,
    HostBackoff,
)
from checker.probes import Outcome, ProbeContext, ProbeSpec
from checker.runner import Job, run_batch
from statuspage.models import ComponentStatus

logger = logging.getLogger(__name__)

# The most checks one tick claims; the rest wait for the next tick (or another worker).
MAX_CLAIM = 5000
# Without Retry-After, a host that keeps answering 429 waits 1, 2, 4 … minutes, at most an hour.
BACKOFF_BASE_SECONDS = 60
BACKOFF_MAX_SECONDS = 3600
# A 503 with Retry-After delays that check's next run, but by no more than this many intervals.
MAX_RETRY_AFTER_INTERVALS = 5
# How long an upstream page's ETag and document are remembered for conditional requests.
UPSTREAM_PAGE_TTL = 86400

STATE_FIELDS = [
    "next_run_at",
    "state",
    "state_since",
    "recent",
    "problem_since",
    "problem_error",
    "observed_status",
    "desired_status",
    "last_result_at",
    "last_latency_ms",
    "last_error",
]


@dataclass
class Recorded:
    """What one batch of outcomes changed."""

    results: int = 0
    transitions: list[CheckTransition] = field(default_factory=list)
    # Components whose checks call for another status without a state change (upstream pages).
    redirected: set[int] = field(default_factory=set)
    seen: dict[int, list[automation.Seen]] = field(default_factory=lambda: defaultdict(list))


def checks_run_due(*, now: dt.datetime | None = None, limit: int = MAX_CLAIM) -> int:
    """One tick of a checker worker: claim the due checks, probe them, record, act.

    Returns how many checks were probed.
    """
    now = now or timezone.now()
    scheduler.ensure_states(now)
    claims = scheduler.claim_due(
        horizon=dt.timedelta(seconds=settings.CHECKER_TICK_SECONDS), limit=limit, now=now
    )
    if not claims:
        automation.components_reconcile(automation.components_needing_attention(()))
        return 0
    paused = dict(HostBackoff.objects.filter(until__gt=now).values_list("host", "until"))
    jobs, invalid = [], []
    for claim in claims:
        try:
            spec = ProbeSpec.from_check(claim.check)
        except ValueError:
            invalid.append(
                Outcome.unknown(
                    "the check's settings are not valid", check_id=claim.check.pk, at=now
                )
            )
            continue
        jobs.append(Job(spec=spec, delay=max(0.0, (claim.run_at - now).total_seconds())))
    context = ProbeContext(
        max_connections=settings.CHECKER_MAX_CONCURRENCY,
        known_pages=_known_pages([job.spec for job in jobs]),
    )
    outcomes = run_batch(
        jobs,
        max_concurrency=settings.CHECKER_MAX_CONCURRENCY,
        max_per_host=settings.CHECKER_MAX_PER_HOST,
        paused_hosts=paused,
        context=context,
    )
    _remember_pages(context.fresh_pages)
    hosts_record_backoff(outcomes, hosts={job.spec.check_id: job.spec.host for job in jobs})
    checks_process_outcomes(outcomes + invalid)
    return len(claims)


def _page_key(url: str) -> str:
    return "checker:upstream:" + hashlib.sha256(url.encode()).hexdigest()


def _known_pages(specs: Sequence[ProbeSpec]) -> dict[str, tuple[str, Any]]:
    """Upstream pages read before (from Django's cache), for conditional requests."""
    urls = {spec.upstream_url for spec in specs if spec.kind == CheckKind.UPSTREAM}
    if not urls:
        return {}
    cached = cache.get_many([_page_key(url) for url in urls])
    return {url: tuple(cached[_page_key(url)]) for url in urls if _page_key(url) in cached}


def _remember_pages(pages: dict[str, tuple[str, Any]]) -> None:
    if pages:
        cache.set_many(
            {_page_key(url): list(page) for url, page in pages.items()}, timeout=UPSTREAM_PAGE_TTL
        )


def checks_process_outcomes(outcomes: Sequence[Outcome]) -> Recorded:
    """Record outcomes, then bring the components concerned in line with their checks."""
    recorded = checks_record_outcomes(outcomes)
    checks_act_on(recorded)
    return recorded


def checks_act_on(recorded: Recorded) -> None:
    """Once outcomes are recorded (and committed), bring the components concerned in line."""
    touched = {t.owner.component_id for t in recorded.transitions} | recorded.redirected
    automation.components_reconcile(
        automation.components_needing_attention(touched), seen=recorded.seen
    )


def check_saved(*, check: Check, probe_changed: bool) -> None:
    """After staff create or edit a check: run it soon; when what it probes changed, forget the
    observations made under the old settings (its confirmed state stays until new ones confirm).
    Alert checks are never probed: their alerts drive them (checker/alerts.py)."""
    if check.kind == CheckKind.ALERT:
        return
    scheduler.run_soon(check)
    if probe_changed:
        CheckState.objects.filter(owner=check).update(recent=[])


def check_run_soon(*, check: Check) -> None:
    if check.kind != CheckKind.ALERT:
        scheduler.run_soon(check)


def desired_status(check: Check, state: CheckState) -> str:
    """The component status a check's confirmed state calls for."""
    if check.kind == CheckKind.UPSTREAM:
        observed = state.observed_status
        if state.state == CheckStateName.DOWN:
            for status in (observed, state.desired_status):
                if status in (ComponentStatus.PARTIAL_OUTAGE, ComponentStatus.MAJOR_OUTAGE):
                    return status
            return ComponentStatus.PARTIAL_OUTAGE
        if state.state == CheckStateName.DEGRADED:
            return ComponentStatus.DEGRADED_PERFORMANCE
        if observed == ComponentStatus.UNDER_MAINTENANCE:
            return ComponentStatus.UNDER_MAINTENANCE
        return ComponentStatus.OPERATIONAL
    if state.state == CheckStateName.DOWN:
        return check.outage_status
    if state.state == CheckStateName.DEGRADED:
        return ComponentStatus.DEGRADED_PERFORMANCE
    return ComponentStatus.OPERATIONAL


def _stale_after(check: Check) -> dt.timedelta:
    return dt.timedelta(seconds=3 * check.interval_seconds + 60)


def apply_outcome(check: Check, state: CheckState, outcome: Outcome) -> CheckTransition | None:
    """Fold one outcome into a check's state; returns the state change it confirms, if any."""
    at = outcome.at or timezone.now()
    state.last_result_at = at
    state.last_error = outcome.error[:300]
    if outcome.inconclusive:
        return None
    state.last_latency_ms = outcome.latency_ms
    if outcome.observed_status:
        state.observed_status = outcome.observed_status
    if outcome.retry_after and not outcome.rate_limited:
        wait = min(outcome.retry_after, MAX_RETRY_AFTER_INTERVALS * check.interval_seconds)
        state.next_run_at = max(state.next_run_at, at + dt.timedelta(seconds=wait))
    recent = states.observe(
        recent=[states.Observation.from_json(item) for item in state.recent],
        observation=states.Observation(at=at, level=outcome.level),
        size=states.window_size(
            failure_threshold=check.failure_threshold, success_threshold=check.success_threshold
        ),
        stale_after=_stale_after(check),
    )
    state.recent = [observation.to_json() for observation in recent]
    decision = states.decide(
        state=state.state,
        recent=recent,
        failure_threshold=check.failure_threshold,
        success_threshold=check.success_threshold,
    )
    transition = None
    if decision is not None:
        transition = CheckTransition(
            owner=check,
            at=decision.since,
            from_state=state.state,
            to_state=decision.state,
            reason=outcome.error[:300] if decision.state in states.BAD_STATES else "",
        )
        if decision.state in states.BAD_STATES:
            if state.state not in states.BAD_STATES:
                state.problem_since = decision.since
            state.problem_error = outcome.public[:300]
        else:
            state.problem_since = None
            state.problem_error = ""
        state.state = decision.state
        state.state_since = decision.since
    elif state.state in states.BAD_STATES and outcome.level == states.SEVERITY[state.state]:
        state.problem_error = outcome.public[:300] or state.problem_error
    state.desired_status = desired_status(check, state)
    return transition


@transaction.atomic
def checks_record_outcomes(outcomes: Sequence[Outcome]) -> Recorded:
    """Write a batch of outcomes: raw results in bulk, states, and confirmed state changes."""
    recorded = Recorded()
    if not outcomes:
        return recorded
    ids = {outcome.check_id for outcome in outcomes}
    lock_rows(CheckState.objects.filter(pk__in=ids))
    by_id = {
        state.pk: state for state in CheckState.objects.filter(pk__in=ids).select_related("owner")
    }
    results = []
    for outcome in sorted(outcomes, key=lambda o: o.at or timezone.now()):
        state = by_id.get(outcome.check_id)
        if state is None:  # the check was deleted meanwhile
            continue
        called_for = state.desired_status
        transition = apply_outcome(state.owner, state, outcome)
        if state.desired_status != called_for:
            recorded.redirected.add(state.owner.component_id)
        if not outcome.inconclusive:
            results.append(
                CheckResult(
                    owner_id=outcome.check_id,
                    at=outcome.at or timezone.now(),
                    level=outcome.level,
                    latency_ms=outcome.latency_ms,
                    error=outcome.error[:300],
                )
            )
        if transition is not None:
            recorded.transitions.append(transition)
            recorded.seen[state.owner.component_id].append(
                automation.Seen(check=state.owner, transition=transition, public=outcome.public)
            )
    CheckResult.objects.bulk_create(results, batch_size=1000)
    CheckTransition.objects.bulk_create(recorded.transitions, batch_size=1000)
    update_rows(list(by_id.values()), STATE_FIELDS)
    recorded.results = len(results)
    return recorded


def hosts_record_backoff(
    outcomes: Sequence[Outcome], *, hosts: dict[int, str], now: dt.datetime | None = None
) -> list[HostBackoff]:
    """Remember the hosts that answered 429, so no worker probes them before they allow it."""
    now = now or timezone.now()
    limited: dict[str, Outcome] = {}
    for outcome in outcomes:
        host = hosts.get(outcome.check_id)
        if outcome.rate_limited and host:
            limited[host] = outcome
    saved = []
    for host, outcome in limited.items():
        with transaction.atomic():
            saved.append(_host_back_off(host, outcome, now=now))
    return saved


def _host_back_off(host: str, outcome: Outcome, *, now: dt.datetime) -> HostBackoff:
    lock_rows(HostBackoff.objects.filter(host=host))
    previous = HostBackoff.objects.filter(host=host).first()
    recent_strike = previous is not None and previous.until > now - dt.timedelta(hours=1)
    strikes = previous.strikes + 1 if previous is not None and recent_strike else 1
    wait = outcome.retry_after
    if wait is None:
        wait = min(BACKOFF_BASE_SECONDS * 2 ** (min(strikes, 30) - 1), BACKOFF_MAX_SECONDS)
    backoff, _ = HostBackoff.objects.update_or_create(
        host=host,
        defaults={
            "until": now + dt.timedelta(seconds=wait),
            "strikes": min(strikes, 30),
            "reason": outcome.error[:300],
        },
    )
    logger.warning("%s asked us to back off; no probes before %s", host, backoff.until)
    return backoff
