"""Run a batch of probes concurrently on one event loop, politely.

Each probe starts at its own moment within the batch (the schedule's jitter spreads them), no
more than `max_concurrency` run at once overall and no more than `max_per_host` against one
host, and a host that answers 429 is left alone for the rest of the batch.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from checker.probes import PROBES, Outcome, ProbeContext, ProbeSpec

logger = logging.getLogger(__name__)
# A worker makes thousands of requests a minute: one INFO line each would drown its log.
logging.getLogger("httpx").setLevel(logging.WARNING)

# Without Retry-After, a 429 keeps the host paused for this long within the batch.
DEFAULT_PAUSE_SECONDS = 60.0


@dataclass(frozen=True)
class Job:
    spec: ProbeSpec
    delay: float  # seconds after the batch starts


def run_batch(
    jobs: Sequence[Job],
    *,
    max_concurrency: int,
    max_per_host: int,
    paused_hosts: Mapping[str, dt.datetime] | None = None,
    context: ProbeContext | None = None,
) -> list[Outcome]:
    """Probe every job and return the outcomes in the jobs' order (blocking)."""
    if not jobs:
        return []
    return asyncio.run(
        _run(
            jobs,
            max_concurrency=max_concurrency,
            max_per_host=max_per_host,
            paused_hosts=paused_hosts or {},
            context=context or ProbeContext(max_connections=max_concurrency),
        )
    )


async def _run(
    jobs: Sequence[Job],
    *,
    max_concurrency: int,
    max_per_host: int,
    paused_hosts: Mapping[str, dt.datetime],
    context: ProbeContext,
) -> list[Outcome]:
    everyone = asyncio.Semaphore(max_concurrency)
    per_host: dict[str, asyncio.Semaphore] = {}
    paused = dict(paused_hosts)

    async def run_one(job: Job) -> Outcome:
        spec = job.spec
        if job.delay > 0:
            await asyncio.sleep(job.delay)
        host = per_host.setdefault(spec.host, asyncio.Semaphore(max_per_host))
        async with host:
            now = dt.datetime.now(dt.UTC)
            until = paused.get(spec.host)
            if until is not None and until > now:
                outcome = Outcome.unknown(
                    f"not probed: {spec.host} asked us to wait until {until:%H:%M:%S} UTC"
                )
            else:
                async with everyone:
                    outcome = await _probe(spec, context)
                if outcome.rate_limited:
                    pause = outcome.retry_after or DEFAULT_PAUSE_SECONDS
                    paused[spec.host] = now + dt.timedelta(seconds=pause)
        return dataclasses.replace(outcome, check_id=spec.check_id, at=now)

    try:
        return list(await asyncio.gather(*(run_one(job) for job in jobs)))
    finally:
        await context.aclose()


async def _probe(spec: ProbeSpec, context: ProbeContext) -> Outcome:
    try:
        return await PROBES[spec.kind](spec, context)
    except Exception:
        # A fault of ours must never pass for an outage of theirs.
        logger.exception("probe of check %s failed unexpectedly", spec.check_id)
        return Outcome.unknown("the checker failed to run this probe (see the worker's log)")
