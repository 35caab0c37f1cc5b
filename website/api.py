"""The public Statuspage-compatible JSON API (v2): views and the response rules they share.

Every endpoint answers GET and HEAD only, with `Access-Control-Allow-Origin: *`, a short public
`Cache-Control` and an ETag computed from the body; a conditional GET whose If-None-Match
matches answers 304 with an empty body. The objects come from website.serializers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from functools import wraps

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.views.decorators.csrf import csrf_exempt

from incidents.models import ACTIVE_MAINTENANCE_STATUSES, Incident, MaintenanceStatus
from website import variants
from website.caching import Variant, public_cache_control, public_page
from website.conditional import etag_for, etag_matches
from website.serializers import (
    LIST_LIMIT,
    Json,
    current_page_status,
    load_catalog,
    load_for_serialization,
    page_status,
    page_updated_at,
    public_incidents,
    serialize_components,
    serialize_incident,
    serialize_maintenance,
    serialize_page,
    serialize_status,
)

SAFE_METHODS = ("GET", "HEAD")


class NotFound(Exception):
    pass


def _share(response: HttpResponse, *, cache_control: str) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = cache_control
    return response


def conditional_response(
    request: HttpRequest,
    body: bytes,
    *,
    content_type: str,
    status: int = 200,
    cache_control: str | None = None,
) -> HttpResponse:
    """A public, shareable response with an ETag from its body; 304 when the client has it.

    HEAD gets the same headers as GET (Content-Length included) and no body. The cache
    lifetime is the public site's (PUBLIC_CACHE_MAX_AGE) unless `cache_control` says otherwise.
    """
    etag = etag_for(body)
    if status == 200 and etag_matches(request.headers.get("If-None-Match"), etag):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(
            b"" if request.method == "HEAD" else body, content_type=content_type, status=status
        )
        response["Content-Length"] = str(len(body))
    response["ETag"] = etag
    return _share(response, cache_control=cache_control or public_cache_control())


def encode_json(payload: Json) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(request: HttpRequest, payload: Json, *, status: int = 200) -> HttpResponse:
    body = encode_json(payload)
    return conditional_response(
        request, body, content_type="application/json; charset=utf-8", status=status
    )


def method_not_allowed(request: HttpRequest) -> HttpResponse:
    body = json.dumps({"error": f"Method {request.method} not allowed"}).encode()
    response = HttpResponse(body, content_type="application/json; charset=utf-8", status=405)
    response["Allow"] = ", ".join(SAFE_METHODS)
    return _share(response, cache_control="no-store")


def api_endpoint(build: Callable[..., Json]) -> Callable[..., HttpResponse]:
    """Turn a payload builder into a view: GET and HEAD only, JSON, shareable, conditional."""

    @csrf_exempt
    @wraps(build)
    def view(request: HttpRequest, **kwargs: str) -> HttpResponse:
        if request.method not in SAFE_METHODS:
            return method_not_allowed(request)
        try:
            payload = build(**kwargs)
        except NotFound:
            return json_response(request, {"error": "Not found"}, status=404)
        return json_response(request, payload)

    return view


# Payloads


def _incident_list(incidents: list[Incident]) -> list[Json]:
    return [serialize_incident(i) for i in incidents]


def _maintenance_list(maintenances: list[Incident]) -> list[Json]:
    return [serialize_maintenance(m) for m in maintenances]


@public_page()
@api_endpoint
def summary() -> Json:
    catalog = load_catalog()
    # What is current is few rows by nature: fetch it all in one go, then split by kind.
    current = load_for_serialization(
        Incident.objects.public()
        & (
            Incident.objects.unresolved()
            | Incident.objects.maintenance_upcoming()
            | Incident.objects.maintenance_active()
        ),
        catalog,
    )
    unresolved = [i for i in current if not i.is_maintenance]
    scheduled = [i for i in current if i.is_maintenance]
    return {
        "page": serialize_page(updated_at=page_updated_at(catalog)),
        "components": serialize_components(catalog),
        "incidents": _incident_list(unresolved[:LIST_LIMIT]),
        "scheduled_maintenances": _maintenance_list(scheduled[:LIST_LIMIT]),
        "status": serialize_status(
            page_status(components=catalog.components, unresolved_incidents=unresolved)
        ),
    }


@public_page()
@api_endpoint
def status() -> Json:
    return {
        "page": serialize_page(updated_at=page_updated_at()),
        "status": serialize_status(current_page_status()),
    }


@public_page()
@api_endpoint
def components() -> Json:
    catalog = load_catalog()
    return {
        "page": serialize_page(updated_at=page_updated_at(catalog)),
        "components": serialize_components(catalog),
    }


@public_page()
@api_endpoint
def incidents() -> Json:
    return _list_page(Incident.objects.public().incidents(), "incidents", serialize_incident)


@public_page()
@api_endpoint
def incidents_unresolved() -> Json:
    return _list_page(Incident.objects.public().unresolved(), "incidents", serialize_incident)


def _list_page(
    incidents: QuerySet[Incident], key: str, serialize: Callable[[Incident], Json]
) -> Json:
    """A list document: the page object and the newest LIST_LIMIT of `incidents` under `key`,
    their components taken from the catalog the page object needs anyway."""
    catalog = load_catalog()
    found = load_for_serialization(incidents[:LIST_LIMIT], catalog)
    return {
        "page": serialize_page(updated_at=page_updated_at(catalog)),
        key: [serialize(incident) for incident in found],
    }


def _detail_documents(
    wanted: Iterable[Variant],
    incidents: QuerySet[Incident],
    key: str,
    serialize: Callable[..., Json],
) -> Iterator[tuple[Variant, bytes]]:
    """The documents of many incidents or maintenances at once, byte for byte what the detail
    view answers for each: the page object is encoded once and the rest in a few queries."""
    by_id = {variant.kwargs["public_id"]: variant for variant in wanted}
    page = encode_json(serialize_page(updated_at=page_updated_at()))
    head = b'{"page":' + page + b',"' + key.encode() + b'":'
    chosen = incidents.filter(public_id__in=list(by_id)) if len(by_id) < 500 else incidents
    for incident in chosen.order_by("id").iterator(chunk_size=500):
        variant = by_id.get(incident.public_id)
        if variant is not None:
            yield variant, head + encode_json(serialize(incident)) + b"}"


def _restamper(key: str) -> Callable[[], Callable[[bytes], bytes | None]]:
    """For the publisher: a document of an incident that did not change, given the current page
    object without serializing the incident again. The page object comes first and holds no
    key of the incident's name, and no JSON string holds an unescaped quote, so the incident's
    key ends it."""
    marker = b',"' + key.encode() + b'":'

    def restamper() -> Callable[[bytes], bytes | None]:
        head = b'{"page":' + encode_json(serialize_page(updated_at=page_updated_at())) + marker

        def restamp(body: bytes) -> bytes | None:
            if not body.startswith(b'{"page":'):
                return None
            end = body.find(marker)
            return None if end < 0 else head + body[end + len(marker) :]

        return restamp

    return restamper


def incident_documents(wanted: Iterable[Variant]) -> Iterator[tuple[Variant, bytes]]:
    return _detail_documents(wanted, public_incidents().incidents(), "incident", serialize_incident)


def maintenance_documents(wanted: Iterable[Variant]) -> Iterator[tuple[Variant, bytes]]:
    return _detail_documents(
        wanted, public_incidents().maintenances(), "scheduled_maintenance", serialize_maintenance
    )


@public_page(
    variants=variants.public_incident_documents,
    documents=incident_documents,
    restamp=_restamper("incident"),
)
@api_endpoint
def incident_detail(public_id: str) -> Json:
    incident = public_incidents().incidents().filter(public_id=public_id).first()
    if incident is None:
        raise NotFound
    return {
        "page": serialize_page(updated_at=page_updated_at()),
        "incident": serialize_incident(incident),
    }


@public_page()
@api_endpoint
def maintenances() -> Json:
    maintenances = Incident.objects.public().maintenances()
    return _list_page(maintenances, "scheduled_maintenances", serialize_maintenance)


@public_page()
@api_endpoint
def maintenances_upcoming() -> Json:
    maintenances = Incident.objects.public().maintenances()
    upcoming = maintenances.filter(status=MaintenanceStatus.SCHEDULED)
    return _list_page(upcoming, "scheduled_maintenances", serialize_maintenance)


@public_page()
@api_endpoint
def maintenances_active() -> Json:
    maintenances = Incident.objects.public().maintenances()
    active = maintenances.filter(status__in=ACTIVE_MAINTENANCE_STATUSES)
    return _list_page(active, "scheduled_maintenances", serialize_maintenance)


@public_page(
    variants=variants.public_maintenance_documents,
    documents=maintenance_documents,
    restamp=_restamper("scheduled_maintenance"),
)
@api_endpoint
def maintenance_detail(public_id: str) -> Json:
    maintenance = public_incidents().maintenances().filter(public_id=public_id).first()
    if maintenance is None:
        raise NotFound
    return {
        "page": serialize_page(updated_at=page_updated_at()),
        "scheduled_maintenance": serialize_maintenance(maintenance),
    }
