"""The page's overall status: the one roll-up rule used by the page, the API, feeds and emails."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from statuspage.models import ComponentStatus

# Worst first is the highest rank.
INDICATOR_RANK = {"none": 0, "maintenance": 1, "minor": 2, "major": 3, "critical": 4}

DESCRIPTIONS = {
    "none": "All Systems Operational",
    "maintenance": "Service Under Maintenance",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
}

_COMPONENT_INDICATOR: dict[str, str] = {
    ComponentStatus.OPERATIONAL: "none",
    ComponentStatus.UNDER_MAINTENANCE: "maintenance",
    ComponentStatus.DEGRADED_PERFORMANCE: "minor",
    ComponentStatus.PARTIAL_OUTAGE: "major",
    ComponentStatus.MAJOR_OUTAGE: "critical",
}

COMPONENT_STATUS_RANK: dict[str, int] = {
    ComponentStatus.OPERATIONAL: 0,
    ComponentStatus.UNDER_MAINTENANCE: 1,
    ComponentStatus.DEGRADED_PERFORMANCE: 2,
    ComponentStatus.PARTIAL_OUTAGE: 3,
    ComponentStatus.MAJOR_OUTAGE: 4,
}


@dataclass(frozen=True)
class PageStatus:
    indicator: str
    description: str


def worst_component_status(statuses: Iterable[str]) -> str:
    return max(
        statuses, key=lambda s: COMPONENT_STATUS_RANK[s], default=ComponentStatus.OPERATIONAL
    )


def overall_status(
    *, component_statuses: Iterable[str], incident_impacts: Iterable[str]
) -> PageStatus:
    """Worst of the unresolved incidents' impact and the components' statuses."""
    indicators = [_COMPONENT_INDICATOR[s] for s in component_statuses]
    indicators += [impact for impact in incident_impacts if impact in INDICATOR_RANK]
    worst = max(indicators, key=INDICATOR_RANK.__getitem__, default="none")
    return PageStatus(indicator=worst, description=DESCRIPTIONS[worst])
