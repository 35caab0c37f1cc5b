"""Views of the checker: a component's response-time chart as SVG, drawn from rollups, and the
endpoint alerting systems post their alerts to."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from django.db.models import Exists, Max, OuterRef
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from checker import alerts
from checker.charts import DEFAULT_RANGE, RANGES, SERIES_CLASSES, chart_end, response_time_chart
from checker.models import Check, CheckKind, CheckRollup, RollupMark, RollupPeriod
from statuspage.models import Component
from website.caching import Variant, standby_page

# Kinds whose latency means something to a visitor (an upstream page's latency does not).
CHARTED_KINDS = [CheckKind.HTTP, CheckKind.TCP, CheckKind.TLS]


def components_with_response_times(component_ids: list[int]) -> list[int]:
    """The components among these with an active charted check whose measurements have been
    rolled up, so their page shows a chart only when it has something to draw (the chart draws
    the rollups of whole hours and days, not the raw results of the hour under way)."""
    measured = Exists(CheckRollup.objects.filter(owner=OuterRef("pk")))
    return list(
        Check.objects.active()
        .filter(component_id__in=component_ids, kind__in=CHARTED_KINDS)
        .filter(measured)
        .values_list("component_id", flat=True)
        .distinct()
    )


CACHE_CONTROL = "public, max-age=300"


def render_chart(checks: list[Check], range_key: str) -> HttpResponse:
    chart = response_time_chart(checks, range_key=range_key)
    body = render_to_string("checker/response_time.svg", {"chart": chart})
    response = HttpResponse(body, content_type="image/svg+xml; charset=utf-8")
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


# How often the beat rolls up the hour under way (its "checker-roll-up-results" entry), which
# moves the last point of an hourly chart.
HOUR_UNDER_WAY_ROLLED_UP_SECONDS = 600


def chart_variants() -> Iterator[Variant]:
    """Every public component's chart in each range (and with none given), for the standby
    copies the publication keeps. A chart changes when its checks do, when its window moves on
    (each hour, or each day for 90 days), when an hour or day is rolled up for good, and, with
    checks to draw, when the hour under way is rolled up again: that is what its fingerprint
    holds, and an unchanged chart is not drawn again."""
    now = timezone.now()
    under_way = int(now.timestamp() // HOUR_UNDER_WAY_ROLLED_UP_SECONDS)
    rolled_up = dict(
        RollupMark.objects.values_list("period").annotate(latest=Max("start")).order_by()
    )
    charted: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    for check in (
        Check.objects.active()
        .filter(kind__in=CHARTED_KINDS)
        .select_related("component")
        .order_by("pk")
    ):
        checks = charted[check.component_id]
        if len(checks) < len(SERIES_CLASSES):
            checks.append((check.pk, check.kind, check.label))
    for pk, public_id in Component.objects.public().values_list("pk", "public_id"):
        checks = charted.get(pk, [])
        for range_key in ("", *RANGES):
            period = RANGES[range_key or DEFAULT_RANGE][0]
            moving = under_way if checks and period == RollupPeriod.HOUR else None
            shown = (range_key, chart_end(range_key, now), rolled_up.get(period), moving, checks)
            yield Variant(
                kwargs={"public_id": public_id},
                query={"range": range_key} if range_key else {},
                fingerprint=repr(shown),
            )


@standby_page(params=("range",), variants=chart_variants)
@require_safe
def component_response_time(request: HttpRequest, public_id: str) -> HttpResponse:
    """/components/<public_id>/response-time.svg?range=24h|7d|90d"""
    component = get_object_or_404(Component.objects.public(), public_id=public_id)
    range_key = request.GET.get("range", DEFAULT_RANGE)
    if range_key not in RANGES:
        range_key = DEFAULT_RANGE
    checks = list(
        Check.objects.active().filter(component=component, kind__in=CHARTED_KINDS).order_by("pk")
    )
    response = render_chart(checks, range_key)
    response["Cache-Control"] = CACHE_CONTROL
    response["Access-Control-Allow-Origin"] = "*"
    return response


# The largest alert payload read; Alertmanager's `max_alerts` keeps a big group under it.
MAX_ALERT_BODY_BYTES = 1_000_000


def _refusal(status: int, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    response["Cache-Control"] = "no-store"
    return response


def _bearer(request: HttpRequest) -> str:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


@csrf_exempt
def alerts_inbound(request: HttpRequest, token: str = "") -> HttpResponse:
    """POST /integrations/alerts/<token> (or /integrations/alerts with "Authorization: Bearer
    <token>"): an Alertmanager or Grafana webhook payload. A server to server call, so no
    CSRF token; never cached (POST only, and no-store)."""
    if request.method != "POST":
        return _refusal(405, "Post the alerting system's webhook payload here.", Allow="POST")
    token = token or _bearer(request)
    if not token:
        return _refusal(
            401,
            "Give the integration's token in the URL or as Authorization: Bearer <token>.",
            WWW_Authenticate="Bearer",
        )
    integration = alerts.integration_for_token(token)
    if integration is None or not integration.is_active:
        return _refusal(403, "Unknown or inactive integration token.")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _refusal(400, "Content-Length is not a number.")
    if length > MAX_ALERT_BODY_BYTES:
        return _refusal(413, f"The body is larger than {MAX_ALERT_BODY_BYTES} bytes.")
    try:
        incoming = alerts.parse_payload(request.body)
    except alerts.PayloadError as error:
        return _refusal(error.status, str(error))
    received = alerts.alerts_receive(integration=integration, alerts=incoming)
    response = JsonResponse(
        {"alerts": received.alerts, "rules": received.rules, "components": len(received.components)}
    )
    response["Cache-Control"] = "no-store"
    return response
