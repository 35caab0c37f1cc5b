"""Which checks run when, and which worker runs them.

A worker claims the checks due before `now + horizon` by moving their `next_run_at` one
interval on. On PostgreSQL it locks the rows it takes with SELECT … FOR UPDATE SKIP LOCKED,
so workers claiming at the same moment take different rows without waiting for each other;
elsewhere (SQLite) each row is taken with a compare-and-swap UPDATE on `next_run_at`, and only
the worker whose UPDATE changed the row probes it. Either way no check is probed twice.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from checker.db import update_rows
from checker.models import Check, CheckState

# Each run lands up to this share of the interval early or late (at most MAX_JITTER), so
# checks created together drift apart instead of firing in lockstep.
JITTER_SHARE = 0.05
MAX_JITTER = dt.timedelta(seconds=5)


@dataclass(frozen=True)
class Claim:
    state: CheckState
    run_at: dt.datetime

    @property
    def check(self) -> Check:
        return self.state.owner


def jitter(interval: dt.timedelta) -> dt.timedelta:
    spread = min(interval * JITTER_SHARE, MAX_JITTER)
    return spread * random.uniform(-1.0, 1.0)


def next_run_after(run_at: dt.datetime, interval_seconds: int) -> dt.datetime:
    interval = dt.timedelta(seconds=interval_seconds)
    return run_at + interval + jitter(interval)


def first_run_at(now: dt.datetime, interval_seconds: int) -> dt.datetime:
    """A new check's first run: somewhere within its first interval (at most a minute away)."""
    return now + dt.timedelta(seconds=random.uniform(0, min(interval_seconds, 60)))


def ensure_states(now: dt.datetime | None = None) -> int:
    """Give every active check without a state one, scheduled within its first interval."""
    now = now or timezone.now()
    missing = (
        Check.objects.active().filter(state__isnull=True).values_list("pk", "interval_seconds")
    )
    states = [
        CheckState(owner_id=pk, next_run_at=first_run_at(now, interval)) for pk, interval in missing
    ]
    CheckState.objects.bulk_create(states, ignore_conflicts=True, batch_size=1000)
    return len(states)


def _due(until: dt.datetime) -> QuerySet[CheckState]:
    return (
        CheckState.objects.filter(next_run_at__lte=until, owner__is_active=True)
        .select_related("owner")
        .order_by("next_run_at")
    )


def _claims(states: list[CheckState], now: dt.datetime) -> list[Claim]:
    claims = []
    for state in states:
        due, interval = state.next_run_at, state.owner.interval_seconds
        run_at = max(due, now)
        # The next run counts from when this one was due, so a tick that starts late does not
        # stretch the interval; after a long stop (more than an interval) it counts from now.
        late = now - due > dt.timedelta(seconds=interval)
        state.next_run_at = next_run_after(run_at if late else due, interval)
        claims.append(Claim(state=state, run_at=run_at))
    return claims


def claim_due(*, horizon: dt.timedelta, limit: int, now: dt.datetime | None = None) -> list[Claim]:
    """Claim up to `limit` checks due before `now + horizon`, each for this worker alone."""
    now = now or timezone.now()
    if connection.features.has_select_for_update_skip_locked:
        return _claim_skip_locked(now=now, until=now + horizon, limit=limit)
    candidates = due_candidates(until=now + horizon, limit=limit)
    return claim_candidates(candidates, now=now)


def _claim_skip_locked(*, now: dt.datetime, until: dt.datetime, limit: int) -> list[Claim]:
    with transaction.atomic():
        states = list(_due(until).select_for_update(skip_locked=True, of=("self",))[:limit])
        claims = _claims(states, now)
        update_rows(states, ["next_run_at"])
    return claims


def due_candidates(*, until: dt.datetime, limit: int) -> list[CheckState]:
    """Checks that look due, read without locking: another worker may take them first."""
    return list(_due(until)[:limit])


def claim_candidates(candidates: list[CheckState], *, now: dt.datetime) -> list[Claim]:
    """Take each candidate whose `next_run_at` is still what we read (compare-and-swap).

    The transaction's first statement is a write, so on SQLite it waits for the write lock
    instead of failing on a stale read snapshot.
    """
    seen = {state.pk: state.next_run_at for state in candidates}
    claims = _claims(candidates, now)
    taken = []
    with transaction.atomic():
        for claim in claims:
            changed = CheckState.objects.filter(
                pk=claim.state.pk, next_run_at=seen[claim.state.pk]
            ).update(next_run_at=claim.state.next_run_at)
            if changed:
                taken.append(claim)
    return taken


def run_soon(check: Check, *, now: dt.datetime | None = None) -> None:
    """Bring a check's next run forward to now (after an edit, or "run now" in the admin)."""
    now = now or timezone.now()
    CheckState.objects.bulk_create(
        [CheckState(owner=check, next_run_at=now)], ignore_conflicts=True
    )
    CheckState.objects.filter(owner=check, next_run_at__gt=now).update(next_run_at=now)
