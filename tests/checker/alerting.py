"""Factories for alert integrations and rules, and Alertmanager-shaped payloads."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from checker import alerts
from checker.models import AlertIntegration, AlertRule, IncidentMode, OutageStatus
from statuspage.models import Component

PAYLOADS = Path(__file__).parent / "payloads"


def make_integration(name: str = "Production Alertmanager") -> tuple[AlertIntegration, str]:
    """An integration and its token (the only time the token is known)."""
    integration = AlertIntegration(name=name)
    token = alerts.integration_issue_token(integration=integration)
    return integration, token


def make_rule(
    integration: AlertIntegration,
    components: list[Component],
    *,
    matchers: str = "service=api",
    status: str = OutageStatus.MAJOR_OUTAGE,
    mode: str = IncidentMode.PUBLISH,
    name: str = "API alerts",
    **fields: Any,
) -> AlertRule:
    rule = AlertRule.objects.create(
        integration=integration,
        name=name,
        matchers=matchers,
        outage_status=status,
        incident_mode=mode,
        **fields,
    )
    rule.components.set(components)
    alerts.alert_rule_sync(rule=rule)
    return rule


def rfc3339(moment: dt.datetime | None) -> str:
    if moment is None:
        return "0001-01-01T00:00:00Z"
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def am_alert(
    labels: dict[str, str],
    *,
    starts_at: dt.datetime,
    ends_at: dt.datetime | None = None,
    fingerprint: str | None = None,
) -> dict[str, Any]:
    """One alert as Alertmanager's webhook (version 4) gives it."""
    item: dict[str, Any] = {
        "status": "resolved" if ends_at else "firing",
        "labels": labels,
        "annotations": {"summary": f"{labels.get('alertname', 'Alert')} on {labels}"},
        "startsAt": rfc3339(starts_at),
        "endsAt": rfc3339(ends_at),
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=up+%3D%3D+0",
    }
    if fingerprint is not None:
        item["fingerprint"] = fingerprint
    return item


def am_payload(*items: dict[str, Any]) -> dict[str, Any]:
    """Alertmanager's webhook body around these alerts."""
    firing = any(item["status"] == "firing" for item in items)
    return {
        "version": "4",
        "groupKey": '{}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": "statuspage",
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": list(items),
    }


def recorded_payload(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def as_json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()
