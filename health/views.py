"""The health and metrics endpoints. None of them is ever cached: each answer is about now."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from health import metrics as prometheus
from health.checks import OK, health_report


@never_cache
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    """200 while the page can serve ("ok" or "degraded"), 503 when it cannot ("down")."""
    report = health_report()
    return JsonResponse(report.as_json(), status=report.http_status)


@never_cache
@require_safe
def live(request: HttpRequest) -> JsonResponse:
    """The process answers requests; no backend is asked."""
    return JsonResponse({"status": OK})


def _bearer_token_matches(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # Compared in constant time, so the answer's timing tells nothing of the token.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token and not settings.METRICS_PUBLIC:
        raise Http404("metrics are off")
    if token and not _bearer_token_matches(request, token):
        response = HttpResponse("A valid bearer token is required.\n", status=401)
        response["Content-Type"] = "text/plain; charset=utf-8"
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = prometheus.render(request.headers.get("Accept", ""))
    return HttpResponse(body, content_type=content_type)
