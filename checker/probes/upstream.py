"""The upstream probe: read another status page's summary.json (Statuspage v2, ours included)
and mirror one of its components.

A page that cannot be read says nothing about the provider's component, so that outcome is
inconclusive: shown to staff, never counted as an outage. Politely: several checks following
the same page within a batch share one request, and a page read before is asked for again
with If-None-Match, so an unchanged page costs its server a 304.

The page's own names (its title, its component's, its incidents') and anything else it says
go to the detail staff see; the public wording says only which of our statuses it reports.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from checker.models import Level
from checker.probes.base import (
    Outcome,
    ProbeContext,
    ProbeSpec,
    describe_error,
    milliseconds,
    parse_retry_after,
)
from statuspage.models import ComponentStatus

LEVEL_FOR_STATUS = {
    ComponentStatus.OPERATIONAL: Level.UP,
    ComponentStatus.UNDER_MAINTENANCE: Level.UP,
    ComponentStatus.DEGRADED_PERFORMANCE: Level.DEGRADED,
    ComponentStatus.PARTIAL_OUTAGE: Level.DOWN,
    ComponentStatus.MAJOR_OUTAGE: Level.DOWN,
}
STATUS_LABELS = {value: label.lower() for value, label in ComponentStatus.choices}
# What an upstream page reports, as our sentences say it.
REPORTED = {
    ComponentStatus.DEGRADED_PERFORMANCE: "degraded performance",
    ComponentStatus.PARTIAL_OUTAGE: "a partial outage",
    ComponentStatus.MAJOR_OUTAGE: "a major outage",
}


@dataclass(frozen=True)
class FetchedPage:
    document: Any = None
    latency_ms: int | None = None
    error: str = ""
    detail: str = ""
    rate_limited: bool = False
    retry_after: float | None = None


async def probe(spec: ProbeSpec, context: ProbeContext) -> Outcome:
    page = await fetch_page(spec, context)
    if page.error:
        return Outcome.unknown(
            page.error,
            detail=page.detail,
            rate_limited=page.rate_limited,
            retry_after=page.retry_after,
        )
    return judge(page.document, spec.upstream_component, latency_ms=page.latency_ms)


async def fetch_page(spec: ProbeSpec, context: ProbeContext) -> FetchedPage:
    key = f"{spec.tls_verify}:{spec.upstream_url}"
    task = context.upstream_pages.get(key)
    if task is None:
        task = asyncio.ensure_future(_fetch(spec, context))
        context.upstream_pages[key] = task
    return await asyncio.shield(task)


async def _fetch(spec: ProbeSpec, context: ProbeContext) -> FetchedPage:
    client = context.http_client(verify=spec.tls_verify)
    loop = asyncio.get_running_loop()
    headers = {"Accept": "application/json"}
    known = context.known_pages.get(spec.upstream_url)
    if known is not None:
        headers["If-None-Match"] = known[0]
    started = loop.time()
    try:
        async with asyncio.timeout(spec.timeout):
            response = await client.get(
                spec.upstream_url,
                headers=headers,
                follow_redirects=True,
                timeout=spec.timeout,
            )
    except Exception as exc:  # the page is unreachable: nothing learnt about the component
        failure = describe_error(exc, timeout=spec.timeout)
        return FetchedPage(
            error=f"could not read the upstream page: {failure.public}",
            detail=f"could not read the upstream page: {failure.detail}",
        )
    latency = milliseconds(loop.time() - started)
    if response.status_code == 429:
        return FetchedPage(
            error="the upstream page rate limited us (HTTP 429): backing off",
            rate_limited=True,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    if response.status_code == 304 and known is not None:
        return FetchedPage(document=known[1], latency_ms=latency)
    if response.status_code != 200:
        return FetchedPage(error=f"the upstream page answered HTTP {response.status_code}")
    try:
        document = json.loads(response.content)
    except ValueError:
        return FetchedPage(error="the upstream page's summary is not JSON")
    etag = response.headers.get("ETag")
    if etag:
        context.fresh_pages[spec.upstream_url] = (etag, document)
    return FetchedPage(document=document, latency_ms=latency)


def judge(document: Any, wanted: str, *, latency_ms: int | None = None) -> Outcome:
    """The outcome for the component `wanted` (an id or an exact name) in a summary document."""
    if not isinstance(document, dict) or not isinstance(document.get("components"), list):
        return Outcome.unknown("the upstream page's summary has no components")
    page_name = str((document.get("page") or {}).get("name") or "The upstream page")
    component = _find_component(document["components"], wanted)
    if component is None:
        return Outcome.unknown(
            "the upstream page lists no such component",
            detail=f"{page_name} lists no component “{wanted}”",
        )
    status = component.get("status")
    if status not in LEVEL_FOR_STATUS:
        return Outcome.unknown(
            "the upstream page gives the component an unknown status",
            detail=f"{page_name} gives {component.get('name')!s} an unknown status",
        )
    level = LEVEL_FOR_STATUS[status]
    if level == Level.UP:
        return Outcome.up(latency_ms, observed_status=status)
    detail = f"{page_name} reports {component.get('name') or wanted} as {STATUS_LABELS[status]}"
    incidents = _incidents_naming(document, component.get("id"))
    if incidents:
        detail += " (" + "; ".join(f"“{name}”" for name in incidents[:2]) + ")"
    return Outcome(
        level=level,
        latency_ms=latency_ms,
        error=detail,
        public=f"the upstream status page reports {REPORTED[status]}",
        observed_status=status,
    )


def _find_component(components: list[Any], wanted: str) -> dict[str, Any] | None:
    candidates = [c for c in components if isinstance(c, dict)]
    for component in candidates:
        if component.get("id") == wanted:
            return component
    folded = wanted.casefold()
    for component in candidates:
        if str(component.get("name", "")).casefold() == folded:
            return component
    return None


def _incidents_naming(document: dict[str, Any], component_id: Any) -> list[str]:
    names = []
    for incident in document.get("incidents") or []:
        if not isinstance(incident, dict):
            continue
        ids = [c.get("id") for c in incident.get("components") or [] if isinstance(c, dict)]
        if component_id in ids and incident.get("name"):
            names.append(str(incident["name"]))
    return names
